"""Robust estimate of the noise in renderer-unit gradients, from the data.

Slicer's GPU ray caster sees, at each voxel, the central differences
``d_a = 0.5 * (F[a+1] - F[a-1])`` along the three array axes (per voxel step, spacing 1) and uses
``x = sqrt(d_k**2 + d_j**2 + d_i**2)``. In a homogeneous region ``d`` is pure noise. This module
measures that noise directly on ``d`` (no white-noise formula), so it holds for correlated CT noise
and strongly anisotropic voxels, whose per-axis differences differ a lot.

Method: the noise floor of local mean squares
----------------------------------------------
On real scans structure is everywhere: at 1 mm most small windows of a brain T1 hold a piece of
cortex, and the most common local variance is that of anatomy, not noise. Anatomy only *adds* to
the local mean square of ``d``; noise is the floor under it. So:

1. Blocks of 8 x 8 x 8 voxels (4 x 4 x 4 in small volumes) are drawn at random (fixed seed) and
   cut into windows of 4 x 4 x 4; only those voxels and a one-voxel halo are read, so the cost does
   not grow with the volume. Voxels outside ``mask`` or ``visible_range`` are left out, and so are
   voxels equal to all six neighbours and windows where most neighbours are equal (padding, exact-
   zero backgrounds, clipped air, quantised smooth data): a mass of exact zeros must not pull the
   floor to 0.
2. Each window gets its mean square of ``d`` per axis (no mean removed: correlated noise keeps its
   full size) and its mean value.
3. When the whole volume is analysed (no mask, no range), windows whose mean value lies in the
   bottom 5 % of the windows' value range are background: air in CT (-1000 HU), the Rayleigh
   noise around an MRI magnitude image (quieter than the Rician tissue noise by a factor 0.66),
   which no preset renders and which would set too low a floor.
4. The floor is the 5th percentile of the windows' total mean square, divided by the 5th percentile
   of the same statistic for pure white noise in the same window (computed once by simulation), so
   that the estimate is unbiased when every window is homogeneous and biased by at most about 10 %
   in noise std when only a twentieth of them are. Its split over the axes is that of the windows
   at the bottom of the ranking (below the 10th percentile).
5. The 99th percentile of ``sqrt(sum_a s_a**2 Z_a**2)`` (Z standard normal) is that of the noise
   gradient in the renderer's units (computed numerically; for white noise of std s it is about
   3.37 s / sqrt(2)).

So ``P`` is the noise of the quietest homogeneous tissue covering at least about a twentieth of the
analysed windows. A noisier material elsewhere is not what sets it: point at it with ``mask`` or
``visible_range``. The study behind this choice (local-variance mode, Immerkaer, wavelet MAD, DIPY's
estimate_sigma and PIESNO, the former block-quantile estimator, on real CT and MRI scans with
hand-drawn regions) is ``benchmarks/study_noise.py``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from ..errors import GradientToolsError
from ._blocks import BLOCK, FLAT_SHARE, MAX_BLOCKS, BlockSample, sample_blocks  # noqa: F401

#: edge of the windows the blocks are cut into, voxels
WINDOW = 2
#: the floor: this quantile of the windows' mean square of the central differences
FLOOR_QUANTILE = 0.05
#: windows whose mean value lies in this bottom share of the value range are background
BACKGROUND_SHARE = 0.05
#: windows of non-negative data with mean**2 below this times their mean square of d hold only noise
NOISE_ONLY = 6.0


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
        Standard deviation of the per-voxel noise (scalar units), from the median absolute residual
        of voxels to their six-neighbour mean in the floor windows (exact for white noise; smaller
        than the true value for correlated noise, which is smooth at that scale).
    blocks_used, blocks_examined : int
        Blocks with at least one usable window, and blocks read.
    voxels_used : int
        Usable voxels in the usable windows.
    windows_used : int
        Windows the floor was taken over (after setting the background aside).
    background_windows : int
        Usable windows set aside as background (step 3 of the method).
    """

    axis_sigma: Tuple[float, float, float]
    p99: float
    voxel_sigma: float
    blocks_used: int
    blocks_examined: int
    voxels_used: int
    windows_used: int = 0
    background_windows: int = 0


def _windows(array: np.ndarray, edge: Sequence[int], window: Sequence[int]) -> np.ndarray:
    """(..., nb, bk, bj, bi) -> (..., nb * windows per block, voxels per window); voxels beyond the
    last whole window of an axis are dropped."""
    lead = array.shape[:-3]
    counts = [e // w for e, w in zip(edge, window)]
    cut = array[(Ellipsis,) + tuple(slice(0, c * w) for c, w in zip(counts, window))]
    shaped = cut.reshape(lead + (counts[0], window[0], counts[1], window[1], counts[2], window[2]))
    n = len(lead)
    order = tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3, n + 5)
    moved = shaped.transpose(order)
    return moved.reshape(lead[:-1] + (lead[-1] * int(np.prod(counts)), int(np.prod(window))))


