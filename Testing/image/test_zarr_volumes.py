"""zarr stores: OME-Zarr 0.4/0.5 metadata, plain arrays, the lazy K,J,I view and bad stores."""

from __future__ import annotations

import numpy as np
import pytest
from support import counting_zarr_array, zarr_group_with_level

zarr = pytest.importorskip("zarr", reason="needs the 'big' extra (dask, distributed, zarr)")

from GradientToolsLib.errors import GradientToolsError  # noqa: E402
from GradientToolsLib.image.volume_sources import ZARR, describe_volume, value_range  # noqa: E402
from GradientToolsLib.image.zarr_volumes import (  # noqa: E402
    ZarrVolumeArray,
    open_zarr_volume,
    zarr_volume_output,
)

ZARR3 = int(zarr.__version__.split(".")[0]) >= 3


def _axes(names="zyx", unit="micrometer"):
    types = {"t": "time", "c": "channel"}
    return [{"name": n, "type": types.get(n, "space"), **({"unit": unit} if n in "zyx" else {})}
            for n in names]


def ome_store(path, array, *, names="zyx", scale=None, translation=None, version="0.4", unit="micrometer",
              chunks=None, extra=None):
    group = zarr_group_with_level(path, array, chunks or array.shape, 3 if version == "0.5" else 2)
    transforms = [{"type": "scale", "scale": scale or [1.0] * array.ndim}]
    if translation is not None:
        transforms.append({"type": "translation", "translation": translation})
    multiscale = {"axes": _axes(names, unit),
                  "datasets": [{"path": "0", "coordinateTransformations": transforms}]}
    multiscale.update(extra or {})
    if version == "0.5":
        group.attrs["ome"] = {"version": "0.5", "multiscales": [multiscale]}
    else:
        multiscale["version"] = version
        group.attrs["multiscales"] = [multiscale]
    return group


@pytest.mark.skipif(not ZARR3, reason="OME-Zarr 0.5 needs zarr format 3 (zarr >= 3)")
def test_ome_zarr_05_with_time_and_channel_axes_of_one(tmp_path, rng):
    data = rng.normal(size=(1, 1, 6, 7, 8)).astype(np.float32)
    ome_store(tmp_path / "v.zarr", data, names="tczyx", scale=[1.0, 1.0, 2.0, 0.5, 0.25],
              translation=[0, 0, 10.0, 20.0, 30.0], version="0.5", unit="millimeter")
    volume = open_zarr_volume(str(tmp_path / "v.zarr"))
    assert volume.ome == "0.5" and volume.zarr_format == 3 and volume.array.shape == (6, 7, 8)
    assert volume.spacing == (0.25, 0.5, 2.0)
    np.testing.assert_array_equal(volume.origin, [30.0, 20.0, 10.0])
    np.testing.assert_array_equal(np.asarray(volume.array), data[0, 0])


def test_multiscale_transformations_apply_after_the_datasets(tmp_path, rng):
    data = rng.normal(size=(4, 5, 6)).astype(np.float32)
    ome_store(tmp_path / "v.zarr", data, scale=[2.0, 3.0, 4.0], translation=[1.0, 1.0, 1.0], unit="nanometer",
              extra={"coordinateTransformations": [{"type": "scale", "scale": [10.0, 10.0, 10.0]}]})
    volume = open_zarr_volume(str(tmp_path / "v.zarr"))
    np.testing.assert_allclose(volume.spacing, (4e-5, 3e-5, 2e-5), rtol=1e-12)     # nm -> mm
    np.testing.assert_allclose(volume.origin, (1e-5, 1e-5, 1e-5), rtol=1e-12)


