"""``gradienttools stats``: quality report of a diffusion scheme file (like MRtrix's dirstat)."""

from __future__ import annotations

NAME = "stats"
ORDER = 31
HELP = "quality report of a diffusion scheme (FSL .bval/.bvec pair or MRtrix .b), like dirstat"
DESCRIPTION = """\
Print the quality report of a diffusion gradient scheme: per shell and for all shells together,
the electrostatic energy (E_full and dirstat's E_half), nearest-neighbour angles, condition numbers
of spherical-harmonic fits, and the asymmetry |mean vector| (warning above 0.1). The numbers follow
MRtrix's dirstat definitions.

FILES: an FSL pair (X.bval X.bvec), one of them, their prefix X, or an MRtrix .b file. Also read:
.dwmri.txt/.nhdr (NRRD DWMRI keys), .dti_vectors_input.txt (Philips), and with --b-max: .dvs
(Siemens), .dat (GE).
"""


def add_arguments(parser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="scheme file(s)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--b-max", type=float, default=None,
                        help="b-value of the longest vector, for Siemens .dvs and GE .dat files")


def run(args) -> int:
    import json

    from ..diffusion.readers import read_scheme
    from ..diffusion.report import format_report, scheme_report

    scheme = read_scheme(args.files, b_max=args.b_max)
    report = scheme_report(scheme)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    return 0
