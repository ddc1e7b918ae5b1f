"""The dask engine against the in-memory gradient_magnitude (slab engine, VTK), zarr stores
(OME-Zarr 0.4 and 0.5, plain arrays) and a real dask.distributed LocalCluster on 127.0.0.1."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from support import zarr_group_with_level

da = pytest.importorskip("dask.array", reason="needs the 'big' extra (dask, distributed, zarr)")
zarr = pytest.importorskip("zarr", reason="needs the 'big' extra (dask, distributed, zarr)")

from GradientToolsLib import gradient_magnitude_dask  # noqa: E402
from GradientToolsLib.errors import GradientToolsError  # noqa: E402
from GradientToolsLib.image import gradient as gradient_module  # noqa: E402
from GradientToolsLib.image.gradient import gradient_magnitude  # noqa: E402
from GradientToolsLib.image.zarr_volumes import (  # noqa: E402
    check_block_alignment,
    open_zarr_volume,
    store_dask_volume,
    zarr_volume_output,
)

SPACING = (0.7, 0.9, 1.3)
CASES = [("central", None, "vtk"), ("central", None, "numpy"), ("sobel", None, None),
         ("gaussian", 1.5, None)]


@pytest.fixture(scope="module")
def volume():
    rng = np.random.default_rng(7)
    base = np.zeros((70, 90, 110), dtype=np.int16)
    base[20:50, 30:70, 25:90] = 1000                     # edges crossing chunk seams
    return base + (rng.normal(size=base.shape) * 40).astype(np.int16)


def shifted_slice_reference(array, method, sigma, engine):
    """gradient_magnitude with Sobel/Gaussian on its shifted-slice kernel (as below 2**18 voxels)."""
    saved = gradient_module._USE_BLAS
    gradient_module._USE_BLAS = False
    try:
        return gradient_magnitude(array, SPACING, method, sigma, engine=engine)
    finally:
        gradient_module._USE_BLAS = saved


@pytest.mark.parametrize("method, sigma, engine", CASES)
@pytest.mark.parametrize("chunks", [(32, 32, 32), (35, 45, 110), (1, 90, 110), ((10, 60), (45, 45), (110,))])
def test_equals_gradient_magnitude_bit_for_bit(volume, method, sigma, engine, chunks):
    """Any chunking (chunk seams, one-slice chunks thinner than the Gaussian's radius, irregular
    chunks) gives gradient_magnitude's values exactly: central against the default (VTK) and numpy
    engines, Sobel/Gaussian against its shifted-slice kernel."""
    lazy = gradient_magnitude_dask(da.from_array(volume, chunks=chunks), SPACING, method, sigma,
                                   engine=engine)
    assert lazy.dtype == np.float32 and lazy.chunks == da.from_array(volume, chunks=chunks).chunks
    result = lazy.compute(scheduler="threads")
    np.testing.assert_array_equal(result, shifted_slice_reference(volume, method, sigma, engine))


@pytest.mark.parametrize("method, sigma", [("sobel", None), ("gaussian", 1.5)])
def test_matches_the_blas_kernel_to_float32_rounding(volume, method, sigma):
    """On volumes of 2**18 voxels and more gradient_magnitude runs Sobel/Gaussian as banded BLAS
    products, whose rounding depends on the block layout: equal to float32 rounding."""
    expected = gradient_magnitude(volume, SPACING, method, sigma)
    result = gradient_magnitude_dask(da.from_array(volume, chunks=32), SPACING, method, sigma).compute()
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6 * float(expected.max()))


def test_numpy_zarr_and_2d_inputs(volume, tmp_path):
    store = zarr.open_array(str(tmp_path / "plain.zarr"), mode="w", shape=volume.shape, chunks=(20, 45, 55),
                            dtype=volume.dtype)
    store[...] = volume
    expected = gradient_magnitude(volume, SPACING)
    from_zarr = gradient_magnitude_dask(store, SPACING)
    assert from_zarr.chunks[0] == (20, 20, 20, 10)                       # the store's chunks are kept
    np.testing.assert_array_equal(from_zarr.compute(), expected)
    np.testing.assert_array_equal(gradient_magnitude_dask(volume, SPACING).compute(), expected)
    plane = volume[5]
    flat = gradient_magnitude_dask(da.from_array(plane, chunks=30), SPACING)
    assert flat.ndim == 2
    np.testing.assert_array_equal(flat.compute(), gradient_magnitude(plane, SPACING))


def test_bad_arguments(volume):
    lazy = da.from_array(volume, chunks=32)
    with pytest.raises(GradientToolsError, match="needs sigma"):
        gradient_magnitude_dask(lazy, SPACING, "gaussian")
    with pytest.raises(GradientToolsError, match="spacing"):
        gradient_magnitude_dask(lazy, (1, 0, 1))
    with pytest.raises(GradientToolsError, match="real numbers"):
        gradient_magnitude_dask(da.from_array(volume.astype(complex)), SPACING)
    with pytest.raises(GradientToolsError, match="3-D"):
        gradient_magnitude_dask(da.from_array(volume[None]), SPACING)


def test_mismatched_chunking_is_refused_before_writing(volume, tmp_path):
    """Blocks that straddle the store's chunks would overwrite each other's voxels when written in
    parallel: refused with a message saying how to rechunk."""
    lazy = gradient_magnitude_dask(da.from_array(volume, chunks=(35, 45, 55)), SPACING)
    with pytest.raises(GradientToolsError, match="mismatched chunking.*rechunk"):
        with zarr_volume_output(str(tmp_path / "out.zarr"), volume.shape, (32, 32, 32), spacing=SPACING,
                                origin=(0, 0, 0)) as target:
            store_dask_volume(lazy, target)
    assert not (tmp_path / "out.zarr").exists() and list(tmp_path.iterdir()) == []
    check_block_alignment(lazy.rechunk(32), (32, 32, 32))


def test_missing_extra_is_one_clear_line(monkeypatch, volume):
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(GradientToolsError, match=r"extra 'big' \(pip install 'gradienttools\[big\]'\)"):
        gradient_magnitude_dask(volume, SPACING)


def test_zarr_round_trip_on_a_local_cluster(volume, tmp_path, dask_cluster):
    """OME-Zarr in (micrometres, translation), computed by two worker processes that read and write
    the store themselves, OME-Zarr out with the same axes and transformations; values identical."""
    source = tmp_path / "in.ome.zarr"
    group = zarr_group_with_level(source, volume, (24, 45, 55))
    axes = [{"name": n, "type": "space", "unit": "micrometer"} for n in "zyx"]
    scale, translation = [1300.0, 900.0, 700.0], [5.0, -3.0, 2.5]
    group.attrs["multiscales"] = [{"version": "0.4", "axes": axes, "datasets": [
        {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": scale},
                                                    {"type": "translation", "translation": translation}]}]}]
    opened = open_zarr_volume(str(source))
    np.testing.assert_allclose(opened.spacing, SPACING, rtol=1e-12)        # micrometres -> mm, I,J,K
    lazy = gradient_magnitude_dask(da.from_array(opened.array, chunks=opened.array.chunks), opened.spacing)
    target = tmp_path / "out.zarr"
    seen = []
    with zarr_volume_output(str(target), volume.shape, opened.array.chunks, spacing=opened.spacing,
                            origin=opened.origin, like=opened) as out:
        maximum = store_dask_volume(lazy, out, scheduler=dask_cluster,
                                    progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0 and seen == sorted(seen)
    written = open_zarr_volume(str(target))
    assert written.axes == axes and written.scale == scale and written.translation == translation
    expected = gradient_magnitude(volume, opened.spacing)
    np.testing.assert_array_equal(np.asarray(written.array), expected)
    assert maximum == float(expected.max())
