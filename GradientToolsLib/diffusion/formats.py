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

Readers (:mod:`.readers`) reject malformed files with a :class:`GradientToolsError` whose message
starts with the file name and names the fault; :mod:`.writers` writes every format atomically. This
module holds the format table and the text helpers both share.
"""

from __future__ import annotations

import os
import re
from typing import List, Union

import numpy as np

from ..errors import GradientToolsError
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


def format_b(b: float) -> str:
    return str(int(round(b))) if abs(b - round(b)) < 1e-9 else f"{b:.6f}".rstrip("0")


def format_v(x: float, digits: int = 8) -> str:
    text = f"{x:.{digits}f}"
    return "0" if float(text) == 0.0 else text  # no "-0.00000000"


def scaled_vectors(scheme: GradientScheme) -> np.ndarray:
    """Vectors scaled by sqrt(b / b_max), the convention of Siemens, GE and NRRD files."""
    b_max = scheme.b_max
    if b_max <= 0:
        return np.zeros_like(scheme.bvecs)
    return scheme.bvecs * np.sqrt(scheme.bvals / b_max)[:, None]


def checked_scheme(bvals, bvecs, path: str) -> GradientScheme:
    try:
        return GradientScheme(np.asarray(bvals, dtype=np.float64), np.asarray(bvecs, dtype=np.float64))
    except GradientToolsError as exc:
        raise GradientToolsError(f"{path}: {exc}") from None


def read_text(path: str) -> str:
    if not os.path.exists(path):
        raise GradientToolsError(f"{path}: no such file")
    if os.path.isdir(path):
        raise GradientToolsError(f"{path}: is a folder, not a scheme file")
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError:
        raise GradientToolsError(f"{path}: not a text file") from None


def numeric_rows(path: str, text: str, comment: str = "#") -> List[List[float]]:
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


def check_unit(path: str, vectors: np.ndarray, tolerance: float = 1e-2) -> None:
    norms = np.linalg.norm(vectors, axis=1)
    bad = (norms > 1e-6) & (np.abs(norms - 1.0) > tolerance)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise GradientToolsError(
            f"{path}: vector {i} has length {norms[i]:.6g}; expected unit vectors (or 0 0 0 for b=0)")
