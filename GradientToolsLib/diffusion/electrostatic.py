"""Single-shell direction sets of minimal electrostatic energy: many starts, the lowest minimum.

Starts are uniform random sets, two golden-spiral hemispheres, and above 200 directions
perturbations of the best minimum so far (basin hopping). They are descended by the L-BFGS of
:mod:`.optimizer` (several descents advanced as one stack); descents that cannot beat the best so
far are abandoned half-way, the search stops once the lowest energy has been reached from
``confirm`` independent starts, and the winner is polished by Newton's method. BLAS runs on one
thread (the products are small; see :mod:`GradientToolsLib._shared.threads`).

Energies, their conventions and the peers' conventions: :mod:`.energy`.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .._shared.threads import single_blas_thread
from .._shared.validate import check_int, check_positive, check_seed
from ..errors import GradientToolsError
from ..progress import report
from .optimizer import (
    _FIRST_STEP,
    _RANDOM_FIRST_STEP,
    _Descents,
    _newton_polish,
    _Objective,
    optimize_directions,
)
from .sphere import as_unit, random_directions, spiral_hemisphere

#: two local minima closer than this (relative) count as the same configuration (the lower is kept)
_SAME_MINIMUM = 1e-7
#: gradient threshold while exploring starts; energies there are already exact to ~2e-8 relative
#: (N = 64), and only the winner is polished to the caller's ``gtol``
_EXPLORE_GTOL = 1e-2
#: basin hopping (see _start): above this many directions, from this start on, perturbations
#: of this size relative to the spacing of the points (initial, smallest, largest; it grows when
#: a hop falls back into the best minimum and shrinks when it lands higher)
_HOP_ABOVE = 200
_HOP_AFTER = 4
_HOP_SIZE = 0.3
_HOP_SIZE_MIN = 0.2
_HOP_SIZE_MAX = 1.0
#: default number of starts (see default_restarts), without and with basin hopping
_RESTARTS = 16
_RESTARTS_HOPPING = 48
#: descents advanced together (see _batch_size): at most this many, and at most this many
#: pair-matrix elements per stack
_MAX_BATCH = 8
_BATCH_ELEMENTS = 32768
#: the most directions one optimisation takes: its pair matrices grow as N^2 and its time about as
#: N^3 with the restarts it needs
MAX_DIRECTIONS = 1000
LIMIT_REASON = "the optimizer's time grows about as N^3; 1000 directions take minutes here"


def _start(k: int, n: int, rng: np.random.Generator, best: Optional[np.ndarray], hop: float):
    """The k-th start, whether it is independent of the others (counts as a confirmation), and
    the length of its first step (see _Descents).

    Starts 1 and 3 are golden spirals at random offsets (for some N, e.g. 128, they reach the
    best minimum far more often than random starts, but they land in the same minimum as each
    other, so they never confirm one). Above _HOP_ABOVE directions, starts from
    _HOP_AFTER on perturb the best minimum so far (basin hopping: the lowest minima are rare
    from random starts there but close to other low minima). All others are uniform random.
    """
    if k in (1, 3):
        return spiral_hemisphere(n, offset=float(rng.random())), False, _FIRST_STEP
    if n > _HOP_ABOVE and k >= _HOP_AFTER and best is not None:
        # perturbation: ``hop`` times the typical spacing of the 2n antipodal points
        sigma = hop * np.sqrt(2.0 * np.pi / n)
        return as_unit(best + sigma * rng.normal(size=best.shape)), False, _FIRST_STEP
    return random_directions(n, rng), True, _RANDOM_FIRST_STEP


def default_restarts(n: int) -> int:
    """16 starts up to 200 directions, 48 above (most of them basin hops, see _start).

    Abandoned descents and hops cost a fraction of a descent from a random start; the search
    stops early once the best minimum has been confirmed.
    """
    return _RESTARTS if n <= _HOP_ABOVE else _RESTARTS_HOPPING


def _batch_size(n: int) -> int:
    """Descents advanced together: enough to share the Python overhead, few enough for the cache."""
    return max(1, min(_MAX_BATCH, _BATCH_ELEMENTS // (n * n)))


def _search(n, fixed_v, rng, restarts, confirm, gtol, progress):
    """Starts and descents; returns the lowest minimum found, polished to ``gtol``.

    Small sets advance several descents together as one stack (see _Descents, _batch_size);
    every decision (starts, hop sizes, abandonment, stopping) depends on counts and energies
    only, never on time, so the outcome depends on the seed only. (Two worker threads for the
    descents at N = 300 measured no faster here: the GIL is held between the numpy calls.)
    """
    n_fixed = fixed_v.shape[0]
    frozen = (np.arange(n) < n_fixed) if n_fixed else None
    explore_gtol = max(gtol, _EXPLORE_GTOL)
    descents = _Descents(_Objective(n, None, frozen), n, explore_gtol, 20000)
    batch = _batch_size(n)
    state = {"best_value": np.inf, "best_v": None, "hits": 0, "ended": 0, "hop": _HOP_SIZE}
    independent, hopped = [], []

    def new_start(k):
        start, indep, first_step = _start(k, n, rng, state["best_v"], state["hop"])
        independent.append(indep)
        hopped.append(not indep and k not in (1, 3))
        return as_unit(np.concatenate([fixed_v, start[n_fixed:]])), first_step

    def finished(k, value, v):
        state["ended"] += 1
        best_value = state["best_value"]
        if value < best_value * (1.0 - _SAME_MINIMUM):
            state.update(best_value=value, best_v=v, hits=int(independent[k]))
        elif abs(value - best_value) <= _SAME_MINIMUM * best_value:
            state["hits"] += int(independent[k])
            if value < best_value:  # the same to exploration precision, or a close neighbour
                state.update(best_value=value, best_v=v)
            if hopped[k]:  # fell back into the best minimum: hop further
                state["hop"] = min(_HOP_SIZE_MAX, state["hop"] * 1.5)
        elif hopped[k]:  # landed higher: hop less far
            state["hop"] = max(_HOP_SIZE_MIN, state["hop"] / 1.2)
        message = "abandoned" if v is None else f"E = {value + 0.5 * n:.6f}"
        report(progress, state["ended"] / restarts, f"start {k + 1}/{restarts}: {message}")

    def threshold():
        return state["best_value"] if np.isfinite(state["best_value"]) else None

    started = 0
    while True:
        while len(descents) < batch and started < restarts:
            start, first_step = new_start(started)
            descents.add(start, started, first_step)
            started += 1
        if not len(descents):
            break
        for k, value, v in descents.step(threshold()):
            finished(k, value, v)
        if confirm and state["hits"] >= confirm:
            break
    best_v = state["best_v"]
    if gtol < _EXPLORE_GTOL:
        polished = _newton_polish(best_v, frozen, gtol)
        if polished is None:
            _, best_v = optimize_directions(best_v, movable=None if frozen is None else ~frozen, gtol=gtol)
        else:
            best_v = polished[1]
    return best_v


def check_direction_count(n, name: str = "the number of directions") -> int:
    """An integer from 1 to :data:`MAX_DIRECTIONS` (the optimizer's limit), or an error saying why."""
    count = check_int(n, name, minimum=1)
    if count > MAX_DIRECTIONS:
        raise GradientToolsError(
            f"{count} directions is more than the optimizer can do (at most {MAX_DIRECTIONS}: "
            f"{LIMIT_REASON})")
    return count


def electrostatic_directions(n: int, seed: Optional[int] = None, restarts: Optional[int] = None,
                             confirm: int = 4, fixed=None, gtol: float = 1e-8, progress=None) -> np.ndarray:
    """n diffusion directions minimising the antipodal Coulomb energy E_full.

    Several starts (uniform random, two golden-spiral hemispheres, and above 200 directions
    perturbations of the best minimum so far: basin hopping) are each descended with L-BFGS on
    the sphere, several at a time; the lowest local minimum wins and is polished by Newton's
    method. Descents that cannot beat the best so far are abandoned half-way, and the search
    stops early once the lowest energy found has been reached from ``confirm`` independent
    (random) starts.

    Parameters
    ----------
    n : int
        Number of directions (including ``fixed`` ones), n >= 1.
    seed : int, optional
        Seed of the random starts; the same seed gives the same directions.
    restarts : int, optional
        Maximum number of starts; default :func:`default_restarts` (16 up to 200 directions,
        48 above).
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
    n = check_direction_count(n)
    restarts = default_restarts(n) if restarts is None else check_int(restarts, "restarts", minimum=1)
    confirm = check_int(confirm, "confirm", minimum=0)
    gtol = check_positive(gtol, "gtol")
    seed = check_seed(seed)
    fixed_v = np.zeros((0, 3)) if fixed is None else as_unit(fixed, "fixed directions")
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
