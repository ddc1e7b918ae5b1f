"""The files scanner consoles read: Siemens DiffusionVectors, GE tensor files, Philips dti_vectors_input.

Each vendor's syntax and behaviour, and where it was checked:

* **Siemens** ``.dvs`` (free diffusion mode). Syntax as Siemens' own parser reads it (the sequence
  source ``didi.cpp``, ``DiffusionDirections::readFromFile``, public copies exist): lines are
  lower-cased and trimmed, empty and ``#`` lines are skipped, ``[directions=N]`` opens a section
  (the console offers one "number of directions" per section and takes the first section with that
  N), then ``CoordinateSystem = xyz|prs``, ``Normalisation = none|unity|maximum`` and
  ``Vector[i] = ( x, y, z )`` (``sscanf("(%lf,%lf,%lf)")``: no space before the commas). With
  ``xyz`` no component may exceed 1; null vectors need ``Normalisation = none``. Siemens' writer
  uses 6 decimals (``%f``); ``Comment =`` lines are left out (not read before VD). The console
  acquires one b=0 of its own when the b-value list starts with 0 (CMRR-C2P/MB issue 261: three
  (0,0,0) rows plus b-values 0 and 5 give four b=0 volumes), so the table holds the scheme without
  its first b=0. ``xyz`` are the device (gradient coil) axes; for a head-first supine patient
  Siemens' device coordinate system is LAI (syngo MR E11C, as quoted in shimming-toolbox issue 322
  and PR 340), i.e. x -> left, y -> anterior, z -> inferior: the "device" frame, which holds
  (-g_R, g_A, -g_S) of the scanner RAS vector g (:mod:`.frames`). (dcm2niix issue 339: a user's
  xyz table came back in an axial FSL bvec as (X, Y, -Z), which is what this mapping predicts.)
* **GE** ``tensorNNN.dat``: a file of blocks, each a line with the number of directions N then N
  lines "x y z" (space separated: tabs corrupt the DICOM copy before software 29.1); b = b_max *
  |g|^2; the file is chosen with CV11 = NNN, the block by "number of directions (TENSOR)" = N, and
  the console acquires "number of T2" b=0 volumes before the block (GE's own notes: Jaemin Shin,
  "GE diffusion gradient directions (CV11: custom tensor file, tensorXX.dat)", repository
  mr-jaemin/ge-mri, doc/GEHC_tensor.pdf, and its preloaded tensor521/1127/1225/4321.dat; MRtrix3 PR
  2523: "15 diffusion directions from tensor.dat after collecting 3 x b0/T2"). GE's vectors are in
  the logical frame: X = frequency, Y = phase, Z = slice.
* **Philips** ``dti_vectors_input.txt`` ("From File" directional resolution, DTI Elite): an optional
  first line naming the scheme that must not start with a number, then rows "x y z b" (dcm2niix's
  Philips notes, with an example file; the ``ivim`` package's ``write_dti_vectors_input`` writes a
  "# title" line and "% .4f % .4f % .4f %.1f" rows). A b=0 row must come first; every (direction, b)
  pair must be unique, so each b=0 row needs its own direction (dcm2niix's notes; scilpy
  ``--b0_philips``, PR 626, which copies the previous volume's direction). Philips' tables are
  defined in the plane of the scan (a Philips scientist in dcm2niix issue 182): logical frame.
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..errors import GradientToolsError
from .formats import (
    SchemeFileWarning,
    checked_scheme,
    format_b,
    format_v,
    numeric_rows,
    read_text,
)
from .scheme import DEFAULT_B0_THRESHOLD, MAX_VOLUMES, GradientScheme, vector_norms


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _leading_b0(scheme: GradientScheme) -> int:
    """Number of b=0 volumes before the first weighted one."""
    b0 = np.zeros(scheme.n, dtype=bool)
    b0[scheme.b0_indices()] = True
    weighted = np.flatnonzero(~b0)
    return scheme.n if weighted.size == 0 else int(weighted[0])


def _scaled(scheme: GradientScheme, start: int) -> Tuple[np.ndarray, float]:
    b_max = scheme.b_max
    if b_max <= DEFAULT_B0_THRESHOLD:
        raise GradientToolsError("the scheme has no diffusion-weighted volume")
    bvals = np.where(np.isin(np.arange(scheme.n), scheme.b0_indices()), 0.0, scheme.bvals)
    return (scheme.bvecs * np.sqrt(bvals / b_max)[:, None])[start:], b_max


def _from_scaled(path: str, vectors: np.ndarray, b_max: float, frame: str, relative: bool) -> GradientScheme:
    """Scaled vectors -> scheme: b = b_max |g|^2 (relative: divided by the largest |g|^2)."""
    norms = vector_norms(vectors, f"{path}: vector")
    if np.any(norms > 1.01):
        i = int(np.argmax(norms))
        raise GradientToolsError(f"{path}: vector {i} has length {norms[i]:.6g} > 1")
    peak = norms.max()
    if peak <= 1e-6:
        raise GradientToolsError(f"{path}: all vectors are zero")
    scale = peak if relative else max(1.0, peak)  # lengths up to 1.01 are rounding of unit vectors
    bvals = b_max * np.minimum(norms / scale, 1.0) ** 2
    nonzero = norms > 1e-6
    unit = np.zeros_like(vectors)
    unit[nonzero] = vectors[nonzero] / norms[nonzero, None]
    bvals[~nonzero] = 0.0
    return checked_scheme(bvals, unit, path, frame)


def check_b_max(path: str, b_max) -> float:
    if b_max is None:
        raise GradientToolsError(f"{path}: this format does not store b-values; give b_max (s/mm^2)")
    b_max = float(b_max)
    if not np.isfinite(b_max) or b_max <= 0:
        raise GradientToolsError(f"b_max must be positive, got {b_max}")
    return b_max


def _prepend_b0(scheme: GradientScheme, count: int) -> GradientScheme:
    if count <= 0:
        return scheme
    return GradientScheme(np.concatenate([np.zeros(count), scheme.bvals]),
                          np.concatenate([np.zeros((count, 3)), scheme.bvecs]), scheme.frame)


def _pick(path: str, sections: Dict[int, object], block: Optional[int], what: str):
    if block is None:
        if len(sections) == 1:
            return next(iter(sections.values()))
        counts = sorted(sections)
        raise GradientToolsError(
            f"{path}: {len(counts)} {what}s ({', '.join(map(str, counts[:8]))}"
            f"{', ...' if len(counts) > 8 else ''} directions): choose one with block=N (--block N)")
    if int(block) not in sections:
        raise GradientToolsError(f"{path}: no {what} of {int(block)} directions "
                                 f"(there are {', '.join(map(str, sorted(sections)[:12]))})")
    return sections[int(block)]


# ----------------------------------------------------------------------------------- Siemens
def siemens_lines(scheme: GradientScheme, comment: Optional[str] = None) -> List[str]:
    """A DiffusionVectors section for a device-frame scheme, without the console's own first b=0."""
    implicit = 1 if _leading_b0(scheme) >= 1 else 0
    scaled, b_max = _scaled(scheme, implicit)
    if scaled.shape[0] == 0:
        raise GradientToolsError("a Siemens table needs at least one volume after the console's b=0")
    n = scaled.shape[0]
    if implicit:
        acquired = (f"# The console acquires one b=0 itself before this table: that b=0 is volume 1 of "
                    f"the {scheme.n}-volume scheme,", f"# so this table holds volumes 2..{scheme.n} "
                    f"(table + that b=0 = the scheme).")
    else:
        warnings.warn("the scheme does not start with a b=0 volume: the Siemens console still acquires "
                      f"one b=0 first, so the scan has {scheme.n + 1} volumes", SchemeFileWarning,
                      stacklevel=3)
        acquired = ("# The scheme has no leading b=0, but the console acquires one b=0 itself before "
                    "this table:", f"# the scan has {scheme.n + 1} volumes (that b=0, then the "
                    f"{scheme.n} rows below).")
    lines = [f"# {_one_line(comment)}" if comment else "# gradienttools diffusion scheme",
             "# Siemens DiffusionVectors section for the Free diffusion mode.", *acquired,
             f"# Diff. card: diffusion mode Free, {n} directions, b-values 0 and {format_b(b_max)} s/mm^2"
             " (|vector| = sqrt(b / b_max)).",
             "# Coordinates: the device axes (xyz); for a head-first supine patient x = left,",
             "# y = anterior, z = inferior (the RAS scanner vector g is written as (-gR, gA, -gS)).",
             "# To add it to an existing DiffusionVectors.dvs, append everything from the section line",
             f"# below; the console picks a section by its number of directions, so no other section may "
             f"have {n}.",
             f"[directions={n}]", "CoordinateSystem = xyz", "Normalisation = none"]
    lines += [f"Vector[{i}] = ( " + ", ".join(format_v(x, 6) for x in g) + " )" for i, g in enumerate(scaled)]
    return lines


