"""``gradienttools scheme``: design a single- or multi-shell diffusion scheme and write it."""

from __future__ import annotations

import argparse

from .._shared.files import check_output_folder
from ..diffusion.scheme import DEFAULT_SHELL_TOLERANCE
from ..diffusion.shells import parse_shell
from ..errors import GradientToolsError
from ..progress import TextProgressBar
from ._schemes import (
    add_frame_arguments,
    add_input_arguments,
    check_outputs_are_not_inputs,
    check_reference_volumes,
    int_at_least,
    load_reference,
    output_paths,
    read_input,
)

NAME = "scheme"
ORDER = 30
HELP = "design a diffusion gradient scheme (electrostatic repulsion, multi-shell) and write it"
DESCRIPTION = """\
Design a diffusion gradient scheme: shells optimised jointly by electrostatic repulsion (each shell
uniform on its own and all shells together uniform), b=0 volumes, an order that keeps every prefix
uniform (robust to early termination) and balanced polarity (eddy currents). Writes one format and
prints the quality report.

formats (files written for --output PREFIX) and their frames:
  fsl      PREFIX.bval + PREFIX.bvec          image: voxel axes of one image (FSL convention)
  mrtrix   PREFIX.b                           scanner: rows "x y z b", RAS
  siemens  PREFIX.dvs                         device axes: one DiffusionVectors section,
                                              without the b=0 the console acquires itself
  ge       PREFIX.tensor.dat                  logical: a block for a tensorNNN.dat chosen with CV11;
                                              leading b=0s are the console's "number of T2"
  philips  PREFIX.dti_vectors_input.txt       logical: "x y z b" rows, each b=0 with its own direction
  nrrd     PREFIX.dwmri.txt                   scanner: DWMRI lines and a measurement frame for a .nhdr

A new design has no orientation until it is written, so it is made in the output's frame. With
--reference IMAGE it is made in scanner coordinates and the FSL bvecs are those of that image (what
the scanner's scheme becomes in it). --fixed directions keep their physical directions: a file in
another frame than the output is converted with --reference (and refused without it).

b=0 layout: --b0 K volumes; all first by default; --b0-head H first, the others one after every
--b0-every N weighted volumes or spread evenly (--b0-spread, also the default when --b0-head or
--b0-end is given), --b0-end to finish on a b=0; b=0s never pile up at the end.

example:
  gradienttools scheme --shell 1000:30 --shell 2000:60 --b0 6 --b0-every 15 --seed 1 \\
      --format mrtrix --output dwi
"""


def _shell_argument(text: str):
    """argparse type of ``--shell B:N``: the library's one shell parser."""
    try:
        return parse_shell(text)
    except GradientToolsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_non_negative_int = int_at_least(0)
_positive_int = int_at_least(1)


def add_arguments(parser) -> None:
    from ..diffusion.electrostatic import LIMIT_REASON, MAX_DIRECTIONS
    from ..diffusion.formats import FORMATS

    parser.add_argument("--shell", action="append", type=_shell_argument, required=True, metavar="B:N",
                        help="a shell of N directions at b = B s/mm^2 (repeatable; at most "
                             f"{MAX_DIRECTIONS} directions in all: {LIMIT_REASON})")
    parser.add_argument("--b0", type=_non_negative_int, default=1, metavar="K",
                        help="number of b=0 volumes (default: %(default)s)")
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument("--b0-every", type=_positive_int, default=None, metavar="N",
                        help="the head b=0(s) first, then one after every N weighted volumes "
                             "(default: all b=0 volumes first)")
    layout.add_argument("--b0-spread", action="store_true",
                        help="spread the b=0 volumes after the head evenly over the acquisition")
    parser.add_argument("--b0-head", type=_non_negative_int, default=None, metavar="H",
                        help="b=0 volumes at the start (default: 1 with --b0-every/--b0-spread/--b0-end)")
    parser.add_argument("--b0-end", action="store_true", help="end the acquisition on a b=0 volume")
    parser.add_argument("--seed", type=int, default=None, help="random seed (same seed, same scheme)")
    parser.add_argument("--order", action=argparse.BooleanOptionalAction, default=True,
                        help="order for early termination, shells interleaved (default: on)")
    parser.add_argument("--polarity", action=argparse.BooleanOptionalAction, default=True,
                        help="balance polarity for eddy currents, like dirflip (default: on)")
    parser.add_argument("--fixed", metavar="FILE", nargs="+", default=None,
                        help="keep the directions of this scheme (any format convert reads) in the shells "
                             "with the same b-values and optimise the others around them")
    parser.add_argument("--restarts", type=_positive_int, default=4,
                        help="starts of the joint optimisation (default: %(default)s)")
    parser.add_argument("--format", choices=FORMATS, default="fsl", help="output format (default: fsl)")
    parser.add_argument("--output", required=True, metavar="PREFIX", help="output path without suffix")
    parser.add_argument("--json", action="store_true", help="print the quality report as JSON")
    add_frame_arguments(parser)
    add_input_arguments(parser, files=False)


