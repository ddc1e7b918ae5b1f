"""``gradienttools demo``: run every demo section on built-in synthetic data."""

from __future__ import annotations

import os

from ..demo import run_demo

NAME = "demo"
ORDER = 90
HELP = "write example outputs (volumes, plots, renders, schemes) made from built-in synthetic data"


def add_arguments(parser) -> None:
    parser.add_argument("--output", default="gradienttools-demo",
                        help="folder to write into (created if missing; default: %(default)s)")
    parser.add_argument("--only", action="append", metavar="SECTION",
                        help="run only this section (repeatable)")


def run(args) -> int:
    os.makedirs(args.output, exist_ok=True)
    written = run_demo(args.output, only=args.only)
    print(f"Demo wrote {len(written)} files into {os.path.abspath(args.output)}:")
    for path in written:
        print(f"  {path}")
    return 0
