"""Real even-order spherical harmonics at gradient directions, and the condition numbers of SH fits
(the ``SHn`` numbers of MRtrix's dirstat).

The basis is orthonormal over the sphere: ``Y_l0 = N_l0 P_l(z)``, ``Y_lm = sqrt(2) N_lm P_l^m(z)
cos(m phi)`` and ``sin(|m| phi)`` for m < 0, columns ordered by degree then order, so the columns of
lmax = 2, 4, ... are prefixes of those of a larger lmax. The normalised Legendre functions come from
the standard three-term recurrence (stable to high degrees). Condition numbers do not depend on the
sign convention of the basis (DIPY's ``real_sh_descoteaux`` gives the same singular values).
"""

from __future__ import annotations

import math
from typing import Dict

import numpy as np

#: floating-point operations the condition numbers may cost: up to lmax L, one QR factorisation of
#: the (N, c_L) matrix (2 N c_L^2) and one SVD of a c x c triangle per order (about 5 c^3), with
#: c_l = (l+1)(l+2)/2. Higher orders are skipped (and the report says so), so the SH part stays
#: linear in N and about a second long: every order dirstat gives up to about 600 directions,
#: lmax 30 at 1000, lmax 20 at 20000, lmax 16 at 60000
SH_BUDGET = 3.0e9


def lmax_for_count(n: int) -> int:
    """Largest even lmax with (lmax+1)(lmax+2)/2 <= n (0 if n < 6)."""
    if n <= 0:
        return 0
    return 2 * int(math.floor((math.sqrt(1 + 8 * n) - 3.0) / 4.0))


def coefficient_count(lmax: int) -> int:
    """Number of even-order real SH coefficients up to ``lmax``: (lmax+1)(lmax+2)/2."""
    return (lmax + 1) * (lmax + 2) // 2


def _legendre(z: np.ndarray, lmax: int) -> Dict[tuple, np.ndarray]:
    """Orthonormalised associated Legendre functions N_lm P_l^m(z) for even l <= lmax, 0 <= m <= l."""
    s = np.sqrt(np.clip(1.0 - z * z, 0.0, None))
    out: Dict[tuple, np.ndarray] = {}
    diagonal = np.full_like(z, math.sqrt(1.0 / (4.0 * math.pi)))   # m = l = 0
    for m in range(0, lmax + 1):
        if m > 0:
            diagonal = -math.sqrt((2.0 * m + 1.0) / (2.0 * m)) * s * diagonal
        previous, current = None, diagonal                          # degree m
        if m % 2 == 0:
            out[(m, m)] = current
        for degree in range(m + 1, lmax + 1):
            a = math.sqrt((4.0 * degree * degree - 1.0) / (degree * degree - m * m))
            if previous is None:
                nxt = a * z * current
            else:
                b = math.sqrt(((degree - 1.0) ** 2 - m * m) / (4.0 * (degree - 1.0) ** 2 - 1.0))
                nxt = a * (z * current - b * previous)
            previous, current = current, nxt
            if degree % 2 == 0:
                out[(degree, m)] = current
    return out


def sh_matrix(directions, lmax: int) -> np.ndarray:
    """Orthonormal real even-order SH at unit ``directions`` (N, 3); shape (N, (lmax+1)(lmax+2)/2)."""
    v = np.asarray(directions, dtype=np.float64)
    z = np.clip(v[:, 2], -1.0, 1.0)
    phi = np.arctan2(v[:, 1], v[:, 0])
    legendre = _legendre(z, lmax)
    columns = []
    for degree in range(0, lmax + 1, 2):
        for order in range(-degree, degree + 1):
            p = legendre[(degree, abs(order))]
            if order == 0:
                columns.append(p)
            elif order > 0:
                columns.append(math.sqrt(2.0) * p * np.cos(order * phi))
            else:
                columns.append(math.sqrt(2.0) * p * np.sin(-order * phi))
    return np.stack(columns, axis=1)


def _cost(n: int, lmax: int) -> float:
    svds = sum(5.0 * coefficient_count(order) ** 3 for order in range(2, lmax + 1, 2))
    return 2.0 * n * coefficient_count(lmax) ** 2 + svds


def reported_lmax(n: int) -> int:
    """The largest lmax whose condition number the report gives for ``n`` directions: every order
    the directions support (as dirstat), as long as the cost stays within :data:`SH_BUDGET`."""
    lmax = lmax_for_count(n)
    while lmax >= 2 and _cost(n, lmax) > SH_BUDGET:
        lmax -= 2
    return lmax


def condition_numbers(directions, lmax: int) -> Dict[str, float]:
    """``{"2": cond, "4": cond, ...}``: 2-norm condition numbers of the SH fit matrices up to ``lmax``.

    One QR factorisation serves every order: with A = QR the columns of a lower order are a prefix,
    and the singular values of A[:, :c] are those of the leading c x c block of R.
    """
    if lmax < 2:
        return {}
    a = sh_matrix(directions, lmax)
    r = np.linalg.qr(a, mode="r")
    out = {}
    for order in range(2, lmax + 1, 2):
        c = coefficient_count(order)
        singular = np.linalg.svd(r[:c, :c], compute_uv=False)
        out[str(order)] = float(singular[0] / singular[-1]) if singular[-1] > 0 else float("inf")
    return out
