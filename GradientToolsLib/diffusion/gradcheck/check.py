"""``check_gradient_table``: which of the 24 axis permutations and flips of a DWI's gradient table
gives the most coherent fibres (Jeurissen et al. 2014, Medical Image Analysis 18:953).

The method, as MRtrix's ``dwigradcheck`` but with one tensor fit instead of one per candidate:

1. the b=0 volumes (b <= 50 s/mm^2, or a zero or NaN vector) give a brain mask when none is given;
2. tensors are fitted once (weighted log-linear least squares) with the table as given;
3. from the same random seeds in the mask (FA >= the cutoff), deterministic tensor streamlines are
   grown for every candidate at once (see :mod:`.tracking`: candidate c sees the field M_c D M_c^T,
   exactly what fitting with its table would give), in millimetres;
4. each candidate's score is the mean streamline length (mm); the table whose fibres run longest
   wins. Wrong tables bend streamlines off their bundles into grey matter, where they stop.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..._shared.validate import check_int, check_spacing
from ...errors import GradientToolsError
from ...progress import ProgressCallback, report, scaled
from .candidates import IDENTITY, Candidate, all_candidates, apply_candidate, canonical
from .mask import brain_mask
from .tensor import B0_THRESHOLD, b0_volumes, fit_tensors, fractional_anisotropy, unit_directions
from .tracking import TensorField, TrackingParameters, track_lengths

#: seeds per candidate (the same seeds for every candidate)
DEFAULT_SEEDS = 3000
#: streamline rules (MRtrix tensor_det: FA 0.1, and 60 degrees per 0.1-voxel step, i.e. hardly any
#: curvature limit; see the README section for the measurements behind these values)
FA_CUTOFF = 0.1
STEP_VOXELS = 0.5
MAX_ANGLE = 30.0
MAX_LENGTH_VOXELS = 100.0
#: a candidate scoring within this fraction of the best ties with it; a tie keeps the given table
TIE_TOLERANCE = 0.005
#: below this relative lead of the best over the runner-up the verdict is flagged as weak
WEAK_MARGIN = 0.05
#: fewer seeds than this (anisotropic voxels in the mask) make the check unreliable
MIN_ANISOTROPIC_VOXELS = 50

Ranked = Tuple[Tuple[int, int, int], Tuple[int, int, int], float]


@dataclass
class GradientCheck:
    """The outcome of :func:`check_gradient_table`.

    Attributes
    ----------
    best : Candidate
        The winning ``(permutation, signs)``; apply it with ``new[:, a] = signs[a] *
        old[:, permutation[a]]``. It compares equal to any pair giving the same table (signs or
        -signs).
    given_is_best : bool
        True when the table as given wins (or ties with the winner within ``TIE_TOLERANCE``).
    ranking : list of (permutation, signs, score)
        All 24 candidates, best first; score = mean streamline length, mm.
    corrected_bvecs : ndarray (N, 3)
        The table with ``best`` applied (b=0 rows as given, NaN included).
    given_score : float
        Score of the table as given (the identity), mm.
    margin : float
        Relative lead of the best over the runner-up, (best - second) / best.
    seeds : int
        Seeds tracked per candidate.
    mask : ndarray (K, J, I) bool
        The mask the streamlines were grown in.
    warnings : list of str
        Why the verdict may be unreliable (too little anisotropic tissue, a small margin).
    """

    best: Candidate
    given_is_best: bool
    ranking: List[Ranked]
    corrected_bvecs: np.ndarray
    given_score: float
    margin: float
    seeds: int
    mask: np.ndarray = field(repr=False)
    warnings: List[str] = field(default_factory=list)

    @property
    def best_score(self) -> float:
        return float(self.ranking[0][2])

    def score_of(self, permutation: Sequence[int], signs: Sequence[int]) -> float:
        """Score of any (permutation, signs); signs and -signs are the same candidate."""
        key = canonical(permutation, signs)
        for perm, sgn, score in self.ranking:
            if (perm, sgn) == key:
                return float(score)
        raise GradientToolsError(f"no such candidate: {permutation!r}, {signs!r}")  # pragma: no cover


def _check_inputs(dwi, bvals, bvecs, spacing, mask):
    dwi = np.asarray(dwi)
    if dwi.ndim != 4:
        raise GradientToolsError(f"dwi must be a 4-D array (K, J, I, N), got shape {dwi.shape}")
    if dwi.dtype.kind not in "iuf":
        raise GradientToolsError(f"dwi must hold real numbers, got dtype {dwi.dtype}")
    if min(dwi.shape[:3]) < 1:
        raise GradientToolsError(f"dwi has no voxels (shape {dwi.shape})")
    n = dwi.shape[3]
    try:
        bvals = np.asarray(bvals, dtype=np.float64).reshape(-1)
        bvecs = np.asarray(bvecs, dtype=np.float64)
    except (TypeError, ValueError):
        raise GradientToolsError("bvals and bvecs must be numeric arrays") from None
    if bvals.size != n:
        raise GradientToolsError(f"dwi has {n} volumes but there are {bvals.size} b-values")
    if bvecs.shape != (n, 3):
        hint = " (transpose a 3 x N table)" if bvecs.shape == (3, n) else ""
        raise GradientToolsError(f"bvecs must have shape ({n}, 3), got {bvecs.shape}{hint}")
    if not np.all(np.isfinite(bvals)) or np.any(bvals < 0):
        raise GradientToolsError("b-values must be finite and non-negative")
    spacing = check_spacing(spacing)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != dwi.shape[:3]:
            raise GradientToolsError(f"mask has shape {mask.shape}; the DWI's volumes are {dwi.shape[:3]}")
        mask = mask.astype(bool)
        if not np.any(mask):
            raise GradientToolsError("mask selects no voxel")
    return dwi, bvals, bvecs, spacing, mask


def _seed_positions(eligible: np.ndarray, count: int, rng) -> np.ndarray:
    """``count`` random positions (I, J, K voxel indices) uniformly within the eligible voxels."""
    kji = np.argwhere(eligible)
    chosen = kji[rng.integers(0, kji.shape[0], size=count)]
    return chosen[:, ::-1] + rng.uniform(-0.5, 0.5, size=(count, 3))


def _rank(candidates: List[Candidate], scores: np.ndarray) -> Tuple[List[Ranked], bool]:
    order = sorted(range(len(candidates)), key=lambda c: -scores[c])
    best = order[0]
    identity = candidates.index(IDENTITY)
    given_is_best = best == identity or scores[identity] >= scores[best] * (1.0 - TIE_TOLERANCE)
    if given_is_best and best != identity:
        order.remove(identity)
        order.insert(0, identity)
    ranking = [(candidates[c][0], candidates[c][1], float(scores[c])) for c in order]
    return ranking, given_is_best


def check_gradient_table(dwi, bvals, bvecs, spacing=(1.0, 1.0, 1.0), mask=None,
                         progress: Optional[ProgressCallback] = None, *, seeds: int = DEFAULT_SEEDS,
                         b0_threshold: float = B0_THRESHOLD, random_state: int = 0) -> GradientCheck:
    """Score every axis permutation and sign flip of a DWI's gradient table by fibre coherence.

    Parameters
    ----------
    dwi : ndarray (K, J, I, N)
        The diffusion-weighted volumes, as ``slicer.util.arrayFromVolume`` gives for a DWI node.
    bvals : array (N,)
        b-values, s/mm^2; volumes with b <= ``b0_threshold`` are b=0 volumes.
    bvecs : array (N, 3)
        Gradient directions in the voxel axes I, J, K (component 0 along I). Rows of b=0 volumes may
        be zero or NaN (as converters write); other rows are normalised.
    spacing : 3 floats
        Voxel size (I, J, K), mm: streamlines are grown in millimetres.
    mask : ndarray (K, J, I), optional
        Where to seed and track (non-zero = in); default a brain mask from the mean b=0
        (:func:`.mask.brain_mask`).
    progress : callable(fraction, message), optional
    seeds : int
        Seeds per candidate (the same seeds for all 24).
    b0_threshold : float
        s/mm^2.
    random_state : int
        Seed of the seed positions (the result is reproducible).

    Returns
    -------
    GradientCheck

    Raises
    ------
    GradientToolsError
        for inconsistent shapes, no b=0 volume, fewer than six non-collinear directions, or an empty
        mask.
    """
    dwi, bvals, bvecs, spacing, mask = _check_inputs(dwi, bvals, bvecs, spacing, mask)
    seeds = check_int(seeds, "seeds", minimum=1)
    b0 = b0_volumes(bvals, bvecs, b0_threshold)
    if not np.any(b0):
        raise GradientToolsError(f"no b=0 volume (b <= {b0_threshold:g} s/mm^2)")
    unit = unit_directions(bvecs, b0)
    report(progress, 0.0, "mask")
    if mask is None:
        mask = brain_mask(dwi[..., b0].mean(axis=-1), dwi[..., ~b0].mean(axis=-1))
        if not np.any(mask):
            raise GradientToolsError("the b=0 volumes hold no signal (no brain mask)")
    report(progress, 0.05, "tensor fit")
    voxels = np.flatnonzero(mask.reshape(-1))
    signal = dwi.reshape(-1, dwi.shape[3])[voxels]
    tensors = np.zeros((mask.size, 6))
    fit_progress = scaled(progress, 0.05, 0.2)
    tensors[voxels] = np.nan_to_num(fit_tensors(
        signal, np.where(b0, 0.0, bvals), unit,
        progress=None if fit_progress is None else lambda f: fit_progress(f, "tensor fit")), nan=0.0)
    # FA does not see a tensor's size: tensors of a signal that does not decay (attenuation below
    # 1e-6 at the median b) are numerical noise, not anisotropy
    tiny = 1e-6 / float(np.median(bvals[~b0]))
    fa = np.zeros(mask.size)
    fa[voxels] = np.where(np.abs(tensors[voxels]).max(axis=1) > tiny,
                          fractional_anisotropy(tensors[voxels]), 0.0)
    report(progress, 0.2, "tracking")

    mean_voxel = float(np.mean(spacing))
    params = TrackingParameters(step=STEP_VOXELS * mean_voxel, max_angle=MAX_ANGLE, fa_cutoff=FA_CUTOFF,
                                max_length=MAX_LENGTH_VOXELS * mean_voxel)
    eligible = (mask.reshape(-1) & (fa >= FA_CUTOFF)).reshape(mask.shape)
    notes = []
    anisotropic = int(eligible.sum())
    candidates = all_candidates()
    if anisotropic == 0:
        # valid but useless (a constant image, no white matter): every candidate scores 0
        notes.append(f"no voxel in the mask has FA >= {FA_CUTOFF}: nothing to track, no verdict")
        scores = np.zeros(len(candidates))
    else:
        if anisotropic < MIN_ANISOTROPIC_VOXELS:
            notes.append(f"only {anisotropic} anisotropic voxels (FA >= {FA_CUTOFF}) in the mask: "
                         "too little white matter for a reliable check")
        seed_points = _seed_positions(eligible, seeds, np.random.default_rng(random_state))
        perm_table = np.array([c[0] for c in candidates])
        sign_table = np.array([c[1] for c in candidates])
        field_ = TensorField(tensors.reshape(mask.shape + (6,)), mask)
        lengths = track_lengths(field_, seed_points, perm_table, sign_table, spacing, params,
                                progress=_tracking_progress(scaled(progress, 0.2, 1.0)))
        scores = lengths.mean(axis=1)
    ranking, given_is_best = _rank(candidates, scores)
    best = IDENTITY if given_is_best else Candidate(ranking[0][0], ranking[0][1])
    top, second = ranking[0][2], ranking[1][2]
    margin = float((top - second) / top) if top > 0 else 0.0
    if margin < WEAK_MARGIN and anisotropic > 0:
        notes.append(f"the best table leads the runner-up by only {100 * margin:.1f}%: weak verdict")
    for note in notes:
        warnings.warn(note, stacklevel=2)
    report(progress, 1.0, "done")
    return GradientCheck(best=best, given_is_best=bool(given_is_best), ranking=ranking,
                         corrected_bvecs=apply_candidate(bvecs, best),
                         given_score=float(scores[candidates.index(IDENTITY)]), margin=margin,
                         seeds=int(seeds), mask=mask, warnings=notes)


def _tracking_progress(progress):
    if progress is None:
        return None
    return lambda fraction: progress(fraction, "tracking")
