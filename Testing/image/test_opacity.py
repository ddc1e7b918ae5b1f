"""suggest_gradient_opacity against independently computed renderer-unit gradients.

The reference gradient is computed here with numpy (central differences per voxel step, edge voxels
replicated, as VTK's GPU ray caster computes it) and checked against VTK's vtkImageGradientMagnitude. The
guarantees checked on every phantom:

* opacity <= 0.1 at the 99th percentile of the gradient inside every homogeneous region (labels
  eroded by 2 voxels, regions with at least 200 voxels);
* opacity >= 0.8 at the median gradient of the boundary voxels between every pair of regions whose
  contrast is at least 10 noise sigmas (boundary voxel: a 6-neighbour has the other label).
"""

from __future__ import annotations

import numpy as np
import pytest
from references import boundary_medians, homogeneous_p99, renderer_gradient, vtk_gradient_magnitude
from scipy import ndimage

from GradientToolsLib import GradientToolsError, suggest_gradient_opacity
from GradientToolsLib.image.noise import estimate_gradient_noise, noise_gradient_quantile
from GradientToolsLib.image.phantoms import HU, ct_phantom, mri_phantom

SHAPE = (40, 72, 72)


def check_guarantees(suggestion, array, labels, values, sigma, min_contrast_sigmas=10.0):
    g = renderer_gradient(array)
    p99 = homogeneous_p99(g, labels)
    worst = max(p99.values())
    assert suggestion.opacity_at(worst) <= 0.1, (worst, suggestion.points)
    medians = boundary_medians(g, labels, values, min_contrast_sigmas * sigma)
    assert medians, "the phantom must have boundaries to check"
    for pair, median in medians.items():
        assert suggestion.opacity_at(median) >= 0.8, (pair, median, suggestion.points)
    return worst, medians


def test_reference_gradient_matches_vtk():
    a, _ = ct_phantom((12, 20, 24), (0.7, 0.9, 3.0), noise_std=20, seed=3)
    np.testing.assert_allclose(renderer_gradient(a), vtk_gradient_magnitude(a), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (0.05, 0.05, 0.05), (5.0, 5.0, 5.0), (0.5, 0.5, 5.0)])
@pytest.mark.parametrize("noise_std,correlation_mm", [(5, 0.0), (20, 0.0), (50, 0.0), (20, 1.0), (50, 2.0)])
def test_ct_phantom_guarantees(spacing, noise_std, correlation_mm):
    a, labels = ct_phantom(SHAPE, spacing, noise_std=noise_std, seed=7, correlation_mm=correlation_mm)
    before = a.copy()
    s = suggest_gradient_opacity(a, spacing)
    np.testing.assert_array_equal(a, before)
    check_guarantees(s, a, labels, HU, noise_std)
    xs = [p[0] for p in s.points]
    assert xs[0] == 0.0 and all(b > a_ for a_, b in zip(xs, xs[1:]))
    assert xs[-1] <= 0.25 * (float(a.max()) - float(a.min())) + 1e-9
    assert all(0.0 <= p[1] <= 1.0 for p in s.points)


def test_noise_sigma_estimate_white_noise():
    # all contrasts >= 14 sigma (weaker edges would count as noise, which is the intent)
    a, _ = ct_phantom(SHAPE, (1, 1, 1), noise_std=10, seed=2, dtype=np.float32)
    s = suggest_gradient_opacity(a)
    assert 0.8 * 10 < s.noise_sigma < 1.4 * 10
    # white noise: per-axis difference std s/sqrt(2)
    np.testing.assert_allclose(s.gradient_noise_sigma, [10 / np.sqrt(2)] * 3, rtol=0.2)


def test_noise_quantile_matches_chi3():
    from scipy.stats import chi

    assert noise_gradient_quantile([1.0, 1.0, 1.0], 0.99) == pytest.approx(chi(3).ppf(0.99), rel=0.01)
    assert noise_gradient_quantile([2.0, 0.0, 0.0], 0.99) == pytest.approx(2 * 2.5758, rel=0.01)


def test_padding_and_empty_air_do_not_pull_the_estimate_down():
    a, labels = ct_phantom(SHAPE, (1, 1, 1), noise_std=20, seed=4)
    k, j, i = np.meshgrid(*[np.linspace(-1, 1, n) for n in SHAPE], indexing="ij")
    outside = (j ** 2 + i ** 2) > 0.85
    padded = a.copy()
    padded[outside] = -3024                      # scanner padding: exact constant
    plain = suggest_gradient_opacity(a)
    s = suggest_gradient_opacity(padded)
    assert s.noise_p99 == pytest.approx(plain.noise_p99, rel=0.1)
    g = renderer_gradient(padded)
    inside = ndimage.binary_erosion((labels == 1) & ~outside, iterations=2)
    assert s.opacity_at(np.percentile(g[inside], 99)) <= 0.1


@pytest.mark.parametrize("size", [0.35, 0.8])
@pytest.mark.parametrize("sigma", [5.0, 15.0])
def test_rician_mri_background(size, sigma):
    image, labels, values = mri_phantom(SHAPE, noise_std=sigma, size=size)
    s = suggest_gradient_opacity(image)
    check_guarantees(s, image, labels, values, sigma)


