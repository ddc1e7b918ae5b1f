"""Robust estimate of the noise in renderer-unit gradients, from the data.

Slicer's GPU ray caster sees, at each voxel, the central differences
``d_a = 0.5 * (F[a+1] - F[a-1])`` along the three array axes (per voxel step, spacing 1) and uses
``x = sqrt(d_k**2 + d_j**2 + d_i**2)``. In a homogeneous region ``d`` is pure noise. This module
estimates the distribution of that noise directly from ``d`` (no white-noise formula), so it holds for
correlated CT noise and strongly anisotropic voxels, whose per-axis differences differ a lot.

Method
------
1. Blocks of 8 x 8 x 8 voxels (4 x 4 x 4 in small volumes) are drawn at random (fixed seed) over
   the volume; only their voxels and a one-voxel halo are read, so the cost does not grow with the
   volume. Voxels outside ``mask`` or ``visible_range`` are left out.
2. Blocks where at least 60 % of the voxels' neighbours equal them exactly are "flat" (padding,
   clipped or empty air, noise-free or quantised smooth data) and set aside: a mass of exact zeros
   must not pull the estimate to 0. In the other blocks, voxels equal to all six neighbours are
   left out of the fit.
3. In each block a Gaussian with per-axis variances ``s_a**2`` around a mean difference vector is
   fitted to the differences ``d`` by trimmed re-estimation: start from the lower quartile, keep
   the voxels whose Mahalanobis ``r**2`` is below the chi-square 75th percentile, re-estimate with
   the consistency factor of that trimming, repeat. Edge voxels (large ``d``) are trimmed even when
   they are most of the block; the mean removes smooth trends (flanks of blurred edges).
4. Blocks differ in noise (MRI: Rician tissue versus Rayleigh background) and a few are dominated
   by edges. The volume's level is the mean of the blocks ranked 92nd to 98th percentile by total
   variance, after cutting the ranking at the first jump of more than 1.5x (in std) above the median
   block (blocks that are all edge). So the noisiest material sets the level when it covers about 5 %
   of the blocks. The robust spread of the block means is added back: noise correlated over more
   than a block moves whole blocks. Blocks where the fit kept less than half the voxels (a
   Gaussian keeps 75 %) are mostly edges or edge flanks and are left out of the ranking when at
   least a quarter of the blocks are clean.
5. The 99th percentile of ``sqrt(sum_a s_a**2 Z_a**2)`` (Z standard normal) is that of the noise
   gradient in the renderer's units (computed numerically; for white noise of std s it is about
   3.37 s / sqrt(2)).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from ..errors import GradientToolsError
from ._blocks import BLOCK, MAX_BLOCKS, BlockSample, sample_blocks, usable_and_flat  # noqa: F401

#: blocks' total variance is taken at this quantile (see the module docstring, step 4)
BLOCK_QUANTILE = 0.95
#: trimming threshold of the robust fit, as a probability of the chi-square distribution
TRIM_PROBABILITY = 0.75
#: number of trimmed re-estimation steps
TRIM_STEPS = 6
#: blocks whose trimmed fit keeps less than this share of their voxels are dominated by edges
CLEAN_SHARE = 0.5
#: blocks whose noise std jumps by more than this factor above the median block's are edge blocks
GAP = 1.5


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
        of voxels to their six-neighbour mean in the blocks that set the level (exact for white
        noise; smaller than the true value for correlated noise, which is smooth at that scale).
    blocks_used, blocks_examined : int
        Blocks with enough usable voxels, and blocks read.
    voxels_used : int
        Usable voxels in the used blocks.
    """

    axis_sigma: Tuple[float, float, float]
    p99: float
    voxel_sigma: float
    blocks_used: int
    blocks_examined: int
    voxels_used: int


def _chi2_cdf(x: float, dof: int) -> float:
    from scipy.stats import chi2

    return float(chi2.cdf(x, dof))


@functools.cache
def _trim_constants(dof: int) -> Tuple[float, float, float]:
    """(threshold, consistency factor, lower quartile) of the trimmed fit for ``dof`` noisy axes."""
    from scipy.stats import chi2

    threshold = float(chi2.ppf(TRIM_PROBABILITY, dof))
    factor = _chi2_cdf(threshold, dof + 2) / _chi2_cdf(threshold, dof)
    return threshold, factor, float(chi2.ppf(0.25, dof))


