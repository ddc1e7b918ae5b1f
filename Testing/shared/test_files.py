"""atomic_output: outputs get the mode the user's umask gives a plain open(), not mkstemp's 0600."""

from __future__ import annotations

import os
import stat

import pytest

from GradientToolsLib._shared.files import atomic_output


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_output_honours_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        plain = tmp_path / "plain.txt"
        with open(plain, "w") as handle:
            handle.write("x")
        path = tmp_path / "out.vp.json"
        with atomic_output(str(path)) as tmp:
            with open(tmp, "w") as handle:
                handle.write("x")
    finally:
        os.umask(previous)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode == stat.S_IMODE(os.stat(plain).st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.vp.json", "plain.txt"]


def test_failure_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_output(str(tmp_path / "x.png")) as tmp:
            open(tmp, "w").close()
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