_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_VECTOR = re.compile(r"vector\s*\[\s*(\d+)\s*\]\s*=\s*\(\s*" + r"\s*,\s*".join([_NUMBER] * 3)
                     + r"\s*\)\s*(?:#.*)?$")
_SECTION = re.compile(r"\[\s*directions\s*=\s*(\d+)\s*\]$")
_SETTING = re.compile(r"(coordinatesystem|normalisation|normalization|comment)\s*=\s*(.*)$")


def _siemens_sections(path: str, text: str) -> Dict[int, dict]:
    sections: Dict[int, dict] = {}
    current = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lower()
        if not line or line.startswith("#"):
            continue
        section = _SECTION.match(line)
        if section:
            count = int(section.group(1))
            if not 1 <= count <= MAX_VOLUMES:
                raise GradientToolsError(f"{path}: line {number}: [directions={count}]: a section needs "
                                         f"1 to {MAX_VOLUMES} directions")
            current = {"count": count, "system": "xyz", "norm": "unity", "vectors": {}}
            sections.setdefault(count, current)  # the console takes the first section with this N
            continue
        if current is None:
            raise GradientToolsError(f"{path}: line {number}: {raw.strip()!r} before any [directions=N] line")
        vector, setting = _VECTOR.match(line), _SETTING.match(line)
        if vector:
            index = int(vector.group(1))
            if index >= current["count"]:
                raise GradientToolsError(f"{path}: line {number}: Vector[{index}] in a section of "
                                         f"{current['count']} directions")
            current["vectors"][index] = [float(vector.group(k)) for k in (2, 3, 4)]
            continue
        name, value = (setting.group(1), setting.group(2).strip()) if setting else ("", "")
        if name == "coordinatesystem" and value in ("xyz", "prs"):
            current["system"] = value
        elif name.startswith("normali") and value in ("none", "unity", "maximum"):
            current["norm"] = value
        elif name != "comment":
            raise GradientToolsError(f"{path}: line {number}: malformed line {raw.strip()!r}")
    if not sections:
        raise GradientToolsError(f"{path}: no [directions=N] section")
    return sections


