"""Diffusion-weighted volume nodes (vtkMRMLDiffusionWeightedVolumeNode): storing a scheme's gradients and
b-values in a node and reading them back.
"""

from __future__ import annotations

import numpy as np

from ..diffusion.scheme import GradientScheme
from ..errors import GradientToolsError
from ._nodes import require_node


def attach_scheme_to_dwi(dwi_node, scheme) -> None:
    """Store a scheme's gradients and b-values in a vtkMRMLDiffusionWeightedVolumeNode.

    Gradients are stored as unit vectors (zero for b0s) and b-values per volume, as Slicer's DWI
    NRRD reader leaves them. If the node has image data, its number of components must equal the
    number of volumes of the scheme. The measurement frame is left as it is.
    """
    require_node(dwi_node, "vtkMRMLDiffusionWeightedVolumeNode", "DWI volume")
    if not isinstance(scheme, GradientScheme):
        raise GradientToolsError(f"scheme: expected a GradientScheme, got {type(scheme).__name__}")
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
    require_node(dwi_node, "vtkMRMLDiffusionWeightedVolumeNode", "DWI volume")
    count = dwi_node.GetNumberOfGradients()
    if count == 0:
        raise GradientToolsError(f"DWI volume '{dwi_node.GetName()}' has no gradients")
    bvecs = np.array([dwi_node.GetDiffusionGradient(i) for i in range(count)], dtype=float)
    bvals = np.array([dwi_node.GetBValue(i) for i in range(count)], dtype=float)
    return GradientScheme(bvals, bvecs)
