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

from typing import Dict, List, Optional

import numpy as np

from ..errors import GradientToolsError
from .scheme import DEFAULT_B0_THRESHOLD, GradientScheme
from .sh import condition_numbers, lmax_for_count, reported_lmax
from .sphere import inverse_pair_distances

ASYMMETRY_WARNING = 0.1


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


def _pair_block(v: np.ndarray, start: int, stop: int):
    """Energies and nearest-neighbour cosines of rows start:stop against all directions."""
    block = v[start:stop]
    own = (np.arange(stop - start), np.arange(start, stop))   # a direction with itself
    gram = block @ v.T
    gram[own] = -2.0                                # a direction is not its own neighbour
    near_uni = gram.max(axis=1)
    gram[own] = 2.0
    near_bi = np.maximum(near_uni, -gram.min(axis=1))
    minus, plus = inverse_pair_distances(block, v)
    for d in (minus, plus):
        d[np.isnan(d)] = np.inf                     # coincident or opposite: infinite energy
        d[own] = 0.0
    e_uni = minus.sum(axis=1)
    return e_uni, e_uni + plus.sum(axis=1), near_uni, near_bi


def _pair_statistics(v: np.ndarray, block_elements: int = 1 << 21):
    """Per direction: unipolar and bipolar energies (sums of 1/|v_i - v_j| and of both terms), and
    the cosines of the nearest neighbour (unipolar) and nearest axis (bipolar), self excluded;
    coincident or opposite directions give infinite energies.

    Rows are processed in blocks against all directions, on every core (numpy releases the GIL), so
    memory stays at a few blocks of ``block_elements`` pairs and the time is O(N^2).
    """
    from concurrent.futures import ThreadPoolExecutor

    from .._shared.threads import single_blas_thread, worker_count

    n = v.shape[0]
    rows = max(1, block_elements // max(n, 1))
    starts = list(range(0, n, rows))
    with single_blas_thread(), ThreadPoolExecutor(max_workers=min(worker_count(), len(starts))) as pool:
        parts = list(pool.map(lambda s: _pair_block(v, s, min(n, s + rows)), starts))
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(4))


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
    e_uni, e_bi, near_uni, near_bi = _pair_statistics(v)
    bipolar = _summary(e_bi)
    unipolar = _summary(e_uni)
    if bipolar["total"] is None:
        warnings.append("repeated (or opposite) directions: infinite energy")
    e_half = bipolar["total"]
    asymmetry = float(np.linalg.norm(v.mean(axis=0)))
    if asymmetry > ASYMMETRY_WARNING:
        warnings.append(f"asymmetry |mean vector| = {asymmetry:.3f} > {ASYMMETRY_WARNING} "
                        "(unbalanced polarity; eddy currents will not cancel)")
    top = reported_lmax(n)
    conditions = {k: _finite(c) for k, c in condition_numbers(v, top).items()}
    if top < lmax_for_count(n):
        warnings.append(f"SH condition numbers given up to lmax {top} of {lmax_for_count(n)} "
                        "(higher orders skipped: their cost grows as N^3)")
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
    ``nan_b0`` (volumes whose b=0 vector was written as NaN) and ``warnings``; non-finite numbers
    are None.
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
    nan_b0 = list(getattr(scheme, "nan_b0", ()))
    report["nan_b0"] = nan_b0
    if nan_b0:
        report["warnings"].append(f"{len(nan_b0)} b=0 volume(s) had the vector 'nan nan nan' (volumes "
                                  f"{', '.join(map(str, nan_b0[:8]))}{', ...' if len(nan_b0) > 8 else ''}): "
                                  "read as b=0, as converters mean it")
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
