"""Coordinate frames of gradient vectors and the conversions between them.

The frames (:data:`.scheme.FRAMES`):

* ``"scanner"``: world (patient) coordinates, RAS: MRtrix3's scanner frame (``.b`` files), Slicer's
  RAS, a DWI node's gradients after its measurement frame.
* ``"device"``: the gradient-coil axes of the scanner (Siemens ``CoordinateSystem = xyz``). Siemens'
  device coordinate system is LAI for a head-first supine patient (syngo MR E11C, as quoted in
  shimming-toolbox issue 322 and PR 340): g_scanner = diag(-1, 1, -1) g_device and back, the only
  patient position handled (the usual one for the brain).
* ``"image"``: FSL ``.bvec`` vectors: components along the voxel axes i, j, k of one image, with the
  first component negated when that image's voxel-to-world rotation has a positive determinant
  (FSL reads every image as if it were stored radiologically, MRtrix3's ``load_bvecs_bvals`` /
  ``save_bvecs_bvals``). A ``.bvec`` file means nothing without its image.
* ``"logical"``: the read (frequency), phase and slice axes of the prescription (GE ``tensor.dat``,
  Philips ``dti_vectors_input``), which turn with the slice angulation.

Conversions take matrices, never files (the diffusion package does not read images):

* ``voxel_to_world``: the image's voxel-to-world matrix in RAS, 3x3 or 4x4, with or without the
  voxel sizes (a NIfTI affine, Slicer's IJKToRAS, ``Volume.ijk_to_ras()``). Only its rotation is
  used: the columns are normalised and the nearest orthogonal matrix is taken (polar decomposition),
  as MRtrix3 does. From SimpleITK's LPS ``direction`` use ``diag(-1, -1, 1) @ direction``.
* ``logical_axes``: 3x3, columns = the scanner (RAS) directions of the read, phase and slice axes.

With R the rotation and F = diag(-1, 1, 1) when det(R) > 0 (else the identity), an FSL vector v and
the scanner vector g of the same volume are related by g = R F v and v = F R^T g, which is what
``mrinfo IMAGE -fslgrad BVEC BVAL -export_grad_mrtrix OUT.b`` and ``-grad IN.b -export_grad_fsl``
compute (checked against mrinfo 3.0.3 in the test suite, for oblique images of both handedness).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..errors import GradientToolsError
from .scheme import FRAMES, GradientScheme

#: what each frame is, for messages and file comments
FRAME_NAMES = {
    "scanner": "scanner (world RAS) coordinates",
    "device": "the scanner's device axes (Siemens xyz)",
    "image": "the image's voxel axes (FSL bvec convention)",
    "logical": "the logical read/phase/slice axes of the prescription",
}

_FLIP_X = np.diag([-1.0, 1.0, 1.0])
#: device (LAI, head-first supine) <-> scanner RAS; its own inverse
DEVICE_TO_SCANNER = np.diag([-1.0, 1.0, -1.0])


class FrameError(GradientToolsError):
    """Vectors would have to change frame but the matrix that relates the frames was not given."""


def voxel_rotation(voxel_to_world) -> np.ndarray:
    """The orthogonal 3x3 rotation (or rotation-reflection) of a voxel-to-world matrix.

    Parameters
    ----------
    voxel_to_world : array_like, shape (3, 3) or (4, 4)
        Voxel index (i, j, k) to world RAS millimetres; columns may carry the voxel sizes.

    Returns
    -------
    ndarray, shape (3, 3)
        Column c is the unit world direction of voxel axis c; the nearest orthogonal matrix to the
        column-normalised input (exact for any image without shear).
    """
    m = np.asarray(voxel_to_world, dtype=np.float64)
    if m.shape == (4, 4):
        m = m[:3, :3]
    if m.shape != (3, 3) or not np.all(np.isfinite(m)):
        raise GradientToolsError(
            f"a voxel-to-world matrix must be a finite 3x3 or 4x4 array, got shape {m.shape}")
    norms = np.linalg.norm(m, axis=0)
    if np.any(norms <= 0):
        raise GradientToolsError("the voxel-to-world matrix has a zero column")
    m = m / norms
    if abs(np.linalg.det(m)) < 1e-6:
        raise GradientToolsError("the voxel-to-world matrix is singular")
    u, _, vt = np.linalg.svd(m)
    return u @ vt


def _fsl_matrix(voxel_to_world) -> np.ndarray:
    """R F: FSL bvec components -> scanner RAS."""
    rotation = voxel_rotation(voxel_to_world)
    return rotation @ _FLIP_X if np.linalg.det(rotation) > 0 else rotation


def _logical_matrix(logical_axes) -> np.ndarray:
    axes = np.asarray(logical_axes, dtype=np.float64)
    if axes.shape != (3, 3) or not np.all(np.isfinite(axes)):
        raise GradientToolsError(f"logical axes must be a finite 3x3 matrix, got shape {axes.shape}")
    rotation = voxel_rotation(axes)
    if np.abs(rotation - axes / np.linalg.norm(axes, axis=0)).max() > 1e-3:
        raise GradientToolsError("logical axes (read, phase, slice) must be orthogonal")
    return rotation


def image_to_scanner(vectors, voxel_to_world) -> np.ndarray:
    """FSL bvec vectors (N, 3) of an image -> scanner RAS vectors (N, 3): g = R F v."""
    return np.asarray(vectors, dtype=np.float64) @ _fsl_matrix(voxel_to_world).T


def scanner_to_image(vectors, voxel_to_world) -> np.ndarray:
    """Scanner RAS vectors (N, 3) -> FSL bvec vectors (N, 3) of the image: v = F R^T g."""
    return np.asarray(vectors, dtype=np.float64) @ _fsl_matrix(voxel_to_world)


def logical_to_scanner(vectors, logical_axes) -> np.ndarray:
    """Logical (read, phase, slice) vectors (N, 3) -> scanner RAS vectors (N, 3)."""
    return np.asarray(vectors, dtype=np.float64) @ _logical_matrix(logical_axes).T


def scanner_to_logical(vectors, logical_axes) -> np.ndarray:
    """Scanner RAS vectors (N, 3) -> logical (read, phase, slice) vectors (N, 3)."""
    return np.asarray(vectors, dtype=np.float64) @ _logical_matrix(logical_axes)


def _to_scanner(scheme: GradientScheme, reference, logical_axes, target: str) -> np.ndarray:
    if scheme.frame == "scanner":
        return scheme.bvecs
    if scheme.frame == "device":
        return scheme.bvecs @ DEVICE_TO_SCANNER
    if scheme.frame == "image":
        if reference is None:
            raise missing_matrix("image", target)
        return image_to_scanner(scheme.bvecs, reference)
    if logical_axes is None:
        raise missing_matrix("logical", target)
    return logical_to_scanner(scheme.bvecs, logical_axes)


def missing_matrix(source: str, target: str) -> FrameError:
    """The error for a conversion between ``source`` and ``target`` frames without its matrix."""
    if "logical" in (source, target):
        return FrameError(
            f"the vectors are in {FRAME_NAMES[source]} but {FRAME_NAMES[target]} are needed; converting "
            "takes the prescription's axes (logical_axes=), which no image header holds: to move a design "
            "between vendors, copy the vectors unchanged on purpose (keep_vectors=True, on the command "
            "line --keep-vectors)")
    return FrameError(
        f"the vectors are in {FRAME_NAMES[source]} but {FRAME_NAMES[target]} are needed: give the image "
        "they belong to (reference=its voxel-to-world matrix, on the command line --reference IMAGE)")


def convert_frame(scheme: GradientScheme, frame: str, *, reference=None,
                  logical_axes: Optional[np.ndarray] = None) -> GradientScheme:
    """The same volumes with their vectors expressed in ``frame``.

    Parameters
    ----------
    scheme : GradientScheme
    frame : {"scanner", "device", "image", "logical"}
    reference : array_like, optional
        Voxel-to-world RAS matrix (3x3 or 4x4) of the image an ``"image"``-frame scheme belongs to
        (needed for image <-> scanner and image <-> logical).
    logical_axes : array_like (3, 3), optional
        Scanner directions of the read, phase and slice axes (columns), for conversions to or from
        ``"logical"``.

    Returns
    -------
    GradientScheme
        A new scheme in ``frame`` (a copy when the frame is already right). b-values are unchanged;
        b=0 volumes keep zero vectors.

    Raises
    ------
    FrameError
        when the matrix a conversion needs is missing; the message names it.
    """
    if frame not in FRAMES:
        raise GradientToolsError(f"unknown frame {frame!r}; choose one of {', '.join(FRAMES)}")
    if scheme.frame == frame:
        return scheme.copy()
    g = _to_scanner(scheme, reference, logical_axes, frame)
    if frame == "scanner":
        out = g
    elif frame == "device":
        out = g @ DEVICE_TO_SCANNER
    elif frame == "image":
        if reference is None:
            raise missing_matrix(scheme.frame, "image")
        out = scanner_to_image(g, reference)
    else:
        if logical_axes is None:
            raise missing_matrix(scheme.frame, "logical")
        out = scanner_to_logical(g, logical_axes)
    return GradientScheme(scheme.bvals.copy(), out, frame)
