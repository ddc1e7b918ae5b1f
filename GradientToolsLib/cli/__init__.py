"""The ``gradienttools`` command line: one subcommand per job.

Each subcommand is a module of this package defining ``NAME``, ``HELP``, ``ORDER`` (position in
``--help``), ``add_arguments(parser)`` and ``run(args) -> int``.

Bad input anywhere (a :class:`GradientToolsError`, ``ValueError`` or ``OSError``) ends the program
with one line on stderr and exit status 2, never a traceback; subcommands write their outputs through
:func:`GradientToolsLib._shared.files.atomic_output`, so no partial output file is left behind.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import List, Optional

from .. import __version__

EXIT_BAD_INPUT = 2


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse prints usage plus the error; bad input must give a single line on stderr."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _command_modules():
    modules = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "run"):
            modules.append(module)
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.NAME))


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(
        prog="gradienttools",
        description="Image gradients for volume rendering and diffusion gradient schemes.",
    )
    parser.add_argument("--version", action="version", version=f"gradienttools {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineArgumentParser)
    sub.required = True
    for module in _command_modules():
        p = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write("gradienttools: interrupted\n")
        return 130
    except (ValueError, OSError) as exc:  # GradientToolsError is a ValueError
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.stderr.write(f"gradienttools {args.command}: error: {message}\n")
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
