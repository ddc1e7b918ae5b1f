"""GradientTools in the browser: the panel's sections beside a 3D view rendered by Slicer's own core.

``gradienttools app`` serves one page (trame 4 + vuetify 3) whose 3D view is trame-slicer's remote
view of a MRML scene wired with Slicer's application, volume-rendering and markups logics (the same
displayable managers and GPU ray caster as Slicer, rendered offscreen and streamed as images). Every
number on the page comes from the same MRML bridge (:mod:`GradientToolsLib.mrml`) and diffusion
package the Slicer module uses.

=================  =========================================================================
module             job
=================  =========================================================================
``jobs``           the queue that runs scene-changing work one job at a time, off the event loop
``session``        the scene, the loaded volumes and the results; every action a queued job
``controller``     trame state and triggers <-> the session (one shared state for all tabs)
``page``           the page's layout and its HTML ids
``server``         building and running the trame server
=================  =========================================================================

Needs the ``app`` extra (``pip install 'gradienttools[app]'``: trame, trame-vuetify, trame-slicer,
slicer-core, matplotlib); :func:`require_app_extra` says so in one line when it is missing.
"""

from __future__ import annotations

#: the modules the app cannot run without, and the pip names that provide them
REQUIRED = (("trame", "trame"), ("trame_vuetify", "trame-vuetify"), ("trame_slicer", "trame-slicer"),
            ("slicer", "slicer-core"), ("matplotlib", "matplotlib"))


def require_app_extra() -> None:
    """Raise GradientToolsError naming the ``app`` extra if one of its packages is not installed."""
    import importlib.util

    from ..errors import GradientToolsError

    missing = [package for module, package in REQUIRED if importlib.util.find_spec(module) is None]
    if missing:
        raise GradientToolsError(
            f"the browser app needs the 'app' extra (missing: {', '.join(missing)}): "
            "pip install 'gradienttools[app]'")


def run_app(volumes=(), host: str = "127.0.0.1", port: int = 8080, timeout: int = 0) -> int:
    """Serve the page until SIGINT/SIGTERM; prints ``GradientTools app: http://HOST:PORT/`` when ready."""
    require_app_extra()
    from .server import serve

    return serve(volumes, host=host, port=port, timeout=timeout)
