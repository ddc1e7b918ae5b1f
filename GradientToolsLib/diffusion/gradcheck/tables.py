"""The gradient table beside (or inside) a DWI file, in its file's frame, and writing it corrected.

Three sources, each with its frame (see :mod:`.frames`):

* an FSL pair (``.bval`` + ``.bvec``, or their prefix): FSL's image-axes convention. b=0 vectors
  written as ``nan`` (as in DIPY's ``small_64D.bvec``) are read as b=0 vectors;
* an MRtrix ``.b`` file: scanner (RAS) coordinates;
* the DWMRI keys of a DWI NRRD header: its measurement frame, in its ``space``.

:func:`write_corrected` writes the corrected table in the same format and frame: an FSL pair, a
``.b`` file, or a copy of the NRRD (header and data) whose ``DWMRI_gradient_`` lines are replaced.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..._shared.files import atomic_output
from ...errors import GradientToolsError
from ..formats import format_b, format_v, read_text
from ..readers import read_nrrd, read_scheme
from ..scheme import GradientScheme
from ..writers import write_scheme
from .frames import (
    fsl_to_voxel,
    measurement_to_voxel,
    scanner_to_voxel,
    voxel_to_fsl,
    voxel_to_measurement,
    voxel_to_scanner,
)
from .tensor import B0_THRESHOLD

KINDS = ("fsl", "mrtrix", "nrrd")
#: the GradientScheme frame of the files written for each kind, where GradientScheme has frames
SCHEME_FRAMES = {"fsl": "image", "mrtrix": "scanner"}


@dataclass
class GradientTable:
    """A DWI's table as its file gives it.

    Attributes
    ----------
    kind : {"fsl", "mrtrix", "nrrd"}
    bvals : ndarray (N,)
        s/mm^2.
    vectors : ndarray (N, 3)
        As in the file's frame (FSL, scanner RAS, or measurement frame); zero (or NaN) for b=0.
    source : str
        The file the vectors came from (for messages).
    measurement_frame : ndarray (3, 3)
        NRRD only: MF, header vectors as columns.
    space : str
        NRRD only: the header's ``space``.
    header_vectors : ndarray (N, 3)
        NRRD only: the vectors exactly as in the header (scaled by sqrt(b / b_max)).
    """

    kind: str
    bvals: np.ndarray
    vectors: np.ndarray
    source: str
    measurement_frame: np.ndarray = field(default_factory=lambda: np.eye(3))
    space: str = ""
    header_vectors: Optional[np.ndarray] = None

    def to_voxel(self, direction) -> np.ndarray:
        """The vectors in the voxel axes of an image with this (LPS) direction matrix."""
        if self.kind == "fsl":
            return fsl_to_voxel(self.vectors, direction)
        if self.kind == "mrtrix":
            return scanner_to_voxel(self.vectors, direction)
        return measurement_to_voxel(self.vectors, self.measurement_frame, direction, self.space)

    def from_voxel(self, vectors, direction) -> np.ndarray:
        """Voxel-axis vectors back in this table's frame."""
        if self.kind == "fsl":
            return voxel_to_fsl(vectors, direction)
        if self.kind == "mrtrix":
            return voxel_to_scanner(vectors, direction)
        return voxel_to_measurement(vectors, self.measurement_frame, direction, self.space)


