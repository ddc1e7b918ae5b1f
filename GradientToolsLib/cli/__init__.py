"""The ``gradienttools`` command line: one subcommand per job.

Each subcommand is a module of this package defining ``NAME``, ``HELP``, ``ORDER`` (position in
``--help``), ``add_arguments(parser)`` and ``run(args) -> int``; ``PUBLISH_TOGETHER = False`` for a
command whose files must appear while it runs (the app server).

Bad input anywhere (a :class:`GradientToolsError`, ``ValueError`` or ``OSError``) ends the program
with one line on stderr and exit status 2, never a traceback; subcommands write their outputs through
:func:`GradientToolsLib._shared.files.atomic_output`, so no partial output file is left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pkgutil
import signal
import sys
import warnings
from typing import Iterator, List, Optional

from .. import __version__
from .._shared.files import publish_together

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
        p.set_defaults(_run=module.run, _group=getattr(module, "PUBLISH_TOGETHER", True))
    return parser


class _QuietStdout:
    """stdout that stops writing when its reader goes away (``gradienttools stats ... | head``):
    the command still finishes and publishes its files, without a "Broken pipe" traceback."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self.broken = True
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self.broken = True

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _Terminated(SystemExit):
    """Raised by the SIGTERM handler: unwinds like SystemExit, so temporaries are removed."""


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM raises _Terminated (exit status 143) so that temporaries are removed on the way out."""
    def stop(signum, frame):
        raise _Terminated(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread (e.g. called from a test runner thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _warnings_as_lines(command: str) -> Iterator[None]:
    """Python warnings raised while a command runs become one stderr line each."""
    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        sys.stderr.write(f"gradienttools {command}: warning: {text}\n")

    with warnings.catch_warnings():  # the filters stay Python's (no ResourceWarning, no deprecations)
        warnings.showwarning = show
        yield


def _error_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(exc).__name__


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``gradienttools ARGV``; returns the exit status (0 success, 2 bad input, 130 interrupted).

    Outputs of a command appear together when it succeeds, or not at all (see
    :func:`GradientToolsLib._shared.files.publish_together`).
    """
    command = "gradienttools"
    stdout = _QuietStdout(sys.stdout)
    try:
        with _terminate_as_exit(), contextlib.redirect_stdout(stdout):
            parser = build_parser()
            args = parser.parse_args(argv)
            command = f"gradienttools {args.command}"
            group = publish_together() if args._group else contextlib.nullcontext()
            with group, _warnings_as_lines(args.command):
                return int(args._run(args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write(f"{command}: interrupted\n")
        return 130
    except _Terminated as exc:
        sys.stderr.write(f"{command}: terminated (nothing was written)\n")
        return int(exc.code)
    except MemoryError:
        sys.stderr.write(f"{command}: error: not enough memory for this request (nothing was written)\n")
        return EXIT_BAD_INPUT
    except ImportError as exc:  # e.g. a shared library that cannot be mapped under a memory limit
        sys.stderr.write(f"{command}: error: cannot load a library it needs ({_error_line(exc)})\n")
        return EXIT_BAD_INPUT
    except RecursionError as exc:  # pragma: no cover - deeply nested input
        sys.stderr.write(f"{command}: error: input too deeply nested ({exc})\n")
        return EXIT_BAD_INPUT
    except (ValueError, OSError, OverflowError) as exc:  # GradientToolsError is a ValueError
        sys.stderr.write(f"{command}: error: {_error_line(exc)}\n")
        return EXIT_BAD_INPUT
    finally:
        if stdout.broken:  # keep the interpreter's final flush from reporting the closed pipe
            with contextlib.suppress(OSError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
