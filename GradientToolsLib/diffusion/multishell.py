"""Multi-shell schemes: shells optimised jointly, ordered, polarity-balanced, with b=0 volumes.

Joint optimisation follows Caruyer et al. (2013, MRM 69:1534) with the Coulomb (1/r) energy: with
K_s directions on shell s and K in total, the objective is

    sum_{i != j} w_ij (1/|v_i - v_j| + 1/|v_i + v_j|),  w_ij = 1/K^2 + [s(i) = s(j)] / K_s^2,

i.e. E_union / K^2 + sum_s E_s / K_s^2: each shell is spread on its own, and all shells together
are spread as one set (so that, for instance, no two shells share a direction).
"""

from __future__ import annotations

from typing import List, Mapping, Optional

import numpy as np

from .._shared.threads import single_blas_thread
from .._shared.validate import check_int, check_seed
from ..errors import GradientToolsError
from ..progress import ProgressCallback, report, scaled
from .electrostatic import check_direction_count, electrostatic_directions
from .energy import energy
from .optimizer import optimize_directions
from .order import canonical_signs, greedy_order, interleave_slots, optimize_polarity, place_b0
from .scheme import GradientScheme
from .shells import parse_shells
from .sphere import as_unit, random_directions

#: the most b=0 volumes of a scheme (more is not an acquisition but a typo)
MAX_B0 = 1000
#: stop balancing once every relative excess (union and shells) is below this
_BALANCED = 0.0015


def caruyer_weights(counts, union_weight: float = 1.0) -> np.ndarray:
    """Pair weights (K, K) for shells of the given sizes (rows grouped shell by shell), scaled by K^2.

    w_ij = a + K^2 / K_s^2 within shell s and a across shells (zero diagonal), a = ``union_weight``
    (Caruyer et al.: a = 1).
    """
    counts = [int(c) for c in counts]
    total = sum(counts)
    labels = np.repeat(np.arange(len(counts)), counts)
    same = labels[:, None] == labels[None, :]
    per_shell = np.array([total * total / float(c * c) for c in counts])[labels]
    w = np.full((total, total), float(union_weight)) + same * per_shell[:, None]
    np.fill_diagonal(w, 0.0)
    return w


def _split_union(union: np.ndarray, counts, rng: np.random.Generator) -> np.ndarray:
    """Deal well-spread union directions to shells so that each shell is spread as well.

    Greedy order of the union (every prefix well spread), then shells take turns in proportion to
    their sizes; returns the directions regrouped shell by shell.
    """
    order = greedy_order(union, first=int(rng.integers(union.shape[0])))
    slots = interleave_slots(counts)
    per_shell = [[] for _ in counts]
    for idx, s in zip(order, slots):
        per_shell[s].append(union[idx])
    return np.concatenate([np.array(p).reshape(-1, 3) for p in per_shell])


def _excess(v: np.ndarray, bounds, union_optimum: float, shell_optima) -> List[float]:
    """Relative energy excess of the union, then of each shell, over their single-set optima."""
    out = [energy(v) / union_optimum - 1.0]
    out += [energy(v[bounds[s]:bounds[s + 1]]) / shell_optima[s] - 1.0 for s in range(len(shell_optima))]
    return out


def _check_distinct(fixed_arrays) -> None:
    """The joint repulsion counts every pair of directions of every shell (antipodes included), so
    two fixed directions on one axis make its energy infinite: refuse them, naming both."""
    labels = [(s, i) for s, f in enumerate(fixed_arrays) for i in range(f.shape[0])]
    if len(labels) < 2:
        return
    every = np.concatenate(fixed_arrays)
    cosine = np.abs(every @ every.T)
    np.fill_diagonal(cosine, 0.0)
    if cosine.max() > 1.0 - 1e-9:
        a, b = sorted(np.unravel_index(int(np.argmax(cosine)), cosine.shape))
        (sa, ia), (sb, ib) = labels[a], labels[b]
        raise GradientToolsError(
            f"fixed direction {ia} of shell {sa} and fixed direction {ib} of shell {sb} lie on one axis "
            "(equal or opposite): the directions of all shells repel each other, so each axis can be "
            "used once; drop the repeat, or design the shells one at a time")


