"""Electrostatic repulsion energies of direction sets and single-shell optimisation.

A diffusion direction v and its opposite -v measure the same thing, so each direction is modelled
as a pair of unit charges at +v and -v (the "bipolar" model of MRtrix's dirgen). For N unit
directions the Coulomb (1/r) energy of all 2N charges is

    E_full = 2 * sum_{i<j} (1/|v_i - v_j| + 1/|v_i + v_j|) + N/2

(the N/2 is the energy of each charge with its own antipode). MRtrix's dirgen and dirstat report
E_half = (E_full - N/2) / 2; DIPY's ``disperse_charges`` reports 2 * E_full.

Speed: for unit vectors |v_i -+ v_j|^2 = 2 -+ 2 v_i.v_j, so all pair distances come from one matrix
product V V^T and the gradient from one more, both BLAS calls; no N x N x 3 arrays exist. Pairs are
processed in blocks of the upper triangle (each block serves (i, j) and (j, i); blocks stay in
cache for large N), and BLAS runs on one thread (:func:`single_blas_thread`).
"""

from __future__ import annotations

import contextlib
from typing import Optional, Tuple

import numpy as np
from scipy.optimize import minimize

from .errors import GradientToolsError
from .progress import report

#: rows/columns per block of the pair matrices (128 x 128 float64 blocks stay in L1/L2 cache)
_BLOCK = 128
#: two local minima closer than this (relative) are the same configuration
_SAME_MINIMUM = 1e-9
#: gradient threshold while exploring starts; energies there are already exact to ~1e-9 relative,
#: and only the winner is polished to the caller's ``gtol``
_EXPLORE_GTOL = 1e-3
#: abandonment rule (see optimise_directions): evaluations before it applies, and the factor
_ABANDON_AFTER = 30
_ABANDON_FACTOR = 3.0


def single_blas_thread():
    """Context limiting BLAS to one thread (via threadpoolctl when it is installed).

    The products here are small (N x 3 by 3 x 2N); a multi-threaded BLAS spends longer waking and
    spinning its threads than computing, which measured 8x slower on 2 busy cores.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # e.g. inside Slicer without it: correct, only slower
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _as_unit(directions, name: str = "directions") -> np.ndarray:
    v = np.array(directions, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3:
        raise GradientToolsError(f"{name} must have shape (N, 3), got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise GradientToolsError(f"{name} contain non-finite values")
    norms = np.linalg.norm(v, axis=1)
    if np.any(norms == 0):
        raise GradientToolsError(f"{name} contain a zero vector")
    return v / norms[:, None]


def _pair_terms(v: np.ndarray, weights: Optional[np.ndarray], want_grad: bool):
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
            rows, cols = ra.stop - ra.start, rb.stop - rb.start
            # d[0] = |v_i - v_j|^2 = 2 - 2 v_i.v_j and d[1] = |v_i + v_j|^2 = 2 + 2 v_i.v_j
            d = np.empty((2, rows, cols))
            np.matmul(v[ra], v[rb].T, out=d[0])
            d[0] *= -2.0
            d[0] += 2.0
            np.subtract(4.0, d[0], out=d[1])
            flat = d.reshape(2, -1)
            if a == b:
                flat[:, :: cols + 1] = 1.0  # self pairs: finite here, zeroed below
            np.maximum(d, 1e-300, out=d)
            np.sqrt(d, out=d)
            np.reciprocal(d, out=d)  # 1/r
            if a == b:
                flat[:, :: cols + 1] = 0.0
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
    v = _as_unit(directions)
    total, _ = _pair_terms(v, None, want_grad=False)
    return total + 0.5 * v.shape[0]


def energy_half(directions) -> float:
    """E_half = (E_full - N/2) / 2, the "total energy" MRtrix's dirgen and dirstat print."""
    v = _as_unit(directions)
    return 0.5 * (energy(v) - 0.5 * v.shape[0])


class _Abandoned(Exception):
    """Raised inside the objective to stop a descent that cannot beat the best minimum so far."""


