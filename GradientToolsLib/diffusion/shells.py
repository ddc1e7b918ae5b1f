"""Shells of a scheme as people write them: "b:count" items (s/mm^2 and a number of directions).

The one parser for the command line (``--shell 1000:30``), the Slicer panel's shells table
(stored as "1000:30, 2000:60") and the Python API (``{1000: 30, 2000: 60}`` or
``[(1000, 30), (2000, 60)]``).
"""

from __future__ import annotations

import math
from typing import List, Mapping, Tuple, Union

from .._shared.validate import check_int
from ..errors import GradientToolsError
from .scheme import DEFAULT_B0_THRESHOLD, DEFAULT_SHELL_TOLERANCE, MAX_B_VALUE

Shells = List[Tuple[float, int]]
ShellSpec = Union[str, Mapping, "list[tuple[float, int]]"]


def check_shell(b_value, count, text=None) -> Tuple[float, int]:
    """(b, count) with b a positive finite number (s/mm^2) and count an integer >= 1.

    ``text`` is the item as written, quoted in the error messages.
    """
    where = f"shell {text!r}" if text is not None else "shell"
    try:
        b = float(b_value)
    except (TypeError, ValueError):
        raise GradientToolsError(f"{where}: b-value {b_value!r} is not a number") from None
    if not (math.isfinite(b) and b > 0):
        raise GradientToolsError(f"{where}: b-value must be positive, got {b_value!r}")
    if b <= DEFAULT_B0_THRESHOLD:
        raise GradientToolsError(f"{where}: b-value {b:g} is at or below {DEFAULT_B0_THRESHOLD:g} s/mm^2, "
                                 "where volumes count as b=0 (use --b0 for those)")
    if b > MAX_B_VALUE:
        raise GradientToolsError(f"{where}: b-value {b:g} is above {MAX_B_VALUE:g} s/mm^2")
    return b, check_int(count, f"{where}: direction count", minimum=1)


def parse_shell(text: str) -> Tuple[float, int]:
    """One "B:N" item, e.g. "1000:30" -> (1000.0, 30)."""
    item = str(text).strip()
    pieces = item.split(":")
    if len(pieces) != 2:
        raise GradientToolsError(f"a shell is B:N, 'b-value:directions' (e.g. 1000:30), got {item!r}")
    b_text, n_text = (p.strip() for p in pieces)
    try:
        count = float(n_text)
    except ValueError:
        raise GradientToolsError(f"shell {item!r}: direction count {n_text!r} is not a number") from None
    try:
        b_value = float(b_text)
    except ValueError:
        raise GradientToolsError(f"shell {item!r}: b-value {b_text!r} is not a number") from None
    return check_shell(b_value, count, item)


def parse_shells(spec: ShellSpec) -> Shells:
    """Shells as ``[(b, count), ...]`` in the order given.

    ``spec``: text "b:count, b:count" (commas or semicolons between items; empty text gives []),
    a mapping ``{b: count}`` or a sequence of (b, count) pairs. b-values must differ.
    """
    if isinstance(spec, str):
        items = [parse_shell(part) for part in spec.replace(";", ",").split(",") if part.strip()]
    else:
        pairs = spec.items() if isinstance(spec, Mapping) else spec
        try:
            items = [check_shell(b, n) for b, n in pairs]
        except (TypeError, ValueError) as exc:
            if isinstance(exc, GradientToolsError):
                raise
            raise GradientToolsError(
                f"shells must be {{b: count}} or (b, count) pairs, got {spec!r}") from None
    seen = set()
    for b, _ in items:
        if b in seen:
            raise GradientToolsError(f"shell b={b:g} is given twice")
        seen.add(b)
    ordered = sorted(seen)
    for low, high in zip(ordered, ordered[1:]):
        if high - low <= DEFAULT_SHELL_TOLERANCE:
            raise GradientToolsError(
                f"shells b={low:g} and b={high:g} are {high - low:g} s/mm^2 apart: every reader (and "
                f"the report) takes b-values within {DEFAULT_SHELL_TOLERANCE:g} for one shell")
    return items


def format_shells(shells) -> str:
    """Inverse of :func:`parse_shells`: "b:count, b:count"."""
    items = shells.items() if isinstance(shells, Mapping) else parse_shells(shells)
    return ", ".join(f"{float(b):g}:{int(n)}" for b, n in items)
