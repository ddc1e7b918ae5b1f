"""The noise of the renderer's gradient, measured in the data where structure is everywhere.

Slicer's GPU ray caster sees at each voxel the central differences ``d_a = 0.5 * (F[a+1] - F[a-1])``
along the three array axes (per voxel step) and uses ``x = |d|``. In homogeneous tissue ``d`` is pure
noise; everywhere else structure adds to it. The gradient-opacity curve must hide the first and show
the rest, so what is estimated here is the distribution of ``d`` in homogeneous tissue, directly from
``d`` (no white-noise formula: correlated CT noise and anisotropic voxels are measured as they are).

Method (the comparison with other estimators on real scans is in the README):

1. A sample of small blocks (:mod:`._blocks`, 4^3 voxels, all of them in small volumes). Blocks that
   are mostly exact ties (padding, clipped air, noise-free data) and voxels equal to all six
   neighbours are set aside. Integer volumes get a deterministic dither of half a quantum in ``d``,
   whose known variance (1/24 per axis) is taken off again, so that quantisation cannot make the
   fit jump between levels.
2. Background: the value histogram is split in two (Otsu); when the lower class sits within 5 % of
   the value range above the minimum (air in CT, the Rayleigh background of magnitude MRI) it is
   set aside, so that its quieter noise does not stand for the tissue's. (Not with a mask or a
   visible range: they say what is analysed.)
3. The noise core of the tissue: ``r^2 = sum_a d_a^2 / s_a^2`` of noise follows a chi-square
   distribution, structure only adds to it. The trimmed-variance map ``s -> sqrt(E[d^2 | r^2 < T s^2]
   / c)`` (T the chi-square 75th percentile, c its consistency factor) is scanned on a grid from low
   to high ``s``; its lowest fixed point with support is the densest population with noise-like
   spread: the noise core. Per-axis variances are then re-fitted at that level.
4. Spatial coherence: noise fills whole blocks of homogeneous tissue, whereas voxels of structure
   that happen to have a small gradient (the crest of a gyrus) are scattered. Blocks where at least
   55 % of the voxels fit the core (a pure noise block keeps about 75 %) are the homogeneous ones;
   the fit is repeated on their voxels only, a few times.
5. When the tissue has no core (every block holds structure, e.g. a 4 x 4 x 5 mm EPI) but the data
   are magnitudes (never negative) with a Rayleigh background that has one, the tissue's Gaussian
   noise is the background's divided by the Rayleigh factor sqrt(2 - pi/2) = 0.655.
6. The 99th percentile of ``sqrt(sum_a s_a^2 Z_a^2)`` (Z standard normal) is that of the noise
   gradient in renderer units: ``P``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Optional, Sequence, Tuple

import numpy as np

from .._shared.validate import check_int, check_volume_like
from ..errors import GradientToolsError
from ._blocks import (  # noqa: F401  (BLOCK, MAX_BLOCKS re-exported)
    BLOCK,
    MAX_BLOCKS,
    BlockSample,
    concatenate,
    grid_block_count,
    sample_blocks,
)

#: a block with this share of exact ties among its voxels' neighbours is flat (padding, noise-free)
FLAT_SHARE = 0.6
#: trimming of the robust fit, as a probability of the chi-square distribution
TRIM_PROBABILITY = 0.75
#: a block is homogeneous when at least this share of its selected voxels fits the noise core
CLEAN_SHARE = 0.55
#: the lower Otsu class is background when its median lies within this share of the value range
#: above the minimum (air in CT, a magnitude background), or when it is both quieter than the upper
#: class (its noise core below QUIETER times the other's) and piled towards the minimum (its median
#: in the lower BACKGROUND_SKEW of the way from the minimum to the threshold: a multi-coil DWI
#: background)
BACKGROUND_SPAN = 0.05
BACKGROUND_SKEW = 0.5
QUIETER = 0.8
#: log-log slope of the trimmed-variance map at the fixed point above which the core is weak (a pure
#: noise population gives about 0.6, a continuum of structure close to 1)
WEAK_CORE = 0.85
#: fewer homogeneous blocks than this: the coherent fit is not trusted
MIN_CLEAN_BLOCKS = 8
#: fewer homogeneous blocks than this in the first sample: read more blocks (up to MORE_BLOCKS times
#: as many), so that volumes where homogeneous tissue is rare get a stable estimate while the others
#: stay cheap
ENOUGH_CLEAN_BLOCKS = 48
MORE_BLOCKS = 16
#: volumes with at most this many blocks are read whole (a fixed cost, as large as the sample of a
#: big volume's hard case may be): the estimate of a small volume then does not depend on the seed
WHOLE_BELOW = 8192
#: grid phases of a small volume read whole (shifts in voxels along K, J, I)
_PHASES = ((0, 0, 0), (2, 2, 2), (1, 3, 2), (3, 1, 1))
#: standard deviation of a Rayleigh variable over its scale parameter
RAYLEIGH_STD = math.sqrt(2.0 - math.pi / 2.0)
#: variance of the dither added to the central differences of integers (a uniform of width
#: sqrt(0.5): as much as a dither of half a quantum on both voxels of the difference)
DITHER_VARIANCE = 1.0 / 24.0
#: grid of the fixed-point scan
_GRID = 64
#: voxels the per-axis refits use at most (a regular subsample: the variances are exact to ~2 %)
_REFIT_VOXELS = 1 << 13


@dataclass
class GradientNoise:
    """Noise of the renderer-unit gradient, estimated from the data.

    Attributes
    ----------
    axis_sigma : tuple of 3 floats
        Standard deviation of the noise in the central difference ``0.5*(F[a+1]-F[a-1])`` along the
        K, J, I array axes (scalar units per voxel step).
    p99 : float
        99th percentile of the noise gradient magnitude in renderer units (scalar units per voxel
        step): the value homogeneous regions reach in 1 % of their voxels.
    voxel_sigma : float
        Standard deviation of the per-voxel noise (scalar units), ``sqrt(2)`` times the RMS of
        ``axis_sigma`` (exact for white noise; correlated noise is smoother at the voxel scale).
    blocks_used, blocks_examined : int
        Homogeneous blocks the level comes from, and blocks read.
    voxels_used : int
        Selected voxels analysed (after flat blocks and background are set aside).
    source : str
        "tissue" (the noise core of the analysed voxels), "background" (a Rayleigh background, step
        5 of the module docstring) or "none" (no noise: flat or noise-free data).
    details : dict
        Diagnostics: background threshold, core strength, homogeneous blocks.
    """

    axis_sigma: Tuple[float, float, float]
    p99: float
    voxel_sigma: float
    blocks_used: int
    blocks_examined: int
    voxels_used: int
    source: str = "tissue"
    details: dict = field(default_factory=dict)


@functools.lru_cache(maxsize=4)
def _trim_constants(dof: int) -> Tuple[float, float]:
    """(threshold T, consistency factor c) of the trimmed fit for ``dof`` noisy axes."""
    from scipy.stats import chi2

    threshold = float(chi2.ppf(TRIM_PROBABILITY, dof))
    return threshold, float(chi2.cdf(threshold, dof + 2) / chi2.cdf(threshold, dof))


def _otsu(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of ``values`` (between-class variance maximised on a histogram)."""
    counts, edges = np.histogram(values, bins=bins)
    centres = 0.5 * (edges[1:] + edges[:-1])
    weight = np.cumsum(counts, dtype=np.float64)
    total = weight[-1]
    moment = np.cumsum(counts * centres)
    with np.errstate(invalid="ignore", divide="ignore"):
        between = (moment[-1] * weight - moment * total) ** 2 / (weight * (total - weight))
    between = np.nan_to_num(between[:-1], nan=-1.0)
    return float(edges[int(np.argmax(between)) + 1])


