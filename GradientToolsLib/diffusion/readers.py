"""Readers of the scheme files listed in :mod:`.formats`; :func:`read_scheme` chooses by file name."""

from __future__ import annotations

import os
import re
from typing import Optional

import numpy as np

from ..errors import GradientToolsError
from .formats import PathLike, check_unit, checked_scheme, numeric_rows, read_text
from .scheme import GradientScheme


def read_fsl(bval_path: PathLike, bvec_path: PathLike) -> GradientScheme:
    """Read an FSL pair: .bval (one row of M b-values) and .bvec (3 rows of M, or M rows of 3)."""
    bval_path, bvec_path = os.fspath(bval_path), os.fspath(bvec_path)
    bval_rows = numeric_rows(bval_path, read_text(bval_path))
    bvals = np.array([x for row in bval_rows for x in row])
    if len(bval_rows) > 1 and not all(len(r) == 1 for r in bval_rows):
        raise GradientToolsError(
            f"{bval_path}: expected one row of b-values, found {len(bval_rows)} rows of different lengths")
    if np.any(bvals < 0):
        i = int(np.flatnonzero(bvals < 0)[0])
        raise GradientToolsError(f"{bval_path}: negative b-value {bvals[i]:g} at volume {i}")
    rows = numeric_rows(bvec_path, read_text(bvec_path))
    lengths = {len(r) for r in rows}
    if len(lengths) != 1:
        raise GradientToolsError(
            f"{bvec_path}: rows have different numbers of columns ({sorted(lengths)})")
    table = np.array(rows)
    if table.shape[0] == 3 and table.shape[1] == bvals.size:
        vecs = table.T
    elif table.shape[1] == 3 and table.shape[0] == bvals.size:
        vecs = table  # column layout, written by some tools
    elif table.shape[0] == 3 or table.shape[1] == 3:
        count = table.shape[1] if table.shape[0] == 3 else table.shape[0]
        raise GradientToolsError(
            f"{bvec_path}: {count} vectors but {bvals.size} b-values in {bval_path}")
    else:
        raise GradientToolsError(
            f"{bvec_path}: expected 3 rows (x, y, z), found {table.shape[0]} rows of {table.shape[1]}")
    check_unit(bvec_path, vecs)
    return checked_scheme(bvals, vecs, bvec_path)


def _read_xyzb(path: str) -> GradientScheme:
    rows = numeric_rows(path, read_text(path))
    for number, row in enumerate(rows, start=1):
        if len(row) != 4:
            raise GradientToolsError(
                f"{path}: entry {number} has {len(row)} columns, expected 4 (x y z b)")
    table = np.array(rows)
    if np.any(table[:, 3] < 0):
        i = int(np.flatnonzero(table[:, 3] < 0)[0])
        raise GradientToolsError(f"{path}: negative b-value {table[i, 3]:g} at volume {i}")
    check_unit(path, table[:, :3])
    return checked_scheme(table[:, 3], table[:, :3], path)


def read_mrtrix(path: PathLike) -> GradientScheme:
    """Read an MRtrix .b file: rows "x y z b" ("#" starts a comment)."""
    return _read_xyzb(os.fspath(path))


def read_philips(path: PathLike) -> GradientScheme:
    """Read a Philips dti_vectors_input text file: rows "x y z b"."""
    return _read_xyzb(os.fspath(path))


def _from_scaled(path: str, vectors: np.ndarray, b_max: float) -> GradientScheme:
    norms = np.linalg.norm(vectors, axis=1)
    if np.any(norms > 1.0 + 1e-3):
        i = int(np.argmax(norms))
        raise GradientToolsError(f"{path}: vector {i} has length {norms[i]:.6g} > 1")
    peak = norms.max()
    if peak <= 0:
        raise GradientToolsError(f"{path}: all vectors are zero")
    # the longest vector is b_max; normalise so that small rounding keeps b <= b_max
    bvals = b_max * (norms / peak) ** 2
    unit = np.zeros_like(vectors)
    nz = norms > 1e-6
    unit[nz] = vectors[nz] / norms[nz, None]
    bvals[~nz] = 0.0
    return checked_scheme(bvals, unit, path)


