"""``gradienttools split`` on the command line: parts that together are the scheme, read by MRtrix."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
from support import require_tool, run_cli

from GradientToolsLib.diffusion.readers import read_scheme


def test_split_mrtrix_file_into_two_runs(tmp_path):
    dirstat = require_tool("dirstat")
    assert run_cli("scheme", "--shell", "1000:20", "--shell", "2500:30", "--b0", "4", "--b0-spread",
                   "--seed", "2", "--format", "mrtrix", "--output", tmp_path / "full").code == 0
    code, out, err = run_cli("split", tmp_path / "full.b", "--parts", "2", "--output", tmp_path / "run",
                             "--json")
    assert code == 0, err
    parts = json.loads(out)
    assert [p["written"] for p in parts] == [[str(tmp_path / "run_1.b")], [str(tmp_path / "run_2.b")]]
    full = np.loadtxt(tmp_path / "full.b")
    rows = np.vstack([np.loadtxt(tmp_path / f"run_{k}.b") for k in (1, 2)])
    assert sorted(map(tuple, np.round(rows, 6))) == sorted(map(tuple, np.round(full, 6)))  # a partition
    for k in (1, 2):
        counts = subprocess.run([dirstat, str(tmp_path / f"run_{k}.b"), "-output", "N"], capture_output=True,
                                text=True, check=True).stdout.split()
        assert counts == ["10", "15"]
        assert np.loadtxt(tmp_path / f"run_{k}.b")[0, 3] == 0  # each run starts on a b=0


def test_split_keeps_the_fsl_format_and_frame(tmp_path):
    assert run_cli("scheme", "--shell", "1000:12", "--b0", "2", "--seed", "1", "--format", "fsl",
                   "--output", tmp_path / "a").code == 0
    code, out, err = run_cli("split", tmp_path / "a.bval", tmp_path / "a.bvec", "--parts", "3",
                             "--output", tmp_path / "p")
    assert code == 0, err
    assert "part 3 of 3" in out
    assert sorted(f for f in os.listdir(tmp_path) if f.startswith("p_")) == [
        f"p_{k}.{ext}" for k in (1, 2, 3) for ext in ("bval", "bvec")]
    assert sum(read_scheme(str(tmp_path / f"p_{k}")).n for k in (1, 2, 3)) == 14


def test_split_bad_input(tmp_path):
    (tmp_path / "s.b").write_text("0 0 0 0\n1 0 0 1000\n0 1 0 1000\n")
    code, _, err = run_cli("split", tmp_path / "s.b", "--parts", "1", "--output", tmp_path / "x")
    assert code == 2 and "at least 2" in err
    code, _, err = run_cli("split", tmp_path / "s.b", "--parts", "3", "--output", tmp_path / "x")
    assert code == 2 and "smallest shell has 2" in err
    assert sorted(os.listdir(tmp_path)) == ["s.b"]