def _strided(array: np.ndarray, limit: int) -> np.ndarray:
    """A regular subsample of at most ``limit`` entries along the last axis (a view when possible)."""
    step = max(1, -(-array.shape[-1] // limit))
    return array[..., ::step]


def _lower_class(values: np.ndarray, usable: np.ndarray) -> Tuple[Optional[np.ndarray], bool, float]:
    """The lower Otsu class of the ``usable`` voxels' values: (its voxels or None, whether it lies
    at the very bottom of the value range (within BACKGROUND_SPAN: air in CT, a magnitude
    background), its median's place between the minimum (0) and the threshold (1))."""
    v = _strided(values[usable], 1 << 14)
    if v.size < 64:
        return None, False, 1.0
    low, high = np.percentile(v, [0.5, 99.5])
    if not high > low:
        return None, False, 1.0
    threshold = _otsu(v[(v >= low) & (v <= high)])
    lower = v[v < threshold]
    if lower.size < 0.05 * v.size or lower.size > 0.95 * v.size:
        return None, False, 1.0
    floor = float(v.min())
    median = float(np.median(lower))
    bottom = median - floor < BACKGROUND_SPAN * (high - floor)
    return usable & (values < threshold), bottom, (median - floor) / max(threshold - floor, 1e-300)


def _core(squares: np.ndarray, dof: int) -> Tuple[np.ndarray, float]:
    """Per-axis standard deviations of the noise core of squared differences ``squares`` (3, n),
    and the log-log slope of the trimmed-variance map at its fixed point (the core's weakness).

    The map is evaluated from a fine histogram of log r^2 (0.5 % bins: counts and sums per bin), so
    the scan costs one pass over the voxels instead of a sort."""
    threshold, factor = _trim_constants(dof)
    r2 = squares[0] + squares[1] + squares[2]          # inf where excluded (see _masked_squares)
    finite = np.isfinite(r2)
    total = int(np.count_nonzero(finite))
    probe = _strided(r2[finite & (r2 > 0)], _REFIT_VOXELS)
    if total < 16 or probe.size < 16:
        return np.zeros(3), 1.0
    low, high = (float(v) for v in np.quantile(probe, [0.01, 0.95]))
    high = max(high, low * 1.0001)
    # bins over [low / 4, high * threshold] in log r^2: every trimming level of the grid falls inside
    lo, hi = math.log(low / 4.0), math.log(high * threshold)
    nbins = max(64, int((hi - lo) / 0.005))
    with np.errstate(divide="ignore", invalid="ignore"):
        position = (np.log(r2) - np.float32(lo)) * np.float32(nbins / (hi - lo))
    where = np.clip(np.nan_to_num(position, nan=-1.0, neginf=-1.0, posinf=nbins + 1.0),
                    -1, nbins).astype(np.int64) + 1
    where[~finite] = nbins + 1
    counts = np.bincount(where, minlength=nbins + 2)
    sums = np.bincount(where, weights=np.where(finite, r2, 0.0), minlength=nbins + 2)
    cum_counts, cum_sums = np.cumsum(counts), np.cumsum(sums)
    levels = np.geomspace(low / dof, high / dof, _GRID)                  # candidate s^2
    cut = np.clip(((np.log(threshold * levels) - lo) / (hi - lo) * nbins).astype(np.int64) + 1, 0,
                  nbins + 1)
    kept = cum_counts[cut]
    mapped = np.where(kept > 0, cum_sums[cut] / np.maximum(kept, 1) / factor / dof, 0.0)
    support = kept / total
    ratio = np.where(mapped > 0, mapped / levels, np.inf)
    level = None
    for i in range(1, _GRID):
        if ratio[i - 1] > 1.0 >= ratio[i] and support[i] >= 0.03:
            a, b = math.log(levels[i - 1]), math.log(levels[i])
            ra, rb = math.log(ratio[i - 1]), math.log(ratio[i])
            level = math.exp(a + (b - a) * ra / (ra - rb))
            break
    if level is None:  # no crossing with support: the level where the map moves least
        moves = np.abs(np.log(np.where(np.isfinite(ratio) & (ratio > 0), ratio, 1e300)))
        level = float(levels[int(np.argmin(moves))])
    j = int(np.searchsorted(levels, level))
    j0, j1 = max(j - 4, 0), min(j + 4, _GRID - 1)
    slope = 1.0
    if j1 > j0 and mapped[j0] > 0 and mapped[j1] > 0:
        slope = math.log(mapped[j1] / mapped[j0]) / math.log(levels[j1] / levels[j0])
    return _refit(_strided(squares[:, finite], _REFIT_VOXELS), np.full(3, level), dof), float(slope)


def _weighted_r2(squares: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """sum_a squares[a] / variances[a] (axes with variance 0 left out), in the type of ``squares``."""
    r2 = np.zeros(squares.shape[1:], dtype=squares.dtype)
    for axis in range(3):
        if variances[axis] > 0:
            r2 += squares[axis] * squares.dtype.type(1.0 / variances[axis])
    return r2


def _refit(squares: np.ndarray, variances: np.ndarray, dof: int, steps: int = 6) -> np.ndarray:
    """Per-axis standard deviations by trimmed re-estimation from ``variances`` (3,)."""
    threshold, factor = _trim_constants(dof)
    for _ in range(steps):
        keep = (_weighted_r2(squares, variances) < threshold).view(np.uint8)
        count = int(np.count_nonzero(keep))
        if count == 0:
            break
        # einsum's own loop (single thread, no copies) sums the kept squares per axis
        sums = np.einsum("an,n->a", squares, keep.astype(squares.dtype)).astype(np.float64)
        new = np.where(variances > 0, sums, 0.0) / count / factor
        change = np.abs(new - variances).max() / max(float(new.max()), 1e-300)
        variances = new
        if change < 1e-3:
            break
    return np.sqrt(variances)


def _coherent(squares: np.ndarray, usable: np.ndarray, sigma: np.ndarray, dof: int,
              rounds: int = 2) -> Tuple[np.ndarray, int]:
    """Refit on the voxels of homogeneous blocks only (step 4 of the module docstring).

    ``squares`` (3, nb, n) squared differences, ``usable`` (nb, n); returns the standard deviations
    and the number of homogeneous blocks (0 when too few: ``sigma`` is returned unchanged)."""
    threshold, _ = _trim_constants(dof)
    flat = squares.reshape(3, -1)
    per_block = usable.sum(axis=1)
    clean_count = 0
    for _ in range(rounds):
        variances = sigma * sigma
        fits = (_weighted_r2(flat, variances).reshape(usable.shape) < threshold) & usable
        clean = (fits.sum(axis=1) >= CLEAN_SHARE * per_block) & (per_block >= 16)
        if clean.sum() < MIN_CLEAN_BLOCKS:
            return sigma, 0
        clean_count = int(clean.sum())
        voxels = (usable & clean[:, None]).reshape(-1)
        sigma = _refit(_strided(flat[:, voxels], _REFIT_VOXELS), variances, dof, steps=3)
    return sigma, clean_count


def _masked(squares: np.ndarray, voxels: np.ndarray) -> np.ndarray:
    """``squares`` with the voxels outside ``voxels`` set to inf (never kept by a trimmed fit)."""
    out = squares.copy()
    out[:, ~voxels] = np.inf
    return out


def _dithered_squares(sample: BlockSample) -> Tuple[np.ndarray, float]:
    """Squared differences (float32), dithered for integer data whose noise is within a few quanta
    (and the variance the dither added)."""
    d = sample.diffs
    if sample.integer:
        typical = float(np.median(np.abs(d[:, :: max(1, d.shape[1] // 256)])))
        if typical < 4.0:  # noise of a few quanta: quantisation would make the fit jump
            jitter = np.random.default_rng(20260101).random(d.shape, dtype=np.float32)
            jitter -= np.float32(0.5)
            jitter *= np.float32(math.sqrt(DITHER_VARIANCE * 12.0))
            for axis, degenerate in enumerate(sample.degenerate_axes):
                if degenerate:
                    jitter[axis] = 0.0
            dithered = d.astype(np.float32) + jitter
            return dithered * dithered, DITHER_VARIANCE
    squares = d.astype(np.float32)
    squares *= squares
    return squares, 0.0


@functools.lru_cache(maxsize=1)
def _standard_normal(n: int = 1 << 14) -> np.ndarray:
    """Squares of ``n`` standard normal triples, quasi-random (Sobol points through the normal
    quantile function), so that quantiles of their sums are accurate to about 0.1 %."""
    from scipy.stats import norm, qmc

    u = qmc.Sobol(d=3, scramble=True, seed=20260101).random(n)
    return norm.ppf(np.clip(u, 1e-12, 1 - 1e-12)).T ** 2


def noise_gradient_quantile(axis_sigma: Sequence[float], q: float = 0.99) -> float:
    """Quantile of ``sqrt(sum_a axis_sigma[a]**2 * Z_a**2)``, Z_a independent standard normal.

    The magnitude of the renderer-unit gradient of Gaussian noise whose central differences have
    standard deviations ``axis_sigma`` (computed from a fixed quasi-random set of 16 384 triples).
    """
    var = np.asarray(axis_sigma, dtype=np.float64) ** 2
    if var.sum() <= 0:
        return 0.0
    values = var @ _standard_normal()
    k = int(round(q * (values.size - 1)))
    return float(np.sqrt(np.partition(values, k)[k]))


def estimate_gradient_noise(array=None, *, sample: Optional[BlockSample] = None, mask=None,
                            visible_range=None, background: Optional[bool] = None,
                            max_blocks: int = MAX_BLOCKS, seed: int = 0) -> GradientNoise:
    """Estimate the noise of the renderer-unit gradient from the data (see the module docstring).

    Parameters
    ----------
    array : array (K, J, I)
        The scalar volume; not needed when ``sample`` is given.
    sample : BlockSample, optional
        A sample from :func:`sample_blocks` (to share it with other analyses).
    mask, visible_range, max_blocks, seed
        As :func:`sample_blocks`.
    background : bool, optional
        Set a background class aside (step 2); default: only when neither a mask nor a visible
        range is given.

    Returns
    -------
    GradientNoise
        All zero (source "none") when no block has noise (a constant or noise-free volume).
    """
    if sample is None:
        if array is None:
            raise GradientToolsError("give the volume or a block sample")
        return sample_and_estimate(array, mask=mask, visible_range=visible_range, background=background,
                                   max_blocks=max_blocks, seed=seed)[1]
    if background is None:
        background = mask is None and visible_range is None
    noisy = np.array([not deg for deg in sample.degenerate_axes])
    dof = max(1, int(noisy.sum()))
    selected = sample.selected
    n_selected = selected.sum(axis=1)
    tie_share = np.where(selected, sample.ties, 0).sum(axis=1) / np.maximum(6 * n_selected, 1)
    usable = selected & (sample.ties < 6) & (tie_share < FLAT_SHARE)[:, None]
    none = GradientNoise((0.0, 0.0, 0.0), 0.0, 0.0, 0, sample.blocks_examined, 0, "none")
    if usable.sum() < 16:
        return none
    squares, dither = _dithered_squares(sample)
    details = {"background_threshold": None}
    tissue, back = usable, None
    if background:
        lower, bottom, skew = _lower_class(sample.values, usable)
        if lower is not None and not bottom and skew < BACKGROUND_SKEW:
            quiet, _ = _core(_masked(squares, lower).reshape(3, -1), dof)
            loud, _ = _core(_masked(squares, usable & ~lower).reshape(3, -1), dof)
            bottom = float((quiet * quiet).sum()) < QUIETER ** 2 * float((loud * loud).sum())
        if lower is not None and bottom:
            back, tissue = lower, usable & ~lower
            details["background_threshold"] = float(sample.values[back].max())
    sigma, slope = _core(_masked(squares, tissue).reshape(3, -1), dof)
    sigma, clean = _coherent(squares, tissue, sigma, dof)
    source = "tissue"
    details.update(core_slope=slope, homogeneous_blocks=clean)
    if back is not None and sample.values[usable].min() >= 0 and (slope > WEAK_CORE or clean == 0):
        back_sigma, back_slope = _core(_masked(squares, back).reshape(3, -1), dof)
        details["background_slope"] = back_slope
        if back_slope <= WEAK_CORE:
            gaussian = np.maximum(back_sigma * back_sigma - dither, 0.0) / RAYLEIGH_STD ** 2
            sigma, source = np.sqrt(gaussian + dither), "background"
    variances = np.where(noisy, np.maximum(sigma * sigma - dither, 0.0), 0.0)
    axis_sigma = tuple(float(v) for v in np.sqrt(variances))
    if not any(axis_sigma):
        return none
    return GradientNoise(
        axis_sigma=axis_sigma,
        p99=noise_gradient_quantile(axis_sigma, 0.99),
        voxel_sigma=float(math.sqrt(2.0 * variances[noisy].mean())),
        blocks_used=int(clean),
        blocks_examined=int(sample.blocks_examined),
        voxels_used=int(tissue.sum()),
        source=source,
        details=details,
    )


def sample_and_estimate(array, *, mask=None, visible_range=None, background: Optional[bool] = None,
                        max_blocks: int = MAX_BLOCKS, seed: int = 0) -> Tuple[BlockSample, GradientNoise]:
    """Sample blocks and estimate the noise, reading more blocks when homogeneous tissue is rare.

    A first sample of ``max_blocks`` blocks; when it holds fewer than :data:`ENOUGH_CLEAN_BLOCKS`
    homogeneous blocks and the volume has more, a sample :data:`MORE_BLOCKS` times larger replaces
    it (same seed). Returns the sample used and the estimate.
    """
    max_blocks = check_int(max_blocks, "max_blocks", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    if background is None:
        background = mask is None and visible_range is None
    total = grid_block_count(check_volume_like(array).shape)
    if total <= WHOLE_BELOW:
        # a small volume is read whole, in several grid phases: block boundaries then do not decide
        # which voxels make a homogeneous block
        count = max(1, min(len(_PHASES), 2 * WHOLE_BELOW // total))
        sample = concatenate([sample_blocks(array, mask=mask, visible_range=visible_range, max_blocks=total,
                                            seed=seed, phase=phase) for phase in _PHASES[:count]])
    else:
        sample = sample_blocks(array, mask=mask, visible_range=visible_range, max_blocks=max_blocks,
                               seed=seed)
    estimate = estimate_gradient_noise(sample=sample, background=background)
    if estimate.blocks_used < ENOUGH_CLEAN_BLOCKS and total > WHOLE_BELOW \
            and estimate.source != "none":
        more = MORE_BLOCKS * max_blocks
        sample = sample_blocks(array, mask=mask, visible_range=visible_range,
                               max_blocks=total if total <= 2 * more else more, seed=seed)
        estimate = estimate_gradient_noise(sample=sample, background=background)
    return sample, estimate