def read_siemens(path, b_max: float, *, block: Optional[int] = None,
                 implicit_b0: bool = True) -> GradientScheme:
    """Read one section of a Siemens DiffusionVectors (.dvs) file.

    Parameters
    ----------
    path : path
    b_max : float
        The largest b-value entered on the console (s/mm^2); with ``Normalisation = none``,
        b = b_max |g|^2 / max |g|^2, otherwise every non-null vector is at b_max.
    block : int, optional
        The section's number of directions (required when the file has several sections).
    implicit_b0 : bool
        True (default): put back the b=0 the console acquires before the table, so the result is
        the scan's volumes (table + 1). False: the table's rows only.

    Returns
    -------
    GradientScheme
        ``xyz`` tables in the device frame, ``prs`` tables in the logical frame (read, phase,
        slice).
    """
    path = os.fspath(path)
    b_max = check_b_max(path, b_max)
    section = _pick(path, _siemens_sections(path, read_text(path)), block, "section")
    count, vectors = section["count"], section["vectors"]
    missing = sorted(set(range(count)) - set(vectors))
    if missing:
        raise GradientToolsError(f"{path}: the section of {count} directions has no Vector[{missing[0]}] "
                                 f"({len(missing)} missing)")
    table = np.array([vectors[i] for i in range(count)], dtype=np.float64)
    if section["norm"] != "none":  # unity / maximum: the directions only, all at the console's b-value
        norms = vector_norms(table, f"{path}: vector")
        table[norms > 1e-6] /= norms[norms > 1e-6, None]
    if section["system"] == "xyz":
        scheme = _from_scaled(path, table, b_max, "device", relative=True)
    else:  # prs = (phase, read, slice) -> logical (read, phase, slice)
        scheme = _from_scaled(path, table[:, [1, 0, 2]], b_max, "logical", relative=True)
    return _prepend_b0(scheme, 1 if implicit_b0 else 0)


