"""Gradient magnitude on dask arrays: chunked volumes on threads or on a dask.distributed cluster.

:func:`gradient_magnitude_dask` is :func:`.gradient.gradient_magnitude` as a lazy dask array:
each chunk is computed with a halo of its neighbours' voxels (``map_overlap``: 1 voxel for
``central`` and ``sobel``, the Gaussian kernel's radius per axis for ``gaussian``), with the edge
voxels replicated at the volume's faces (``boundary="nearest"``, as the slab engine and VTK). The
chunk kernels give every voxel a value that depends on its neighbourhood only, so the result
does not depend on the chunking or the scheduler: it is bit for bit ``gradient_magnitude``'s for
``central`` (both engines) and, for ``sobel``/``gaussian``, bit for bit the shifted-slice kernel
``gradient_magnitude`` runs on volumes below 2**18 voxels or without threadpoolctl. On larger
volumes ``gradient_magnitude`` runs Sobel and Gaussian as banded matrix products (BLAS), whose
float32 rounding depends on the block layout: the two then agree to float32 rounding (relative
about 1e-7).

:func:`compute_blocks` runs such an array block by block with progress, on local threads or on a
dask.distributed scheduler, handing each finished block to a writer.

dask, distributed and zarr are the optional extra ``big`` (``pip install gradienttools[big]``);
they are imported only here and in :mod:`.zarr_volumes`, when called.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable, Optional, Sequence

import numpy

from .._shared.validate import check_spacing
from ..errors import GradientToolsError
from ..progress import ProgressCallback, report
from . import _kernels
from .gradient import check_method, gradient_magnitude_chunk

EXTRA = "big"


def require(module: str):
    """Import one of the ``big`` extra's modules, or a one-line error naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise GradientToolsError(
            f"{module.split('.')[0]} is not installed: volumes in zarr stores and dask clusters need the "
            f"optional extra '{EXTRA}' (pip install 'gradienttools[{EXTRA}]')") from None


def halo_voxels(spacing, method: str, sigma: Optional[float]) -> tuple:
    """Voxels of neighbours each output voxel needs, per array axis (K, J, I)."""
    if method != "gaussian":
        return (1, 1, 1)
    return tuple(radius for radius, _, _ in _kernels.separable_kernels(spacing, method, sigma))


def as_dask_volume(array, chunks="auto"):
    """A 3-D (K, J, I) dask array of real numbers from a dask, zarr or numpy array (2-D: one slice)."""
    da = require("dask.array")
    if not isinstance(array, da.Array):
        if not hasattr(array, "shape") or not hasattr(array, "dtype"):
            array = numpy.asarray(array)
        array = da.from_array(array, chunks=getattr(array, "chunks", None) or chunks)
    if array.dtype.kind not in "biuf":
        raise GradientToolsError(f"array must hold real numbers, got dtype {array.dtype}")
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise GradientToolsError(f"array must be 3-D (K, J, I) or 2-D (J, I), got shape {array.shape}")
    if 0 in array.shape:
        raise GradientToolsError(f"array is empty (shape {array.shape})")
    return array


def gradient_magnitude_dask(array, spacing: Sequence[float] = (1.0, 1.0, 1.0), method: str = "central",
                            sigma: Optional[float] = None, *, engine: Optional[str] = None):
    """Gradient magnitude ``|grad F|`` as a lazy float32 dask array (see the module documentation).

    Parameters
    ----------
    array : dask.array.Array, zarr array or numpy array
        Scalar volume in K,J,I order (2-D: one slice, and the result is 2-D). A zarr array keeps its
        chunks; a numpy array gets dask's automatic chunks. Chunks thinner than the halo along an
        axis are merged by dask for the computation (``allow_rechunk``) and the result is
        rechunked back, so that blocks still line up with the input's (zarr) chunks.
    spacing : three floats
        Voxel size in I,J,K order (mm): the result is per mm.
    method, sigma, engine
        As in :func:`.gradient.gradient_magnitude` (sigma in mm, required for ``gaussian``).

    Returns
    -------
    dask.array.Array of float32, the shape and chunks of ``array``; nothing is computed until it
    is (``.compute()``, ``dask.array.store``, :func:`compute_blocks`).
    """
    two_d = getattr(array, "ndim", None) == 2
    volume = as_dask_volume(array)
    spacing = check_spacing(spacing)
    sigma, engine = check_method(method, sigma, engine)
    # an axis held by one chunk needs no halo: the kernel replicates its edges itself
    depth = {axis: (0 if len(volume.chunks[axis]) == 1 else min(halo, volume.shape[axis]))
             for axis, halo in enumerate(halo_voxels(spacing, method, sigma))}
    result = volume.map_overlap(gradient_magnitude_chunk, depth=depth, boundary="nearest",
                                dtype=numpy.float32, meta=numpy.empty((0, 0, 0), dtype=numpy.float32),
                                spacing=spacing, method=method, sigma=sigma, engine=engine)
    if result.chunks != volume.chunks:          # dask merged chunks thinner than the halo: undo it
        result = result.rechunk(volume.chunks)
    return result[0] if two_d else result