def _fsl_with_nan(paths: Sequence[str]) -> Optional[GradientScheme]:
    """An FSL pair whose b=0 vectors are NaN, as a scheme with zero vectors there (else None)."""
    bval = next((p for p in paths if p.lower().endswith((".bval", ".bvals"))), None)
    bvec = next((p for p in paths if p.lower().endswith((".bvec", ".bvecs"))), None)
    if bval is None or bvec is None or "nan" not in read_text(bvec).lower():
        return None
    try:
        bvals = np.array(read_text(bval).split(), dtype=np.float64)
        rows = [line.split() for line in read_text(bvec).splitlines() if line.strip()]
        table = np.array(rows, dtype=np.float64)
    except ValueError:
        return None
    if table.ndim != 2:
        return None
    if table.shape == (3, bvals.size):
        table = table.T
    if table.shape != (bvals.size, 3):
        return None
    nan_rows = ~np.all(np.isfinite(table), axis=1)
    if np.any(nan_rows & (bvals > B0_THRESHOLD)):
        i = int(np.flatnonzero(nan_rows & (bvals > B0_THRESHOLD))[0])
        raise GradientToolsError(f"{bvec}: vector {i} is not finite but its b-value is {bvals[i]:g}")
    table[nan_rows] = 0.0
    try:
        return GradientScheme(bvals, table)
    except GradientToolsError as exc:
        raise GradientToolsError(f"{bvec}: {exc}") from None


def _fsl_pair_paths(paths: Sequence[str]) -> List[str]:
    if len(paths) == 2:
        return list(paths)
    path = paths[0]
    base, ext = os.path.splitext(path)
    if ext.lower() in (".bval", ".bvec"):
        return [base + ".bval", base + ".bvec"]
    return [path + ".bval", path + ".bvec"]


def read_table_files(paths: Sequence[str]) -> GradientTable:
    """An FSL pair (two files, one of them, or their prefix) or an MRtrix ``.b`` file."""
    paths = [os.fspath(p) for p in paths]
    if len(paths) not in (1, 2):
        raise GradientToolsError(
            f"expected an FSL .bval/.bvec pair or one MRtrix .b file, got {len(paths)} files")
    if len(paths) == 1 and paths[0].lower().endswith(".b"):
        scheme = read_scheme(paths[0])
        return GradientTable("mrtrix", scheme.bvals, scheme.bvecs, paths[0])
    if len(paths) == 1 and not paths[0].lower().endswith((".bval", ".bvec", ".bvals", ".bvecs")) \
            and os.path.isfile(paths[0]):
        raise GradientToolsError(
            f"{paths[0]}: gradcheck reads FSL (.bval/.bvec) and MRtrix (.b) tables, whose frame is "
            "known against the image (other formats are in scanner or logical frames)")
    try:
        scheme = read_scheme(paths if len(paths) == 2 else paths[0])
    except GradientToolsError:
        scheme = _fsl_with_nan(_fsl_pair_paths(paths))
        if scheme is None:
            raise
    return GradientTable("fsl", scheme.bvals, scheme.bvecs, _fsl_pair_paths(paths)[1])


def _vector_list(text: str, name: str, path: str) -> np.ndarray:
    vectors = re.findall(r"\(([^)]*)\)", text)
    try:
        matrix = np.array([[float(x) for x in v.split(",")] for v in vectors])
    except ValueError:
        raise GradientToolsError(f"{path}: malformed {name}: {text!r}") from None
    if matrix.shape != (3, 3):
        raise GradientToolsError(f"{path}: {name} needs three vectors of three numbers, got {text!r}")
    return matrix.T  # the header's vectors are the columns


def table_from_nrrd(path: str, header: Dict[str, str]) -> GradientTable:
    """The DWMRI table of a DWI NRRD (``header`` as :func:`..image.volume_io.read_nrrd_header`)."""
    if not any(k.startswith("DWMRI_gradient_") for k in header):
        raise GradientToolsError(
            f"{path}: no DWMRI_gradient_ keys in the header; give the gradient files")
    bvals = read_nrrd(path).bvals  # the b-values (and the header's checks); vectors as written:
    frame = header.get("measurement frame")
    mf = np.eye(3) if frame is None else _vector_list(frame, "measurement frame", path)
    raw = {int(k[len("DWMRI_gradient_"):]): [float(x) for x in v.split()]
           for k, v in header.items() if k.startswith("DWMRI_gradient_")}
    raw = np.array([raw[i] for i in range(bvals.size)])
    norms = np.linalg.norm(raw, axis=1, keepdims=True)
    unit = np.divide(raw, norms, out=np.zeros_like(raw), where=norms > 0)
    return GradientTable("nrrd", bvals, unit, path, mf, header.get("space", ""), raw)


