"""check_gradient_table: the 24 candidates, the tensor fit (against DIPY), tracking in mm (analytic),
the mask, every corruption of a phantom's table recovered, DIPY's own phantom, DIPY's real small_64D
crop with a flipped axis, NaN b=0 vectors, degenerate and bad input.

Timing: about 15 s on 2 busy cores (the 24 checks of a 14x24x24 phantom take a quarter).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from dwi_files import phantom_case, scheme, small_64d

from GradientToolsLib import GradientToolsError, check_gradient_table
from GradientToolsLib.diffusion.gradcheck import Candidate, all_candidates, apply_candidate, inverse
from GradientToolsLib.diffusion.gradcheck.candidates import candidate_matrix, canonical, describe
from GradientToolsLib.diffusion.gradcheck.frames import fsl_to_voxel
from GradientToolsLib.diffusion.gradcheck.mask import brain_mask
from GradientToolsLib.diffusion.gradcheck.tensor import (
    b0_volumes,
    fit_tensors,
    fractional_anisotropy,
    principal_directions,
    unit_directions,
)
from GradientToolsLib.diffusion.gradcheck.tracking import TensorField, TrackingParameters, track_lengths

IDENTITY = ((0, 1, 2), (1, 1, 1))


def same_table(a, b, bvals):
    """Equal up to the sign of each vector (a diffusion measurement does not see the sign)."""
    weighted = bvals > 50
    dots = np.abs(np.sum(a[weighted] * b[weighted], axis=1))
    return bool(np.allclose(dots, 1.0, atol=1e-9))


# --- candidates ----------------------------------------------------------------------------------


def test_the_24_candidates_are_all_distinct_tables_and_follow_the_rule(rng):
    table = rng.normal(size=(40, 3))
    table /= np.linalg.norm(table, axis=1, keepdims=True)
    candidates = all_candidates()
    assert len(candidates) == 24 and candidates[0] == IDENTITY
    outputs = []
    for perm, signs in candidates:
        new = apply_candidate(table, (perm, signs))
        for a in range(3):  # the rule, written out
            np.testing.assert_array_equal(new[:, a], signs[a] * table[:, perm[a]])
        np.testing.assert_array_equal(new, table @ candidate_matrix((perm, signs)).T)
        np.testing.assert_allclose(apply_candidate(new, inverse((perm, signs))), table)
        outputs.append(new)
    # no two candidates give the same table, even allowing antipodal signs
    for i in range(24):
        for j in range(i + 1, 24):
            assert not np.allclose(np.abs(np.sum(outputs[i] * outputs[j], axis=1)), 1.0)
    # the 48 signed permutations fold onto the 24 (signs and -signs are one table)
    assert canonical((2, 0, 1), (-1, -1, 1)) == ((2, 0, 1), (1, 1, -1))
    # a Candidate equals every pair that gives its table, from either side of ==
    flip_yz = Candidate((0, 1, 2), (1, -1, -1))
    assert flip_yz == ((0, 1, 2), (-1, 1, 1)) and ((0, 1, 2), (1, -1, -1)) == flip_yz
    assert flip_yz != IDENTITY and flip_yz.signs == (-1, 1, 1) and flip_yz not in candidates[:1]
    assert describe(((1, 0, 2), (1, -1, 1))) == "+J -I +K"
    with pytest.raises(GradientToolsError, match="permutation"):
        canonical((0, 0, 1), (1, 1, 1))


# --- tensor fit, FA, directions --------------------------------------------------------------------


def test_weighted_fit_equals_dipys_wls_and_directions_match_eigh():
    dti = pytest.importorskip("dipy.reconst.dti")
    from dipy.core.gradients import gradient_table

    phantom, bvals, bvecs = phantom_case(shells=((1000, 20), (2500, 20)), shape=(10, 16, 16))
    b0 = b0_volumes(bvals, bvecs)
    signal = phantom.dwi[phantom.brain]
    mine = fit_tensors(signal, bvals, unit_directions(bvecs, b0))
    fit = dti.TensorModel(gradient_table(bvals, bvecs=bvecs), fit_method="WLS").fit(signal)
    quad = fit.quadratic_form
    reference = np.stack([quad[:, 0, 0], quad[:, 1, 1], quad[:, 2, 2], quad[:, 0, 1], quad[:, 0, 2],
                          quad[:, 1, 2]], axis=1)
    matrices = np.zeros((len(mine), 3, 3))
    for c, (i, j) in enumerate([(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]):
        matrices[:, i, j] = matrices[:, j, i] = mine[:, c]
    values, vectors = np.linalg.eigh(matrices)
    # DIPY clips negative eigenvalues, and floors the signal differently (we floor at 1e-3 of the
    # voxel's largest value): compare where neither applies
    positive = (values[:, 0] > 0) & (signal.min(axis=1) > 1e-3 * signal.max(axis=1))
    assert positive.sum() > 0.5 * len(mine)
    scale = np.abs(reference[positive]).max(axis=1, keepdims=True)
    np.testing.assert_allclose(mine[positive] / scale, reference[positive] / scale, atol=1e-5)
    np.testing.assert_allclose(fractional_anisotropy(mine)[positive], fit.fa[positive], atol=1e-5)
    dots = np.abs(np.sum(principal_directions(mine) * vectors[:, :, 2], axis=1))
    distinct = values[:, 2] - values[:, 1] > 1e-2 * values[:, 2]
    np.testing.assert_allclose(dots[distinct], 1.0, atol=1e-6)


def test_b0_volumes_take_nan_and_zero_vectors_and_refuse_a_weighted_volume_without_direction():
    bvals = np.array([0.0, 5.0, 1000.0, 1000.0])
    bvecs = np.array([[np.nan] * 3, [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(b0_volumes(bvals, bvecs), [True, True, False, False])
    bvecs[2] = np.nan
    with pytest.raises(GradientToolsError, match="volume 2 has b=1000"):
        b0_volumes(bvals, bvecs)


# --- tracking in millimetres -------------------------------------------------------------------------


def _uniform_field(shape, direction, fa_tensor=(1.7e-3, 0.3e-3)):
    """A (K, J, I, 6) field of one prolate tensor along ``direction`` (voxel axes, unit)."""
    d = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
    par, perp = fa_tensor
    tensor = perp * np.eye(3) + (par - perp) * np.outer(d, d)
    six = np.array([tensor[0, 0], tensor[1, 1], tensor[2, 2], tensor[0, 1], tensor[0, 2], tensor[1, 2]])
    return np.broadcast_to(six, tuple(shape) + (6,)).copy()


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (1.0, 2.0, 4.0)])
def test_a_straight_streamline_runs_the_length_of_its_box_in_millimetres(spacing):
    shape = (9, 13, 17)  # K, J, I
    field = TensorField(_uniform_field(shape, (0.0, 0.0, 1.0)), np.ones(shape, bool))
    params = TrackingParameters(step=0.1, max_angle=30.0, fa_cutoff=0.1, max_length=1000.0)
    seeds = np.array([[8.0, 6.0, 4.0]])  # I, J, K: the middle
    lengths = track_lengths(field, seeds, np.array([[0, 1, 2], [2, 1, 0]]), np.ones((2, 3), int),
                            spacing, params)
    # along K: the box spans 9 voxels (-0.5 .. 8.5) = 9 * spacing_K mm; steps stop within one step
    assert lengths[0, 0] == pytest.approx(9 * spacing[2], abs=2.5 * params.step)
    # the swapped candidate (K <-> I) turns the same tensors along I: 17 voxels of spacing_I
    assert lengths[1, 0] == pytest.approx(17 * spacing[0], abs=2.5 * params.step)


def test_an_oblique_streamline_is_tracked_along_its_physical_direction():
    # 45 degrees between I and K in millimetres: with K voxels 3x longer, that is 3 I voxels per K
    # voxel; a tracker that ignored the spacing would leave the diagonal
    shape, spacing = (12, 5, 36), (1.0, 1.0, 3.0)
    tensors = _uniform_field(shape, (1.0, 0.0, 1.0))
    mask = np.zeros(shape, bool)
    for k in range(shape[0]):
        mask[k, :, max(0, 3 * k - 1):3 * k + 4] = True  # a diagonal band in mm
    field = TensorField(tensors, mask)
    params = TrackingParameters(step=0.25, max_angle=30.0, fa_cutoff=0.1, max_length=1000.0)
    lengths = track_lengths(field, np.array([[16.5, 2.0, 5.5]]), np.array([[0, 1, 2]]),
                            np.ones((1, 3), int), spacing, params)
    assert lengths[0, 0] > 0.8 * np.hypot(36.0, 36.0)


# --- the brain mask --------------------------------------------------------------------------------


def test_mask_from_b0_finds_the_phantom_brain_and_keeps_a_crop_whole():
    phantom, bvals, bvecs = phantom_case(shape=(16, 24, 24), snr=15)
    b0 = b0_volumes(bvals, bvecs)
    mask = brain_mask(phantom.dwi[..., b0].mean(-1), phantom.dwi[..., ~b0].mean(-1))
    dice = 2 * np.sum(mask & phantom.brain) / (mask.sum() + phantom.brain.sum())
    assert dice > 0.97
    # DIPY's small_64D is a crop inside the brain: bright CSF and darker white matter at b=0, no
    # background; the mask must not drop the white matter
    dwi, bvals, _, _ = small_64d()
    low = bvals < 50
    assert brain_mask(dwi[..., low].mean(-1), dwi[..., ~low].mean(-1)).all()


# --- the check on phantoms -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def anisotropic_phantom():
    # anisotropic voxels, one shell, Rician noise at SNR 15
    return phantom_case(shape=(14, 24, 24), spacing=(2.5, 2.5, 3.5), snr=15.0, seed=4)


def test_every_corruption_of_the_table_is_recovered(anisotropic_phantom):
    phantom, bvals, truth = anisotropic_phantom
    margins = []
    for candidate in all_candidates():
        corrupted = apply_candidate(truth, candidate)
        result = check_gradient_table(phantom.dwi, bvals, corrupted, phantom.spacing, seeds=800)
        assert result.best == inverse(candidate), describe(candidate)
        assert result.given_is_best == (candidate == IDENTITY)
        assert same_table(result.corrected_bvecs, truth, bvals)
        assert [r[:2] for r in result.ranking].count(result.best) == 1 and len(result.ranking) == 24
        margins.append(result.margin)
    # a corruption only relabels the candidates: the same lead every time (about 25% here)
    assert min(margins) > 0.15


def test_two_shells_nan_b0_vectors_and_the_given_mask(rng):
    phantom, bvals, truth = phantom_case(shells=((1000, 20), (2000, 20)), b0_count=4, shape=(14, 22, 26),
                                         spacing=(2.0, 2.4, 3.0), snr=25.0, seed=7)
    table = truth.copy()
    table[bvals == 0] = np.nan  # as dcm2niix-era converters write b=0 vectors
    corrupted = apply_candidate(table, ((1, 2, 0), (1, -1, 1)))
    progress = []
    result = check_gradient_table(phantom.dwi, bvals, corrupted, phantom.spacing, mask=phantom.brain,
                                  seeds=1000, progress=lambda f, m: progress.append(f))
    assert result.best == inverse(((1, 2, 0), (1, -1, 1)))
    assert same_table(result.corrected_bvecs, truth, bvals)
    assert np.isnan(result.corrected_bvecs[bvals == 0]).all()  # b=0 rows stay as given
    assert result.mask is not None and np.array_equal(result.mask, phantom.brain)
    assert progress[0] == 0.0 and progress[-1] == 1.0 and progress == sorted(progress)
    # zeros instead of NaN: the same check
    zeros = np.nan_to_num(corrupted)
    again = check_gradient_table(phantom.dwi, bvals, zeros, phantom.spacing, mask=phantom.brain, seeds=1000)
    assert [r[2] for r in again.ranking] == pytest.approx([r[2] for r in result.ranking])


def test_dipys_orbital_phantom_with_a_swapped_table_is_recovered():
    # a phantom made by another library: DIPY's orbital_phantom (a helix and two circles), Rician
    # noise from DIPY's add_noise; its array is (X, Y, Z, N) with the table in those axes
    phantom = pytest.importorskip("dipy.sims.phantom")
    from dipy.core.gradients import gradient_table
    from dipy.sims.voxel import add_noise

    bvals, bvecs = scheme([(1000, 32)], 2)
    gtab = gradient_table(bvals, bvecs=bvecs)
    n, t = 32, np.linspace(0, 2 * np.pi, 500)
    orbits = [lambda t: (np.sin(t), np.cos(t), np.linspace(-1, 1, len(t))),
              lambda t: (0.8 * np.cos(t), 0.3 * np.ones_like(t), 0.8 * np.sin(t)),
              lambda t: (-0.4 * np.ones_like(t), 0.7 * np.cos(t), 0.6 * np.sin(t))]
    data = sum(phantom.orbital_phantom(gtab=gtab, func=f, t=t, datashape=(n, n, n, bvals.size),
                                       origin=(n / 2,) * 3, scale=(n / 3,) * 3, S0=100.0,
                                       angles=np.linspace(0, 2 * np.pi, 12), radii=np.linspace(0.2, 2, 4))
               for f in orbits) / 3.0
    data = add_noise(data, 20, 100.0, noise_type="rician", rng=np.random.default_rng(0))
    dwi = np.transpose(data, (2, 1, 0, 3))
    corrupted = apply_candidate(bvecs, ((0, 2, 1), (1, 1, -1)))
    result = check_gradient_table(dwi, bvals, corrupted, (2.0, 2.0, 2.0), seeds=1500)
    assert result.best == inverse(((0, 2, 1), (1, 1, -1)))
    assert result.margin > 0.2


# --- real data: DIPY's small_64D -------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_crop():
    dwi, bvals, fsl_bvecs, affine = small_64d()
    voxel = fsl_to_voxel(fsl_bvecs, affine[:3, :3])  # FSL's convention against the image (det < 0)
    spacing = tuple(np.sqrt(np.sum(affine[:3, :3] ** 2, axis=0)))
    return dwi, bvals, voxel, spacing


def test_small_64d_table_as_given_wins(real_crop):
    dwi, bvals, voxel, spacing = real_crop
    result = check_gradient_table(dwi, bvals, voxel, spacing)
    assert result.given_is_best
    # a 20 mm crop holds little white matter: the lead is small (8.8% with 3000 seeds), but it holds
    # for other seed draws
    assert result.margin > 0.03
    for state in (1,):
        assert check_gradient_table(dwi, bvals, voxel, spacing, random_state=state).given_is_best


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_small_64d_with_a_flipped_axis_is_recovered(real_crop, axis):
    dwi, bvals, voxel, spacing = real_crop
    signs = [1, 1, 1]
    signs[axis] = -1
    flipped = apply_candidate(voxel, ((0, 1, 2), signs))
    result = check_gradient_table(dwi, bvals, flipped, spacing)
    assert not result.given_is_best
    assert result.best == ((0, 1, 2), tuple(signs))
    np.testing.assert_allclose(np.nan_to_num(result.corrected_bvecs), np.nan_to_num(voxel))
    # the flipped table scores well below the corrected one (the 24 scores are the unflipped
    # check's, relabelled)
    assert result.given_score < 0.93 * result.best_score


# --- degenerate and bad input ----------------------------------------------------------------------


def test_a_constant_image_gives_a_tie_and_a_warning_not_a_verdict():
    bvals, bvecs = scheme([(1000, 12)], 2)
    dwi = np.full((4, 5, 6, bvals.size), 100.0, np.float32)
    with pytest.warns(UserWarning, match="nothing to track"):
        result = check_gradient_table(dwi, bvals, bvecs)
    assert result.given_is_best and result.best == IDENTITY
    assert all(score == 0.0 for *_, score in result.ranking)


def test_one_slice_works():
    phantom, bvals, bvecs = phantom_case(shape=(3, 24, 24), spacing=(2.0, 2.0, 2.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = check_gradient_table(phantom.dwi[1:2], bvals, bvecs, phantom.spacing, seeds=300)
    assert len(result.ranking) == 24 and result.best_score > 0


@pytest.mark.parametrize("change, message", [
    (lambda d, b, v, m: (d[..., 0], b, v, m), "4-D"),
    (lambda d, b, v, m: (d, b[:-1], v, m), "b-values"),
    (lambda d, b, v, m: (d, b, v.T, m), r"transpose"),
    (lambda d, b, v, m: (d, np.maximum(b, 1000.0), np.where(b[:, None] > 0, v, [1.0, 0.0, 0.0]), m),
     "no b=0"),
    (lambda d, b, v, m: (d[..., :7], b[:7], v[:7], m), "six"),
    (lambda d, b, v, m: (d, b, v, m[:-1]), "mask has shape"),
    (lambda d, b, v, m: (d, b, v, np.zeros_like(m)), "selects no voxel"),
    (lambda d, b, v, m: (d, -b, v, m), "non-negative"),
    (lambda d, b, v, m: (d.astype(complex), b, v, m), "real numbers"),
])
def test_bad_input_is_refused_with_a_message(change, message):
    bvals, bvecs = scheme([(1000, 12)], 2)
    dwi = np.ones((4, 5, 6, bvals.size), np.float32)
    mask = np.ones(dwi.shape[:3], bool)
    with pytest.raises(GradientToolsError, match=message):
        check_gradient_table(*change(dwi, bvals, bvecs, mask)[:3], mask=change(dwi, bvals, bvecs, mask)[3])


def test_bad_spacing_and_seeds_are_refused():
    bvals, bvecs = scheme([(1000, 12)], 2)
    dwi = np.ones((4, 5, 6, bvals.size), np.float32)
    with pytest.raises(GradientToolsError, match="spacing"):
        check_gradient_table(dwi, bvals, bvecs, spacing=(1.0, 0.0, 1.0))
    with pytest.raises(GradientToolsError, match="seeds"):
        check_gradient_table(dwi, bvals, bvecs, seeds=0)


def test_raising_from_the_progress_callback_cancels_the_check(anisotropic_phantom):
    phantom, bvals, truth = anisotropic_phantom

    class Cancelled(Exception):
        pass

    def progress(fraction, message):
        if message == "tracking" and fraction > 0.2:
            raise Cancelled

    with pytest.raises(Cancelled):
        check_gradient_table(phantom.dwi, bvals, truth, phantom.spacing, seeds=300, progress=progress)
