"""The bridge between the library and Slicer's MRML nodes.

Everything here takes nodes (and scenes) as arguments and never touches ``slicer.mrmlScene`` or
``slicer.app``, so it runs unchanged inside Slicer and on the ``slicer-core`` wheel (Slicer's MRML
classes without the application, see the test suite). The Slicer module's logic is a thin layer over
these functions.

Conventions
-----------
* Volume arrays are K,J,I (``slicer.util.arrayFromVolume`` order); ``node.GetSpacing()`` is I,J,K in mm.
* Gradient magnitudes are computed on the volume's own voxel grid (its IJK axes and spacing). A parent
  transform is not applied to the computation: the output volume is put under the same parent
  transform so that both overlay, and a parent transform that scales makes the "per mm" values refer
  to the untransformed millimetres (a warning is logged in that case).
* Node attributes written here start with ``GradientTools.`` so that generated nodes can be found
  and read back after saving and reloading a scene.
"""

from __future__ import annotations

import logging
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import vtk
from vtk.util import numpy_support

from .errors import GradientToolsError
from .progress import ProgressCallback, report, scaled
from .volume_property import FLAT

logger = logging.getLogger(__name__)

ATTRIBUTE_PREFIX = "GradientTools."

#: one colour per shell (RGB 0..1), chosen to stay distinct on Slicer's dark 3D-view background
SHELL_COLOURS = (
    (0.99, 0.75, 0.15),  # amber
    (0.20, 0.63, 0.95),  # sky blue
    (0.93, 0.33, 0.38),  # red
    (0.40, 0.80, 0.35),  # green
    (0.75, 0.50, 0.95),  # violet
    (0.95, 0.55, 0.20),  # orange
    (0.30, 0.85, 0.80),  # teal
    (0.95, 0.60, 0.80),  # pink
)

#: largest sphere radius (mm) of a markups preview; the shell with the largest b-value gets it
DEFAULT_SPHERE_RADIUS = 50.0


# ------------------------------------------------------------------------------------------------
# volumes
# ------------------------------------------------------------------------------------------------


def _require_node(node, class_name: str, what: str):
    if node is None:
        raise GradientToolsError(f"{what}: no node given")
    if not hasattr(node, "IsA") or not node.IsA(class_name):
        got = node.GetClassName() if hasattr(node, "GetClassName") else type(node).__name__
        raise GradientToolsError(f"{what}: expected a {class_name}, got {got}")


def check_scalar_volume(volume_node, what: str = "input volume") -> None:
    """Raise GradientToolsError unless ``volume_node`` is a single-component scalar volume with data.

    Label maps are refused (the gradient of label numbers has no meaning), as are vector, tensor and
    diffusion-weighted volumes (several values per voxel; extract one component or the baseline
    first, e.g. with the Diffusion-weighted volume's "DWI baseline" output).
    """
    _require_node(volume_node, "vtkMRMLScalarVolumeNode", what)
    name = volume_node.GetName()
    for class_name, reason in (
        ("vtkMRMLLabelMapVolumeNode", "is a label map; gradients of label numbers have no meaning"),
        ("vtkMRMLDiffusionWeightedVolumeNode",
         "is a diffusion-weighted volume; extract its baseline (one component) first"),
        ("vtkMRMLTensorVolumeNode", "holds vectors or tensors; extract one scalar component first"),
    ):
        if volume_node.IsA(class_name):
            raise GradientToolsError(f"{what} '{name}' {reason}")
    image = volume_node.GetImageData()
    if image is None or image.GetPointData() is None or image.GetPointData().GetScalars() is None:
        raise GradientToolsError(f"{what} '{name}' has no image data")
    components = image.GetNumberOfScalarComponents()
    if components != 1:
        raise GradientToolsError(f"{what} '{name}' has {components} components per voxel; expected 1")


def volume_array(volume_node) -> np.ndarray:
    """The voxels of a volume node as a read-only K,J,I numpy view (no copy)."""
    image = volume_node.GetImageData()
    dims = image.GetDimensions()  # I, J, K
    scalars = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())
    components = image.GetNumberOfScalarComponents()
    shape = (dims[2], dims[1], dims[0]) + ((components,) if components > 1 else ())
    view = scalars.reshape(shape)
    view.flags.writeable = False
    return view


def _ijk_to_ras(volume_node) -> vtk.vtkMatrix4x4:
    matrix = vtk.vtkMatrix4x4()
    volume_node.GetIJKToRASMatrix(matrix)
    return matrix


def _set_volume_array(volume_node, array: np.ndarray) -> None:
    """Replace a volume node's image data with a K,J,I array (origin 0, spacing 1, as Slicer keeps it)."""
    array = np.ascontiguousarray(array)
    image = vtk.vtkImageData()
    image.SetDimensions(array.shape[2], array.shape[1], array.shape[0])
    vtk_array = numpy_support.numpy_to_vtk(array.ravel(), deep=True)
    vtk_array.SetName("ImageScalars")
    image.GetPointData().SetScalars(vtk_array)
    volume_node.SetAndObserveImageData(image)


