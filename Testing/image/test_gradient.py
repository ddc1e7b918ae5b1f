"""gradient_magnitude against VTK, SimpleITK, scipy, numpy and analytic answers."""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.ndimage as ndi
import SimpleITK as sitk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from references import vtk_gradient_magnitude
from support import run_cli

from GradientToolsLib import gradient_magnitude
from GradientToolsLib._shared.threads import worker_count
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


# "Identical" below means numpy.array_equal, every bit of every voxel: our float32 result equals the
# output of vtkImageGradientMagnitude (Dimensionality 3, HandleBoundaries on) run on a float64 copy of
# the whole volume, rounded once to float32 (``.astype(np.float32)``). VTK differences in double
# whatever its scalar type, so for types that float32 holds exactly (bool, 8- and 16-bit integers,
# float16, float32) our result is also identical to the filter's own float32 output on a float32 copy
# of the whole volume; for the others (32- and 64-bit integers, float64) the slabs are float64 and
# only the final rounding to float32 differs from the float64 filter.

ALL_TYPES = [np.bool_, np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.uint64, np.int64,
             np.float16, np.float32, np.float64]
FLOAT32_EXACT = {np.dtype(t) for t in (np.bool_, np.uint8, np.int8, np.uint16, np.int16, np.float16,
                                       np.float32)}