def optimise_directions(start, movable: Optional[np.ndarray] = None, weights: Optional[np.ndarray] = None,
                        gtol: float = 1e-8, maxiter: int = 20000,
                        abandon_above: Optional[float] = None) -> Tuple[float, np.ndarray]:
    """Descend to the nearest local minimum of the (weighted) antipodal Coulomb energy.

    L-BFGS (scipy) on unconstrained vectors x_i that are normalised inside the objective: the
    gradient is the tangent-space (projected) gradient divided by |x_i|, so the optimiser moves
    on the product of spheres without a pole singularity.

    Parameters
    ----------
    start : ndarray, shape (N, 3)
        Starting directions (normalised here).
    movable : ndarray of bool, shape (N,), optional
        Rows that may move; the others stay exactly where they are. Default: all.
    weights : ndarray, shape (N, N), optional
        Symmetric pair weights w_ij (zero diagonal); default 1 for every pair.
    gtol : float
        Stop when the largest projected gradient component is below this.
    maxiter : int
        Iteration limit of L-BFGS.
    abandon_above : float, optional
        Give up early (returning ``(inf, None)``) once the objective is still above this value
        although its recent rate of decrease says it will not get below it: after 30 evaluations,
        when (current - abandon_above) > 3 x (decrease over the last 20 evaluations) + 1e-7 x
        abandon_above (a margin so that descents into the same minimum finish). Descents
        creep down geometrically near their minimum, so this cuts hopeless restarts at about half
        of their cost.

    Returns
    -------
    (objective, directions)
        ``objective`` is sum_{i != j} w_ij (1/|v_i - v_j| + 1/|v_i + v_j|) (equal to E_full - N/2
        without weights); ``directions`` the (N, 3) unit vectors at the minimum.
    """
    v0 = _as_unit(start, "start")
    n = v0.shape[0]
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (n, n):
            raise GradientToolsError(f"weights must have shape ({n}, {n}), got {weights.shape}")
    frozen = None if movable is None else ~np.asarray(movable, dtype=bool)

    history = []
    # descents heading for the same minimum as the best must finish (they confirm it)
    margin = 0.0 if abandon_above is None else 1e-7 * abs(abandon_above)

    def objective(x):
        xs = x.reshape(n, 3)
        r = np.sqrt(np.einsum("ij,ij->i", xs, xs))
        u = xs / r[:, None]
        value, g = _pair_terms(u, weights, want_grad=True)
        g -= np.einsum("ij,ij->i", g, u)[:, None] * u
        g /= r[:, None]
        if frozen is not None:
            g[frozen] = 0.0
        if abandon_above is not None:
            history.append(min(value, history[-1]) if history else value)
            gap = history[-1] - abandon_above
            recent = history[-21] - history[-1] if len(history) > 20 else np.inf
            if len(history) > _ABANDON_AFTER and gap > _ABANDON_FACTOR * recent + margin:
                raise _Abandoned
        return value, g.ravel()

    if n < 2:
        return 0.0, v0
    try:
        result = minimize(objective, v0.ravel(), jac=True, method="L-BFGS-B",
                          options={"maxiter": maxiter, "gtol": gtol, "ftol": 1e-16, "maxcor": 20})
    except _Abandoned:
        return np.inf, None
    v = result.x.reshape(n, 3)
    v = v / np.linalg.norm(v, axis=1)[:, None]
    if frozen is not None:
        v[frozen] = v0[frozen]
    value, _ = _pair_terms(v, weights, want_grad=False)
    return value, v


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


def _start(k: int, n: int, rng: np.random.Generator):
    """The k-th start and whether it is independent of the others (counts as a confirmation).

    Starts 1 and 3 are golden spirals at random offsets (they reach the best minimum more often
    than random starts for some N, e.g. 128, but land in the same minimum as each other, so they
    never confirm one); all others are uniform random.
    """
    if k in (1, 3):
        return spiral_hemisphere(n, offset=float(rng.random())), False
    return random_directions(n, rng), True


