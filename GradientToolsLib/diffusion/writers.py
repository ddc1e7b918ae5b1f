"""Writers of the scheme files listed in :mod:`.formats` (atomic: an error leaves nothing behind).

Each format has a frame (:data:`.formats.FORMAT_FRAMES`); a scheme in another frame is converted
(:func:`.frames.convert_frame`) with the matrix that relates the two, and never written into a file
of another frame silently: without that matrix :class:`.frames.FrameError` is raised, unless
``keep_vectors`` asks for the numbers to be copied unchanged on purpose.
"""

from __future__ import annotations

import os
from typing import List, Optional, Sequence

import numpy as np

from .._shared.files import atomic_output
from ..errors import GradientToolsError
from .formats import FORMAT_FRAMES, FORMATS, SUFFIXES, PathLike, format_b, format_v, read_text, scaled_vectors
from .frames import FrameError, convert_frame
from .scanner_files import ge_lines, philips_lines, siemens_lines
from .scheme import GradientScheme

#: NRRD spaces Slicer reads, and the matrix from scanner RAS to each
NRRD_SPACES = {
    "right-anterior-superior": np.eye(3),
    "left-posterior-superior": np.diag([-1.0, -1.0, 1.0]),
}


def nrrd_dwi_header_lines(scheme: GradientScheme, *, space: str = "right-anterior-superior") -> List[str]:
    """The DWMRI lines of a Slicer DWI NRRD header for a scanner-frame scheme.

    A ``# space: ...`` comment, ``modality:=DWMRI``, ``DWMRI_b-value:=b_max``, then
    ``DWMRI_gradient_0000:=gx gy gz`` for every volume, vectors scaled by sqrt(b / b_max) (Slicer
    computes each volume's b as b_max * (|g| / max|g|)^2), zero-padded to 4 digits (more when
    M > 10000), and ``measurement frame:`` mapping the vectors (scanner RAS) into ``space``, the
    ``space`` of the header they go into: "right-anterior-superior" (Slicer's DWI files, identity)
    or "left-posterior-superior" (DWIConvert, DICOM; diag(-1, -1, 1)).
    """
    if scheme.frame != "scanner":
        raise FrameError(f"NRRD gradient lines need a scanner-frame scheme, this one is in the "
                         f"{scheme.frame} frame: convert it first (convert_frame)")
    if space not in NRRD_SPACES:
        raise GradientToolsError(f"space must be one of {', '.join(NRRD_SPACES)}, not {space!r}")
    vectors = scaled_vectors(scheme)
    width = max(4, len(str(scheme.n - 1)))
    columns = NRRD_SPACES[space].T  # each vector of the line is a column of measurement -> space
    frame = " ".join("(" + ",".join(format_b(x) for x in c) + ")" for c in columns)
    lines = [f"# space: {space} (the measurement frame below maps scanner RAS gradients into it)",
             "modality:=DWMRI", f"measurement frame: {frame}", f"DWMRI_b-value:={format_b(scheme.b_max)}"]
    for i, g in enumerate(vectors):
        lines.append(f"DWMRI_gradient_{i:0{width}d}:=" + " ".join(format_v(x) for x in g))
    return lines


def _write_lines(path: str, lines: Sequence[str]) -> None:
    with atomic_output(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(lines) + "\n")


def _in_frame(scheme: GradientScheme, frame: str, reference, logical_axes,
              keep_vectors: bool) -> GradientScheme:
    if scheme.frame == frame:
        return scheme
    if keep_vectors:
        return scheme.with_frame(frame)
    return convert_frame(scheme, frame, reference=reference, logical_axes=logical_axes)


def scheme_lines(scheme: GradientScheme, fmt: str, comment: Optional[str] = None, *,
                 space: str = "right-anterior-superior",
                 ge_base: Optional[PathLike] = None) -> List[List[str]]:
    """The text lines of each file of ``fmt`` (one list per suffix) for a scheme already in the
    format's frame."""
    bvals, bvecs = scheme.bvals, scheme.bvecs
    comment_line = [f"# {comment}"] if comment else []
    if fmt == "fsl":
        return [[" ".join(format_b(b) for b in bvals)],
                [" ".join(format_v(x) for x in bvecs[:, k]) for k in range(3)]]
    if fmt == "mrtrix":
        rows = [" ".join([format_v(x) for x in v] + [format_b(b)]) for v, b in zip(bvecs, bvals)]
        return [comment_line + rows]
    if fmt == "philips":
        return [philips_lines(scheme, comment)]
    if fmt == "siemens":
        return [siemens_lines(scheme, comment)]
    if fmt == "ge":
        base = None if ge_base is None else read_text(os.fspath(ge_base))
        return [ge_lines(scheme, comment, base, os.path.basename(os.fspath(ge_base or "tensor.dat")))]
    return [nrrd_dwi_header_lines(scheme, space=space)]


def write_scheme(scheme: GradientScheme, prefix: PathLike, format: str = "fsl",  # noqa: A002
                 comment: Optional[str] = None, *, reference=None, logical_axes=None,
                 keep_vectors: bool = False, space: str = "right-anterior-superior",
                 ge_base: Optional[PathLike] = None) -> List[str]:
    """Write ``scheme`` as PREFIX + the format's suffix(es) (see :mod:`.formats`).

    Parameters
    ----------
    scheme : GradientScheme
    prefix : path
        Output path without suffix; its folder must exist.
    format : {"fsl", "mrtrix", "siemens", "ge", "philips", "nrrd"}
    comment : str, optional
        A comment for formats that allow one (mrtrix, siemens, ge, philips's name line).
    reference : array_like, optional
        Voxel-to-world RAS matrix (3x3 or 4x4) of the image, for image <-> scanner conversions
        (writing FSL from a scanner-frame scheme, or the reverse).
    logical_axes : array_like (3, 3), optional
        Scanner directions of the read, phase and slice axes, for conversions to or from the
        logical frame (GE, Philips).
    keep_vectors : bool
        Write the numbers unchanged into a file of another frame (a relabelling on purpose: angles,
        energies and order stay, the orientation to the anatomy does not).
    space : str
        NRRD only: the ``space`` of the header the lines go into (:data:`NRRD_SPACES`).
    ge_base : path, optional
        GE only: a stock tensor.dat whose other blocks are kept in the output.

    Returns
    -------
    list of str
        The written paths. Files are written atomically: on an error nothing is left behind.

    Raises
    ------
    FrameError
        when the scheme is in another frame than the format and the matrix to convert is missing.
    """
    if not isinstance(scheme, GradientScheme):
        raise GradientToolsError("write_scheme needs a GradientScheme")
    fmt = str(format).lower()
    if fmt not in FORMATS:
        raise GradientToolsError(f"unknown scheme format {format!r}; choose one of {', '.join(FORMATS)}")
    prefix = os.fspath(prefix)
    paths = [prefix + s for s in SUFFIXES[fmt]]
    framed = _in_frame(scheme, FORMAT_FRAMES[fmt], reference, logical_axes, keep_vectors)
    files = dict(zip(paths, scheme_lines(framed, fmt, comment, space=space, ge_base=ge_base)))
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
