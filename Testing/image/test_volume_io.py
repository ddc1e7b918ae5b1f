"""volume_io: geometry and values through SimpleITK files, Slicer's IJKToRAS, and clear errors."""

from __future__ import annotations

import os

import numpy as np
import pytest
import SimpleITK as sitk
from scipy.spatial.transform import Rotation

from GradientToolsLib.errors import GradientToolsError
from GradientToolsLib.image.volume_io import Volume, check_output_path, read_volume, write_volume

DIRECTION = Rotation.from_euler("xyz", [0.3, -0.2, 0.7]).as_matrix()


@pytest.fixture
def volume(rng):
    array = rng.integers(-1000, 2000, size=(4, 5, 6)).astype(np.int16)
    return Volume(array, (0.7, 1.1, 2.3), (10.1, -20.7, 33.3), DIRECTION)


@pytest.mark.parametrize("suffix,tol", [(".nrrd", 1e-14), (".mha", 1e-14), (".nii", 1e-6), (".nii.gz", 1e-6)])
def test_round_trip(tmp_path, volume, suffix, tol):
    path = tmp_path / ("v" + suffix)
    assert write_volume(path, volume) == str(path)
    back = read_volume(path)
    assert back.array.dtype == np.int16
    np.testing.assert_array_equal(back.array, volume.array)
    np.testing.assert_allclose(back.spacing, volume.spacing, rtol=tol)
    np.testing.assert_allclose(back.origin, volume.origin, rtol=tol, atol=tol)
    np.testing.assert_allclose(back.direction, DIRECTION, atol=tol)
    assert [p for p in os.listdir(tmp_path) if p.startswith(".tmp")] == []


def test_array_layout_and_geometry_match_simpleitk(tmp_path, volume):
    path = tmp_path / "v.nrrd"
    write_volume(path, volume)
    image = sitk.ReadImage(str(path))
    assert image.GetSize() == (6, 5, 4)                      # I, J, K
    assert image.GetPixel(5, 1, 2) == volume.array[2, 1, 5]
    # IJK -> LPS against SimpleITK, and Slicer's IJKToRAS flips the first two world axes
    index = (5, 1, 2)
    lps = image.TransformIndexToPhysicalPoint(index)
    np.testing.assert_allclose(volume.ijk_to_lps() @ (*index, 1), (*lps, 1), atol=1e-12)
    np.testing.assert_allclose(volume.ijk_to_ras() @ (*index, 1), (-lps[0], -lps[1], lps[2], 1), atol=1e-12)


def test_array_with_geometry_from_like_or_keywords(tmp_path, volume):
    path = tmp_path / "f.mha"
    data = np.linspace(0, 1, volume.array.size, dtype=np.float32).reshape(volume.array.shape)
    write_volume(path, data, like=volume)
    back = read_volume(path)
    assert back.array.dtype == np.float32 and back.spacing == pytest.approx(volume.spacing)
    write_volume(path, data, spacing=(2, 3, 4), origin=(1, 2, 3))
    back = read_volume(path)
    assert back.spacing == pytest.approx((2, 3, 4)) and np.allclose(back.origin, (1, 2, 3))
    np.testing.assert_array_equal(back.direction, np.eye(3))
    np.testing.assert_array_equal(volume.with_array(data).array, data)
    with pytest.raises(GradientToolsError, match="shape"):
        volume.with_array(data[:1])


def test_two_dimensional_image_reads_as_one_slice(tmp_path):
    image = sitk.GetImageFromArray(np.arange(12, dtype=np.uint8).reshape(3, 4))
    image.SetSpacing((0.5, 0.25))
    sitk.WriteImage(image, str(tmp_path / "plane.nrrd"))
    back = read_volume(tmp_path / "plane.nrrd")
    assert back.array.shape == (1, 3, 4) and back.spacing == (0.5, 0.25, 1.0)


def test_read_errors_name_the_file(tmp_path):
    garbage = tmp_path / "garbage.nrrd"
    garbage.write_text("hello")
    vector = tmp_path / "vector.nrrd"
    sitk.WriteImage(sitk.Image([4, 5, 6], sitk.sitkVectorFloat32, 3), str(vector))
    four = tmp_path / "four.nrrd"
    sitk.WriteImage(sitk.Image([4, 5, 6, 2], sitk.sitkFloat32), str(four))
    for path, message in ((tmp_path / "missing.nrrd", "not found"), (garbage, "cannot read"),
                          (vector, "components"), (four, "4-D"), (tmp_path, "folder")):
        with pytest.raises(GradientToolsError, match=message) as info:
            read_volume(path)
        assert str(path) in str(info.value)


def test_write_errors_leave_nothing_behind(tmp_path, volume):
    for path, message in ((tmp_path / "v.png", "unsupported"),
                          (tmp_path / "no" / "v.nrrd", "does not exist")):
        with pytest.raises(GradientToolsError, match=message):
            write_volume(path, volume)
        with pytest.raises(GradientToolsError, match=message):
            check_output_path(path)
    with pytest.raises(GradientToolsError, match="singular"):
        write_volume(tmp_path / "v.nrrd", volume.array, direction=np.zeros((3, 3)))
    with pytest.raises(GradientToolsError, match="positive"):
        write_volume(tmp_path / "v.nrrd", volume.array, spacing=(1, 0, 1))
    with pytest.raises(GradientToolsError, match="3-D"):
        write_volume(tmp_path / "v.nrrd", np.zeros((2, 2, 2, 2)))
    assert os.listdir(tmp_path) == []
