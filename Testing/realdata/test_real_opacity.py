"""The suggested gradient opacity on real scans, against regions and boundaries picked by hand.

For every scan of :mod:`catalog` (files shipped inside Debian packages and PyPI wheels; the
fixture fetches and caches them) the public ``suggest_gradient_opacity(array)`` with default
arguments, on the whole volume, must give

* opacity <= 0.1 at the 99th percentile of the renderer's gradient inside each hand-picked
  homogeneous region (noise and texture of one material stay hidden), and
* opacity >= 0.8 at the median gradient of each real boundary (CSF/white matter, gray/white matter,
  scalp/air, bone/soft tissue, fat/soft tissue, brain/air);

and its noise level P must move by at most 10 % across 5 seeds and under 2 crops that keep the
object (all its tissue). The regions and boundaries are measured with an independent numpy gradient
(``references.renderer_gradient``, checked against vtkImageGradientMagnitude in the synthetic suite),
never with the library. The PNGs of ``Testing/realdata/out/`` show them.
"""

from __future__ import annotations

import numpy as np
import pytest
from catalog import LOADERS
from scans import MAX_HOMOGENEOUS_RATIO, MIN_REGION_VOXELS

from GradientToolsLib import suggest_gradient_opacity
from GradientToolsLib.image.presets import choose_preset

NAMES = list(LOADERS)
#: the tier must cover these kinds of scan (issue 9): name -> test on the Scan
KINDS = {
    "CT": lambda s: s.modality == "CT",
    "T1 at <= 1 mm": lambda s: s.name.startswith("t1") and max(s.spacing) <= 1.0,
    "T1 at >= 2 mm slice spacing": lambda s: s.name.startswith("t1") and s.spacing[2] >= 2.0,
    "T2*/EPI": lambda s: s.name.startswith("epi"),
    "DWI": lambda s: s.name.startswith("dwi"),
    "MRI with a Rayleigh background": lambda s: "Rayleigh" in s.description,
}
#: scans without a boundary that clears the 10-sigma rule against their own regions (see README)
NO_REAL_BOUNDARY = {"dwi"}


@pytest.fixture(scope="module")
def suggestions(real_scans):
    """The default suggestion of every scan (whole volume, default arguments)."""
    return {name: suggest_gradient_opacity(m.scan.array) for name, m in real_scans.items()}


def test_the_tier_covers_every_kind_of_scan(real_scans):
    scans = [m.scan for m in real_scans.values()]
    assert len(scans) >= 6
    for kind, matches in KINDS.items():
        assert any(matches(s) for s in scans), f"no {kind} scan in the tier"


@pytest.mark.parametrize("name", NAMES)
def test_regions_are_large_and_homogeneous(real_scans, name):
    """The hand-picked regions themselves: enough voxels for a 99th percentile, gradient noise-like."""
    measured = real_scans[name]
    assert measured.regions, f"{name} has no region"
    for region in measured.regions:
        assert region.voxels >= MIN_REGION_VOXELS, (name, region)
        assert region.ratio <= MAX_HOMOGENEOUS_RATIO, (name, region)
    real = [b for b in measured.boundaries if b.real]
    if name not in NO_REAL_BOUNDARY:
        assert real, f"{name} has no real boundary: {measured.boundaries}"
    for boundary in real:
        assert boundary.voxels >= 20, (name, boundary)
        # a boundary that a curve can show while hiding every region at all
        assert boundary.median > max(r.p99 for r in measured.regions), (name, boundary)


@pytest.mark.parametrize("name", NAMES)
def test_noise_of_every_region_is_hidden(real_scans, suggestions, name):
    s = suggestions[name]
    seen = {r.name: (r.p99, float(s.opacity_at(r.p99))) for r in real_scans[name].regions}
    too_opaque = {k: v for k, v in seen.items() if v[1] > 0.1}
    assert not too_opaque, (f"{name}: opacity > 0.1 at region p99 {too_opaque}; P {s.noise_p99:.4g}, "
                            f"points {s.points}; drawing {real_scans[name].drawing}")


