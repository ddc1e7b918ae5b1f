"""Writing output files so that a failure never leaves a partial file, a stray temporary or half of
a set of outputs behind, and an input is never overwritten.

* :func:`atomic_output` writes one file through a temporary beside it, moved into place only when the
  writer succeeds. Written through a symbolic link, it replaces the link's target (the link stays).
* :func:`publish_together` groups every :func:`atomic_output` inside it: the files appear only when
  the whole block succeeds, all at once (while holding an exclusive lock on their folders, so that two
  runs writing the same prefix never leave a mixed pair), or not at all.
* :func:`refuse_overwriting_inputs` stops a command whose output is one of its inputs (same path,
  a symbolic link to it, or a hard link).

Files are created with the permissions the user's umask gives (0666 & ~umask), as ``open`` does.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from typing import Iterable, Iterator, List, Optional, Tuple

from ..errors import GradientToolsError

_state = threading.local()
_umask_lock = threading.Lock()


def check_output_folder(path: str) -> str:
    """The folder an output ``path`` (or prefix) goes into; an error naming it if it does not exist.

    Commands call it before long work so that a bad path fails at once.
    """
    path = os.fspath(path)
    if not path.strip():
        raise GradientToolsError("the output path is empty")
    if path.endswith(("/", os.sep)):
        raise GradientToolsError(f"the output {path!r} names a folder; give a file name (or prefix) in it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise GradientToolsError(f"output folder does not exist: {folder}")
    return folder


def _target(path: str) -> str:
    """Where writing ``path`` lands: the target of a symbolic link (written through), else the path."""
    if os.path.islink(path):
        return os.path.realpath(path)
    return path


def _umask() -> int:
    """The process's umask: read from /proc on Linux (setting it, the only portable way to read it,
    would briefly change it for other threads)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    with _umask_lock:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def _file_mode() -> int:
    return 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_output(path: str, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only if the block succeeds.

    ``suffix`` is appended to the temporary name so that writers which choose the format from the
    extension (SimpleITK, VTK) see the right one; by default the extension of ``path`` is kept.
    Inside :func:`publish_together` the move waits for the end of the whole group.
    """
    path = os.fspath(path)
    check_output_folder(path)
    if os.path.isdir(path):
        raise GradientToolsError(f"the output {path} is a folder")
    final = _target(path)
    directory = os.path.dirname(os.path.abspath(final))
    if not os.path.isdir(directory):
        raise GradientToolsError(f"output folder does not exist: {directory}")
    base = os.path.basename(final)
    if not suffix:
        # keep compound extensions such as .nii.gz or .vp.json
        dot = base.find(".")
        suffix = base[dot:] if dot > 0 else ""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + base.split(".")[0] + "-", suffix=suffix, dir=directory)
    os.close(fd)
    pending = getattr(_state, "pending", None)
    try:
        yield tmp
        os.chmod(tmp, _file_mode())
        if pending is None:
            os.replace(tmp, final)
        else:
            if any(os.path.abspath(f) == os.path.abspath(final) for _, f in pending):
                raise GradientToolsError(f"the output {path} is given twice")
            pending.append((tmp, final))
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def _folder_locks(folders: Iterable[str]) -> Iterator[None]:
    """Exclusive flock on each folder (sorted, so that concurrent runs cannot deadlock)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: publish without a lock
        yield
        return
    fds: List[int] = []
    try:
        for folder in sorted(set(folders)):
            fd = os.open(folder, os.O_RDONLY)
            fds.append(fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        for fd in reversed(fds):
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


@contextlib.contextmanager
def publish_together() -> Iterator[None]:
    """Outputs written by :func:`atomic_output` inside the block appear together, or not at all.

    Nested uses join the outermost group. On any exception (a failing writer, Ctrl-C, SIGTERM turned
    into SystemExit) every temporary is removed and no output appears.
    """
    if getattr(_state, "pending", None) is not None:
        yield
        return
    pending: List[Tuple[str, str]] = []
    _state.pending = pending
    try:
        yield
        with _folder_locks(os.path.dirname(os.path.abspath(final)) for _, final in pending):
            for tmp, final in pending:
                os.replace(tmp, final)
            pending.clear()
    finally:
        _state.pending = None
        for tmp, _ in pending:
            with contextlib.suppress(OSError):
                os.remove(tmp)


def same_file(a: str, b: str) -> bool:
    """True when paths ``a`` and ``b`` name one file: equal after resolving symbolic links and
    ``..``, or hard links to one inode."""
    a, b = os.fspath(a), os.fspath(b)
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refuse_overwriting_inputs(outputs: Iterable[Optional[str]], inputs: Iterable[Optional[str]]) -> None:
    """Raise :class:`GradientToolsError` when an output is (or resolves to) one of the inputs.

    ``inputs`` should list every file an input consists of (a .nhdr's data files too); None entries
    are ignored.
    """
    inputs = [os.fspath(p) for p in inputs if p]
    for output in outputs:
        if not output:
            continue
        folder = os.path.realpath(output).rstrip(os.sep) + os.sep
        for given in inputs:
            if same_file(output, given):
                same = "" if os.path.abspath(output) == os.path.abspath(given) else f" ({given})"
                raise GradientToolsError(
                    f"the output {output} is an input{same}; the input is never overwritten, "
                    "choose another output")
            if os.path.realpath(given).startswith(folder):
                raise GradientToolsError(f"the output {output} would replace the folder holding the input "
                                         f"{given}; choose another output")