def _check_b_max(path: str, b_max) -> float:
    if b_max is None:
        raise GradientToolsError(f"{path}: this format does not store b-values; give b_max (s/mm^2)")
    b_max = float(b_max)
    if not np.isfinite(b_max) or b_max <= 0:
        raise GradientToolsError(f"b_max must be positive, got {b_max}")
    return b_max


def read_siemens(path: PathLike, b_max: float) -> GradientScheme:
    """Read a Siemens .dvs file (the first [directions=M] block); b = b_max * |g|^2 / max|g|^2."""
    path = os.fspath(path)
    b_max = _check_b_max(path, b_max)
    text = read_text(path)
    header = re.search(r"\[\s*directions\s*=\s*(\d+)\s*\]", text, flags=re.IGNORECASE)
    if header is None:
        raise GradientToolsError(f"{path}: no [directions=N] header")
    count = int(header.group(1))
    body = text[header.end():]
    nxt = re.search(r"\[\s*directions\s*=", body, flags=re.IGNORECASE)
    if nxt is not None:
        body = body[:nxt.start()]
    vectors = {}
    number = r"([-+0-9.eE]+)"
    for line in body.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or "=" not in line or not line.lower().startswith("vector"):
            continue
        m = re.match(r"vector\s*\[\s*(\d+)\s*\]\s*=\s*\(\s*" + number + r"\s*,\s*" + number + r"\s*,\s*"
                     + number + r"\s*\)\s*$", line, flags=re.IGNORECASE)
        if m is None:
            raise GradientToolsError(f"{path}: malformed vector line {line!r}")
        try:
            vectors[int(m.group(1))] = [float(m.group(k)) for k in (2, 3, 4)]
        except ValueError:
            raise GradientToolsError(f"{path}: non-numeric value in {line!r}") from None
    if sorted(vectors) != list(range(count)):
        raise GradientToolsError(
            f"{path}: header says {count} directions but found Vector[] entries {len(vectors)}")
    return _from_scaled(path, np.array([vectors[i] for i in range(count)]), b_max)


def read_ge(path: PathLike, b_max: float, count: Optional[int] = None) -> GradientScheme:
    """Read a GE tensor.dat block (the one with ``count`` rows, default the largest)."""
    path = os.fspath(path)
    b_max = _check_b_max(path, b_max)
    rows = numeric_rows(path, read_text(path))
    blocks, i = {}, 0
    while i < len(rows):
        if len(rows[i]) != 1 or not float(rows[i][0]).is_integer() or rows[i][0] < 1:
            raise GradientToolsError(f"{path}: expected a direction count at entry {i + 1}, found {rows[i]}")
        n = int(rows[i][0])
        block = rows[i + 1:i + 1 + n]
        if len(block) < n or any(len(r) != 3 for r in block):
            raise GradientToolsError(f"{path}: the block of {n} directions needs {n} rows of 3 numbers")
        blocks[n] = np.array(block)
        i += 1 + n
    n = max(blocks) if count is None else int(count)
    if n not in blocks:
        raise GradientToolsError(f"{path}: no block of {n} directions")
    return _from_scaled(path, blocks[n], b_max)