# ----------------------------------------------------------------------------------------- GE
def _ge_block(scheme: GradientScheme) -> Tuple[int, List[str]]:
    t2 = _leading_b0(scheme)
    scaled, _ = _scaled(scheme, t2)
    if scaled.shape[0] == 0:
        raise GradientToolsError("a GE block needs at least one volume after the T2 (b=0) volumes")
    return t2, [str(scaled.shape[0])] + [" ".join(format_v(x, 6) for x in g) for g in scaled]


def _ge_blocks(path: str, text: str) -> List[Tuple[int, list, List[str]]]:
    """(count, rows, row texts) for every block, in file order."""
    rows = numeric_rows(path, text)
    blocks, i = [], 0
    while i < len(rows):
        head = rows[i]
        if len(head) != 1 or not float(head[0]).is_integer() or head[0] < 1:
            raise GradientToolsError(f"{path}: expected a direction count at entry {i + 1}, found "
                                     f"{' '.join(format_v(x, 6) for x in head)}")
        n = int(head[0])
        body = rows[i + 1:i + 1 + n]
        if len(body) < n or any(len(r) != 3 for r in body):
            raise GradientToolsError(f"{path}: the block of {n} directions needs {n} rows of 3 numbers")
        blocks.append((n, body, [" ".join(format_v(x, 6) for x in r) for r in body]))
        i += 1 + n
    return blocks


def ge_lines(scheme: GradientScheme, comment: Optional[str] = None, base_text: Optional[str] = None,
             base_name: str = "tensor.dat") -> List[str]:
    """A GE tensor-file block for a logical-frame scheme; with ``base_text`` (a stock tensor.dat),
    that file's blocks with the one of the same size replaced (or inserted in order)."""
    t2, block = _ge_block(scheme)
    n = len(block) - 1
    if t2 == 0:
        warnings.warn("the scheme does not start with a b=0 volume: GE acquires the 'number of T2' b=0 "
                      "volumes before the block (set it to 0 if the console allows)", SchemeFileWarning,
                      stacklevel=3)
    lines = [f"# {_one_line(comment)}" if comment else "# gradienttools diffusion scheme",
             f"# GE tensor file block: {n} directions, scaled by sqrt(b/b_max) (b = b_max * |g|^2).",
             "# Frame: logical, X = frequency, Y = phase, Z = slice: the directions turn with the",
             "# slice prescription (they are not scanner or image axes).",
             "# Save as tensorNNN.dat, NNN = a number no preloaded file uses (not 521, 1127, 1225, 4321,",
             "# 8313); never overwrite GE's tensor.dat. Place it in /usr/g/bin (before MR30) or",
             "# /srv/nfs/psd/usr/etc (MR30 and later).",
             f"# Console: CV11 (tensor file name) = NNN, b-value = {format_b(scheme.b_max)},"
             f" number of directions (TENSOR) = {n},",
             f"# number of T2 = {t2}: GE acquires those b=0 volumes before the block; they are the scheme's "
             f"first {t2}.", ]
    if base_text is None:
        return lines + ["# To keep GE's stock blocks, copy tensor.dat and replace its block of "
                        f"{n} directions with this one."] + block
    blocks = [b for b in _ge_blocks(base_name, base_text) if b[0] != n]
    out = lines + [f"# All other blocks are {base_name}'s."]
    inserted = False
    for count, _, texts in blocks:
        if not inserted and count > n:
            out += block
            inserted = True
        out += [str(count)] + texts
    return out if inserted else out + block


def read_ge(path, b_max: float, block: Optional[int] = None, *, t2: int = 0) -> GradientScheme:
    """Read one block of a GE tensor file (logical frame), b = b_max |g|^2.

    ``block``: its number of directions (needed when the file has several, as GE's files do);
    ``t2``: the console's "number of T2", b=0 volumes acquired before the block and put first.
    """
    path = os.fspath(path)
    b_max = check_b_max(path, b_max)
    if int(t2) < 0:
        raise GradientToolsError(f"the number of T2 volumes must not be negative, got {t2}")
    found: Dict[int, list] = {}
    for count, body, _ in _ge_blocks(path, read_text(path)):
        if count in found:
            raise GradientToolsError(f"{path}: two blocks of {count} directions")
        found[count] = body
    body = _pick(path, found, block, "block")
    return _prepend_b0(_from_scaled(path, np.array(body, dtype=np.float64), b_max, "logical", relative=False),
                       int(t2))


