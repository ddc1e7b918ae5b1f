"""Real scans shipped inside installable packages, with regions picked by hand and drawn for review.

Nothing here is made for the method: the voxels are the scanners' own (:mod:`sources` says where
they come from). Each :class:`Scan` holds the array (K, J, I), the spacing (I, J, K, mm) and

* **regions** (:class:`Region`): one homogeneous material each. The voxels of a box (index ranges,
  K, J, I) whose *locally smoothed* value (Gaussian, 1 voxel) lies in a band, eroded by 2 voxels
  (the box's faces count as outside). Banding the smoothed value, not the voxel's own, keeps the
  selection from preferring quiet voxels; the erosion keeps every central difference inside the
  material. The measure is the 99th percentile of the renderer's gradient over those voxels.
* **boundaries** (:class:`Boundary`): a box and a threshold between two materials; boundary voxels
  are those with a 6-neighbour (inside the box) on the other side of the threshold. The measure is
  the median renderer gradient over them; a boundary counts as *real* when the two sides' means
  differ by at least 10 noise sigmas (the synthetic suite's rule), sigma being that of white noise
  with the scan's largest region gradient p99 (:func:`measure`).

:func:`drawing.draw_scan` draws them; :func:`measure` measures them, without the library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np
from scipy import ndimage
from sources import ScansUnavailable

__all__ = ["Boundary", "Region", "Scan", "ScansUnavailable", "load_scans", "measure"]

Box = Tuple[slice, slice, slice]
#: the smallest region size the tier accepts: a 99th percentile over fewer voxels is a top-few value
MIN_REGION_VOXELS = 200
MIN_CONTRAST_SIGMAS = 10.0
#: 99th percentile of the renderer gradient of white noise of std 1: chi(3).ppf(0.99) / sqrt(2)
WHITE_NOISE_P99 = 2.3816
#: a homogeneous region's gradient is noise-like: its p99 / mean is 2.11 for white noise (chi with 3
#: degrees of freedom; the mean, unlike the median, is not stuck on the few values a quantised
#: gradient takes); texture or an edge inside the region raises it
MAX_HOMOGENEOUS_RATIO = 4.0


def box(k0, k1, j0, j1, i0, i1) -> Box:
    return (slice(k0, k1), slice(j0, j1), slice(i0, i1))


@dataclass
class Region:
    """A homogeneous material: voxels of ``box`` whose smoothed value is in ``band``, eroded."""

    box: Box
    band: Tuple[float, float]
    why: str = ""
    erode: int = 2

    def voxels(self, array: np.ndarray) -> np.ndarray:
        """The region's voxels (bool, whole volume)."""
        margin = 4
        outer = tuple(slice(max(0, s.start - margin), min(n, s.stop + margin))
                      for s, n in zip(self.box, array.shape))
        smooth = ndimage.gaussian_filter(array[outer].astype(np.float64), 1.0, mode="nearest")
        inner = tuple(slice(s.start - o.start, s.stop - o.start) for s, o in zip(self.box, outer))
        local = smooth[inner]
        inside = (local >= self.band[0]) & (local <= self.band[1])
        if self.erode:
            # erode along the axes the box spans (a one-slice box is eroded in its plane)
            structure = ndimage.generate_binary_structure(3, 1)
            for axis, s in enumerate(self.box):
                if s.stop - s.start == 1:
                    structure = structure & (np.arange(3) == 1).reshape([3 if a == axis else 1
                                                                          for a in range(3)])
            inside = ndimage.binary_erosion(inside, structure, iterations=self.erode, border_value=0)
        return _whole_volume(array.shape, self.box, inside)


@dataclass
class Boundary:
    """A real boundary: voxels of ``box`` above and below ``threshold`` are the two ``sides``."""

    box: Box
    threshold: float
    sides: Tuple[str, str]
    why: str = ""

    def voxels(self, array: np.ndarray) -> np.ndarray:
        """Voxels (bool, whole volume) inside the box with a 6-neighbour in the box on the other side
        of the threshold (both sides count: the boundary is where the crossing is)."""
        side = array[self.box] > self.threshold
        padded = np.pad(side, 1, mode="edge")
        crossing = np.zeros(side.shape, dtype=bool)
        for axis in range(3):
            for shift in (-1, 1):
                index = [slice(1, -1)] * 3
                index[axis] = slice(1 + shift, padded.shape[axis] - 1 + shift)
                crossing |= padded[tuple(index)] != side
        return _whole_volume(array.shape, self.box, crossing)


