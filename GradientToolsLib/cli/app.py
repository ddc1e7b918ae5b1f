"""``gradienttools app``: the GradientTools page in a browser, on Slicer's own core (trame-slicer)."""

from __future__ import annotations

import argparse

from .scheme import _non_negative_int

NAME = "app"
ORDER = 60
HELP = "serve the GradientTools page (3D view rendered by Slicer's core) to a browser"
DESCRIPTION = """\
Serve one page with a 3D view rendered by Slicer's own volume-rendering pipeline (slicer-core and
trame-slicer, offscreen) and the panel's sections: load a volume, gradient magnitude, gradient
opacity (suggest, histogram, apply, flat), diffusion scheme (generate, report, downloads).

Loads the VOLUME files (NRRD, NIfTI, MetaImage), or the built-in CT phantom when none is given,
then prints "GradientTools app: http://HOST:PORT/" once it accepts connections. Every tab opened on
that address shares one session (the same scene and results). Stop it with Ctrl-C (or SIGTERM).
Needs the 'app' extra: pip install 'gradienttools[app]'.

example:
  gradienttools app ct.nrrd --port 8080
"""


def _port(text: str) -> int:
    value = _non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535; 0: any free port)")
    return value


def add_arguments(parser) -> None:
    parser.add_argument("volumes", nargs="*", metavar="VOLUME",
                        help="scalar volume files to load (default: the built-in CT phantom)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: %(default)s, this machine only)")
    parser.add_argument("--port", type=_port, default=8080,
                        help="port (default: %(default)s; 0: any free port)")
    parser.add_argument("--timeout", type=_non_negative_int, default=0, metavar="S",
                        help="stop after S seconds without a connected tab (default: 0, never)")


def run(args) -> int:
    import os

    from ..app import require_app_extra, run_app
    from ..errors import GradientToolsError

    require_app_extra()
    for path in args.volumes:
        if not os.path.isfile(path):
            raise GradientToolsError(f"input file not found: {path}")
    return run_app(args.volumes, host=args.host, port=args.port, timeout=args.timeout)