def block_noise(sample: BlockSample) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Robust per-block noise variances of the central differences.

    Returns
    -------
    variances : (3, nb) float64, per axis K, J, I, around the block's mean difference
    means : (3, nb) float64, the block's mean difference per axis (trend or correlated noise)
    usable : (nb,) bool, blocks with enough selected voxels
    flat : (nb,) bool, usable blocks where at least :data:`._blocks.FLAT_SHARE` of the selected voxels'
        neighbours equal them exactly: noise-free (piecewise constant), padding or quantised smooth
        data; their variance is 0
    keep : (nb, n) bool, voxels the trimmed fit kept as noise
    """
    d = sample.diffs
    valid = sample.selected
    nb, n = valid.shape
    noisy_axes = np.array([not deg for deg in sample.degenerate_axes])
    dof = max(1, int(noisy_axes.sum()))
    threshold, factor, low_chi2 = _trim_constants(dof)
    usable, flat = usable_and_flat(valid, sample.ties)
    # in the other blocks, voxels equal to all six neighbours are padding or empty air next to the
    # noisy part (rare in noise of std >= 0.5): they would drag the fit to zero
    valid = valid & (sample.ties < 6)
    n_valid = valid.sum(axis=1)

    d2 = d * d
    s = d2.sum(axis=0)
    ranked = np.where(valid, s, np.inf)
    # start from the lower quartile: the fit then converges upwards onto the noise core even when
    # most of a block's voxels lie on edges
    quartile = np.clip((n_valid - 1) // 4, 0, n - 1)
    ranked.partition(np.unique(quartile), axis=1)
    low = ranked[np.arange(nb), quartile].astype(np.float64)
    low = np.where(np.isfinite(low), low, 0.0)
    mean_s = np.where(valid, s, 0.0).sum(axis=1, dtype=np.float64) / np.maximum(n_valid, 1)
    iso = np.where(low > 0, low / low_chi2, mean_s / dof)
    iso = np.where(flat | ~usable, 0.0, iso)
    variances = np.where(noisy_axes[:, None], iso[None, :], 0.0)
    live = iso > 0
    axes_live = noisy_axes[:, None] & live[None, :]

    # Trimmed fit of a Gaussian with per-axis variances around a per-block mean difference (the mean
    # removes a smooth trend, such as the flank of a blurred edge, which is not noise). With
    # w = 1/variance: r2 = sum_a w_a d_a**2 - 2 w_a m_a d_a + w_a m_a**2; moments by einsum.
    mean = np.zeros_like(variances)
    keep = valid & live[:, None]
    for _ in range(TRIM_STEPS):
        # floors keep 1/variance within float32 for axes whose differences vanish
        safe = np.maximum(variances, np.maximum(1e-6 * variances.sum(axis=0), 1e-20))
        inv = np.where(axes_live, 1.0 / safe, 0.0)
        r2 = np.einsum("abn,ab->bn", d2, inv.astype(np.float32))
        r2 -= np.einsum("abn,ab->bn", d, (2.0 * mean * inv).astype(np.float32))
        r2 += (mean * mean * inv).sum(axis=0)[:, None].astype(np.float32)
        keep = valid & live[:, None] & (r2 < threshold)
        weights = keep.astype(np.float32)
        count = keep.sum(axis=1)
        kept = np.maximum(count, 1)[None]
        mean = np.einsum("abn,bn->ab", d, weights).astype(np.float64) / kept
        second = np.einsum("abn,bn->ab", d2, weights).astype(np.float64) / kept
        new = np.maximum(second - mean * mean, 0.0) / factor
        variances = np.where((count > 0)[None] & noisy_axes[:, None], new, 0.0)
    return variances, mean, usable, flat, keep


def _voxel_sigma(sample: BlockSample, keep: np.ndarray, blocks: np.ndarray) -> float:
    """Per-voxel noise std in some blocks from the median absolute residual to the six-neighbour
    mean (variance 7/6 s**2 for white noise) of the voxels the trimmed fit kept (no edges)."""
    xs = sample.halo_blocks[blocks]
    residuals = xs[:, 1:-1, 1:-1, 1:-1] - (
        xs[:, 2:, 1:-1, 1:-1] + xs[:, :-2, 1:-1, 1:-1] + xs[:, 1:-1, 2:, 1:-1]
        + xs[:, 1:-1, :-2, 1:-1] + xs[:, 1:-1, 1:-1, 2:] + xs[:, 1:-1, 1:-1, :-2]) / 6.0
    res = np.abs(residuals.reshape(len(blocks), -1)[keep[blocks]])
    if res.size == 0:
        return 0.0
    return float(1.4826 * np.median(res) / np.sqrt(7.0 / 6.0))


@functools.cache
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
                            visible_range=None, quantile: float = BLOCK_QUANTILE,
                            max_blocks: int = MAX_BLOCKS, seed: int = 0) -> GradientNoise:
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
        Quantile of the blocks' noise taken as the volume's (0.5: the typical block; the default
        :data:`BLOCK_QUANTILE` = 0.95: the noisiest material covering at least a twentieth of the blocks).

    Returns
    -------
    GradientNoise
        All zero when no block has usable voxels (a constant or noise-free volume).
    """
    if not 0.0 < quantile < 1.0:
        raise GradientToolsError(f"quantile must be between 0 and 1, got {quantile}")
    if sample is None:
        if array is None:
            raise GradientToolsError("give the volume or a block sample")
        sample = sample_blocks(array, mask=mask, visible_range=visible_range, max_blocks=max_blocks,
                               seed=seed)
    variances, means, usable, flat, keep = block_noise(sample)
    usable = usable & ~flat
    # A Gaussian keeps TRIM_PROBABILITY of its voxels; blocks where the fit kept less than
    # CLEAN_SHARE are mostly edges or edge flanks: rank only clean blocks when there are enough.
    kept_share = keep.sum(axis=1) / np.maximum(sample.selected.sum(axis=1), 1)
    clean = usable & (kept_share >= CLEAN_SHARE)
    if clean.sum() >= max(8, usable.sum() // 4):
        usable = clean
    used_ids = np.flatnonzero(usable)
    n_used = int(usable.sum())
    voxels_used = int(sample.selected[usable].sum())
    if n_used == 0:
        return GradientNoise((0.0, 0.0, 0.0), 0.0, 0.0, 0, sample.blocks_examined, 0)
    variances = variances[:, usable]
    means = means[:, usable]
    # Noise correlated over more than a block shifts each block's mean difference at random (zero
    # mean over blocks); the flank of a blurred edge shifts it a lot in a few blocks. The robust
    # spread of the means over blocks (1.4826 MAD) is the noise's share of them.
    between = (1.4826 * np.median(np.abs(means), axis=1)) ** 2
    total = variances.sum(axis=0)
    order = np.argsort(total, kind="stable")
    ranked = total[order]
    # Blocks made mostly of edges (thin structures, tiny volumes) give estimates far above every
    # noise population: cut the ranking at the first jump of more than GAP above the median block.
    n_pop = n_used
    for i in range(n_used // 2, n_used - 1):
        if ranked[i + 1] > GAP * GAP * max(ranked[i], 1e-300):
            n_pop = i + 1
            break
    lo = int(np.floor((quantile - 0.03) * n_pop))
    hi = int(np.ceil((quantile + 0.03) * n_pop))
    lo = min(max(lo, 0), n_pop - 1)
    hi = min(max(hi, lo + 1), n_pop)
    chosen = order[lo:hi]
    axis_var = variances[:, chosen].mean(axis=1) + between
    axis_sigma = tuple(float(v) for v in np.sqrt(axis_var))
    return GradientNoise(
        axis_sigma=axis_sigma,
        p99=noise_gradient_quantile(axis_sigma, 0.99),
        # the upper half of the population: the noisier material, not yet the blocks with most edges
        voxel_sigma=_voxel_sigma(sample, keep, used_ids[order[n_pop // 2:n_pop]]),
        blocks_used=n_used,
        blocks_examined=sample.blocks_examined,
        voxels_used=voxels_used,
    )
