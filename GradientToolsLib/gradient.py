"""Gradient-magnitude volumes in physical units, with float output and VTK-compatible boundaries.

Three estimators of ``|grad F|`` (see :func:`gradient_magnitude`):

``central``
    Central differences, ``(F[i+1] - F[i-1]) / (2 h)``, with the edge voxel replicated at the
    boundaries, i.e. ``(F[1] - F[0]) / (2 h)`` there. Identical to ``vtkImageGradientMagnitude`` with
    Dimensionality 3 and HandleBoundaries on, run on a float64 copy with the same spacing.
``sobel``
    The 3-D Sobel operator (derivative ``[-1, 0, 1]`` along the axis, smoothing ``[1, 2, 1]`` along the
    two others, edge voxels replicated), divided by ``32 h`` so that a linear ramp gives its slope.
``gaussian``
    Derivative-of-Gaussian filtering: ``sigma`` in millimetres, ``sigma / h`` voxels per axis, kernels
    truncated at 4 sigma, edge voxels replicated (scipy's ``mode="nearest"``). The derivative kernel is
    normalised so that a linear ramp gives exactly its slope (scipy normalises it to the continuous
    Gaussian's moment instead, which the truncated, sampled kernel misses by about 1e-4), so the result
    equals ``scipy.ndimage.gaussian_gradient_magnitude(..., mode="nearest")`` per axis up to that factor.

All three process the volume in slabs of a few slices (cast to float on the fly, one thread per core,
numpy's element-wise kernels release the GIL), so no float copy of the whole input is ever held: the
extra memory is the float32 output plus a few megabytes. Sobel and Gaussian share one separable
scheme of eight one-dimensional passes (smooth and differentiate along K, three products along J,
three along I), run as banded matrix
products (BLAS, one BLAS thread per slab thread, set through threadpoolctl) on large volumes, or as
shifted-slice sums in numpy when threadpoolctl is missing (Slicer) or the volume is small.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional, Sequence, Tuple

import numpy

from .errors import GradientToolsError
from .progress import ProgressCallback, report

METHODS = ("central", "sobel", "gaussian")

#: Gaussian kernels are cut at this many standard deviations (as scipy.ndimage's default)
TRUNCATE = 4.0

# target bytes of one float slab: small enough to stay in a core's L2 cache
_SLAB_BYTES = 1 << 20
# below this many voxels a thread pool costs more than it saves
_THREADED_MIN_VOXELS = 1 << 18
# Sobel and Gaussian by banded matrix products when BLAS threads can be limited (threadpoolctl)
_USE_BLAS = True


def _check_spacing(spacing) -> Tuple[float, float, float]:
    try:
        values = numpy.asarray(spacing, dtype=numpy.float64).reshape(-1)
    except (TypeError, ValueError):
        raise GradientToolsError(
            f"spacing must be three positive numbers (I, J, K), got {spacing!r}") from None
    if values.size != 3:
        raise GradientToolsError(f"spacing must have three values (I, J, K), got {values.size}")
    if not numpy.all(numpy.isfinite(values)) or numpy.any(values <= 0):
        raise GradientToolsError(f"spacing must be three positive finite numbers, got {tuple(values)}")
    return tuple(float(v) for v in values)


def _check_array(array) -> numpy.ndarray:
    if not isinstance(array, numpy.ndarray):
        try:
            array = numpy.asarray(array)
        except (TypeError, ValueError):
            raise GradientToolsError("array must be a numeric numpy array") from None
    if array.dtype.kind not in "biuf":
        raise GradientToolsError(f"array must hold real numbers, got dtype {array.dtype}")
    if array.ndim == 2:
        array = array[numpy.newaxis]
    elif array.ndim != 3:
        raise GradientToolsError(f"array must be 3-D (K, J, I) or 2-D (J, I), got shape {array.shape}")
    if array.size == 0:
        raise GradientToolsError(f"array is empty (shape {array.shape})")
    return array


def _work_dtype(dtype: numpy.dtype) -> numpy.dtype:
    """float32 when differences of the input are exact in float32, else float64."""
    if dtype.kind == "b" or (dtype.kind in "iu" and dtype.itemsize <= 2):
        return numpy.dtype(numpy.float32)
    return numpy.dtype(numpy.float64)


def _thread_count(voxels: int) -> int:
    if voxels < _THREADED_MIN_VOXELS:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


class _Scratch:
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


def _run_slabs(array: numpy.ndarray, out: numpy.ndarray, halo: int, slab: int, work: numpy.dtype,
               compute: Callable, progress: Optional[ProgressCallback], message: str) -> None:
    """Cast ``array`` slab by slab (with ``halo`` clamped slices each side) and call
    ``compute(buffer, out_slab, scratch)`` where ``buffer`` holds slices k0-halo .. k1+halo-1."""
    nk = array.shape[0]
    starts = list(range(0, nk, slab))
    scratch = _Scratch()

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
    threads = min(_thread_count(array.size), len(starts))
    if threads <= 1:
        for done, k0 in enumerate(starts, 1):
            task(k0)
            report(progress, done / len(starts), message)
        return
    # progress is reported from the calling thread only (GUI callbacks are not thread-safe)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for done, _ in enumerate(pool.map(task, starts), 1):
            report(progress, done / len(starts), message)


def _slab_slices(array: numpy.ndarray, work: numpy.dtype, halo: int = 1) -> int:
    """Output slices per slab: about _SLAB_BYTES of float, but not far below the halo (wide
    kernels would otherwise cast and filter the same input slices many times)."""
    slice_bytes = array.shape[1] * array.shape[2] * work.itemsize
    slices = max(_SLAB_BYTES // max(1, slice_bytes), min(halo, 16), 1)
    return min(array.shape[0], slices)


# ---------------------------------------------------------------- central differences

def _central_axis(src: numpy.ndarray, axis: int, dst: numpy.ndarray) -> None:
    """dst = F[i+1] - F[i-1] along ``axis`` of ``src`` (same shape), edge voxel replicated."""
    n = src.shape[axis]

    def take(start, stop):
        index = [slice(None)] * src.ndim
        index[axis] = slice(start, stop)
        return tuple(index)

    if n == 1:
        dst[...] = 0
        return
    numpy.subtract(src[take(2, n)], src[take(0, n - 2)], out=dst[take(1, n - 1)])
    numpy.subtract(src[take(1, 2)], src[take(0, 1)], out=dst[take(0, 1)])
    numpy.subtract(src[take(n - 1, n)], src[take(n - 2, n - 1)], out=dst[take(n - 1, n)])


def _central_compute(spacing: Tuple[float, float, float], work: numpy.dtype):
    half_inverse = [work.type(0.5 / h) for h in spacing]        # I, J, K

    def compute(buf, out, scratch):
        n = out.shape[0]
        inner = buf[1:n + 1]
        tmp = scratch.get("diff", out.shape, work)
        acc = out if work == out.dtype else scratch.get("acc", out.shape, work)
        numpy.subtract(buf[2:n + 2], buf[0:n], out=acc)          # K: halo slices are already clamped
        acc *= half_inverse[2]
        acc *= acc
        for axis, r in ((1, half_inverse[1]), (2, half_inverse[0])):
            _central_axis(inner, axis, tmp)
            tmp *= r
            tmp *= tmp
            acc += tmp
        numpy.sqrt(acc, out=out)

    return compute


# ---------------------------------------- separable filters: Sobel and derivative of Gaussian

def gaussian_kernels(sigma_voxels: float,
                     truncate: float = TRUNCATE) -> Tuple[int, numpy.ndarray, numpy.ndarray]:
    """Correlation weights of the sampled Gaussian and of its derivative, in voxel units.

    Returns ``(radius, smooth, derivative)``; both weight arrays have ``2 * radius + 1`` entries for
    offsets ``-radius .. radius``. ``smooth`` sums to 1; ``derivative`` is antisymmetric and satisfies
    ``sum(j * derivative[j]) == 1`` exactly, so a ramp of slope s gives s. When sigma is tiny the pair
    tends to (identity, central difference).
    """
    # the small tolerance keeps the radius stable when sigma/h is a rounded copy of an exact ratio
    radius = max(1, int(truncate * sigma_voxels + 0.5 + 1e-9))
    offsets = numpy.arange(-radius, radius + 1, dtype=numpy.float64)
    with numpy.errstate(under="ignore"):
        phi = numpy.exp(-0.5 * (offsets / sigma_voxels) ** 2)
    smooth = phi / phi.sum()
    moment = float(numpy.sum(offsets * offsets * phi))
    if moment > 0 and math.isfinite(moment):
        derivative = offsets * phi / moment
    else:
        derivative = numpy.zeros_like(offsets)
        derivative[radius - 1], derivative[radius + 1] = -0.5, 0.5
    return radius, smooth, derivative


def _separable_kernels(spacing: Tuple[float, float, float], method: str, sigma: Optional[float]) -> list:
    """Per array axis (K, J, I): ``(radius, smooth, derivative)`` with the derivative per spacing unit.

    ``sobel`` is the same separable scheme with ``[1, 2, 1] / 4`` and ``[-1, 0, 1] / 2h``, which is
    the 3-D Sobel operator divided by ``32 h``.
    """
    kernels = []
    for axis in range(3):
        h = spacing[2 - axis]
        if method == "sobel":
            radius, smooth, derivative = 1, numpy.array([0.25, 0.5, 0.25]), numpy.array([-0.5, 0.0, 0.5])
        else:
            radius, smooth, derivative = gaussian_kernels(sigma / h)
        kernels.append((radius, smooth, derivative / h))
    return kernels


def _correlate_padded(src: numpy.ndarray, axis: int, weights: numpy.ndarray, radius: int,
                      dst: numpy.ndarray, tmp: numpy.ndarray, symmetric: bool) -> None:
    """dst = correlation of ``src`` (padded by ``radius`` along ``axis``) with symmetric or
    antisymmetric ``weights``; pairs of taps share one multiply."""
    n = dst.shape[axis]

    def shifted(j):
        index = [slice(None)] * src.ndim
        index[axis] = slice(radius + j, radius + j + n)
        return src[tuple(index)]

    w = weights.astype(dst.dtype)
    if symmetric:
        numpy.multiply(shifted(0), w[radius], out=dst)
        first = 1
    else:
        numpy.subtract(shifted(1), shifted(-1), out=dst)
        dst *= w[radius + 1]
        first = 2
    combine = numpy.add if symmetric else numpy.subtract
    for j in range(first, radius + 1):
        if w[radius + j] == 0:
            continue
        combine(shifted(j), shifted(-j), out=tmp)
        tmp *= w[radius + j]
        dst += tmp


def _replicate_edges(buf: numpy.ndarray, axis: int, radius: int) -> None:
    """Fill the ``radius`` pad cells at both ends of ``axis`` with the nearest inner value."""
    n = buf.shape[axis] - 2 * radius

    def take(start, stop):
        index = [slice(None)] * buf.ndim
        index[axis] = slice(start, stop)
        return tuple(index)

    buf[take(0, radius)] = buf[take(radius, radius + 1)]
    buf[take(radius + n, radius + n + radius)] = buf[take(radius + n - 1, radius + n)]


def _separable_compute(kernels: list, work: numpy.dtype):
    # per array axis K, J, I
    (rk, gk, dk), (rj, gj, dj), (ri, gi, di) = kernels

    def compute(buf, out, scratch):
        n, nj, ni = out.shape
        tmp = scratch.get("tmp", (n, nj + 2 * rj, ni + 2 * ri), work)

        def tmp_like(shape):
            return tmp.reshape(-1)[:int(numpy.prod(shape))].reshape(shape)

        # K: smooth and differentiate; results land inside J-padded buffers
        smooth_k = scratch.get("sk", (n, nj + 2 * rj, ni), work)
        diff_k = scratch.get("dk", (n, nj + 2 * rj, ni), work)
        for dst, weights, symmetric in ((smooth_k, gk, True), (diff_k, dk, False)):
            inner = dst[:, rj:rj + nj]
            _correlate_padded(buf, 0, weights, rk, inner, tmp_like(inner.shape), symmetric)
            _replicate_edges(dst, 1, rj)
        # J: three products land inside I-padded buffers
        for_i = []
        for name, src, weights, symmetric in (("x", smooth_k, gj, True), ("y", smooth_k, dj, False),
                                              ("z", diff_k, gj, True)):
            dst = scratch.get("j" + name, (n, nj, ni + 2 * ri), work)
            inner = dst[:, :, ri:ri + ni]
            _correlate_padded(src, 1, weights, rj, inner, tmp_like(inner.shape), symmetric)
            _replicate_edges(dst, 2, ri)
            for_i.append(dst)
        # I: finish the three components and sum their squares
        acc = out if work == out.dtype else scratch.get("acc", out.shape, work)
        part = scratch.get("part", out.shape, work)
        for index, (src, weights, symmetric) in enumerate(((for_i[0], di, False), (for_i[1], gi, True),
                                                          (for_i[2], gi, True))):
            dst = acc if index == 0 else part
            _correlate_padded(src, 2, weights, ri, dst, tmp_like(dst.shape), symmetric)
            dst *= dst
            if index:
                acc += part
        numpy.sqrt(acc, out=out)

    return compute, rk


def _banded_blocks(n: int, radius: int, kernels, block: int, dtype) -> list:
    """Cut a 1-D correlation along an axis of length ``n`` into dense blocks for matrix products.

    Returns ``(o0, o1, w0, w1, matrices)`` per block of outputs ``o0:o1``: each matrix (one per
    kernel) maps inputs ``w0:w1`` to those outputs, with beyond-the-edge taps folded onto the edge
    voxel (edge replication, as ``mode="nearest"``).
    """
    blocks = []
    taps = numpy.arange(-radius, radius + 1)
    for o0 in range(0, n, block):
        o1 = min(n, o0 + block)
        w0, w1 = max(0, o0 - radius), min(n, o1 + radius)
        rows = numpy.repeat(numpy.arange(o1 - o0), taps.size)
        cols = numpy.clip(numpy.arange(o0, o1)[:, None] + taps[None, :], 0, n - 1).reshape(-1) - w0
        matrices = []
        for weights in kernels:
            matrix = numpy.zeros((o1 - o0, w1 - w0))
            numpy.add.at(matrix, (rows, cols), numpy.tile(weights, o1 - o0))
            matrices.append(matrix.astype(dtype))
        blocks.append((o0, o1, w0, w1, matrices))
    return blocks


def _separable_compute_blas(kernels: list, shape, work: numpy.dtype):
    """Separable derivative filtering as banded matrix products (BLAS), 8 one-dimensional passes:
    K: smooth, differentiate; J: three products; I: three products."""
    (rk, gk, dk), (rj, gj, dj), (ri, gi, di) = kernels
    _, nj, ni = shape
    j_blocks = _banded_blocks(nj, rj, (gj, dj), max(32, 2 * rj), work)
    # along I the input is on the left of the product: transpose the block matrices once
    i_blocks = [(o0, o1, w0, w1, [m.T.copy() for m in mats])
                for o0, o1, w0, w1, mats in _banded_blocks(ni, ri, (gi, di), max(32, 2 * ri), work)]
    k_matrices = {}
    lock = threading.Lock()

    def k_matrix(n):
        with lock:
            if n not in k_matrices:
                # the slab buffer already holds clamped halo slices: plain Toeplitz rows
                matrix = numpy.zeros((2 * n, n + 2 * rk))
                for o in range(n):
                    matrix[o, o:o + 2 * rk + 1] = gk
                    matrix[n + o, o:o + 2 * rk + 1] = dk
                k_matrices[n] = matrix.astype(work)
            return k_matrices[n]

    def compute(buf, out, scratch):
        n = out.shape[0]
        both = scratch.get("k", (2 * n, nj * ni), work)
        numpy.matmul(k_matrix(n), buf.reshape(n + 2 * rk, nj * ni), out=both)
        smooth_k = both[:n].reshape(n, nj, ni)
        diff_k = both[n:].reshape(n, nj, ni)
        for_x = scratch.get("x", (n, nj, ni), work)
        for_y = scratch.get("y", (n, nj, ni), work)
        for_z = scratch.get("z", (n, nj, ni), work)
        for o0, o1, w0, w1, (smooth, derivative) in j_blocks:
            numpy.matmul(smooth, smooth_k[:, w0:w1], out=for_x[:, o0:o1])
            numpy.matmul(derivative, smooth_k[:, w0:w1], out=for_y[:, o0:o1])
            numpy.matmul(smooth, diff_k[:, w0:w1], out=for_z[:, o0:o1])
        rows = n * nj
        gx = scratch.get("gx", (rows, ni), work)
        gy = both[:n].reshape(rows, ni)              # the K results are no longer needed
        gz = both[n:].reshape(rows, ni)
        sx, sy, sz = (a.reshape(rows, ni) for a in (for_x, for_y, for_z))
        for o0, o1, w0, w1, (smooth, derivative) in i_blocks:
            numpy.matmul(sx[:, w0:w1], derivative, out=gx[:, o0:o1])
            numpy.matmul(sy[:, w0:w1], smooth, out=gy[:, o0:o1])
            numpy.matmul(sz[:, w0:w1], smooth, out=gz[:, o0:o1])
        gx *= gx
        gy *= gy
        gz *= gz
        gx += gy
        gx += gz
        numpy.sqrt(gx.reshape(out.shape), out=out)

    return compute, rk


def _blas_single_thread():
    """A context limiting BLAS to one thread (our slabs already use every core), or None.

    Many tiny matrix products are slow when BLAS spreads each of them over threads, especially on a
    busy machine; without threadpoolctl the numpy code path is used instead.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return lambda: threadpool_limits(limits=1, user_api="blas")


