"""Helpers shared by the suite (import them as ``from support import ...``; fixtures are in conftest):

* :func:`require_tool`: an external peer program (MRtrix3's dirstat, ...), or a skip / CI failure;
* :func:`run_cli`: the one way tests run the ``gradienttools`` command, in-process or as a real
  process, returning (exit status, stdout, stderr);
* :func:`oblique_nifti`: a small 4-D NIfTI with an oblique orientation of either handedness;
* :func:`make_offscreen`: a MRML scene with Slicer's logics and an offscreen 3D view.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

import pytest

#: where Debian's mrtrix3 package installs all its commands
MRTRIX_LIBEXEC = "/usr/lib/mrtrix3/bin"


def require_tool(name: str) -> str:
    """Path of an external peer program.

    Skips when it is missing on a developer machine; under CI (GRADIENTTOOLS_REQUIRE_MRTRIX=1,
    set by .ci/run, which installs mrtrix3) a missing tool is a failure, not a skip.
    """
    path = shutil.which(name)
    if path is None and os.path.exists(os.path.join(MRTRIX_LIBEXEC, name)):
        path = os.path.join(MRTRIX_LIBEXEC, name)  # Debian links only some MRtrix3 commands into /usr/bin
    if path is None:
        if os.environ.get("GRADIENTTOOLS_REQUIRE_MRTRIX"):
            pytest.fail(f"{name} is required here (install mrtrix3) but is not on PATH")
        pytest.skip(f"{name} not installed (apt-get install mrtrix3)")
    return path


class CliResult(NamedTuple):
    code: int
    out: str
    err: str


def run_cli(*args, process: bool = False, stdin: str = "") -> CliResult:
    """Run ``gradienttools ARGS``: exit status, stdout and stderr.

    In-process by default (``GradientToolsLib.cli.main``, argparse's SystemExit caught); with
    ``process=True`` as a real ``python -m GradientToolsLib`` process (tracebacks, signals and
    interpreter shutdown included).
    """
    argv = [str(a) for a in args]
    if process:
        done = subprocess.run([sys.executable, "-m", "GradientToolsLib", *argv], capture_output=True,
                              text=True, input=stdin)
        return CliResult(done.returncode, done.stdout, done.stderr)
    from GradientToolsLib.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: usage errors and --help
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return CliResult(int(code), out.getvalue(), err.getvalue())


def make_offscreen(width: int = 200, height: int = 200, background=(0.0, 0.0, 0.0)):
    """A scene with Slicer's logics and one offscreen 3D view (GradientToolsLib.mrml.offscreen)."""
    from GradientToolsLib.mrml.offscreen import OffscreenSlicer

    return OffscreenSlicer(width, height, background=background)


def oblique_nifti(path, volumes: int, determinant: int, spacing=(2.0, 2.5, 3.0), angles=(0.3, -0.5, 0.2)):
    """Write a zero-filled 4-D NIfTI (4, 5, 6, volumes) whose voxel axes are rotated by ``angles``
    (rotation vector, radians) and, for ``determinant`` -1, mirrored along i; qform and sform agree.
    Returns its 4x4 voxel-to-RAS affine."""
    import nibabel
    import numpy
    from scipy.spatial.transform import Rotation

    rotation = Rotation.from_rotvec(angles).as_matrix() @ numpy.diag([1.0 if determinant > 0 else -1.0, 1, 1])
    affine = numpy.eye(4)
    affine[:3, :3] = rotation @ numpy.diag(spacing)
    affine[:3, 3] = (10.0, -20.0, 5.0)
    image = nibabel.Nifti1Image(numpy.zeros((4, 5, 6, volumes), numpy.float32), affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    nibabel.save(image, os.fspath(path))
    return affine


def unreclaimable_kib(pid: int) -> int:
    """RssAnon + RssShmem of a process in KiB (/proc/PID/status): its resident memory less the
    pages of memory-mapped files, which the kernel can reclaim. Raises OSError once it has ended."""
    values = {}
    with open(f"/proc/{pid}/status") as stream:
        for line in stream:
            key, _, rest = line.partition(":")
            if key in ("RssAnon", "RssShmem"):
                values[key] = int(rest.split()[0])
    return sum(values.values())


def run_sampling_memory(argv, interval: float = 0.005):
    """Run ``argv`` as a child process, sampling :func:`unreclaimable_kib` every ``interval`` s.

    Returns (CliResult, peak bytes). (``ru_maxrss`` would not do: a child starts from its
    parent's high-water mark, FACTS section 7.)
    """
    if not os.path.exists(f"/proc/{os.getpid()}/status"):
        pytest.skip("sampling memory needs /proc (Linux)")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen([str(a) for a in argv], stdout=out, stderr=err, text=True)
        peak = 0
        while child.poll() is None:
            try:
                peak = max(peak, unreclaimable_kib(child.pid))
            except (OSError, ValueError):
                break
            time.sleep(interval)
        child.wait()
        out.seek(0)
        err.seek(0)
        return CliResult(child.returncode, out.read(), err.read()), peak * 1024


def zarr_group_with_level(path, array, chunks, zarr_format: int = 2):
    """A zarr group at ``path`` holding ``array`` as its array "0" (zarr 2 or zarr 3 API)."""
    import zarr

    if int(zarr.__version__.split(".")[0]) >= 3:
        group = zarr.open_group(str(path), mode="w", zarr_format=zarr_format)
        level = group.create_array("0", shape=array.shape, chunks=chunks, dtype=array.dtype)
    else:
        if zarr_format != 2:
            pytest.skip("zarr format 3 needs zarr >= 3")
        group = zarr.open_group(str(path), mode="w")
        level = group.create_dataset("0", shape=array.shape, chunks=chunks, dtype=array.dtype)
    level[...] = array
    return group


def file_pages_read(path, run):
    """Pages of ``path`` that the call ``run()`` reads from the file, counted in the page cache.

    The file's cached pages are dropped first (fsync, POSIX_FADV_DONTNEED) and counted after the
    call with mincore(2) on a fresh mapping, so the count is what was read, including the
    neighbours the kernel read ahead. Returns (run's result, pages read, pages of the file).
    Skips off Linux.
    """
    import ctypes
    import mmap

    if not (sys.platform.startswith("linux") and hasattr(os, "posix_fadvise")):
        pytest.skip("counting cached pages needs Linux (posix_fadvise, mincore)")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                          ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    fd = os.open(os.fspath(path), os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        result = run()
        size = os.fstat(fd).st_size
        pages = -(-size // mmap.PAGESIZE)
        vector = (ctypes.c_ubyte * pages)()
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        try:
            if libc.mincore(ctypes.c_void_p(address), ctypes.c_size_t(size), vector) != 0:
                pytest.fail(f"mincore failed: errno {ctypes.get_errno()}")
        finally:
            libc.munmap(ctypes.c_void_p(address), size)
    finally:
        os.close(fd)
    return result, int(sum(v & 1 for v in vector)), pages


def counting_zarr_array(path):
    """The zarr array at ``path`` opened read-only through a store that records the keys it reads:
    (array, list of chunk keys read). Needs zarr >= 3 (skips otherwise)."""
    import zarr

    if int(zarr.__version__.split(".")[0]) < 3:
        pytest.skip("counting chunk reads needs zarr >= 3")
    reads = []
    metadata = (".zarray", ".zattrs", "zarr.json", ".zgroup")

    class CountingStore(zarr.storage.LocalStore):
        async def get(self, key, *args, **kwargs):
            if not key.endswith(metadata):
                reads.append(key)
            return await super().get(key, *args, **kwargs)

    store = CountingStore(os.fspath(path), read_only=True)
    return zarr.open_array(store=store, mode="r"), reads
