"""Between the page and the session: trame state in, session actions, trame state out.

trame keeps ONE state per server process, and every browser tab shows it: the fields, the results,
the progress bar and the 3D view are the same in every tab (a shared session, not one per tab).
Actions from several tabs queue in the session's :class:`~GradientToolsLib.app.jobs.JobQueue` and
run one after the other; the page shows what runs and how many actions wait.

State names start with ``gt_``; the page (:mod:`.page`) binds its controls to them.
"""

from __future__ import annotations

import base64
import logging
from typing import Callable, List

from ..diffusion.formats import FORMATS
from ..diffusion.report import format_report
from ..errors import GradientToolsError
from .jobs import SUPERSEDED, QueueStatus
from .session import SCHEME_PREFIX, Session, scheme_file_names

logger = logging.getLogger(__name__)

#: initial values of the page's fields (the Slicer module's defaults)
DEFAULTS = {
    "gt_gradient_method": "central", "gt_gradient_sigma": 1.0, "gt_gradient_units": "mm",
    "gt_suppression": 1.0, "gt_visible_only": True,
    "gt_shells": "1000:30, 2000:60", "gt_b0_count": 6, "gt_b0_placement": "interleaved",
    "gt_ordering": "robust", "gt_polarity": True, "gt_seed": 0, "gt_radius": "b-value",
    "gt_antipodes": False, "gt_show": "volume",
}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fmt(value, digits: int = 4) -> str:
    return "inf" if value is None else f"{value:.{digits}g}"


def report_rows(report: dict) -> List[dict]:
    """One table row per shell (and one for all shells together) of a :func:`scheme_report`."""
    sets = [(f"b = {shell['b']:g}", shell) for shell in report["shells"]]
    if report.get("union"):
        sets.append(("all shells", report["union"]))
    rows = []
    for label, entry in sets:
        conditions = list(entry["sh_condition"].values())
        rows.append({
            "shell": label, "b": entry.get("b", ""), "n": entry["n"],
            "min_angle": f"{entry['bipolar']['nearest_angle']['min']:.2f}",
            "mean_angle": f"{entry['bipolar']['nearest_angle']['mean']:.2f}",
            "energy": _fmt(entry["E_half"], 7),
            "condition": _fmt(conditions[-1]) if conditions else "-",
            "asymmetry": f"{entry['asymmetry']:.3f}",
        })
    return rows


def noise_text(suggestion) -> str:
    """The noise estimate and the curve it gave, in the GPU ray caster's units."""
    points = suggestion.points
    text = (f"noise sigma {suggestion.noise_sigma:.4g} (scalar units); noise gradient 99th percentile "
            f"P = {suggestion.noise_p99:.4g} per voxel step; method: {suggestion.method}")
    if len(points) > 2:
        text += f"; opacity 0 up to {points[1][0]:.4g}, 1 from {points[2][0]:.4g}"
    return text + f" (suppression {suggestion.suppression:g})"


