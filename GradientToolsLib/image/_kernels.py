"""Kernels of the slab engine: each ``*_compute`` returns ``compute(buffer, out, scratch)`` for
:func:`GradientToolsLib.image._slabs.run_slabs` (``buffer``: input slices with their halo, as float;
``out``: the float32 output slices; ``scratch``: per-thread buffers).

* central differences: ``vtk_central_compute`` runs vtkImageGradientMagnitude itself on each slab
  (the default engine), ``central_compute`` is the same formula in numpy (``engine="numpy"``);
* separable derivative filters (Sobel and derivative of Gaussian): eight one-dimensional passes
  (smooth and differentiate along K, three products along J, three along I), either as shifted-slice
  sums in numpy (``separable_compute``) or as banded matrix products (``separable_compute_blas``,
  BLAS limited to one thread per slab thread).
"""

from __future__ import annotations

import math
import threading
from typing import Optional, Tuple

import numpy

#: Gaussian kernels are cut at this many standard deviations (as scipy.ndimage's default)
TRUNCATE = 4.0


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


def central_compute(spacing: Tuple[float, float, float], work: numpy.dtype):
    """Central differences in numpy, in ``work`` precision (equal to VTK within float32 rounding)."""
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


def vtk_update_releases_gil() -> bool:
    """True when VTK's ``Update()`` lets other Python threads run: VTK >= 9.4 (the wrapper hint
    VTK_UNBLOCKTHREADS, effective with VTK_PYTHON_FULL_THREADSAFE, ON by default). Slicer 5.8 has
    VTK 9.2, where slab threads would take turns in the filter."""
    from vtkmodules.vtkCommonCore import vtkVersion

    return (vtkVersion.GetVTKMajorVersion(), vtkVersion.GetVTKMinorVersion()) >= (9, 4)


def vtk_central_compute(spacing: Tuple[float, float, float], vtk_threads: int = 1):
    """vtkImageGradientMagnitude (Dimensionality 3, HandleBoundaries on) on each slab.

    The slab buffer (slices ``k0 - 1 .. k1``, the halo slices already clamped at the volume's ends)
    is wrapped as vtkImageData without a copy; the filter is asked for the inner slices only, so at
    a seam it differences real neighbour slices and at the volume's ends the replicated edge slice,
    which is what it does on the whole volume (``F[1] - F[0]`` there). VTK differences in double
    whatever the scalar type, so a float32 slab loses nothing when the cast to float32 is exact.
    Its output is written straight into the float32 result: the output image is given an array on
    the result's slices, which the filter reuses (vtkImageData keeps its scalars for new data and
    AllocateScalars reuses an array of the right type that nothing else holds). Float64 slabs, or
    a non-contiguous result, go through a per-thread float64 buffer and one cast. Should VTK
    allocate its own array after all, that is detected and copied from.
    ``vtk_threads``: VTK's own threads per slab (1 when slabs already run one per core).
    """
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkCommonCore import vtkDoubleArray, vtkFloatArray
    from vtkmodules.vtkCommonDataModel import vtkImageData
    from vtkmodules.vtkCommonExecutionModel import vtkStreamingDemandDrivenPipeline
    from vtkmodules.vtkImagingGeneral import vtkImageGradientMagnitude

    update_extent = vtkStreamingDemandDrivenPipeline.UPDATE_EXTENT()
    local = threading.local()            # per slab thread: one filter, one image on its buffer

    def filter_on(buf):
        """The thread's filter, its input wrapping ``buf`` (re-wrapped when the buffer changes)."""
        key = (buf.__array_interface__["data"][0], buf.shape)
        if getattr(local, "key", None) != key:
            image = vtkImageData()
            image.SetExtent(0, buf.shape[2] - 1, 0, buf.shape[1] - 1, 0, buf.shape[0] - 1)
            image.SetSpacing(*spacing)
            image.GetPointData().SetScalars(numpy_support.numpy_to_vtk(buf.reshape(-1), deep=False))
            filt = vtkImageGradientMagnitude()
            filt.SetDimensionality(3)
            filt.HandleBoundariesOn()
            filt.SetEnableSMP(False)
            filt.SetNumberOfThreads(vtk_threads)
            filt.SetInputData(image)
            local.key, local.image, local.filter = key, image, filt
        local.image.Modified()           # new slices in the same buffer
        return local.filter

    def compute(buf, out, scratch):
        n, nj, ni = out.shape
        filt = filter_on(buf)
        direct = out.dtype == buf.dtype and out.flags.c_contiguous
        target = out if direct else scratch.get("vtk output", out.shape, buf.dtype)
        array = vtkFloatArray() if target.dtype == numpy.float32 else vtkDoubleArray()
        array.SetVoidArray(target.reshape(-1), target.size, 1)     # 1: VTK never frees it
        filt.GetOutput().GetPointData().SetScalars(array)
        del array                        # only the output may hold it, or VTK allocates a new one
        filt.UpdateInformation()         # resets the update extent: ask for the inner slices after it
        wanted = (0, ni - 1, 0, nj - 1, 1, n)
        update_extent.Set(filt.GetOutputInformation(0), list(wanted), 6)   # 50x faster than info.Set
        filt.Update()                    # releases the GIL on VTK >= 9.4 (vtk_update_releases_gil)
        output = filt.GetOutput()
        if tuple(output.GetExtent()) != wanted:      # pragma: no cover - a pipeline that ignored us
            raise RuntimeError(f"vtkImageGradientMagnitude made extent {output.GetExtent()}, not {wanted}")
        written = numpy.asarray(output.GetPointData().GetScalars()).reshape(out.shape)   # no copy
        if written.__array_interface__["data"] != target.__array_interface__["data"]:  # pragma: no cover
            target = written             # VTK made its own array after all
        if target is not out:
            numpy.copyto(out, target)

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


def separable_kernels(spacing: Tuple[float, float, float], method: str, sigma: Optional[float]) -> list:
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


def separable_compute(kernels: list, work: numpy.dtype):
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


def separable_compute_blas(kernels: list, shape, work: numpy.dtype):
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