def _fixed_directions(args, shells, design_frame: str, reference, volumes):
    """--fixed: {shell b: directions} in the design's frame (converted, or refused without --reference)."""
    from ..diffusion.frames import convert_frame

    given = read_input(args.fixed, args)
    if given.frame == "image":
        check_reference_volumes(args.reference, volumes, given)
    if given.frame != design_frame:
        given = given.with_frame(design_frame) if args.keep_vectors else \
            convert_frame(given, design_frame, reference=reference)
    fixed, source = {}, {}
    for b, idx in given.shell_indices().items():
        nearest = min(shells, key=lambda s: abs(s - b))
        if abs(nearest - b) > DEFAULT_SHELL_TOLERANCE:
            raise GradientToolsError(f"{args.fixed[0]}: shell b={b:g} matches no --shell (the nearest is "
                                     f"b={nearest:g})")
        if nearest in fixed:
            raise GradientToolsError(f"{args.fixed[0]}: fixed shells b={source[nearest]:g} and b={b:g} both "
                                     f"match --shell b={nearest:g}; give each its own shell")
        if len(idx) > shells[nearest]:
            raise GradientToolsError(f"{args.fixed[0]}: {len(idx)} fixed directions at b={b:g} "
                                     f"but the shell has only {shells[nearest]}")
        fixed[nearest], source[nearest] = given.bvecs[idx], b
    return fixed


def run(args) -> int:
    import json

    from .._shared.validate import check_int
    from ..diffusion.electrostatic import check_direction_count
    from ..diffusion.formats import FORMAT_FRAMES
    from ..diffusion.multishell import MAX_B0, multishell_scheme
    from ..diffusion.order import place_b0
    from ..diffusion.report import format_report, scheme_report
    from ..diffusion.writers import write_scheme

    shells = {}
    for b, n in args.shell:
        if b in shells:
            raise GradientToolsError(f"shell b={b:g} given twice")
        shells[b] = n
    # the limits first: everything after them may allocate per volume or per direction
    check_direction_count(sum(shells.values()), "the number of diffusion-weighted directions")
    check_int(args.b0, "--b0", minimum=0, maximum=MAX_B0)
    check_output_folder(args.output)  # before minutes of optimisation
    check_outputs_are_not_inputs(output_paths(args.output, args.format), args.fixed or [])
    place_b0(sum(shells.values()), args.b0, args.b0_every, head=args.b0_head, end=args.b0_end,
             spread=args.b0_spread)
    reference, volumes = load_reference(args.reference)
    target = FORMAT_FRAMES[args.format]
    design_frame = "scanner" if reference is not None and target != "logical" else target
    fixed = _fixed_directions(args, shells, design_frame, reference, volumes) if args.fixed else None
    with TextProgressBar("optimising") as bar:
        scheme = multishell_scheme(shells, b0=args.b0, b0_every=args.b0_every, seed=args.seed,
                                   order=args.order, polarity=args.polarity, fixed=fixed,
                                   restarts=args.restarts, progress=bar, b0_head=args.b0_head,
                                   b0_end=args.b0_end, b0_spread=args.b0_spread, frame=design_frame)
    paths = write_scheme(scheme, args.output, args.format, reference=reference,
                         comment="gradienttools scheme " + " ".join(f"{b:g}:{n}" for b, n in args.shell))
    report = scheme_report(scheme)
    if args.json:
        print(json.dumps({"written": paths, "frame": target, "designed_in": design_frame, "report": report},
                         indent=2))
    else:
        print(format_report(report))
        print("")
        for path in paths:
            print(f"wrote {path}")
    return 0
