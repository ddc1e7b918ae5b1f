"""Synthetic CT-like volumes made in code, for tests, benchmarks and the demo.

The phantom is a torso-like object: an elliptical body of soft tissue under a layer of subcutaneous
fat, two lungs, a bone ring (a vertebra-like annulus), a contrast-filled aorta and an oblique contrast
vessel, surrounded by air. It is described in *normalised physical coordinates* of the field of view
(voxel centres at physical positions, the field of view spanning ``shape * spacing`` millimetres), so
two calls with the same field of view sample the same object, whatever the voxel size: halving the
spacing and doubling the shape gives the same anatomy, sampled twice as finely.

Region values follow CT conventions in Hounsfield units (:data:`HU`); :data:`LABELS` names the label
values of the returned label map.
"""

from __future__ import annotations

from typing import Dict, Sequence, Tuple

import numpy

from .._shared.validate import check_seed
from ..errors import GradientToolsError

AIR = 0
SOFT_TISSUE = 1
FAT = 2
BONE = 3
VESSEL = 4
LUNG = 5

#: region name -> label value in the label map returned by :func:`ct_phantom`
LABELS: Dict[str, int] = {
    "air": AIR,
    "soft tissue": SOFT_TISSUE,
    "fat": FAT,
    "bone": BONE,
    "vessel": VESSEL,
    "lung": LUNG,
}

#: label value -> noise-free value in Hounsfield units
HU: Dict[int, float] = {
    AIR: -1000.0,
    SOFT_TISSUE: 40.0,
    FAT: -100.0,
    BONE: 700.0,
    VESSEL: 300.0,
    LUNG: -850.0,
}


def _check_triple(name: str, values, positive_int: bool = False) -> Tuple:
    try:
        items = tuple(values)
    except TypeError:
        raise GradientToolsError(f"{name} must be three numbers, got {values!r}") from None
    if len(items) != 3:
        raise GradientToolsError(f"{name} must have three values, got {len(items)}")
    if positive_int:
        if not all(isinstance(v, (int, numpy.integer)) and v >= 1 for v in items):
            raise GradientToolsError(f"{name} must be three positive integers, got {values!r}")
        return tuple(int(v) for v in items)
    try:
        floats = tuple(float(v) for v in items)
    except (TypeError, ValueError):
        raise GradientToolsError(f"{name} must be three numbers, got {values!r}") from None
    if not all(numpy.isfinite(v) and v > 0 for v in floats):
        raise GradientToolsError(f"{name} must be three positive finite numbers, got {values!r}")
    return floats


def _normalised_axis(n: int, h: float) -> numpy.ndarray:
    """Voxel-centre positions along one axis, in units of the half field of view (-1..1)."""
    x = (numpy.arange(n, dtype=numpy.float64) + 0.5 - 0.5 * n) * h
    return (x / (0.5 * n * h)).astype(numpy.float32)


