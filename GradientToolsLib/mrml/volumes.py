"""Scalar volume nodes: checks, numpy views, and gradient-magnitude volumes in the input's geometry.

Volume arrays are K,J,I (``slicer.util.arrayFromVolume`` order); ``node.GetSpacing()`` is I,J,K in mm.
Gradient magnitudes are computed on the volume's own voxel grid (its IJK axes and spacing). A parent
transform is not applied to the computation: the output volume is put under the same parent
transform so that both overlay, and a parent transform that scales makes the "per mm" values refer
to the untransformed millimetres (a warning is logged in that case).
"""

from __future__ import annotations

import logging
from typing import Optional, Tuple

import numpy as np
import vtk
from vtk.util import numpy_support

from ..errors import GradientToolsError
from ..image.gradient import gradient_magnitude
from ..progress import ProgressCallback, report, scaled
from ._nodes import ATTRIBUTE_PREFIX, require_node

logger = logging.getLogger(__name__)

def check_scalar_volume(volume_node, what: str = "input volume") -> None:
    """Raise GradientToolsError unless ``volume_node`` is a single-component scalar volume with data.

    Label maps are refused (the gradient of label numbers has no meaning), as are vector, tensor and
    diffusion-weighted volumes (several values per voxel; extract one component or the baseline
    first, e.g. with the Diffusion-weighted volume's "DWI baseline" output).
    """
    require_node(volume_node, "vtkMRMLScalarVolumeNode", what)
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
    if image is None or image.GetPointData() is None or image.GetPointData().GetScalars() is None:
        raise GradientToolsError(f"volume '{volume_node.GetName()}' has no image data")
    dims = image.GetDimensions()  # I, J, K
    scalars = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())
    components = image.GetPointData().GetScalars().GetNumberOfComponents()
    shape = (dims[2], dims[1], dims[0]) + ((components,) if components > 1 else ())
    if scalars.size != int(np.prod(shape)):
        raise GradientToolsError(
            f"volume '{volume_node.GetName()}' is inconsistent: its image has dimensions "
            f"{dims[0]}x{dims[1]}x{dims[2]} with {components} component(s) but holds {scalars.size} values")
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
        ``progress(fraction, message)``. It may raise
        :class:`GradientToolsLib.progress.OperationCancelled` to stop: every report comes before the
        scene is touched, so no node is created or changed.

    Returns
    -------
    vtkMRMLScalarVolumeNode
        The output node: float32 scalars, the input's IJKToRAS matrix (oblique included) and parent
        transform, a grey display node windowed from 0 to the 99.5th percentile, and attributes
        ``GradientTools.Method``, ``GradientTools.Units``, ``GradientTools.Sigma``,
        ``GradientTools.SourceNodeID``.
    """
    check_scalar_volume(input_volume_node)
    if units not in ("mm", "voxel"):
        raise GradientToolsError(f"units must be 'mm' or 'voxel', not {units!r}")
    scene = input_volume_node.GetScene()
    if scene is None:
        raise GradientToolsError(f"input volume '{input_volume_node.GetName()}' is not in a scene")
    if output_volume_node is not None:
        require_node(output_volume_node, "vtkMRMLScalarVolumeNode", "output volume")
        if output_volume_node is input_volume_node or (
                output_volume_node.GetID() and output_volume_node.GetID() == input_volume_node.GetID()):
            raise GradientToolsError("output volume must differ from the input volume (the input is "
                                     "never overwritten)")
        if any(output_volume_node.IsA(c) for c in ("vtkMRMLLabelMapVolumeNode", "vtkMRMLTensorVolumeNode",
                                                    "vtkMRMLDiffusionWeightedVolumeNode",
                                                    "vtkMRMLVectorVolumeNode")):
            raise GradientToolsError("output volume must be a plain scalar volume (not a label map, "
                                     "vector or diffusion volume)")
    warning = _parent_transform_scale_warning(input_volume_node)
    if warning:
        logger.warning("input volume '%s' %s", input_volume_node.GetName(), warning)

    report(progress, 0.0, "reading volume")
    array = volume_array(input_volume_node)
    spacing = tuple(input_volume_node.GetSpacing()) if units == "mm" else (1.0, 1.0, 1.0)
    magnitude = gradient_magnitude(array, spacing=spacing, method=method, sigma=sigma,
                                   progress=scaled(progress, 0.0, 0.95))

    # the last report: a cancellation raised from it leaves the scene as it was
    report(progress, 1.0, "updating the output node")
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
    return output_volume_node
