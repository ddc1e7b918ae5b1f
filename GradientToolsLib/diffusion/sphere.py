"""Directions on the sphere: unit vectors, pair distances, uniform and spiral point sets.

A diffusion direction v and its opposite -v measure the same thing, so most quantities here come in
pairs: the distance to a direction and to its antipode. For unit vectors both follow from the Gram
matrix, ``|v_i - v_j|^2 = 2 - 2 v_i.v_j`` and ``|v_i + v_j|^2 = 2 + 2 v_i.v_j``: one matrix product
(BLAS) and no N x N x 3 temporaries. :func:`inverse_pair_distances` is that formula, written once
for the energy, the optimiser's Newton step, the acquisition order and the quality report.

Arrays of directions have shape (N, 3), components x, y, z in the scheme's frame.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..errors import GradientToolsError


def as_unit(directions, name: str = "directions") -> np.ndarray:
    """A float64 copy of ``directions`` (N, 3) with every row normalised; zero or non-finite rows
    are errors naming ``name``."""
    v = np.array(directions, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3:
        raise GradientToolsError(f"{name} must have shape (N, 3), got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise GradientToolsError(f"{name} contain non-finite values")
    norms = np.linalg.norm(v, axis=1)
    if np.any(norms == 0):
        raise GradientToolsError(f"{name} contain a zero vector")
    return v / norms[:, None]


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Normalise the last axis of ``x`` in place (rows must be non-zero); returns ``x``."""
    x /= np.sqrt(np.einsum("...j,...j->...", x, x))[..., None]
    return x


def inverse_pair_distances(a: np.ndarray, b: Optional[np.ndarray] = None,
                           out: Optional[np.ndarray] = None) -> np.ndarray:
    """``1/|a_i - b_j|`` and ``1/|a_i + b_j|`` of unit rows, stacked as shape (2, len(a), len(b)).

    With ``b`` None the pairs are those of ``a`` with itself and the diagonal (a direction with
    itself) is 0. Coincident directions give ``inf`` in the first matrix, antipodal ones in the
    second (``nan`` when rounding makes the squared distance slightly negative): callers decide
    what that means (the energy is infinite, the order penalises, the report says so).
    ``out`` is an optional float64 buffer of the result's shape.
    """
    same = b is None
    b = a if same else b
    d = np.empty((2, a.shape[0], b.shape[0])) if out is None else out
    np.matmul(a, b.T, out=d[0])
    d[0] *= -2.0
    d[0] += 2.0                      # |a_i - b_j|^2 = 2 - 2 a_i.b_j
    np.subtract(4.0, d[0], out=d[1])  # |a_i + b_j|^2 = 2 + 2 a_i.b_j
    flat = d.reshape(2, -1)
    if same:
        flat[:, :: a.shape[0] + 1] = 1.0  # self pairs: finite here, zeroed below
    with np.errstate(divide="ignore", invalid="ignore"):
        np.sqrt(d, out=d)
        np.reciprocal(d, out=d)
    if same:
        flat[:, :: a.shape[0] + 1] = 0.0
    return d


def spiral_hemisphere(n: int, offset: float = 0.5) -> np.ndarray:
    """n points of a golden-angle spiral uniform in z over the upper hemisphere, shape (n, 3).

    With their antipodes they cover the sphere evenly: a start close to many good minima.
    ``offset`` in [0, 1) shifts the spiral (different offsets give different starts).
    """
    k = np.arange(n, dtype=np.float64) + offset
    z = 1.0 - k / n
    phi = k * np.pi * (3.0 - np.sqrt(5.0))
    r = np.sqrt(np.clip(1.0 - z * z, 0.0, None))
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def random_directions(n: int, rng: np.random.Generator) -> np.ndarray:
    """n directions uniformly distributed on the sphere, shape (n, 3)."""
    v = rng.normal(size=(n, 3))
    norms = np.linalg.norm(v, axis=1)
    norms[norms == 0] = 1.0
    v /= norms[:, None]
    v[np.linalg.norm(v, axis=1) == 0] = (0.0, 0.0, 1.0)
    return v
