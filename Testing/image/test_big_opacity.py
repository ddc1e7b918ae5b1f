"""Opacity suggestions on memory-mapped volumes: the noise sample reads only the blocks it draws."""

from __future__ import annotations

import json

import numpy as np
import SimpleITK as sitk
from support import run_cli

from GradientToolsLib.image.opacity import suggest_gradient_opacity
from GradientToolsLib.image.raw_headers import read_header
from GradientToolsLib.image.volume_sources import open_volume, value_range


class RecordingMap(np.memmap):
    """A read-only memory map that records how many voxels each index of it selects."""

    def __getitem__(self, index):
        result = super().__getitem__(index)
        if getattr(self, "_records", None) is not None:
            self._records.append(int(np.size(result)))
        return result


def _ct_like(path, shape=(256, 256, 256)):
    rng = np.random.default_rng(11)
    volume = np.full(shape, -1000, dtype=np.int16)
    k, j, i = (n // 8 for n in shape)
    volume[k:7 * k, j:7 * j, i:7 * i] = 40
    volume[3 * k:5 * k, 3 * j:5 * j, 3 * i:5 * i] = 700
    volume = volume + (rng.normal(size=shape) * 20).astype(np.int16)
    image = sitk.GetImageFromArray(volume)
    image.SetSpacing((0.5, 0.5, 1.25))
    sitk.WriteImage(image, str(path))
    return volume


def test_the_noise_sample_indexes_only_its_blocks(tmp_path):
    """suggest_gradient_opacity on a memory map: every voxel it selects by indexing belongs to the
    sampled blocks (well under 2 % of the volume), and the suggestion equals the in-memory one."""
    in_memory = _ct_like(tmp_path / "ct.nhdr")
    header = read_header(str(tmp_path / "ct.nhdr"))
    mapped = RecordingMap(header.data_path, dtype=header.dtype, mode="r", offset=header.offset,
                          shape=header.shape)
    mapped._records = []
    suggestion = suggest_gradient_opacity(mapped, (0.5, 0.5, 1.25))
    records, mapped._records = mapped._records, None
    indexed = sum(records)
    assert 0 < indexed < 0.02 * mapped.size, (indexed, mapped.size, len(records))
    reference = suggest_gradient_opacity(in_memory, (0.5, 0.5, 1.25))
    assert suggestion.points == reference.points and suggestion.scalar_range == reference.scalar_range


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
