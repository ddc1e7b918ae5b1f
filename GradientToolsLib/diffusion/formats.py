"""Reading and writing diffusion gradient schemes in the files scanners and toolkits use.

=========  ==============================  ========  ===================================================
format     file(s) written for PREFIX      frame     content
=========  ==============================  ========  ===================================================
fsl        PREFIX.bval, PREFIX.bvec        image     one row of b-values; three rows x, y, z of unit
                                                     vectors (0 0 0 for b=0) along the image's voxel
                                                     axes, FSL convention (FSL, DIPY, dcm2niix).
mrtrix     PREFIX.b                        scanner   one row "x y z b" per volume (MRtrix3 ``-grad``),
                                                     scanner RAS; "#" comment lines.
siemens    PREFIX.dvs                      device    one DiffusionVectors section: "[directions=N]",
                                                     "CoordinateSystem = xyz", "Normalisation = none",
                                                     "Vector[i] = ( x, y, z )" with |g| = sqrt(b/b_max),
                                                     device axes. The console's own leading b=0 is
                                                     not in the table (N = M - 1).
ge         PREFIX.tensor.dat               logical   one block for a tensorNNN.dat chosen with CV11:
                                                     a line N, then N lines "x y z" scaled by
                                                     sqrt(b/b_max); the scheme's leading b=0 volumes
                                                     are the console's "number of T2".
philips    PREFIX.dti_vectors_input.txt    logical   a name line, then "x y z b" rows; every b=0 row
                                                     has its own unit direction (unique pairs).
nrrd       PREFIX.dwmri.txt                scanner   the DWMRI keys of a DWI NRRD header with a
                                                     ``measurement frame`` line, to paste into a .nhdr.
=========  ==============================  ========  ===================================================

The vendor formats are checked against public sources, named in :mod:`.scanner_files`. Frames and
their conversions: :mod:`.frames`.

Readers (:mod:`.readers`) reject malformed files with a :class:`GradientToolsError` whose message
starts with the file name and names the fault, and accept what real files contain: comment lines,
CRLF line ends, tabs, trailing spaces, a UTF-8 byte-order mark or Latin-1 text. :mod:`.writers`
writes every format atomically. This module holds the format table and the text helpers they share.
"""

from __future__ import annotations

import os
import re
from typing import List, Union

import numpy as np

from ..errors import GradientToolsError
from .scheme import GradientScheme, vector_norms

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
#: the frame (:data:`.scheme.FRAMES`) of the vectors in each format's files
FORMAT_FRAMES = {
    "fsl": "image", "mrtrix": "scanner", "siemens": "device", "ge": "logical", "philips": "logical",
    "nrrd": "scanner",
}


class SchemeFileWarning(UserWarning):
    """A file was written but the scanner will do something the scheme does not say (e.g. an extra b=0)."""


def format_b(b: float) -> str:
    return str(int(round(b))) if abs(b - round(b)) < 1e-9 else f"{b:.6f}".rstrip("0").rstrip(".")


def format_v(x: float, digits: int = 8) -> str:
    text = f"{x:.{digits}f}"
    return "0" if float(text) == 0.0 else text  # no "-0.00000000"


def scaled_vectors(scheme: GradientScheme) -> np.ndarray:
    """Vectors scaled by sqrt(b / b_max), the convention of Siemens, GE and NRRD files."""
    b_max = scheme.b_max
    if b_max <= 0:
        return np.zeros_like(scheme.bvecs)
    return scheme.bvecs * np.sqrt(scheme.bvals / b_max)[:, None]


def checked_scheme(bvals, bvecs, path: str, frame: str) -> GradientScheme:
    try:
        return GradientScheme(np.asarray(bvals, dtype=np.float64), np.asarray(bvecs, dtype=np.float64), frame)
    except GradientToolsError as exc:
        raise GradientToolsError(f"{path}: {exc}") from None


def read_text(path: str) -> str:
    if not os.path.exists(path):
        raise GradientToolsError(f"{path}: no such file")
    if os.path.isdir(path):
        raise GradientToolsError(f"{path}: is a folder, not a scheme file")
    with open(path, "rb") as f:
        raw = f.read()
    if b"\0" in raw:
        raise GradientToolsError(f"{path}: not a text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # console files written on Windows hosts
        return raw.decode("latin-1")


def numeric_rows(path: str, text: str, comment: str = "#", allow_nan: bool = False) -> List[List[float]]:
    """Non-empty, non-comment lines split on whitespace or commas, as floats (NaN allowed when
    ``allow_nan``: the b=0 vectors some converters write; the scheme decides what they mean)."""
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
        values_array = np.asarray(values)
        if np.any(np.isinf(values_array)):
            raise GradientToolsError(f"{path}: line {number}: a value is infinite or too large for a number")
        if not allow_nan and np.any(np.isnan(values_array)):
            raise GradientToolsError(f"{path}: line {number}: a value is not a number (nan)")
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


def check_unit(path: str, vectors: np.ndarray, tolerance: float = 1e-2) -> None:
    norms = vector_norms(vectors, f"{path}: vector")
    bad = (norms > 1e-6) & (np.abs(norms - 1.0) > tolerance)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise GradientToolsError(
            f"{path}: vector {i} has length {norms[i]:.6g}; expected unit vectors (or 0 0 0 for b=0)")
