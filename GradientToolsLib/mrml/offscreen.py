"""Offscreen renders through Slicer's own volume-rendering pipeline, without the Slicer application.

:class:`OffscreenSlicer` wires a MRML scene, Slicer's application logic, the volume-rendering and
markups logics and one 3D view (with Slicer's displayable managers: volume rendering, markups,
models, ...) through trame-slicer's ``SlicerApp``, and renders that view offscreen (Mesa EGL or any
other offscreen OpenGL VTK supports). What it draws is what Slicer's GPU ray caster draws: the same
vtkMRMLVolumeRenderingDisplayableManager, presets and volume-property nodes.

Needs the ``slicer`` extra (``pip install gradienttools[slicer]``: slicer-core, trame-slicer,
slicer-layer-dm). Those packages are imported only when an :class:`OffscreenSlicer` is created, so
``import GradientToolsLib.mrml.offscreen`` works without them.

Example::

    from GradientToolsLib.mrml.offscreen import OffscreenSlicer
    s = OffscreenSlicer(600, 600)
    node = s.add_volume(array, spacing=(0.8, 0.8, 2.0))
    display = s.show_volume_rendering(node, preset="CT-AAA")
    s.reset_camera("anterior")
    rgb = s.render("view.png")          # numpy uint8 (H, W, 3), also written as PNG
"""

from __future__ import annotations

import os
import sys
from typing import Optional, Sequence

import numpy as np

from ..errors import GradientToolsError

#: camera directions accepted by :meth:`OffscreenSlicer.reset_camera` (Slicer's view-direction names)
DIRECTIONS = ("left", "right", "posterior", "anterior", "inferior", "superior")


def _require_slicer():
    try:
        import slicer  # noqa: F401
        from trame_slicer.core import SlicerApp  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise GradientToolsError(
            "offscreen rendering needs the 'slicer' extra: pip install 'gradienttools[slicer]' "
            f"({exc})"
        ) from exc


