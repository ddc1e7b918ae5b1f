"""A synthetic diffusion-weighted "brain" made in code, for tests, benchmarks and the demo.

An ellipsoidal brain of grey-matter-like isotropic tissue with a CSF-filled "ventricle", crossed by
white-matter bundles: three curved arcs, one in each plane of the voxel axes (so that every axis
flip and swap of the gradient table bends some bundle the wrong way), and a straight oblique bundle
that crosses them. Outside the brain the signal is zero, then Rician noise is added everywhere, as
in a magnitude image.

Everything is described in millimetres in the voxel axes (I, J, K) around the centre of the field of
view, so anisotropic voxels sample the same anatomy more coarsely along one axis. Bundles are
cylindrical (zeppelin) tensors along the bundle's tangent, mixed by volume fraction where bundles
cross; the signal of each volume is S0 * sum_c f_c exp(-b g^T D_c g), with g in the voxel axes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .._shared.validate import check_spacing
from ..errors import GradientToolsError

#: diffusivities, mm^2/s
AXIAL, RADIAL, GREY, CSF = 1.7e-3, 0.3e-3, 0.8e-3, 3.0e-3


@dataclass
class DwiPhantom:
    """The phantom's images and truth.

    Attributes
    ----------
    dwi : ndarray (K, J, I, N) float32
        Magnitude signal with Rician noise (b=0 brain signal about ``scale``).
    brain : ndarray (K, J, I) bool
        The brain (ellipsoid) without background.
    white_matter : ndarray (K, J, I) float64
        Total fibre volume fraction per voxel (0..1).
    spacing : tuple
        Voxel size (I, J, K), mm.
    """

    dwi: np.ndarray
    brain: np.ndarray
    white_matter: np.ndarray
    spacing: Tuple[float, float, float]


def _grid(shape: Tuple[int, int, int], spacing) -> np.ndarray:
    k, j, i = shape
    axes = [(np.arange(n) - (n - 1) / 2.0) * s for n, s in zip((i, j, k), spacing)]
    z, y, x = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    return np.stack([x, y, z], axis=-1)  # (K, J, I, 3) mm, components along I, J, K


def _arc(points: np.ndarray, center, normal, radius: float, span: Tuple[float, float], reference):
    """Distance (mm) to a circular arc and the arc's unit tangent at each point."""
    n = np.asarray(normal, dtype=float) / np.linalg.norm(normal)
    u = np.asarray(reference, dtype=float)
    u = u - (u @ n) * n
    u /= np.linalg.norm(u)
    v = np.cross(n, u)
    q = points - np.asarray(center, dtype=float)
    height = q @ n
    planar = q - height[..., None] * n
    radial = np.linalg.norm(planar, axis=-1)
    angle = np.degrees(np.arctan2(planar @ v, planar @ u))
    distance = np.sqrt((radial - radius) ** 2 + height ** 2)
    outside = (angle < span[0]) | (angle > span[1])
    distance = np.where(outside, np.inf, distance)
    tangent = np.cross(n, planar / np.maximum(radial, 1e-9)[..., None])
    return distance, tangent


def _line(points: np.ndarray, center, direction):
    t = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
    q = points - np.asarray(center, dtype=float)
    distance = np.linalg.norm(q - (q @ t)[..., None] * t, axis=-1)
    return distance, np.broadcast_to(t, points.shape)


def _bundles(points: np.ndarray, extent: np.ndarray) -> List[Tuple[np.ndarray, np.ndarray, float]]:
    """(distance, tangent, tube radius) of each bundle; sizes scale with the field of view."""
    s = float(np.min(extent))
    lx, ly, lz = extent
    return [
        # axial arc (I-J plane), like the genu of the corpus callosum
        _arc(points, (0.0, -0.12 * ly, 0.05 * lz), (0, 0, 1), 0.28 * min(lx, ly), (-20.0, 200.0),
             (1, 0, 0)) + (0.09 * s,),
        # sagittal arc (J-K plane), like the cingulum
        _arc(points, (0.12 * lx, 0.0, -0.1 * lz), (1, 0, 0), 0.3 * min(ly, lz), (0.0, 180.0),
             (0, 1, 0)) + (0.08 * s,),
        # coronal arc (I-K plane), like a U-fibre
        _arc(points, (0.0, 0.15 * ly, -0.05 * lz), (0, 1, 0), 0.25 * min(lx, lz), (-150.0, 30.0),
             (1, 0, 0)) + (0.08 * s,),
        # straight oblique bundle through the middle
        _line(points, (0.0, 0.0, 0.0), (0.8, 0.45, 0.6)) + (0.07 * s,),
    ]


