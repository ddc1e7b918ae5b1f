"""The measurements behind the gradient check's choices (README, "Checking a DWI's gradient table").

For each variant of the method it prints the lead of the true table over the best wrong candidate,
(score_true - max score_wrong) / score_true, averaged over three seed draws (the smallest of the
three in brackets), on six data sets:

* P1-P3: GradientToolsLib.dwi_phantom (1 or 2 shells, anisotropic voxels, SNR 12-20);
* small_64D: DIPY's real crop (10x10x10, 2 mm), its table taken as the truth;
* DIPY orbits: DIPY's orbital_phantom (a helix and two circles) with Rician noise, SNR 20 and 8;

and, last, scilpy's tractography-free fibre coherence index (Schilling et al. 2019), as scilpy
computes it (neighbours in voxel units) and with the neighbour directions in millimetres.

Variants: the tracking rules (step in voxels, maximum angle per step, FA cutoff), trilinear
interpolation of the tensor against nearest-neighbour (FACT), weighted against ordinary least
squares, and the number of seeds. "MRtrix-like" is tckgen tensor_det's rules as dwigradcheck runs
them (0.1-voxel steps, 60 degrees per step).

Needs the test extras (dipy, nibabel). Takes a few minutes. Usage: python scripts/gradcheck_variants.py
"""

from __future__ import annotations

import contextlib
import itertools
import os
import warnings

import numpy as np

from GradientToolsLib import dwi_phantom, electrostatic_directions
from GradientToolsLib.diffusion.gradcheck import all_candidates
from GradientToolsLib.diffusion.gradcheck import check as check_module
from GradientToolsLib.diffusion.gradcheck.candidates import IDENTITY
from GradientToolsLib.diffusion.gradcheck.frames import fsl_to_voxel
from GradientToolsLib.diffusion.gradcheck.mask import brain_mask
from GradientToolsLib.diffusion.gradcheck.tensor import (
    b0_volumes,
    fit_tensors,
    fractional_anisotropy,
    principal_directions,
    unit_directions,
)
from GradientToolsLib.diffusion.gradcheck.tracking import TensorField


def scheme(shells, b0_count):
    bvals, bvecs = [np.zeros(b0_count)], [np.zeros((b0_count, 3))]
    for b, n in shells:
        bvals.append(np.full(n, float(b)))
        bvecs.append(np.asarray(electrostatic_directions(n, seed=1)))
    return np.concatenate(bvals), np.vstack(bvecs)


def phantom(name, shells, b0_count, shape, spacing, snr, seed):
    bvals, bvecs = scheme(shells, b0_count)
    ph = dwi_phantom(bvals, bvecs, shape=shape, spacing=spacing, snr=snr, seed=seed)
    return name, ph.dwi, bvals, bvecs, ph.spacing


def small_64d():
    import dipy
    import nibabel

    folder = os.path.join(os.path.dirname(dipy.__file__), "data", "files")
    image = nibabel.load(os.path.join(folder, "small_64D.nii"))
    dwi = np.transpose(np.asarray(image.dataobj, dtype=np.float32), (2, 1, 0, 3))
    bvals = np.loadtxt(os.path.join(folder, "small_64D.bval"))
    bvecs = fsl_to_voxel(np.loadtxt(os.path.join(folder, "small_64D.bvec")), image.affine[:3, :3])
    return "small_64D", dwi, bvals, bvecs, tuple(np.sqrt(np.sum(image.affine[:3, :3] ** 2, axis=0)))


def dipy_orbits(snr):
    from dipy.core.gradients import gradient_table
    from dipy.sims.phantom import orbital_phantom
    from dipy.sims.voxel import add_noise

    bvals, bvecs = scheme([(1000, 32)], 2)
    gtab, n, t = gradient_table(bvals, bvecs=bvecs), 40, np.linspace(0, 2 * np.pi, 1500)
    orbits = [lambda t: (np.sin(t), np.cos(t), np.linspace(-1, 1, len(t))),
              lambda t: (0.8 * np.cos(t), 0.3 * np.ones_like(t), 0.8 * np.sin(t)),
              lambda t: (-0.4 * np.ones_like(t), 0.7 * np.cos(t), 0.6 * np.sin(t))]
    data = sum(orbital_phantom(gtab=gtab, func=f, t=t, datashape=(n, n, n, bvals.size), origin=(n / 2,) * 3,
                               scale=(n / 3,) * 3, S0=100.0) for f in orbits) / 3.0
    data = add_noise(data, snr, 100.0, noise_type="rician", rng=np.random.default_rng(0))
    return f"DIPY orbits {snr:g}", np.transpose(data, (2, 1, 0, 3)), bvals, bvecs, (2.0, 2.0, 2.0)


class NearestField(TensorField):
    def sample(self, pos):
        return self.flat[np.clip(np.rint(pos), 0, self.upper).astype(np.intp) @ self.strides].copy()


