"""The 24 distinct axis permutations and sign flips of a gradient table.

A candidate is a pair ``(permutation, signs)`` that maps a table to a new one by the rule

    new[:, a] = signs[a] * old[:, permutation[a]]        (a = 0, 1, 2)

that is ``new = old @ M.T`` with the signed permutation matrix ``M[a, permutation[a]] = signs[a]``.
There are 6 permutations times 8 sign patterns, but a diffusion measurement does not change when a
vector is replaced by its opposite (antipodal symmetry), so ``signs`` and ``-signs`` give the same
table: 24 distinct candidates. Each is listed once, with at most one minus sign (no flip, or one
axis flipped: flipping two axes is the same table as flipping the third), as dwigradcheck and
scilpy list them; a corrected table then differs from the given one in as few signs as possible.
:func:`canonical` turns any ``(permutation, signs)`` into the listed form.
"""

from __future__ import annotations

import itertools
from typing import List, Sequence, Tuple

import numpy as np

from ...errors import GradientToolsError

Pair = Tuple[Tuple[int, int, int], Tuple[int, int, int]]


class Candidate(tuple):
    """``(permutation, signs)`` in the listed form, equal to any pair that gives the same table.

    A plain tuple otherwise (``perm, signs = candidate`` works): ``Candidate((0, 1, 2), (1, -1, -1))``
    is stored as ``((0, 1, 2), (-1, 1, 1))`` and compares equal to both.
    """

    def __new__(cls, permutation: Sequence[int], signs: Sequence[int]):
        return tuple.__new__(cls, canonical(permutation, signs))

    @property
    def permutation(self) -> Tuple[int, int, int]:
        return self[0]

    @property
    def signs(self) -> Tuple[int, int, int]:
        return self[1]

    def __eq__(self, other) -> bool:
        try:
            return tuple.__eq__(self, canonical(*other))
        except (TypeError, ValueError):
            return False

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        return f"Candidate({self[0]}, {self[1]})"



def canonical(permutation: Sequence[int], signs: Sequence[int]) -> Pair:
    """``(permutation, signs)`` checked, as int tuples, with at most one minus sign (see module doc)."""
    try:
        perm = tuple(int(p) for p in permutation)
        sgn = tuple(int(s) for s in signs)
    except (TypeError, ValueError):
        raise GradientToolsError(
            f"a candidate is (permutation, signs), got {permutation!r}, {signs!r}") from None
    if sorted(perm) != [0, 1, 2]:
        raise GradientToolsError(f"permutation must order 0, 1, 2, got {permutation!r}")
    if len(sgn) != 3 or any(s not in (-1, 1) for s in sgn):
        raise GradientToolsError(f"signs must be three of +1 or -1, got {signs!r}")
    if sgn.count(-1) >= 2:
        sgn = tuple(-s for s in sgn)
    return perm, sgn


#: the identity: the table as given
IDENTITY = Candidate((0, 1, 2), (1, 1, 1))


def all_candidates() -> List[Candidate]:
    """The 24 distinct candidates, the identity first."""
    return [Candidate(perm, sgn) for perm in itertools.permutations((0, 1, 2))
            for sgn in ((1, 1, 1), (-1, 1, 1), (1, -1, 1), (1, 1, -1))]


def candidate_matrix(candidate: Pair) -> np.ndarray:
    """The signed permutation matrix M (3x3) of a candidate: ``new_vector = M @ old_vector``."""
    perm, sgn = candidate
    m = np.zeros((3, 3))
    m[np.arange(3), list(perm)] = sgn
    return m


def apply_candidate(bvecs, candidate: Pair) -> np.ndarray:
    """``new[:, a] = signs[a] * bvecs[:, permutation[a]]`` for an (N, 3) table (NaN rows stay NaN)."""
    perm, sgn = canonical(*candidate)
    table = np.asarray(bvecs, dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != 3:
        raise GradientToolsError(f"bvecs must have shape (N, 3), got {table.shape}")
    return table[:, list(perm)] * np.asarray(sgn, dtype=np.float64)


def inverse(candidate: Pair) -> Candidate:
    """The candidate that undoes ``candidate`` (``apply(apply(t, c), inverse(c)) == t``)."""
    m = candidate_matrix(canonical(*candidate)).T
    perm = tuple(int(np.flatnonzero(row)[0]) for row in m)
    return Candidate(perm, tuple(int(m[a, perm[a]]) for a in range(3)))


def describe(candidate: Pair, axes: str = "IJK") -> str:
    """Human-readable form, e.g. ``"+I -K -J"`` (new axis a takes sign and old axis)."""
    perm, sgn = canonical(*candidate)
    return " ".join(("+" if s > 0 else "-") + axes[p] for p, s in zip(perm, sgn))