def _parent_transform_scale_warning(volume_node) -> Optional[str]:
    transform_node = volume_node.GetParentTransformNode()
    if transform_node is None:
        return None
    if not transform_node.IsTransformToWorldLinear():
        return ("has a non-linear parent transform; the gradient is computed on the volume's own grid "
                "and does not follow the warp")
    matrix = vtk.vtkMatrix4x4()
    transform_node.GetMatrixTransformToWorld(matrix)
    linear = np.array([[matrix.GetElement(r, c) for c in range(3)] for r in range(3)])
    singular = np.linalg.svd(linear, compute_uv=False)
    if np.max(np.abs(singular - 1.0)) > 1e-6:
        return ("has a parent transform that scales (factors "
                + ", ".join(f"{s:.4g}" for s in singular)
                + "); the gradient is per millimetre of the untransformed volume")
    return None


def _percentile_window(array: np.ndarray, upper: float = 99.5) -> Tuple[float, float]:
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return 0.0, 1.0
    low = float(min(0.0, finite.min()))
    high = float(np.percentile(finite, upper))
    if not high > low:
        high = float(finite.max())
    if not high > low:
        high = low + 1.0
    return low, high


def compute_gradient_magnitude(input_volume_node, output_volume_node=None, method: str = "central",
                               sigma: Optional[float] = None, units: str = "mm",
                               progress: Optional[ProgressCallback] = None):
    """Gradient-magnitude volume of a scalar volume node, in the input's geometry.

    Parameters
    ----------
    input_volume_node : vtkMRMLScalarVolumeNode
        Single-component scalar volume (not a label map, vector or DWI volume); it is not modified.
    output_volume_node : vtkMRMLScalarVolumeNode, optional
        Node that receives the result; created in the input's scene (named "<input> gradient") if
        not given. Must not be the input node.
    method : {"central", "sobel", "gaussian"}
        Derivative operator (see :func:`GradientToolsLib.gradient.gradient_magnitude`).
    sigma : float, optional
        Gaussian scale for ``method="gaussian"``, in mm for ``units="mm"`` and in voxels for
        ``units="voxel"``.
    units : {"mm", "voxel"}
        ``"mm"``: scalar units per millimetre, using ``node.GetSpacing()``. ``"voxel"``: scalar units
        per voxel step (spacing 1), the x axis of Slicer's GPU gradient-opacity function.
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    vtkMRMLScalarVolumeNode
        The output node: float32 scalars, the input's IJKToRAS matrix (oblique included) and parent
        transform, a grey display node windowed from 0 to the 99.5th percentile, and attributes
        ``GradientTools.Method``, ``GradientTools.Units``, ``GradientTools.Sigma``,
        ``GradientTools.SourceNodeID``.
    """
    from .gradient import gradient_magnitude

    check_scalar_volume(input_volume_node)
    if units not in ("mm", "voxel"):
        raise GradientToolsError(f"units must be 'mm' or 'voxel', not {units!r}")
    scene = input_volume_node.GetScene()
    if scene is None:
        raise GradientToolsError(f"input volume '{input_volume_node.GetName()}' is not in a scene")
    if output_volume_node is not None:
        _require_node(output_volume_node, "vtkMRMLScalarVolumeNode", "output volume")
        if output_volume_node is input_volume_node or (
                output_volume_node.GetID() and output_volume_node.GetID() == input_volume_node.GetID()):
            raise GradientToolsError("output volume must differ from the input volume (the input is "
                                     "never overwritten)")
        if output_volume_node.IsA("vtkMRMLLabelMapVolumeNode") or output_volume_node.IsA(
                "vtkMRMLTensorVolumeNode"):
            raise GradientToolsError("output volume must be a plain scalar volume (not a label map, "
                                     "vector or diffusion volume)")
    warning = _parent_transform_scale_warning(input_volume_node)
    if warning:
        logger.warning("input volume '%s' %s", input_volume_node.GetName(), warning)

    report(progress, 0.0, "reading volume")
    array = volume_array(input_volume_node)
    spacing = tuple(input_volume_node.GetSpacing()) if units == "mm" else (1.0, 1.0, 1.0)
    magnitude = gradient_magnitude(array, spacing=spacing, method=method, sigma=sigma,
                                   progress=scaled(progress, 0.0, 0.9))

    report(progress, 0.9, "updating output node")
    if output_volume_node is None:
        output_volume_node = scene.AddNewNodeByClass(
            "vtkMRMLScalarVolumeNode", scene.GenerateUniqueName(f"{input_volume_node.GetName()} gradient"))
    was_modifying = output_volume_node.StartModify()
    try:
        _set_volume_array(output_volume_node, magnitude)
        output_volume_node.SetIJKToRASMatrix(_ijk_to_ras(input_volume_node))
        output_volume_node.SetAndObserveTransformNodeID(input_volume_node.GetTransformNodeID())
        output_volume_node.SetAttribute(ATTRIBUTE_PREFIX + "Method", method)
        output_volume_node.SetAttribute(ATTRIBUTE_PREFIX + "Units", units)
        sigma_text = "" if sigma is None else repr(float(sigma))
        output_volume_node.SetAttribute(ATTRIBUTE_PREFIX + "Sigma", sigma_text)
        output_volume_node.SetAttribute(ATTRIBUTE_PREFIX + "SourceNodeID", input_volume_node.GetID() or "")
    finally:
        output_volume_node.EndModify(was_modifying)

    if output_volume_node.GetDisplayNode() is None:
        output_volume_node.CreateDefaultDisplayNodes()
    display = output_volume_node.GetDisplayNode()
    if display is not None:
        low, high = _percentile_window(magnitude)
        display.AutoWindowLevelOff()
        display.SetWindowLevelMinMax(low, high)
        grey = scene.GetNodeByID("vtkMRMLColorTableNodeGrey")
        if grey is not None and display.GetColorNodeID() is None:
            display.SetAndObserveColorNodeID(grey.GetID())
    report(progress, 1.0, "done")
    return output_volume_node


