"""Writing output files so that a failure never leaves a partial file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Iterator

from ..errors import GradientToolsError


def check_output_folder(path: str) -> str:
    """The folder an output ``path`` (or prefix) goes into; an error naming it if it does not exist.

    Commands call it before long work so that a bad path fails at once.
    """
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder):
        raise GradientToolsError(f"output folder does not exist: {folder}")
    return folder


def _umask() -> int:
    """The process's umask (read by setting it, then restoring it at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only if the block succeeds.

    ``suffix`` is appended to the temporary name so that writers which choose the format from the
    extension (SimpleITK, VTK) see the right one; by default the extension of ``path`` is kept.
    """
    path = os.fspath(path)
    directory = check_output_folder(path)
    base = os.path.basename(path)
    if not suffix:
        # keep compound extensions such as .nii.gz or .vp.json
        dot = base.find(".")
        suffix = base[dot:] if dot > 0 else ""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + base.split(".")[0] + "-", suffix=suffix, dir=directory)
    os.close(fd)
    # mkstemp creates the file 0600; the output gets the mode a plain open() would give it
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