def _whole_volume(shape, where: Box, inside: np.ndarray) -> np.ndarray:
    """A whole-volume bool mask that is ``inside`` within the box ``where`` and False elsewhere."""
    out = np.zeros(shape, dtype=bool)
    out[where] = inside
    return out


@dataclass
class Scan:
    name: str
    modality: str                  # "CT" or "MR"
    description: str
    source: str                    # package and path inside it
    array: np.ndarray              # K, J, I
    spacing: Tuple[float, float, float]  # I, J, K, mm
    regions: Dict[str, Region] = field(default_factory=dict)
    boundaries: Dict[str, Boundary] = field(default_factory=dict)
    preset: str = "MR-Default"     # Slicer preset the renders use
    note: str = ""


# -- what is measured -------------------------------------------------------------------------------

@dataclass
class RegionMeasure:
    name: str
    voxels: int
    p99: float                     # renderer gradient, 99th percentile
    mean: float
    mean_value: float
    std_value: float

    @property
    def ratio(self) -> float:
        """p99 / mean of the gradient: 2.11 for white noise, more with texture or an edge."""
        return self.p99 / self.mean if self.mean > 0 else float("inf")


@dataclass
class BoundaryMeasure:
    name: str
    voxels: int
    median: float                  # renderer gradient, median over the boundary voxels
    contrast: float                # |mean of one side - mean of the other|
    sigma: float                   # white-noise std equivalent to the scan's largest region p99
    real: bool

    @property
    def contrast_sigmas(self) -> float:
        return self.contrast / self.sigma if self.sigma > 0 else float("inf")


def measure(scan: Scan, gradient: np.ndarray) -> Tuple[List[RegionMeasure], List[BoundaryMeasure]]:
    """Every region's and boundary's measure on the renderer gradient ``gradient`` (K, J, I).

    A boundary is real when its two sides' means differ by at least 10 noise sigmas (the synthetic
    suite's rule), the sigma being that of the white noise whose renderer gradient would have the
    largest region 99th percentile of the scan (p99 = 2.38 sigma, chi with 3 degrees of freedom of
    central differences): on real data the regions' gradient is the measure of what must stay hidden.
    """
    regions = []
    for name, region in scan.regions.items():
        inside = region.voxels(scan.array)
        values = scan.array[inside].astype(np.float64)
        g = gradient[inside]
        regions.append(RegionMeasure(name, int(inside.sum()), _percentile(g, 99),
                                     float(g.mean()) if g.size else float("nan"),
                                     float(values.mean()) if values.size else np.nan,
                                     _robust_std(values)))
    sigma = max((r.p99 for r in regions if r.voxels), default=0.0) / WHITE_NOISE_P99
    boundaries = [_boundary_measure(name, b, scan.array, gradient, sigma)
                  for name, b in scan.boundaries.items()]
    return regions, boundaries


def _percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else float("nan")


def _robust_std(values: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(values - np.median(values)))) if values.size else float("nan")


def _boundary_measure(name: str, boundary: Boundary, array: np.ndarray, gradient: np.ndarray,
                      sigma: float) -> BoundaryMeasure:
    voxels = boundary.voxels(array)
    values = array[boundary.box].astype(np.float64)
    side = values > boundary.threshold
    contrast = abs(values[side].mean() - values[~side].mean()) if side.any() and (~side).any() else 0.0
    median = float(np.median(gradient[voxels])) if voxels.any() else float("nan")
    return BoundaryMeasure(name, int(voxels.sum()), median, float(contrast), float(sigma),
                           bool(contrast >= MIN_CONTRAST_SIGMAS * sigma))


def load_scans(names: Optional[List[str]] = None) -> List[Scan]:
    """The scans (fetched and cached on first use); :class:`ScansUnavailable` says why not."""
    from catalog import LOADERS

    return [loader() for name, loader in LOADERS.items() if names is None or name in names]

