"""Gradient-magnitude volumes in physical units, with float output and VTK-compatible boundaries.

Three estimators of ``|grad F|`` (see :func:`gradient_magnitude`):

``central``
    Central differences, ``(F[i+1] - F[i-1]) / (2 h)``, with the edge voxel replicated at the
    boundaries, i.e. ``(F[1] - F[0]) / (2 h)`` there: ``vtkImageGradientMagnitude`` with
    Dimensionality 3 and HandleBoundaries on, run by default (``engine="vtk"``) on float-cast slabs.
    The result is bit for bit the filter's result on a float64 copy of the whole volume, rounded
    to float32. ``engine="numpy"`` computes the same formula in numpy (float32 arithmetic where the
    input allows), faster, and equal to the filter within float32 rounding (relative 2e-6).
``sobel``
    The 3-D Sobel operator (derivative ``[-1, 0, 1]`` along the axis, smoothing ``[1, 2, 1]`` along the
    two others, edge voxels replicated), divided by ``32 h`` so that a linear ramp gives its slope.
``gaussian``
    Derivative-of-Gaussian filtering: ``sigma`` in millimetres, ``sigma / h`` voxels per axis, kernels
    truncated at 4 sigma, edge voxels replicated (scipy's ``mode="nearest"``). The derivative kernel is
    normalised so that a linear ramp gives exactly its slope (scipy normalises it to the continuous
    Gaussian's moment instead, which the truncated, sampled kernel misses by about 1e-4), so the result
    equals ``scipy.ndimage.gaussian_gradient_magnitude(..., mode="nearest")`` per axis up to that factor.

All three run on the slab engine (:mod:`._slabs`: a few slices at a time, cast to float on the fly,
one thread per core), so no float copy of the whole input is ever held: the extra memory is the
float32 output plus a few megabytes. VTK's filter runs once per slab, single-threaded, the slabs
spread over the cores, where VTK's ``Update()`` releases Python's GIL (VTK >= 9.4); with an older
VTK (Slicer 5.8 has 9.2) the slabs take turns and each uses VTK's own threads. The kernels are in
:mod:`._kernels`; Sobel and Gaussian run as banded matrix products (BLAS, one thread per slab
thread) on large volumes when threadpoolctl can limit BLAS, else as shifted-slice sums in numpy
(inside Slicer, or small volumes).
"""

from __future__ import annotations

import contextlib
from typing import Optional, Sequence, Tuple

import numpy

from .._shared.threads import can_limit_blas, single_blas_thread
from .._shared.validate import check_positive, check_spacing, check_volume
from ..errors import GradientToolsError
from ..progress import ProgressCallback
from . import _kernels, _slabs
from ._kernels import TRUNCATE, gaussian_kernels  # noqa: F401  (public: kernel inspection)

METHODS = ("central", "sobel", "gaussian")
#: how ``central`` is computed; sobel and gaussian are numpy kernels
ENGINES = ("vtk", "numpy")

# Sobel and Gaussian by banded matrix products when BLAS threads can be limited (threadpoolctl)
_USE_BLAS = True


