"""Raw NRRD and MetaImage headers and memory maps, against SimpleITK (ITK's readers and writers),
VTK's MetaImage reader and Slicer's own volume storage node (slicer-core)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import SimpleITK as sitk
from scipy.spatial.transform import Rotation

from GradientToolsLib.errors import GradientToolsError
from GradientToolsLib.image.raw_headers import read_header
from GradientToolsLib.image.raw_volumes import (
    RawFileArray,
    open_raw_volume,
    raw_volume_output,
    refuse_overwriting_volume_inputs,
)
from GradientToolsLib.image.volume_io import Volume
from GradientToolsLib.image.volume_sources import IN_MEMORY, MEMORY_MAPPED, describe_volume

SPACING = (0.62, 0.81, 1.7)
ORIGIN = (-120.25, 33.5, 410.125)
DIRECTION = Rotation.from_euler("zyx", [23.0, -11.0, 7.5], degrees=True).as_matrix()
TYPES = [np.uint8, np.int16, np.uint16, np.int32, np.float32, np.float64]


def sitk_image(array, spacing=SPACING, origin=ORIGIN, direction=DIRECTION):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    image.SetDirection(tuple(np.asarray(direction).reshape(-1)))
    return image


def assert_geometry(header, image):
    np.testing.assert_array_equal(header.spacing, image.GetSpacing())
    np.testing.assert_array_equal(header.origin, image.GetOrigin())
    np.testing.assert_allclose(header.direction.reshape(-1), image.GetDirection(), rtol=0, atol=2e-16)


@pytest.mark.parametrize("ending", [".nrrd", ".nhdr", ".mha", ".mhd"])
@pytest.mark.parametrize("dtype", TYPES)
def test_files_simpleitk_writes_map_to_the_same_voxels_and_geometry(tmp_path, rng, ending, dtype):
    array = (rng.normal(size=(5, 6, 7)) * 40).astype(dtype)
    path = str(tmp_path / ("v" + ending))
    sitk.WriteImage(sitk_image(array), path)
    header = read_header(path)
    reread = sitk.ReadImage(path)
    assert header.streamable and header.shape == (5, 6, 7) and header.dtype == np.dtype(dtype)
    assert_geometry(header, reread)
    mapped = open_raw_volume(header)
    assert isinstance(mapped, np.memmap) and not mapped.flags.writeable
    np.testing.assert_array_equal(mapped, sitk.GetArrayFromImage(reread))


@pytest.mark.parametrize("ending", [".nrrd", ".nhdr", ".mha", ".mhd"])
def test_simpleitk_reads_what_we_write(tmp_path, rng, ending):
    array = rng.normal(size=(4, 9, 11)).astype(np.float32)
    path = str(tmp_path / ("out" + ending))
    with raw_volume_output(path, array.shape, SPACING, ORIGIN, DIRECTION) as voxels:
        voxels[...] = array
    assert sorted(os.listdir(tmp_path)) == sorted(["out" + ending] + (["out.raw"] if ending in (
        ".nhdr", ".mhd") else []))
    image = sitk.ReadImage(path)
    assert image.GetPixelID() == sitk.sitkFloat32
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), array)
    np.testing.assert_allclose(image.GetSpacing(), SPACING, rtol=1e-15)
    np.testing.assert_array_equal(image.GetOrigin(), ORIGIN)
    np.testing.assert_allclose(np.reshape(image.GetDirection(), (3, 3)), DIRECTION, atol=2e-16)


def test_a_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with raw_volume_output(str(tmp_path / "out.nhdr"), (2, 3, 4), SPACING, ORIGIN, DIRECTION) as voxels:
            voxels[0] = 1
            raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == []


def test_slicer_storage_node_reads_what_we_write(scene, tmp_path, rng):
    """Slicer's own reader (vtkMRMLVolumeArchetypeStorageNode, through ITK) gives the same voxels
    and the IJK-to-RAS matrix of the geometry we wrote."""
    from vtk.util import numpy_support

    array = rng.normal(size=(4, 9, 11)).astype(np.float32)
    expected = Volume(array, SPACING, ORIGIN, DIRECTION).ijk_to_ras()
    for ending in (".nrrd", ".nhdr", ".mha"):
        path = str(tmp_path / ("slicer" + ending))
        with raw_volume_output(path, array.shape, SPACING, ORIGIN, DIRECTION) as voxels:
            voxels[...] = array
        node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode")
        storage = scene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
        storage.SetFileName(path)
        assert storage.ReadData(node) == 1, ending
        image = node.GetImageData()
        values = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars()).reshape(array.shape)
        np.testing.assert_array_equal(values, array)
        import vtk

        matrix = vtk.vtkMatrix4x4()
        node.GetIJKToRASMatrix(matrix)
        got = np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)])
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_vtk_metaimage_reader_reads_our_mha(tmp_path, rng):
    """VTK's own MetaIO reader (not ITK's) gives the same voxels, spacing and origin."""
    import vtk
    from vtk.util import numpy_support

    array = rng.normal(size=(3, 5, 6)).astype(np.float32)
    path = str(tmp_path / "vtk.mha")
    with raw_volume_output(path, array.shape, SPACING, ORIGIN, np.eye(3)) as voxels:
        voxels[...] = array
    reader = vtk.vtkMetaImageReader()
    reader.SetFileName(path)
    reader.Update()
    image = reader.GetOutput()
    assert image.GetDimensions() == (6, 5, 3)
    np.testing.assert_allclose(image.GetSpacing(), SPACING, rtol=1e-15)
    np.testing.assert_allclose(image.GetOrigin(), ORIGIN, rtol=1e-15)
    values = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars()).reshape(array.shape)
    np.testing.assert_array_equal(values, array)


def _write_nhdr(tmp_path, lines, data: bytes, name="hand"):
    (tmp_path / f"{name}.raw").write_bytes(data)
    path = tmp_path / f"{name}.nhdr"
    path.write_text("\n".join(["NRRD0004"] + lines + [f"data file: {name}.raw"]) + "\n")
    return str(path)


@pytest.mark.parametrize("space", ["right-anterior-superior", "left-anterior-superior",
                                   "left-posterior-superior", "scanner-xyz"])
def test_hand_written_headers_read_as_simpleitk_reads_them(tmp_path, rng, space):
    """Big-endian data, a named space ITK converts (or not), line and byte skips."""
    array = rng.integers(-3000, 3000, size=(3, 4, 5)).astype(">i2")
    preamble = b"comment line\nanother\n" + b"\x00" * 7
    lines = ["type: short", "dimension: 3", f"space: {space}", "sizes: 5 4 3",
             "space directions: (0.5,0.1,0) (0,0.7,0.2) (0.1,0,1.5)", "kinds: domain domain domain",
             "endian: big", "encoding: raw", "space origin: (10.5,-20.25,30)", "line skip: 2",
             "byte skip: 7", "min: -3000", "max: 3000", "# a comment", "key:=value"]
    path = _write_nhdr(tmp_path, lines, preamble + array.tobytes())
    header = read_header(path)
    assert header.value_range == (-3000.0, 3000.0)
    image = sitk.ReadImage(path)
    assert_geometry(header, image)
    np.testing.assert_array_equal(open_raw_volume(header), sitk.GetArrayFromImage(image))


def test_byte_skip_minus_one_and_attached_data(tmp_path, rng):
    array = rng.normal(size=(2, 3, 4)).astype("<f4")
    lines = ["type: float", "dimension: 3", "sizes: 4 3 2", "spacings: 0.5 0.75 2", "endian: little",
             "encoding: raw", "byte skip: -1"]
    path = _write_nhdr(tmp_path, lines, b"some junk before the voxels" + array.tobytes())
    header = read_header(path)
    image = sitk.ReadImage(path)
    assert_geometry(header, image)
    np.testing.assert_array_equal(open_raw_volume(header), array)


def test_truncated_data_is_an_error(tmp_path, rng):
    array = rng.normal(size=(5, 6, 7)).astype(np.float32)
    path = str(tmp_path / "cut.nrrd")
    sitk.WriteImage(sitk_image(array), path)
    with open(path, "r+b") as stream:
        stream.truncate(os.path.getsize(path) - 10)
    with pytest.raises(GradientToolsError, match="truncated"):
        open_raw_volume(path)


def test_compressed_and_multi_file_headers_are_not_streamable(tmp_path, rng):
    array = rng.normal(size=(5, 6, 7)).astype(np.float32)
    for name in ("gz.nrrd", "gz.mha"):
        sitk.WriteImage(sitk_image(array), str(tmp_path / name), True)
        source = describe_volume(str(tmp_path / name))
        assert source.kind == IN_MEMORY and "compressed" in source.reason
        assert source.nbytes == array.nbytes and source.shape == array.shape
    sitk.WriteImage(sitk_image(array), str(tmp_path / "plain.nii"))
    assert describe_volume(str(tmp_path / "plain.nii")).kind == IN_MEMORY
    sitk.WriteImage(sitk_image(array), str(tmp_path / "raw.mha"))
    assert describe_volume(str(tmp_path / "raw.mha")).kind == MEMORY_MAPPED


def test_raw_file_array_reads_only_what_is_indexed_and_pickles(tmp_path, rng):
    import pickle

    array = rng.normal(size=(6, 7, 8)).astype(np.float32)
    path = str(tmp_path / "lazy.mha")
    sitk.WriteImage(sitk_image(array), path)
    lazy = pickle.loads(pickle.dumps(RawFileArray.from_header(read_header(path))))
    assert len(pickle.dumps(lazy)) < 1000
    np.testing.assert_array_equal(lazy[1:3, ::2, 4], array[1:3, ::2, 4])
    index = np.ix_([0, 5], [1, 2, 6], [7])
    np.testing.assert_array_equal(lazy[index], array[index])


def test_outputs_never_overwrite_inputs(tmp_path, rng):
    array = rng.normal(size=(2, 3, 4)).astype(np.float32)
    sitk.WriteImage(sitk_image(array), str(tmp_path / "in.nhdr"))      # in.nhdr + in.raw
    os.link(tmp_path / "in.nhdr", tmp_path / "hard-link.nhdr")
    for output in ("in.nhdr", "in.mhd", "hard-link.nhdr", "./in.raw"):
        with pytest.raises(GradientToolsError, match="is an input"):
            refuse_overwriting_volume_inputs([str(tmp_path / output)], [str(tmp_path / "in.nhdr")])
    refuse_overwriting_volume_inputs([str(tmp_path / "out.nhdr")], [str(tmp_path / "in.nhdr")])


def test_slicer_teem_reader_reads_our_nrrd(offscreen, tmp_path, rng):
    """Slicer's teem-based vtkTeemNRRDReader (its NRRD path without ITK): same voxels, and the
    inverse of its RAS-to-IJK matrix is the geometry we wrote."""
    import slicer
    from vtk.util import numpy_support

    array = rng.normal(size=(4, 9, 11)).astype(np.float32)
    expected = Volume(array, SPACING, ORIGIN, DIRECTION).ijk_to_ras()
    for ending in (".nrrd", ".nhdr"):
        path = str(tmp_path / ("teem" + ending))
        with raw_volume_output(path, array.shape, SPACING, ORIGIN, DIRECTION) as voxels:
            voxels[...] = array
        reader = slicer.vtkTeemNRRDReader()
        reader.SetFileName(path)
        reader.Update()
        matrix = reader.GetRasToIjkMatrix()
        ras_to_ijk = np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)])
        np.testing.assert_allclose(np.linalg.inv(ras_to_ijk), expected, rtol=0, atol=1e-12)
        image = reader.GetOutput()
        values = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars()).reshape(array.shape)
        np.testing.assert_array_equal(values, array)


@pytest.mark.parametrize("spec", ["LIST", "slice%03d.raw 0 3 1"])
def test_every_file_of_a_multi_file_nrrd_is_an_input(tmp_path, rng, spec):
    """A NRRD whose slices are in four files (a LIST, or a format string): ITK reads it as one
    volume, and every one of its files is refused as an output."""
    from GradientToolsLib.image.volume_files import data_files

    array = rng.integers(0, 1000, size=(4, 5, 6)).astype(np.int16)
    names = [f"slice{k:03d}.raw" for k in range(4)]
    for name, plane in zip(names, array):
        (tmp_path / name).write_bytes(plane.astype("<i2").tobytes())
    lines = ["NRRD0004", "type: short", "dimension: 3", "sizes: 6 5 4", "encoding: raw", "endian: little",
             f"data file: {spec}" + (" 2" if "%" in spec else "")]
    (tmp_path / "v.nhdr").write_text("\n".join(lines + (names if spec == "LIST" else [])) + "\n")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "v.nhdr"))), array)
    assert data_files(str(tmp_path / "v.nhdr"))[1:] == [str(tmp_path / n) for n in names]
    for name in names:
        with pytest.raises(GradientToolsError, match="is an input"):
            refuse_overwriting_volume_inputs([str(tmp_path / name)], [str(tmp_path / "v.nhdr")])
