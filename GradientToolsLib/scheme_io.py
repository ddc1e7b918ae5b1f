"""Reading and writing diffusion gradient schemes in the files scanners and toolkits use.

=========  ===============================  ==============================================================
format     file(s) written for PREFIX       content
=========  ===============================  ==============================================================
fsl        PREFIX.bval, PREFIX.bvec         one row of b-values; three rows x, y, z of unit vectors
                                            (0 0 0 for b=0). FSL, DIPY, dcm2niix, most toolkits.
mrtrix     PREFIX.b                         one row "x y z b" per volume (MRtrix3 ``-grad``).
siemens    PREFIX.dvs                       DiffusionVectors file for the "free" diffusion mode:
                                            "[directions=M]", "CoordinateSystem = xyz",
                                            "Normalisation = none", "Vector[i] = ( x, y, z )" with
                                            |g| = sqrt(b / b_max); enter b_max as the b-value on the
                                            console.
ge         PREFIX.tensor.dat                GE tensor.dat block: a line with M, then M lines "x y z"
                                            scaled by sqrt(b / b_max) (0 0 0 for b=0). Copy it to the
                                            scanner as tensor.dat (or the tensorNNN.dat your software
                                            version expects) and prescribe b_max.
philips    PREFIX.dti_vectors_input.txt     Philips user-defined gradients: one row "x y z b" per
                                            volume, unit vectors, b in s/mm^2.
nrrd       PREFIX.dwmri.txt                 the DWMRI key/value lines of a Slicer/Teem DWI NRRD header
                                            (``modality:=DWMRI``, ``DWMRI_b-value:=b_max``,
                                            ``DWMRI_gradient_0000:=gx gy gz`` scaled by sqrt(b/b_max)),
                                            to paste into a .nhdr.
=========  ===============================  ==============================================================

The GE and Philips syntax is not published by the vendors; it was checked against public writers
(GE: naveau/qspacesampling2GE ``qspacesampling2GE.py`` and its ``tests/tensorXXX.dat``; Philips:
the ``ivim`` package's ``generate_dti_vectors_input``/``write_dti_vectors_input``). The Siemens
syntax was checked against a public writer (``j_dmri_gradientsWrite.m``) as well.

All readers reject malformed files with a :class:`GradientToolsError` whose message starts with the
file name and names the fault.
"""

from __future__ import annotations

import os
import re
from typing import List, Optional, Sequence, Union

import numpy as np

from .errors import GradientToolsError
from .fileutil import atomic_output
from .scheme import GradientScheme

PathLike = Union[str, "os.PathLike[str]"]

FORMATS = ("fsl", "mrtrix", "siemens", "ge", "philips", "nrrd")
SUFFIXES = {
    "fsl": (".bval", ".bvec"),
    "mrtrix": (".b",),
    "siemens": (".dvs",),
    "ge": (".tensor.dat",),
    "philips": (".dti_vectors_input.txt",),
    "nrrd": (".dwmri.txt",),
}


# ----------------------------------------------------------------------------------------- helpers
def _format_b(b: float) -> str:
    return str(int(round(b))) if abs(b - round(b)) < 1e-9 else f"{b:.6f}".rstrip("0")


def _format_v(x: float, digits: int = 8) -> str:
    text = f"{x:.{digits}f}"
    return "0" if float(text) == 0.0 else text  # no "-0.00000000"


def _scaled_vectors(scheme: GradientScheme) -> np.ndarray:
    """Vectors scaled by sqrt(b / b_max), the convention of Siemens, GE and NRRD files."""
    b_max = scheme.b_max
    if b_max <= 0:
        return np.zeros_like(scheme.bvecs)
    return scheme.bvecs * np.sqrt(scheme.bvals / b_max)[:, None]


def _scheme(bvals, bvecs, path: str) -> GradientScheme:
    try:
        return GradientScheme(np.asarray(bvals, dtype=np.float64), np.asarray(bvecs, dtype=np.float64))
    except GradientToolsError as exc:
        raise GradientToolsError(f"{path}: {exc}") from None