def gradient_magnitude(array, spacing: Sequence[float] = (1.0, 1.0, 1.0), method: str = "central",
                       sigma: Optional[float] = None, *, engine: Optional[str] = None,
                       progress: Optional[ProgressCallback] = None,
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
        See the module documentation. ``central`` is vtkImageGradientMagnitude
        (Dimensionality 3, HandleBoundaries on) with the same spacing, on float-cast slabs.
    sigma : float, optional
        Standard deviation of the Gaussian in the spacing's units (mm); required for, and only
        allowed with, ``gaussian``. Per axis it is ``sigma / h`` voxels.
    engine : {"vtk", "numpy"}, optional
        How ``central`` is computed: ``"vtk"`` (the default) runs vtkImageGradientMagnitude,
        identical to it on a float64 copy of the volume up to the final float32 rounding;
        ``"numpy"`` is a numpy implementation of the same formula, faster, within float32
        rounding of it. ``sobel`` and ``gaussian`` are numpy kernels (``"numpy"`` or omitted).
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
        For a bad array, spacing, method, sigma, engine or ``out``, and for a finite volume whose
        gradient exceeds float32's range.
    """
    original_ndim = numpy.ndim(array)
    volume = check_volume(array)
    spacing = check_spacing(spacing)
    sigma, engine = check_method(method, sigma, engine)

    result = _result_buffer(out, array, volume)
    compute, halo, slab, work, threads, context = _plan(volume, spacing, method, sigma, engine)
    with context:
        _slabs.run_slabs(volume, result, halo, slab, work, compute, progress,
                         f"gradient magnitude ({method})", threads=threads)
    _check_overflow(result, volume, spacing)
    return _shaped(result, out, original_ndim)


def _check_overflow(result: numpy.ndarray, volume: numpy.ndarray, spacing) -> None:
    """An infinite gradient of a finite volume is not a result: the values (or 1 / spacing) are too
    large for float32, whose largest number is 3.4e38. Integer volumes bound their gradient by their
    type's range over the spacing (every method's kernels are normalized to a ramp's slope), so only
    float volumes, or absurd spacings, cost the extra pass over the result."""
    if volume.dtype.kind in "biu":
        info = numpy.iinfo(volume.dtype) if volume.dtype.kind != "b" else numpy.iinfo(numpy.uint8)
        span = float(info.max) - float(info.min)
        bound = 4.0 * span * float(numpy.sqrt(sum(1.0 / h ** 2 for h in spacing)))
        if bound < 1e38:
            return
    if result.size and numpy.isinf(result.max()) and not (volume.dtype.kind == "f"
                                                          and numpy.isinf(volume).any()):
        raise GradientToolsError(
            "the gradient magnitude exceeds float32's range (3.4e38): the volume's values, or its "
            "differences divided by the spacing, are too large; rescale the volume or the spacing")


def check_method(method: str, sigma: Optional[float], engine: Optional[str]) -> Tuple[Optional[float], str]:
    """(sigma, engine) after checking that method, sigma and engine go together."""
    if method not in METHODS:
        raise GradientToolsError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "gaussian":
        if sigma is None:
            raise GradientToolsError("method 'gaussian' needs sigma (mm), e.g. sigma=1.0")
        sigma = check_positive(sigma, "sigma (mm)")
    elif sigma is not None:
        raise GradientToolsError(f"sigma applies only to method 'gaussian', not {method!r}")
    return sigma, _check_engine(engine, method)


def _plan(volume: numpy.ndarray, spacing, method: str, sigma: Optional[float], engine: str,
          chunk: bool = False):
    """(compute, halo, slab slices, work dtype, slab threads or None, context) for run_slabs.

    ``chunk``: the volume is one chunk of a larger one (the dask engine): one slab thread, and
    Sobel/Gaussian by shifted-slice sums, whose value at a voxel does not depend on where the
    chunk starts (the banded products' rounding depends on their block layout).
    """
    if engine == "vtk":
        work = _slabs.exact_float_dtype(volume.dtype)
        slab = _slabs.slab_slices(volume, work)
        threads, vtk_threads = (1, 1) if chunk else _vtk_threads(volume, slab)
        return (_kernels.vtk_central_compute(spacing, vtk_threads), 1, slab, work, threads,
                contextlib.nullcontext())
    work = _slabs.work_dtype(volume.dtype)
    threads = 1 if chunk else None
    if method == "central":
        return (_kernels.central_compute(spacing, work), 1, _slabs.slab_slices(volume, work), work, threads,
                contextlib.nullcontext())
    kernels = _kernels.separable_kernels(spacing, method, sigma)
    slab = _slabs.slab_slices(volume, work, halo=kernels[0][0])
    if not chunk and _USE_BLAS and can_limit_blas() and volume.size >= _slabs.THREADED_MIN_VOXELS:
        compute, halo = _kernels.separable_compute_blas(kernels, volume.shape, work)
        return compute, halo, slab, work, None, single_blas_thread()
    compute, halo = _kernels.separable_compute(kernels, work)
    return compute, halo, slab, work, threads, contextlib.nullcontext()


def gradient_magnitude_chunk(block: numpy.ndarray, spacing, method: str, sigma: Optional[float],
                             engine: str) -> numpy.ndarray:
    """:func:`gradient_magnitude` of one 3-D chunk (with its halo), single-threaded, by kernels whose
    value at a voxel depends only on the voxel's neighbourhood (the dask engine's block function).
    Arguments are taken as already checked."""
    result = numpy.empty(block.shape, dtype=numpy.float32)
    compute, halo, slab, work, threads, context = _plan(block, spacing, method, sigma, engine, chunk=True)
    with context:
        _slabs.run_slabs(block, result, halo, slab, work, compute, None, "", threads=threads)
    return result


def _result_buffer(out: Optional[numpy.ndarray], array, volume: numpy.ndarray) -> numpy.ndarray:
    """The float32 K,J,I array to write into: a new one, or ``out`` after checks."""
    if out is None:
        return numpy.empty(volume.shape, dtype=numpy.float32)
    if not isinstance(out, numpy.ndarray) or out.dtype != numpy.float32:
        raise GradientToolsError("out must be a float32 numpy array")
    if out.shape != numpy.shape(array):
        raise GradientToolsError(f"out has shape {out.shape}, expected {numpy.shape(array)}")
    if not out.flags.writeable:
        raise GradientToolsError("out is read-only")
    if numpy.may_share_memory(out, volume):
        raise GradientToolsError("out must not share memory with the input array")
    return out if out.ndim == 3 else out[numpy.newaxis]


def _check_engine(engine: Optional[str], method: str) -> str:
    if engine is None:
        return "vtk" if method == "central" else "numpy"
    if engine not in ENGINES:
        raise GradientToolsError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "vtk" and method != "central":
        raise GradientToolsError(f"engine 'vtk' computes only method 'central'; {method!r} runs on numpy")
    return engine


def _vtk_threads(volume: numpy.ndarray, slab: int) -> Tuple[int, int]:
    """(slab threads, VTK threads per slab): slabs over the cores where VTK's Update releases the
    GIL and there are slabs to share; otherwise one slab at a time with VTK's own threads."""
    threads = min(_slabs.thread_count(volume.size), -(-volume.shape[0] // slab))
    if threads > 1 and _kernels.vtk_update_releases_gil():
        return threads, 1
    return 1, _slabs.thread_count(volume.size)


def _shaped(result: numpy.ndarray, out: Optional[numpy.ndarray], original_ndim: int) -> numpy.ndarray:
    if out is not None:
        return out
    return result[0] if original_ndim == 2 else result