def phantom_labels(shape: Sequence[int] = (64, 96, 96),
                   spacing: Sequence[float] = (1.0, 1.0, 1.0)) -> numpy.ndarray:
    """The phantom's noise-free label map.

    Parameters
    ----------
    shape : three ints
        Array shape in K,J,I order.
    spacing : three floats
        Voxel size in I,J,K order (mm). Only the field of view ``shape * spacing`` matters for where
        regions fall; the spacing is part of the signature so the object is placed physically.

    Returns
    -------
    numpy.ndarray of uint8, shape ``shape`` (K,J,I); values from :data:`LABELS`.
    """
    nk, nj, ni = _check_triple("shape", shape, positive_int=True)
    hi, hj, hk = _check_triple("spacing", spacing)
    # u: left-right (I), v: anterior-posterior (J), w: head-foot (K); all in -1..1 over the view
    u = _normalised_axis(ni, hi)[None, None, :]
    v = _normalised_axis(nj, hj)[None, :, None]
    w = _normalised_axis(nk, hk)[:, None, None]

    labels = numpy.zeros((nk, nj, ni), dtype=numpy.uint8)
    in_z = numpy.abs(w) <= 0.85                     # the body ends before the first and last slices

    def ellipse(cu, cv, ru, rv):
        return ((u - cu) / ru) ** 2 + ((v - cv) / rv) ** 2

    body = (ellipse(0.0, 0.0, 0.85, 0.65) <= 1.0) & in_z
    labels[body] = FAT
    inner = (ellipse(0.0, 0.0, 0.85 * 0.86, 0.65 * 0.82) <= 1.0) & in_z
    labels[inner] = SOFT_TISSUE

    # lungs: ellipsoids in the upper (w < 0.15) part of the body, left and right of the midline
    for cu in (-0.36, 0.36):
        lung = (ellipse(cu, -0.05, 0.25, 0.36) + ((w + 0.25) / 0.55) ** 2) <= 1.0
        labels[lung & inner] = LUNG

    # bone ring: a vertebra-like annulus behind the centre, running the length of the body
    r2 = ellipse(0.0, 0.38, 0.15, 0.15)
    labels[(r2 <= 1.0) & (r2 >= 0.45 ** 2) & in_z] = BONE

    # aorta: a contrast-filled cylinder in front of the spine
    labels[(ellipse(0.12, 0.1, 0.075, 0.075) <= 1.0) & (numpy.abs(w) <= 0.8)] = VESSEL

    # an oblique vessel crossing the slices, so edges are not all parallel to the axes
    du, dv, dw = 0.55, -0.35, 0.76
    norm = (du * du + dv * dv + dw * dw) ** 0.5
    du, dv, dw = du / norm, dv / norm, dw / norm
    pu, pv, pw = u + 0.1, v + 0.25, w - 0.0
    along = pu * du + pv * dv + pw * dw
    dist2 = (pu - along * du) ** 2 + (pv - along * dv) ** 2 + (pw - along * dw) ** 2
    labels[(dist2 <= 0.06 ** 2) & inner & (labels != LUNG)] = VESSEL
    return labels


def _noise_gain(sigmas_voxels: Sequence[float], truncate: float = 4.0) -> float:
    """Standard deviation of Gaussian-smoothed unit white noise (separable kernel), away from edges."""
    from scipy.ndimage import gaussian_filter1d

    gain2 = 1.0
    for s in sigmas_voxels:
        if s <= 0:
            continue
        radius = int(truncate * s + 0.5)
        delta = numpy.zeros(2 * radius + 1)
        delta[radius] = 1.0
        kernel = gaussian_filter1d(delta, s, truncate=truncate)
        gain2 *= float(numpy.sum(kernel * kernel))
    return gain2 ** 0.5


