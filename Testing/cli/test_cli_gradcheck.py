"""``gradienttools gradcheck``: FSL pairs against oblique images of both handedness, MRtrix .b files
in scanner coordinates, DWI NRRDs with a measurement frame, DIPY's real small_64D files, agreement
with MRtrix's dwigradcheck, JSON, corrected outputs, bad input.

The expected tables are made independently of the library's frame conversions: scanner (RAS)
vectors from the affine written with nibabel, FSL files by MRtrix's ``mrinfo -export_grad_fsl``.
Timing: about 20 s on 2 busy cores, half of it dwigradcheck.
"""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest
from dwi_files import (
    dipy_file,
    oblique_direction,
    phantom_case,
    write_fsl,
    write_nifti_dwi,
    write_nrrd_dwi,
)
from support import require_tool, run_cli

from GradientToolsLib.diffusion.gradcheck import apply_candidate, inverse

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])
CORRUPTION = ((2, 0, 1), (1, -1, 1))  # new[:, a] = signs[a] * true[:, perm[a]]
FAST = ("--seeds", "1000")


def rows_equal_up_to_sign(a, b, bvals):
    weighted = np.asarray(bvals) > 50
    a, b = np.asarray(a)[weighted], np.asarray(b)[weighted]
    return bool(np.allclose(np.abs(np.sum(a * b, axis=1)), 1.0, atol=1e-6))


@pytest.fixture(scope="module")
def phantom():
    return phantom_case(shape=(14, 22, 24), spacing=(2.5, 2.5, 3.0), snr=20.0, seed=3)


def _files(tmp_path, phantom, handedness, table_voxel, name):
    """NIfTI + MRtrix .b (scanner RAS, from the affine) + FSL pair converted by mrinfo."""
    ph, bvals, _ = phantom
    direction = oblique_direction(handedness)
    image = write_nifti_dwi(tmp_path / f"{name}.nii.gz", ph.dwi, ph.spacing, direction)
    rotation_ras = LPS_TO_RAS @ direction
    scanner = table_voxel @ rotation_ras.T  # g = R v, R's columns the voxel axes in RAS
    grad = tmp_path / f"{name}.b"
    np.savetxt(grad, np.column_stack([scanner, bvals]), fmt="%.10f")
    require_tool("mrinfo")
    subprocess.run(["mrinfo", image, "-grad", str(grad), "-export_grad_fsl", str(tmp_path / f"{name}.bvec"),
                    str(tmp_path / f"{name}.bval"), "-quiet", "-force"], check=True)
    return image, str(grad), str(tmp_path / f"{name}.bval"), str(tmp_path / f"{name}.bvec")


@pytest.mark.parametrize("handedness", [1, -1])
def test_fsl_and_mrtrix_tables_of_oblique_images_are_checked_in_the_right_frame(tmp_path, phantom,
                                                                               handedness):
    _, bvals, truth = phantom
    image, grad, bval, bvec = _files(tmp_path, phantom, handedness, truth, "true")
    code, out, err = run_cli("gradcheck", image, bval, bvec, "--json", *FAST)
    assert code == 0, err
    result = json.loads(out)
    assert {"given", "best", "given_is_best", "ranking"} <= set(result)
    assert len(result["ranking"]) == 24 and all(set(r) == {"permutation", "signs", "score"}
                                                for r in result["ranking"])
    assert result["given_is_best"] and result["best"]["permutation"] == [0, 1, 2]
    assert result["best"]["signs"] == [1, 1, 1] and result["given"]["score"] == result["best"]["score"]

    bad_image, bad_grad, bad_bval, bad_bvec = _files(tmp_path, phantom, handedness,
                                                     apply_candidate(truth, CORRUPTION), "bad")
    fixed = inverse(CORRUPTION)
    for files, suffix in (([bad_bval, bad_bvec], ".bvec"), ([bad_grad], ".b")):
        prefix = str(tmp_path / f"fixed_{suffix[1:]}")
        code, out, err = run_cli("gradcheck", bad_image, *files, "--output", prefix, "--json", *FAST)
        assert code == 0, err
        result = json.loads(out)
        assert not result["given_is_best"]
        assert (tuple(result["best"]["permutation"]), tuple(result["best"]["signs"])) == fixed
        assert result["given"]["score"] < result["best"]["score"]
        if suffix == ".bvec":  # the corrected FSL file is the true one as MRtrix writes it
            np.testing.assert_allclose(np.loadtxt(prefix + ".bval"), np.loadtxt(bval), rtol=1e-6)
            assert rows_equal_up_to_sign(np.loadtxt(prefix + ".bvec").T, np.loadtxt(bvec).T, bvals)
        else:  # the corrected .b file holds the true scanner vectors
            written = np.loadtxt(prefix + ".b")
            assert rows_equal_up_to_sign(written[:, :3], np.loadtxt(grad)[:, :3], bvals)
            np.testing.assert_allclose(written[:, 3], bvals)


