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

All three run on the slab engine (:mod:`._slabs`: a few slices at a time, cast to float on the fly,
one thread per core), so no float copy of the whole input is ever held: the extra memory is the
float32 output plus a few megabytes. The kernels are in :mod:`._kernels`; Sobel and Gaussian run as
banded matrix products (BLAS, one thread per slab thread) on large volumes when threadpoolctl can
limit BLAS, else as shifted-slice sums in numpy (inside Slicer, or small volumes).
"""

from __future__ import annotations

import contextlib
from typing import Optional, Sequence

import numpy

from .._shared.threads import can_limit_blas, single_blas_thread
from .._shared.validate import check_positive, check_spacing, check_volume
from ..errors import GradientToolsError
from ..progress import ProgressCallback
from . import _kernels, _slabs
from ._kernels import TRUNCATE, gaussian_kernels  # noqa: F401  (public: kernel inspection)

METHODS = ("central", "sobel", "gaussian")

# Sobel and Gaussian by banded matrix products when BLAS threads can be limited (threadpoolctl)
_USE_BLAS = True


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
    volume = check_volume(array)
    spacing = check_spacing(spacing)
    if method not in METHODS:
        raise GradientToolsError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "gaussian":
        if sigma is None:
            raise GradientToolsError("method 'gaussian' needs sigma (mm), e.g. sigma=1.0")
        sigma = check_positive(sigma, "sigma (mm)")
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

    work = _slabs.work_dtype(volume.dtype)
    context = contextlib.nullcontext()
    if method == "central":
        compute, halo = _kernels.central_compute(spacing, work), 1
        slab = _slabs.slab_slices(volume, work)
    else:
        kernels = _kernels.separable_kernels(spacing, method, sigma)
        slab = _slabs.slab_slices(volume, work, halo=kernels[0][0])
        if _USE_BLAS and can_limit_blas() and volume.size >= _slabs.THREADED_MIN_VOXELS:
            compute, halo = _kernels.separable_compute_blas(kernels, volume.shape, work)
            context = single_blas_thread()
        else:
            compute, halo = _kernels.separable_compute(kernels, work)
    with context:
        _slabs.run_slabs(volume, result, halo, slab, work, compute, progress,
                         f"gradient magnitude ({method})")
    return _shaped(result, out, original_ndim)


def _shaped(result: numpy.ndarray, out: Optional[numpy.ndarray], original_ndim: int) -> numpy.ndarray:
    if out is not None:
        return out
    return result[0] if original_ndim == 2 else result