def _read_text(path: str) -> str:
    if not os.path.exists(path):
        raise GradientToolsError(f"{path}: no such file")
    if os.path.isdir(path):
        raise GradientToolsError(f"{path}: is a folder, not a scheme file")
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError:
        raise GradientToolsError(f"{path}: not a text file") from None


def _numeric_rows(path: str, text: str, comment: str = "#") -> List[List[float]]:
    """Non-empty, non-comment lines split on whitespace or commas, as floats."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split(comment, 1)[0].strip() if comment else line.strip()
        if not line:
            continue
        fields = [f for f in re.split(r"[\s,]+", line) if f]
        try:
            values = [float(f) for f in fields]
        except ValueError:
            bad = next(f for f in fields if not _is_float(f))
            raise GradientToolsError(f"{path}: line {number}: non-numeric value {bad!r}") from None
        if not all(np.isfinite(values)):
            raise GradientToolsError(f"{path}: line {number}: non-finite value")
        rows.append(values)
    if not rows:
        raise GradientToolsError(f"{path}: no numbers found (empty file?)")
    return rows


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_unit(path: str, vectors: np.ndarray, tolerance: float = 1e-2) -> None:
    norms = np.linalg.norm(vectors, axis=1)
    bad = (norms > 1e-6) & (np.abs(norms - 1.0) > tolerance)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise GradientToolsError(
            f"{path}: vector {i} has length {norms[i]:.6g}; expected unit vectors (or 0 0 0 for b=0)")


# ----------------------------------------------------------------------------------------- readers
def read_fsl(bval_path: PathLike, bvec_path: PathLike) -> GradientScheme:
    """Read an FSL pair: .bval (one row of M b-values) and .bvec (3 rows of M, or M rows of 3)."""
    bval_path, bvec_path = os.fspath(bval_path), os.fspath(bvec_path)
    bval_rows = _numeric_rows(bval_path, _read_text(bval_path))
    bvals = np.array([x for row in bval_rows for x in row])
    if len(bval_rows) > 1 and not all(len(r) == 1 for r in bval_rows):
        raise GradientToolsError(
            f"{bval_path}: expected one row of b-values, found {len(bval_rows)} rows of different lengths")
    if np.any(bvals < 0):
        i = int(np.flatnonzero(bvals < 0)[0])
        raise GradientToolsError(f"{bval_path}: negative b-value {bvals[i]:g} at volume {i}")
    rows = _numeric_rows(bvec_path, _read_text(bvec_path))
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
    _check_unit(bvec_path, vecs)
    return _scheme(bvals, vecs, bvec_path)


def _read_xyzb(path: str) -> GradientScheme:
    rows = _numeric_rows(path, _read_text(path))
    for number, row in enumerate(rows, start=1):
        if len(row) != 4:
            raise GradientToolsError(
                f"{path}: entry {number} has {len(row)} columns, expected 4 (x y z b)")
    table = np.array(rows)
    if np.any(table[:, 3] < 0):
        i = int(np.flatnonzero(table[:, 3] < 0)[0])
        raise GradientToolsError(f"{path}: negative b-value {table[i, 3]:g} at volume {i}")
    _check_unit(path, table[:, :3])
    return _scheme(table[:, 3], table[:, :3], path)


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
    return _scheme(bvals, unit, path)


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
    text = _read_text(path)
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
    rows = _numeric_rows(path, _read_text(path))
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
        return _scheme(np.zeros(len(vectors)), np.zeros_like(vectors), path)
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
            if len(_numeric_rows(a, _read_text(a))) == 3 and len(_numeric_rows(b, _read_text(b))) != 3:
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


# ----------------------------------------------------------------------------------------- writers
def nrrd_dwi_header_lines(scheme: GradientScheme) -> List[str]:
    """The DWMRI key/value lines of a Slicer DWI NRRD header for this scheme.

    ``modality:=DWMRI``, ``DWMRI_b-value:=b_max``, then ``DWMRI_gradient_0000:=gx gy gz`` for every
    volume in order, vectors scaled by sqrt(b / b_max) (Slicer computes each volume's b as
    b_max * (|g| / max|g|)^2). Indices are zero-padded to 4 digits (more when M > 10000).
    """
    vectors = _scaled_vectors(scheme)
    width = max(4, len(str(scheme.n - 1)))
    lines = ["modality:=DWMRI", f"DWMRI_b-value:={_format_b(scheme.b_max)}"]
    for i, g in enumerate(vectors):
        lines.append(f"DWMRI_gradient_{i:0{width}d}:=" + " ".join(_format_v(x) for x in g))
    return lines


def _write_lines(path: str, lines: Sequence[str]) -> None:
    with atomic_output(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(lines) + "\n")


def write_scheme(scheme: GradientScheme, prefix: PathLike, format: str = "fsl",  # noqa: A002
                 comment: Optional[str] = None) -> List[str]:
    """Write ``scheme`` as PREFIX + the format's suffix(es) (see the module docstring).

    Parameters
    ----------
    scheme : GradientScheme
    prefix : path
        Output path without suffix; its folder must exist.
    format : {"fsl", "mrtrix", "siemens", "ge", "philips", "nrrd"}
    comment : str, optional
        A comment line for formats that allow one (mrtrix, siemens, philips).

    Returns
    -------
    list of str
        The written paths. Files are written atomically: on an error nothing is left behind.
    """
    if not isinstance(scheme, GradientScheme):
        raise GradientToolsError("write_scheme needs a GradientScheme")
    fmt = str(format).lower()
    if fmt not in FORMATS:
        raise GradientToolsError(f"unknown scheme format {format!r}; choose one of {', '.join(FORMATS)}")
    prefix = os.fspath(prefix)
    paths = [prefix + s for s in SUFFIXES[fmt]]
    bvals, bvecs = scheme.bvals, scheme.bvecs
    comment_line = [f"# {comment}"] if comment else []
    if fmt == "fsl":
        files = {
            paths[0]: [" ".join(_format_b(b) for b in bvals)],
            paths[1]: [" ".join(_format_v(x) for x in bvecs[:, k]) for k in range(3)],
        }
    elif fmt == "mrtrix":
        files = {paths[0]: comment_line + [
            " ".join([_format_v(x) for x in v] + [_format_b(b)]) for v, b in zip(bvecs, bvals)]}
    elif fmt == "philips":
        files = {paths[0]: comment_line + [
            " ".join([_format_v(x, 6) for x in v] + [_format_b(b)]) for v, b in zip(bvecs, bvals)]}
    elif fmt == "siemens":
        scaled = _scaled_vectors(scheme)
        files = {paths[0]: comment_line + [
            f"# b_max = {_format_b(scheme.b_max)} s/mm^2: enter this b-value on the console",
            f"[directions={scheme.n}]",
            "CoordinateSystem = xyz",
            "Normalisation = none",
        ] + [f"Vector[{i}] = ( " + ", ".join(_format_v(x, 6) for x in g) + " )"
             for i, g in enumerate(scaled)]}
    elif fmt == "ge":
        scaled = _scaled_vectors(scheme)
        files = {paths[0]: [str(scheme.n)] + [" ".join(_format_v(x, 6) for x in g) for g in scaled]}
    else:  # nrrd
        files = {paths[0]: nrrd_dwi_header_lines(scheme)}

    written: List[str] = []
    try:
        for path, lines in files.items():
            _write_lines(path, lines)
            written.append(path)
    except BaseException:
        for path in written:  # all or nothing for the FSL pair
            try:
                os.remove(path)
            except OSError:
                pass
        raise
    return written
