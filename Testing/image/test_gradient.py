"""gradient_magnitude against VTK, SimpleITK, scipy, numpy and analytic answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import SimpleITK as sitk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from references import vtk_gradient_magnitude

from GradientToolsLib import gradient_magnitude
from GradientToolsLib.errors import GradientToolsError
from GradientToolsLib.image import _kernels, _slabs
from GradientToolsLib.image import gradient as gradient_module
from GradientToolsLib.image.gradient import gaussian_kernels
from GradientToolsLib.image.phantoms import ct_phantom

ANISOTROPIC = (0.7, 1.1, 2.5)          # I, J, K mm


def ramp(shape, spacing, slopes, offset=0.0):
    """F = offset + sx*x + sy*y + sz*z in physical coordinates (x = i*h_I, ...), array K,J,I."""
    k, j, i = np.meshgrid(*(np.arange(n, dtype=np.float64) for n in shape), indexing="ij")
    return offset + slopes[0] * i * spacing[0] + slopes[1] * j * spacing[1] + slopes[2] * k * spacing[2]


def interior(radius):
    return (slice(radius, -radius),) * 3


def test_central_equals_vtk_float64_everywhere_for_many_types():
    rng = np.random.default_rng(1)
    shape = (9, 7, 11)
    for dtype in (np.uint8, np.int16, np.uint16, np.int32, np.float32, np.float64):
        if np.dtype(dtype).kind == "f":
            data = (rng.standard_normal(shape) * 300).astype(dtype)
        else:
            info = np.iinfo(dtype)
            data = rng.integers(max(info.min, -30000), min(info.max, 30000), size=shape).astype(dtype)
        ours = gradient_magnitude(data, ANISOTROPIC)
        reference = vtk_gradient_magnitude(data, ANISOTROPIC)
        assert ours.dtype == np.float32 and ours.shape == shape
        np.testing.assert_allclose(ours, reference, rtol=2e-6, atol=1e-6 * reference.max(),
                                   err_msg=str(dtype))


def test_central_equals_vtk_on_phantom_with_many_slabs_and_threads(monkeypatch):
    image, _ = ct_phantom((70, 80, 90), spacing=ANISOTROPIC, noise_std=25, correlation_mm=0.8)
    reference = vtk_gradient_magnitude(image, ANISOTROPIC)
    default = gradient_magnitude(image, ANISOTROPIC)
    monkeypatch.setattr(_slabs, "SLAB_BYTES", 3 * 80 * 90 * 4)      # 3-slice slabs
    small_slabs = gradient_magnitude(image, ANISOTROPIC)
    for ours in (default, small_slabs):
        np.testing.assert_allclose(ours, reference, rtol=2e-6, atol=1e-4)
    assert np.array_equal(default, small_slabs)


def test_forum_example_uint8_3x4x5():
    # the forum's pitfalls: VTK's output type follows the input (uint8 truncates) and the default
    # Dimensionality is 2 (the slice direction is ignored)
    k, j, i = np.meshgrid(np.arange(3), np.arange(4), np.arange(5), indexing="ij")
    volume = (7 * i + 2 * j + 40 * k).astype(np.uint8)
    exact = np.sqrt(7.0 ** 2 + 2.0 ** 2 + 40.0 ** 2)
    ours = gradient_magnitude(volume)
    np.testing.assert_allclose(ours, vtk_gradient_magnitude(volume, (1, 1, 1)), rtol=1e-6)
    assert ours[1, 1:-1, 1:-1] == pytest.approx(exact, rel=1e-6)

    naive = vtk_gradient_magnitude(volume, (1, 1, 1), dimensionality=2, as_float64=False)
    assert naive.dtype == np.uint8
    assert naive[1, 1, 1] == int(np.sqrt(7.0 ** 2 + 2.0 ** 2))        # 7: truncated, no slice term
    assert abs(float(naive[1, 1, 1]) - exact) > 30

    # spacing 0.1 mm: ten times larger per mm; per voxel (spacing 1) unchanged
    np.testing.assert_allclose(gradient_magnitude(volume, (0.1, 0.1, 0.1)), 10 * ours, rtol=1e-6)


@pytest.mark.parametrize("method,sigma,margin", [("central", None, 1), ("sobel", None, 1),
                                                 ("gaussian", 2.0, None), ("gaussian", 0.4, None)])
def test_anisotropic_ramp_gives_its_slope(method, sigma, margin):
    slopes = (3.0, -1.5, 0.75)                  # per mm along x (I), y (J), z (K)
    shape = (12, 30, 24) if method != "gaussian" or sigma < 1 else (20, 34, 48)
    volume = ramp(shape, ANISOTROPIC, slopes, offset=100.0)
    ours = gradient_magnitude(volume, ANISOTROPIC, method=method, sigma=sigma)
    margins = [margin] * 3
    if method == "gaussian":        # beyond the kernel radius of each axis, boundaries play no part
        margins = [gaussian_kernels(sigma / ANISOTROPIC[2 - axis])[0] for axis in range(3)]
    inner = ours[tuple(slice(m, -m) for m in margins)]
    assert inner.size
    np.testing.assert_allclose(inner, np.linalg.norm(slopes), rtol=2e-6)


def test_central_boundary_is_half_the_one_sided_difference():
    volume = ramp((4, 5, 6), (1.0, 1.0, 1.0), (2.0, 0.0, 0.0))
    ours = gradient_magnitude(volume, (1.0, 1.0, 1.0))
    assert ours[2, 2, 0] == pytest.approx(1.0)          # (F[1] - F[0]) / 2 with F[1] - F[0] = 2
    assert ours[2, 2, 3] == pytest.approx(2.0)


def test_interior_agrees_with_simpleitk_and_numpy_gradient():
    image, _ = ct_phantom((30, 40, 50), spacing=ANISOTROPIC, noise_std=15)
    ours = gradient_magnitude(image, ANISOTROPIC)

    itk_image = sitk.GetImageFromArray(image.astype(np.float64))
    itk_image.SetSpacing(ANISOTROPIC)
    itk = sitk.GetArrayFromImage(sitk.GradientMagnitude(itk_image, useImageSpacing=True))
    components = np.gradient(image.astype(np.float64), ANISOTROPIC[2], ANISOTROPIC[1], ANISOTROPIC[0])
    numpy_magnitude = np.sqrt(sum(c * c for c in components))
    for reference in (itk, numpy_magnitude):
        np.testing.assert_allclose(ours[interior(1)], reference[interior(1)], rtol=2e-6, atol=1e-4)


@pytest.mark.parametrize("use_blas", [True, False])
def test_sobel_equals_scipy_sobel_scaled(monkeypatch, use_blas):
    monkeypatch.setattr(gradient_module, "_USE_BLAS", use_blas)
    monkeypatch.setattr(_slabs, "THREADED_MIN_VOXELS", 1)
    monkeypatch.setattr(_slabs, "SLAB_BYTES", 3 * 13 * 17 * 4)
    rng = np.random.default_rng(3)
    for volume in (rng.normal(size=(10, 13, 17)).astype(np.float32),
                   rng.integers(-1000, 1000, size=(7, 40, 1)).astype(np.int16)):
        data = volume.astype(np.float64)
        parts = [ndi.sobel(data, axis, mode="nearest") / (32 * ANISOTROPIC[2 - axis]) for axis in range(3)]
        reference = np.sqrt(sum(p * p for p in parts))
        ours = gradient_magnitude(volume, ANISOTROPIC, method="sobel")
        np.testing.assert_allclose(ours, reference, rtol=2e-6, atol=2e-6 * reference.max())


def test_gaussian_kernels_are_scipy_kernels_with_ramp_normalisation():
    for sigma in (0.8, 1.5, 3.2):
        radius, smooth, derivative = gaussian_kernels(sigma)
        delta = np.zeros(2 * radius + 1)
        delta[radius] = 1.0
        # correlation weights are the impulse response read backwards
        scipy_smooth = ndi.gaussian_filter1d(delta, sigma, order=0, truncate=4.0, mode="constant")[::-1]
        scipy_derivative = ndi.gaussian_filter1d(delta, sigma, order=1, truncate=4.0, mode="constant")[::-1]
        np.testing.assert_allclose(smooth, scipy_smooth, rtol=1e-12, atol=1e-15)
        ratio = derivative[radius + 1:] / scipy_derivative[radius + 1:]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-10)     # same shape, another scale
        assert abs(ratio[0] - 1) < 2e-3
        offsets = np.arange(-radius, radius + 1)
        assert np.sum(offsets * derivative) == pytest.approx(1.0, abs=1e-12)


def _separable_reference(volume, spacing, sigma):
    """Independent float64 derivative-of-Gaussian magnitude with the published kernels (scipy)."""
    data = volume.astype(np.float64)
    kernels = [gaussian_kernels(sigma / spacing[2 - axis]) for axis in range(3)]
    total = np.zeros_like(data)
    for axis in range(3):
        part = data
        for other in range(3):
            _, smooth, derivative = kernels[other]
            weights = derivative / spacing[2 - other] if other == axis else smooth
            part = ndi.correlate1d(part, weights, axis=other, mode="nearest")
        total += part * part
    return np.sqrt(total)


@pytest.mark.parametrize("use_blas", [True, False])
def test_gaussian_matches_separable_reference_everywhere(monkeypatch, use_blas):
    used = []
    original = _kernels.separable_compute_blas
    monkeypatch.setattr(_kernels, "separable_compute_blas", lambda *a: used.append(1) or original(*a))
    image, _ = ct_phantom((40, 50, 60), spacing=ANISOTROPIC, noise_std=20)
    reference = _separable_reference(image, ANISOTROPIC, 1.6)
    monkeypatch.setattr(_slabs, "SLAB_BYTES", 2 * 50 * 60 * 4)
    monkeypatch.setattr(gradient_module, "_USE_BLAS", use_blas)
    monkeypatch.setattr(_slabs, "THREADED_MIN_VOXELS", 1)    # threads and BLAS on small data
    ours = gradient_magnitude(image, ANISOTROPIC, method="gaussian", sigma=1.6)
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-5 * reference.max())
    # odd shapes: partial matrix blocks, a one-voxel axis, float64 input, wide kernels
    rng = np.random.default_rng(5)
    for shape, sigma in (((5, 37, 70), 1.0), ((3, 1, 41), 2.0), ((1, 66, 3), 6.0)):
        volume = rng.normal(size=shape) * 100
        reference = _separable_reference(volume, ANISOTROPIC, sigma)
        ours = gradient_magnitude(volume, ANISOTROPIC, method="gaussian", sigma=sigma)
        np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-5 * reference.max(),
                                   err_msg=str(shape))
    assert bool(used) == use_blas          # the matrix-product path ran (threadpoolctl is a dependency)


def test_gaussian_agrees_with_scipy_and_simpleitk_peers():
    image, _ = ct_phantom((48, 56, 64), spacing=(1.0, 1.0, 1.0), noise_std=10)
    sigma = 2.0
    ours = gradient_magnitude(image, method="gaussian", sigma=sigma)
    scipy_result = ndi.gaussian_gradient_magnitude(image.astype(np.float64), sigma, mode="nearest")
    np.testing.assert_allclose(ours, scipy_result, rtol=0, atol=5e-4 * scipy_result.max())

    itk_image = sitk.GetImageFromArray(image.astype(np.float32))
    itk = sitk.GetArrayFromImage(sitk.GradientMagnitudeRecursiveGaussian(itk_image, sigma))
    inside = interior(10)
    # a recursive (IIR) approximation of the Gaussian: agreement within a few percent of the peak
    assert np.max(np.abs(ours[inside] - itk[inside])) < 0.03 * ours[inside].max()


def test_one_slice_volume_ignores_slice_direction():
    plane = ramp((1, 60, 50), ANISOTROPIC, (1.0, 2.0, 5.0))
    for method, sigma in (("central", None), ("sobel", None), ("gaussian", 1.5)):
        ours = gradient_magnitude(plane, ANISOTROPIC, method=method, sigma=sigma)
        flat = gradient_magnitude(plane[0], ANISOTROPIC, method=method, sigma=sigma)
        assert ours.shape == (1, 60, 50) and flat.shape == (60, 50)
        np.testing.assert_array_equal(ours[0], flat)
        assert ours[0, 30, 25] == pytest.approx(np.hypot(1.0, 2.0), rel=1e-5)
    np.testing.assert_allclose(gradient_magnitude(plane, ANISOTROPIC),
                               vtk_gradient_magnitude(plane, ANISOTROPIC), rtol=1e-6)


@pytest.mark.parametrize("method,sigma", [("central", None), ("sobel", None), ("gaussian", 1.0)])
def test_constant_volume_gives_zeros(method, sigma):
    volume = np.full((5, 6, 7), -1000, dtype=np.int16)
    assert not gradient_magnitude(volume, ANISOTROPIC, method=method, sigma=sigma).any()


def test_input_untouched_out_parameter_and_progress():
    image, _ = ct_phantom((20, 30, 30), noise_std=10)
    before = image.copy()
    calls = []
    out = np.full(image.shape, np.nan, dtype=np.float32)
    returned = gradient_magnitude(image, method="gaussian", sigma=1.0, out=out,
                                  progress=lambda f, m="": calls.append(f))
    assert returned is out and np.isfinite(out).all()
    np.testing.assert_array_equal(image, before)
    assert calls[0] == 0.0 and calls[-1] == 1.0 and calls == sorted(calls)
    with pytest.raises(GradientToolsError, match="share memory"):
        shared = image.astype(np.float32)
        gradient_magnitude(shared, out=shared)


@pytest.mark.parametrize("kwargs,message", [
    (dict(spacing=(1.0, 0.0, 1.0)), "positive"),
    (dict(spacing=(1.0, -1.0, 1.0)), "positive"),
    (dict(spacing=(1.0, float("nan"), 1.0)), "finite"),
    (dict(spacing=(1.0, 1.0)), "three"),
    (dict(method="laplace"), "unknown method"),
    (dict(method="gaussian"), "sigma"),
    (dict(method="gaussian", sigma=-1.0), "sigma"),
    (dict(method="gaussian", sigma=float("inf")), "sigma"),
    (dict(method="central", sigma=1.0), "only"),
    (dict(out=np.zeros((2, 2, 2), np.float32)), "shape"),
    (dict(out=np.zeros((4, 4, 4), np.float64)), "float32"),
])
def test_bad_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(GradientToolsError, match=message):
        gradient_magnitude(np.zeros((4, 4, 4), np.int16), **kwargs)


@pytest.mark.parametrize("array,message", [
    (np.zeros((2, 3, 4, 5)), "3-D"),
    (np.zeros(5), "3-D"),
    (np.zeros((3, 3, 3), np.complex64), "real"),
    (np.array([["a", "b"]]), "real"),
    (np.zeros((0, 3, 3)), "empty"),
])
def test_bad_arrays_raise_clear_errors(array, message):
    with pytest.raises(GradientToolsError, match=message):
        gradient_magnitude(array)


volumes = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6)),
                 elements=st.floats(-1e4, 1e4, allow_nan=False))
spacings = st.tuples(*(st.floats(0.05, 20.0) for _ in range(3)))
methods = st.sampled_from([("central", None), ("sobel", None), ("gaussian", 0.7), ("gaussian", 2.5)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(volume=volumes, spacing=spacings, method=methods, scale=st.floats(0.1, 10.0))
def test_properties_non_negative_finite_and_scaling_with_spacing(volume, spacing, method, scale):
    name, sigma = method
    ours = gradient_magnitude(volume, spacing, method=name, sigma=sigma)
    assert ours.dtype == np.float32 and ours.shape == volume.shape
    assert np.all(np.isfinite(ours)) and np.all(ours >= 0)
    # the same object with every length scaled by `scale`: gradients shrink by 1/scale
    scaled_spacing = tuple(h * scale for h in spacing)
    scaled_sigma = None if sigma is None else sigma * scale
    scaled = gradient_magnitude(volume, scaled_spacing, method=name, sigma=scaled_sigma)
    np.testing.assert_allclose(scaled, ours / scale, rtol=1e-4, atol=1e-4 * (ours.max() / scale + 1e-30))
    # values scale linearly with the data (no truncation, no offset dependence); the offset costs
    # float64 rounding of order eps * |values| per voxel
    rounding = 1e-6 * (3.0 * np.abs(volume).max() + 7.0) / min(spacing)
    np.testing.assert_allclose(gradient_magnitude(-3.0 * volume + 7.0, spacing, method=name, sigma=sigma),
                               3.0 * ours, rtol=1e-4, atol=1e-4 * 3.0 * ours.max() + rounding)
