"""Writers of the scheme files listed in :mod:`.formats` (atomic: an error leaves nothing behind)."""

from __future__ import annotations

import os
from typing import List, Optional, Sequence

from .._shared.files import atomic_output
from ..errors import GradientToolsError
from .formats import FORMATS, SUFFIXES, PathLike, format_b, format_v, scaled_vectors
from .scheme import GradientScheme


def nrrd_dwi_header_lines(scheme: GradientScheme) -> List[str]:
    """The DWMRI key/value lines of a Slicer DWI NRRD header for this scheme.

    ``modality:=DWMRI``, ``DWMRI_b-value:=b_max``, then ``DWMRI_gradient_0000:=gx gy gz`` for every
    volume in order, vectors scaled by sqrt(b / b_max) (Slicer computes each volume's b as
    b_max * (|g| / max|g|)^2). Indices are zero-padded to 4 digits (more when M > 10000).
    """
    vectors = scaled_vectors(scheme)
    width = max(4, len(str(scheme.n - 1)))
    lines = ["modality:=DWMRI", f"DWMRI_b-value:={format_b(scheme.b_max)}"]
    for i, g in enumerate(vectors):
        lines.append(f"DWMRI_gradient_{i:0{width}d}:=" + " ".join(format_v(x) for x in g))
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
            paths[0]: [" ".join(format_b(b) for b in bvals)],
            paths[1]: [" ".join(format_v(x) for x in bvecs[:, k]) for k in range(3)],
        }
    elif fmt == "mrtrix":
        files = {paths[0]: comment_line + [
            " ".join([format_v(x) for x in v] + [format_b(b)]) for v, b in zip(bvecs, bvals)]}
    elif fmt == "philips":
        files = {paths[0]: comment_line + [
            " ".join([format_v(x, 6) for x in v] + [format_b(b)]) for v, b in zip(bvecs, bvals)]}
    elif fmt == "siemens":
        scaled = scaled_vectors(scheme)
        files = {paths[0]: comment_line + [
            f"# b_max = {format_b(scheme.b_max)} s/mm^2: enter this b-value on the console",
            f"[directions={scheme.n}]",
            "CoordinateSystem = xyz",
            "Normalisation = none",
        ] + [f"Vector[{i}] = ( " + ", ".join(format_v(x, 6) for x in g) + " )"
             for i, g in enumerate(scaled)]}
    elif fmt == "ge":
        scaled = scaled_vectors(scheme)
        files = {paths[0]: [str(scheme.n)] + [" ".join(format_v(x, 6) for x in g) for g in scaled]}
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