def output_paths(table: GradientTable, prefix: str) -> List[str]:
    """The files :func:`write_corrected` writes for this table and prefix."""
    if table.kind == "fsl":
        return [prefix + ".bval", prefix + ".bvec"]
    if table.kind == "mrtrix":
        return [prefix + ".b"]
    return [prefix + (".nhdr" if table.source.lower().endswith(".nhdr") else ".nrrd")]


def write_corrected(table: GradientTable, corrected_voxel: np.ndarray, direction, prefix: str,
                    matrix: np.ndarray) -> List[str]:
    """Write the corrected table as ``prefix`` + the input's suffix(es), in the input's frame.

    ``corrected_voxel`` is the corrected table in the voxel axes; ``matrix`` the candidate's signed
    permutation (voxel axes), used to turn the NRRD header's scaled vectors exactly.
    """
    prefix = os.fspath(prefix)
    if table.kind in ("fsl", "mrtrix"):
        vectors = np.nan_to_num(table.from_voxel(corrected_voxel, direction), nan=0.0)
        return write_scheme(_scheme_in_frame(table.bvals, vectors, table.kind), prefix, table.kind,
                            comment="corrected by gradienttools gradcheck")
    voxel = measurement_to_voxel(table.header_vectors, table.measurement_frame, direction, table.space)
    turned = voxel_to_measurement(voxel @ matrix.T, table.measurement_frame, direction, table.space)
    return [_write_nrrd_copy(table.source, output_paths(table, prefix)[0], turned)]


def _scheme_in_frame(bvals, vectors, kind: str) -> GradientScheme:
    """A scheme of the file's own frame (the vectors are already in it: no conversion)."""
    if "frame" in getattr(GradientScheme, "__dataclass_fields__", {}):
        return GradientScheme(bvals, vectors, frame=SCHEME_FRAMES[kind])
    return GradientScheme(bvals, vectors)


def _write_nrrd_copy(source: str, target: str, vectors: np.ndarray) -> str:
    with open(source, "rb") as f:
        raw = f.read()
    match = re.search(rb"\r?\n\r?\n", raw)
    head = raw[:match.start()] if match else raw
    data = raw[match.end():] if match else b""
    lines = head.decode("latin-1").splitlines()
    out = []
    for line in lines:
        key = line.split(":=", 1)[0].strip() if ":=" in line else ""
        if key.startswith("DWMRI_gradient_"):
            i = int(key[len("DWMRI_gradient_"):])
            line = f"{key}:=" + " ".join(format_v(x) for x in vectors[i])
        elif ":=" not in line and line.lower().startswith("data file:"):
            line = "data file: " + _relocated(line.split(":", 1)[1].strip(), source, target)
        out.append(line)
    with atomic_output(target) as tmp:
        with open(tmp, "wb") as f:
            f.write(("\n".join(out) + "\n").encode("latin-1"))
            if match:
                f.write(b"\n" + data)
    return target


def _relocated(name: str, source: str, target: str) -> str:
    """A detached header's data file name, valid from the new header's folder."""
    if " " in name or name.upper().startswith("LIST"):
        raise GradientToolsError(
            f"{source}: cannot write a corrected copy of a header with 'data file: {name}'")
    if os.path.isabs(name):
        return name
    data = os.path.join(os.path.dirname(os.path.abspath(source)), name)
    return os.path.relpath(data, os.path.dirname(os.path.abspath(target)))


def describe_b(table: GradientTable) -> str:
    """Short summary of the volumes, e.g. '6 b=0, b=1000 x 64' (shells as GradientScheme finds them)."""
    scheme = GradientScheme(table.bvals, np.nan_to_num(table.vectors, nan=0.0))
    shells = [f"b={format_b(b)} x {idx.size}" for b, idx in scheme.shell_indices(B0_THRESHOLD).items()]
    return ", ".join([f"{scheme.b0_indices(B0_THRESHOLD).size} b=0"] + shells)
