"""``gradienttools magnitude`` on volumes larger than memory: streaming through memory-mapped raw
NRRD/MetaImage, zarr stores through dask (threads and a LocalCluster), memory refused up front."""

from __future__ import annotations

import gzip
import os
import sys

import numpy as np
import pytest
import SimpleITK as sitk
from references import vtk_gradient_magnitude
from scipy.spatial.transform import Rotation
from support import run_cli, run_sampling_memory

from GradientToolsLib._shared.memory import format_bytes
from GradientToolsLib.image import _slabs
from GradientToolsLib.image.gradient import gradient_magnitude

SPACING = (0.62, 0.81, 1.7)
ORIGIN = (-120.25, 33.5, 410.125)
DIRECTION = Rotation.from_euler("zyx", [23.0, -11.0, 7.5], degrees=True).as_matrix()
METHODS = [("central", []), ("sobel", []), ("gaussian", ["--sigma", "2.0"])]
MiB = 1 << 20


@pytest.fixture(scope="module")
def phantom():
    rng = np.random.default_rng(3)
    volume = np.zeros((60, 40, 50), dtype=np.int16)
    volume[10:45, 8:30, 12:40] = 900
    return volume + (rng.normal(size=volume.shape) * 30).astype(np.int16)


def write_image(path, array, spacing=SPACING, origin=ORIGIN, direction=DIRECTION, compress=False):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    image.SetDirection(tuple(np.asarray(direction).reshape(-1)))
    sitk.WriteImage(image, str(path), compress)
    return sitk.ReadImage(str(path))


@pytest.mark.parametrize("method, extra", METHODS)
def test_streaming_equals_the_in_memory_computation(tmp_path, phantom, monkeypatch, method, extra):
    """Slabs of 2 slices (many seams) through memory-mapped .nhdr in and .nrrd/.mhd out: the same
    bits as gradient_magnitude on the volume in memory, and the geometry SimpleITK reads back."""
    monkeypatch.setattr(_slabs, "SLAB_BYTES", 2 * 40 * 50 * 4)
    source = tmp_path / "ct.nhdr"
    reread = write_image(source, phantom)
    expected = gradient_magnitude(sitk.GetArrayFromImage(reread), reread.GetSpacing(), method,
                                  float(extra[1]) if extra else None)
    for ending in (".nrrd", ".mhd"):
        target = tmp_path / ("grad" + ending)
        done = run_cli("magnitude", source, target, "--method", method, *extra)
        assert done.code == 0 and done.err == "", done.err               # no memory note: it streamed
        result = sitk.ReadImage(str(target))
        np.testing.assert_array_equal(sitk.GetArrayFromImage(result), expected)
        np.testing.assert_allclose(result.GetSpacing(), reread.GetSpacing(), rtol=1e-15)
        np.testing.assert_array_equal(result.GetOrigin(), reread.GetOrigin())
        np.testing.assert_allclose(result.GetDirection(), reread.GetDirection(), rtol=0, atol=1e-15)
    if method == "central":      # and VTK's filter on the whole volume at once
        np.testing.assert_allclose(expected, vtk_gradient_magnitude(phantom, reread.GetSpacing()),
                                   rtol=2e-6, atol=1e-4)


def test_ras_space_and_big_endian_input_keeps_its_geometry(tmp_path, phantom):
    """A hand-written right-anterior-superior, big-endian .nhdr: the output's geometry is the one
    ITK (SimpleITK) reads from the input, values those of the in-memory computation."""
    (tmp_path / "ras.raw").write_bytes(phantom.astype(">i2").tobytes())
    (tmp_path / "ras.nhdr").write_text("\n".join([
        "NRRD0004", "type: short", "dimension: 3", "space: right-anterior-superior", "sizes: 50 40 60",
        "space directions: (0.6,0.1,0) (0,-0.8,0.05) (0.2,0,1.7)", "kinds: domain domain domain",
        "endian: big", "encoding: raw", "space origin: (-30,12.5,-80)", "data file: ras.raw"]) + "\n")
    assert run_cli("magnitude", tmp_path / "ras.nhdr", tmp_path / "out.mha").code == 0
    source, result = sitk.ReadImage(str(tmp_path / "ras.nhdr")), sitk.ReadImage(str(tmp_path / "out.mha"))
    for getter in ("GetSpacing", "GetOrigin", "GetDirection"):
        np.testing.assert_allclose(getattr(result, getter)(), getattr(source, getter)(), rtol=0, atol=1e-14)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(result),
                                  gradient_magnitude(sitk.GetArrayFromImage(source), source.GetSpacing()))


