"""Diffusion-weighted volume nodes (vtkMRMLDiffusionWeightedVolumeNode): storing a scheme's gradients and
b-values in a node and reading them back, through the node's measurement frame.

A DWI node keeps its gradients in its measurement frame; ``GetMeasurementFrameMatrix`` maps them to
RAS (Slicer's NRRD reader folds the header's ``space`` into it). RAS is this library's scanner frame,
so a scheme goes in as M^-1 g and comes out as M g (then renormalised).
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np

from ..diffusion.frames import convert_frame
from ..diffusion.scheme import GradientScheme
from ..errors import GradientToolsError
from ._nodes import require_node


def _matrix3(vtk_matrix) -> np.ndarray:
    return np.array([[vtk_matrix.GetElement(r, c) for c in range(3)] for r in range(3)], dtype=float)


def measurement_frame(dwi_node) -> np.ndarray:
    """The node's measurement frame as a 3x3 array (gradient coordinates -> RAS)."""
    import vtk

    matrix = vtk.vtkMatrix4x4()
    dwi_node.GetMeasurementFrameMatrix(matrix)
    frame = _matrix3(matrix)
    if abs(np.linalg.det(frame)) < 1e-6:
        raise GradientToolsError(f"DWI volume '{dwi_node.GetName()}' has a singular measurement frame")
    return frame


def _ijk_to_ras(node) -> np.ndarray:
    import vtk

    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    return _matrix3(matrix)


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1)
    unit = np.zeros_like(vectors)
    nonzero = norms > 1e-12
    unit[nonzero] = vectors[nonzero] / norms[nonzero, None]
    return unit


def attach_scheme_to_dwi(dwi_node, scheme) -> None:
    """Store a scheme's gradients and b-values in a vtkMRMLDiffusionWeightedVolumeNode.

    The scheme's vectors are brought to RAS (scanner frame; an FSL image-frame scheme is taken to
    belong to this node's image, whose IJKToRAS converts it) and then into the node's measurement
    frame, so that Slicer (which applies the measurement frame) sees the scheme's directions.
    Gradients are stored as unit vectors (zero for b0s) with b-values per volume, as Slicer's DWI
    NRRD reader leaves them. If the node has image data, its number of components must equal the
    number of volumes of the scheme. A logical-frame scheme (GE, Philips) is refused.
    """
    require_node(dwi_node, "vtkMRMLDiffusionWeightedVolumeNode", "DWI volume")
    if not isinstance(scheme, GradientScheme):
        raise GradientToolsError(f"scheme: expected a GradientScheme, got {type(scheme).__name__}")
    frame = getattr(scheme, "frame", "scanner")
    if frame != "scanner":
        reference = _ijk_to_ras(dwi_node) if frame == "image" else None
        scheme = convert_frame(scheme, "scanner", reference=reference)
    bvals = np.asarray(scheme.bvals, dtype=float)
    ras = np.asarray(scheme.bvecs, dtype=float)
    image = dwi_node.GetImageData()
    if image is not None and image.GetPointData().GetScalars() is not None:
        components = image.GetNumberOfScalarComponents()
        if components != bvals.size:
            raise GradientToolsError(f"DWI volume '{dwi_node.GetName()}' has {components} components "
                                     f"but the scheme has {bvals.size} volumes")
    unit = _unit_rows(ras @ np.linalg.inv(measurement_frame(dwi_node)).T)
    was_modifying = dwi_node.StartModify()
    try:
        dwi_node.SetNumberOfGradients(bvals.size)
        for i in range(bvals.size):
            dwi_node.SetDiffusionGradient(i, [float(v) for v in unit[i]])
            dwi_node.SetBValue(i, float(bvals[i]))
    finally:
        dwi_node.EndModify(was_modifying)


def scheme_from_dwi(dwi_node):
    """The GradientScheme stored in a vtkMRMLDiffusionWeightedVolumeNode, in the scanner (RAS) frame:
    its gradients through the node's measurement frame, with its b-values."""
    require_node(dwi_node, "vtkMRMLDiffusionWeightedVolumeNode", "DWI volume")
    count = dwi_node.GetNumberOfGradients()
    if count == 0:
        raise GradientToolsError(f"DWI volume '{dwi_node.GetName()}' has no gradients")
    stored = np.array([dwi_node.GetDiffusionGradient(i) for i in range(count)], dtype=float)
    bvals = np.array([dwi_node.GetBValue(i) for i in range(count)], dtype=float)
    return GradientScheme(bvals, _unit_rows(stored @ measurement_frame(dwi_node).T), "scanner")


def export_scheme(scheme, prefix: str, file_format: str = "fsl", reference_volume_node=None,
                  comment: Optional[str] = None) -> List[str]:
    """Write a scheme for the Slicer panel's Export: PREFIX + the format's suffixes.

    With ``reference_volume_node`` (the volume the table belongs to, e.g. its DWI) the vectors are
    converted into the file's frame through that node's IJKToRAS (FSL bvecs in its voxel axes).
    Without one, a designed scheme is written as designed (``keep_vectors``): its directions are
    uniform in any frame, so for a new protocol the frame only turns the whole set; convert with
    ``gradienttools convert --reference`` when the table must match an existing image.

    Returns the written paths.
    """
    from ..diffusion.writers import write_scheme

    if reference_volume_node is None:
        return write_scheme(scheme, prefix, file_format, comment, keep_vectors=True)
    require_node(reference_volume_node, "vtkMRMLVolumeNode", "reference volume")
    return write_scheme(scheme, prefix, file_format, comment, reference=_ijk_to_ras(reference_volume_node))