def dwi_phantom(bvals: Sequence[float], bvecs, *, shape: Sequence[int] = (24, 40, 40),
                spacing: Sequence[float] = (2.0, 2.0, 2.0), snr: float = 25.0, scale: float = 1000.0,
                seed: Optional[int] = 0) -> DwiPhantom:
    """A noisy DWI of the synthetic brain for a gradient table in the voxel axes.

    Parameters
    ----------
    bvals : sequence (N,)
        b-values, s/mm^2.
    bvecs : array (N, 3)
        Directions in the voxel axes I, J, K (component 0 along I); zero rows for b=0.
    shape : 3 ints
        (K, J, I) voxels.
    spacing : 3 floats
        Voxel size (I, J, K), mm.
    snr : float
        b=0 signal of grey matter over the Rician noise sigma; ``inf`` for no noise.
    scale : float
        b=0 signal of grey matter and white matter (CSF: twice that).
    seed : int or None
        Noise seed.

    Returns
    -------
    DwiPhantom
    """
    spacing = check_spacing(spacing)
    shape = tuple(int(n) for n in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise GradientToolsError(f"shape must be three positive integers (K, J, I), got {shape!r}")
    bvals = np.asarray(bvals, dtype=np.float64).reshape(-1)
    g = np.asarray(bvecs, dtype=np.float64)
    if g.shape != (bvals.size, 3):
        raise GradientToolsError(f"bvecs must have shape ({bvals.size}, 3), got {g.shape}")
    norms = np.linalg.norm(g, axis=1)
    g = np.where(norms[:, None] > 0, g / np.where(norms > 0, norms, 1.0)[:, None], 0.0)

    points = _grid(shape, spacing)
    extent = np.array([n * s for n, s in zip(shape[::-1], spacing)])
    radii = 0.46 * extent
    brain = np.sum((points / radii) ** 2, axis=-1) <= 1.0
    ventricle = np.sum(((points - (0.0, 0.05 * extent[1], 0.1 * extent[2])) / (0.12 * extent)) ** 2,
                       axis=-1) <= 1.0

    fractions, tangents = [], []
    edge = float(np.max(spacing))
    for distance, tangent, radius in _bundles(points, extent):
        fractions.append(np.clip((radius + edge - distance) / edge, 0.0, 1.0) * (brain & ~ventricle))
        tangents.append(tangent)
    fractions = np.stack(fractions)  # (B, K, J, I)
    total = fractions.sum(axis=0)
    fractions /= np.maximum(total, 1.0)[None]  # crossing: fractions share the voxel
    fibre = np.minimum(total, 1.0)

    iso = np.where(ventricle, CSF, GREY)
    s0 = np.where(ventricle, 2.0, 1.0) * brain
    signal = np.empty(shape + (bvals.size,), dtype=np.float32)
    for n in range(bvals.size):
        value = (1.0 - fibre) * np.exp(-bvals[n] * iso)
        for f, t in zip(fractions, tangents):
            cos2 = (t @ g[n]) ** 2
            value += f * np.exp(-bvals[n] * (RADIAL + (AXIAL - RADIAL) * cos2))
        signal[..., n] = scale * s0 * value
    if np.isfinite(snr):
        rng = np.random.default_rng(seed)
        sigma = scale / float(snr)
        real = signal + rng.normal(0.0, sigma, signal.shape).astype(np.float32)
        imag = rng.normal(0.0, sigma, signal.shape).astype(np.float32)
        signal = np.sqrt(real * real + imag * imag)
    return DwiPhantom(signal, brain, fibre, spacing)
