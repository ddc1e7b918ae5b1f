"""``gradienttools magnitude``: geometry and values round trip, units, and bad input."""

from __future__ import annotations

import os

import numpy as np
import pytest
import SimpleITK as sitk
from references import vtk_gradient_magnitude
from scipy.spatial.transform import Rotation
from support import run_cli

from GradientToolsLib.image.phantoms import ct_phantom

SPACING = (0.62, 0.81, 1.7)
ORIGIN = (-120.25, 33.5, 410.125)
DIRECTION = Rotation.from_euler("zyx", [23.0, -11.0, 7.5], degrees=True).as_matrix()


def write_oblique(path, array):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(SPACING)
    image.SetOrigin(ORIGIN)
    image.SetDirection(tuple(DIRECTION.reshape(-1)))
    sitk.WriteImage(image, str(path))
    return image


@pytest.fixture(scope="module")
def phantom():
    image, _ = ct_phantom((24, 40, 36), spacing=SPACING, noise_std=20)
    return image


@pytest.mark.parametrize("suffix", [".nrrd", ".mha", ".nii.gz"])
def test_round_trip_keeps_geometry_and_values(tmp_path, phantom, suffix):
    source = tmp_path / ("ct" + suffix)
    target = tmp_path / ("grad" + suffix)
    written = write_oblique(source, phantom)
    done = run_cli("magnitude", source, target)
    assert done.code == 0 and "wrote" in done.out
    result = sitk.ReadImage(str(target))
    reread = sitk.ReadImage(str(source))       # NIfTI stores geometry in single precision
    assert result.GetPixelID() == sitk.sitkFloat32
    assert result.GetSize() == written.GetSize()
    np.testing.assert_array_equal(result.GetSpacing(), reread.GetSpacing())
    np.testing.assert_array_equal(result.GetOrigin(), reread.GetOrigin())
    # NRRD stores direction * spacing, so a write/read cycle may move the last bit
    np.testing.assert_allclose(result.GetDirection(), reread.GetDirection(), rtol=0, atol=1e-15)
    if suffix != ".nii.gz":
        np.testing.assert_allclose(result.GetSpacing(), SPACING, rtol=1e-14)
        np.testing.assert_allclose(result.GetOrigin(), ORIGIN, rtol=1e-14)
        np.testing.assert_allclose(np.reshape(result.GetDirection(), (3, 3)), DIRECTION, atol=1e-15)
    values = sitk.GetArrayFromImage(result)
    np.testing.assert_allclose(values, vtk_gradient_magnitude(phantom, reread.GetSpacing()),
                               rtol=2e-6, atol=1e-4)


def test_voxel_units_are_the_renderers_units(tmp_path, phantom):
    source, target = tmp_path / "ct.nrrd", tmp_path / "grad.nrrd"
    write_oblique(source, phantom)
    assert run_cli("magnitude", source, target, "--units", "voxel").code == 0
    values = sitk.GetArrayFromImage(sitk.ReadImage(str(target)))
    np.testing.assert_allclose(values, vtk_gradient_magnitude(phantom, (1, 1, 1)), rtol=2e-6, atol=1e-4)


def test_gaussian_and_sobel_methods(tmp_path, phantom):
    source = tmp_path / "ct.nrrd"
    write_oblique(source, phantom)
    maxima = {}
    for method, extra in (("central", []), ("sobel", []), ("gaussian", ["--sigma", "1.5"])):
        target = tmp_path / f"{method}.nrrd"
        assert run_cli("magnitude", source, target, "--method", method, *extra).code == 0
        maxima[method] = float(sitk.GetArrayFromImage(sitk.ReadImage(str(target))).max())
    # smoothing lowers the peak of step edges
    assert maxima["gaussian"] < maxima["sobel"] < maxima["central"]


def _bad_cases(tmp_path, phantom):
    good = tmp_path / "ct.nrrd"
    write_oblique(good, phantom)
    vector = tmp_path / "vector.nrrd"
    sitk.WriteImage(sitk.Image([5, 6, 7], sitk.sitkVectorFloat32, 3), str(vector))
    garbage = tmp_path / "garbage.nrrd"
    garbage.write_text("not an image\n")
    four_d = tmp_path / "four.nrrd"
    sitk.WriteImage(sitk.Image([4, 5, 6, 3], sitk.sitkInt16), str(four_d))
    out = str(tmp_path / "out.nrrd")
    return {
        "unknown method": [str(good), out, "--method", "laplace"],
        "missing sigma": [str(good), out, "--method", "gaussian"],
        "negative sigma": [str(good), out, "--method", "gaussian", "--sigma", "-1"],
        "sigma without gaussian": [str(good), out, "--sigma", "1"],
        "missing input": [str(tmp_path / "nope.nrrd"), out],
        "garbage input": [str(garbage), out],
        "vector image": [str(vector), out],
        "4-D image": [str(four_d), out],
        "unsupported format": [str(good), str(tmp_path / "out.png")],
        "unwritable output": [str(good), str(tmp_path / "no-such-folder" / "out.nrrd")],
        "bad units": [str(good), out, "--units", "inch"],
    }


def test_bad_input_exit_2_one_line_no_output(tmp_path, phantom):
    for name, argv in _bad_cases(tmp_path, phantom).items():
        before = set(os.listdir(tmp_path))
        done = run_cli("magnitude", *argv)
        assert done.code == 2, name
        lines = done.err.strip().splitlines()
        assert len(lines) == 1 and "error" in lines[0], (name, done.err)
        assert "Traceback" not in done.err
        assert set(os.listdir(tmp_path)) == before, name          # no output, no temporary file


def test_subprocess_error_has_no_traceback_and_leaves_no_file(tmp_path, phantom):
    source = tmp_path / "ct.nrrd"
    write_oblique(source, phantom)
    target = tmp_path / "out.nii"
    completed = run_cli("magnitude", source, target, "--method", "gaussian", process=True)
    assert completed.code == 2
    assert completed.err.count("\n") == 1 and "Traceback" not in completed.err
    assert not target.exists()
    ok = run_cli("magnitude", source, target, process=True)
    assert ok.code == 0 and target.exists()


def test_help_explains_units():
    done = run_cli("magnitude", "--help")
    assert done.code == 0
    text = done.out
    assert "per millimetre" in text and "voxel step" in text and "GPU" in text