def test_compressed_input_says_it_cannot_stream(tmp_path, phantom):
    source = tmp_path / "ct.nrrd"
    write_image(source, phantom, compress=True)
    done = run_cli("magnitude", source, tmp_path / "out.nrrd")
    assert done.code == 0
    assert "gzip-compressed and cannot be streamed" in done.err
    assert f"needs about {format_bytes(2 * phantom.nbytes)}" in done.err


def _huge_gzip_nrrd(path):
    """A gzip NRRD whose header promises 4000^3 int16 voxels (128 GB) with a few bytes of data."""
    header = (b"NRRD0004\ntype: short\ndimension: 3\nsizes: 4000 4000 4000\nendian: little\n"
              b"encoding: gzip\nspacings: 1 1 1\n\n")
    path.write_bytes(header + gzip.compress(b"\x00" * 64))


def _bad_cases(tmp_path, phantom):
    _huge_gzip_nrrd(tmp_path / "huge.nrrd")
    write_image(tmp_path / "ct.nhdr", phantom)
    return {
        "compressed NRRD too big": (["huge.nrrd", "out.nrrd"], "needs about 238.4 GB of memory, but only"),
        "overwrite the input": (["ct.nhdr", "ct.nhdr"], "is an input"),
        "overwrite the input's data file": (["ct.nhdr", "ct.mhd"], "is an input"),
        "scheduler without zarr": (["ct.nhdr", "out.nrrd", "--scheduler", "tcp://127.0.0.1:1"],
                                   "--scheduler applies"),
        "spacing for a file": (["ct.nhdr", "out.nrrd", "--spacing", "1", "1", "1"], "--spacing applies"),
        "truncated data": (["cut.nhdr", "out.nrrd"], "truncated"),
    }


def test_bad_input_exit_2_one_line_no_output(tmp_path, phantom, monkeypatch):
    cases = _bad_cases(tmp_path, phantom)
    (tmp_path / "cut.raw").write_bytes((tmp_path / "ct.raw").read_bytes()[:-2])
    (tmp_path / "cut.nhdr").write_text((tmp_path / "ct.nhdr").read_text().replace("ct.raw", "cut.raw"))
    monkeypatch.chdir(tmp_path)
    for name, (argv, message) in cases.items():
        before = set(os.listdir(tmp_path))
        done = run_cli("magnitude", *argv)
        lines = done.err.strip().splitlines()
        assert done.code == 2 and len(lines) == 1, (name, done.err)
        assert lines[0].startswith("gradienttools magnitude: error: "), (name, done.err)
        assert message in lines[0], (name, done.err)
        assert set(os.listdir(tmp_path)) == before, name


def _sparse_nhdr(path, shape):
    """A raw int16 .nhdr over a sparse file (no disk used) with a ramp in its first slices."""
    data = path.with_suffix(".raw")
    with open(data, "wb") as stream:
        stream.truncate(int(np.prod(shape)) * 2)
    ramp = np.memmap(data, dtype="<i2", mode="r+", shape=shape)
    ramp[:2] = np.arange(shape[2], dtype=np.int16)
    del ramp
    path.write_text("NRRD0004\ntype: short\ndimension: 3\n"
                    f"sizes: {shape[2]} {shape[1]} {shape[0]}\nspacings: 1 1 1\nendian: little\n"
                    f"encoding: raw\ndata file: {data.name}\n")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="samples /proc/PID/status")