# ------------------------------------------------------------------------------------------------
# gradient opacity
# ------------------------------------------------------------------------------------------------


def suggest_gradient_opacity_for_volume(volume_node, volume_property_node=None,
                                        progress: Optional[ProgressCallback] = None, **options):
    """Suggest a gradient-opacity function for a volume node as Slicer's GPU ray caster will render it.

    The suggestion is made in the renderer's units (scalar units per voxel step, spacing 1), because
    that is the x axis of the gradient-opacity function in Slicer.

    Parameters
    ----------
    volume_node : vtkMRMLScalarVolumeNode
    volume_property_node : vtkMRMLVolumePropertyNode or vtkMRMLVolumeRenderingDisplayNode, optional
        When given, only voxels whose values its scalar opacity shows are analysed (the
        ``visible_range`` of :func:`GradientToolsLib.opacity.suggest_gradient_opacity`), so noise in
        tissue the preset hides does not raise the threshold.
    progress : callable, optional
    **options
        Passed to :func:`GradientToolsLib.opacity.suggest_gradient_opacity` (``suppression``,
        ``mask``, ``bins``, ...).

    Returns
    -------
    GradientOpacitySuggestion
    """
    import slicer

    from .opacity import suggest_gradient_opacity
    from .volume_property import visible_range

    check_scalar_volume(volume_node)
    array = volume_array(volume_node)
    if volume_property_node is not None and "visible_range" not in options:
        node = _volume_property_node(volume_property_node)
        scalar_opacity = node.GetVolumeProperty().GetScalarOpacity()
        text = slicer.vtkMRMLVolumePropertyNode.GetPiecewiseFunctionString(scalar_opacity)
        low, high = visible_range(text)
        # an opaque end of the function extends to +-infinity; the data's own range bounds it
        data_low, data_high = float(np.nanmin(array)), float(np.nanmax(array))
        options["visible_range"] = (max(low, data_low), min(high, data_high))
    return suggest_gradient_opacity(array, spacing=None, progress=progress, **options)


def _volume_property_node(node):
    if node is not None and hasattr(node, "IsA") and node.IsA("vtkMRMLVolumeRenderingDisplayNode"):
        node = node.GetVolumePropertyNode()
    _require_node(node, "vtkMRMLVolumePropertyNode", "volume property")
    return node


def _checked_points(points) -> List[Tuple[float, float]]:
    if isinstance(points, str):
        # Slicer's own parser, so that strings mean exactly what they mean in presets and .vp files
        import slicer

        values = points.split()
        try:
            count = int(float(values[0])) if values else -1
        except ValueError:
            count = -1
        if count < 0 or count % 2 or len(values) != count + 1:
            raise GradientToolsError(f"not a transfer-function string 'N x1 y1 x2 y2 ...': {points!r}")
        function = vtk.vtkPiecewiseFunction()
        slicer.vtkMRMLVolumePropertyNode.GetPiecewiseFunctionFromString(points, function)
        value = [0.0] * 4
        points = []
        for i in range(function.GetSize()):
            function.GetNodeValue(i, value)
            points.append((value[0], value[1]))
    try:
        array = np.asarray([(float(x), float(y)) for x, y in points], dtype=float)
    except (TypeError, ValueError) as error:
        raise GradientToolsError(f"gradient-opacity points must be (x, opacity) pairs: {error}") from None
    if array.shape[0] == 0:
        raise GradientToolsError("gradient-opacity function needs at least one point")
    if not np.all(np.isfinite(array)):
        raise GradientToolsError("gradient-opacity points must be finite numbers")
    if np.any(np.diff(array[:, 0]) < 0):
        raise GradientToolsError("gradient-opacity points must be sorted by increasing gradient value")
    if np.any(array[:, 1] < 0) or np.any(array[:, 1] > 1):
        raise GradientToolsError("gradient opacities must lie between 0 and 1")
    return [(float(x), float(y)) for x, y in array]


