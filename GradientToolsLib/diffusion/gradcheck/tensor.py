"""Diffusion tensors for the gradient check: the b=0 volumes, a log-linear fit, FA and the principal
direction, all vectorised over voxels (numpy only).

Tensors are stored as six components per voxel in the order (xx, yy, zz, xy, xz, yz), where x, y, z
are the frame of the gradient vectors (for the check: the voxel axes I, J, K), in mm^2/s.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ...errors import GradientToolsError

#: b-values at or below this (s/mm^2) are b=0 volumes (as GradientScheme's default)
B0_THRESHOLD = 50.0
#: voxels fitted per block (bounds the temporary (block, volumes, 7) arrays to tens of MB)
FIT_BLOCK = 16384


def b0_volumes(bvals: np.ndarray, bvecs: np.ndarray, threshold: float = B0_THRESHOLD) -> np.ndarray:
    """Boolean (N,): b <= ``threshold``, or a zero or non-finite (NaN, as converters write) vector.

    Raises when a volume with b above the threshold has no usable direction.
    """
    norms = np.linalg.norm(np.nan_to_num(bvecs, nan=0.0, posinf=0.0, neginf=0.0), axis=1)
    finite = np.all(np.isfinite(bvecs), axis=1)
    low_b = bvals <= threshold
    no_direction = ~finite | (norms < 1e-6)
    bad = no_direction & ~low_b
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise GradientToolsError(f"volume {i} has b={bvals[i]:g} s/mm^2 but no gradient direction "
                                 f"({'non-finite' if not finite[i] else 'zero'} vector)")
    return low_b | no_direction


def design_matrix(bvals: np.ndarray, unit_bvecs: np.ndarray) -> np.ndarray:
    """(N, 7) rows [1, -b gx^2, -b gy^2, -b gz^2, -2b gx gy, -2b gx gz, -2b gy gz] (log S = X @ p)."""
    g = unit_bvecs
    b = bvals[:, None]
    quad = np.concatenate([g * g, 2.0 * g[:, [0]] * g[:, [1]], 2.0 * g[:, [0]] * g[:, [2]],
                           2.0 * g[:, [1]] * g[:, [2]]], axis=1)
    return np.concatenate([np.ones((g.shape[0], 1)), -b * quad], axis=1)


def fit_tensors(signal: np.ndarray, bvals: np.ndarray, unit_bvecs: np.ndarray, *,
                weighted: bool = True, progress: Optional[Callable[[float], None]] = None) -> np.ndarray:
    """Log-linear tensor fit of every row of ``signal``.

    Parameters
    ----------
    signal : ndarray (V, N)
        Signal of V voxels in N volumes (b=0 volumes included), any real type.
    bvals : ndarray (N,)
        b-values, s/mm^2 (b=0 volumes: their b, usually 0).
    unit_bvecs : ndarray (N, 3)
        Unit gradient directions (zero rows for b=0 volumes).
    weighted : bool
        Weighted least squares with weights from the ordinary fit's predicted signal (squared), as
        DIPY's and MRtrix's default ``wls``; otherwise ordinary least squares (MRtrix tckgen's).
    progress : callable(fraction), optional
        Called after each block of voxels.

    Returns
    -------
    ndarray (V, 6) float64: tensors (xx, yy, zz, xy, xz, yz), mm^2/s.
    """
    x = design_matrix(np.asarray(bvals, dtype=np.float64), np.asarray(unit_bvecs, dtype=np.float64))
    if np.linalg.matrix_rank(x) < 7:
        raise GradientToolsError(
            "the gradient table cannot determine a tensor (needs a b=0 and at least six "
            "non-collinear diffusion directions)")
    pinv = np.linalg.pinv(x)
    out = np.empty((signal.shape[0], 6))
    for start in range(0, signal.shape[0], FIT_BLOCK):
        block = np.asarray(signal[start:start + FIT_BLOCK], dtype=np.float64)
        out[start:start + block.shape[0]] = _fit_block(block, x, pinv, weighted)[:, 1:]
        if progress is not None:
            progress((start + block.shape[0]) / signal.shape[0])
    return out


def _fit_block(block: np.ndarray, x: np.ndarray, pinv: np.ndarray, weighted: bool) -> np.ndarray:
    # a signal of 0 (masked scanners, clipped noise) has no logarithm: floor it at a small fraction
    # of the voxel's largest value
    floor = np.maximum(block.max(axis=1, keepdims=True) * 1e-3, 1e-6)
    y = np.log(np.maximum(block, floor))
    params = y @ pinv.T
    if not weighted:
        return params
    # weights: the ordinary fit's predicted signal squared, scaled to 1 at each voxel's largest
    # (the solution does not change; the normal matrix stays well scaled)
    log_pred = params @ x.T
    w = np.exp(2.0 * (log_pred - log_pred.max(axis=1, keepdims=True)))
    # X^T W X for every voxel as one matrix product: its 7x7 entries are w @ (x_i * x_j)
    rows, cols = np.triu_indices(7)
    xtwx = np.empty((block.shape[0], 7, 7))
    upper = w @ (x[:, rows] * x[:, cols])
    xtwx[:, rows, cols] = upper
    xtwx[:, cols, rows] = upper
    xtwy = (w * y) @ x
    try:
        return np.linalg.solve(xtwx, xtwy[..., None])[..., 0]
    except np.linalg.LinAlgError:  # a degenerate voxel in the block: keep the ordinary fit there
        out = params.copy()
        for v in range(block.shape[0]):
            try:
                out[v] = np.linalg.solve(xtwx[v], xtwy[v])
            except np.linalg.LinAlgError:
                pass
        return out


def fractional_anisotropy(tensors: np.ndarray) -> np.ndarray:
    """FA of (P, 6) tensors, without eigenvalues: sqrt(3/2 |D - tr(D)/3 I|^2 / |D|^2) (0 for D = 0)."""
    d = tensors
    mean = (d[:, 0] + d[:, 1] + d[:, 2]) / 3.0
    off = 2.0 * (d[:, 3] ** 2 + d[:, 4] ** 2 + d[:, 5] ** 2)
    dev = (d[:, 0] - mean) ** 2 + (d[:, 1] - mean) ** 2 + (d[:, 2] - mean) ** 2 + off
    total = d[:, 0] ** 2 + d[:, 1] ** 2 + d[:, 2] ** 2 + off
    with np.errstate(invalid="ignore", divide="ignore"):
        fa = np.sqrt(1.5 * dev / total)
    return np.where(total > 0, np.minimum(fa, 1.0), 0.0)


def principal_directions(tensors: np.ndarray) -> np.ndarray:
    """Unit eigenvector of the largest eigenvalue of each (P, 6) tensor, (P, 3), closed form.

    The eigenvalue comes from the trigonometric solution of the characteristic cubic; the vector is
    the longest cross product of two rows of D - lambda I (numerically the best conditioned).
    """
    d = tensors
    xx, yy, zz, xy, xz, yz = (d[:, c] for c in range(6))
    q = (xx + yy + zz) / 3.0
    p1 = xy * xy + xz * xz + yz * yz
    p2 = (xx - q) ** 2 + (yy - q) ** 2 + (zz - q) ** 2 + 2.0 * p1
    p = np.sqrt(p2 / 6.0)
    safe = np.where(p > 0, p, 1.0)
    bxx, byy, bzz = (xx - q) / safe, (yy - q) / safe, (zz - q) / safe
    bxy, bxz, byz = xy / safe, xz / safe, yz / safe
    det = bxx * (byy * bzz - byz * byz) - bxy * (bxy * bzz - byz * bxz) + bxz * (bxy * byz - byy * bxz)
    phi = np.arccos(np.clip(det / 2.0, -1.0, 1.0)) / 3.0
    lam = q + 2.0 * p * np.cos(phi)
    r0 = np.stack([xx - lam, xy, xz], axis=1)
    r1 = np.stack([xy, yy - lam, yz], axis=1)
    r2 = np.stack([xz, yz, zz - lam], axis=1)
    crosses = np.stack([np.cross(r0, r1), np.cross(r0, r2), np.cross(r1, r2)], axis=1)  # (P, 3, 3)
    norms = np.einsum("pcd,pcd->pc", crosses, crosses)
    best = np.argmax(norms, axis=1)
    vec = crosses[np.arange(d.shape[0]), best]
    length = np.sqrt(norms[np.arange(d.shape[0]), best])
    out = np.zeros_like(vec)
    ok = length > 0
    out[ok] = vec[ok] / length[ok, None]
    out[~ok, 0] = 1.0  # isotropic (or zero) tensor: any direction; FA is 0 there
    return out


def unit_directions(bvecs: np.ndarray, b0: np.ndarray) -> np.ndarray:
    """(N, 3) unit vectors of the weighted volumes, zero rows for the b=0 volumes."""
    g = np.where(b0[:, None], 0.0, np.nan_to_num(bvecs, nan=0.0))
    norms = np.linalg.norm(g, axis=1)
    g[~b0] /= norms[~b0, None]
    return g


