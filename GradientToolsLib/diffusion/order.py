"""Acquisition order and polarity of a direction set.

* Ordering robust to early termination (like MRtrix's ``dirorder``): a greedy order in which every
  prefix is itself well spread, so a scan stopped early still samples all orientations; shells are
  interleaved in proportion to their sizes so every shell is sampled from the start.
* b=0 placement: a head of b=0 volumes, the others spread evenly or one after every k weighted
  volumes (never left over at the end), optionally ending on a b=0.
* Polarity (like MRtrix's ``dirflip``): the sign of a direction does not matter for diffusion but
  does for eddy currents; signs are chosen to minimise the unipolar (one charge per direction)
  Coulomb energy, which balances the vectors so that their mean is close to zero.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from ..errors import GradientToolsError
from .sphere import inverse_pair_distances


def _pair_matrices(v: np.ndarray):
    """(1/|v_i - v_j|, 1/|v_i + v_j|) for unit rows, with zero diagonals; shape (N, N) each.
    Coincident (or antipodal) directions get a huge but finite penalty."""
    minus, plus = inverse_pair_distances(v)
    minus[~np.isfinite(minus)] = 1e12
    plus[~np.isfinite(plus)] = 1e12
    return minus, plus


def greedy_order(directions, weights: Optional[np.ndarray] = None, first: int = 0,
                 slots: Optional[Sequence[int]] = None, groups: Optional[Sequence[int]] = None) -> np.ndarray:
    """Order directions so that every prefix has low antipodal Coulomb energy.

    Each step appends the remaining direction with the smallest (weighted) bipolar energy towards
    the directions already placed. With ``groups`` and ``slots``, step k may only take a direction
    of group ``slots[k]`` (used to interleave shells).

    Parameters
    ----------
    directions : ndarray, shape (N, 3)
        Unit vectors.
    weights : ndarray, shape (N, N), optional
        Pair weights (default 1).
    first : int
        Index of the direction placed first when ``slots`` is not given.
    slots, groups : sequences of int, optional
        ``groups[i]`` is the group of direction i; ``slots[k]`` the group to take at step k.

    Returns
    -------
    ndarray of int, shape (N,)
        A permutation of range(N).
    """
    v = np.asarray(directions, dtype=np.float64)
    n = v.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    minus, plus = _pair_matrices(v)
    cost = minus + plus
    if weights is not None:
        cost = cost * weights
    placed = np.zeros(n, dtype=bool)
    accumulated = np.zeros(n)
    order = np.empty(n, dtype=np.int64)
    group_of = None if groups is None else np.asarray(groups)
    for k in range(n):
        candidates = ~placed
        if slots is not None:
            candidates &= group_of == slots[k]
        idx = np.flatnonzero(candidates)
        if idx.size == 0:
            raise GradientToolsError("ordering slots do not match the group sizes")
        if k == 0 and slots is None:
            pick = int(first)
        else:  # argmin takes the first candidate on ties (e.g. before anything is placed)
            pick = int(idx[np.argmin(accumulated[idx])])
        order[k] = pick
        placed[pick] = True
        accumulated += cost[pick]
    return order


def interleave_slots(counts: Sequence[int]) -> List[int]:
    """Shell labels 0..S-1 in an order that spreads each shell evenly over the acquisition.

    Shell s with K_s volumes gets its k-th slot at "time" (k + 0.5) / K_s; slots are sorted by
    time (ties by shell), so after any prefix each shell has had its share of volumes.
    """
    times = []
    for s, count in enumerate(counts):
        times.extend(((k + 0.5) / count, s) for k in range(int(count)))
    times.sort()
    return [s for _, s in times]


def place_b0(n_weighted: int, n_b0: int, every: Optional[int] = None, *, head: Optional[int] = None,
             end: bool = False, spread: bool = False) -> np.ndarray:
    """Positions of b=0 volumes in an acquisition of n_weighted + n_b0 volumes.

    The layout: ``head`` b=0 volumes first, the acquisition ends on a b=0 when ``end``, and the
    other b=0 volumes go between the weighted ones, never bunched at the end.

    Parameters
    ----------
    n_weighted : int
        Number of diffusion-weighted volumes.
    n_b0 : int
        Number of b=0 volumes.
    every : int, optional
        One b=0 after every ``every`` weighted volumes (after the head) until the interior b=0s are
        placed; an error when they do not fit (rather than piling the rest up at the end).
    head : int, optional
        b=0 volumes at the start. Default: 1 when ``every``, ``spread`` or ``end`` is given, else
        all of them (every b=0 first).
    end : bool
        The last volume is a b=0 (one of the ``n_b0``).
    spread : bool
        Spread the interior b=0 volumes evenly: the j-th of n after floor(j W / (n + 1)) weighted
        volumes (W = n_weighted), so the gaps differ by at most one volume. This is also what
        happens to interior b=0s when neither ``every`` nor ``spread`` is given.

    Returns
    -------
    ndarray of bool, shape (n_weighted + n_b0,)
        True where a b=0 volume goes.
    """
    n_weighted, n_b0 = int(n_weighted), int(n_b0)
    if n_weighted < 0 or n_b0 < 0:
        raise GradientToolsError("volume counts must not be negative")
    if every is not None and int(every) < 1:
        raise GradientToolsError(f"b0 spacing must be at least 1 volume, got {every}")
    layout = every is not None or spread or end
    head = (min(1, n_b0) if layout else n_b0) if head is None else int(head)
    if head < 0:
        raise GradientToolsError(f"the number of b=0 volumes at the head must not be negative, got {head}")
    interior = n_b0 - head - int(bool(end))
    if interior < 0:
        raise GradientToolsError(f"{n_b0} b=0 volumes cannot fill a head of {head}"
                                 f"{' and the last volume' if end else ''}")
    after = _interior_positions(n_weighted, n_b0, interior, every, head, end)
    # b=0 counts before each weighted volume k (k = n_weighted: after the last one)
    before = np.zeros(n_weighted + 1, dtype=np.int64)
    before[0] += head
    np.add.at(before, np.asarray(after, dtype=np.int64), 1)
    before[n_weighted] += int(bool(end))
    is_b0 = np.zeros(n_weighted + n_b0, dtype=bool)
    position = 0
    for k in range(n_weighted + 1):
        is_b0[position:position + before[k]] = True
        position += before[k] + (1 if k < n_weighted else 0)
    return is_b0


def _interior_positions(n_weighted: int, n_b0: int, interior: int, every, head: int, end: bool) -> List[int]:
    """After how many weighted volumes each interior b=0 goes: every ``every``, or evenly spread."""
    if every is None:
        return [((j + 1) * n_weighted) // (interior + 1) for j in range(interior)]
    if interior * int(every) > n_weighted:
        raise GradientToolsError(
            f"{n_b0} b=0 volumes do not fit one every {int(every)} of {n_weighted} weighted volumes "
            f"(head {head}{', end 1' if end else ''}, room for {n_weighted // int(every)} between): lower "
            "the spacing or the b=0 count, or spread them")
    return [int(every) * (j + 1) for j in range(interior)]


def optimize_polarity(directions, weights: Optional[np.ndarray] = None, seed: Optional[int] = None,
                      starts: int = 8) -> np.ndarray:
    """Signs (+1/-1) that minimise the unipolar Coulomb energy of the signed directions.

    Flipping v_i changes only the unipolar terms: with P = 1/|v_i - v_j| and Q = 1/|v_i + v_j| the
    signed pair energy is (P + Q)/2 + s_i s_j (P - Q)/2, so the problem is to minimise
    s^T D s with D = w (P - Q). Greedy single flips from ``starts`` starts (the current signs and
    seeded random ones); the lowest result wins.

    Returns
    -------
    ndarray of float64, shape (N,)
        Multiply the rows of ``directions`` by these signs.
    """
    v = np.asarray(directions, dtype=np.float64)
    n = v.shape[0]
    if n < 2:
        return np.ones(n)
    minus, plus = _pair_matrices(v)
    d = minus - plus
    if weights is not None:
        d = d * weights
    rng = np.random.default_rng(seed)
    best_s, best_value = None, np.inf
    for k in range(max(1, starts)):
        s = np.ones(n) if k == 0 else rng.choice([-1.0, 1.0], size=n)
        field = d @ s
        for _ in range(10 * n):
            gain = s * field  # flipping i changes s^T D s by -4 s_i (D s)_i
            i = int(np.argmax(gain))
            if gain[i] <= 1e-12:
                break
            field -= 2.0 * s[i] * d[:, i]
            s[i] = -s[i]
        value = float(s @ d @ s)
        if value < best_value - 1e-12:
            best_s, best_value = s.copy(), value
    return best_s


def canonical_signs(directions) -> np.ndarray:
    """Signs making the largest-magnitude component of each row positive (a neutral polarity)."""
    v = np.asarray(directions, dtype=np.float64)
    if v.shape[0] == 0:
        return np.ones(0)
    big = v[np.arange(v.shape[0]), np.argmax(np.abs(v), axis=1)]
    return np.where(big < 0, -1.0, 1.0)
