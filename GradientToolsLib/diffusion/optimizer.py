"""The optimizer of direction sets: L-BFGS on the product of spheres, then Newton's method.

It minimises the (weighted) antipodal Coulomb objective sum_{i != j} w_ij (1/|v_i - v_j| +
1/|v_i + v_j|) (:mod:`.energy`). Up to 400 directions the objective packs both pair matrices into
one N x N matrix and evaluates several descents as one (B, N, N) stack with preallocated buffers
(at N = 64 the Python overhead per numpy call rivals the arithmetic); larger sets go through
:func:`.energy.pair_terms` block by block. :func:`optimize_directions` is one descent from one start;
:mod:`.electrostatic` runs many starts and chooses.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from ..errors import GradientToolsError
from .energy import pair_terms
from .sphere import as_unit, inverse_pair_distances, unit_rows

#: up to this many directions the objective of the optimizer uses one packed n x n matrix (see
#: _Objective; measured 1.6x faster than the blocks at N = 300, slower at N = 500)
_PACKED = 400
#: abandonment rule (see optimize_directions): steps before it applies, and the factor
_ABANDON_AFTER = 30
_ABANDON_FACTOR = 3.0
#: L-BFGS: curvature pairs kept, longest step of any direction (radians), length of the first
#: (steepest descent) step, and the most step reductions of one line search. The memory and the
#: first step decide which minimum a start leads to: from golden spirals at N = 128, memory 12
#: and a first step of 0.0003 reach the optimum 20 times in 20, memory 4 twice, a first step
#: of 0.05 five times in 30
_MEMORY = 12
_MAX_STEP = 0.1
_FIRST_STEP = 0.0003
#: the first step from a uniform random start, where close pairs make the gradient uneven
_RANDOM_FIRST_STEP = 0.05
_MAX_BACKTRACK = 30
#: a descent whose value and gradient have not reached a new low for this many steps has
#: reached the precision of float64 arithmetic
_STALL = 50


class _Objective:
    """Objective sum_{i != j} w_ij (1/|v_i - v_j| + 1/|v_i + v_j|) and its tangent gradient for a
    stack of B direction sets (B, n, 3) at once.

    For n <= _PACKED each set's pairs are one block and the whole stack is computed by a dozen
    numpy calls on (B, n, n) buffers kept between calls: at N = 64 the Python overhead of a numpy
    call is comparable with its arithmetic, so stacking several descents divides it. Both pair
    matrices are symmetric, so one n x n matrix holds |v_i - v_j|^2 above its diagonal and
    |v_i + v_j|^2 below it (2 + 2 s_ij v_i.v_j with s = -1 above, +1 below): the square roots and
    powers run on half the elements. Larger n go through :func:`_pair_terms` set by set.
    """

    def __init__(self, n: int, weights: Optional[np.ndarray], frozen: Optional[np.ndarray]):
        self.n, self.weights, self.frozen = n, weights, frozen
        self.small = n <= _PACKED
        self.buffers = {}
        if self.small:
            upper = np.triu(np.ones((n, n), dtype=bool), 1)
            self.sign2 = np.where(upper, -2.0, 2.0)  # 2 s_ij
            self.antisym = np.where(upper, 1.0, -1.0)

    def __call__(self, v: np.ndarray):
        """(objectives (B,), projected gradients (B, n, 3)) at the unit rows ``v`` (B, n, 3)."""
        batch, n = v.shape[0], self.n
        if self.small:
            if batch not in self.buffers:
                self.buffers[batch] = (np.empty((batch, n, n)), np.empty((batch, n, n)))
            d, c = self.buffers[batch]
            np.matmul(v, v.transpose(0, 2, 1), out=c)
            np.multiply(c, self.sign2, out=d)
            d += 2.0  # |v_i - v_j|^2 above the diagonal, |v_i + v_j|^2 below
            d.reshape(batch, n * n)[:, :: n + 1] = 1.0  # self pairs: 1/r = 1, subtracted below
            np.sqrt(d, out=d)  # nan for coincident directions: rejected by the line search
            np.divide(1.0, d, out=d)  # (faster than np.reciprocal here)
            np.multiply(d, d, out=c)
            c *= d
            if self.weights is not None:
                d *= self.weights
                c *= self.weights
            # each unordered pair's two terms appear once in d and twice in the ordered sum
            values = 2.0 * d.reshape(batch, n * n).sum(axis=1)
            if self.weights is None:
                values -= 2.0 * n
            # force_ij = 1/r-^3 - 1/r+^3 for both orders: (c - c^T) above, (c^T - c) below
            force = np.subtract(c, c.transpose(0, 2, 1), out=d)
            force *= self.antisym
            g = np.matmul(force, v)
            g *= 2.0
        else:
            values = np.empty(batch)
            g = np.empty_like(v)
            for b in range(batch):
                values[b], g[b] = pair_terms(v[b], self.weights, want_grad=True)
        g -= np.einsum("bij,bij->bi", g, v)[:, :, None] * v
        if self.frozen is not None:
            g[:, self.frozen] = 0.0
        return values, g


class _Descents:
    """Several L-BFGS descents on the product of spheres, advanced in lock-step as one stack.

    Each descent moves along its quasi-Newton direction (two-loop recursion on its own memory of
    curvature pairs; no coordinate moves more than _MAX_STEP) and is retracted by normalising the
    rows. A step failing Armijo's condition is shrunk (quadratic model) and retried at the next
    round while the others go on. A descent ends when its largest projected gradient component is
    below ``gtol``, when no step decreases the objective any more (precision reached), after
    ``maxiter`` steps, or when it is abandoned (see :func:`optimize_directions`).
    """

    def __init__(self, objective, n: int, gtol: float, maxiter: int):
        self.objective, self.n, self.gtol, self.maxiter, self.m = objective, n, gtol, maxiter, _MEMORY
        memory = _MEMORY
        size = 3 * n
        self.v = np.empty((0, n, 3))
        self.g = np.empty((0, n, 3))
        self.p = np.empty((0, size))
        self.value = np.empty(0)
        self.t = np.empty(0)
        self.slope = np.empty(0)
        self.gamma = np.empty(0)
        self.first = np.empty(0)
        self.s = np.zeros((memory, 0, size))
        self.y = np.zeros((memory, 0, size))
        self.rho = np.zeros((memory, 0))
        self.need = np.empty(0, dtype=bool)
        self.tags, self.steps, self.fails, self.history, self.lowest = [], [], [], [], []

    def __len__(self):
        return len(self.tags)

    def add(self, start: np.ndarray, tag, first_step: float = _FIRST_STEP) -> None:
        v = start[None]
        value, g = self.objective(v)
        if not np.isfinite(value[0]):
            raise GradientToolsError("coincident or antipodal directions in the start")
        cat = np.concatenate
        self.v, self.g, self.value = cat([self.v, v]), cat([self.g, g]), cat([self.value, value])
        self.p = cat([self.p, np.zeros((1, 3 * self.n))])
        self.t, self.slope = cat([self.t, [0.0]]), cat([self.slope, [0.0]])
        self.gamma = cat([self.gamma, [np.nan]])
        self.first = cat([self.first, [first_step]])
        self.s = cat([self.s, np.zeros((self.m, 1, 3 * self.n))], axis=1)
        self.y = cat([self.y, np.zeros((self.m, 1, 3 * self.n))], axis=1)
        self.rho = cat([self.rho, np.zeros((self.m, 1))], axis=1)
        self.need = cat([self.need, [True]])
        self.tags.append(tag)
        self.steps.append(0)
        self.fails.append(0)
        self.history.append([value[0]])
        self.lowest.append((np.inf, value[0], 0))  # lowest gradient and value, and when

    def remove(self, keep: np.ndarray) -> None:
        for name in ("v", "g", "p", "value", "t", "slope", "gamma", "first", "need"):
            setattr(self, name, getattr(self, name)[keep])
        self.s, self.y, self.rho = self.s[:, keep], self.y[:, keep], self.rho[:, keep]
        for name in ("tags", "steps", "fails", "history", "lowest"):
            setattr(self, name, [x for x, k in zip(getattr(self, name), keep) if k])

    def _directions(self) -> None:
        """New quasi-Newton directions for the descents whose last step was accepted."""
        batch = len(self)
        gf = self.g.reshape(batch, -1)
        q = gf.copy()
        alphas = []
        for i in range(self.m - 1, -1, -1):  # newest pair last in memory
            a = self.rho[i] * np.einsum("bk,bk->b", self.s[i], q)
            q -= a[:, None] * self.y[i]
            alphas.append(a)
        first = np.isnan(self.gamma)
        gamma = np.where(first, 0.0, self.gamma)
        if first.any():
            gamma[first] = self.first[first] / np.abs(gf[first]).max(axis=1)
        q *= gamma[:, None]
        for i in range(self.m):
            beta = self.rho[i] * np.einsum("bk,bk->b", self.y[i], q)
            q += (alphas[self.m - 1 - i] - beta)[:, None] * self.s[i]
        q *= -1.0
        slope = np.einsum("bk,bk->b", q, gf)
        bad = ~(slope < 0.0)
        if bad.any():  # not a descent direction: forget the curvature pairs, steepest descent
            self.rho[:, bad] = 0.0
            self.gamma[bad] = np.nan
            q[bad] = gf[bad] * (-self.first[bad] / np.abs(gf[bad]).max(axis=1))[:, None]
            slope[bad] = np.einsum("bk,bk->b", q[bad], gf[bad])
        need = self.need
        self.p[need] = q[need]
        self.slope[need] = slope[need]
        self.t[need] = np.minimum(1.0, _MAX_STEP / np.abs(q[need]).max(axis=1))

    def step(self, abandon_above: Optional[float] = None):
        """One round: every descent tries a step. Returns [(tag, objective, directions)] of the
        descents that ended (objective inf and directions None when abandoned); they are removed."""
        batch = len(self)
        if self.need.any():
            self._directions()
        trial = unit_rows(self.v + self.t[:, None, None] * self.p.reshape(batch, self.n, 3))
        value, g = self.objective(trial)
        ok = value <= self.value + 1e-4 * self.t * self.slope
        # near a minimum the decrease drowns in rounding: accept a step that leaves the value
        # unchanged to rounding when the directional derivative shows progress (Hager and
        # Zhang's approximate Wolfe conditions)
        flat = ~ok & (value <= self.value + 1e-12 * np.abs(self.value))
        if flat.any():
            dphi = np.einsum("bk,bk->b", g.reshape(batch, -1), self.p) * self.t
            ok |= flat & (dphi >= 0.9 * self.t * self.slope) & (dphi <= -0.9998 * self.t * self.slope)
        # the memory shifts for every descent (lock-step); failed steps leave an empty pair
        s_new = (trial - self.v).reshape(batch, -1)
        y_new = (g - self.g).reshape(batch, -1)
        sy = np.einsum("bk,bk->b", s_new, y_new)
        valid = ok & (sy > 1e-10 * np.einsum("bk,bk->b", s_new, s_new))
        self.s[:-1], self.y[:-1], self.rho[:-1] = self.s[1:], self.y[1:], self.rho[1:]
        self.s[-1], self.y[-1] = s_new, y_new
        self.rho[-1] = np.where(valid, 1.0 / np.where(valid, sy, 1.0), 0.0)
        if valid.any():
            self.gamma[valid] = sy[valid] / np.einsum("bk,bk->b", y_new[valid], y_new[valid])
        self.v[ok], self.g[ok], self.value[ok] = trial[ok], g[ok], value[ok]
        self.need = ok.copy()
        finished = []
        gmax = np.abs(self.g.reshape(batch, -1)).max(axis=1)
        margin = 0.0 if abandon_above is None else 1e-7 * abs(abandon_above)
        for b in range(batch):
            if ok[b]:
                self.steps[b] += 1
                self.fails[b] = 0
                history = self.history[b]
                history.append(value[b])
                if gmax[b] < self.lowest[b][0] or value[b] < self.lowest[b][1]:
                    self.lowest[b] = (min(gmax[b], self.lowest[b][0]), min(value[b], self.lowest[b][1]),
                                      self.steps[b])
                stalled = self.steps[b] - self.lowest[b][2] > _STALL
                if gmax[b] < self.gtol or self.steps[b] >= self.maxiter or stalled:
                    finished.append(b)
                elif abandon_above is not None and len(history) > _ABANDON_AFTER:
                    recent = history[-21] - history[-1]
                    if history[-1] - abandon_above > _ABANDON_FACTOR * recent + margin:
                        finished.append(b)
                        self.value[b] = np.inf
            else:
                self.fails[b] += 1
                if self.fails[b] >= _MAX_BACKTRACK:  # no decrease possible at this precision
                    finished.append(b)
                    continue
                # minimum of the quadratic through value, slope and new value, in [0.1 t, 0.5 t]
                t, slope, rise = self.t[b], self.slope[b], value[b] - self.value[b]
                shrink = 0.1
                if np.isfinite(rise):
                    shrink = min(0.5, max(0.1, -0.5 * slope * t / (rise - slope * t)))
                self.t[b] = t * shrink
        if not finished:
            return []
        done = [(self.tags[b], self.value[b], None if np.isinf(self.value[b]) else self.v[b].copy())
                for b in finished]
        keep = np.ones(batch, dtype=bool)
        keep[finished] = False
        self.remove(keep)
        return done


def _tangent_basis(v: np.ndarray) -> np.ndarray:
    """Two orthonormal tangent vectors per unit row of v: shape (n, 2, 3)."""
    helper = np.zeros_like(v)
    helper[np.arange(len(v)), np.argmin(np.abs(v), axis=1)] = 1.0
    e1 = np.cross(v, helper)
    e1 /= np.linalg.norm(e1, axis=1)[:, None]
    return np.stack([e1, np.cross(v, e1)], axis=1)


def _newton_polish(v: np.ndarray, frozen: Optional[np.ndarray], gtol: float,
                   iterations: int = 8) -> Optional[Tuple[float, np.ndarray]]:
    """Newton's method with the exact Riemannian Hessian, from near a local minimum.

    With h(c) = 1/sqrt(2 - 2c) + 1/sqrt(2 + 2c) of c = v_i.v_j, the (unweighted) objective
    sum_{i != j} h(c_ij) has Euclidean Hessian blocks 2 (h'' v_j v_i^T + h' I) (i != j) and
    2 sum_k h''_ik v_k v_k^T (i = j); on the product of spheres the Riemannian Hessian in a
    tangent basis B is B^T H B - diag(v_i . grad_i). The global rotations are zero modes: the
    step is solved in their orthogonal complement (nothing is frozen then). Converges in a
    few steps where L-BFGS creeps (the soft modes of large sets). Returns None when a step fails
    to lower the gradient (not near a minimum), so that the caller falls back to L-BFGS.
    """
    n = v.shape[0]
    objective = _Objective(n, None, frozen)
    movable = np.ones(n, dtype=bool) if frozen is None else ~frozen
    value, g = objective(v[None])
    value, g = float(value[0]), g[0]
    for _ in range(iterations):
        gmax = np.abs(g).max()
        if gmax < gtol:
            return value, v
        minus, plus = inverse_pair_distances(v)
        first = 2.0 * (minus ** 3 - plus ** 3)  # 2 h'
        second = 6.0 * (minus ** 5 + plus ** 5)  # 2 h''
        euclid_grad = first @ v
        basis = _tangent_basis(v)[movable]  # (m, 2, 3)
        vm = v[movable]
        m = vm.shape[0]
        # B_i^T v_j for all pairs: (m, 2, n)
        bv = np.einsum("iak,jk->iaj", basis, v)
        bvm = bv[:, :, movable]  # (m, 2, m): B_i^T v_j, and v_i^T B_j = bvm[j, :, i]
        # off-diagonal blocks: 2 h'' (B_i^T v_j)(v_i^T B_j) + 2 h' B_i^T B_j
        hess = np.einsum("ij,iaj,jbi->iajb", second[np.ix_(movable, movable)], bvm, bvm)
        hess += np.einsum("ij,iak,jbk->iajb", first[np.ix_(movable, movable)], basis, basis)
        # diagonal blocks: 2 sum_k h''_ik (B_i^T v_k)(v_k^T B_i) - (v_i . grad_i) I
        diag = np.einsum("ik,iak,ibk->iab", second[movable], bv, bv)
        radial = np.einsum("ij,ij->i", euclid_grad[movable], vm)
        idx = np.arange(m)
        hess[idx, :, idx, :] = diag - radial[:, None, None] * np.eye(2)
        hess = hess.reshape(2 * m, 2 * m)
        rhs = -np.einsum("iak,ik->ia", basis, g[movable]).ravel()
        if frozen is None:
            # the global rotations (e_k x v_i) are zero modes: solve in their complement
            rotations = np.einsum("iak,cik->iac", basis, np.cross(np.eye(3)[:, None, :], v[None]))
            q, _ = np.linalg.qr(rotations.reshape(2 * m, 3))
            rhs -= q @ (q.T @ rhs)
            hess += np.abs(np.diagonal(hess)).max() * (q @ q.T)
        try:
            step = np.linalg.solve(hess, rhs)
        except np.linalg.LinAlgError:
            return None
        trial = v.copy()
        trial[movable] += np.einsum("ia,iak->ik", step.reshape(m, 2), basis)
        trial = unit_rows(trial)
        new_value, new_g = objective(trial[None])
        new_value, new_g = float(new_value[0]), new_g[0]
        if not (new_value <= value + 1e-12 * abs(value) and np.abs(new_g).max() < gmax):
            return None
        v, value, g = trial, new_value, new_g
    return (value, v) if np.abs(g).max() < gtol else None


def optimize_directions(start, movable: Optional[np.ndarray] = None, weights: Optional[np.ndarray] = None,
                        gtol: float = 1e-8, maxiter: int = 20000,
                        abandon_above: Optional[float] = None) -> Tuple[float, np.ndarray]:
    """Descend to the nearest local minimum of the (weighted) antipodal Coulomb energy.

    L-BFGS on the product of spheres (see :class:`_Descents`): steps along the quasi-Newton
    direction in the tangent spaces, retracted by normalising each direction.

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
        although its recent rate of decrease says it will not get below it: after 30 steps,
        when (current - abandon_above) > 3 x (decrease over the last 20 steps) + 1e-7 x
        abandon_above (a margin so that descents into the same minimum finish). Descents
        creep down geometrically near their minimum, so this cuts hopeless restarts at about half
        of their cost.

    Returns
    -------
    (objective, directions)
        ``objective`` is sum_{i != j} w_ij (1/|v_i - v_j| + 1/|v_i + v_j|) (equal to E_full - N/2
        without weights); ``directions`` the (N, 3) unit vectors at the minimum.
    """
    v0 = as_unit(start, "start")
    n = v0.shape[0]
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (n, n):
            raise GradientToolsError(f"weights must have shape ({n}, {n}), got {weights.shape}")
    frozen = None if movable is None else ~np.asarray(movable, dtype=bool)
    if n < 2:
        return 0.0, v0
    descents = _Descents(_Objective(n, weights, frozen), n, gtol, maxiter)
    descents.add(v0, 0)
    while True:
        done = descents.step(abandon_above)
        if done:
            _, value, v = done[0]
            break
    if v is None:
        return np.inf, None
    if frozen is not None:
        v[frozen] = v0[frozen]
    return float(value), v
