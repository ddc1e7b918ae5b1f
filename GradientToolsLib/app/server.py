"""Starting and stopping the app's trame server.

The view is trame-slicer's remote 3D view: Slicer's displayable managers render the shared MRML scene
offscreen (Mesa EGL on a server without a display) and trame-rca streams each frame to every
connected tab as a JPEG. One server process serves every tab; see :mod:`.controller` for what they
share.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Sequence

#: JPEG quality of every frame. trame-rca sends a frame at its "interactive" quality and renders it a
#: second time at its "still" quality (90) when the two differ; the same value for both renders once.
FRAME_QUALITY = 90


@contextlib.contextmanager
def _own_command_line():
    """trame parses ``sys.argv`` when it starts; our options are already parsed, hide them from it."""
    saved = sys.argv
    sys.argv = saved[:1]
    try:
        yield
    finally:
        sys.argv = saved


def url_line(host: str, port: int) -> str:
    """The line the app prints once it accepts connections."""
    return f"GradientTools app: http://{host}:{port}/"


def create_app(volumes: Sequence[str] = (), server=None):
    """Build the server, the session (with the volumes or the CT phantom loaded) and the page.

    Returns
    -------
    (server, AppController)
    """
    from trame.app import get_server
    from trame_server.utils.asynchronous import get_event_loop
    from trame_slicer.rca_view import RemoteThreeDViewFactory

    from .controller import AppController
    from .page import build_page
    from .session import Session

    with _own_command_line():
        server = server or get_server("gradienttools", client_type="vue3")
        factory = RemoteThreeDViewFactory(server, interactive_quality=FRAME_QUALITY, populate_view_ui_f=None)
        controller = AppController(server, lambda **callbacks: Session(view_factory=factory, **callbacks))
        view = controller.session.offscreen.view
        build_page(server, controller, server.translator.translate_key(view.get_singleton_tag()))
        get_event_loop().run_until_complete(controller.load_at_start(list(volumes)))
    return server, controller


def serve(volumes: Sequence[str] = (), host: str = "127.0.0.1", port: int = 8080, timeout: int = 0,
          out=None) -> int:
    """Run the app until SIGINT or SIGTERM (or ``timeout`` seconds without a tab, if > 0).

    Prints :func:`url_line` to ``out`` (stdout), flushed, once the server accepts connections.
    """
    out = out or sys.stdout
    server, controller = create_app(volumes)

    def announce(**_):
        out.write(url_line(host, server.port) + "\n")
        out.flush()

    server.controller.on_server_ready.add(announce)
    try:
        with _own_command_line():
            server.start(port=int(port), host=host, open_browser=False, show_connection_info=False,
                         timeout=int(timeout), disable_logging=True)
    finally:
        controller.session.close()
    return 0