def apply_gradient_opacity(volume_property_node, points) -> None:
    """Set the gradient-opacity function of a volume property node; scalar opacity and colour are kept.

    Parameters
    ----------
    volume_property_node : vtkMRMLVolumePropertyNode or vtkMRMLVolumeRenderingDisplayNode
        The property to edit (a volume-rendering display node stands for its property node).
    points : sequence of (x, opacity) or str
        Control points, x in scalar units per voxel step (Slicer's GPU ray caster units), opacity in
        [0, 1], x non-decreasing; or a transfer-function string "N x1 y1 x2 y2 ...".
    """
    node = _volume_property_node(volume_property_node)
    points = _checked_points(points)
    function = vtk.vtkPiecewiseFunction()
    for x, y in points:
        function.AddPoint(x, y)
    was_modifying = node.StartModify()
    try:
        node.SetGradientOpacity(function)
        volume_property = node.GetVolumeProperty()
        if volume_property is not None:
            volume_property.SetDisableGradientOpacity(False)
    finally:
        node.EndModify(was_modifying)


def reset_gradient_opacity(volume_property_node) -> None:
    """Make the gradient opacity flat (1 everywhere), as Slicer's built-in presets have it."""
    apply_gradient_opacity(volume_property_node, FLAT)


def gradient_opacity_points(volume_property_node) -> List[Tuple[float, float]]:
    """The control points (x, opacity) of a volume property node's gradient-opacity function."""
    node = _volume_property_node(volume_property_node)
    function = node.GetGradientOpacity()
    points = []
    value = [0.0, 0.0, 0.0, 0.0]
    for i in range(function.GetSize()):
        function.GetNodeValue(i, value)
        points.append((float(value[0]), float(value[1])))
    return points


def volume_rendering_display_node(volume_rendering_logic, volume_node, preset: Optional[str] = None):
    """The first volume-rendering display node of ``volume_node``, created if there is none.

    ``volume_rendering_logic`` is a vtkSlicerVolumeRenderingLogic (``slicer.modules.volumerendering
    .logic()`` in Slicer). ``preset`` (e.g. "CT-AAA") is copied into the property of a newly created
    display node only.
    """
    display = volume_rendering_logic.GetFirstVolumeRenderingDisplayNode(volume_node)
    if display is not None:
        return display
    display = volume_rendering_logic.CreateDefaultVolumeRenderingNodes(volume_node)
    if preset:
        preset_node = volume_rendering_logic.GetPresetByName(preset)
        if preset_node is None:
            raise GradientToolsError(f"unknown volume-rendering preset {preset!r}")
        display.GetVolumePropertyNode().Copy(preset_node)
    display.SetVisibility(True)
    return display


def points_to_string(points) -> str:
    """Transfer-function string "N x1 y1 x2 y2 ..." of (x, y) points, written by Slicer's own code."""
    import slicer

    function = vtk.vtkPiecewiseFunction()
    for x, y in _checked_points(points):
        function.AddPoint(x, y)
    return slicer.vtkMRMLVolumePropertyNode.GetPiecewiseFunctionString(function)


# ------------------------------------------------------------------------------------------------
# histogram plot (table + series + chart nodes, shown by qMRMLPlotWidget in the module panel)
# ------------------------------------------------------------------------------------------------


def _table_from_columns(table_node, columns: Dict[str, np.ndarray]) -> None:
    table = vtk.vtkTable()
    for name, values in columns.items():
        column = numpy_support.numpy_to_vtk(np.ascontiguousarray(values, dtype=np.float64), deep=True)
        column.SetName(name)
        table.AddColumn(column)
    table_node.SetAndObserveTable(table)


def _get_or_add(scene, class_name: str, node, name: str):
    if node is None:
        node = scene.AddNewNodeByClass(class_name, name)
    return node