@pytest.mark.parametrize("name", [n for n in NAMES if n not in NO_REAL_BOUNDARY])
def test_every_real_boundary_is_shown(real_scans, suggestions, name):
    s = suggestions[name]
    seen = {b.name: (b.median, float(s.opacity_at(b.median))) for b in real_scans[name].boundaries if b.real}
    too_faint = {k: v for k, v in seen.items() if v[1] < 0.8}
    assert not too_faint, (f"{name}: opacity < 0.8 at boundary median {too_faint}; P {s.noise_p99:.4g}, "
                           f"points {s.points}; drawing {real_scans[name].drawing}")


def _spread(values) -> float:
    return max(values) / min(values) - 1.0


@pytest.mark.parametrize("name", NAMES)
def test_noise_level_is_stable_across_seeds(real_scans, suggestions, name):
    array = real_scans[name].scan.array
    levels = [suggestions[name].noise_p99] + [suggest_gradient_opacity(array, seed=seed).noise_p99
                                              for seed in (1, 2, 3, 4)]
    assert _spread(levels) <= 0.10, (name, levels)


def _otsu(values: np.ndarray) -> float:
    counts, edges = np.histogram(values, bins=256)
    centres = 0.5 * (edges[1:] + edges[:-1])
    weight = np.cumsum(counts, dtype=float)
    moment = np.cumsum(counts * centres)
    with np.errstate(invalid="ignore", divide="ignore"):
        between = (moment[-1] * weight - moment * weight[-1]) ** 2 / (weight * (weight[-1] - weight))
    return float(edges[int(np.nanargmax(between[:-1])) + 1])


def tissue_crops(scan):
    """Two crops that keep the object (every region and boundary, and all the tissue): half of every
    margin around the regions and boundaries trimmed, and the bounding box of the object (voxels
    above the value histogram's Otsu threshold) with a 2-voxel margin."""
    boxes = [r.box for r in scan.regions.values()] + [b.box for b in scan.boundaries.values()]
    low = [min(b[a].start for b in boxes) for a in range(3)]
    high = [max(b[a].stop for b in boxes) for a in range(3)]
    shape = scan.array.shape
    half = tuple(slice(low[a] // 2, high[a] + (shape[a] - high[a]) // 2) for a in range(3))
    inside = np.argwhere(scan.array > _otsu(scan.array.ravel()[:: max(1, scan.array.size // 1000000)]))
    first = [min(max(0, int(inside[:, a].min()) - 2), low[a]) for a in range(3)]
    last = [max(min(shape[a], int(inside[:, a].max()) + 3), high[a]) for a in range(3)]
    return [half, tuple(slice(f, e) for f, e in zip(first, last))]


@pytest.mark.parametrize("name", NAMES)
def test_noise_level_is_stable_under_crops_that_keep_the_tissue(real_scans, suggestions, name):
    scan = real_scans[name].scan
    levels = [suggestions[name].noise_p99]
    for crop in tissue_crops(scan):
        levels.append(suggest_gradient_opacity(np.ascontiguousarray(scan.array[crop])).noise_p99)
    assert _spread(levels) <= 0.10, (name, levels)


def test_ct_visible_range_of_the_readme_gives_a_useful_curve(real_scans):
    """README example: ``--visible-range 150 3000`` on a CT (bone and contrast only) once returned
    "4 0 0 1002.5 0" (P above x_max, a black render, no word). Now: a curve that reaches opacity 1
    below x_max, shows the bone/soft-tissue boundary, and says what was done if it had to squeeze."""
    measured = real_scans["ct-head"]
    s = suggest_gradient_opacity(measured.scan.array, visible_range=(150, 3000))
    assert max(y for _, y in s.points) == 1.0
    assert s.points[-1][0] <= s.x_max
    bone = next(b for b in measured.boundaries if b.name == "bone/soft tissue")
    assert s.opacity_at(bone.median) >= 0.8, (bone, s.points)
    if 1.6 * s.noise_p99 > s.x_max:
        assert any("compressed" in w for w in s.warnings), s.warnings


@pytest.mark.parametrize("name", NAMES)
def test_preset_chosen_from_the_data_fits_the_modality(real_scans, name):
    scan = real_scans[name].scan
    preset, why = choose_preset(scan.array)
    assert preset == ("CT-AAA" if scan.modality == "CT" else "MR-Default"), (name, why)