def read_nrrd(path: PathLike) -> GradientScheme:
    """Read the DWMRI key/value lines of a NRRD header (.nhdr, .nrrd header, or a fragment)."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    head = raw.split(b"\n\n", 1)[0] if raw.startswith(b"NRRD") else raw
    text = head.decode("latin-1")
    b_value, gradients = None, {}
    for line in text.splitlines():
        if ":=" not in line:
            continue
        key, value = (s.strip() for s in line.split(":=", 1))
        if key == "DWMRI_b-value":
            try:
                b_value = float(value)
            except ValueError:
                raise GradientToolsError(f"{path}: non-numeric DWMRI_b-value {value!r}") from None
        elif key.startswith("DWMRI_gradient_"):
            try:
                index = int(key[len("DWMRI_gradient_"):])
                gradients[index] = [float(x) for x in value.split()]
            except ValueError:
                raise GradientToolsError(f"{path}: malformed line {line.strip()!r}") from None
            if len(gradients[index]) != 3:
                raise GradientToolsError(f"{path}: {key} needs 3 numbers, found {len(gradients[index])}")
    if b_value is None:
        raise GradientToolsError(f"{path}: no DWMRI_b-value line")
    if not gradients:
        raise GradientToolsError(f"{path}: no DWMRI_gradient_ lines")
    if sorted(gradients) != list(range(len(gradients))):
        raise GradientToolsError(f"{path}: DWMRI_gradient_ indices are not consecutive from 0000")
    if b_value < 0:
        raise GradientToolsError(f"{path}: negative DWMRI_b-value {b_value:g}")
    vectors = np.array([gradients[i] for i in range(len(gradients))])
    if b_value == 0 or not np.any(vectors):
        return checked_scheme(np.zeros(len(vectors)), np.zeros_like(vectors), path)
    return _from_scaled(path, vectors, b_value)


def _fsl_pair(path: str):
    base, ext = os.path.splitext(path)
    if ext in (".bval", ".bvals"):
        return path, _partner(base, (".bvec", ".bvecs"), path)
    if ext in (".bvec", ".bvecs"):
        return _partner(base, (".bval", ".bvals"), path), path
    for a, b in ((".bval", ".bvec"), (".bvals", ".bvecs")):
        if os.path.exists(path + a) and os.path.exists(path + b):
            return path + a, path + b
    return None


def _partner(base: str, exts, given: str) -> str:
    for ext in exts:
        if os.path.exists(base + ext):
            return base + ext
    raise GradientToolsError(f"{given}: the matching {exts[0]} file ({base + exts[0]}) does not exist")


def read_scheme(path_or_paths, b_max: Optional[float] = None) -> GradientScheme:
    """Read a scheme from one file, an FSL prefix, or an FSL pair.

    Parameters
    ----------
    path_or_paths : path or sequence of two paths
        * two paths: an FSL pair, in either order (told apart by extension, else by shape);
        * ``X.bval`` or ``X.bvec`` (the partner is found beside it) or the prefix ``X``: FSL;
        * ``*.b``: MRtrix; ``*.dti_vectors_input.txt``: Philips; ``*.nhdr``, ``*.nrrd``,
          ``*.dwmri.txt``: NRRD DWMRI keys; ``*.dvs``: Siemens; ``*.dat``: GE (these two need
          ``b_max``, which their files do not store).
    b_max : float, optional
        b-value (s/mm^2) of the longest vector, for Siemens and GE files.

    Returns
    -------
    GradientScheme
    """
    if isinstance(path_or_paths, (list, tuple)):
        paths = [os.fspath(p) for p in path_or_paths]
        if len(paths) == 1:
            return read_scheme(paths[0], b_max)
        if len(paths) != 2:
            raise GradientToolsError(
                f"expected one scheme file or an FSL .bval/.bvec pair, got {len(paths)} files")
        a, b = paths
        if a.endswith((".bvec", ".bvecs")) or b.endswith((".bval", ".bvals")):
            a, b = b, a
        elif not (a.endswith((".bval", ".bvals")) or b.endswith((".bvec", ".bvecs"))):
            # no telling extensions: the b-value file is the one with a single row
            if len(numeric_rows(a, read_text(a))) == 3 and len(numeric_rows(b, read_text(b))) != 3:
                a, b = b, a
        return read_fsl(a, b)
    path = os.fspath(path_or_paths)
    lower = path.lower()
    pair = _fsl_pair(path)
    if pair is not None:
        return read_fsl(*pair)
    if lower.endswith(".b"):
        return read_mrtrix(path)
    if lower.endswith((".nhdr", ".nrrd", ".dwmri.txt")):
        return read_nrrd(path)
    if lower.endswith(".dvs"):
        return read_siemens(path, b_max)
    if lower.endswith(".dat"):
        return read_ge(path, b_max)
    if lower.endswith(".txt"):
        return read_philips(path)
    if not os.path.exists(path):
        raise GradientToolsError(f"{path}: no such file (nor {path}.bval/{path}.bvec)")
    raise GradientToolsError(
        f"{path}: unknown scheme format (expected .bval/.bvec, .b, .txt, .dvs, .dat, .nhdr)")