def gradient_histogram_plot(scene, suggestion, chart_node=None, name: str = "Gradient histogram"):
    """Show a gradient histogram and a suggested opacity curve in plot nodes.

    Builds (or updates, when ``chart_node`` came from an earlier call) two table nodes, two plot
    series and one plot chart with a logarithmic count axis. The opacity curve shares the count
    axis: opacity o is drawn at height ``max_count ** o``, so 0 sits at the bottom (count 1) and 1 at
    the top, and on the log axis the curve keeps its shape. Empty bins are drawn at count 1.

    Parameters
    ----------
    scene : vtkMRMLScene
    suggestion : object with ``histogram_counts``, ``histogram_edges``, ``points``, ``noise_sigma``
        as returned by :func:`GradientToolsLib.opacity.suggest_gradient_opacity`.
    chart_node : vtkMRMLPlotChartNode, optional
        A chart made by an earlier call, to update in place.

    Returns
    -------
    vtkMRMLPlotChartNode
        The chart; its series are named "<name> counts" and "<name> opacity".
    """
    counts = np.asarray(suggestion.histogram_counts, dtype=float)
    edges = np.asarray(suggestion.histogram_edges, dtype=float)
    if counts.ndim != 1 or edges.shape != (counts.size + 1,):
        raise GradientToolsError("histogram edges must have one more entry than counts")
    centres = 0.5 * (edges[:-1] + edges[1:])
    top = max(float(counts.max(initial=0.0)), 2.0)
    points = np.asarray(suggestion.points, dtype=float).reshape(-1, 2)
    curve_x = np.union1d(points[:, 0], [edges[0], edges[-1]])
    curve_x = curve_x[(curve_x >= edges[0]) & (curve_x <= edges[-1])]
    curve_opacity = np.interp(curve_x, points[:, 0], points[:, 1])

    existing = {}
    if chart_node is not None:
        for i in range(chart_node.GetNumberOfPlotSeriesNodes()):
            series = chart_node.GetNthPlotSeriesNode(i)
            existing[series.GetAttribute(ATTRIBUTE_PREFIX + "Role")] = series
    chart_node = _get_or_add(scene, "vtkMRMLPlotChartNode", chart_node, name)

    roles = (
        ("counts", {"gradient": centres, "count": counts, "count (log axis)": np.maximum(counts, 1.0)},
         "count (log axis)", (0.55, 0.55, 0.6), "Bar"),
        ("opacity", {"gradient": curve_x, "opacity": curve_opacity,
                     "opacity (log axis)": top ** curve_opacity}, "opacity (log axis)", (0.99, 0.75, 0.15),
         "Line"),
    )
    for role, columns, y_column, colour, plot_type in roles:
        series = existing.get(role)
        if series is None:
            series = scene.AddNewNodeByClass("vtkMRMLPlotSeriesNode", f"{name} {role}")
            series.SetAttribute(ATTRIBUTE_PREFIX + "Role", role)
            chart_node.AddAndObservePlotSeriesNodeID(series.GetID())
        table_node = series.GetTableNode()
        if table_node is None:
            table_node = scene.AddNewNodeByClass("vtkMRMLTableNode", f"{name} {role} table")
            series.SetAndObserveTableNodeID(table_node.GetID())
        _table_from_columns(table_node, columns)
        series.SetXColumnName("gradient")
        series.SetYColumnName(y_column)
        series.SetPlotType(getattr(series, "PlotType" + plot_type))
        series.SetColor(*colour)
        if plot_type == "Line":
            series.SetMarkerStyle(series.MarkerStyleCircle)
            series.SetLineWidth(3)
    chart_node.SetTitle(f"Gradient histogram, noise sigma {float(suggestion.noise_sigma):.4g}")
    chart_node.SetXAxisTitle("gradient magnitude (scalar units per voxel step)")
    chart_node.SetYAxisTitle("count (log); opacity 0 at bottom, 1 at top")
    chart_node.SetYAxisLogScale(True)
    chart_node.SetLegendVisibility(True)
    return chart_node


# ------------------------------------------------------------------------------------------------
# diffusion schemes as markups
# ------------------------------------------------------------------------------------------------


def _shells(scheme, b0_threshold: float) -> Dict[float, np.ndarray]:
    shells = scheme.shell_indices(b0_threshold=b0_threshold)
    return {float(b): np.asarray(idx, dtype=int) for b, idx in sorted(shells.items())
            if float(b) > b0_threshold and len(idx) > 0}


def _float_list(values) -> str:
    return " ".join(repr(float(v)) for v in values)


def _int_list(values) -> str:
    return " ".join(str(int(v)) for v in values)


