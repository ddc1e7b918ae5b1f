"""What the page works on: one MRML scene with Slicer's logics and one 3D view, and the results.

A :class:`Session` is independent of the page (tests drive it without a browser). Every action is a
coroutine that goes through the session's :class:`~GradientToolsLib.app.jobs.JobQueue`: long work runs
in the queue's worker thread on numpy arrays or detached nodes, changes to the scene run on the
event loop, one action at a time. All computations are the MRML bridge's (:mod:`GradientToolsLib.mrml`)
and the diffusion package's, as in the Slicer module.

Volume arrays are K,J,I; spacing I,J,K in mm; positions RAS in mm.
"""

from __future__ import annotations

import os
import tempfile
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import mrml
from ..diffusion.formats import FORMATS, SUFFIXES
from ..diffusion.report import scheme_report
from ..diffusion.writers import write_scheme
from ..errors import GradientToolsError
from ..image.phantoms import ct_phantom
from ..image.volume_io import read_volume
from ..mrml import app_scene
from .jobs import JobQueue, QueueStatus

#: the built-in CT phantom: thick slices, so renderer and physical gradient units differ
PHANTOM = {"shape": (48, 96, 96), "spacing": (0.8, 0.8, 2.0), "noise_std": 40.0, "seed": 0}
PHANTOM_NAME = "CT phantom"
#: soft-tissue preset for CT (values below CT_MINIMUM: air in Hounsfield units), else MR's
CT_PRESET, MR_PRESET, CT_MINIMUM = "CT-Muscle", "MR-Default", -200.0
#: single-file volume formats a browser can upload (a .nhdr or .mhd header needs its data file)
UPLOAD_SUFFIXES = (".nrrd", ".nii", ".nii.gz", ".mha")
#: what the 3D view shows
SHOW_MODES = ("volume", "gradient", "scheme")
#: file-name stem of downloaded schemes
SCHEME_PREFIX = "gradienttools-scheme"
BACKGROUND = (0.11, 0.12, 0.16)
#: the scheme preview's outer sphere, as a share of the largest sphere inside the volume
SCHEME_SPHERE_SHARE = 0.9


def _value_range(array) -> Tuple[float, float]:
    finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
    if finite.size == 0:
        return 0.0, 0.0
    return float(finite.min()), float(finite.max())


def upload_suffix(name: str) -> str:
    """The volume-format suffix of an uploaded file name, or a GradientToolsError naming the formats."""
    lower = os.path.basename(name).lower()
    for suffix in UPLOAD_SUFFIXES:
        if lower.endswith(suffix):
            return suffix
    raise GradientToolsError(f"cannot load '{os.path.basename(name)}': upload one single-file volume "
                             f"({', '.join(UPLOAD_SUFFIXES)})")


