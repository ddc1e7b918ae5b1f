"""``gradienttools demo``: run every demo section on built-in synthetic data."""

from __future__ import annotations

import os

from ..demo import run_demo, section_names
from ..errors import GradientToolsError

NAME = "demo"
ORDER = 90
HELP = "write example outputs (volumes, plots, renders, schemes) made from built-in synthetic data"


def add_arguments(parser) -> None:
    parser.add_argument("--output", default="gradienttools-demo",
                        help="folder to write into (created if missing; default: %(default)s)")
    parser.add_argument("--only", action="append", metavar="SECTION",
                        help="run only this section (repeatable): gradient, opacity, scheme, slicer_scene")


def run(args) -> int:
    known = section_names()
    unknown = [name for name in (args.only or []) if name not in known]
    if unknown:
        raise GradientToolsError(f"unknown demo section {unknown[0]!r}; choose from {', '.join(known)}")
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise GradientToolsError(f"--output {args.output} exists and is not a folder")
    os.makedirs(args.output, exist_ok=True)
    written = run_demo(args.output, only=args.only)
    print(f"Demo wrote {len(written)} files into {os.path.abspath(args.output)}:")
    for path in written:
        print(f"  {path}")
    return 0