@contextlib.contextmanager
def variant(options):
    saved = {k: getattr(check_module, k) for k in ("MAX_ANGLE", "FA_CUTOFF", "STEP_VOXELS", "TensorField",
                                                   "fit_tensors")}
    fit = check_module.fit_tensors
    try:
        for key, value in options.items():
            if key == "ols":
                check_module.fit_tensors = lambda *a, **k: fit(*a, weighted=False, **k)
            elif key != "seeds":
                setattr(check_module, key, value)
        yield
    finally:
        for key, value in saved.items():
            setattr(check_module, key, value)


def lead(case, options, state):
    _, dwi, bvals, bvecs, spacing = case
    with variant(options), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = check_module.check_gradient_table(dwi, bvals, bvecs, spacing, random_state=state,
                                                   seeds=options.get("seeds", 3000))
    wrong = max(score for p, s, score in result.ranking if (p, s) != IDENTITY)
    return (result.given_score - wrong) / result.given_score


def fibre_coherence(case, millimetres, fa_threshold=0.2):
    """scilpy's fibre coherence index of every candidate (Schilling et al. 2019)."""
    _, dwi, bvals, bvecs, spacing = case
    b0 = b0_volumes(bvals, bvecs)
    mask = brain_mask(dwi[..., b0].mean(-1), dwi[..., ~b0].mean(-1))
    tensors = fit_tensors(dwi.reshape(-1, dwi.shape[3]), np.where(b0, 0, bvals), unit_directions(bvecs, b0))
    fa = fractional_anisotropy(tensors).reshape(mask.shape) * mask
    e1 = principal_directions(tensors).reshape(mask.shape + (3,))
    e1[fa < fa_threshold] = 0
    k, j, i = mask.shape
    scores = []
    for perm, signs in all_candidates():
        turned, total = e1[..., list(perm)] * np.array(signs), 0.0
        for offset in itertools.product((-1, 0, 1), repeat=3):
            if not any(offset):
                continue
            d = np.array(offset) * (np.array(spacing) if millimetres else 1.0)
            aligned = np.abs(turned @ (d / np.linalg.norm(d))) > np.cos(np.pi / 6)
            di, dj, dk = offset
            here = (slice(max(0, -dk), k - max(0, dk)), slice(max(0, -dj), j - max(0, dj)),
                    slice(max(0, -di), i - max(0, di)))
            there = (slice(max(0, dk), k + min(0, dk)), slice(max(0, dj), j + min(0, dj)),
                     slice(max(0, di), i + min(0, di)))
            both = aligned[here] & aligned[there]
            total += fa[here][both].sum() + fa[there][both].sum()
        scores.append(total)
    return (scores[0] - max(scores[1:])) / scores[0]


VARIANTS = [
    ("chosen: 0.5 vox, 30 deg, FA 0.1, trilinear, WLS", {}),
    ("MRtrix-like: step 0.1 vox, 60 deg", {"STEP_VOXELS": 0.1, "MAX_ANGLE": 60.0}),
    ("45 deg", {"MAX_ANGLE": 45.0}),
    ("20 deg", {"MAX_ANGLE": 20.0}),
    ("90 deg", {"MAX_ANGLE": 90.0}),
    ("step 1.0 vox, 30 deg", {"STEP_VOXELS": 1.0}),
    ("FA 0.2", {"FA_CUTOFF": 0.2}),
    ("nearest neighbour (FACT)", {"TensorField": NearestField}),
    ("ordinary least squares", {"ols": True}),
    ("1000 seeds", {"seeds": 1000}),
    ("10000 seeds", {"seeds": 10000}),
]


def main() -> None:
    cases = [phantom("P1 2x2x3 SNR20", [(1000, 30)], 3, (20, 32, 32), (2.0, 2.0, 3.0), 20.0, 1),
             phantom("P2 2 shells SNR15", [(1000, 30), (2000, 30)], 4, (24, 40, 40), (2.0,) * 3, 15.0, 2),
             phantom("P3 2x2x4 SNR12", [(800, 20)], 2, (12, 40, 40), (2.0, 2.0, 4.0), 12.0, 3),
             small_64d(), dipy_orbits(20.0), dipy_orbits(8.0)]
    print(f"{'variant':48s}" + "".join(f"{c[0]:>19s}" for c in cases))
    for name, options in VARIANTS:
        cells = []
        for case in cases:
            leads = [lead(case, options, state) for state in (0, 1, 2)]
            cells.append(f"{100 * np.mean(leads):+6.1f}% ({100 * min(leads):+5.1f})")
        print(f"{name:48s}" + "".join(f"{c:>19s}" for c in cells), flush=True)
    for millimetres in (False, True):
        name = "scilpy FCI" + (", neighbours in mm" if millimetres else " (voxel units)")
        print(f"{name:48s}" + "".join(f"{100 * fibre_coherence(c, millimetres):+17.1f}% " for c in cases))


if __name__ == "__main__":
    main()
