"""Opacity suggestions on memory-mapped volumes: the noise sample reads only the blocks it draws."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import SimpleITK as sitk
from support import counting_zarr_array, file_pages_read, run_cli, zarr_group_with_level

from GradientToolsLib.image import _slabs
from GradientToolsLib.image.opacity import suggest_gradient_opacity
from GradientToolsLib.image.raw_volumes import open_raw_volume
from GradientToolsLib.image.volume_sources import open_volume, value_range
from GradientToolsLib.image.zarr_volumes import ZarrVolumeArray


def _ct_like(path, shape=(256, 256, 256)):
    rng = np.random.default_rng(11)
    volume = np.full(shape, -1000, dtype=np.int16)
    k, j, i = (n // 8 for n in shape)
    volume[k:7 * k, j:7 * j, i:7 * i] = 40
    volume[3 * k:5 * k, 3 * j:5 * j, 3 * i:5 * i] = 700
    volume += (rng.standard_normal(shape, dtype=np.float32) * 20).astype(np.int16)
    image = sitk.GetImageFromArray(volume)
    image.SetSpacing((0.5, 0.5, 1.25))
    sitk.WriteImage(image, str(path))
    return volume


class RecordingView(ZarrVolumeArray):
    """A zarr view that records how many voxels each of its reads returns."""

    def __getitem__(self, index):
        result = super().__getitem__(index)
        self.__dict__.setdefault("sizes", []).append(int(np.size(result)))
        return result


def _suggest_counting_pages(folder, known, random_access=True):
    """The suggestion on ``folder/ct.nhdr`` memory-mapped, with the pages of ct.raw it read."""
    mapped = open_raw_volume(str(folder / "ct.nhdr"), random_access=random_access)
    return file_pages_read(folder / "ct.raw", lambda: suggest_gradient_opacity(mapped, scalar_range=known))


def test_the_noise_sample_reads_only_its_blocks(tmp_path):
    """suggest_gradient_opacity on a memory map opened for random access, the range given: the
    pages read from the file (page cache counted with mincore after dropping it) are those of the
    sampled blocks, about as many on a volume 4 times larger and a small share of it; the
    suggestion equals the in-memory one. (A map that reads ahead reads much more.)"""
    reads = {}
    for shape in ((256, 256, 256), (1024, 256, 256)):
        in_memory = _ct_like(tmp_path / "ct.nhdr", shape)
        known = (float(in_memory.min()), float(in_memory.max()))
        suggestion, read, pages = _suggest_counting_pages(tmp_path, known)
        reference = suggest_gradient_opacity(in_memory, (0.5, 0.5, 1.25))
        assert suggestion.points == reference.points and suggestion.scalar_range == reference.scalar_range
        assert suggestion.details == reference.details
        reads[shape[0]] = (read, pages, suggestion.details["blocks_examined"])
    (small, _, blocks), (large, pages, large_blocks) = reads[256], reads[1024]
    assert blocks == large_blocks == 1024, reads
    # each 4^3 block and its halo: 6 slices, 6 rows of 512 bytes each (one or two 4 kB pages)
    assert large <= blocks * 6 * 2 and large < 0.35 * pages and large < 2 * small, reads
    _, read_ahead, _ = _suggest_counting_pages(tmp_path, known, random_access=False)
    assert read_ahead > 2 * large, (read_ahead, large)


def test_a_zarr_view_is_read_only_at_its_sampled_chunks_and_slab_by_slab(tmp_path, monkeypatch):
    """On a zarr view the sample reads the chunks its blocks fall in; the range pass reads every
    chunk once, slab by slab (never the whole array at once); results equal the in-memory ones."""
    pytest.importorskip("zarr", reason="needs the 'big' extra (dask, distributed, zarr)")
    volume = _ct_like(tmp_path / "ct.nhdr", (160, 192, 192))
    zarr_group_with_level(tmp_path / "ct.zarr", volume, (32, 32, 32), zarr_format=3)
    counted, reads = counting_zarr_array(tmp_path / "ct.zarr" / "0")
    lazy = ZarrVolumeArray(counted)
    reference = suggest_gradient_opacity(volume, (0.5, 0.5, 1.25))
    known = (float(volume.min()), float(volume.max()))
    sampled = suggest_gradient_opacity(lazy, scalar_range=known)
    chunks = 5 * 6 * 6
    assert sampled.points == reference.points and sampled.details == reference.details
    assert 0 < len(reads) <= chunks, len(reads)
    monkeypatch.setattr(_slabs, "READ_SLAB_BYTES", 1 << 20)
    recording = RecordingView(counted)
    whole = suggest_gradient_opacity(recording)
    assert whole.points == reference.points and whole.scalar_range == reference.scalar_range
    assert max(recording.sizes) < volume.size / 4, "the range pass read the array whole"


def test_opacity_command_opens_raw_volumes_memory_mapped(tmp_path):
    """``gradienttools opacity`` maps a raw .nhdr (open_volume) and gives the suggestion it gives
    for the same voxels read whole from a compressed NRRD."""
    _ct_like(tmp_path / "ct.nhdr", shape=(48, 64, 64))
    volume = open_volume(str(tmp_path / "ct.nhdr"))
    assert isinstance(volume.array, np.memmap) and not volume.array.flags.writeable
    sitk.WriteImage(sitk.ReadImage(str(tmp_path / "ct.nhdr")), str(tmp_path / "ct.nrrd"), True)
    mapped = run_cli("opacity", tmp_path / "ct.nhdr", "--json")
    whole = run_cli("opacity", tmp_path / "ct.nrrd", "--json")
    assert mapped.code == 0 and whole.code == 0, mapped.err + whole.err
    assert json.loads(mapped.out)["points"] == json.loads(whole.out)["points"]
    if importlib.util.find_spec("zarr") is not None:      # and a zarr store read by chunk
        voxels = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "ct.nrrd")))
        zarr_group_with_level(tmp_path / "ct.zarr", voxels, (16, 32, 32))
        chunked = run_cli("opacity", tmp_path / "ct.zarr" / "0", "--json")
        assert chunked.code == 0, chunked.err
        assert json.loads(chunked.out)["points"] == json.loads(whole.out)["points"]


def test_value_range_from_header_fields(tmp_path):
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    (tmp_path / "r.raw").write_bytes(data.tobytes())
    (tmp_path / "r.nhdr").write_text("NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nendian: little\n"
                                     "encoding: raw\nmin: -5\nmax: 99\ndata file: r.raw\n")
    (tmp_path / "m.mha").write_bytes(b"ObjectType = Image\nNDims = 3\nDimSize = 4 3 2\n"
                                     b"ElementType = MET_SHORT\nElementMin = -7\nElementMax = 50\n"
                                     b"ElementDataFile = LOCAL\n"
                                     + data.tobytes())
    from GradientToolsLib.image.volume_sources import describe_volume

    assert value_range(describe_volume(str(tmp_path / "r.nhdr"))) == ((-5.0, 99.0), "header")
    assert value_range(describe_volume(str(tmp_path / "m.mha"))) == ((-7.0, 50.0), "header")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "m.mha"))), data)
    (tmp_path / "n.nhdr").write_text((tmp_path / "r.nhdr").read_text().replace("min: -5\nmax: 99\n", ""))
    assert value_range(describe_volume(str(tmp_path / "n.nhdr"))) == ((0.0, 23.0), "voxels")
