"""Volume-rendering nodes: suggested gradient opacity for a volume node, applying and resetting the
gradient-opacity function of a volume property, reading it back, and transfer-function strings
written by Slicer's own code. The x axis is always the GPU ray caster's: scalar units per voxel step.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np
import vtk

from ..errors import GradientToolsError
from ..image.opacity import suggest_gradient_opacity
from ..image.volume_property import FLAT, visible_range
from ..progress import ProgressCallback
from ._nodes import require_node
from .volumes import check_scalar_volume, volume_array


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
    require_node(node, "vtkMRMLVolumePropertyNode", "volume property")
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