def test_peak_memory_does_not_grow_with_the_volume(tmp_path):
    """768 MB of voxels (256 MB int16 in, 512 MB float32 out) through a child process whose
    unreclaimable memory (RssAnon + RssShmem, sampled) stays within 64 MB of its size on a 32^3
    volume; the same sampler sees the in-memory path (NIfTI output) grow by the output's size."""
    big, small = tmp_path / "big.nhdr", tmp_path / "small.nhdr"
    _sparse_nhdr(big, (512, 512, 512))
    _sparse_nhdr(small, (32, 32, 32))
    command = [sys.executable, "-m", "GradientToolsLib", "magnitude"]
    done, baseline = run_sampling_memory(command + [small, tmp_path / "small-out.nhdr"])
    assert done.code == 0, done.err
    done, peak = run_sampling_memory(command + [big, tmp_path / "big-out.nhdr"])
    assert done.code == 0, done.err
    out = np.memmap(tmp_path / "big-out.raw", dtype="<f4", mode="r", shape=(512, 512, 512))
    # slices 0 and 1 hold a ramp along I (slope 1), then zeros: |(1, 0, 0)| and |(1, 0, -7/2)| at i=7
    assert out[0, 5, 7] == 1.0 and out[1, 5, 7] == np.float32(np.sqrt(1 + 3.5 ** 2)) and out[300, 5, 7] == 0
    del out
    assert peak - baseline < 64 * MiB, (peak / MiB, baseline / MiB)
    os.remove(tmp_path / "big-out.raw")
    _sparse_nhdr(big, (128, 512, 512))
    done, in_memory = run_sampling_memory(command + [big, tmp_path / "big-out.nii"])
    assert done.code == 0 and "NIfTI output is written from memory" in done.err
    assert in_memory - baseline > 128 * MiB, (in_memory / MiB, baseline / MiB)


zarr = pytest.importorskip("zarr", reason="needs the 'big' extra (dask, distributed, zarr)")


def test_zarr_in_and_out_through_the_command(tmp_path, phantom, dask_cluster):
    """raw NRRD -> OME-Zarr on local threads, OME-Zarr -> NRRD on a LocalCluster, plain zarr array
    with --spacing: values identical to the in-memory computation, spacing and origin kept."""
    source = tmp_path / "ct.nrrd"
    reread = write_image(source, phantom, direction=np.eye(3))
    expected = gradient_magnitude(phantom, SPACING)
    assert run_cli("magnitude", source, tmp_path / "grad.zarr").code == 0
    level = zarr.open_array(str(tmp_path / "grad.zarr" / "0"), mode="r")
    np.testing.assert_array_equal(level[...], expected)
    done = run_cli("magnitude", source, tmp_path / "twice.zarr", "--method", "sobel")
    assert done.code == 0
    assert run_cli("magnitude", tmp_path / "grad.zarr", tmp_path / "back.nrrd", "--method", "sobel",
                   "--scheduler", dask_cluster).code == 0
    back = sitk.ReadImage(str(tmp_path / "back.nrrd"))
    np.testing.assert_allclose(back.GetSpacing(), SPACING, rtol=1e-15)
    np.testing.assert_allclose(back.GetOrigin(), reread.GetOrigin(), rtol=1e-15)
    from GradientToolsLib.image.dask_gradient import gradient_magnitude_dask
    np.testing.assert_array_equal(sitk.GetArrayFromImage(back),
                                  gradient_magnitude_dask(expected, SPACING, "sobel").compute())
    plain = zarr.open_array(str(tmp_path / "plain.zarr"), mode="w", shape=phantom.shape, chunks=(16, 40, 50),
                            dtype=phantom.dtype)
    plain[...] = phantom
    missing = run_cli("magnitude", tmp_path / "plain.zarr", tmp_path / "p.nrrd")
    assert missing.code == 2 and "give the voxel spacing (--spacing I J K, mm)" in missing.err
    assert not (tmp_path / "p.nrrd").exists()
    replace = run_cli("magnitude", tmp_path / "grad.zarr" / "0", tmp_path / "grad.zarr",
                      "--spacing", *SPACING)
    assert replace.code == 2 and "would replace the folder holding the input" in replace.err
    assert run_cli("magnitude", tmp_path / "plain.zarr", tmp_path / "p.mha", "--spacing", *SPACING).code == 0
    np.testing.assert_array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "p.mha"))), expected)
