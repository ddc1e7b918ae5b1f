"""Electrostatic repulsion energies of direction sets (the bipolar model of MRtrix's dirgen).

Each direction is a pair of unit charges at +v and -v. For N unit directions the Coulomb (1/r)
energy of all 2N charges is

    E_full = 2 * sum_{i<j} (1/|v_i - v_j| + 1/|v_i + v_j|) + N/2

(the N/2 is the energy of each charge with its own antipode). MRtrix's dirgen and dirstat report
E_half = (E_full - N/2) / 2; DIPY's ``disperse_charges`` reports 2 * E_full.

Pairs are processed in blocks of the upper triangle (each block serves (i, j) and (j, i); blocks
stay in cache), each block from one Gram matrix (:func:`.sphere.inverse_pair_distances`).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .sphere import as_unit, inverse_pair_distances

#: rows/columns per block of the pair matrices (128 x 128 float64 blocks stay in L1/L2 cache)
_BLOCK = 128


def pair_terms(v: np.ndarray, weights: Optional[np.ndarray], want_grad: bool):
    """Sum over ordered pairs i != j of w_ij (1/|v_i - v_j| + 1/|v_i + v_j|), and its gradient.

    ``v`` must hold unit rows; ``weights`` is None or a symmetric (N, N) array. The gradient is the
    Euclidean one in R^(N x 3) (not projected). Only the upper triangle of blocks is computed: an
    off-diagonal block serves the pairs (i, j) and (j, i).
    """
    n = v.shape[0]
    total = 0.0
    grad = np.zeros_like(v) if want_grad else None
    edges = list(range(0, n, _BLOCK)) + [n]
    for a in range(len(edges) - 1):
        ra = slice(edges[a], edges[a + 1])
        for b in range(a, len(edges) - 1):
            rb = slice(edges[b], edges[b + 1])
            # nan or inf for coincident directions: rejected by the line search
            d = inverse_pair_distances(v[ra], None if a == b else v[rb])
            w = None if weights is None else weights[ra, rb]
            block = float(d.sum()) if w is None else float(np.einsum("kij,ij->", d, w))
            total += block if a == b else 2.0 * block
            if want_grad:
                # d/dv_i of 1/|v_i - v_j| is v_j / r^3, of 1/|v_i + v_j| is -v_j / r^3
                cube = np.square(d)
                cube *= d
                force = np.subtract(cube[0], cube[1], out=cube[0])
                if w is not None:
                    force *= w
                grad[ra] += force @ v[rb]
                if a != b:
                    grad[rb] += force.T @ v[ra]
    if want_grad:
        grad *= 2.0  # each unordered pair appears twice among the ordered pairs
    return total, grad



def energy(directions) -> float:
    """E_full: Coulomb energy of the 2N charges {+v_i, -v_i} (see the module docstring).

    Parameters
    ----------
    directions : array_like, shape (N, 3)
        Directions; normalised before use (zero vectors are rejected).
    """
    v = as_unit(directions)
    total, _ = pair_terms(v, None, want_grad=False)
    return total + 0.5 * v.shape[0]


def energy_half(directions) -> float:
    """E_half = (E_full - N/2) / 2, the "total energy" MRtrix's dirgen and dirstat print."""
    v = as_unit(directions)
    return 0.5 * (energy(v) - 0.5 * v.shape[0])