def random_volume(rng, shape, dtype):
    """Values over the type's whole range (integers), or spread floats with a large offset."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) > 0.5
    if dtype.kind == "f":
        return (rng.standard_normal(shape) * 300 + 1000).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


def assert_identical_to_vtk(ours, volume, spacing):
    reference = vtk_gradient_magnitude(volume, spacing)             # float64 copy, float64 output
    assert ours.dtype == np.float32 and ours.shape == volume.shape
    np.testing.assert_array_equal(ours, reference.astype(np.float32), err_msg=str(volume.dtype))
    if volume.dtype in FLOAT32_EXACT:
        own = vtk_gradient_magnitude(volume.astype(np.float32), spacing, as_float64=False)
        assert own.dtype == np.float32
        np.testing.assert_array_equal(ours, own, err_msg=str(volume.dtype))


def many_slabs_and_threads(monkeypatch, slices_per_slab, slice_voxels):
    """Slabs of a few slices (float32 slabs; float64 ones get half) on threads even for small data."""
    monkeypatch.setattr(_slabs, "SLAB_BYTES", slices_per_slab * slice_voxels * 4)
    monkeypatch.setattr(_slabs, "THREADED_MIN_VOXELS", 1)


@pytest.mark.parametrize("dtype", ALL_TYPES, ids=lambda t: np.dtype(t).name)
def test_central_is_the_vtk_filter_bit_for_bit_for_every_type(monkeypatch, dtype):
    rng = np.random.default_rng(1)
    shape = (23, 13, 17)
    volume = random_volume(rng, shape, dtype)
    before = volume.copy()
    assert_identical_to_vtk(gradient_magnitude(volume, ANISOTROPIC), volume, ANISOTROPIC)    # one slab
    many_slabs_and_threads(monkeypatch, 2, 13 * 17)          # 2-slice slabs (1 for float64 work)
    assert_identical_to_vtk(gradient_magnitude(volume, ANISOTROPIC), volume, ANISOTROPIC)
    np.testing.assert_array_equal(volume, before)


@pytest.mark.parametrize("releases_gil", [True, False], ids=["slab threads", "vtk threads"])
def test_central_seams_identical_on_phantom_with_both_threadings(monkeypatch, releases_gil):
    # slab threads (VTK >= 9.4), or slabs in turn with VTK's own threads in each (older VTK)
    image, _ = ct_phantom((70, 80, 90), spacing=ANISOTROPIC, noise_std=25, correlation_mm=0.8)
    monkeypatch.setattr(_kernels, "vtk_update_releases_gil", lambda: releases_gil)
    calls = []
    original = _kernels.vtk_central_compute
    monkeypatch.setattr(_kernels, "vtk_central_compute", lambda *a: calls.append(a) or original(*a))
    for slices in (1, 3, 7):
        many_slabs_and_threads(monkeypatch, slices, 80 * 90)
        assert_identical_to_vtk(gradient_magnitude(image, ANISOTROPIC), image, ANISOTROPIC)
    cores = worker_count()
    assert [vtk_threads for _, vtk_threads in calls] == [1 if releases_gil and cores > 1 else cores] * 3


@pytest.mark.parametrize("work,copies", [(np.float32, 0), (np.float64, 1)], ids=["float32", "float64"])
def test_vtk_filter_writes_straight_into_the_result(monkeypatch, work, copies):
    # float32 slabs: the filter's output array is the result's memory, no copy; float64 slabs are
    # cast once into it (the only copy)
    data = (np.random.default_rng(8).normal(size=(6, 9, 11)) * 100).astype(work)
    buffer = np.concatenate([data[:1], data, data[-1:]])       # the slab with its clamped halo
    out = np.full(data.shape, np.nan, np.float32)
    compute = _kernels.vtk_central_compute(ANISOTROPIC)
    calls = []
    original = np.copyto
    monkeypatch.setattr(np, "copyto", lambda *a, **k: calls.append(1) or original(*a, **k))
    compute(buffer, out, _slabs.Scratch())
    monkeypatch.undo()
    assert len(calls) == copies
    np.testing.assert_array_equal(out, vtk_gradient_magnitude(data, ANISOTROPIC).astype(np.float32))


def test_numpy_engine_equals_vtk_within_float32_rounding(monkeypatch):
    image, _ = ct_phantom((30, 40, 50), spacing=ANISOTROPIC, noise_std=25, correlation_mm=0.8)
    reference = vtk_gradient_magnitude(image, ANISOTROPIC)
    default = gradient_magnitude(image, ANISOTROPIC, engine="numpy")
    many_slabs_and_threads(monkeypatch, 3, 40 * 50)
    small_slabs = gradient_magnitude(image, ANISOTROPIC, engine="numpy")
    for ours in (default, small_slabs):
        np.testing.assert_allclose(ours, reference, rtol=2e-6, atol=1e-6 * reference.max())
    assert np.array_equal(default, small_slabs)
    rng = np.random.default_rng(1)
    for dtype in (np.uint8, np.int16, np.uint16, np.int32, np.float32, np.float64):
        data = random_volume(rng, (9, 7, 11), dtype)
        reference = vtk_gradient_magnitude(data, ANISOTROPIC)
        np.testing.assert_allclose(gradient_magnitude(data, ANISOTROPIC, engine="numpy"), reference,
                                   rtol=2e-6, atol=1e-6 * reference.max(), err_msg=str(dtype))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.int64], ids=lambda t: np.dtype(t).name)
def test_central_one_slice_and_2d_inputs_identical(dtype):
    rng = np.random.default_rng(4)
    plane = random_volume(rng, (1, 31, 29), dtype)
    one_slice = gradient_magnitude(plane, ANISOTROPIC)
    assert_identical_to_vtk(one_slice, plane, ANISOTROPIC)
    flat = gradient_magnitude(plane[0], ANISOTROPIC)
    assert flat.shape == (31, 29)
    np.testing.assert_array_equal(flat, one_slice[0])
    out = np.empty((31, 29), np.float32)
    assert gradient_magnitude(plane[0], ANISOTROPIC, out=out) is out
    np.testing.assert_array_equal(out, one_slice[0])
    # one-voxel axes: nothing to difference along them
    line = random_volume(rng, (5, 1, 40), dtype)
    assert_identical_to_vtk(gradient_magnitude(line, ANISOTROPIC), line, ANISOTROPIC)


def test_central_on_views_byte_orders_nan_and_memmaps(tmp_path, monkeypatch):
    rng = np.random.default_rng(6)
    base = random_volume(rng, (12, 30, 40), np.int16)
    many_slabs_and_threads(monkeypatch, 2, 15 * 20)
    for volume in (base[:, ::2, ::2], base.transpose(0, 2, 1), base.astype(">i2"), base[::-1]):
        assert_identical_to_vtk(gradient_magnitude(volume, ANISOTROPIC), np.array(volume), ANISOTROPIC)
    with_nan = base.astype(np.float32)
    with_nan[5, 10, 20] = np.nan
    reference = vtk_gradient_magnitude(with_nan, ANISOTROPIC).astype(np.float32)
    ours = gradient_magnitude(with_nan, ANISOTROPIC)
    assert np.isnan(ours).sum() == 6          # its six neighbours (a central difference skips the voxel)
    np.testing.assert_array_equal(ours, reference)
    # disk-backed input and output (volumes larger than memory): no copy of either is needed
    source = np.lib.format.open_memmap(tmp_path / "in.npy", mode="w+", dtype=np.int16, shape=base.shape)
    source[...] = base
    source.flush()
    source = np.load(tmp_path / "in.npy", mmap_mode="r")
    target = np.lib.format.open_memmap(tmp_path / "out.npy", mode="w+", dtype=np.float32, shape=base.shape)
    calls = []
    assert gradient_magnitude(source, ANISOTROPIC, out=target,
                              progress=lambda f, m="": calls.append(f)) is target
    target.flush()
    assert_identical_to_vtk(np.load(tmp_path / "out.npy"), base, ANISOTROPIC)
    assert calls[0] == 0.0 and calls[-1] == 1.0 and calls == sorted(calls) and len(calls) > 3


def dipy_file(name):
    dipy = pytest.importorskip("dipy", reason="real scans come with DIPY's wheel (a test dependency)")
    return os.path.join(os.path.dirname(dipy.__file__), "data", "files", name)


@pytest.mark.parametrize("slices_per_slab", [None, 2], ids=["default slabs", "2-slice slabs"])
def test_real_scans_identical_to_vtk(monkeypatch, tmp_path, slices_per_slab):
    # real data we did not make: an oblique 4 x 4 x 5 mm b0 EPI (int16), a DWI volume with scanner
    # noise (float64), a b=0 and a diffusion-weighted volume of a real DWI crop (uint16), and a real
    # CT slice (int16, 2-D) from pydicom's test files
    scans = []
    for name in ("aniso_vox.nii.gz", "test_piesno.nii.gz"):
        image = sitk.ReadImage(dipy_file(name))
        scans.append((name, sitk.GetArrayFromImage(image), image.GetSpacing()))
    dwi = sitk.ReadImage(dipy_file("small_101D.nii.gz"))
    for index in (0, 50):
        volume = sitk.GetArrayFromImage(dwi)[index]              # 4-D array (t, K, J, I): one volume
        scans.append((f"small_101D[{index}]", volume, dwi.GetSpacing()[:3]))
    pydicom = pytest.importorskip("pydicom")
    from pydicom.data import get_testdata_file

    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    row, column = (float(h) for h in ct.PixelSpacing)
    scans.append(("CT_small.dcm", ct.pixel_array, (column, row, float(ct.SliceThickness))))
    for name, array, spacing in scans:
        if slices_per_slab:
            many_slabs_and_threads(monkeypatch, slices_per_slab, array.shape[-1] * array.shape[-2])
        ours = gradient_magnitude(array, spacing)
        assert ours.shape == array.shape and np.count_nonzero(ours) > ours.size // 2, name
        volume = array if array.ndim == 3 else array[np.newaxis]
        assert_identical_to_vtk(ours if ours.ndim == 3 else ours[np.newaxis], volume, spacing)
    # the command line on the real oblique NIfTI file
    assert run_cli("magnitude", dipy_file("aniso_vox.nii.gz"), tmp_path / "grad.nii.gz").code == 0
    written = sitk.ReadImage(str(tmp_path / "grad.nii.gz"))
    assert_identical_to_vtk(sitk.GetArrayFromImage(written), scans[0][1], written.GetSpacing())


def test_a_raising_progress_callback_stops_the_slabs(monkeypatch):
    # the Slicer module cancels by raising from the callback: it must propagate unchanged and the
    # pending slabs must not run (only those already started finish)
    many_slabs_and_threads(monkeypatch, 1, 60 * 70)
    computed = []
    original = _kernels.vtk_central_compute

    def counting(*args):
        compute = original(*args)
        return lambda *a: computed.append(1) or compute(*a)

    monkeypatch.setattr(_kernels, "vtk_central_compute", counting)

    class Stop(Exception):
        pass

    def cancel(fraction, message=""):
        if fraction > 0:
            raise Stop

    with pytest.raises(Stop):
        gradient_magnitude(np.zeros((200, 60, 70), np.int16), progress=cancel)
    assert 1 <= len(computed) < 100


def test_command_line_and_mrml_bridge_run_the_vtk_filter(tmp_path, request):
    image, _ = ct_phantom((20, 30, 40), spacing=ANISOTROPIC, noise_std=25)
    itk_image = sitk.GetImageFromArray(image)
    itk_image.SetSpacing(ANISOTROPIC)
    sitk.WriteImage(itk_image, str(tmp_path / "ct.nrrd"))
    assert run_cli("magnitude", tmp_path / "ct.nrrd", tmp_path / "grad.nrrd").code == 0
    written = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "grad.nrrd")))
    assert_identical_to_vtk(written, image, ANISOTROPIC)
    slicer = pytest.importorskip("slicer", reason="the MRML bridge needs the 'slicer' extra")
    from GradientToolsLib import mrml

    scene = request.getfixturevalue("scene")
    # a name no other test uses: the session's scene numbers later "<name> gradient" outputs
    node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "engine check")
    slicer.util.updateVolumeFromArray(node, image)
    node.SetSpacing(*ANISOTROPIC)
    result = slicer.util.arrayFromVolume(mrml.compute_gradient_magnitude(node, units="mm"))
    assert_identical_to_vtk(result, image, ANISOTROPIC)


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
    # the numpy engine is what sobel and gaussian run on: naming it changes nothing
    assert not gradient_magnitude(volume, ANISOTROPIC, method=method, sigma=sigma, engine="numpy").any()


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
    (dict(engine="itk"), "unknown engine"),
    (dict(engine="VTK"), "unknown engine"),
    (dict(method="sobel", engine="vtk"), "only method 'central'"),
    (dict(method="gaussian", sigma=1.0, engine="vtk"), "only method 'central'"),
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
