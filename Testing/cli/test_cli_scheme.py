"""``gradienttools scheme`` and ``gradienttools stats`` on the command line."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest
from support import require_tool, run_cli

from GradientToolsLib.diffusion.readers import read_scheme


def test_scheme_fsl_then_stats(tmp_path):
    prefix = tmp_path / "dwi"
    code, out, err = run_cli("scheme", "--shell", "1000:12", "--shell", "2000:20", "--b0", "3",
                             "--b0-every", "10", "--seed", "1", "--format", "fsl", "--output", prefix,
                             process=True)
    assert code == 0, err
    assert sorted(os.listdir(tmp_path)) == ["dwi.bval", "dwi.bvec"]
    assert "b = 1000 [ 12 directions ]" in out and "wrote" in out
    s = read_scheme(str(prefix))
    assert s.n == 35 and np.flatnonzero(s.bvals == 0).tolist() == [0, 11, 22]
    code, out2, err = run_cli("stats", f"{prefix}.bval", f"{prefix}.bvec", "--json")
    assert code == 0, err
    report = json.loads(out2)
    assert [sh["n"] for sh in report["shells"]] == [12, 20] and report["b0"] == 3


def test_same_seed_same_files(tmp_path):
    for name in ("a", "b"):
        assert run_cli("scheme", "--shell", "1500:15", "--seed", "3", "--format", "mrtrix",
                       "--output", tmp_path / name).code == 0
    assert (tmp_path / "a.b").read_text() == (tmp_path / "b.b").read_text()


@pytest.mark.parametrize("fmt, files", [
    ("mrtrix", ["x.b"]), ("siemens", ["x.dvs"]), ("ge", ["x.tensor.dat"]),
    ("philips", ["x.dti_vectors_input.txt"]), ("nrrd", ["x.dwmri.txt"]),
])
def test_every_format(tmp_path, fmt, files):
    done = run_cli("scheme", "--shell", "800:6", "--shell", "1600:9", "--seed", "0", "--format", fmt,
                   "--output", tmp_path / "x", "--json")
    assert done.code == 0
    assert sorted(os.listdir(tmp_path)) == files
    out = json.loads(done.out)
    assert out["written"] == [str(tmp_path / f) for f in files]
    back = read_scheme(str(tmp_path / files[0]), b_max=1600, t2=1 if fmt == "ge" else 0)
    assert back.n == 16  # Siemens: + the console's b=0; GE: + 1 "T2" b=0


def test_stats_text_agrees_with_dirstat_energy(tmp_path):
    dirstat = require_tool("dirstat")
    assert run_cli("scheme", "--shell", "1000:30", "--b0", "1", "--seed", "2", "--format", "mrtrix",
                   "--output", tmp_path / "g").code == 0
    code, out, err = run_cli("stats", tmp_path / "g.b", "--json")
    ours = json.loads(out)["shells"][0]["E_half"]
    theirs = subprocess.run([dirstat, str(tmp_path / "g.b"), "-output", "BEt"], capture_output=True,
                            text=True, check=True).stdout.split()[0]
    assert ours == pytest.approx(float(theirs), rel=5.01e-6)


def test_no_order_no_polarity_flags(tmp_path):
    assert run_cli("scheme", "--shell", "1000:5", "--shell", "2000:7", "--b0", "2", "--no-order",
                   "--no-polarity", "--seed", "0", "--format", "mrtrix", "--output", tmp_path / "p").code == 0
    s = read_scheme(str(tmp_path / "p.b"))
    assert s.bvals.tolist() == [0, 0] + [1000] * 5 + [2000] * 7


def test_fixed_directions_from_file(tmp_path):
    assert run_cli("scheme", "--shell", "1000:6", "--seed", "0", "--format", "mrtrix",
                   "--output", tmp_path / "f").code == 0
    assert run_cli("scheme", "--shell", "1000:10", "--shell", "2000:10", "--fixed", tmp_path / "f.b",
                   "--seed", "1", "--format", "mrtrix", "--output", tmp_path / "g").code == 0
    fixed = read_scheme(str(tmp_path / "f.b"))
    out = read_scheme(str(tmp_path / "g.b"))
    shell = out.bvecs[out.shell_indices()[1000]]
    for v in fixed.bvecs[fixed.bvals > 0]:
        assert np.min(np.linalg.norm(shell - v, axis=1)) < 1e-7


@pytest.mark.parametrize("args, message", [
    (["--shell", "1000:abc"], "count 'abc'"),
    (["--shell", "0:10"], "positive"),
    (["--shell=-5:3"], "positive"),
    (["--shell", "1000:0"], "at least 1"),
    (["--shell", "1000"], "B:N"),
    (["--shell", "abc:5"], "not a number"),
    (["--shell", "1000:5", "--shell", "1000:6"], "twice"),
    (["--shell", "1000:5", "--format", "dicom"], "invalid choice"),
    (["--shell", "1000:5", "--b0", "-1"], "negative"),
    (["--shell", "1000:5", "--b0-every", "0"], "at least 1"),
    (["--shell", "1000:5", "--fixed", "/nonexistent/f.b"], "no such file"),
    (["--shell", "1000:5", "--b0", "6", "--b0-every", "2"], "do not fit"),
    (["--shell", "1000:5", "--b0-every", "2", "--b0-spread"], "not allowed with"),
    (["--shell", "1000:5", "--b0", "2", "--b0-head", "3"], "head of 3"),
    (["--shell", "1000:5", "--reference", "/nonexistent/dwi.nii"], "not found"),
])
def test_bad_scheme_arguments(tmp_path, args, message):
    code, out, err = run_cli("scheme", *args, "--output", tmp_path / "bad")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert message in err
    assert os.listdir(tmp_path) == []  # no partial output


def test_missing_output_folder(tmp_path):
    code, _, err = run_cli("scheme", "--shell", "1000:5", "--output", tmp_path / "no" / "x")
    assert code == 2 and "folder" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content, message", [
    ("0 0 0 0\n1 0 0\n", "columns"),
    ("0 0 0 0\n0.5 0 0 1000\n", "length"),
    ("", "no numbers"),
])
def test_bad_stats_files(tmp_path, content, message):
    path = tmp_path / "bad.b"
    path.write_text(content)
    code, out, err = run_cli("stats", path)
    assert code == 2 and message in err and str(path) in err
    assert len(err.strip().splitlines()) == 1 and out == ""


def test_stats_missing_file(tmp_path):
    code, _, err = run_cli("stats", tmp_path / "nothing.b")
    assert code == 2 and "no such file" in err


def test_b0_layout_options(tmp_path):
    assert run_cli("scheme", "--shell", "1000:10", "--shell", "2000:10", "--b0", "5", "--b0-head", "2",
                   "--b0-end", "--seed", "0", "--format", "mrtrix", "--output", tmp_path / "l").code == 0
    b0 = np.flatnonzero(read_scheme(str(tmp_path / "l.b")).bvals == 0).tolist()
    assert b0 == [0, 1, 8, 16, 24]  # two first, the last, two spread between: 6, 7 and 7 weighted apart
