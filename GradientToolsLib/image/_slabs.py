"""The slab engine: a volume is processed a few slices at a time, cast to float on the fly.

:func:`run_slabs` copies slices ``k0 - halo .. k1 + halo`` of the input into a per-thread float
buffer (edge slices replicated beyond the volume, as VTK's HandleBoundaries and scipy's
``mode="nearest"``) and hands it to a kernel that writes output slices ``k0 .. k1``. Slabs run on
one thread per core (numpy's element-wise kernels release the GIL); no float copy of the whole
input is ever held, so the extra memory is the output plus a few megabytes.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional

import numpy

from .._shared.threads import worker_count
from ..progress import ProgressCallback, report

#: target bytes of one float slab: small enough to stay in a core's L2 cache
SLAB_BYTES = 1 << 20
#: below this many voxels a thread pool costs more than it saves
THREADED_MIN_VOXELS = 1 << 18


def work_dtype(dtype: numpy.dtype) -> numpy.dtype:
    """float32 when differences of the input are exact in float32, else float64."""
    if dtype.kind == "b" or (dtype.kind in "iu" and dtype.itemsize <= 2):
        return numpy.dtype(numpy.float32)
    return numpy.dtype(numpy.float64)


def exact_float_dtype(dtype: numpy.dtype) -> numpy.dtype:
    """float32 when it holds every value of ``dtype`` exactly (VTK then loses nothing: it takes
    differences in double), else float64 (int32, uint32, int64, uint64, float64)."""
    small_integer = dtype.kind in "iu" and dtype.itemsize <= 2
    if dtype.kind == "b" or small_integer or (dtype.kind == "f" and dtype.itemsize <= 4):
        return numpy.dtype(numpy.float32)
    return numpy.dtype(numpy.float64)


def thread_count(voxels: int) -> int:
    """Slab threads for a volume of ``voxels``: one below THREADED_MIN_VOXELS, else one per core."""
    if voxels < THREADED_MIN_VOXELS:
        return 1
    return worker_count()


class Scratch:
    """Per-thread reusable buffers, so slabs do not allocate (and page-fault) fresh memory."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, name: str, shape, dtype) -> numpy.ndarray:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = {}
        buf = store.get(name)
        size = int(numpy.prod(shape))
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = store[name] = numpy.empty(size, dtype=dtype)
        return buf[:size].reshape(shape)


def run_slabs(array: numpy.ndarray, out: numpy.ndarray, halo: int, slab: int, work: numpy.dtype,
              compute: Callable, progress: Optional[ProgressCallback], message: str,
              threads: Optional[int] = None) -> None:
    """Cast ``array`` slab by slab (with ``halo`` clamped slices each side) and call
    ``compute(buffer, out_slab, scratch)`` where ``buffer`` holds slices k0-halo .. k1+halo-1.
    ``threads``: slab threads (default: one per core on large volumes)."""
    nk = array.shape[0]
    starts = list(range(0, nk, slab))
    scratch = Scratch()

    def task(k0: int) -> None:
        k1 = min(k0 + slab, nk)
        buf = scratch.get("input", (k1 - k0 + 2 * halo,) + array.shape[1:], work)
        first, last = k0 - halo, k1 + halo
        lo, hi = max(first, 0), min(last, nk)
        # clamped (edge-replicated) slices beyond the volume, as VTK's HandleBoundaries and mode="nearest"
        numpy.copyto(buf[lo - first:hi - first], array[lo:hi], casting="unsafe")
        if lo > first:
            buf[:lo - first] = buf[lo - first]
        if hi < last:
            buf[hi - first:] = buf[hi - first - 1]
        compute(buf, out[k0:k1], scratch)

    report(progress, 0.0, message)
    threads = min(thread_count(array.size) if threads is None else threads, len(starts))
    if threads <= 1:
        for done, k0 in enumerate(starts, 1):
            task(k0)
            report(progress, done / len(starts), message)
        return
    # progress is reported from the calling thread only (GUI callbacks are not thread-safe)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for done, _ in enumerate(pool.map(task, starts), 1):
            report(progress, done / len(starts), message)


def slab_slices(array: numpy.ndarray, work: numpy.dtype, halo: int = 1) -> int:
    """Output slices per slab: about SLAB_BYTES of float, but not far below the halo (wide
    kernels would otherwise cast and filter the same input slices many times)."""
    slice_bytes = array.shape[1] * array.shape[2] * work.itemsize
    slices = max(SLAB_BYTES // max(1, slice_bytes), min(halo, 16), 1)
    return min(array.shape[0], slices)


#: bytes of one slab of the passes that only read (value range, selection checks)
READ_SLAB_BYTES = 64 << 20


def read_slabs(array, slab_bytes: Optional[int] = None):
    """Yield (k0, slab) over a volume (K, J, I) in slabs of whole slices of about ``slab_bytes``
    (default :data:`READ_SLAB_BYTES`), each read into memory (a memory map or a zarr view is never
    held whole)."""
    shape = tuple(array.shape)
    slab_bytes = READ_SLAB_BYTES if slab_bytes is None else int(slab_bytes)
    step = max(1, slab_bytes // max(1, shape[1] * shape[2] * numpy.dtype(array.dtype).itemsize))
    for k in range(0, shape[0], step):
        yield k, numpy.asarray(array[k:k + step])


def value_range(array, *, slab_bytes: Optional[int] = None, progress: Optional[ProgressCallback] = None):
    """(min, max) of a volume (K, J, I) read slab by slab (memory: one slab)."""
    lo, hi = numpy.inf, -numpy.inf
    for k, slab in read_slabs(array, slab_bytes):
        lo, hi = min(lo, float(slab.min())), max(hi, float(slab.max()))
        report(progress, min(1.0, (k + slab.shape[0]) / array.shape[0]), "value range")
    return lo, hi