def test_the_table_beside_a_nifti_is_found(tmp_path, phantom):
    _, _, truth = phantom
    image, _, bval, bvec = _files(tmp_path, phantom, 1, truth, "dwi")
    os.remove(tmp_path / "dwi.b")
    os.replace(bval, tmp_path / "dwi.bval")  # dcm2niix's naming: dwi.nii.gz, dwi.bval, dwi.bvec
    code, out, err = run_cli("gradcheck", image, "--seeds", "1000")
    assert code == 0, err
    assert "dwi.bvec (fsl" in out and "as given is the most coherent" in out


@pytest.mark.parametrize("space", ["left-posterior-superior", "right-anterior-superior"])
def test_a_dwi_nrrd_is_checked_in_its_measurement_frame_and_written_corrected(tmp_path, phantom, space):
    ph, bvals, truth = phantom
    direction_lps = oblique_direction(-1)
    to_space = np.eye(3) if space.startswith("left") else LPS_TO_RAS
    direction = to_space @ direction_lps  # the header's space directions, in its own space
    frame = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # a 90 degree frame
    # header vectors: space = MF g, and space = direction v  =>  g = MF^T direction v
    header_vectors = apply_candidate(truth, CORRUPTION) @ (frame.T @ direction).T
    source = write_nrrd_dwi(tmp_path / "dwi.nrrd", ph.dwi, ph.spacing, direction, bvals, header_vectors,
                            frame, space)
    code, out, err = run_cli("gradcheck", source, "--json", "--output", str(tmp_path / "fixed"), *FAST)
    assert code == 0, err
    result = json.loads(out)
    assert (tuple(result["best"]["permutation"]), tuple(result["best"]["signs"])) == inverse(CORRUPTION)
    assert result["written"] == [str(tmp_path / "fixed.nrrd")]
    with open(source, "rb") as f:
        original = f.read()
    with open(tmp_path / "fixed.nrrd", "rb") as f:
        corrected = f.read()
    assert corrected.split(b"\n\n", 1)[1] == original.split(b"\n\n", 1)[1]  # the data, untouched
    lines = corrected.split(b"\n\n", 1)[0].decode().splitlines()
    vectors = np.array([[float(x) for x in line.split(":=")[1].split()]
                        for line in lines if line.startswith("DWMRI_gradient_")])
    expected = truth @ (frame.T @ direction).T
    assert rows_equal_up_to_sign(vectors, expected, bvals)
    assert [line for line in lines if not line.startswith("DWMRI_gradient_")] == [
        line for line in original.split(b"\n\n", 1)[0].decode().splitlines()
        if not line.startswith("DWMRI_gradient_")]
    code, out, err = run_cli("gradcheck", str(tmp_path / "fixed.nrrd"), "--json", *FAST)
    assert json.loads(out)["given_is_best"]


def test_a_detached_nrrd_header_is_written_corrected_with_its_data_file_found(tmp_path, phantom):
    ph, bvals, truth = phantom
    direction = oblique_direction(1)
    header_vectors = apply_candidate(truth, CORRUPTION) @ direction.T  # identity measurement frame
    source = write_nrrd_dwi(tmp_path / "dwi.nhdr", ph.dwi, ph.spacing, direction, bvals, header_vectors)
    os.mkdir(tmp_path / "out")
    fixed = str(tmp_path / "out" / "fixed")
    code, out, err = run_cli("gradcheck", source, "--json", "--output", fixed, *FAST)
    assert code == 0, err
    assert json.loads(out)["written"] == [str(tmp_path / "out" / "fixed.nhdr")]
    assert "data file: ../dwi.raw" in (tmp_path / "out" / "fixed.nhdr").read_text()
    code, out, err = run_cli("gradcheck", str(tmp_path / "out" / "fixed.nhdr"), "--json", *FAST)
    assert code == 0, err
    assert json.loads(out)["given_is_best"]


