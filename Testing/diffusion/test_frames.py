"""Frame conversions against MRtrix3's own (mrinfo -fslgrad / -grad with -export_grad_*) on oblique images."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from support import oblique_nifti, require_tool

from GradientToolsLib.diffusion.frames import (
    FrameError,
    convert_frame,
    image_to_scanner,
    logical_to_scanner,
    scanner_to_image,
    voxel_rotation,
)
from GradientToolsLib.diffusion.scheme import GradientScheme
from GradientToolsLib.errors import GradientToolsError


def _random_scheme(rng, m=24, frame="image"):
    v = rng.normal(size=(m, 3))
    v /= np.linalg.norm(v, axis=1)[:, None]
    v[[0, 9]] = 0.0
    b = np.where(np.linalg.norm(v, axis=1) > 0, 1000.0, 0.0)
    b[1::3] *= 2
    return GradientScheme(b, v, frame)


@pytest.mark.parametrize("determinant", [1, -1])
def test_fsl_to_scanner_equals_mrinfo(tmp_path, rng, determinant):
    mrinfo = require_tool("mrinfo")
    scheme = _random_scheme(rng)
    affine = oblique_nifti(tmp_path / "dwi.nii", scheme.n, determinant)
    np.savetxt(tmp_path / "dwi.bvec", scheme.bvecs.T, fmt="%.10f")
    np.savetxt(tmp_path / "dwi.bval", scheme.bvals[None], fmt="%g")
    subprocess.run([mrinfo, str(tmp_path / "dwi.nii"), "-fslgrad", str(tmp_path / "dwi.bvec"),
                    str(tmp_path / "dwi.bval"), "-export_grad_mrtrix", str(tmp_path / "out.b"), "-quiet"],
                   check=True)
    theirs = np.loadtxt(tmp_path / "out.b")
    ours = convert_frame(scheme, "scanner", reference=affine)
    assert ours.frame == "scanner"
    assert np.abs(ours.bvecs - theirs[:, :3]).max() < 1e-5
    assert np.allclose(ours.bvals, theirs[:, 3], atol=1e-3)


@pytest.mark.parametrize("determinant", [1, -1])
def test_scanner_to_fsl_equals_mrinfo(tmp_path, rng, determinant):
    mrinfo = require_tool("mrinfo")
    scheme = _random_scheme(rng, frame="scanner")
    affine = oblique_nifti(tmp_path / "dwi.nii", scheme.n, determinant, angles=(-0.7, 0.1, 0.45))
    np.savetxt(tmp_path / "in.b", np.column_stack([scheme.bvecs, scheme.bvals]), fmt="%.10f")
    subprocess.run([mrinfo, str(tmp_path / "dwi.nii"), "-grad", str(tmp_path / "in.b"), "-export_grad_fsl",
                    str(tmp_path / "out.bvec"), str(tmp_path / "out.bval"), "-quiet"], check=True)
    theirs = np.loadtxt(tmp_path / "out.bvec").T
    ours = convert_frame(scheme, "image", reference=affine)
    assert np.abs(ours.bvecs - theirs).max() < 1e-5
    assert np.allclose(np.loadtxt(tmp_path / "out.bval"), scheme.bvals)


def test_the_x_flip_follows_the_determinant(rng):
    g = rng.normal(size=(5, 3))
    ras = np.diag([2.0, 2.0, 2.0])  # RAS storage, det > 0: FSL negates x
    las = np.diag([-2.0, 2.0, 2.0])  # LAS (FSL's radiological storage), det < 0: no flip
    # the same physical image stored both ways gives the same bvecs (that is FSL's convention)
    assert np.allclose(scanner_to_image(g, ras), scanner_to_image(g, las))
    assert np.allclose(scanner_to_image(g, ras), g * [-1, 1, 1])
    assert np.allclose(image_to_scanner(scanner_to_image(g, ras), ras), g)


def test_voxel_rotation_drops_spacing_and_translation():
    r = Rotation.from_rotvec([0.2, 0.4, -0.3]).as_matrix()
    affine = np.eye(4)
    affine[:3, :3] = r @ np.diag([0.5, 1.0, 4.0])
    affine[:3, 3] = [100, 200, 300]
    assert np.allclose(voxel_rotation(affine), r)
    with pytest.raises(GradientToolsError, match="singular"):
        voxel_rotation([[1, 1, 0], [1, 1, 0], [0, 0, 1]])
    with pytest.raises(GradientToolsError, match="3x3 or 4x4"):
        voxel_rotation(np.eye(2))


def test_conversions_keep_angles_and_b0s(rng):
    scheme = _random_scheme(rng)
    affine = np.diag([-1.5, 1.5, 3.0, 1.0])
    out = convert_frame(scheme, "scanner", reference=affine)
    assert np.allclose(out.bvecs @ out.bvecs.T, scheme.bvecs @ scheme.bvecs.T)
    assert np.array_equal(np.linalg.norm(out.bvecs, axis=1) == 0, np.linalg.norm(scheme.bvecs, axis=1) == 0)
    axes = Rotation.from_rotvec([0.1, 0.2, 0.3]).as_matrix()  # read, phase, slice in RAS
    logical = convert_frame(out, "logical", logical_axes=axes)
    assert np.allclose(logical_to_scanner(logical.bvecs, axes), out.bvecs)
    again = convert_frame(logical, "image", reference=affine, logical_axes=axes)
    assert np.allclose(again.bvecs, scheme.bvecs)


def test_missing_matrices_are_named(rng):
    scheme = _random_scheme(rng)
    with pytest.raises(FrameError, match="--reference IMAGE"):
        convert_frame(scheme, "scanner")
    with pytest.raises(FrameError, match="--keep-vectors"):
        convert_frame(scheme.with_frame("scanner"), "logical")
    with pytest.raises(GradientToolsError, match="orthogonal"):
        convert_frame(scheme.with_frame("scanner"), "logical", logical_axes=[[1, 0, 0], [1, 1, 0], [0, 0, 1]])
    with pytest.raises(GradientToolsError, match="unknown frame"):
        convert_frame(scheme, "world")
