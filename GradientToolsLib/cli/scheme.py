"""``gradienttools scheme``: design a single- or multi-shell diffusion scheme and write it."""

from __future__ import annotations

import argparse

from .._shared.files import check_output_folder
from ..diffusion.scheme import DEFAULT_SHELL_TOLERANCE
from ..diffusion.shells import parse_shell
from ..errors import GradientToolsError
from ..progress import TextProgressBar

NAME = "scheme"
ORDER = 30
HELP = "design a diffusion gradient scheme (electrostatic repulsion, multi-shell) and write it"
DESCRIPTION = """\
Design a diffusion gradient scheme: shells optimised jointly by electrostatic repulsion (each shell
uniform on its own and all shells together uniform), b=0 volumes, an order that keeps every prefix
uniform (robust to early termination) and balanced polarity (eddy currents). Writes one format and
prints the quality report.

formats (files written for --output PREFIX):
  fsl      PREFIX.bval + PREFIX.bvec
  mrtrix   PREFIX.b                       rows "x y z b"
  siemens  PREFIX.dvs                     DiffusionVectors, |g| = sqrt(b/b_max)
  ge       PREFIX.tensor.dat              count line + scaled "x y z" rows (rename to tensor.dat)
  philips  PREFIX.dti_vectors_input.txt   rows "x y z b"
  nrrd     PREFIX.dwmri.txt               DWMRI key:=value lines for a DWI .nhdr header

example:
  gradienttools scheme --shell 1000:30 --shell 2000:60 --b0 6 --b0-every 15 --seed 1 \\
      --format fsl --output dwi
"""


def _shell_argument(text: str):
    """argparse type of ``--shell B:N``: the library's one shell parser."""
    try:
        return parse_shell(text)
    except GradientToolsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def add_arguments(parser) -> None:
    from ..diffusion.electrostatic import LIMIT_REASON, MAX_DIRECTIONS
    from ..diffusion.formats import FORMATS

    parser.add_argument("--shell", action="append", type=_shell_argument, required=True, metavar="B:N",
                        help="a shell of N directions at b = B s/mm^2 (repeatable; at most "
                             f"{MAX_DIRECTIONS} directions in all: {LIMIT_REASON})")
    parser.add_argument("--b0", type=_non_negative_int, default=1, metavar="K",
                        help="number of b=0 volumes (default: %(default)s)")
    parser.add_argument("--b0-every", type=_positive_int, default=None, metavar="K",
                        help="one b=0 first, then one after every K weighted volumes "
                             "(default: all b=0 volumes first)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (same seed, same scheme)")
    parser.add_argument("--order", action=argparse.BooleanOptionalAction, default=True,
                        help="order for early termination, shells interleaved (default: on)")
    parser.add_argument("--polarity", action=argparse.BooleanOptionalAction, default=True,
                        help="balance polarity for eddy currents, like dirflip (default: on)")
    parser.add_argument("--fixed", metavar="FILE", nargs="+", default=None,
                        help="keep the directions of this scheme (FSL pair or .b) in the shells with "
                             "the same b-values and optimise the others around them")
    parser.add_argument("--restarts", type=_positive_int, default=4,
                        help="starts of the joint optimisation (default: %(default)s)")
    parser.add_argument("--format", choices=FORMATS, default="fsl", help="output format (default: fsl)")
    parser.add_argument("--output", required=True, metavar="PREFIX", help="output path without suffix")
    parser.add_argument("--json", action="store_true", help="print the quality report as JSON")


def run(args) -> int:
    import json

    from ..diffusion.multishell import multishell_scheme
    from ..diffusion.readers import read_scheme
    from ..diffusion.report import format_report, scheme_report
    from ..diffusion.writers import write_scheme

    shells = {}
    for b, n in args.shell:
        if b in shells:
            raise GradientToolsError(f"shell b={b:g} given twice")
        shells[b] = n
    check_output_folder(args.output)  # before minutes of optimisation
    fixed = None
    if args.fixed:
        given = read_scheme(args.fixed)
        fixed = {}
        for b, idx in given.shell_indices().items():
            match = [s for s in shells if abs(s - b) <= DEFAULT_SHELL_TOLERANCE]
            if not match:
                raise GradientToolsError(f"{args.fixed[0]}: shell b={b} matches no --shell")
            fixed[match[0]] = given.bvecs[idx]
            if len(idx) > shells[match[0]]:
                raise GradientToolsError(f"{args.fixed[0]}: {len(idx)} fixed directions at b={b} "
                                         f"but the shell has only {shells[match[0]]}")
    with TextProgressBar("optimising") as bar:
        scheme = multishell_scheme(shells, b0=args.b0, b0_every=args.b0_every, seed=args.seed,
                                   order=args.order, polarity=args.polarity, fixed=fixed,
                                   restarts=args.restarts, progress=bar)
    paths = write_scheme(scheme, args.output, args.format,
                         comment="gradienttools scheme " + " ".join(f"{b:g}:{n}" for b, n in args.shell))
    report = scheme_report(scheme)
    if args.json:
        print(json.dumps({"written": paths, "report": report}, indent=2))
    else:
        print(format_report(report))
        print("")
        for path in paths:
            print(f"wrote {path}")
    return 0