def test_blurred_edges_depend_on_voxel_size():
    """An edge blurred over 1 mm has a per-step gradient that grows with the voxel size."""
    results = {}
    shape = (64, 128, 128)
    for h in (0.5, 1.0, 2.0):
        a, labels = ct_phantom(shape, (h, h, h), noise_std=0.0, seed=1, dtype=np.float32)
        a = ndimage.gaussian_filter(a, 1.0 / h)
        a += np.random.default_rng(5).normal(0, 15, a.shape).astype(np.float32)
        s = suggest_gradient_opacity(a)
        g = renderer_gradient(a)
        medians = boundary_medians(g, labels, HU, 500)
        results[h] = medians[(0, 2)]
        # white noise of 15: renderer-unit gradient 99th percentile 3.37 * 15 / sqrt(2)
        assert s.opacity_at(3.37 * 15 / np.sqrt(2)) <= 0.1
        # strong edges (air/fat 900 HU = 60 sigma) shown even when blurred over 2 voxels
        assert s.opacity_at(medians[(0, 2)]) >= 0.8
    assert results[0.5] < results[1.0] < results[2.0]


def test_visible_range_and_mask_restrict_the_analysis():
    a, labels = ct_phantom(SHAPE, (1, 1, 1), noise_std=10, seed=2)
    noisy = a.astype(np.float32)
    soft = (labels != 3) & (labels != 4)          # all but bone and vessels: much noisier
    noisy[soft] += np.random.default_rng(0).normal(0, 60, int(soft.sum())).astype(np.float32)
    everything = suggest_gradient_opacity(noisy)
    dense = suggest_gradient_opacity(noisy, visible_range=(250, 3000))          # vessels and bone
    masked = suggest_gradient_opacity(noisy, mask=~ndimage.binary_dilation(soft, iterations=1))
    assert dense.noise_p99 < 0.5 * everything.noise_p99
    assert masked.noise_p99 < 0.5 * everything.noise_p99
    with pytest.raises(GradientToolsError):
        suggest_gradient_opacity(noisy, mask=np.zeros(noisy.shape, bool))


def test_suppression_scales_the_ramp():
    a, _ = ct_phantom(SHAPE, (1, 1, 1), noise_std=20, seed=2)
    one = suggest_gradient_opacity(a)
    two = suggest_gradient_opacity(a, suppression=2.0)
    assert two.points[1][0] == pytest.approx(2 * one.points[1][0])
    with pytest.raises(GradientToolsError):
        suggest_gradient_opacity(a, suppression=0)


def test_given_gradient_gives_the_same_curve_and_a_full_histogram():
    a, _ = ct_phantom(SHAPE, (1, 1, 1), noise_std=20, seed=2)
    g = renderer_gradient(a).astype(np.float32)
    s = suggest_gradient_opacity(a, gradient=g)
    t = suggest_gradient_opacity(a)
    assert s.points == t.points
    assert s.histogram_fraction == 1.0 and s.histogram_counts.sum() == a.size
    counts, _ = np.histogram(np.minimum(g, s.x_max), bins=s.histogram_edges)
    np.testing.assert_array_equal(s.histogram_counts, counts)      # small volume: step 1, all voxels
    with pytest.raises(GradientToolsError):
        suggest_gradient_opacity(a, gradient=g[:-1])


def test_constant_volume():
    s = suggest_gradient_opacity(np.full((5, 6, 7), 42, dtype=np.int16))
    assert s.points == [(0.0, 1.0)] and s.x_max == 0.0 and s.method == "constant"
    assert s.to_string() == "2 0 1"


@pytest.mark.parametrize("dtype", [np.float32, np.int16])
def test_noise_free_volume_shows_every_edge(dtype):
    a, labels = ct_phantom(SHAPE, (1, 1, 1), noise_std=0.0, dtype=dtype)
    s = suggest_gradient_opacity(a)
    assert s.opacity_at(0.0) == 0.0
    g = renderer_gradient(a)
    for median in boundary_medians(g, labels, HU, 1.0).values():
        assert s.opacity_at(median) == 1.0
    xs = [p[0] for p in s.points]
    assert all(b > a_ for a_, b in zip(xs, xs[1:]))


def test_one_slice_and_two_dimensional_input():
    a, labels = ct_phantom((1, 96, 96), (1, 1, 1), noise_std=20, seed=1)
    s = suggest_gradient_opacity(a)
    t = suggest_gradient_opacity(a[0])
    assert s.points == t.points
    g = renderer_gradient(a)
    inside = ndimage.binary_erosion(labels[0] == 1, iterations=2)
    assert s.opacity_at(np.percentile(g[0][inside], 99)) <= 0.1


def test_bad_input():
    with pytest.raises(GradientToolsError):
        suggest_gradient_opacity(np.zeros((2, 2, 2, 2)))
    with pytest.raises(GradientToolsError):
        suggest_gradient_opacity(np.array([[[np.nan, 1.0]]]))
    with pytest.raises(GradientToolsError):
        suggest_gradient_opacity(np.zeros((3, 3, 3)), spacing=(1, -1, 1))
    with pytest.raises(GradientToolsError, match="max_blocks"):
        estimate_gradient_noise(np.zeros((3, 3, 3)), max_blocks=0)
    with pytest.raises(GradientToolsError, match="seed"):
        estimate_gradient_noise(np.zeros((3, 3, 3)), seed=-1)
