"""Scene helpers for the browser app: volumes from files, work on a private copy, gradient renderings.

The browser app (:mod:`GradientToolsLib.app`) changes its shared MRML scene only on trame's event
loop, where trame-slicer also renders the view: VTK objects are not thread-safe, and a displayable
manager reacting to a node added from another thread would touch the renderer while it draws. Long
computations therefore run in a worker thread on a *detached* copy: :func:`detached_volume` puts a
node that shares the voxels (read only) into a private scene of its own, the bridge's functions run
there (:func:`GradientToolsLib.mrml.compute_gradient_magnitude` adds its output to that private
scene), and :func:`adopt_volume` copies the result into the shared scene on the event loop.

Conventions as in :mod:`GradientToolsLib.mrml`: arrays K,J,I; spacing I,J,K in mm; RAS world frame.
"""

from __future__ import annotations

from typing import List, NamedTuple, Tuple

import numpy as np
import vtk

from ..errors import GradientToolsError
from ._nodes import ATTRIBUTE_PREFIX, require_node
from .volumes import check_scalar_volume, volume_array

#: volume-rendering colour of the gradient-magnitude volume: dim blue noise, amber and white edges
GRADIENT_COLORS = ((0.0, (0.15, 0.3, 0.85)), (0.5, (0.98, 0.72, 0.18)), (1.0, (1.0, 1.0, 1.0)))
#: percentiles of the gradient magnitude where its rendering leaves 0 opacity and reaches its top
GRADIENT_OPACITY_PERCENTILES = (97.0, 99.9)
GRADIENT_TOP_OPACITY = 0.4


def add_file_volume(offscreen, volume, name: str = "Volume"):
    """Add a :class:`GradientToolsLib.image.volume_io.Volume` (read from a file) as a scalar volume node.

    The file's LPS geometry becomes the node's RAS IJKToRAS matrix (spacing, origin and direction
    cosines, oblique included), as Slicer's own volume reader sets it.

    Parameters
    ----------
    offscreen : OffscreenSlicer
        Scene (and view) to add the node to.
    volume : Volume
    name : str

    Returns
    -------
    vtkMRMLScalarVolumeNode
    """
    ijk_to_ras = volume.ijk_to_ras()
    spacing = np.asarray(volume.spacing, dtype=float)
    direction = ijk_to_ras[:3, :3] / spacing[None, :]
    return offscreen.add_volume(volume.array, spacing=spacing, origin=ijk_to_ras[:3, 3],
                                ijk_to_ras_direction=direction, name=name)


class Detached(NamedTuple):
    """A node in a private scene; keep the scene referenced while the node is used."""

    node: object
    scene: object


def detached_volume(volume_node) -> Detached:
    """A copy of a scalar volume node in a new private scene, sharing the voxels (do not modify them).

    Work done on the copy (in a worker thread, say) never touches the original's scene: nothing
    observes the private scene, so no displayable manager or view reacts to it.

    Parameters
    ----------
    volume_node : vtkMRMLScalarVolumeNode

    Returns
    -------
    Detached
        ``node``: same name, voxels (the same vtkImageData object), IJKToRAS matrix and attributes
        as ``volume_node``, no display node and no parent transform (the gradient is computed on
        the volume's own grid); ``scene``: its private scene, which must outlive the work on it (a
        node keeps only a weak reference to its scene).
    """
    import slicer

    check_scalar_volume(volume_node)
    scene = slicer.vtkMRMLScene()
    copy = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", volume_node.GetName())
    copy.CopyContent(volume_node, False)
    return Detached(copy, scene)


