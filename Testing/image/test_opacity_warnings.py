"""Never a silent degenerate curve: every warning path of suggest_gradient_opacity, and the errors.

A curve that would end beyond the renderer's clamp is compressed below it and says so; a curve whose
maximum opacity stays below 1 says so; a small analysed region says so; an empty mask or visible
range is an error, not a curve. The checks use the renderer's own rule (opacity of x clamped at
x_max = 0.25 * (max - min)), computed here, not by the library.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from GradientToolsLib import GradientToolsError, suggest_gradient_opacity
from GradientToolsLib.image.phantoms import ct_phantom

SHAPE = (40, 72, 72)


def renderer_opacity(points, x, x_max):
    """What the GPU ray caster does with the points: x clamped to [0, x_max], linear in between."""
    pts = np.asarray(points, dtype=float)
    return float(np.interp(min(float(x), x_max), pts[:, 0], pts[:, 1]))


def test_a_normal_ct_has_no_warning():
    a, _ = ct_phantom(SHAPE, (1, 1, 1), noise_std=20, seed=2)
    s = suggest_gradient_opacity(a)
    assert s.warnings == []
    assert s.to_dict()["warnings"] == []


def test_ramp_beyond_the_clamp_is_compressed_below_it_and_says_so():
    # pure noise: x_max = 0.25 * (max - min) is about 2.2 sigma, the noise gradient's p99 about 2.4 sigma
    a = np.random.default_rng(3).normal(100.0, 10.0, (32, 48, 48)).astype(np.float32)
    x_max = 0.25 * (float(a.max()) - float(a.min()))
    s = suggest_gradient_opacity(a)
    assert s.x_max == pytest.approx(x_max)
    assert 1.6 * s.noise_p99 > x_max                     # the uncompressed ramp would end beyond
    assert len([w for w in s.warnings if "compressed" in w]) == 1, s.warnings
    xs = [p[0] for p in s.points]
    assert xs[-1] <= x_max and max(p[1] for p in s.points) == 1.0
    # useful: opaque before the clamp, so the strongest gradients the renderer sees are shown
    assert renderer_opacity(s.points, x_max, x_max) == 1.0
    assert renderer_opacity(s.points, 0.8 * x_max, x_max) == pytest.approx(1.0)
    assert f"{x_max:.4g}" in next(w for w in s.warnings if "compressed" in w)


def test_suppression_that_pushes_the_ramp_beyond_the_clamp_is_compressed():
    a, _ = ct_phantom(SHAPE, (1, 1, 1), noise_std=20, seed=2)
    s = suggest_gradient_opacity(a, suppression=100.0)
    assert any("compressed" in w for w in s.warnings)
    assert s.points[-1][0] <= s.x_max and max(p[1] for p in s.points) == 1.0


def test_noise_free_ramp_beyond_the_clamp_is_compressed_too():
    # noise-free data with a huge suppression: the ramp to the weakest edges would end far beyond
    a, _ = ct_phantom(SHAPE, (1, 1, 1), noise_std=0.0, dtype=np.float32)
    s = suggest_gradient_opacity(a, suppression=1e6)
    assert s.method == "noise-free"
    assert any("compressed" in w for w in s.warnings), s.warnings
    assert renderer_opacity(s.points, s.x_max, s.x_max) == 1.0


def test_maximum_opacity_below_one_is_a_warning():
    from GradientToolsLib.image.opacity import _opacity_warnings

    assert _opacity_warnings([(0.0, 0.0), (62.51, 0.0), (63.75, 0.0435)]) == [
        "the curve's maximum opacity is 0.0435 (below 1): boundaries render faint"]
    assert _opacity_warnings([(0.0, 0.0), (10.0, 1.0)]) == []


@pytest.mark.parametrize("where", ["mask", "volume"])
def test_small_analysed_region_is_a_warning(where):
    a, _ = ct_phantom(SHAPE, (1, 1, 1), noise_std=20, seed=2)
    if where == "mask":
        mask = np.zeros(a.shape, bool)
        mask[10:20, 20:30, 20:30] = True                    # 1000 voxels
        s = suggest_gradient_opacity(a, mask=mask)
    else:
        s = suggest_gradient_opacity(a[:10, :10, :10])
    small = [w for w in s.warnings if "voxels" in w and "uncertain" in w]
    assert len(small) == 1, s.warnings
    assert f"the {where}" in small[0]


def test_warnings_are_in_the_json_summary():
    a = np.random.default_rng(3).normal(100.0, 10.0, (32, 48, 48)).astype(np.float32)
    s = suggest_gradient_opacity(a)
    document = json.loads(json.dumps(s.to_dict()))
    assert document["warnings"] == s.warnings and s.warnings


def test_empty_mask_is_an_error():
    a, _ = ct_phantom(SHAPE, (1, 1, 1), noise_std=20, seed=2)
    with pytest.raises(GradientToolsError, match="no voxel"):
        suggest_gradient_opacity(a, mask=np.zeros(a.shape, bool))


def test_empty_visible_range_is_an_error_naming_the_data_range():
    a, _ = ct_phantom(SHAPE, (1, 1, 1), noise_std=20, seed=2)
    top = float(a.max())
    with pytest.raises(GradientToolsError, match="visible range") as error:
        suggest_gradient_opacity(a, visible_range=(top + 100, top + 200))
    assert f"{top:g}" in str(error.value)
    mask = np.zeros(a.shape, bool)
    mask[:2, :2, :2] = True                                  # air only: nothing of it in the range
    with pytest.raises(GradientToolsError, match="inside the mask"):
        suggest_gradient_opacity(a, mask=mask, visible_range=(500, 3000))
