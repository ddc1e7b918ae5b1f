"""Readers of the scheme files listed in :mod:`.formats`; :func:`read_scheme` chooses by file name.

Every reader sets the scheme's frame from the format (:data:`.formats.FORMAT_FRAMES`): FSL files
are in the image frame unless the image is given (``reference``), NRRD headers are brought into the
scanner frame through their ``space`` and ``measurement frame`` fields.
"""

from __future__ import annotations

import os
import re
from typing import List, Optional

import numpy as np

from ..errors import GradientToolsError
from .formats import PathLike, check_unit, checked_scheme, numeric_rows, read_text
from .frames import convert_frame
from .scanner_files import read_ge, read_philips, read_siemens
from .scheme import GradientScheme

__all__ = ["read_fsl", "read_ge", "read_mrtrix", "read_nrrd", "read_philips", "read_scheme", "read_siemens"]


def read_fsl(bval_path: PathLike, bvec_path: PathLike, *, reference=None) -> GradientScheme:
    """Read an FSL pair: .bval (one row of M b-values) and .bvec (3 rows of M, or M rows of 3).

    ``reference``: the voxel-to-world RAS matrix (3x3 or 4x4) of the image the pair belongs to;
    given, the result is in the scanner frame (as ``mrinfo IMAGE -fslgrad`` reads it), otherwise in
    the image frame.
    """
    bval_path, bvec_path = os.fspath(bval_path), os.fspath(bvec_path)
    bval_rows = numeric_rows(bval_path, read_text(bval_path))
    bvals = np.array([x for row in bval_rows for x in row])
    if len(bval_rows) > 1 and not all(len(r) == 1 for r in bval_rows):
        raise GradientToolsError(
            f"{bval_path}: expected one row of b-values, found {len(bval_rows)} rows of different lengths")
    if np.any(bvals < 0):
        i = int(np.flatnonzero(bvals < 0)[0])
        raise GradientToolsError(f"{bval_path}: negative b-value {bvals[i]:g} at volume {i}")
    rows = numeric_rows(bvec_path, read_text(bvec_path), allow_nan=True)
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
    scheme = checked_scheme(bvals, vecs, bvec_path, "image")
    return scheme if reference is None else convert_frame(scheme, "scanner", reference=reference)


def read_mrtrix(path: PathLike) -> GradientScheme:
    """Read an MRtrix .b file: rows "x y z b" in scanner coordinates ("#" starts a comment)."""
    path = os.fspath(path)
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
    return checked_scheme(table[:, 3], table[:, :3], path, "scanner")


#: NRRD space -> RAS (Slicer reads these three; vtkTeemNRRDReader)
_SPACE_TO_RAS = {
    "right-anterior-superior": np.eye(3), "ras": np.eye(3),
    "left-anterior-superior": np.diag([-1.0, 1.0, 1.0]), "las": np.diag([-1.0, 1.0, 1.0]),
    "left-posterior-superior": np.diag([-1.0, -1.0, 1.0]), "lps": np.diag([-1.0, -1.0, 1.0]),
}


def _nrrd_header(path: str) -> List[str]:
    with open(path, "rb") as f:
        raw = f.read(1 << 20)
    text = raw.decode("latin-1")
    lines = text.splitlines()
    if lines and lines[0].startswith("NRRD"):  # a real header ends at the first empty line
        end = next((k for k, line in enumerate(lines) if not line.strip()), len(lines))
        lines = lines[1:end]
    return lines


def _measurement_frame(path: str, value: str) -> np.ndarray:
    vectors = re.findall(r"\(([^)]*)\)", value)
    try:
        columns = [[float(x) for x in v.split(",")] for v in vectors]
    except ValueError:
        raise GradientToolsError(f"{path}: malformed measurement frame {value.strip()!r}") from None
    if len(columns) != 3 or any(len(c) != 3 for c in columns):
        raise GradientToolsError(f"{path}: the measurement frame needs three vectors of 3 numbers")
    frame = np.array(columns).T  # each vector is a column (NRRD: measurement -> space coordinates)
    if abs(np.linalg.det(frame)) < 1e-6:
        raise GradientToolsError(f"{path}: the measurement frame is singular")
    return frame