def joint_shell_directions(counts, seed: Optional[int] = None, restarts: int = 4, fixed=None,
                           balance: bool = True, progress=None):
    """Jointly optimised directions for shells of the given sizes.

    Parameters
    ----------
    counts : sequence of int
        Number of directions per shell.
    seed : int, optional
        Seed of the random starts (deterministic results for a given seed).
    restarts : int
        Number of starts; even starts split an optimised union set among the shells, odd starts
        are uniform random.
    fixed : list of (F_s, 3) arrays or None, optional
        Directions kept exactly in each shell (they come first within their shell).
    balance : bool
        After the Caruyer-weighted optimum, adjust the weight of the union term (halving or
        doubling it, a few times) so that the worst relative excess, of the union over the optimum
        for all directions and of each shell over its own optimum, is as small as possible.
        Caruyer's fixed weights can leave the union about 0.3% above its optimum with many small
        shells; balancing keeps every criterion below about 0.2%.
    progress : callable, optional

    Returns
    -------
    list of ndarray
        One (K_s, 3) array of unit vectors per shell.
    """
    counts = [int(c) for c in counts]
    total = sum(counts)
    rng = np.random.default_rng(seed)
    fixed = fixed or [None] * len(counts)
    fixed_arrays = [np.zeros((0, 3)) if f is None or len(f) == 0 else as_unit(f, "fixed directions")
                    for f in fixed]
    for f, c in zip(fixed_arrays, counts):
        if f.shape[0] > c:
            raise GradientToolsError(f"{f.shape[0]} fixed directions in a shell of {c}")
    _check_distinct(fixed_arrays)
    movable = np.concatenate([np.arange(c) >= f.shape[0] for f, c in zip(fixed_arrays, counts)])
    movable_arg = None if movable.all() else movable
    bounds = np.cumsum([0] + counts)
    if len(counts) == 1 and movable_arg is None:
        return [electrostatic_directions(counts[0], seed=seed, progress=progress)]

    union = electrostatic_directions(total, seed=int(rng.integers(2**31)), restarts=4,
                                     progress=scaled(progress, 0.0, 0.25))
    weights = caruyer_weights(counts)
    best_value, best_v = np.inf, None
    for k in range(max(1, restarts)):
        start = _split_union(union, counts, rng) if k % 2 == 0 else random_directions(total, rng)
        for s, f in enumerate(fixed_arrays):
            start[bounds[s]:bounds[s] + f.shape[0]] = f
        value, v = optimize_directions(start, movable=movable_arg, weights=weights, gtol=1e-7)
        if value < best_value:
            best_value, best_v = value, v
        report(progress, 0.25 + 0.5 * (k + 1) / restarts, f"joint start {k + 1}/{restarts}")

    if balance and len(counts) > 1:
        shell_optima = [energy(electrostatic_directions(c, seed=int(rng.integers(2**31)), restarts=4))
                        for c in counts]
        union_optimum = energy(union)
        excess = _excess(best_v, bounds, union_optimum, shell_optima)
        # bisection on log(alpha): the union term's weight trades union excess for shell excess
        alpha, step, direction, rounds = 1.0, 2.0, 0, 6
        latest = excess
        for r in range(rounds):
            if max(excess) < _BALANCED:
                break
            want = 1 if latest[0] > max(latest[1:]) else -1
            if direction and want != direction:
                step = np.sqrt(step)
            direction = want
            alpha *= step if want > 0 else 1.0 / step
            _, v = optimize_directions(best_v, movable=movable_arg, weights=caruyer_weights(counts, alpha),
                                       gtol=1e-7)
            latest = _excess(v, bounds, union_optimum, shell_optima)
            if max(latest) < max(excess):
                best_v, excess = v, latest
            report(progress, 0.75 + 0.25 * (r + 1) / rounds, "balancing shells and union")
    return [best_v[bounds[s]:bounds[s + 1]] for s in range(len(counts))]