def default_restarts(n: int) -> int:
    """16 starts up to 200 directions, 30 above: the local minima multiply with N.

    Abandoned descents cost about a third of a full one, so 16 starts cost about what dirgen's 10
    would; they usually stop early, once the best minimum has been confirmed.
    """
    return 16 if n <= 200 else 30


def _search(n, fixed_v, rng, restarts, confirm, gtol, progress):
    n_fixed = fixed_v.shape[0]
    movable = (np.arange(n) >= n_fixed) if n_fixed else None
    best_value, best_v, hits = np.inf, None, 0
    for k in range(restarts):
        start, independent = _start(k, n, rng)
        start = np.concatenate([fixed_v, start[: n - n_fixed]])
        value, v = optimise_directions(start, movable=movable, gtol=max(gtol, _EXPLORE_GTOL),
                                       abandon_above=best_value if np.isfinite(best_value) else None)
        if value < best_value * (1.0 - _SAME_MINIMUM):
            best_value, best_v, hits = value, v, int(independent)
        elif abs(value - best_value) <= _SAME_MINIMUM * best_value:
            hits += int(independent)
        state = "abandoned" if v is None else f"E = {value + 0.5 * n:.6f}"
        report(progress, (k + 1) / restarts, f"start {k + 1}/{restarts}: {state}")
        if confirm and hits >= confirm:
            break
    if gtol < _EXPLORE_GTOL:
        _, best_v = optimise_directions(best_v, movable=movable, gtol=gtol)
    return best_v


def electrostatic_directions(n: int, seed: Optional[int] = None, restarts: Optional[int] = None,
                             confirm: int = 4, fixed=None, gtol: float = 1e-8, progress=None) -> np.ndarray:
    """n diffusion directions minimising the antipodal Coulomb energy E_full.

    Several starts (uniform random, and two golden-spiral hemispheres) are each descended with
    L-BFGS on the sphere; the lowest local minimum wins. Descents that cannot beat the best so far
    are abandoned half-way, and the search stops early once the lowest energy found has been
    reached from ``confirm`` independent (random) starts.

    Parameters
    ----------
    n : int
        Number of directions (including ``fixed`` ones), n >= 1.
    seed : int, optional
        Seed of the random starts; the same seed gives the same directions.
    restarts : int, optional
        Maximum number of starts; default :func:`default_restarts` (10, as MRtrix's dirgen, up to
        200 directions, 30 above).
    confirm : int
        Stop once the best minimum was found this many times (0 disables early stopping).
    fixed : array_like, shape (F, 3), optional
        Directions that must be part of the set; they are kept exactly (normalised) as the first F
        rows and the other n - F directions are optimised around them.
    gtol : float
        Convergence threshold on the largest projected gradient component.
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    ndarray, shape (n, 3), float64
        Unit vectors. Antipodal signs are arbitrary (see :mod:`scheme_order` for polarity).
    """
    try:
        n = int(n)
        restarts = default_restarts(n) if restarts is None else int(restarts)
    except (TypeError, ValueError):
        raise GradientToolsError("n and restarts must be integers") from None
    if n < 1:
        raise GradientToolsError(f"the number of directions must be at least 1, got {n}")
    if restarts < 1:
        raise GradientToolsError(f"restarts must be at least 1, got {restarts}")
    fixed_v = np.zeros((0, 3)) if fixed is None else _as_unit(fixed, "fixed directions")
    n_fixed = fixed_v.shape[0]
    if n_fixed > n:
        raise GradientToolsError(f"{n_fixed} fixed directions but only {n} directions requested")
    rng = np.random.default_rng(seed)
    if n_fixed == n:
        return fixed_v.copy()
    if n == 1:
        return random_directions(1, rng)

    with single_blas_thread():
        best_v = _search(n, fixed_v, rng, restarts, confirm, gtol, progress)
    report(progress, 1.0, "done")
    return best_v