def adopt_volume(scene, volume_node, target=None, source_node=None):
    """Copy a scalar volume node made elsewhere (e.g. in a private scene) into ``scene``.

    Parameters
    ----------
    scene : vtkMRMLScene
        The scene that receives the node (call this on the thread that renders its views).
    volume_node : vtkMRMLScalarVolumeNode
        Source; its voxels are shared with the copy, not duplicated.
    target : vtkMRMLScalarVolumeNode, optional
        A node of ``scene`` to overwrite (its ID, display and volume-rendering nodes are kept);
        a new node with a unique name is added if None.
    source_node : vtkMRMLScalarVolumeNode, optional
        The node of ``scene`` a :func:`detached_volume` copy stood for: the copy goes under its
        parent transform (as :func:`GradientToolsLib.mrml.compute_gradient_magnitude` puts its output;
        the private copy had none), and the ``GradientTools.SourceNodeID`` attribute (which names the
        private copy) is pointed to it.

    Returns
    -------
    vtkMRMLScalarVolumeNode
        The node in ``scene``: voxels, geometry, name and attributes of ``volume_node``, a display
        node windowed as the source's.
    """
    require_node(volume_node, "vtkMRMLScalarVolumeNode", "volume")
    if target is None:
        target = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode",
                                         scene.GenerateUniqueName(volume_node.GetName()))
        name = target.GetName()
    else:
        require_node(target, "vtkMRMLScalarVolumeNode", "target volume")
        name = target.GetName()
    was_modifying = target.StartModify()
    try:
        target.CopyContent(volume_node, False)
        target.SetName(name)
        if source_node is not None:
            target.SetAndObserveTransformNodeID(source_node.GetTransformNodeID())
            if target.GetAttribute(ATTRIBUTE_PREFIX + "SourceNodeID") is not None:
                target.SetAttribute(ATTRIBUTE_PREFIX + "SourceNodeID", source_node.GetID() or "")
    finally:
        target.EndModify(was_modifying)
    if target.GetDisplayNode() is None:
        target.CreateDefaultDisplayNodes()
    source_display, display = volume_node.GetDisplayNode(), target.GetDisplayNode()
    if source_display is not None and display is not None:
        display.AutoWindowLevelOff()
        display.SetWindowLevel(source_display.GetWindow(), source_display.GetLevel())
    return target


def show_gradient_rendering(offscreen, gradient_node):
    """Volume-render a gradient-magnitude volume: boundaries bright, the noise floor transparent.

    Opacity rises linearly from 0 at the 97th percentile of the gradient magnitudes to
    :data:`GRADIENT_TOP_OPACITY` at the 99.9th; colours run from blue through amber to white over
    the same range.

    Parameters
    ----------
    offscreen : OffscreenSlicer
    gradient_node : vtkMRMLScalarVolumeNode
        As made by :func:`GradientToolsLib.mrml.compute_gradient_magnitude`.

    Returns
    -------
    vtkMRMLVolumeRenderingDisplayNode
        Visible, with the transfer functions described above (gradient opacity flat).
    """
    check_scalar_volume(gradient_node, "gradient volume")
    low, high = np.percentile(np.asarray(volume_array(gradient_node)), GRADIENT_OPACITY_PERCENTILES)
    if not high > low:
        high = low + 1.0
    display = offscreen.show_volume_rendering(gradient_node, "CT-AAA")
    opacity = vtk.vtkPiecewiseFunction()
    opacity.AddPoint(float(low), 0.0)
    opacity.AddPoint(float(high), GRADIENT_TOP_OPACITY)
    colors = vtk.vtkColorTransferFunction()
    for fraction, rgb in GRADIENT_COLORS:
        colors.AddRGBPoint(float(low + fraction * (high - low)), *rgb)
    gradient_opacity = vtk.vtkPiecewiseFunction()
    gradient_opacity.AddPoint(0.0, 1.0)
    node = display.GetVolumePropertyNode()
    was_modifying = node.StartModify()
    try:
        node.SetScalarOpacity(opacity)
        node.SetColor(colors)
        node.SetGradientOpacity(gradient_opacity)
    finally:
        node.EndModify(was_modifying)
    return display


def scheme_markups(scene) -> List:
    """The point lists of :func:`GradientToolsLib.mrml.scheme_to_markups` previews in ``scene``."""
    collection = scene.GetNodesByClass("vtkMRMLMarkupsFiducialNode")
    nodes = [collection.GetItemAsObject(i) for i in range(collection.GetNumberOfItems())]
    return [node for node in nodes if node.GetAttribute(ATTRIBUTE_PREFIX + "BValues") is not None]


def remove_scheme_markups(scene) -> int:
    """Remove every scheme preview from ``scene``; returns how many point lists were removed."""
    nodes = scheme_markups(scene)
    for node in nodes:
        scene.RemoveNode(node)
    return len(nodes)


def volume_sphere(volume_node) -> Tuple[Tuple[float, float, float], float]:
    """Centre (RAS, mm) of a volume's bounding box and the radius (mm) of the largest sphere in it."""
    bounds = [0.0] * 6
    volume_node.GetRASBounds(bounds)
    low, high = np.asarray(bounds[0::2]), np.asarray(bounds[1::2])
    if not np.all(np.isfinite(low)) or not np.all(high >= low):
        raise GradientToolsError(f"volume '{volume_node.GetName()}' has no extent")
    center = tuple(float(c) for c in 0.5 * (low + high))
    return center, float(0.5 * np.min(high - low))