# ---------------------------------------------------------------- public API

def gradient_magnitude(array, spacing: Sequence[float] = (1.0, 1.0, 1.0), method: str = "central",
                       sigma: Optional[float] = None, *, progress: Optional[ProgressCallback] = None,
                       out: Optional[numpy.ndarray] = None) -> numpy.ndarray:
    """Gradient magnitude ``|grad F|`` of a volume, as float32, in scalar units per spacing unit.

    Parameters
    ----------
    array : numpy.ndarray
        Scalar volume in Slicer's K,J,I order (``slicer.util.arrayFromVolume``), any real numeric
        type (integers are never truncated: the result is float32). A 2-D array (J, I) is taken as a
        one-slice volume and the result is 2-D too. Never modified.
    spacing : three floats
        Voxel size in I,J,K order (``volumeNode.GetSpacing()``), in mm: the result is then per mm.
        With spacing (1, 1, 1) the result is per voxel step, and ``central`` gives exactly the
        quantity on the x axis of Slicer's GPU volume rendering gradient opacity
        (``0.5 * sqrt(sum_i (F[i+1] - F[i-1])^2)``, scalar units per voxel).
    method : {"central", "sobel", "gaussian"}
        See the module documentation. ``central`` equals vtkImageGradientMagnitude
        (Dimensionality 3, HandleBoundaries on) on float64 data with the same spacing.
    sigma : float, optional
        Standard deviation of the Gaussian in the spacing's units (mm); required for, and only
        allowed with, ``gaussian``. Per axis it is ``sigma / h`` voxels.
    progress : callable, optional
        ``progress(fraction, message)``, called from the calling thread.
    out : numpy.ndarray, optional
        float32 array of the result's shape to write into (and return); must not share memory
        with ``array``.

    Returns
    -------
    numpy.ndarray of float32, same shape as ``array``. In a one-slice volume the slice direction
    contributes nothing; a constant volume gives zeros. NaN in the input propagates to neighbours.

    Raises
    ------
    GradientToolsError
        For a bad array, spacing, method, sigma or ``out``.
    """
    original_ndim = numpy.ndim(array)
    volume = _check_array(array)
    spacing = _check_spacing(spacing)
    if method not in METHODS:
        raise GradientToolsError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "gaussian":
        if sigma is None:
            raise GradientToolsError("method 'gaussian' needs sigma (mm), e.g. sigma=1.0")
        try:
            sigma = float(sigma)
        except (TypeError, ValueError):
            raise GradientToolsError(f"sigma must be a number, got {sigma!r}") from None
        if not (math.isfinite(sigma) and sigma > 0):
            raise GradientToolsError(f"sigma must be a positive finite number (mm), got {sigma}")
    elif sigma is not None:
        raise GradientToolsError(f"sigma applies only to method 'gaussian', not {method!r}")

    if out is None:
        result = numpy.empty(volume.shape, dtype=numpy.float32)
    else:
        if not isinstance(out, numpy.ndarray) or out.dtype != numpy.float32:
            raise GradientToolsError("out must be a float32 numpy array")
        if out.shape != numpy.shape(array):
            raise GradientToolsError(f"out has shape {out.shape}, expected {numpy.shape(array)}")
        if not out.flags.writeable:
            raise GradientToolsError("out is read-only")
        if numpy.may_share_memory(out, volume):
            raise GradientToolsError("out must not share memory with the input array")
        result = out if out.ndim == 3 else out[numpy.newaxis]

    work = _work_dtype(volume.dtype)
    context = contextlib.nullcontext()
    if method == "central":
        compute, halo = _central_compute(spacing, work), 1
        slab = _slab_slices(volume, work)
    else:
        kernels = _separable_kernels(spacing, method, sigma)
        slab = _slab_slices(volume, work, halo=kernels[0][0])
        single_thread_blas = _blas_single_thread() if _USE_BLAS else None
        if single_thread_blas is not None and volume.size >= _THREADED_MIN_VOXELS:
            compute, halo = _separable_compute_blas(kernels, volume.shape, work)
            context = single_thread_blas()
        else:
            compute, halo = _separable_compute(kernels, work)
    with context:
        _run_slabs(volume, result, halo, slab, work, compute, progress, f"gradient magnitude ({method})")
    return _shaped(result, out, original_ndim)


def _shaped(result: numpy.ndarray, out: Optional[numpy.ndarray], original_ndim: int) -> numpy.ndarray:
    if out is not None:
        return out
    return result[0] if original_ndim == 2 else result
