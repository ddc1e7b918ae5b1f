"""``gradienttools split``: a scheme into K subsets, each as uniform as possible (like MRtrix's dirsplit)."""

from __future__ import annotations

from ._schemes import (
    INPUT_DESCRIPTION,
    add_frame_arguments,
    add_input_arguments,
    check_outputs_are_not_inputs,
    check_reference_volumes,
    format_of,
    int_at_least,
    load_reference,
    output_paths,
    read_input,
)

NAME = "split"
ORDER = 33
HELP = "split a diffusion scheme into K uniform subsets (e.g. one per phase-encoding run), like dirsplit"
DESCRIPTION = f"""\
Split a diffusion gradient scheme into K parts, each as uniform as possible on its own: every
shell is dealt out so that each part gets its share (sizes differ by at most one), then pairs
are swapped between parts while that lowers the parts' electrostatic energies (like MRtrix's
dirsplit, which it beats on dirsplit's own measure, the highest part energy). b=0 volumes are
dealt out in acquisition order; each part keeps the acquisition order of its volumes.

Writes PREFIX_1 ... PREFIX_K in the input's format (or --format) and prints each part's
report (energies and nearest-neighbour angles per shell).

{INPUT_DESCRIPTION}

example:
  gradienttools split dwi.b --parts 2 --output dwi_pe   # dwi_pe_1.b (AP run), dwi_pe_2.b (PA run)
"""


def add_arguments(parser) -> None:
    from ..diffusion.formats import FORMATS

    add_input_arguments(parser)
    parser.add_argument("--parts", type=int_at_least(2), required=True, metavar="K", help="number of subsets")
    parser.add_argument("--output", required=True, metavar="PREFIX", help="outputs PREFIX_1 ... PREFIX_K")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="output format (default: the input's)")
    add_frame_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed of the extra starts (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the parts and their reports as JSON")


def run(args) -> int:
    import json

    from .._shared.files import check_output_folder
    from ..diffusion.report import format_report, scheme_report
    from ..diffusion.split import split_scheme
    from ..diffusion.writers import write_scheme

    fmt = args.format or format_of(args.files)
    prefixes = [f"{args.output}_{k + 1}" for k in range(args.parts)]
    check_output_folder(args.output)
    check_outputs_are_not_inputs([p for prefix in prefixes for p in output_paths(prefix, fmt)], args.files)
    reference, volumes = load_reference(args.reference)
    scheme = read_input(args.files, args)
    check_reference_volumes(args.reference, volumes, scheme)
    groups = split_scheme(scheme, args.parts, seed=args.seed)
    parts = [scheme.subset(indices) for indices in groups]
    written = []
    try:
        for k, (prefix, part) in enumerate(zip(prefixes, parts)):
            comment = f"gradienttools split: part {k + 1} of {args.parts}"
            written.append(write_scheme(part, prefix, fmt, comment, reference=reference,
                                        keep_vectors=args.keep_vectors))
    except BaseException:
        import os

        for paths in written:  # all parts or none
            for path in paths:
                if os.path.exists(path):
                    os.remove(path)
        raise
    reports = [scheme_report(part) for part in parts]
    if args.json:
        print(json.dumps([{"written": paths, "volumes": [int(i) for i in indices], "report": report}
                          for paths, indices, report in zip(written, groups, reports)], indent=2))
        return 0
    for k, report in enumerate(reports):
        print(f"part {k + 1} of {args.parts}: {parts[k].n} volumes")
        print(format_report(report))
        print("")
    for paths in written:
        for path in paths:
            print(f"wrote {path}")
    return 0
