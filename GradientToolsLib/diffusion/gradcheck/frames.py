"""Gradient directions between the frames of the files and the voxel axes the check works in.

The check (and tractography) needs each direction in the image's *voxel axes* I, J, K: component a
along the physical direction of voxel axis a. The files store directions in other frames:

========  ====================================================================================
FSL       the voxel axes, except that the first component is negated when the image's direction
          matrix (NIfTI sform/qform rotation) has a positive determinant (FSL's "radiological"
          voxel order). A bvec file means something only together with its image.
MRtrix    scanner coordinates, RAS (MRtrix's ``-grad`` and ``.b`` files).
NRRD      the measurement frame: ``space = MF @ g``, the header's vectors being MF's columns, in the
          header's ``space`` (RAS, LAS or LPS).
Slicer    a DWI node's gradients are in its measurement frame, which the node stores in RAS.
========  ====================================================================================

``direction`` matrices here are 3x3 with column c the unit world direction of voxel axis c (no
spacing), in LPS (ITK, :class:`GradientToolsLib.image.volume_io.Volume`) unless named ``_ras``.
Every function maps (N, 3) arrays row by row; NaN rows stay NaN. The conversions to the voxel axes
and back are inverse to each other exactly for orthonormal directions (for a sheared or scaled
direction matrix the rotation part, :func:`..frames.voxel_rotation`, is used).
"""

from __future__ import annotations

import numpy as np

from ...errors import GradientToolsError
from ..frames import voxel_rotation

#: LPS <-> RAS: negate the first two world axes
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])
#: NRRD space names -> the sign flips that take the space's coordinates to LPS
_NRRD_SPACE_TO_LPS = {
    "left-posterior-superior": np.diag([1.0, 1.0, 1.0]),
    "lps": np.diag([1.0, 1.0, 1.0]),
    "right-anterior-superior": np.diag([-1.0, -1.0, 1.0]),
    "ras": np.diag([-1.0, -1.0, 1.0]),
    "left-anterior-superior": np.diag([1.0, -1.0, 1.0]),
    "las": np.diag([1.0, -1.0, 1.0]),
}


def _rows(vectors) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3:
        raise GradientToolsError(f"gradient vectors must have shape (N, 3), got {v.shape}")
    return v


def fsl_flips_x(direction) -> bool:
    """True when FSL's convention negates the first component (determinant of direction > 0)."""
    return bool(np.linalg.det(voxel_rotation(direction)) > 0)


def fsl_to_voxel(bvecs, direction) -> np.ndarray:
    """FSL bvecs (N, 3) of an image with this direction matrix (LPS or RAS: same sign) -> voxel axes."""
    out = _rows(bvecs).copy()
    if fsl_flips_x(direction):
        out[:, 0] = -out[:, 0]
    return out


def voxel_to_fsl(vectors, direction) -> np.ndarray:
    """Voxel-axis directions -> FSL bvecs of the image (the same flip: it is its own inverse)."""
    return fsl_to_voxel(vectors, direction)


def scanner_to_voxel(vectors_ras, direction) -> np.ndarray:
    """MRtrix scanner (RAS) directions -> voxel axes: v = R^T g with R the RAS direction rotation."""
    r_ras = LPS_TO_RAS @ voxel_rotation(direction)
    return _rows(vectors_ras) @ r_ras


def voxel_to_scanner(vectors, direction) -> np.ndarray:
    """Voxel-axis directions -> MRtrix scanner (RAS) directions: g = R v."""
    r_ras = LPS_TO_RAS @ voxel_rotation(direction)
    return _rows(vectors) @ r_ras.T


def nrrd_space_to_lps(space: str) -> np.ndarray:
    """The sign flips taking a NRRD ``space`` (RAS, LAS, LPS; default LPS as ITK) to LPS."""
    key = (space or "left-posterior-superior").strip().lower()
    if key not in _NRRD_SPACE_TO_LPS:
        raise GradientToolsError(
            f"NRRD space {space!r} is not supported for gradients (use right-anterior-superior, "
            "left-anterior-superior or left-posterior-superior)")
    return _NRRD_SPACE_TO_LPS[key]


def measurement_to_voxel(vectors, measurement_frame, direction, space: str = "") -> np.ndarray:
    """DWI NRRD gradients (N, 3) in the measurement frame -> voxel axes.

    Parameters
    ----------
    vectors : (N, 3)
        Gradients as in the header (any length).
    measurement_frame : (3, 3)
        MF with the header's vectors as columns (``space = MF @ g``); identity when absent.
    direction : (3, 3)
        The image's LPS direction matrix (as SimpleITK reports it for any NRRD space).
    space : str
        The header's ``space`` field (the frame MF maps into).
    """
    to_world = nrrd_space_to_lps(space) @ np.asarray(measurement_frame, dtype=np.float64)
    return _rows(vectors) @ (voxel_rotation(direction).T @ to_world).T


def voxel_to_measurement(vectors, measurement_frame, direction, space: str = "") -> np.ndarray:
    """Voxel-axis directions -> the NRRD measurement frame (inverse of :func:`measurement_to_voxel`)."""
    to_world = nrrd_space_to_lps(space) @ np.asarray(measurement_frame, dtype=np.float64)
    forward = voxel_rotation(direction).T @ to_world
    return _rows(vectors) @ np.linalg.inv(forward).T


def ras_measurement_to_voxel(vectors, measurement_frame_ras, ijk_to_ras_direction) -> np.ndarray:
    """Slicer DWI node gradients -> voxel axes: v = R^T MF g (MF and R both in RAS, as the node has)."""
    forward = voxel_rotation(ijk_to_ras_direction).T @ np.asarray(measurement_frame_ras, dtype=np.float64)
    return _rows(vectors) @ forward.T


def voxel_to_ras_measurement(vectors, measurement_frame_ras, ijk_to_ras_direction) -> np.ndarray:
    """Voxel-axis directions -> a Slicer DWI node's measurement frame (inverse of the above)."""
    forward = voxel_rotation(ijk_to_ras_direction).T @ np.asarray(measurement_frame_ras, dtype=np.float64)
    return _rows(vectors) @ np.linalg.inv(forward).T
