"""``gradienttools convert`` and the frames of ``scheme --fixed``, against MRtrix3's mrinfo and dirstat."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest
from support import oblique_nifti, require_tool, run_cli

from GradientToolsLib.diffusion.readers import read_scheme


@pytest.fixture
def protocol(tmp_path):
    """A 30-direction single-shell table with 2 b=0 volumes, in scanner coordinates (dirgen)."""
    dirgen = require_tool("dirgen")
    subprocess.run([dirgen, "30", str(tmp_path / "dirs.txt"), "-cartesian", "-quiet"], check=True)
    dirs = np.loadtxt(tmp_path / "dirs.txt")
    table = np.vstack([[0, 0, 0, 0], [0, 0, 0, 0], np.column_stack([dirs, np.full(30, 1000.0)])])
    table[20:, 3] = 2500.0
    np.savetxt(tmp_path / "proto.b", table, fmt="%.10f")
    return tmp_path / "proto.b"


def _mrinfo(*args):
    subprocess.run([require_tool("mrinfo"), *map(str, args), "-quiet"], check=True)


@pytest.mark.parametrize("determinant", [1, -1])
def test_convert_fsl_to_mrtrix_equals_mrinfo(tmp_path, protocol, determinant):
    oblique_nifti(tmp_path / "dwi.nii", 32, determinant)
    _mrinfo(tmp_path / "dwi.nii", "-grad", protocol, "-export_grad_fsl", tmp_path / "dwi.bvec",
            tmp_path / "dwi.bval")
    code, out, err = run_cli("convert", tmp_path / "dwi.bval", tmp_path / "dwi.bvec", "--reference",
                             tmp_path / "dwi.nii", "--format", "mrtrix", "--output", tmp_path / "ours")
    assert code == 0, err
    assert "image -> scanner" in out
    _mrinfo(tmp_path / "dwi.nii", "-fslgrad", tmp_path / "dwi.bvec", tmp_path / "dwi.bval",
            "-export_grad_mrtrix", tmp_path / "theirs.b")
    ours, theirs = np.loadtxt(tmp_path / "ours.b"), np.loadtxt(tmp_path / "theirs.b")
    assert np.abs(ours[:, :3] - theirs[:, :3]).max() < 1e-5
    assert np.allclose(ours[:, 3], theirs[:, 3], atol=1e-3)
    assert np.abs(ours[:, :3] - np.loadtxt(protocol)[:, :3]).max() < 1e-5  # and back to where we began


@pytest.mark.parametrize("determinant", [1, -1])
def test_convert_mrtrix_to_fsl_equals_mrinfo(tmp_path, protocol, determinant):
    oblique_nifti(tmp_path / "dwi.nii", 32, determinant, angles=(0.6, 0.3, -0.9))
    assert run_cli("convert", protocol, "--reference", tmp_path / "dwi.nii", "--format", "fsl",
                   "--output", tmp_path / "ours").code == 0
    _mrinfo(tmp_path / "dwi.nii", "-grad", protocol, "-export_grad_fsl", tmp_path / "t.bvec",
            tmp_path / "t.bval")
    assert np.abs(np.loadtxt(tmp_path / "ours.bvec") - np.loadtxt(tmp_path / "t.bvec")).max() < 1e-5
    assert np.allclose(np.loadtxt(tmp_path / "ours.bval"), np.loadtxt(tmp_path / "t.bval"))
    # MRtrix reads our FSL pair with that image into the same directions (dirstat on image + FSL files)
    stat = subprocess.run([require_tool("dirstat"), str(tmp_path / "dwi.nii"), "-fslgrad",
                           str(tmp_path / "ours.bvec"), str(tmp_path / "ours.bval"), "-shells", "1000",
                           "-output", "BN-,N"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert int(stat[1]) == 18 and float(stat[0]) > 0


def test_convert_refuses_to_mix_frames_without_reference(tmp_path, protocol):
    code, out, err = run_cli("convert", protocol, "--format", "fsl", "--output", tmp_path / "x", process=True)
    assert code == 2 and "--reference" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and out == ""
    assert sorted(os.listdir(tmp_path)) == ["dirs.txt", "proto.b"]  # nothing written
    oblique_nifti(tmp_path / "short.nii", 5, 1)
    code, _, err = run_cli("convert", protocol, "--format", "fsl", "--reference", tmp_path / "short.nii",
                           "--output", tmp_path / "x")
    assert code == 2 and "5 volumes but the scheme 32" in err
    code, _, err = run_cli("convert", protocol, "--format", "mrtrix", "--output", tmp_path / "proto")
    assert code == 2 and "is an input" in err
    code, _, err = run_cli("convert", protocol, "--format", "ge", "--output", tmp_path / "g")
    assert code == 2 and "--keep-vectors" in err


def test_convert_between_vendor_files(tmp_path, protocol):
    """.b -> Siemens table (device axes), -> GE block and -> .b again with --keep-vectors (the file numbers
    are copied), which dirstat reads."""
    assert run_cli("convert", protocol, "--format", "siemens", "--output", tmp_path / "s").code == 0
    code, out, err = run_cli("convert", tmp_path / "s.dvs", "--b-max", "2500", "--format", "ge",
                             "--keep-vectors", "--output", tmp_path / "g", "--json")
    assert code == 0, err
    assert json.loads(out)["kept_vectors"] and json.loads(out)["to_frame"] == "logical"
    text = (tmp_path / "g.tensor.dat").read_text()
    assert "number of T2 = 2" in text and "number of directions (TENSOR) = 30" in text
    code, _, err = run_cli("convert", tmp_path / "g.tensor.dat", "--b-max", "2500", "--block", "30",
                           "--t2", "2", "--format", "mrtrix", "--keep-vectors", "--output", tmp_path / "back")
    assert code == 0, err
    back = read_scheme(tmp_path / "back.b")
    original = read_scheme(protocol)
    assert np.allclose(back.bvals, original.bvals, atol=0.05)
    table = read_scheme(tmp_path / "s.dvs", b_max=2500)
    assert table.frame == "device" and np.allclose(table.bvecs, original.bvecs * [-1, 1, -1], atol=2e-6)
    assert np.allclose(back.bvecs, table.bvecs, atol=2e-6)  # the device numbers, copied twice
    out = subprocess.run([require_tool("dirstat"), str(tmp_path / "back.b"), "-output", "N"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["18", "12"]  # directions at b=1000 and b=2500 as MRtrix counts them
    code, _, err = run_cli("convert", tmp_path / "g.tensor.dat", "--b-max", "2500", "--format", "mrtrix",
                           "--keep-vectors", "--output", tmp_path / "x")
    assert code == 0, err  # a file of one block needs no --block
    assert run_cli("convert", protocol, "--format", "nrrd", "--space", "left-posterior-superior",
                   "--output", tmp_path / "n").code == 0
    assert "measurement frame: (-1,0,0) (0,-1,0) (0,0,1)" in (tmp_path / "n.dwmri.txt").read_text()


def test_scheme_fixed_in_another_frame_needs_the_reference(tmp_path, protocol):
    """Extending an acquired protocol whose table is an FSL pair of an oblique image."""
    oblique_nifti(tmp_path / "old.nii", 32, 1)
    _mrinfo(tmp_path / "old.nii", "-grad", protocol, "-export_grad_fsl", tmp_path / "old.bvec",
            tmp_path / "old.bval")
    fixed = [tmp_path / "old.bval", tmp_path / "old.bvec"]
    base = ["scheme", "--shell", "1000:36", "--shell", "2500:24", "--fixed", *fixed, "--seed", "0",
            "--restarts", "2", "--format", "mrtrix"]
    code, _, err = run_cli(*base, "--output", tmp_path / "bad")
    assert code == 2 and "--reference" in err and not os.path.exists(tmp_path / "bad.b")
    code, out, err = run_cli(*base, "--reference", tmp_path / "old.nii", "--output", tmp_path / "new",
                             "--json")
    assert code == 0, err
    new = np.loadtxt(tmp_path / "new.b")
    acquired = np.loadtxt(protocol)[2:, :3]  # where the old volumes' gradients physically were
    assert np.all(np.abs(acquired @ new[:, :3].T).max(axis=1) > 1 - 1e-6)
    reported = json.loads(out)["report"]["shells"][0]["bipolar"]["nearest_angle"]["min"]
    theirs = subprocess.run([require_tool("dirstat"), str(tmp_path / "new.b"), "-shells", "1000",
                             "-output", "BN-"], capture_output=True, text=True, check=True).stdout
    assert reported == pytest.approx(float(theirs), abs=1e-3)
    # copying the image-frame numbers instead (the old behaviour) looks as good but is not, physically
    code, out, _ = run_cli(*base, "--keep-vectors", "--output", tmp_path / "mixed", "--json")
    mixed = np.loadtxt(tmp_path / "mixed.b")
    image_numbers = np.loadtxt(tmp_path / "old.bvec").T[2:]
    fresh = mixed[(np.abs(mixed[:, :3] @ image_numbers.T).max(axis=1) < 1 - 1e-6) & (mixed[:, 3] == 1000), :3]
    union = np.vstack([acquired[:18], fresh])
    cosines = np.abs(union @ union.T) - 2 * np.eye(len(union))
    physical = np.degrees(np.arccos(np.clip(cosines.max(axis=1), -1, 1))).min()
    assert physical < json.loads(out)["report"]["shells"][0]["bipolar"]["nearest_angle"]["min"] - 3


def test_reference_with_differing_qform_and_sform_is_read_as_mrtrix_reads_it(tmp_path, protocol):
    """A NIfTI whose qform and sform disagree (codes 1 and 2): FSL and MRtrix take the sform."""
    nibabel = pytest.importorskip("nibabel")
    from scipy.spatial.transform import Rotation

    qform, sform = np.eye(4), np.eye(4)
    qform[:3, :3] = Rotation.from_rotvec([0.5, 0, 0]).as_matrix() * 2
    sform[:3, :3] = Rotation.from_rotvec([0, -0.3, 0.6]).as_matrix() @ np.diag([-2.0, 2.0, 2.5])
    image = nibabel.Nifti1Image(np.zeros((3, 4, 5, 32), np.float32), None)
    image.set_qform(qform, code=1)
    image.set_sform(sform, code=2)
    nibabel.save(image, str(tmp_path / "qs.nii"))
    assert run_cli("convert", protocol, "--reference", tmp_path / "qs.nii", "--format", "fsl",
                   "--output", tmp_path / "ours").code == 0
    _mrinfo(tmp_path / "qs.nii", "-grad", protocol, "-export_grad_fsl", tmp_path / "t.bvec",
            tmp_path / "t.bval")
    assert np.abs(np.loadtxt(tmp_path / "ours.bvec") - np.loadtxt(tmp_path / "t.bvec")).max() < 1e-5