class OffscreenSlicer:
    """A MRML scene with Slicer's logics and one offscreen 3D view.

    Parameters
    ----------
    width, height : int
        Size of the rendered image in pixels.
    background : sequence of 3 floats, optional
        Background colour (RGB in [0, 1]); Slicer's default blue gradient if None.
    view_factory : trame_slicer.views.IViewFactory, optional
        Factory of the 3D view. By default an offscreen view that renders only when :meth:`render`
        is called; the browser app passes trame-slicer's ``RemoteThreeDViewFactory``, whose view
        renders (and streams the image) whenever the scene changes.

    Attributes
    ----------
    app : trame_slicer.core.SlicerApp
        The application container (``app.volume_rendering``, ``app.markups_logic``, ...).
    scene : slicer.vtkMRMLScene
        The MRML scene; add any node to it (markups, models) and it is drawn by :meth:`render`.
    view : trame_slicer.views.ThreeDView
        The 3D view (``view.renderer()``, ``view.render_window()``, ``view.get_view_node()``).
    """

    def __init__(self, width: int = 600, height: int = 600, background: Optional[Sequence[float]] = None,
                 *, view_factory=None):
        _require_slicer()
        if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
            # without an X server VTK falls back to EGL anyway, after printing "bad X server connection"
            os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
        from trame_slicer.core import SlicerApp
        from trame_slicer.views import DirectViewFactory, ViewLayoutDefinition
        from trame_slicer.views.render_scheduler import NoScheduleRendering

        self.app = SlicerApp()
        self.scene = self.app.scene
        if view_factory is None:
            view_factory = DirectViewFactory(do_render_offscreen=True)
        self.app.view_manager.register_factory(view_factory)
        self.view = self.app.view_manager.create_view(ViewLayoutDefinition.threed_view())
        if isinstance(view_factory, DirectViewFactory):
            # trame-slicer renders on every MRML change by default (tens of renders while a volume
            # is set up, each about a second on a software renderer); here renders happen on request.
            self.view.set_scheduled_render(NoScheduleRendering())
        window = self.view.render_window()
        window.SetMultiSamples(0)
        window.SetSize(int(width), int(height))
        view_node = self.view.get_view_node()
        # no bounding box or axis labels in the images: they would cover the rendering
        view_node.SetBoxVisible(False)
        view_node.SetAxisLabelsVisible(False)
        if background is not None:
            view_node.SetBackgroundColor(*background)
            view_node.SetBackgroundColor2(*background)
            self.view.renderer().SetBackground(*background)
            self.view.renderer().SetBackground2(*background)

    # -- scene content -------------------------------------------------------------------------

    def add_volume(self, array, spacing: Sequence[float] = (1.0, 1.0, 1.0),
                   origin: Sequence[float] = (0.0, 0.0, 0.0), ijk_to_ras_direction=None,
                   name: str = "Volume"):
        """Add a scalar volume node holding a copy of ``array``.

        Parameters
        ----------
        array : numpy array (K, J, I)
            Voxel values; copied (the input is not modified or kept). bool is stored as uint8 and
            int64/uint64 as float64, which VTK's renderer cannot use directly.
        spacing : 3 floats
            Voxel size in mm, I, J, K order (as ``vtkMRMLVolumeNode.GetSpacing()``).
        origin : 3 floats
            RAS position of voxel (0, 0, 0) in mm.
        ijk_to_ras_direction : 3x3 array, optional
            Columns are the RAS directions of the I, J, K axes (identity if None).
        name : str
            Node name.

        Returns
        -------
        slicer.vtkMRMLScalarVolumeNode
            The node; its image data has spacing 1 and origin 0, the geometry is on the node.
        """
        import slicer.util

        data = np.asarray(array)
        if data.ndim != 3 or min(data.shape) < 1:
            raise GradientToolsError(f"a volume must be a 3-D array (K, J, I), got shape {data.shape}")
        if data.dtype == bool:
            data = data.astype(np.uint8)
        elif data.dtype.kind in "iu" and data.dtype.itemsize > 4:
            data = data.astype(np.float64)
        elif data.dtype.kind not in "iuf":
            raise GradientToolsError(f"cannot render voxels of type {data.dtype}")
        spacing = [float(s) for s in spacing]
        if len(spacing) != 3 or not all(np.isfinite(spacing)) or min(spacing) <= 0:
            raise GradientToolsError(f"spacing must be 3 positive numbers, got {spacing}")
        node = self.scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
        node.CreateDefaultDisplayNodes()
        slicer.util.updateVolumeFromArray(node, np.ascontiguousarray(data))
        node.SetSpacing(*spacing)
        node.SetOrigin(*[float(o) for o in origin])
        if ijk_to_ras_direction is not None:
            direction = np.asarray(ijk_to_ras_direction, dtype=float)
            if direction.shape != (3, 3):
                raise GradientToolsError("ijk_to_ras_direction must be a 3x3 matrix")
            node.SetIJKToRASDirections(*[float(direction[r, c]) for r in range(3) for c in range(3)])
        return node

    def show_volume_rendering(self, volume_node, preset: str = "CT-AAA"):
        """Create (or reuse) the GPU ray-cast volume-rendering display node with a preset.

        Parameters
        ----------
        volume_node : slicer.vtkMRMLScalarVolumeNode
        preset : str
            Name of a preset of Slicer's presets.xml ("CT-AAA", "CT-Bone", "MR-Default", ...);
            see :meth:`preset_names`.

        Returns
        -------
        slicer.vtkMRMLVolumeRenderingDisplayNode
            Its ``GetVolumePropertyNode()`` holds scalar opacity, colour and gradient opacity.
        """
        if preset not in self.preset_names():
            raise GradientToolsError(f"unknown volume-rendering preset {preset!r}")
        vr = self.app.volume_rendering
        display = vr.get_vr_display_node(volume_node)
        if display is None:
            display = vr.create_display_node(volume_node, preset)
        else:
            vr.apply_preset(display, preset)
        display.SetVisibility(True)
        return display

    def preset_names(self):
        """Names of the volume-rendering presets (Slicer's presets.xml)."""
        return list(self.app.volume_rendering.preset_names())

    # -- camera and rendering ------------------------------------------------------------------

    def reset_camera(self, direction: str = "anterior", azimuth: float = 0.0, elevation: float = 0.0,
                     zoom: float = 1.0) -> None:
        """Fit the camera to the visible content, look from ``direction``, then rotate and zoom.

        Parameters
        ----------
        direction : str
            One of :data:`DIRECTIONS` (patient side the camera looks from, as Slicer's view buttons).
        azimuth, elevation : float
            Extra rotations in degrees about the view-up axis and the horizontal axis.
        zoom : float
            > 1 moves closer, < 1 further away.
        """
        from trame_slicer.views.threed_view import ViewDirection

        if direction not in DIRECTIONS:
            raise GradientToolsError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
        self.view.reset_focal_point()
        self.view.reset_camera()
        self.view.rotate_to_view_direction(ViewDirection[direction.upper()])
        camera = self.view.renderer().GetActiveCamera()
        if azimuth:
            camera.Azimuth(float(azimuth))
        if elevation:
            camera.Elevation(float(elevation))
            camera.OrthogonalizeViewUp()
        if zoom != 1.0:
            camera.Dolly(float(zoom))
        self.view.renderer().ResetCameraClippingRange()

    def render(self, path: Optional[str] = None) -> np.ndarray:
        """Render the view and return the image.

        Parameters
        ----------
        path : str, optional
            If given, the image is also written there as PNG (atomically).

        Returns
        -------
        numpy.ndarray of uint8, shape (height, width, 3)
            RGB pixels, first row at the top of the image.
        """
        import vtk
        from vtk.util import numpy_support

        self.view.render()
        grabber = vtk.vtkWindowToImageFilter()
        grabber.SetInput(self.view.render_window())
        grabber.SetInputBufferTypeToRGB()
        grabber.ReadFrontBufferOff()
        grabber.Update()
        image = grabber.GetOutput()
        width, height, _ = image.GetDimensions()
        pixels = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())
        rgb = pixels.reshape(height, width, -1)[::-1, :, :3].copy()
        if path is not None:
            write_png(path, rgb)
        return rgb

    def render_gradient_opacities(self, display, curves, paths=None):
        """Render once per gradient-opacity curve (scalar opacity and colour kept), as Slicer would.

        Parameters
        ----------
        display : vtkMRMLVolumeRenderingDisplayNode
            From :meth:`show_volume_rendering`.
        curves : sequence of points (x, opacity) or "N x y ..." strings
            Applied in turn with :func:`GradientToolsLib.mrml.apply_gradient_opacity`.
        paths : sequence of str, optional
            PNG file per curve.

        Returns
        -------
        list of numpy uint8 arrays (H, W, 3), one per curve.
        """
        from .volume_rendering import apply_gradient_opacity

        images = []
        for index, points in enumerate(curves):
            apply_gradient_opacity(display, points)
            images.append(self.render(paths[index] if paths else None))
        return images

    def close(self) -> None:
        """Release the render window (the object cannot render afterwards)."""
        self.view.finalize()

    def __enter__(self) -> OffscreenSlicer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def side_by_side(images, path: Optional[str] = None, gap: int = 8) -> np.ndarray:
    """Images of equal height next to each other, ``gap`` white pixels apart (written as PNG if
    ``path`` is given)."""
    spacer = np.full((images[0].shape[0], gap, 3), 255, np.uint8)
    parts = [images[0]]
    for image in images[1:]:
        parts += [spacer, image]
    joined = np.concatenate(parts, axis=1)
    if path is not None:
        write_png(path, joined)
    return joined


def write_png(path: str, rgb: np.ndarray) -> None:
    """Write an RGB uint8 image (H, W, 3, first row at the top) as PNG, atomically."""
    import vtk
    from vtk.util import numpy_support

    from .._shared.files import atomic_output

    rgb = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)[::-1])
    height, width = rgb.shape[:2]
    image = vtk.vtkImageData()
    image.SetDimensions(width, height, 1)
    scalars = numpy_support.numpy_to_vtk(rgb.reshape(-1, rgb.shape[2]), deep=True)
    image.GetPointData().SetScalars(scalars)
    with atomic_output(path, suffix=".png") as tmp:
        writer = vtk.vtkPNGWriter()
        writer.SetFileName(tmp)
        writer.SetInputData(image)
        writer.Write()
        if writer.GetErrorCode():
            raise OSError(f"could not write PNG {path}")
