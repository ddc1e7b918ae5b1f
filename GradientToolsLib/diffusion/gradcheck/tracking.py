"""Deterministic tensor streamlines for every candidate table at once, in millimetres.

The tensor field is fitted once with the given table. For a candidate that maps vectors by the signed
permutation matrix M (``new = M @ old``), fitting with the candidate table gives exactly
``M D M^T`` (the log-linear fit is linear in the table's quadratic terms, and M is orthogonal), so
its principal direction is ``M e1`` and its FA is unchanged. One field therefore serves all 24
candidates: the streamlines of every candidate advance together, each point reading the common
field and turning the direction through its own M.

Tracking follows MRtrix's ``tckgen -algorithm tensor_det``: the tensor is interpolated trilinearly
at each point, the streamline steps along its principal eigenvector (the sign chosen to continue
forward), and stops when FA falls below a cutoff, the turn of one step exceeds a maximum angle, the
point leaves the mask or the volume, or a maximum length is reached. Positions are continuous voxel
indices (I, J, K; voxel centres at integers); directions are unit vectors in the voxel axes in
physical space, so a step of ``step`` mm moves ``step * d / spacing`` voxels: anisotropic voxels are
tracked in millimetres.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from .tensor import fractional_anisotropy, principal_directions

# corner offsets (di, dj, dk) of a trilinear cell
_CORNERS = np.array([(a, b, c) for c in (0, 1) for b in (0, 1) for a in (0, 1)])


@dataclass
class TrackingParameters:
    """Streamline rules. Lengths in mm (defaults scale with the mean voxel size, as MRtrix's)."""

    step: float
    max_angle: float  # degrees per step
    fa_cutoff: float
    max_length: float


class TensorField:
    """A (K, J, I, 6) tensor field with trilinear sampling and a nearest-voxel mask."""

    def __init__(self, tensors: np.ndarray, mask: np.ndarray) -> None:
        self.shape = tensors.shape[:3]
        k, j, i = self.shape
        self.flat = np.ascontiguousarray(tensors.reshape(-1, 6), dtype=np.float32)
        self.mask = np.ascontiguousarray(mask.reshape(-1))
        self.strides = np.array([1, i, i * j])  # flat index of (di, dj, dk)
        self.upper = np.array([i - 1, j - 1, k - 1], dtype=np.float64)
        self._corner_offsets = _CORNERS @ self.strides

    def inside(self, pos: np.ndarray) -> np.ndarray:
        """Points within the volume whose nearest voxel is in the mask."""
        ok = np.all((pos >= -0.5) & (pos <= self.upper + 0.5), axis=1)
        nearest = np.clip(np.rint(pos), 0, self.upper).astype(np.intp) @ self.strides
        ok &= self.mask[nearest]
        return ok

    def sample(self, pos: np.ndarray) -> np.ndarray:
        """Trilinearly interpolated tensors (P, 6) at continuous voxel positions (P, 3) (I, J, K)."""
        clamped = np.clip(pos, 0.0, self.upper)
        base = np.minimum(np.floor(clamped), np.maximum(self.upper - 1, 0)).astype(np.intp)
        frac = (clamped - base).astype(np.float32)
        pairs = np.stack([1.0 - frac, frac], axis=2)  # (P, 3 axes, 2: lower/upper corner)
        weights = (pairs[:, 0, _CORNERS[:, 0]] * pairs[:, 1, _CORNERS[:, 1]]
                   * pairs[:, 2, _CORNERS[:, 2]])  # (P, 8)
        index = np.minimum((base @ self.strides)[:, None] + self._corner_offsets, self.flat.shape[0] - 1)
        return np.einsum("pc,pcd->pd", weights, self.flat[index])


def _turn(directions: np.ndarray, perms: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """Apply each point's candidate: new[:, a] = signs[:, a] * old[:, perms[:, a]]."""
    return np.take_along_axis(directions, perms, axis=1) * signs


def track_lengths(field: TensorField, seeds: np.ndarray, perm_table: np.ndarray, sign_table: np.ndarray,
                  spacing: Sequence[float], params: TrackingParameters,
                  progress: Optional[Callable[[float], None]] = None) -> np.ndarray:
    """Length (mm) of the streamline through every seed for every candidate.

    Parameters
    ----------
    field : TensorField
        Tensors in the voxel axes, fitted with the given table.
    seeds : ndarray (S, 3)
        Seed positions, continuous voxel indices (I, J, K).
    perm_table, sign_table : ndarray (C, 3)
        The candidates (new[:, a] = signs[a] * old[:, perm[a]]).
    spacing : 3 floats
        Voxel size (I, J, K), mm.
    params : TrackingParameters
    progress : callable(fraction), optional

    Returns
    -------
    ndarray (C, S): both halves of each streamline added, mm.
    """
    n_cand, n_seeds = perm_table.shape[0], seeds.shape[0]
    inv_spacing = (1.0 / np.asarray(spacing, dtype=np.float64)).astype(np.float32)
    e1 = principal_directions(field.sample(seeds).astype(np.float64)).astype(np.float32)
    # points: (candidate, seed, half) flattened; half 0 follows +M e1, half 1 follows -M e1
    cand = np.repeat(np.arange(n_cand), 2 * n_seeds)
    seed = np.tile(np.repeat(np.arange(n_seeds), 2), n_cand)
    half_sign = np.tile(np.array([1.0, -1.0], dtype=np.float32), n_cand * n_seeds)
    owner = np.arange(cand.size)
    pos = seeds[seed].astype(np.float32)
    perms, signs = perm_table[cand], sign_table[cand].astype(np.float32)
    direction = _turn(e1[seed], perms, signs) * half_sign[:, None]
    lengths = np.zeros(cand.size, dtype=np.float64)
    cos_max = np.float32(np.cos(np.radians(params.max_angle)))
    step = np.float32(params.step)
    max_steps = int(np.floor(params.max_length / params.step / 2.0))  # per half
    for count in range(max_steps):
        if owner.size == 0:
            break
        new_pos = pos + direction * (step * inv_spacing)
        alive = field.inside(new_pos)
        tensors = field.sample(new_pos).astype(np.float64)
        alive &= fractional_anisotropy(tensors) >= params.fa_cutoff
        new_dir = _turn(principal_directions(tensors).astype(np.float32), perms, signs)
        dot = np.einsum("pc,pc->p", new_dir, direction)
        alive &= np.abs(dot) >= cos_max
        lengths[owner[alive]] += params.step
        keep = np.flatnonzero(alive)
        pos, owner, perms, signs = new_pos[keep], owner[keep], perms[keep], signs[keep]
        direction = new_dir[keep] * np.sign(dot[keep])[:, None]
        if progress is not None and count % 8 == 0:
            progress(max(count / max_steps, 1.0 - owner.size / cand.size))
    return lengths.reshape(n_cand, n_seeds, 2).sum(axis=2)