def ct_phantom(shape: Sequence[int] = (64, 96, 96), spacing: Sequence[float] = (1.0, 1.0, 1.0),
               noise_std: float = 20.0, seed: int = 0, correlation_mm: float = 0.0,
               dtype=numpy.int16) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """A synthetic CT-like volume and its label map.

    Parameters
    ----------
    shape : three ints
        Array shape in K,J,I order (slices, rows, columns).
    spacing : three floats
        Voxel size in I,J,K order, millimetres (as ``GetSpacing()``).
    noise_std : float
        Standard deviation of the additive Gaussian noise, HU. 0 gives the noise-free image.
    seed : int
        Seed of the noise; the same seed gives the same volume.
    correlation_mm : float
        Standard deviation (mm) of the Gaussian kernel that smooths the white noise before it is
        rescaled to ``noise_std``, as in real CT, whose noise is spatially correlated. 0: white noise.
    dtype : numpy dtype
        Output type. Integer types are rounded and clipped to their range (int16 is what CT scanners
        write); float types are returned unrounded.

    Returns
    -------
    image : numpy.ndarray of ``dtype``, shape ``shape`` (K,J,I), values in HU
    labels : numpy.ndarray of uint8, shape ``shape``; regions as in :data:`LABELS`, values as in
        :data:`HU`. Tests can take interiors of homogeneous regions by eroding ``labels == value``.
    """
    labels = phantom_labels(shape, spacing)
    hi, hj, hk = _check_triple("spacing", spacing)
    try:
        noise_std = float(noise_std)
        correlation_mm = float(correlation_mm)
    except (TypeError, ValueError):
        raise GradientToolsError("noise_std and correlation_mm must be numbers") from None
    if not (numpy.isfinite(noise_std) and noise_std >= 0):
        raise GradientToolsError(f"noise_std must be a finite number >= 0, got {noise_std}")
    if not (numpy.isfinite(correlation_mm) and correlation_mm >= 0):
        raise GradientToolsError(f"correlation_mm must be a finite number >= 0, got {correlation_mm}")
    dtype = numpy.dtype(dtype)
    if dtype.kind not in "iuf":
        raise GradientToolsError(f"dtype must be an integer or float type, got {dtype}")

    lut = numpy.zeros(256, dtype=numpy.float32)
    for label, value in HU.items():
        lut[label] = value
    image = lut[labels]                                    # float32, fresh array

    if noise_std > 0:
        rng = numpy.random.default_rng(check_seed(seed))
        noise = rng.standard_normal(labels.shape, dtype=numpy.float32)
        if correlation_mm > 0:
            from scipy.ndimage import gaussian_filter

            sigmas = (correlation_mm / hk, correlation_mm / hj, correlation_mm / hi)   # K,J,I voxels
            # a one-slice volume cannot be smoothed across slices: only smooth along axes with data
            sigmas = tuple(s if n > 1 else 0.0 for s, n in zip(sigmas, labels.shape))
            gaussian_filter(noise, sigmas, output=noise, mode="reflect", truncate=4.0)
            gain = _noise_gain(sigmas)
            noise *= numpy.float32(noise_std / gain)
        else:
            noise *= numpy.float32(noise_std)
        image += noise

    if dtype.kind in "iu":
        info = numpy.iinfo(dtype)
        numpy.rint(image, out=image)
        numpy.clip(image, info.min, info.max, out=image)
    return image.astype(dtype, copy=False), labels


#: signal of each label of :func:`mri_phantom` (0 background, 1..3 nested tissues)
MRI_SIGNAL: Dict[int, float] = {0: 0.0, 1: 200.0, 2: 350.0, 3: 600.0}


def mri_phantom(shape: Sequence[int] = (40, 72, 72), noise_std: float = 10.0, seed: int = 0,
                size: float = 0.4) -> Tuple[numpy.ndarray, numpy.ndarray, Dict[int, float]]:
    """A magnitude MRI-like volume: nested ellipsoids with Rician noise and a Rayleigh background.

    Parameters
    ----------
    shape : K, J, I voxel counts.
    noise_std : std of the Gaussian noise in each of the real and imaginary channels.
    seed : random seed (the result is deterministic for a seed).
    size : in-plane half-size of the outer ellipsoid relative to the field of view.

    Returns
    -------
    image : float32 array (K, J, I), |signal + n1 + i n2|.
    labels : uint8 array (K, J, I), 0 background, 1 outer, 2 middle, 3 inner tissue.
    values : dict label -> noise-free signal (:data:`MRI_SIGNAL`).
    """
    shape = _check_triple("shape", shape, positive_int=True)
    rng = numpy.random.default_rng(check_seed(seed))
    k, j, i = numpy.meshgrid(*[numpy.linspace(-1, 1, n) for n in shape], indexing="ij")
    r = numpy.sqrt((k / 0.8) ** 2 + (j / size / 1.6) ** 2 + (i / size / 1.6) ** 2)
    labels = numpy.zeros(shape, numpy.uint8)
    labels[r < 1] = 1
    labels[r < 0.7] = 2
    labels[r < 0.35] = 3
    signal = numpy.take(numpy.array([MRI_SIGNAL[n] for n in range(4)]), labels)
    image = numpy.hypot(signal + rng.normal(0, noise_std, shape), rng.normal(0, noise_std, shape))
    return image.astype(numpy.float32), labels, dict(MRI_SIGNAL)