def test_view_indexing_equals_numpy_and_reads_only_touched_chunks(tmp_path, rng):
    data = rng.normal(size=(40, 40, 40)).astype(np.float32)
    ome_store(tmp_path / "v.zarr", data, chunks=(10, 10, 10))
    view = open_zarr_volume(str(tmp_path / "v.zarr")).array
    assert isinstance(view, ZarrVolumeArray) and view.chunks == (10, 10, 10)
    cases = [np.s_[3:7, 12, ::3], np.s_[..., 5], np.ix_([1, 2, 33], [4, 5], [6, 7, 8, 39]),
             (np.array([1, 2]), np.array([3, 4]), np.array([5, 39])), np.s_[np.array([2, 30]), 1:4, :]]
    for index in cases:
        np.testing.assert_array_equal(view[index], data[index])
    if not ZARR3:
        return
    counted, reads = counting_zarr_array(tmp_path / "v.zarr" / "0")
    lazy = ZarrVolumeArray(counted)
    reads.clear()
    block = lazy[np.ix_(np.arange(11, 19), np.arange(1, 9), np.arange(21, 29))]   # inside one chunk
    np.testing.assert_array_equal(block, data[11:19, 1:9, 21:29])
    assert len(reads) == 1                                      # of 64 chunks


def test_value_range_from_the_omero_window_or_one_pass(tmp_path, rng):
    data = rng.normal(size=(6, 7, 8)).astype(np.float32)
    group = ome_store(tmp_path / "w.zarr", data)
    group.attrs["omero"] = {"channels": [{"window": {"min": -5.0, "max": 9.0, "start": 0, "end": 1}}]}
    assert value_range(describe_volume(str(tmp_path / "w.zarr"))) == ((-5.0, 9.0), "header")
    ome_store(tmp_path / "n.zarr", data)
    (lo, hi), how = value_range(describe_volume(str(tmp_path / "n.zarr")))
    assert how == "voxels" and (lo, hi) == (float(data.min()), float(data.max()))


def test_bad_stores(tmp_path, rng):
    data = rng.normal(size=(3, 6, 7, 8)).astype(np.float32)
    plain = zarr.open_array(str(tmp_path / "plain.zarr"), mode="w", shape=(6, 7, 8), dtype="f4")
    cases = {
        "without geometry: give the voxel spacing": str(tmp_path / "plain.zarr"),
        "several volumes": tmp_path / "c.zarr",
        "4 axes in the metadata but level 0 has 3": tmp_path / "m.zarr",
        "unknown space unit": tmp_path / "u.zarr",
        "zarr store not found": str(tmp_path / "missing.zarr"),
    }
    ome_store(tmp_path / "c.zarr", data, names="czyx")
    ome_store(tmp_path / "u.zarr", data[0], unit="furlong")
    group = ome_store(tmp_path / "m.zarr", data[0], names="zyx", scale=[1, 1, 1])
    attrs = dict(group.attrs)
    attrs["multiscales"][0]["axes"] = _axes("tzyx")
    group.attrs.update(attrs)
    for message, path in cases.items():
        with pytest.raises(GradientToolsError, match=message):
            open_zarr_volume(str(path))
    assert describe_volume(str(tmp_path / "plain.zarr"), spacing=(1, 2, 3)).kind == ZARR
    assert plain.shape == (6, 7, 8)
    ome_store(tmp_path / "s.zarr", data[0], scale=[1000.0, 1000.0, 1000.0])
    with pytest.raises(GradientToolsError, match="disagrees"):
        open_zarr_volume(str(tmp_path / "s.zarr"), spacing=(2, 2, 2))


def test_output_replaces_a_zarr_store_but_nothing_else(tmp_path):
    target = tmp_path / "out.zarr"
    for _ in range(2):
        with zarr_volume_output(str(target), (2, 3, 4), (2, 3, 4), spacing=(1, 1, 1),
                                origin=(0, 0, 0)) as out:
            out[...] = 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zarr"]
    other = tmp_path / "folder.zarr"
    other.mkdir()
    (other / "precious.txt").write_text("keep")
    with pytest.raises(GradientToolsError, match="not a zarr store"):
        with zarr_volume_output(str(other), (2, 3, 4), (2, 3, 4), spacing=(1, 1, 1), origin=(0, 0, 0)):
            pass
    assert (other / "precious.txt").read_text() == "keep"