def read_nrrd(path: PathLike) -> GradientScheme:
    """Read the DWMRI keys of a NRRD header (.nhdr, .nrrd header, or a .dwmri.txt fragment).

    The vectors are taken from their measurement frame into scanner RAS through the header's
    ``space`` (right-anterior-superior, left-anterior-superior or left-posterior-superior, as
    Slicer reads them); a fragment without a ``space`` field uses a ``# space: ...`` comment (as
    written by :func:`.writers.nrrd_dwi_header_lines`), else right-anterior-superior (Slicer's own
    DWI files). No measurement frame: the identity (Slicer warns and does the same).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise GradientToolsError(f"{path}: no such file")
    b_value, gradients, space, frame, comment_space = None, {}, None, np.eye(3), None
    for line in _nrrd_header(path):
        hint = re.match(r"#\s*space\s*:\s*(\S+)", line.strip())
        if hint:
            comment_space = hint.group(1).lower()
        if ":=" not in line:
            field = re.match(r"\s*(space|measurement frame)\s*:(?!=)(.*)$", line)
            if field and field.group(1) == "space":
                space = field.group(2).strip().lower()
            elif field:
                frame = _measurement_frame(path, field.group(2))
            continue
        key, value = (t.strip() for t in line.split(":=", 1))
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
    space = space or comment_space or "right-anterior-superior"
    if space not in _SPACE_TO_RAS:
        raise GradientToolsError(f"{path}: space {space!r} has no defined relation to RAS")
    vectors = np.array([gradients[i] for i in range(len(gradients))]) @ (_SPACE_TO_RAS[space] @ frame).T
    if b_value == 0 or not np.any(vectors):
        return checked_scheme(np.zeros(len(vectors)), np.zeros_like(vectors), path, "scanner")
    norms = np.linalg.norm(vectors, axis=1)
    bvals = b_value * (norms / norms.max()) ** 2  # Slicer: b = b_max (|g| / max |g|)^2
    unit = np.zeros_like(vectors)
    unit[norms > 1e-6] = vectors[norms > 1e-6] / norms[norms > 1e-6, None]
    bvals[norms <= 1e-6] = 0.0
    return checked_scheme(bvals, unit, path, "scanner")


_BVAL = (".bval", ".bvals")
_BVEC = (".bvec", ".bvecs")


def _fsl_pair(path: str):
    base, ext = os.path.splitext(path)
    if ext.lower() in _BVAL:
        return path, _partner(base, _BVEC, path)
    if ext.lower() in _BVEC:
        return _partner(base, _BVAL, path), path
    for a, b in zip(_BVAL, _BVEC):
        if os.path.exists(path + a) and os.path.exists(path + b):
            return path + a, path + b
    return None


def _partner(base: str, exts, given: str) -> str:
    for ext in exts:
        if os.path.exists(base + ext):
            return base + ext
    raise GradientToolsError(f"{given}: the matching {exts[0]} file ({base + exts[0]}) does not exist")


def _ordered_pair(paths: List[str]):
    a, b = paths
    if a.lower().endswith(_BVEC) or b.lower().endswith(_BVAL):
        return b, a
    if not (a.lower().endswith(_BVAL) or b.lower().endswith(_BVEC)):
        # no telling extensions: the b-value file is the one without three rows
        if len(numeric_rows(a, read_text(a))) == 3 and len(numeric_rows(b, read_text(b))) != 3:
            return b, a
    return a, b


def _read_one(path: str, b_max, block, implicit_b0: bool, t2: int) -> GradientScheme:
    lower = path.lower()
    pair = _fsl_pair(path)
    if pair is not None:
        return read_fsl(*pair)
    if lower.endswith(".b"):
        return read_mrtrix(path)
    if lower.endswith((".nhdr", ".nrrd", ".dwmri.txt")):
        return read_nrrd(path)
    if lower.endswith(".dvs"):
        return read_siemens(path, b_max, block=block, implicit_b0=implicit_b0)
    if lower.endswith(".dat"):
        return read_ge(path, b_max, block, t2=t2)
    if lower.endswith(".txt"):
        return read_philips(path)
    if not os.path.exists(path):
        raise GradientToolsError(f"{path}: no such file (nor {path}.bval/{path}.bvec)")
    raise GradientToolsError(
        f"{path}: unknown scheme format (expected .bval/.bvec, .b, .txt, .dvs, .dat, .nhdr)")


def read_scheme(path_or_paths, b_max: Optional[float] = None, *, reference=None, block: Optional[int] = None,
                implicit_b0: bool = True, t2: int = 0) -> GradientScheme:
    """Read a scheme from one file, an FSL prefix, or an FSL pair.

    Parameters
    ----------
    path_or_paths : path or sequence of one or two paths
        * two paths: an FSL pair, in either order (told apart by extension, else by shape);
        * ``X.bval`` or ``X.bvec`` (the partner is found beside it) or the prefix ``X``: FSL;
        * ``*.b``: MRtrix; ``*.dti_vectors_input.txt`` (any ``*.txt``): Philips; ``*.nhdr``,
          ``*.nrrd``, ``*.dwmri.txt``: NRRD DWMRI keys; ``*.dvs``: Siemens; ``*.dat``: GE (these
          two need ``b_max``, which their files do not store).
    b_max : float, optional
        b-value (s/mm^2) entered on the console, for Siemens and GE files.
    reference : array_like, optional
        Voxel-to-world RAS matrix (3x3 or 4x4) of the image an FSL pair belongs to: the result is
        then in the scanner frame instead of the image frame. Ignored for other formats.
    block : int, optional
        Number of directions of the GE block or Siemens section to read (files with several).
    implicit_b0 : bool
        Siemens: put back the b=0 the console acquires before the table (default True).
    t2 : int
        GE: the console's "number of T2", b=0 volumes acquired before the block (default 0).

    Returns
    -------
    GradientScheme
        In the format's frame (:data:`.formats.FORMAT_FRAMES`), or scanner for FSL with a reference.
    """
    if isinstance(path_or_paths, (list, tuple)):
        paths = [os.fspath(p) for p in path_or_paths]
        if len(paths) == 2:
            scheme = read_fsl(*_ordered_pair(paths))
        elif len(paths) == 1:
            scheme = _read_one(paths[0], b_max, block, implicit_b0, t2)
        else:
            raise GradientToolsError(
                f"expected one scheme file or an FSL .bval/.bvec pair, got {len(paths)} files")
    else:
        scheme = _read_one(os.fspath(path_or_paths), b_max, block, implicit_b0, t2)
    if reference is not None and scheme.frame == "image":
        scheme = convert_frame(scheme, "scanner", reference=reference)
    return scheme
