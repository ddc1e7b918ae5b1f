"""What the scheme commands (scheme, stats, convert, split) share: reading scheme files with their
vendor options, the reference image, frame errors and warnings on the command line."""

from __future__ import annotations

import os
import textwrap
from typing import List, Optional, Sequence

from .._shared.files import refuse_overwriting_inputs
from ..errors import GradientToolsError


def int_at_least(minimum: int):
    """An argparse type: an integer >= ``minimum``, with a message naming the bound."""
    import argparse

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must not be negative" if minimum == 0
                                             else f"{text!r} must be at least {minimum}")
        return value

    return parse


INPUT_HELP = ("FILES: an FSL pair (X.bval X.bvec), one of them or their prefix X, an MRtrix .b, a NRRD "
              ".nhdr/.nrrd/.dwmri.txt, a Philips .txt, and with --b-max a Siemens .dvs or a GE .dat")
#: the same, wrapped for a command's description
INPUT_DESCRIPTION = "\n".join(textwrap.wrap(INPUT_HELP + ".", 96))


def add_input_arguments(parser, *, files: bool = True) -> None:
    """FILES (optional) and the options vendor files need to be read."""
    if files:
        parser.add_argument("files", nargs="+", metavar="FILE", help="scheme file(s); " + INPUT_HELP)
    group = parser.add_argument_group("reading vendor files")
    group.add_argument("--b-max", type=float, default=None, metavar="B",
                       help="the b-value entered on the console (s/mm^2), for Siemens .dvs and GE .dat files")
    group.add_argument("--block", type=int_at_least(1), default=None, metavar="N",
                       help="read the GE block / Siemens section with N directions (files with several)")
    group.add_argument("--t2", type=int_at_least(0), default=0, metavar="T",
                       help="GE: the console's 'number of T2', b=0 volumes acquired before the block "
                            "(default: %(default)s)")
    group.add_argument("--no-implicit-b0", dest="implicit_b0", action="store_false",
                       help="Siemens: the table's rows only, without the b=0 the console acquires first")


def add_frame_arguments(parser) -> None:
    """--reference and --keep-vectors."""
    group = parser.add_argument_group("coordinate frames")
    group.add_argument("--reference", metavar="IMAGE", default=None,
                       help="the image the FSL bvecs belong to (NIfTI, NRRD, ...; 3-D or the 4-D DWI): "
                            "needed to convert between image (FSL) and scanner (MRtrix, Siemens, NRRD) "
                            "frames")
    group.add_argument("--keep-vectors", action="store_true",
                       help="copy the vectors unchanged into a file of another frame instead of converting "
                            "(keeps angles and energies, not the orientation to the anatomy): for moving a "
                            "design between vendors")


def load_reference(path: Optional[str]):
    """The reference image's voxel-to-RAS 4x4 matrix and its volume count (None, None without one)."""
    if path is None:
        return None, None
    from ..image.volume_io import read_image_geometry

    geometry = read_image_geometry(path)
    volumes = geometry.size[3] if len(geometry.size) > 3 else (geometry.components if geometry.components > 1
                                                               else None)
    return geometry.ijk_to_ras(), volumes


def check_reference_volumes(path: Optional[str], volumes: Optional[int], scheme) -> None:
    if volumes is not None and volumes > 1 and volumes != scheme.n:
        raise GradientToolsError(f"{path}: the reference has {volumes} volumes but the scheme {scheme.n}")


def read_input(files: Sequence[str], args, reference=None):
    """Read a scheme from FILES with the vendor options of :func:`add_input_arguments`."""
    from ..diffusion.readers import read_scheme

    if args.t2 < 0:
        raise GradientToolsError(f"--t2 must not be negative, got {args.t2}")
    return read_scheme(list(files), args.b_max, reference=reference, block=args.block,
                       implicit_b0=args.implicit_b0, t2=args.t2)


def format_of(files: Sequence[str]) -> str:
    """The format name of the input FILES (for outputs in the same format)."""
    lower = [os.fspath(f).lower() for f in files]
    for name, endings in (("mrtrix", (".b",)), ("siemens", (".dvs",)), ("ge", (".dat",)),
                          ("nrrd", (".nhdr", ".nrrd", ".dwmri.txt")), ("philips", (".txt",))):
        if len(lower) == 1 and lower[0].endswith(endings):
            return name
    return "fsl"


def output_paths(prefix: str, fmt: str) -> List[str]:
    from ..diffusion.formats import SUFFIXES

    return [prefix + suffix for suffix in SUFFIXES[fmt]]


def check_outputs_are_not_inputs(outputs: Sequence[str], inputs: Sequence[str]) -> None:
    """Inputs are never overwritten: an FSL prefix among the inputs names its .bval/.bvec files."""
    files = [p for p in inputs if os.path.exists(p)]
    for name in inputs:
        files += [name + s for s in (".bval", ".bvec", ".bvals", ".bvecs") if os.path.exists(name + s)]
    refuse_overwriting_inputs(outputs, files)


