"""Gradient-opacity transfer functions suggested from the data, in the GPU ray caster's units.

The x axis of Slicer's gradient-opacity function is the renderer-unit gradient
``x = 0.5 * sqrt(sum_a (F[a+1] - F[a-1])**2)``: scalar units per voxel step, whatever the voxel size,
clamped at ``x_max = 0.25 * (max - min)`` of the volume (VTK's GPU ray caster:
vtkVolumeShaderComposer.h, vtkOpenGLVolumeGradientOpacityTable).

The suggestion hides noise and shows boundaries:

* the noise of that gradient is measured in the data (:mod:`GradientToolsLib.noise`): its 99th
  percentile ``P`` in homogeneous regions, robust to correlated noise, anisotropic voxels, Rician
  MRI background, padding and empty air;
* opacity is 0 up to ``1.1 * P`` and rises linearly to 1 at ``1.6 * P`` (both multiplied by the
  ``suppression`` knob), then stays 1 up to ``x_max``. So the 99th percentile of homogeneous
  regions gets opacity 0 (<= 0.1 even if ``P`` is underestimated by 13 %), and every voxel whose
  gradient exceeds ``1.5 * P`` gets at least 0.8.

A boundary is "real" for this guarantee when its gradient per voxel step exceeds ``1.5 * P``. For a
sharp edge of contrast ``C`` (boundary voxels have ``x`` about ``C / 2``) in white noise of std
``s`` (``P`` about ``2.4 s``) that is a contrast of about 8 noise sigmas; correlated noise lowers
``P`` and so the contrast needed; an edge blurred over ``b`` voxels (Gaussian std) has ``x`` about
``0.4 C / b`` and needs ``b`` times more.

Degenerate input: a constant volume (``x_max = 0``) gets the single point ``(0, 1)`` (nothing to
weigh); a noise-free float volume gets 0 at ``x = 0`` rising to 1 at the 5th percentile of its
non-zero gradients (every edge shown); integer volumes treat ``x <= 1`` (one unit over the two-voxel
central difference) as quantisation noise, so ``P >= 1``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .._shared.validate import (
    check_int,
    check_mask,
    check_positive,
    check_range,
    check_real_array,
    check_spacing,
    check_volume_like,
    real_array,
)
from ..errors import GradientToolsError
from ..progress import ProgressCallback, report
from . import noise as noise_module
from ._slabs import read_slabs, value_range

#: opacity leaves 0 at RAMP_START * P and reaches 1 at RAMP_END * P (P: noise gradient 99th pct)
RAMP_START = 1.6
RAMP_END = 2.4
#: integer volumes: gradients up to this are quantisation noise
INTEGER_NOISE_FLOOR = 1.0
#: bins of the gradient histogram over [0, x_max]
HISTOGRAM_BINS = 256
#: a ramp that would end beyond x_max is compressed to end at this share of x_max
COMPRESSED_END = 0.8
#: fewer analysed voxels than this make the noise estimate uncertain (warning)
SMALL_REGION = 4096


@dataclass
class GradientOpacitySuggestion:
    """A suggested gradient-opacity function and what it was derived from.

    Attributes
    ----------
    points : list of (x, opacity)
        Control points; x in scalar units per voxel step (the GPU ray caster's gradient), strictly
        increasing from 0, never beyond ``x_max``; opacity in [0, 1].
    noise_sigma : float
        Estimated per-voxel noise standard deviation, scalar units.
    noise_p99 : float
        Estimated 99th percentile of the renderer-unit gradient of homogeneous regions (after the
        integer floor), the ``P`` of the module docstring.
    gradient_noise_sigma : tuple of 3 floats
        Noise std of the central difference per voxel step along K, J, I.
    x_max : float
        0.25 * (max - min) of the volume: where the renderer clamps the gradient.
    scalar_range : (float, float)
        Minimum and maximum of the volume.
    histogram_counts, histogram_edges : numpy arrays
        Histogram of the renderer-unit gradient over [0, x_max] (values beyond are counted in the
        last bin, as the renderer clamps them); counts are of the analysed voxels.
    histogram_fraction : float
        Share of the volume's (selected) voxels the histogram counts.
    suppression : float
        The knob the curve was made with.
    method : str
        "noise floor", "noise-free" or "constant".
    warnings : list of str
        Why the curve may not do what it should, and what was done about it (ramp compressed below
        the renderer's clamp, maximum opacity below 1, small analysed region); empty when all is well.
    """

    points: List[Tuple[float, float]]
    noise_sigma: float
    noise_p99: float
    gradient_noise_sigma: Tuple[float, float, float]
    x_max: float
    scalar_range: Tuple[float, float]
    histogram_counts: np.ndarray
    histogram_edges: np.ndarray
    histogram_fraction: float
    suppression: float = 1.0
    method: str = "noise floor"
    details: dict = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)

    def to_string(self) -> str:
        """The "N x1 y1 x2 y2 ..." string vtkMRMLVolumePropertyNode reads (N = 2 x points)."""
        from .volume_property import points_to_string

        return points_to_string(self.points)

    def opacity_at(self, x) -> np.ndarray:
        """Opacity the renderer gives to gradient ``x`` (renderer units; clamped at x_max)."""
        pts = np.asarray(self.points, dtype=float)
        xs = np.minimum(np.asarray(x, dtype=float), self.x_max)
        if pts.shape[0] == 1:
            return np.full(np.shape(xs), pts[0, 1])
        return np.interp(xs, pts[:, 0], pts[:, 1])

    def to_dict(self) -> dict:
        """A JSON-ready summary (points as [x, opacity] lists)."""
        return {
            "points": [[float(x), float(y)] for x, y in self.points],
            "string": self.to_string(),
            "noise_sigma": float(self.noise_sigma),
            "noise_p99": float(self.noise_p99),
            "gradient_noise_sigma_kji": [float(v) for v in self.gradient_noise_sigma],
            "x_max": float(self.x_max),
            "scalar_range": [float(v) for v in self.scalar_range],
            "suppression": float(self.suppression),
            "method": self.method,
            "warnings": list(self.warnings),
            "units": "scalar units per voxel step (Slicer GPU ray caster gradient)",
            "histogram": {
                "edges": [float(v) for v in self.histogram_edges],
                "counts": [int(v) for v in self.histogram_counts],
                "fraction_of_voxels": float(self.histogram_fraction),
            },
        }


def _clip_points(candidates: Sequence[Tuple[float, float]], x_max: float) -> List[Tuple[float, float]]:
    """Piecewise-linear function through ``candidates`` restricted to [0, x_max], strictly increasing x."""
    xs = np.array([c[0] for c in candidates], dtype=float)
    ys = np.array([c[1] for c in candidates], dtype=float)
    keep_x = np.unique(np.concatenate([xs[(xs >= 0) & (xs <= x_max)], [0.0, x_max]]))
    values = np.interp(keep_x, xs, ys)
    points = [(float(x), float(min(1.0, max(0.0, y)))) for x, y in zip(keep_x, values)]
    # drop interior points that lie on the line through their neighbours (e.g. a flat tail)
    out = [points[0]]
    for i in range(1, len(points) - 1):
        (x0, y0), (x1, y1), (x2, y2) = out[-1], points[i], points[i + 1]
        if abs(y1 - (y0 + (y2 - y0) * (x1 - x0) / (x2 - x0))) > 1e-12:
            out.append(points[i])
    out.append(points[-1])
    return out


def suggest_gradient_opacity(array, spacing=None, *, gradient=None, mask=None,
                             visible_range: Optional[Sequence[float]] = None, suppression: float = 1.0,
                             bins: int = HISTOGRAM_BINS, max_blocks: int = noise_module.MAX_BLOCKS,
                             seed: int = 0, scalar_range: Optional[Sequence[float]] = None,
                             progress: Optional[ProgressCallback] = None) -> GradientOpacitySuggestion:
    """Suggest a gradient-opacity function that hides noise and shows boundaries.

    Parameters
    ----------
    array : numpy array (K, J, I)
        The scalar volume as the renderer gets it (``slicer.util.arrayFromVolume``); not modified.
        A memory map or a zarr view (:func:`GradientToolsLib.open_volume`) is read only where the
        block sample falls, plus one pass slab by slab for the scalar range unless it is given.
    spacing : 3 floats (I, J, K), optional
        Accepted for symmetry with the other functions and checked, but not needed: the renderer's
        gradient is per voxel step, whatever the voxel size.
    gradient : numpy array (K, J, I), optional
        The renderer-unit gradient magnitude if already computed
        (``gradient_magnitude(array, spacing=(1, 1, 1))``); then the histogram is taken from it.
        Without it nothing computes the full gradient: the noise analysis needs only the
        central differences of a few hundred small blocks.
    mask : bool array (K, J, I), optional
        Analyse only these voxels (e.g. the body, a segment).
    visible_range : (low, high), optional
        Analyse only voxels with values in [low, high], e.g. where the scalar opacity is non-zero
        (:func:`GradientToolsLib.volume_property.visible_range`): noise in invisible tissue then
        does not raise the threshold.
    suppression : float
        Multiplies the noise threshold: 1 (default) hides the noise of homogeneous regions; 2 also
        hides boundaries up to twice as strong as that noise; 0.5 shows more (noise comes back).
    bins : int
        Histogram bins over [0, x_max].
    max_blocks, seed : int
        Size and seed of the random block sample (see :mod:`GradientToolsLib.noise`).
    scalar_range : (min, max), optional
        The volume's exact minimum and maximum when already known (they set ``x_max``): saves the
        one pass over every voxel, the only part whose cost grows with the volume.
    progress : callable(fraction, message), optional

    Returns
    -------
    GradientOpacitySuggestion
    """
    data = check_volume_like(array)
    if spacing is not None:
        check_spacing(spacing)
    strength = check_positive(suppression, "suppression")
    bins = check_int(bins, "bins", minimum=1, maximum=1_000_000)
    if gradient is not None:
        gradient = real_array(gradient, "gradient")
        if gradient.ndim == 2:
            gradient = gradient[None]
        if gradient.shape != data.shape:
            raise GradientToolsError(
                f"gradient shape {gradient.shape} differs from the volume shape {data.shape}")
    mask = check_mask(mask, data.shape)
    visible = check_range(visible_range)
    known_range = check_range(scalar_range, "scalar_range")

    report(progress, 0.0, "sampling blocks")
    # the scalar range is a full pass over memory that releases the GIL, while the noise estimate
    # reads only sampled blocks and is mostly Python: side by side, the range costs almost nothing
    with ThreadPoolExecutor(max_workers=1) as pool:
        scalar_range = pool.submit(_scalar_range, data, known_range)
        sample, est = noise_module.sample_and_estimate(data, mask=mask, visible_range=visible,
                                                       max_blocks=max_blocks, seed=seed)
        if not sample.selected.any():
            _check_selection(data, mask, visible)
        report(progress, 0.5, "estimating noise")
        lo, hi = scalar_range.result()
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise GradientToolsError("the volume contains NaN or infinite values")
    x_max = 0.25 * (hi - lo)

    if x_max <= 0:
        report(progress, 1.0, "constant volume")
        counts = np.array([int(np.count_nonzero(mask)) if mask is not None else data.size])
        return GradientOpacitySuggestion(
            points=[(0.0, 1.0)], noise_sigma=0.0, noise_p99=0.0, gradient_noise_sigma=(0.0, 0.0, 0.0),
            x_max=0.0, scalar_range=(lo, hi), histogram_counts=counts,
            histogram_edges=np.array([0.0, 1.0]), histogram_fraction=1.0, suppression=strength,
            method="constant")

    p99 = est.p99
    if data.dtype.kind in "iub" and p99 < INTEGER_NOISE_FLOOR:
        p99 = INTEGER_NOISE_FLOOR

    report(progress, 0.8, "histogram")
    edges = np.linspace(0.0, x_max, bins + 1)
    if gradient is not None:
        # a regular subsample of about 250 000 voxels is plenty for a 256-bin histogram
        step = max(1, int(np.ceil((gradient.size / 2.5e5) ** (1.0 / 3.0) - 1e-9)))
        g = np.asarray(gradient[::step, ::step, ::step], dtype=np.float64)
        if mask is not None:
            g = g[mask[::step, ::step, ::step]]
        if visible is not None:
            v = data[::step, ::step, ::step] if mask is None else data[::step, ::step, ::step][
                mask[::step, ::step, ::step]]
            g = g[(v >= visible[0]) & (v <= visible[1])]
        g = check_real_array(g.ravel(), "gradient")  # the values used, not a pass over all of it
        fraction = g.size / float(max(1, data.size if mask is None else int(np.count_nonzero(mask))))
    else:
        g = sample.magnitudes[sample.selected].astype(np.float64)
        fraction = sample.fraction
    counts, _ = np.histogram(np.minimum(g, x_max), bins=edges)

    warnings = _region_warnings(est, mask, visible)
    if p99 > 0:
        method = "noise floor"
        start, end = RAMP_START * strength * p99, RAMP_END * strength * p99
        start, end = _below_clamp(start, end, x_max, warnings)
        candidates = [(0.0, 0.0), (start, 0.0), (end, 1.0), (max(end, x_max) + 1.0, 1.0)]
    else:
        method = "noise-free"
        positive = sample.magnitudes[sample.selected & (sample.magnitudes > 0)]
        if positive.size:
            end = float(np.percentile(positive, 5)) * strength
        else:
            end = 1e-3 * x_max
        end = max(end, 1e-6 * x_max)
        _, end = _below_clamp(0.0, end, x_max, warnings, "the ramp to the weakest edges")
        candidates = [(0.0, 0.0), (end, 1.0), (max(end, x_max) + 1.0, 1.0)]
    points = _clip_points(candidates, x_max)
    warnings += _opacity_warnings(points)
    report(progress, 1.0, "done")
    return GradientOpacitySuggestion(
        points=points,
        noise_sigma=est.voxel_sigma,
        noise_p99=float(p99),
        gradient_noise_sigma=est.axis_sigma,
        x_max=float(x_max),
        scalar_range=(lo, hi),
        histogram_counts=counts,
        histogram_edges=edges,
        histogram_fraction=float(min(1.0, fraction)),
        suppression=strength,
        method=method,
        details={"blocks_used": est.blocks_used, "blocks_examined": est.blocks_examined,
                 "voxels_used": est.voxels_used, "measured_noise_p99": est.p99,
                 "noise_source": est.source, **est.details},
        warnings=warnings,
    )


def _scalar_range(data, given) -> Tuple[float, float]:
    """(min, max) of the volume: ``given``, one numpy pass over an array in memory or a memory map,
    or slab by slab over a lazy array (a zarr view is never read whole)."""
    if given is not None:
        return given
    if isinstance(data, np.ndarray):
        return float(data.min()), float(data.max())
    return value_range(data)


def _below_clamp(start: float, end: float, x_max: float, warnings: List[str],
                 what: str = "the noise threshold") -> Tuple[float, float]:
    """The ramp (opacity 0 at ``start``, 1 at ``end``) scaled to end at COMPRESSED_END * x_max when
    it would end beyond that (the renderer clamps its gradient at x_max: a ramp ending there or
    beyond leaves every voxel faint or hidden); the warning says what was done."""
    if end <= COMPRESSED_END * x_max:
        return start, end
    scale = COMPRESSED_END * x_max / end
    warnings.append(
        f"{what} (opacity 0 to 1 over {start:.4g}..{end:.4g} per voxel step) lies beyond "
        f"what the renderer can use (its gradient clamps at x_max {x_max:.4g}); the ramp was compressed "
        f"to {start * scale:.4g}..{end * scale:.4g}, so some noise may show: check the visible range or "
        "mask (the analysed voxels may be mostly edges) and the suppression")
    return start * scale, end * scale


def _opacity_warnings(points: Sequence[Tuple[float, float]]) -> List[str]:
    """A warning when the curve never reaches opacity 1 (every boundary would render faint)."""
    top = max(y for _, y in points)
    if top < 1.0:
        return [f"the curve's maximum opacity is {top:.3g} (below 1): boundaries render faint"]
    return []


def _region_warnings(est, mask, visible) -> List[str]:
    """A warning when few voxels could be analysed (small volume, mask or range)."""
    if est.voxels_used >= SMALL_REGION or est.voxels_used == 0:
        return []
    where = "the mask" if mask is not None else ("the visible range" if visible is not None else "the volume")
    return [f"only {est.voxels_used} voxels of {where} could be analysed (fewer than {SMALL_REGION}): "
            "the noise estimate is uncertain"]


def _check_selection(data, mask, visible) -> None:
    """An error when the visible range selects no voxel (inside the mask, which check_mask has
    already refused when empty); a lazy volume is read slab by slab, only on this error path."""
    if visible is None:
        return
    for k, slab in read_slabs(data):
        inside = (slab >= visible[0]) & (slab <= visible[1])
        if mask is not None:
            inside &= mask[k:k + slab.shape[0]]
        if inside.any():
            return
    lo, hi = _scalar_range(data, None)
    raise GradientToolsError(
        f"no voxel{' inside the mask' if mask is not None else ''} has a value in the visible range "
        f"[{visible[0]:g}, {visible[1]:g}] (the volume spans {lo:g}..{hi:g})")
