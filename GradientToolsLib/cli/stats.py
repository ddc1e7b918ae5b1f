"""``gradienttools stats``: quality report of a diffusion scheme file (like MRtrix's dirstat)."""

from __future__ import annotations

from ._schemes import INPUT_DESCRIPTION, add_input_arguments, read_input

NAME = "stats"
ORDER = 31
HELP = "quality report of a diffusion scheme file (any format convert reads), like dirstat"
DESCRIPTION = f"""\
Print the quality report of a diffusion gradient scheme: per shell and for all shells together,
the electrostatic energy (E_full and dirstat's E_half), nearest-neighbour angles, condition numbers
of spherical-harmonic fits, and the asymmetry |mean vector| (warning above 0.1). The numbers follow
MRtrix's dirstat definitions; they do not depend on the coordinate frame, which is printed too.

{INPUT_DESCRIPTION}

A Siemens table is read with the b=0 the console acquires first (--no-implicit-b0: the rows only),
a GE block with --t2 b=0 volumes first.
"""


def add_arguments(parser) -> None:
    add_input_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args) -> int:
    import json

    from ..diffusion.frames import FRAME_NAMES
    from ..diffusion.report import format_report, scheme_report

    scheme = read_input(args.files, args)
    report = scheme_report(scheme)
    if args.json:
        print(json.dumps(dict(report, frame=scheme.frame), indent=2))
    else:
        print(format_report(report))
        print(f"frame: {scheme.frame} ({FRAME_NAMES[scheme.frame]})")
    return 0