def multishell_scheme(shells: Mapping, b0: int = 1, b0_every: Optional[int] = None,
                      seed: Optional[int] = None, order: bool = True, polarity: bool = True,
                      fixed: Optional[Mapping] = None, restarts: int = 4, progress=None, *,
                      b0_head: Optional[int] = None, b0_end: bool = False, b0_spread: bool = False,
                      frame: str = "scanner") -> GradientScheme:
    """A complete diffusion scheme: jointly optimised shells, b=0 volumes, order and polarity.

    Parameters
    ----------
    shells : mapping
        ``{b_value: count}``, b in s/mm^2 (> 0), count >= 1, e.g. ``{1000: 30, 2000: 60}``.
    b0 : int
        Number of b=0 volumes (default 1).
    b0_every : int, optional
        None: all b=0 volumes at the start (unless ``b0_spread``, ``b0_head`` or ``b0_end`` say
        otherwise). k: ``b0_head`` at the start and one after every k weighted volumes; an error when
        they do not all fit (none is left over at the end).
    seed : int, optional
        Same seed, same scheme.
    order : bool
        True: order for early termination (each prefix well spread, shells interleaved in
        proportion to their sizes). False: shells one after the other, in increasing b.
    polarity : bool
        True: choose signs minimising the unipolar energy (balanced for eddy currents); False:
        a neutral sign convention (largest component positive).
    fixed : mapping, optional
        ``{b_value: (F, 3) directions}`` that must appear in that shell; the rest is optimised
        around them. Their signs are kept when ``polarity`` is on.
    restarts : int
        Starts of the joint optimisation.
    progress : callable, optional
        ``progress(fraction, message)``.
    b0_head : int, optional
        b=0 volumes at the start (default 1 with ``b0_every``, ``b0_spread`` or ``b0_end``).
    b0_end : bool
        End the acquisition on a b=0 volume.
    b0_spread : bool
        Spread the b=0 volumes that are neither at the head nor at the end evenly over the
        acquisition (see :func:`.order.place_b0`).
    frame : {"scanner", "device", "image", "logical"}
        The frame the design is made in (its directions have no orientation until written; default
        scanner). ``fixed`` directions must be in this frame.

    Returns
    -------
    GradientScheme
        ``bvals`` (M,) and ``bvecs`` (M, 3) in acquisition order, M = b0 + sum of counts.
    """
    if not isinstance(shells, Mapping) or len(shells) == 0:
        raise GradientToolsError("shells must be a non-empty mapping {b-value: count}")
    parsed = dict(sorted(parse_shells(shells)))
    b0 = check_int(b0, "b0 count", minimum=0, maximum=MAX_B0)
    if b0_every is not None:
        b0_every = check_int(b0_every, "b0 spacing", minimum=1)
    restarts = check_int(restarts, "restarts", minimum=1)
    seed = check_seed(seed)
    check_direction_count(sum(parsed.values()), "the number of diffusion-weighted directions")
    GradientScheme(np.zeros(1), np.zeros((1, 3)), frame)  # the frame is valid before minutes of work
    bvalues = list(parsed)
    counts = [parsed[b] for b in bvalues]
    place_b0(sum(counts), b0, b0_every, head=b0_head, end=b0_end, spread=b0_spread)  # fail before the work
    fixed_list = [None] * len(bvalues)
    if fixed:
        for b, dirs in fixed.items():
            try:
                s = bvalues.index(float(b))
            except ValueError:
                raise GradientToolsError(f"fixed directions for b={b} but there is no such shell") from None
            fixed_list[s] = dirs
    n_fixed = [0 if f is None else len(f) for f in fixed_list]

    with single_blas_thread():
        per_shell = joint_shell_directions(counts, seed=seed, restarts=restarts, fixed=fixed_list,
                                           progress=scaled(progress, 0.0, 0.95))
    directions = np.concatenate(per_shell)
    labels = np.repeat(np.arange(len(counts)), counts)
    weights = caruyer_weights(counts)

    if polarity:
        # balance each shell and the union
        signs = optimize_polarity(directions, weights=weights, seed=seed)
    else:
        signs = canonical_signs(directions)
    # fixed directions (the first of their shell) keep their sign
    free = np.concatenate([np.arange(c) >= f for c, f in zip(counts, n_fixed)])
    directions = directions * np.where(free, signs, 1.0)[:, None]

    if order:
        slots = interleave_slots(counts)
        sequence = greedy_order(directions, weights=weights, slots=slots, groups=labels)
    else:
        sequence = np.arange(directions.shape[0])

    is_b0 = place_b0(len(sequence), b0, b0_every, head=b0_head, end=b0_end, spread=b0_spread)
    bvals = np.zeros(is_b0.size)
    bvecs = np.zeros((is_b0.size, 3))
    bvals[~is_b0] = np.array(bvalues)[labels[sequence]]
    bvecs[~is_b0] = directions[sequence]
    report(progress, 1.0, "scheme ready")
    return GradientScheme(bvals, bvecs, frame)