def test_dipys_real_small_64d_files_nan_b0_vector_and_a_flipped_axis(tmp_path):
    image, bval, bvec = (dipy_file(n) for n in ("small_64D.nii", "small_64D.bval", "small_64D.bvec"))
    code, out, err = run_cli("gradcheck", image, bval, bvec)
    assert code == 0, err
    assert "as given is the most coherent" in out
    vectors = np.loadtxt(bvec)  # (65, 3), first row NaN
    flipped = vectors.copy()
    flipped[:, 2] = -flipped[:, 2]
    np.savetxt(tmp_path / "flip.bvec", flipped.T)
    code, out, err = run_cli("gradcheck", image, bval, str(tmp_path / "flip.bvec"), "--output",
                             str(tmp_path / "fixed"))
    assert code == 0, err
    assert "looks WRONG: +I +J -K" in out and "<- as given" in out
    code, out, err = run_cli("gradcheck", image, bval, str(tmp_path / "flip.bvec"), "--json")
    result = json.loads(out)
    assert not result["given_is_best"] and result["best"]["signs"] == [1, 1, -1]
    np.testing.assert_allclose(np.loadtxt(tmp_path / "fixed.bvec").T, np.nan_to_num(vectors), atol=1e-8)


def test_agrees_with_mrtrix_dwigradcheck(tmp_path, phantom):
    require_tool("dwigradcheck")
    _, bvals, truth = phantom
    image, _, bval, bvec = _files(tmp_path, phantom, 1, apply_candidate(truth, CORRUPTION), "bad")
    _, _, true_bval, true_bvec = _files(tmp_path, phantom, 1, truth, "true")
    subprocess.run(["dwigradcheck", image, "-fslgrad", bvec, bval, "-number", "1000", "-nthreads", "2",
                    "-export_grad_fsl", str(tmp_path / "mrtrix.bvec"), str(tmp_path / "mrtrix.bval"),
                    "-quiet", "-force"], check=True, cwd=tmp_path)
    code, _, err = run_cli("gradcheck", image, bval, bvec, "--output", str(tmp_path / "ours"))
    assert code == 0, err
    reference = np.loadtxt(tmp_path / "mrtrix.bvec").T
    assert rows_equal_up_to_sign(reference, np.loadtxt(true_bvec).T, bvals)  # dwigradcheck's answer
    assert rows_equal_up_to_sign(np.loadtxt(tmp_path / "ours.bvec").T, reference, bvals)


def test_bad_input_one_line_exit_2_and_no_output(tmp_path, phantom):
    import nibabel

    ph, bvals, truth = phantom
    image = write_nifti_dwi(tmp_path / "d.nii.gz", ph.dwi, ph.spacing, np.eye(3))
    lonely = write_nifti_dwi(tmp_path / "lonely.nii.gz", ph.dwi[:4, :5, :6], ph.spacing, np.eye(3))
    bval, bvec = write_fsl(tmp_path / "d", bvals, truth)
    short_bval, short_bvec = write_fsl(tmp_path / "short", bvals[:-1], truth[:-1])
    mask = tmp_path / "mask.nii.gz"
    nibabel.save(nibabel.Nifti1Image(np.ones((4, 4, 4), np.uint8), np.eye(4)), str(mask))
    (tmp_path / "t.dvs").write_text("[directions=1]\nVector[0] = ( 1, 0, 0 )\n")
    cases = [
        ([str(tmp_path / "missing.nii.gz"), bval, bvec], "not found"),
        ([image, short_bval, short_bvec], "volumes in the table"),
        ([image, bval, bvec, "--mask", str(mask)], "mask has shape"),
        ([image, str(tmp_path / "t.dvs")], "gradcheck reads FSL"),
        ([lonely], "no gradient table"),
        ([bval, bval, bvec], "cannot read image"),
        ([image, bval, bvec, "--output", str(tmp_path / "nowhere" / "x")], "output folder does not exist"),
        ([image, bval, bvec, "--output", str(tmp_path / "d")], "overwrite an input"),
        ([image, bval, bvec, "--seeds", "0"], "--seeds"),
    ]
    before = sorted(os.listdir(tmp_path))
    for args, message in cases:
        code, out, err = run_cli("gradcheck", *args)
        assert code == 2, (args, out, err)
        assert err.count("\n") == 1 and err.startswith("gradienttools gradcheck: error: "), err
        assert message in err, (message, err)
        assert sorted(os.listdir(tmp_path)) == before