# ------------------------------------------------------------------------------------ Philips
def _b0_directions(scheme: GradientScheme) -> Dict[int, np.ndarray]:
    """A unit direction for every b=0 volume, distinct from each other (and from their antipodes):
    the previous weighted volume's direction, else the next ones, else coordinate axes."""
    b0 = [int(i) for i in scheme.b0_indices()]
    weighted = [i for i in range(scheme.n) if i not in set(b0)]
    spares = [np.eye(3)[k] for k in range(3)] + list(_spiral(max(8, len(b0))))
    used, out = set(), {}
    for i in b0:
        before = [w for w in weighted if w < i][::-1][:1]
        after = [w for w in weighted if w > i]
        for v in [scheme.bvecs[w] for w in before + after] + spares:
            key = tuple(np.round(v, 6))
            if key not in used and tuple(-x for x in key) not in used:
                used.add(key)
                out[i] = np.asarray(v, dtype=np.float64)
                break
    return out


def _spiral(n: int) -> np.ndarray:
    k = np.arange(n) + 0.5
    z = 1 - k / n
    phi = k * np.pi * (3 - np.sqrt(5))
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def philips_lines(scheme: GradientScheme, comment: Optional[str] = None) -> List[str]:
    """A Philips dti_vectors_input file for a logical-frame scheme (b=0 rows with own directions)."""
    b0 = set(int(i) for i in scheme.b0_indices())
    if b0 and 0 not in b0:
        raise GradientToolsError("Philips needs the b=0 volume first: the scheme's volume 1 is weighted")
    rows = [tuple(np.round(v, 6)) + (round(float(b), 6),) for v, b in zip(scheme.bvecs, scheme.bvals)]
    seen: Dict[tuple, int] = {}
    for i, row in enumerate(rows):
        if i in b0:
            continue
        if row in seen:
            raise GradientToolsError(f"volumes {seen[row] + 1} and {i + 1} have the same direction and b; "
                                     "Philips needs every (direction, b) pair to be unique")
        seen[row] = i
    directions = _b0_directions(scheme)
    name = _one_line(comment) if comment else "gradienttools diffusion scheme"
    if re.match(r"[-+.\d]", name):  # the name line must not start with a number
        name = "scheme " + name
    lines = [f"{name}: every b=0 row has its own direction (unique direction+b pairs)"]
    for i, (v, b) in enumerate(zip(scheme.bvecs, scheme.bvals)):
        vector, b_text = (directions[i], "0") if i in b0 else (v, format_b(b))
        lines.append(" ".join([format_v(x, 6) for x in vector] + [b_text]))
    return lines


def read_philips(path) -> GradientScheme:
    """Read a Philips dti_vectors_input file: an optional name line, then "x y z b" rows.

    b=0 rows (b <= the b=0 threshold) carry a direction only to keep Philips' pairs unique; it is
    dropped (zero vector). Logical frame.
    """
    path = os.fspath(path)
    text = read_text(path)
    lines = text.splitlines()
    content = [k for k, line in enumerate(lines) if line.strip() and not line.strip().startswith("#")]
    first = content[0] if content else None
    if first is not None and not re.match(r"\s*[-+.\d]", lines[first]):
        lines[first] = ""  # the scheme's name
    rows = numeric_rows(path, "\n".join(lines))
    for number, row in enumerate(rows, start=1):
        if len(row) != 4:
            raise GradientToolsError(f"{path}: entry {number} has {len(row)} columns, expected 4 (x y z b)")
    table = np.array(rows, dtype=np.float64)
    if np.any(table[:, 3] < 0):
        i = int(np.flatnonzero(table[:, 3] < 0)[0])
        raise GradientToolsError(f"{path}: negative b-value {table[i, 3]:g} at volume {i}")
    vectors = table[:, :3].copy()
    vectors[table[:, 3] <= DEFAULT_B0_THRESHOLD] = 0.0
    norms = vector_norms(vectors, f"{path}: vector")
    bad = (norms > 0) & (np.abs(norms - 1) > 1e-2)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise GradientToolsError(f"{path}: vector {i} has length {norms[i]:.6g}; expected unit vectors")
    return checked_scheme(table[:, 3], vectors, path, "logical")
