"""Checking (and correcting) the gradient table of a vtkMRMLDiffusionWeightedVolumeNode.

A DWI node keeps its gradients in its measurement frame; the frame's matrix (RAS) maps them to RAS,
and the node's IJK-to-RAS directions map RAS to its voxel axes:

    v_voxel = R^T MF g          (R: the IJK-to-RAS direction rotation, MF: the measurement frame)

The check (:func:`GradientToolsLib.diffusion.gradcheck.check_gradient_table`) runs on the node's
voxels (K, J, I, N) and voxel-axis gradients, in the node's own grid: a parent transform moves the
image and its gradients together, so it does not enter. :func:`apply_correction` writes the winning
table back into the node, in its measurement frame, with the stored vectors' lengths (and b-values)
unchanged.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import vtk

from ..diffusion.gradcheck import (
    GradientCheck,
    apply_candidate,
    candidate_matrix,
    check_gradient_table,
    describe,
    inverse,
)
from ..diffusion.gradcheck.frames import ras_measurement_to_voxel, voxel_to_ras_measurement
from ..errors import GradientToolsError
from ..progress import ProgressCallback
from ._nodes import ATTRIBUTE_PREFIX, require_node
from .volumes import volume_array

#: node attribute recording the corrections applied (candidate descriptions, oldest first)
CORRECTION_ATTRIBUTE = ATTRIBUTE_PREFIX + "GradientCorrection"


def _matrix3(getter) -> np.ndarray:
    matrix = vtk.vtkMatrix4x4()
    getter(matrix)
    return np.array([[matrix.GetElement(r, c) for c in range(3)] for r in range(3)])


def node_geometry(dwi_node):
    """(measurement frame RAS 3x3, IJK-to-RAS direction 3x3, spacing I,J,K) of a DWI node."""
    measurement = _matrix3(dwi_node.GetMeasurementFrameMatrix)
    direction = _matrix3(dwi_node.GetIJKToRASDirectionMatrix)
    return measurement, direction, tuple(float(s) for s in dwi_node.GetSpacing())


def node_table(dwi_node):
    """(b-values (N,), gradients (N, 3) as stored in the node's measurement frame)."""
    count = dwi_node.GetNumberOfGradients()
    if count == 0:
        raise GradientToolsError(f"DWI volume '{dwi_node.GetName()}' has no gradients")
    gradients = np.array([dwi_node.GetDiffusionGradient(i) for i in range(count)], dtype=np.float64)
    bvals = np.array([dwi_node.GetBValue(i) for i in range(count)], dtype=np.float64)
    return bvals, gradients


def voxel_gradients(dwi_node) -> np.ndarray:
    """The node's gradients in its voxel axes I, J, K (N, 3)."""
    measurement, direction, _ = node_geometry(dwi_node)
    return ras_measurement_to_voxel(node_table(dwi_node)[1], measurement, direction)


def _dwi_array(dwi_node) -> np.ndarray:
    image = dwi_node.GetImageData()
    if image is None or image.GetPointData() is None or image.GetPointData().GetScalars() is None:
        raise GradientToolsError(f"DWI volume '{dwi_node.GetName()}' has no image data")
    array = volume_array(dwi_node)
    if array.ndim != 4:
        raise GradientToolsError(f"DWI volume '{dwi_node.GetName()}' has one component per voxel; "
                                 "a diffusion-weighted series is needed")
    return array


def _mask_array(mask_node, dwi_node) -> np.ndarray:
    require_node(mask_node, "vtkMRMLScalarVolumeNode", "mask")
    image = mask_node.GetImageData()
    if image is None or image.GetPointData().GetScalars() is None:
        raise GradientToolsError(f"mask '{mask_node.GetName()}' has no image data")
    if tuple(image.GetDimensions()) != tuple(dwi_node.GetImageData().GetDimensions()):
        raise GradientToolsError(f"mask '{mask_node.GetName()}' has dimensions {image.GetDimensions()}, "
                                 f"the DWI {dwi_node.GetImageData().GetDimensions()}")
    a, b = vtk.vtkMatrix4x4(), vtk.vtkMatrix4x4()
    mask_node.GetIJKToRASMatrix(a)
    dwi_node.GetIJKToRASMatrix(b)
    if not np.allclose([a.GetElement(r, c) for r in range(3) for c in range(4)],
                       [b.GetElement(r, c) for r in range(3) for c in range(4)], atol=1e-3):
        raise GradientToolsError(f"mask '{mask_node.GetName()}' is not on the DWI's grid")
    return np.asarray(volume_array(mask_node)) != 0


def check_gradient_table_for_node(dwi_node, mask_node=None, progress: Optional[ProgressCallback] = None,
                                  **options) -> GradientCheck:
    """Check the gradient table of a vtkMRMLDiffusionWeightedVolumeNode (see the module doc).

    Parameters
    ----------
    dwi_node : vtkMRMLDiffusionWeightedVolumeNode
    mask_node : vtkMRMLScalarVolumeNode or vtkMRMLLabelMapVolumeNode, optional
        Brain mask on the DWI's grid (non-zero = in); default a mask from the b=0 volumes.
    progress : callable(fraction, message), optional
    options
        Passed to :func:`check_gradient_table` (``seeds``, ``b0_threshold``, ``random_state``).

    Returns
    -------
    GradientCheck
        In the node's voxel axes (``corrected_bvecs`` too); apply it with :func:`apply_correction`.
    """
    require_node(dwi_node, "vtkMRMLDiffusionWeightedVolumeNode", "DWI volume")
    array = _dwi_array(dwi_node)
    bvals, _ = node_table(dwi_node)
    if bvals.size != array.shape[3]:
        raise GradientToolsError(f"DWI volume '{dwi_node.GetName()}' has {array.shape[3]} volumes but "
                                 f"{bvals.size} gradients")
    mask = None if mask_node is None else _mask_array(mask_node, dwi_node)
    _, _, spacing = node_geometry(dwi_node)
    return check_gradient_table(array, bvals, voxel_gradients(dwi_node), spacing, mask,
                                progress=progress, **options)


def apply_correction(dwi_node, result: GradientCheck) -> bool:
    """Write ``result.best`` into the node's gradients (measurement frame); False if nothing to do.

    The node's gradients must still be the ones that were checked (an error otherwise, e.g. when the
    correction was applied already). Vector lengths, b-values and the measurement frame are kept;
    the applied candidate is appended to the node attribute ``GradientTools.GradientCorrection``.
    """
    require_node(dwi_node, "vtkMRMLDiffusionWeightedVolumeNode", "DWI volume")
    if not isinstance(result, GradientCheck):
        raise GradientToolsError("apply_correction needs the result of check_gradient_table_for_node")
    current = voxel_gradients(dwi_node)
    checked = apply_candidate(result.corrected_bvecs, inverse(result.best))
    if current.shape != checked.shape or not np.allclose(
            np.nan_to_num(current), np.nan_to_num(checked), atol=1e-6):
        raise GradientToolsError(f"the gradients of '{dwi_node.GetName()}' are not the ones that were "
                                 "checked (changed, or corrected already): check again")
    if result.given_is_best:
        return False
    measurement, direction, _ = node_geometry(dwi_node)
    corrected = voxel_to_ras_measurement(current @ candidate_matrix(result.best).T, measurement, direction)
    was_modifying = dwi_node.StartModify()
    try:
        for i, g in enumerate(corrected):
            if np.all(np.isfinite(g)):
                dwi_node.SetDiffusionGradient(i, [float(x) for x in g])
        previous = dwi_node.GetAttribute(CORRECTION_ATTRIBUTE)
        applied = describe(result.best)
        dwi_node.SetAttribute(CORRECTION_ATTRIBUTE, f"{previous}; {applied}" if previous else applied)
    finally:
        dwi_node.EndModify(was_modifying)
    return True