#: voxels of one block of work (a float32 result of 32 MB): dask's per-task overhead (about a
#: millisecond) stays small against the work, and a worker holds a few hundred MB per task
BLOCK_VOXELS = 8 << 20


def work_blocks(shape: Sequence[int], chunks: Sequence[int], voxels: int = BLOCK_VOXELS) -> tuple:
    """Block shape (K, J, I) for computing a volume stored in ``chunks``: whole chunks merged along
    I, then J, then K up to about ``voxels``, so that every block covers whole stored chunks (each
    is read or written once, by one task) and the halos are few (blocks span full slices when
    they fit)."""
    block = [min(int(c), int(n)) for c, n in zip(chunks, shape)]
    for axis in (2, 1, 0):
        size = int(numpy.prod(block)) // block[axis]
        fit = max(1, voxels // max(1, size) // block[axis])
        block[axis] = min(int(shape[axis]), block[axis] * fit)
    return tuple(block)


class BlockWriter:
    """``writer(region, block)`` stores a block into an array: a zarr array (picklable, so cluster
    workers can write it), a memory map or an array in memory."""

    def __init__(self, array) -> None:
        self.array = array

    def __call__(self, region, block) -> None:
        self.array[region] = block


def block_regions(array) -> list:
    """(block index, slices) of every block of a dask array, in C order."""
    starts = [numpy.concatenate([[0], numpy.cumsum(c)[:-1]]).astype(int) for c in array.chunks]
    regions = []
    for index in itertools.product(*(range(len(c)) for c in array.chunks)):
        regions.append((index, tuple(slice(int(starts[a][i]), int(starts[a][i] + array.chunks[a][i]))
                                     for a, i in enumerate(index))))
    return regions


def compute_blocks(array, write: Callable, *, scheduler: Optional[str] = None,
                   write_on_workers: bool = False, progress: Optional[ProgressCallback] = None,
                   message: str = "computing") -> float:
    """Compute a dask array block by block, hand each block to ``write(region, block)``, and return
    the largest value (NaN ignored; NaN when there is none).

    Parameters
    ----------
    array : dask.array.Array
    write : callable(region, block)
        Stores one block (``region``: a tuple of slices). On local threads it runs inside the tasks.
        On a cluster it runs inside the tasks with ``write_on_workers`` (it must then be picklable
        and reach the target from the workers, e.g. a zarr array on a shared file system), otherwise
        in the calling process as finished blocks arrive (e.g. a memory-mapped local file).
    scheduler : str, optional
        Address of a dask.distributed scheduler (``tcp://host:8786``); default: local threads.
    progress : callable(fraction, message), optional
        Called from the calling thread as blocks finish.
    """
    dask = require("dask")
    regions = [region for _, region in block_regions(array)]
    blocks = array.to_delayed().reshape(-1)
    report(progress, 0.0, message)
    if scheduler:
        if write_on_workers:
            tasks = [dask.delayed(_write_block, pure=False)(write, r, b) for b, r in zip(blocks, regions)]
        else:
            tasks = [dask.delayed(_pair, pure=False)(r, b) for b, r in zip(blocks, regions)]
        return _compute_distributed(tasks, scheduler, None if write_on_workers else write, progress, message)
    done = [0]
    lock = threading.Lock()

    def write_and_count(region, block):
        write(region, block)
        with lock:
            done[0] += 1

    tasks = [dask.delayed(_write_block, pure=False)(write_and_count, r, b) for b, r in zip(blocks, regions)]
    # the graph runs on dask's thread pool; this thread reports progress (GUI callbacks need it)
    with ThreadPoolExecutor(max_workers=1) as runner:
        future = runner.submit(dask.compute, *tasks, scheduler="threads")
        while True:
            try:
                maxima = future.result(timeout=0.25)
                break
            except FutureTimeout:
                report(progress, done[0] / len(tasks), message)
    report(progress, 1.0, message)
    return _largest(maxima)


def _block_max(block) -> float:
    with numpy.errstate(invalid="ignore"):
        return float(numpy.nanmax(block)) if block.size and not numpy.isnan(block).all() else numpy.nan


def _largest(maxima) -> float:
    values = [m for m in maxima if not numpy.isnan(m)]
    return max(values) if values else numpy.nan


def _write_block(write, region, block) -> float:
    write(region, block)
    return _block_max(block)


def _pair(region, block):
    return region, block


def _compute_distributed(tasks, address, write, progress, message) -> None:
    distributed = require("distributed")
    try:
        client = distributed.Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise GradientToolsError(f"cannot reach the dask scheduler at {address}: {exc}") from None
    maxima = []
    with client:
        futures = client.compute(tasks)
        for done, future in enumerate(distributed.as_completed(futures), 1):
            value = future.result()
            if write is not None:
                write(*value)
                value = _block_max(value[1])
            maxima.append(value)
            future.release()
            report(progress, done / len(tasks), message)
    return _largest(maxima)
