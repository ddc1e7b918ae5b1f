"""A quality report of a diffusion scheme, with the same definitions as MRtrix's ``dirstat``.

For each shell (and for the union of all weighted directions when there are several shells):

* ``n``: number of directions;
* ``E_full``: Coulomb energy of the 2N antipodal charges; ``E_half`` = (E_full - N/2)/2, dirstat's
  bipolar "total" energy;
* ``bipolar`` / ``unipolar``: per-direction energies E_i = sum_j (1/|v_i - v_j| + 1/|v_i + v_j|)
  (unipolar: only 1/|v_i - v_j|) summarised as total (= sum/2), mean, min, max; nearest-neighbour
  angles in degrees (bipolar: v and -v are the same direction) as mean, min, max;
* ``sh_condition``: condition numbers (2-norm) of the matrix of orthonormal real even-order
  spherical harmonics up to lmax sampled at the directions, for lmax = 2, 4, ... up to the largest
  lmax whose (lmax+1)(lmax+2)/2 coefficients do not exceed N (as dirstat);
* ``asymmetry``: |mean of the signed vectors|; above 0.1 a warning (eddy-current balance).
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional

import numpy as np
from scipy.special import lpmv

from ..errors import GradientToolsError
from .scheme import DEFAULT_B0_THRESHOLD, GradientScheme
from .sphere import inverse_pair_distances

ASYMMETRY_WARNING = 0.1


def lmax_for_count(n: int) -> int:
    """Largest even lmax with (lmax+1)(lmax+2)/2 <= n (0 if n < 6)."""
    if n <= 0:
        return 0
    return 2 * int(math.floor((math.sqrt(1 + 8 * n) - 3.0) / 4.0))


def sh_matrix(directions: np.ndarray, lmax: int) -> np.ndarray:
    """Orthonormal real even-order spherical harmonics at unit ``directions``; shape (N, (l+1)(l+2)/2)."""
    v = np.asarray(directions, dtype=np.float64)
    z = np.clip(v[:, 2], -1.0, 1.0)
    phi = np.arctan2(v[:, 1], v[:, 0])
    columns = []
    for degree in range(0, lmax + 1, 2):
        for order in range(-degree, degree + 1):
            m = abs(order)
            norm = math.sqrt((2 * degree + 1) / (4 * math.pi)
                             * math.exp(math.lgamma(degree - m + 1) - math.lgamma(degree + m + 1)))
            p = norm * lpmv(m, degree, z)
            if order == 0:
                columns.append(p)
            elif order > 0:
                columns.append(math.sqrt(2.0) * p * np.cos(m * phi))
            else:
                columns.append(math.sqrt(2.0) * p * np.sin(m * phi))
    return np.stack(columns, axis=1)


def _finite(x: float) -> Optional[float]:
    return float(x) if np.isfinite(x) else None


def _summary(per_direction: np.ndarray) -> Dict[str, Optional[float]]:
    return {
        "total": _finite(0.5 * per_direction.sum()),
        "mean": _finite(per_direction.mean()),
        "min": _finite(per_direction.min()),
        "max": _finite(per_direction.max()),
    }


def _angles(cosines: np.ndarray) -> Dict[str, float]:
    deg = np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))
    return {"mean": float(deg.mean()), "min": float(deg.min()), "max": float(deg.max())}


def direction_set_report(directions) -> Dict:
    """Statistics of one direction set, shape (N, 3) (normalised here); see the module docstring."""
    v = np.array(directions, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3 or v.shape[0] == 0:
        raise GradientToolsError(f"directions must have shape (N, 3) with N >= 1, got {v.shape}")
    norms = np.linalg.norm(v, axis=1)
    if np.any(norms == 0):
        raise GradientToolsError("a direction set for the report contains a zero vector")
    v /= norms[:, None]
    n = v.shape[0]
    warnings: List[str] = []
    cos = np.clip(v @ v.T, -1.0, 1.0)
    np.fill_diagonal(cos, -1.0)  # a direction is not its own neighbour
    if n > 1:
        near_uni = cos.max(axis=1)
        abs_cos = np.abs(cos)
        np.fill_diagonal(abs_cos, -1.0)
        near_bi = abs_cos.max(axis=1)
    else:
        near_uni = near_bi = np.array([-1.0])
    minus, plus = inverse_pair_distances(v)
    minus[np.isnan(minus)] = np.inf  # coincident or opposite directions: infinite energy
    plus[np.isnan(plus)] = np.inf
    e_uni = minus.sum(axis=1)
    e_bi = e_uni + plus.sum(axis=1)
    bipolar = _summary(e_bi)
    unipolar = _summary(e_uni)
    if bipolar["total"] is None:
        warnings.append("repeated (or opposite) directions: infinite energy")
    e_half = bipolar["total"]
    asymmetry = float(np.linalg.norm(v.mean(axis=0)))
    if asymmetry > ASYMMETRY_WARNING:
        warnings.append(f"asymmetry |mean vector| = {asymmetry:.3f} > {ASYMMETRY_WARNING} "
                        "(unbalanced polarity; eddy currents will not cancel)")
    conditions = {}
    for lmax in range(2, lmax_for_count(n) + 1, 2):
        conditions[str(lmax)] = _finite(np.linalg.cond(sh_matrix(v, lmax)))
    return {
        "n": n,
        "E_full": None if e_half is None else 2.0 * e_half + 0.5 * n,
        "E_half": e_half,
        "bipolar": {"energy": bipolar, "nearest_angle": _angles(near_bi)},
        "unipolar": {"energy": unipolar, "nearest_angle": _angles(near_uni)},
        "sh_condition": conditions,
        "asymmetry": asymmetry,
        "warnings": warnings,
    }


def scheme_report(scheme: GradientScheme, b0_threshold: float = DEFAULT_B0_THRESHOLD) -> Dict:
    """Quality report of a scheme: per shell and for the union of all weighted directions.

    Returns a JSON-serialisable dict: ``volumes``, ``b0`` (count), ``b0_positions``, ``b_max``,
    ``shells`` (list of per-shell reports with ``b``), ``union`` (or None with a single shell)
    and ``warnings``; non-finite numbers are None.
    """
    if not isinstance(scheme, GradientScheme):
        raise GradientToolsError("scheme_report needs a GradientScheme")
    shells = scheme.shell_indices(b0_threshold=b0_threshold)
    b0 = scheme.b0_indices(b0_threshold=b0_threshold)
    report = {
        "volumes": scheme.n,
        "b0": int(b0.size),
        "b0_positions": [int(i) for i in b0],
        "b_max": float(scheme.b_max),
        "shells": [],
        "union": None,
        "warnings": [],
    }
    for b, idx in shells.items():
        entry = {"b": b}
        entry.update(direction_set_report(scheme.bvecs[idx]))
        report["shells"].append(entry)
        report["warnings"].extend(f"b={b}: {w}" for w in entry["warnings"])
    if len(shells) > 1:
        union = np.concatenate(list(shells.values()))
        report["union"] = direction_set_report(scheme.bvecs[np.sort(union)])
        report["warnings"].extend(f"union: {w}" for w in report["union"]["warnings"])
    if not shells:
        report["warnings"].append("no diffusion-weighted volumes")
    return report


def _fmt(x, digits: int = 6) -> str:
    return "inf" if x is None else f"{x:.{digits}g}"


def _format_set(title: str, r: Dict) -> List[str]:
    lines = [f"{title} [ {r['n']} directions ]"]
    lines.append(f"  energy: E_full = {_fmt(r['E_full'], 10)}, "
                 f"E_half (dirstat total) = {_fmt(r['E_half'], 10)}")
    for model in ("bipolar", "unipolar"):
        e, a = r[model]["energy"], r[model]["nearest_angle"]
        lines.append(f"  {model}: nearest-neighbour angle mean = {a['mean']:.4f}, "
                     f"range [ {a['min']:.4f} - {a['max']:.4f} ] deg")
        lines.append(f"  {' ' * len(model)}  energy total = {_fmt(e['total'])}, mean = {_fmt(e['mean'])}, "
                     f"range [ {_fmt(e['min'])} - {_fmt(e['max'])} ]")
    if r["sh_condition"]:
        keys = list(r["sh_condition"])
        values = " ".join(_fmt(r["sh_condition"][k], 5) for k in keys)
        lines.append(f"  SH fit condition numbers for lmax = {keys[0]} -> {keys[-1]}: [ {values} ]")
    else:
        lines.append("  SH fit condition numbers: none (fewer than 6 directions)")
    lines.append(f"  asymmetry |mean vector| = {r['asymmetry']:.4f}")
    return lines


def format_report(report: Dict) -> str:
    """The report as dirstat-like text (one block per shell, then the union)."""
    lines = [f"{report['volumes']} volumes: {report['b0']} b=0, "
             f"{len(report['shells'])} shell(s), b_max = {report['b_max']:g} s/mm^2"]
    for shell in report["shells"]:
        lines.append("")
        lines.extend(_format_set(f"b = {shell['b']}", shell))
    if report.get("union"):
        lines.append("")
        lines.extend(_format_set("all shells together", report["union"]))
    if report["warnings"]:
        lines.append("")
        lines.extend(f"WARNING: {w}" for w in report["warnings"])
    return "\n".join(lines)