def scheme_to_markups(scene, scheme, radius: str = "b-value", show_antipodes: bool = False,
                      name_prefix: str = "Diffusion scheme", center: Sequence[float] = (0.0, 0.0, 0.0),
                      sphere_radius: float = DEFAULT_SPHERE_RADIUS, glyph_scale: float = 2.0,
                      b0_threshold: float = 50.0) -> list:
    """Show a diffusion gradient scheme as point lists, one locked node per shell.

    Parameters
    ----------
    scene : vtkMRMLScene
    scheme : GradientTools.scheme.GradientScheme
    radius : {"b-value", "unit"}
        ``"b-value"``: a shell of b-value b lies on a sphere of radius ``sphere_radius * sqrt(b / b_max)``
        (the q-space radius, the same scaling as the gradient vectors of a DWI NRRD file);
        ``"unit"``: every shell on the sphere of radius ``sphere_radius``.
    show_antipodes : bool
        Also place -g for each direction g (diffusion is antipodally symmetric), which shows how
        evenly the sphere is covered.
    center : 3 floats
        Centre of the spheres in RAS (mm), e.g. the centre of a volume.
    sphere_radius : float
        Radius in mm of the outermost sphere.
    glyph_scale : float
        Point size, relative to the view size (Slicer's glyph scale).
    b0_threshold : float
        Volumes with b at or below it are b0s; they are not drawn.

    Returns
    -------
    list of vtkMRMLMarkupsFiducialNode
        In increasing b order. Each node is locked, has a fixed number of points, hidden labels, and
        attributes ``GradientTools.BValue`` (nominal), ``GradientTools.BValues`` and
        ``GradientTools.Indices`` (per direction), ``GradientTools.Radius``, ``GradientTools.Center``,
        ``GradientTools.Antipodes``, ``GradientTools.NumberOfVolumes`` and ``GradientTools.B0Indices``
        so that :func:`markups_to_scheme` can rebuild the scheme.
    """
    if radius not in ("b-value", "unit"):
        raise GradientToolsError(f"radius must be 'b-value' or 'unit', not {radius!r}")
    if not (sphere_radius > 0 and math.isfinite(sphere_radius)):
        raise GradientToolsError("sphere radius must be a positive number of millimetres")
    center = np.asarray(center, dtype=float).reshape(3)
    bvals = np.asarray(scheme.bvals, dtype=float)
    bvecs = np.asarray(scheme.bvecs, dtype=float)
    shells = _shells(scheme, b0_threshold)
    if not shells:
        raise GradientToolsError("the scheme has no diffusion-weighted volumes to show (only b0s)")
    b_max = max(shells)
    b0_indices = [int(i) for i in scheme.b0_indices(b0_threshold)]
    nodes = []
    for number, (b, indices) in enumerate(shells.items()):
        directions = bvecs[indices]
        norms = np.linalg.norm(directions, axis=1, keepdims=True)
        if np.any(norms == 0):
            raise GradientToolsError(f"shell b={b:g} has a zero gradient direction")
        directions = directions / norms
        shell_radius = sphere_radius * (math.sqrt(b / b_max) if radius == "b-value" else 1.0)
        positions = directions * shell_radius
        if show_antipodes:
            positions = np.vstack([positions, -positions])
        positions = positions + center

        node = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode",
                                       scene.GenerateUniqueName(f"{name_prefix} b={b:g}"))
        was_modifying = node.StartModify()
        try:
            points = vtk.vtkPoints()
            for p in positions:
                points.InsertNextPoint(*p)
            node.SetControlPointPositionsWorld(points)
            node.SetLocked(True)
            node.SetFixedNumberOfControlPoints(True)
            attributes = {
                "BValue": repr(b),
                "BValues": _float_list(bvals[indices]),
                "Indices": _int_list(indices),
                "Radius": repr(shell_radius),
                "Center": _float_list(center),
                "Antipodes": "1" if show_antipodes else "0",
                "NumberOfVolumes": str(bvals.size),
                "B0Indices": _int_list(b0_indices),
                "B0Values": _float_list(bvals[b0_indices]),
            }
            for key, value in attributes.items():
                node.SetAttribute(ATTRIBUTE_PREFIX + key, value)
        finally:
            node.EndModify(was_modifying)
        if node.GetDisplayNode() is None:
            node.CreateDefaultDisplayNodes()
        display = node.GetDisplayNode()
        colour = SHELL_COLOURS[number % len(SHELL_COLOURS)]
        display.SetSelectedColor(*colour)
        display.SetColor(*colour)
        display.SetPointLabelsVisibility(False)
        display.SetPropertiesLabelVisibility(False)
        display.SetGlyphTypeFromString("Sphere3D")
        display.SetGlyphScale(glyph_scale)
        nodes.append(node)
    return nodes


def _attribute(node, key: str) -> Optional[str]:
    value = node.GetAttribute(ATTRIBUTE_PREFIX + key)
    return value if value not in (None, "") else None