class AppController:
    """Connects a trame server's state and triggers to a :class:`Session`."""

    def __init__(self, server, session_factory: Callable[..., Session]) -> None:
        self.server = server
        self.state = server.state
        self.state.update(DEFAULTS)
        self.state.update({
            "gt_busy": False, "gt_job": "", "gt_progress": 0, "gt_progress_message": "", "gt_waiting": 0,
            "gt_error": "", "gt_frames": 0, "gt_frame_seconds": 0.0,
            "gt_volumes": [], "gt_volume_id": None, "gt_volume_info": "", "gt_preset": "",
            "gt_presets": [], "gt_gradient_info": "", "gt_has_gradient": False,
            "gt_noise": "", "gt_warnings": [], "gt_histogram": "", "gt_points": "",
            "gt_opacity_applied": False, "gt_has_suggestion": False,
            "gt_report_rows": [], "gt_report_text": "", "gt_has_scheme": False,
        })
        self.session = session_factory(on_status=self._on_status, on_frame=self._on_frame)
        self.state.gt_presets = self.session.offscreen.preset_names()
        self._tasks = set()
        self.server.controller.trigger("gt_upload")(self.background(self.upload))
        self.server.controller.trigger("gt_download")(self.download)
        self.state.change("gt_suppression")(self._on_suppression)
        self.state.change("gt_volume_id")(lambda gt_volume_id, **_: self.select_volume(gt_volume_id))
        self.state.change("gt_preset")(lambda gt_preset, **_: self.set_preset(gt_preset))
        self.state.change("gt_show")(lambda gt_show, **_: self.set_show(gt_show))

    def background(self, action: Callable) -> Callable:
        """A plain callable for a button that starts ``action`` as a task and returns at once.

        wslink handles one tab's messages one after the other and waits for a trigger's coroutine,
        so a trigger that awaited a long job would hold that tab's later clicks (and its view's
        events) until the job ends; started as a task, the job waits in the queue instead.
        """
        from trame.app import asynchronous

        def start(*args):
            task = asynchronous.create_task(action(*args))
            self._tasks.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(self._tasks.discard)

        return start

    # -- state out -----------------------------------------------------------------------------

    def _on_status(self, status: QueueStatus) -> None:
        with self.state:
            self.state.gt_busy = status.busy
            self.state.gt_job = status.title
            self.state.gt_progress = round(100.0 * status.fraction, 1)
            self.state.gt_progress_message = status.message
            self.state.gt_waiting = status.waiting

    def _on_frame(self, count: int, seconds: float) -> None:
        with self.state:
            self.state.gt_frames = count
            self.state.gt_frame_seconds = round(seconds, 2)

    def _show_volume(self) -> None:
        session = self.session
        info = session.volume_info()
        self.state.gt_volumes = [{"title": node.GetName(), "value": node.GetID()} for node in session.volumes]
        self.state.gt_volume_id = info["id"] if info else None
        if info:
            shape = " x ".join(str(n) for n in info["shape"][::-1])
            spacing = " x ".join(f"{s:.4g}" for s in info["spacing"])
            low, high = info["range"]
            self.state.gt_volume_info = (f"{info['name']}: {shape} voxels (I x J x K), {spacing} mm, "
                                         f"{info['dtype']} values {low:.6g} to {high:.6g}")
            self.state.gt_preset = info["preset"]
        gradient = session.gradient_info()
        self.state.gt_has_gradient = gradient is not None
        self.state.gt_gradient_info = "" if gradient is None else (
            f"{gradient['name']}: {gradient['method']}, per {gradient['units']}; 99th percentile "
            f"{gradient['p99']:.4g}, maximum {gradient['max']:.4g}")
        if session.suggestion is None:
            self.state.gt_has_suggestion = False
            self.state.gt_noise, self.state.gt_warnings = "", []
            self.state.gt_histogram = self.state.gt_points = ""
        self.state.gt_opacity_applied = session.opacity_applied
        self.state.gt_show = session.show

    def _show_suggestion(self, result) -> None:
        suggestion, png = result
        self.state.gt_has_suggestion = True
        self.state.gt_noise = noise_text(suggestion)
        self.state.gt_warnings = [str(w) for w in getattr(suggestion, "warnings", [])]
        self.state.gt_histogram = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        self.state.gt_points = suggestion.to_string()

    def _show_scheme(self, result) -> None:
        _, report = result
        self.state.gt_has_scheme = True
        self.state.gt_report_rows = report_rows(report)
        self.state.gt_report_text = format_report(report)

    async def _act(self, action, show: Callable = None) -> None:
        """Run a session action; show its result, or its error in one line, in every tab."""
        with self.state:
            self.state.gt_error = ""
        try:
            result = await action
        except (GradientToolsError, ValueError, OSError) as exc:
            result, error = None, _first_line(exc)
        except Exception as exc:  # a bug: keep serving, say so on the page, keep the traceback
            logger.exception("GradientTools app action failed")
            result, error = None, f"internal error: {_first_line(exc)}"
        else:
            error = ""
        if result is SUPERSEDED:
            return
        with self.state:
            self.state.gt_error = error
            if not error and show is not None:
                show(result)
            self._show_volume()

    # -- actions (the page's buttons) ----------------------------------------------------------

    async def load_phantom(self) -> None:
        await self._act(self.session.load_phantom())

    async def load_at_start(self, paths) -> None:
        """Load the command line's volumes (the CT phantom if none); the first error is raised."""
        if paths:
            for path in paths:
                await self.session.load_volume_file(path)
        else:
            await self.session.load_phantom()
        with self.state:
            self._show_volume()

    async def upload(self, files) -> None:
        """Trigger ``gt_upload``: the browser's file list (dicts with name and content)."""
        from trame.app.file_upload import ClientFile

        for entry in files or []:
            file = ClientFile(entry)
            if file.is_empty:
                continue
            await self._act(self.session.load_upload(file.name, file.content))

    async def select_volume(self, node_id) -> None:
        if node_id and self.session.active is not None and node_id != self.session.active.GetID():
            await self._act(self.session.select_volume(node_id))

    async def set_preset(self, preset) -> None:
        if preset and self.session.active is not None and preset != self.session.presets.get(
                self.session.active.GetID()):
            await self._act(self.session.set_preset(preset))

    async def set_show(self, mode) -> None:
        if mode and mode != self.session.show:
            await self._act(self.session.set_show(mode))

    async def compute_gradient(self) -> None:
        state = self.state
        sigma = float(state.gt_gradient_sigma) if state.gt_gradient_method == "gaussian" else None
        await self._act(self.session.compute_gradient(state.gt_gradient_method, sigma,
                                                      state.gt_gradient_units))

    async def suggest(self) -> None:
        suppression, visible_only = float(self.state.gt_suppression), bool(self.state.gt_visible_only)
        await self._act(self.session.suggest(suppression, visible_only), self._show_suggestion)

    async def _on_suppression(self, gt_suppression, **_) -> None:
        if self.session.suggestion is not None:
            await self.suggest()

    async def apply_opacity(self) -> None:
        await self._act(self.session.apply_opacity())

    async def reset_opacity(self) -> None:
        await self._act(self.session.reset_opacity())

    async def generate(self) -> None:
        state = self.state
        try:
            b0_count, seed = int(state.gt_b0_count), int(state.gt_seed)
        except (TypeError, ValueError):
            with state:
                state.gt_error = "the number of b=0 volumes and the seed must be whole numbers"
            return
        await self._act(self.session.generate_scheme(
            state.gt_shells, b0_count=b0_count, b0_placement=state.gt_b0_placement,
            ordering=state.gt_ordering, optimize_polarity=bool(state.gt_polarity), seed=seed,
            radius=state.gt_radius, show_antipodes=bool(state.gt_antipodes)), self._show_scheme)

    def download(self, fmt: str, index: int = 0):
        """Trigger ``gt_download``: file ``index`` of the scheme in format ``fmt``, as an attachment."""
        try:
            name, content = self.session.scheme_files(fmt)[int(index)]
        except (GradientToolsError, ValueError, OSError, IndexError) as exc:
            with self.state:
                self.state.gt_error = _first_line(exc)
            return None
        logger.info("download %s (%d bytes)", name, len(content))
        return self.server.protocol.addAttachment(content)


def download_buttons() -> List[dict]:
    """(id, label, file name, format, index) of every download button, one per file of each format."""
    buttons = []
    for fmt in FORMATS:
        names = scheme_file_names(fmt)
        for index, name in enumerate(names):
            suffix = name[len(SCHEME_PREFIX):]
            button_id = f"gt-download-{fmt}"
            if len(names) > 1:
                button_id += "-" + suffix.strip(".").replace(".", "-")
            buttons.append({"id": button_id, "label": f"{fmt} {suffix}", "file": name, "format": fmt,
                            "index": index})
    return buttons