def _box_sums(array: np.ndarray, window: Sequence[int]) -> np.ndarray:
    """Sums of ``array`` (..., bk, bj, bi) over every window position (stride 1, inside the block)."""
    out = array
    for axis, w in zip((-3, -2, -1), window):
        c = np.cumsum(out, axis=axis, dtype=np.float64)
        zero = np.zeros_like(np.take(c, [0], axis=axis))
        c = np.concatenate([zero, c], axis=axis)
        n = c.shape[axis]
        out = np.take(c, range(w, n), axis=axis) - np.take(c, range(0, n - w), axis=axis)
    return out


def window_statistics(sample: BlockSample, window: int = WINDOW):
    """Per window of the block sample (every position inside each block, overlapping): mean square
    of ``d`` per axis, mean value, usable flag.

    Returns
    -------
    mean_square : (3, nw) float64, per axis K, J, I, over the window's valid voxels
    mean_value : (nw,) float64
    usable : (nw,) bool: at least half the window's voxels valid and not flat (most neighbours equal)
    block : (nw,) int, the block each window lies in
    shape : the window shape (voxels along K, J, I)
    """
    nb = sample.values.shape[0]
    edge = tuple(int(s) - 2 for s in sample.halo_blocks.shape[1:])
    shape = tuple(max(1, min(window, e)) for e in edge)
    block_shape = (nb,) + edge
    selected = sample.selected.reshape(block_shape)
    ties = sample.ties.reshape(block_shape)
    # voxels equal to all six neighbours (padding or empty air beside the noisy part) are left out
    valid = selected & (ties < 6)
    weights = valid.astype(np.float32)
    n = int(np.prod(shape))
    n_selected = _box_sums(selected.astype(np.float32), shape)
    n_ties = _box_sums(np.where(selected, ties, 0).astype(np.float32), shape)
    n_valid = _box_sums(weights, shape)
    d = sample.diffs.reshape((3,) + block_shape)
    sums = _box_sums(d * d * weights, shape)
    values = _box_sums(sample.values.reshape(block_shape) * weights, shape)
    flat = n_ties >= 6 * FLAT_SHARE * np.maximum(n_selected, 1)
    usable = (n_valid >= max(1, n // 2)) & ~flat
    count = np.maximum(n_valid, 1)
    per_block = int(np.prod(usable.shape[1:]))
    block = np.repeat(np.arange(nb), per_block)
    flat_values = _box_sums(sample.values.reshape(block_shape) * selected, shape) / np.maximum(n_selected, 1)
    noise_free = _noise_free(flat_values[flat & (n_selected >= n // 2)], int(usable.sum()))
    usable = usable.ravel() & (not noise_free)
    return (sums / count).reshape(3, -1), (values / count).ravel(), usable, block, shape


def _noise_free(flat_means: np.ndarray, n_noisy: int) -> bool:
    """Noise-free (piecewise constant) data: flat windows at values other than the most common flat
    value (an exact-zero background, padding) outnumber the windows with noise."""
    if flat_means.size == 0:
        return False
    values, counts = np.unique(np.round(flat_means, 6), return_counts=True)
    return int(flat_means.size - counts.max()) > n_noisy


@functools.lru_cache(maxsize=16)
def _white_noise_floor(shape: Tuple[int, int, int], noisy: Tuple[bool, bool, bool], q: float) -> float:
    """``q``-quantile of one axis's window mean square of ``d`` over its expectation, for white
    noise (simulated once with a fixed seed: 4000 windows of ``shape`` with their halo)."""
    rng = np.random.default_rng(20260101)
    halo = rng.standard_normal((4000,) + tuple(s + 2 for s in shape))
    axis = int(np.argmax(noisy)) if any(noisy) else 0
    index_hi = [slice(None)] + [slice(1, -1)] * 3
    index_lo = list(index_hi)
    index_hi[axis + 1] = slice(2, None)
    index_lo[axis + 1] = slice(None, -2)
    d = 0.5 * (halo[tuple(index_hi)] - halo[tuple(index_lo)])
    return float(np.quantile((d * d).reshape(4000, -1).mean(axis=1), q) / 0.5)


def _voxel_sigma(sample: BlockSample, blocks: np.ndarray) -> float:
    """Per-voxel noise std from the median absolute residual to the six-neighbour mean (variance
    7/6 s**2 for white noise) of the valid voxels of some blocks."""
    xs = sample.halo_blocks[blocks]
    residuals = xs[:, 1:-1, 1:-1, 1:-1] - (
        xs[:, 2:, 1:-1, 1:-1] + xs[:, :-2, 1:-1, 1:-1] + xs[:, 1:-1, 2:, 1:-1]
        + xs[:, 1:-1, :-2, 1:-1] + xs[:, 1:-1, 1:-1, 2:] + xs[:, 1:-1, 1:-1, :-2]) / 6.0
    keep = (sample.selected & (sample.ties < 6))[blocks]
    res = np.abs(residuals.reshape(len(blocks), -1)[keep])
    if res.size == 0:
        return 0.0
    return float(1.4826 * np.median(res) / np.sqrt(7.0 / 6.0))


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


def _foreground(mean_value: np.ndarray, total: np.ndarray, usable: np.ndarray, magnitude: bool) -> np.ndarray:
    """Usable windows that are not background: not in the bottom :data:`BACKGROUND_SHARE` of the
    windows' value range and, for non-negative (magnitude) data, not a window whose mean is
    comparable to its own noise (mean**2 < :data:`NOISE_ONLY` x mean square of ``d``; a Rayleigh
    background gives 2.4, tissue at an SNR of 5 about 17)."""
    values = mean_value[usable]
    low, high = float(values.min()), float(np.percentile(values, 99.5))
    keep = usable & (mean_value >= low + BACKGROUND_SHARE * (high - low))
    if magnitude:
        keep &= mean_value * mean_value >= NOISE_ONLY * total
    return keep if keep.sum() >= max(16, usable.sum() // 50) else usable


def estimate_gradient_noise(array=None, *, sample: Optional[BlockSample] = None, mask=None,
                            visible_range=None, quantile: float = FLOOR_QUANTILE,
                            background: Optional[bool] = None, max_blocks: int = MAX_BLOCKS,
                            seed: int = 0) -> GradientNoise:
    """Estimate the noise of the renderer-unit gradient from the data (see the module docstring).

    Parameters
    ----------
    array : numpy array (K, J, I)
        The scalar volume; not needed when ``sample`` is given.
    sample : BlockSample, optional
        A sample from :func:`sample_blocks` (to share it with other analyses).
    mask, visible_range, max_blocks, seed
        As :func:`sample_blocks`.
    quantile : float
        Quantile of the windows' mean square taken as the floor (default :data:`FLOOR_QUANTILE`,
        0.05: the quietest homogeneous material covering a twentieth of the windows).
    background : bool, optional
        Set the bottom of the value range aside as background (step 3). Default: only when the
        whole volume is analysed (no ``mask`` or ``visible_range``, and a sample drawn here).

    Returns
    -------
    GradientNoise
        All zero when no window has usable voxels (a constant or noise-free volume).
    """
    if not 0.0 < quantile < 0.5:
        raise GradientToolsError(f"quantile must be between 0 and 0.5, got {quantile}")
    if sample is None:
        if array is None:
            raise GradientToolsError("give the volume or a block sample")
        if background is None:
            background = mask is None and visible_range is None
        sample = sample_blocks(array, mask=mask, visible_range=visible_range, max_blocks=max_blocks,
                               seed=seed)
    mean_square, mean_value, usable, block, shape = window_statistics(sample)
    if not usable.any():
        return GradientNoise((0.0, 0.0, 0.0), 0.0, 0.0, 0, sample.blocks_examined, 0)
    total = mean_square.sum(axis=0)
    magnitude = float(sample.values.min()) >= 0
    used = _foreground(mean_value, total, usable, magnitude) if background else usable
    noisy = tuple(not deg for deg in sample.degenerate_axes)
    # each axis has its own floor: structure along one axis (thick slices) does not hide the
    # quiet windows of the others
    floors = np.quantile(mean_square[:, used], quantile, axis=1)
    variance = floors / _white_noise_floor(shape, noisy, quantile)
    axis_sigma = tuple(float(np.sqrt(v)) if on else 0.0 for v, on in zip(variance, noisy))
    bottom = used & (total <= np.quantile(total[used], quantile))
    blocks = np.unique(block[used])
    return GradientNoise(
        axis_sigma=axis_sigma,
        p99=noise_gradient_quantile(axis_sigma, 0.99),
        voxel_sigma=_voxel_sigma(sample, np.unique(block[bottom])),
        blocks_used=int(blocks.size),
        blocks_examined=sample.blocks_examined,
        voxels_used=int((sample.selected & (sample.ties < 6))[blocks].sum()),
        windows_used=int(used.sum()),
        background_windows=int(usable.sum() - used.sum()),
    )
