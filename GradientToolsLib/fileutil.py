"""Writing output files so that a failure never leaves a partial file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Iterator


@contextlib.contextmanager
def atomic_output(path: str, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only if the block succeeds.

    ``suffix`` is appended to the temporary name so that writers which choose the format from the
    extension (SimpleITK, VTK) see the right one; by default the extension of ``path`` is kept.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        from .errors import GradientToolsError

        raise GradientToolsError(f"output folder does not exist: {directory}")
    base = os.path.basename(path)
    if not suffix:
        # keep compound extensions such as .nii.gz or .vp.json
        dot = base.find(".")
        suffix = base[dot:] if dot > 0 else ""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + base.split(".")[0] + "-", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