def directions_from_markups(node) -> np.ndarray:
    """Unit gradient directions (M, 3) of a point list made by :func:`scheme_to_markups`.

    Directions are read from the point positions (relative to ``GradientTools.Center``), so edits
    made after unlocking the node are kept. Antipodal copies are dropped.
    """
    _require_node(node, "vtkMRMLMarkupsNode", "point list")
    count = node.GetNumberOfControlPoints()
    positions = np.array([node.GetNthControlPointPositionWorld(i) for i in range(count)], dtype=float)
    positions = positions.reshape(-1, 3)
    center = _attribute(node, "Center")
    if center is not None:
        positions = positions - np.array([float(v) for v in center.split()])
    if _attribute(node, "Antipodes") == "1":
        if count % 2:
            raise GradientToolsError(f"point list '{node.GetName()}' should hold pairs of antipodes")
        positions = positions[: count // 2]
    norms = np.linalg.norm(positions, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise GradientToolsError(f"point list '{node.GetName()}' has a point at the sphere centre")
    return positions / norms


def markups_to_scheme(nodes, b_value: Optional[float] = None):
    """Rebuild a GradientScheme from point lists made by :func:`scheme_to_markups`.

    Volume order, per-volume b-values and b0s are restored from the node attributes. Point lists
    without them (drawn by hand) are taken as one shell each, in the order given, with b-value
    ``b_value`` or, if None, the ``GradientTools.BValue`` attribute; no b0s are added.
    """
    from .scheme import GradientScheme

    nodes = list(nodes)
    if not nodes:
        raise GradientToolsError("no point lists given")
    tagged = all(_attribute(n, "Indices") is not None for n in nodes)
    if tagged:
        total = int(_attribute(nodes[0], "NumberOfVolumes"))
        bvals = np.full(total, np.nan)
        bvecs = np.zeros((total, 3))
        b0_indices = [int(i) for i in (_attribute(nodes[0], "B0Indices") or "").split()]
        b0_values = [float(v) for v in (_attribute(nodes[0], "B0Values") or "").split()]
        bvals[b0_indices] = b0_values if b0_values else 0.0
        for node in nodes:
            indices = np.array([int(i) for i in _attribute(node, "Indices").split()], dtype=int)
            directions = directions_from_markups(node)
            if len(indices) != len(directions):
                raise GradientToolsError(f"point list '{node.GetName()}' has {len(directions)} directions "
                                         f"but {len(indices)} volume indices")
            bvals[indices] = [float(v) for v in _attribute(node, "BValues").split()]
            bvecs[indices] = directions
        if np.any(np.isnan(bvals)):
            raise GradientToolsError("the point lists do not cover every volume of the scheme "
                                     "(pass all shells of one scheme)")
        return GradientScheme(bvals, bvecs)
    all_b, all_v = [], []
    for node in nodes:
        b = b_value if b_value is not None else _attribute(node, "BValue")
        if b is None:
            raise GradientToolsError(f"point list '{node.GetName()}' has no b-value; pass b_value")
        directions = directions_from_markups(node)
        all_v.append(directions)
        all_b.append(np.full(len(directions), float(b)))
    return GradientScheme(np.concatenate(all_b), np.vstack(all_v))


# ------------------------------------------------------------------------------------------------
# diffusion-weighted volumes
# ------------------------------------------------------------------------------------------------


def attach_scheme_to_dwi(dwi_node, scheme) -> None:
    """Store a scheme's gradients and b-values in a vtkMRMLDiffusionWeightedVolumeNode.

    Gradients are stored as unit vectors (zero for b0s) and b-values per volume, as Slicer's DWI
    NRRD reader leaves them. If the node has image data, its number of components must equal the
    number of volumes of the scheme. The measurement frame is left as it is.
    """
    _require_node(dwi_node, "vtkMRMLDiffusionWeightedVolumeNode", "DWI volume")
    bvals = np.asarray(scheme.bvals, dtype=float)
    bvecs = np.asarray(scheme.bvecs, dtype=float)
    image = dwi_node.GetImageData()
    if image is not None and image.GetPointData().GetScalars() is not None:
        components = image.GetNumberOfScalarComponents()
        if components != bvals.size:
            raise GradientToolsError(f"DWI volume '{dwi_node.GetName()}' has {components} components "
                                     f"but the scheme has {bvals.size} volumes")
    norms = np.linalg.norm(bvecs, axis=1)
    unit = np.zeros_like(bvecs)
    nonzero = norms > 0
    unit[nonzero] = bvecs[nonzero] / norms[nonzero, None]
    was_modifying = dwi_node.StartModify()
    try:
        dwi_node.SetNumberOfGradients(bvals.size)
        for i in range(bvals.size):
            dwi_node.SetDiffusionGradient(i, [float(v) for v in unit[i]])
            dwi_node.SetBValue(i, float(bvals[i]))
    finally:
        dwi_node.EndModify(was_modifying)


def scheme_from_dwi(dwi_node):
    """The GradientScheme stored in a vtkMRMLDiffusionWeightedVolumeNode (gradients and b-values)."""
    from .scheme import GradientScheme

    _require_node(dwi_node, "vtkMRMLDiffusionWeightedVolumeNode", "DWI volume")
    count = dwi_node.GetNumberOfGradients()
    if count == 0:
        raise GradientToolsError(f"DWI volume '{dwi_node.GetName()}' has no gradients")
    bvecs = np.array([dwi_node.GetDiffusionGradient(i) for i in range(count)], dtype=float)
    bvals = np.array([dwi_node.GetBValue(i) for i in range(count)], dtype=float)
    return GradientScheme(bvals, bvecs)


# ------------------------------------------------------------------------------------------------
# saving
# ------------------------------------------------------------------------------------------------

#: node classes whose data :func:`save_scene_with_data` writes (subclasses included)
STORABLE_CLASSES = ("vtkMRMLVolumeNode", "vtkMRMLMarkupsNode", "vtkMRMLVolumePropertyNode",
                    "vtkMRMLTableNode", "vtkMRMLModelNode")


def save_scene_with_data(scene, folder: str, scene_file: str = "scene.mrml") -> str:
    """Write a scene as ``folder/scene_file`` plus one data file per storable node; return its path.

    Works without the Slicer application (``slicer.util.saveScene`` needs it): every volume, point
    list, volume property, table and model gets its default storage node and file (named after the
    node ID, so names with odd characters are safe), then the .mrml file is committed. Load it back
    with ``scene.SetURL(path); scene.Import()`` or drag it onto Slicer.
    """
    import os

    if not os.path.isdir(folder):
        raise GradientToolsError(f"output folder does not exist: {folder}")
    # storage nodes resolve relative file names against the scene's root directory, so a relative
    # folder would be applied twice
    folder = os.path.abspath(folder)
    scene.SetRootDirectory(folder)
    seen = set()
    for class_name in STORABLE_CLASSES:
        for i in range(scene.GetNumberOfNodesByClass(class_name)):
            node = scene.GetNthNodeByClass(i, class_name)
            if node.GetID() in seen:
                continue
            seen.add(node.GetID())
            storage = node.GetStorageNode()
            if storage is None:
                node.AddDefaultStorageNode()
                storage = node.GetStorageNode()
            if storage is None:
                continue
            extension = storage.GetDefaultWriteFileExtension()
            storage.SetFileName(os.path.join(folder, f"{node.GetID()}.{extension}"))
            if not storage.WriteData(node):
                raise GradientToolsError(f"could not write the data of node '{node.GetName()}'")
    path = os.path.join(folder, scene_file)
    scene.SetURL(path)
    if not scene.Commit():
        raise GradientToolsError(f"could not write the scene file {path}")
    return path


# ------------------------------------------------------------------------------------------------
# panel helpers (the module's shells table is stored as text in its parameter node)
# ------------------------------------------------------------------------------------------------


def parse_shells(text: str) -> List[Tuple[float, int]]:
    """Parse "b:count, b:count" (as the module's shells table stores it) into [(b, count), ...].

    b-values are s/mm^2 (> 0), counts positive integers; b-values must differ. Empty text gives [].
    """
    shells: List[Tuple[float, int]] = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        pieces = part.split(":")
        if len(pieces) != 2:
            raise GradientToolsError(f"a shell is 'b-value:directions', got {part!r}")
        try:
            b_value = float(pieces[0])
            count_value = float(pieces[1])
        except ValueError:
            raise GradientToolsError(f"a shell is 'b-value:directions' with numbers, got {part!r}") from None
        if not (math.isfinite(b_value) and b_value > 0):
            raise GradientToolsError(f"shell b-value must be positive, got {pieces[0].strip()}")
        if count_value != int(count_value) or count_value < 1:
            raise GradientToolsError(
                f"shell direction count must be a positive integer, got {pieces[1].strip()}")
        if any(b == b_value for b, _ in shells):
            raise GradientToolsError(f"b-value {b_value:g} is listed twice")
        shells.append((b_value, int(count_value)))
    return shells


def format_shells(shells) -> str:
    """Inverse of :func:`parse_shells`: "b:count, b:count"."""
    items = shells.items() if isinstance(shells, dict) else shells
    return ", ".join(f"{float(b):g}:{int(n)}" for b, n in items)


def b0_spacing(n_weighted: int, b0_count: int, placement: str) -> Optional[int]:
    """The ``b0_every`` of :func:`GradientToolsLib.multishell.multishell_scheme` for a panel placement.

    ``"start"``: all b0s first (None). ``"interleaved"``: one b0 first, then one after every k
    weighted volumes with k = n_weighted // (b0_count - 1), so the b0s span the whole acquisition.
    """
    if placement not in ("start", "interleaved"):
        raise GradientToolsError(f"b0 placement must be 'interleaved' or 'start', not {placement!r}")
    if placement == "start" or b0_count <= 1:
        return None
    return max(1, n_weighted // (b0_count - 1))


def generate_scheme(shells, b0_count: int = 6, b0_placement: str = "interleaved", ordering: str = "robust",
                    optimize_polarity: bool = True, seed: Optional[int] = 0,
                    progress: Optional[ProgressCallback] = None):
    """The module's "Generate": a jointly optimised multi-shell scheme from the panel's options.

    Parameters
    ----------
    shells : [(b, count), ...], {b: count} or "b:count, b:count"
    b0_count : int
        Number of b=0 volumes.
    b0_placement : {"interleaved", "start"}
        See :func:`b0_spacing`.
    ordering : {"robust", "none"}
        "robust": every prefix of the acquisition is well spread (early termination);
        "none": shells one after the other.
    optimize_polarity : bool
        Choose signs that balance the gradient vectors (eddy currents).
    seed : int, optional
    progress : callable, optional

    Returns
    -------
    GradientScheme
    """
    from .multishell import multishell_scheme

    if isinstance(shells, str):
        shells = parse_shells(shells)
    shells = dict(shells.items() if isinstance(shells, dict) else shells)
    if not shells:
        raise GradientToolsError("add at least one shell (b-value and number of directions)")
    if ordering not in ("robust", "none"):
        raise GradientToolsError(f"ordering must be 'robust' or 'none', not {ordering!r}")
    n_weighted = int(sum(shells.values()))
    every = b0_spacing(n_weighted, int(b0_count), b0_placement)
    return multishell_scheme(shells, b0=int(b0_count), b0_every=every, seed=seed, order=ordering == "robust",
                             polarity=bool(optimize_polarity), progress=progress)