def scheme_file_names(fmt: str) -> List[str]:
    """Names of the files a download of format ``fmt`` gives (``gradienttools-scheme.bval``, ...)."""
    if fmt not in FORMATS:
        raise GradientToolsError(f"unknown scheme format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return [SCHEME_PREFIX + suffix for suffix in SUFFIXES[fmt]]


class Session:
    """The scene behind the page and what was computed on it, shared by every tab.

    Parameters
    ----------
    view_factory : trame-slicer view factory, optional
        The browser app passes trame-slicer's ``RemoteThreeDViewFactory``; by default the view is
        offscreen and renders only on request (tests).
    on_status : callable, optional
        ``on_status(QueueStatus)`` on every change of the job queue (on the event loop).
    on_frame : callable, optional
        ``on_frame(count, seconds)`` after each render of the view: frames so far, last frame's time.
    width, height : int
        Initial view size in pixels. A remote view follows the browser's size; its small default
        keeps the renders made before any tab connects cheap.
    """

    def __init__(self, view_factory=None, on_status: Optional[Callable[[QueueStatus], None]] = None,
                 on_frame: Optional[Callable[[int, float], None]] = None, width: int = 64,
                 height: int = 64) -> None:
        self.offscreen = mrml.OffscreenSlicer(width, height, background=BACKGROUND, view_factory=view_factory)
        self.scene = self.offscreen.scene
        self.jobs = JobQueue(on_status)
        self.volumes: List = []
        self.active = None
        self.gradients: Dict[str, object] = {}
        self.presets: Dict[str, str] = {}
        # value statistics, computed once in the worker (a full pass over a big volume is too slow
        # for the event loop): volume ID -> (min, max); volume ID -> gradient's (99th pct, max)
        self.ranges: Dict[str, Tuple[float, float]] = {}
        self.gradient_stats: Dict[str, Tuple[float, float]] = {}
        self.suggestion = None
        self.opacity_applied = False
        self.scheme = None
        self.report: Optional[dict] = None
        self.show = "volume"
        self.frames = 0
        self.frame_seconds = 0.0
        self._on_frame = on_frame
        self._observe_renders()

    # -- renders -------------------------------------------------------------------------------

    def _observe_renders(self) -> None:
        import time

        import vtk

        window = self.offscreen.view.render_window()
        started = [0.0]

        def on_start(*_):
            started[0] = time.perf_counter()

        def on_end(*_):
            self.frames += 1
            self.frame_seconds = time.perf_counter() - started[0]
            if self._on_frame is not None:
                self._on_frame(self.frames, self.frame_seconds)

        self._render_observers = [window.AddObserver(vtk.vtkCommand.StartEvent, on_start),
                                  window.AddObserver(vtk.vtkCommand.EndEvent, on_end)]

    # -- what is loaded ------------------------------------------------------------------------

    def display_of(self, volume_node):
        """The volume-rendering display node of a volume node (None if it has none)."""
        return self.offscreen.app.volume_rendering.get_vr_display_node(volume_node)

    def _require_active(self):
        if self.active is None:
            raise GradientToolsError("load a volume first")
        return self.active

    def volume_info(self) -> Optional[dict]:
        """Name, shape (K,J,I), spacing (I,J,K mm), scalar range and preset of the active volume."""
        node = self.active
        if node is None:
            return None
        array = mrml.volume_array(node)
        return {
            "id": node.GetID(), "name": node.GetName(), "shape": tuple(int(n) for n in array.shape),
            "spacing": tuple(float(s) for s in node.GetSpacing()),
            "range": self.ranges[node.GetID()], "dtype": str(array.dtype),
            "preset": self.presets.get(node.GetID(), ""),
        }

    def gradient_info(self) -> Optional[dict]:
        """Units, method and value range of the active volume's gradient-magnitude volume."""
        node = self.gradients.get(self.active.GetID()) if self.active is not None else None
        if node is None:
            return None
        p99, top = self.gradient_stats[self.active.GetID()]
        return {
            "name": node.GetName(), "method": node.GetAttribute(mrml.ATTRIBUTE_PREFIX + "Method"),
            "units": node.GetAttribute(mrml.ATTRIBUTE_PREFIX + "Units"), "max": top, "p99": p99,
        }

    def _add_volume(self, add: Callable[[], object], value_range: Tuple[float, float],
                    preset: Optional[str] = None):
        node = add()
        self.ranges[node.GetID()] = value_range
        if preset is None:
            preset = CT_PRESET if value_range[0] < CT_MINIMUM else MR_PRESET
        self.offscreen.show_volume_rendering(node, preset)
        self.presets[node.GetID()] = preset
        self.volumes.append(node)
        self._activate(node)
        return node

    def _activate(self, node) -> None:
        self.active = node
        self.suggestion = None
        self.opacity_applied = False
        self.show = "volume"
        self._apply_show()
        self.offscreen.reset_camera("anterior", azimuth=30.0, elevation=15.0, zoom=1.2)

    def _apply_show(self) -> None:
        """Make the view show the active volume, its gradient volume or the scheme preview."""
        for node in self.volumes:
            display = self.display_of(node)
            if display is not None:
                display.SetVisibility(node is self.active and self.show == "volume")
        for volume_id, gradient in self.gradients.items():
            display = self.display_of(gradient)
            if display is not None:
                display.SetVisibility(self.show == "gradient" and self.active is not None
                                      and volume_id == self.active.GetID())
        for node in app_scene.scheme_markups(self.scene):
            display = node.GetDisplayNode()
            if display is not None:
                display.SetVisibility(self.show == "scheme")

    # -- actions (each one job of the queue) ---------------------------------------------------

    async def load_phantom(self):
        """Add the built-in CT phantom (48 x 96 x 96 voxels, 0.8 x 0.8 x 2 mm) and show it."""
        def compute(progress):
            image, _ = ct_phantom(**PHANTOM)
            return image, _value_range(image)

        def finish(result):
            image, value_range = result
            return self._add_volume(lambda: self.offscreen.add_volume(
                image, spacing=PHANTOM["spacing"], name=PHANTOM_NAME), value_range, CT_PRESET)

        return await self.jobs.run("making the CT phantom", compute, finish)

    async def load_volume_file(self, path: str, name: Optional[str] = None):
        """Read a NRRD/NIfTI/MetaImage file (geometry included) and show it."""
        def compute(progress):
            progress(0.0, "reading")
            volume = read_volume(path)
            return volume, _value_range(volume.array)

        def finish(result):
            volume, value_range = result
            stem = name or os.path.basename(path)
            for suffix in UPLOAD_SUFFIXES:
                if stem.lower().endswith(suffix):
                    stem = stem[: -len(suffix)]
            return self._add_volume(lambda: app_scene.add_file_volume(
                self.offscreen, volume, self.scene.GenerateUniqueName(stem or "Volume")), value_range)

        return await self.jobs.run(f"loading {os.path.basename(name or path)}", compute, finish)

    async def load_upload(self, name: str, content: bytes):
        """Load a volume file sent by the browser (``name`` gives its format)."""
        suffix = upload_suffix(name)
        with tempfile.TemporaryDirectory(prefix="gradienttools-upload-") as folder:
            path = os.path.join(folder, "upload" + suffix)
            with open(path, "wb") as handle:
                handle.write(content)
            return await self.load_volume_file(path, name=os.path.basename(name))

    async def select_volume(self, node_id: str):
        """Make an already loaded volume the active one."""
        def finish(_):
            for node in self.volumes:
                if node.GetID() == node_id:
                    self._activate(node)
                    return node
            raise GradientToolsError(f"no loaded volume has the ID {node_id!r}")

        return await self.jobs.run("switching volume", None, finish)

    async def set_preset(self, preset: str):
        """Apply a volume-rendering preset to the active volume (its gradient opacity goes flat)."""
        def finish(_):
            node = self._require_active()
            self.offscreen.show_volume_rendering(node, preset)
            self.presets[node.GetID()] = preset
            self.opacity_applied = False
            self._apply_show()
            return preset

        return await self.jobs.run(f"applying preset {preset}", None, finish)

    async def set_show(self, mode: str):
        """Show the active volume, its gradient magnitude or the scheme preview in the 3D view."""
        if mode not in SHOW_MODES:
            raise GradientToolsError(f"the view shows one of {', '.join(SHOW_MODES)}, not {mode!r}")

        def finish(_):
            if mode == "gradient" and self.active is not None and self.active.GetID() not in self.gradients:
                raise GradientToolsError("compute the gradient magnitude first")
            if mode == "scheme" and self.scheme is None:
                raise GradientToolsError("generate a scheme first")
            self.show = mode
            self._apply_show()
            return mode

        return await self.jobs.run(f"showing the {mode}", None, finish)

    async def compute_gradient(self, method: str = "central", sigma: Optional[float] = None,
                               units: str = "mm"):
        """Gradient-magnitude volume of the active volume (the bridge's compute_gradient_magnitude)."""
        source = {}

        def compute(progress):
            source["node"] = self._require_active()
            detached = app_scene.detached_volume(source["node"])
            output = mrml.compute_gradient_magnitude(detached.node, method=method, sigma=sigma, units=units,
                                                     progress=progress)
            values = mrml.volume_array(output)
            return output, detached.scene, (float(np.percentile(values, 99.0)), float(values.max()))

        def finish(result):
            output, _private_scene, stats = result
            node = source["node"]
            target = self.gradients.get(node.GetID())
            gradient = app_scene.adopt_volume(self.scene, output, target=target, source_node=node)
            self.gradients[node.GetID()] = gradient
            self.gradient_stats[node.GetID()] = stats
            app_scene.show_gradient_rendering(self.offscreen, gradient)
            self.show = "gradient"
            self._apply_show()
            return gradient

        return await self.jobs.run("computing the gradient magnitude", compute, finish)

    async def suggest(self, suppression: float = 1.0, visible_only: bool = True):
        """Suggest a gradient opacity for the active volume; returns (suggestion, histogram PNG bytes)."""
        def compute(progress):
            from .. import figures

            node = self._require_active()
            display = self.display_of(node) if visible_only else None
            suggestion = mrml.suggest_gradient_opacity_for_volume(node, display, suppression=suppression,
                                                                  progress=progress)
            with tempfile.TemporaryDirectory(prefix="gradienttools-plot-") as folder:
                path = figures.save_histogram_plot(suggestion, os.path.join(folder, "histogram.png"))
                with open(path, "rb") as handle:
                    png = handle.read()
            return suggestion, png

        def finish(result):
            self.suggestion = result[0]
            if self.opacity_applied:
                self._apply_opacity()
            return result

        return await self.jobs.run("suggesting the gradient opacity", compute, finish, key="suggest")

    def _apply_opacity(self) -> None:
        display = self.display_of(self._require_active())
        mrml.apply_gradient_opacity(display, self.suggestion.points)
        self.opacity_applied = True
        self.show = "volume"
        self._apply_show()

    async def apply_opacity(self):
        """Put the suggested gradient opacity into the active volume's rendering."""
        def finish(_):
            if self.suggestion is None:
                raise GradientToolsError("suggest a gradient opacity first")
            self._apply_opacity()
            return self.suggestion.points

        return await self.jobs.run("applying the gradient opacity", None, finish)

    async def reset_opacity(self):
        """Make the active volume's gradient opacity flat (1 everywhere), as Slicer's presets have it."""
        def finish(_):
            mrml.reset_gradient_opacity(self.display_of(self._require_active()))
            self.opacity_applied = False
            self.show = "volume"
            self._apply_show()
            return mrml.gradient_opacity_points(self.display_of(self.active))

        return await self.jobs.run("resetting the gradient opacity", None, finish)

    async def generate_scheme(self, shells, b0_count: int = 6, b0_placement: str = "interleaved",
                              ordering: str = "robust", optimize_polarity: bool = True, seed: int = 0,
                              radius: str = "b-value", show_antipodes: bool = False):
        """Design a scheme (the module's Generate), show it as point lists; returns (scheme, report)."""
        def compute(progress):
            scheme = mrml.generate_scheme(shells, b0_count=b0_count, b0_placement=b0_placement,
                                          ordering=ordering, optimize_polarity=optimize_polarity, seed=seed,
                                          progress=progress)
            return scheme, scheme_report(scheme)

        def finish(result):
            scheme, report = result
            center, sphere_radius = self._scheme_sphere()
            app_scene.remove_scheme_markups(self.scene)
            mrml.scheme_to_markups(self.scene, scheme, radius=radius, show_antipodes=show_antipodes,
                                   center=center, sphere_radius=sphere_radius)
            self.scheme, self.report = scheme, report
            self.show = "scheme"
            self._apply_show()
            return result

        return await self.jobs.run("optimising the diffusion scheme", compute, finish)

    def _scheme_sphere(self) -> Tuple[Sequence[float], float]:
        if self.active is None:
            return (0.0, 0.0, 0.0), mrml.DEFAULT_SPHERE_RADIUS
        center, radius = app_scene.volume_sphere(self.active)
        return center, SCHEME_SPHERE_SHARE * radius

    def scheme_files(self, fmt: str) -> List[Tuple[str, bytes]]:
        """The current scheme written in format ``fmt`` by the library's writers: (file name, bytes)."""
        if self.scheme is None:
            raise GradientToolsError("generate a scheme first")
        names = scheme_file_names(fmt)
        with tempfile.TemporaryDirectory(prefix="gradienttools-scheme-") as folder:
            # a designed scheme is written as designed: uniform in any frame (mrml.export_scheme)
            paths = write_scheme(self.scheme, os.path.join(folder, SCHEME_PREFIX), fmt,
                                 comment="GradientTools app", keep_vectors=True)
            files = []
            for name, path in zip(names, paths):
                with open(path, "rb") as handle:
                    files.append((name, handle.read()))
        return files

    def close(self) -> None:
        """Release the view's render window (and the Python observers on it, which must not outlive
        the interpreter: a window finalised at exit would call them)."""
        window = self.offscreen.view.render_window()
        for tag in self._render_observers:
            window.RemoveObserver(tag)
        self._render_observers = []
        self.jobs.close()
        self.offscreen.close()