#: the panel's b=0 placements
B0_PLACEMENTS = ("interleaved", "spread", "start")


def b0_spacing(n_weighted: int, b0_count: int, placement: str) -> Optional[int]:
    """The ``b0_every`` of :func:`multishell_scheme` for a panel placement.

    ``"start"``: all b0s first (None). ``"interleaved"``: one b0 first, then one after every k
    weighted volumes with k = n_weighted // (b0_count - 1), so the b0s span the whole acquisition.
    ``"spread"``: None (the b0s are spread evenly by :func:`.order.place_b0` instead).
    """
    if placement not in B0_PLACEMENTS:
        raise GradientToolsError(f"b0 placement must be one of {', '.join(B0_PLACEMENTS)}, not {placement!r}")
    if placement in ("start", "spread") or b0_count <= 1:
        return None
    return max(1, n_weighted // (b0_count - 1))


def generate_scheme(shells, b0_count: int = 6, b0_placement: str = "interleaved", ordering: str = "robust",
                    optimize_polarity: bool = True, seed: Optional[int] = 0,
                    progress: Optional[ProgressCallback] = None, *, b0_head: Optional[int] = None,
                    b0_end: bool = False):
    """The module's "Generate": a jointly optimised multi-shell scheme from the panel's options.

    Parameters
    ----------
    shells : [(b, count), ...], {b: count} or "b:count, b:count"
    b0_count : int
        Number of b=0 volumes.
    b0_placement : {"interleaved", "spread", "start"}
        See :func:`b0_spacing`; "spread" spreads the b=0 volumes evenly (gaps differ by at most one).
    ordering : {"robust", "none"}
        "robust": every prefix of the acquisition is well spread (early termination);
        "none": shells one after the other.
    optimize_polarity : bool
        Choose signs that balance the gradient vectors (eddy currents).
    seed : int, optional
    progress : callable, optional
    b0_head : int, optional
        b=0 volumes at the start (default 1 when interleaved or spread, all with "start").
    b0_end : bool
        End on a b=0 volume.

    Returns
    -------
    GradientScheme
        In the scanner frame.
    """
    shells = dict(parse_shells(shells))
    if not shells:
        raise GradientToolsError("add at least one shell (b-value and number of directions)")
    if ordering not in ("robust", "none"):
        raise GradientToolsError(f"ordering must be 'robust' or 'none', not {ordering!r}")
    n_weighted = int(sum(shells.values()))
    b0_count = check_int(b0_count, "b0 count", minimum=0)
    end = int(bool(b0_end) and b0_count > 0)
    if b0_head is not None:
        head = int(b0_head)
    else:
        head = b0_count - end if b0_placement == "start" else min(1, b0_count)
    # b0_spacing spreads K - 1 b0s after the first over the weighted volumes; the end one counts too
    every = b0_spacing(n_weighted, max(0, b0_count - head - end) + 1 + end, b0_placement)
    return multishell_scheme(shells, b0=b0_count, b0_every=every, seed=seed, order=ordering == "robust",
                             polarity=bool(optimize_polarity), progress=progress, b0_head=head,
                             b0_end=bool(end), b0_spread=b0_placement == "spread")
