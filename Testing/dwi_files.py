"""Helpers of the gradient-check tests: small phantom DWIs and the files tools read them from.

* :func:`phantom_case`: a DWI phantom (GradientToolsLib.diffusion.dwi_phantom) with its true table;
* :func:`oblique_direction`: a rotation (det +1) or rotoreflection (det -1), LPS;
* :func:`dwi_node`: a vtkMRMLDiffusionWeightedVolumeNode of a phantom with oblique geometry and a
  measurement frame, its gradients set through the node's own API (slicer-core);
* :func:`write_nifti_dwi`: a 4-D NIfTI through nibabel (not the library's reader's SimpleITK), the
  affine built from LPS geometry;
* :func:`write_nrrd_dwi`: a DWI NRRD written by hand, as Slicer writes them (gradient axis first,
  DWMRI keys, a measurement frame), in RAS or LPS space;
* :func:`small_64d`: DIPY's real ``small_64D`` crop (data, b-values, FSL bvecs with a NaN row, affine).
"""

from __future__ import annotations

import functools
import os

import numpy as np

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


@functools.cache
def _directions(n: int, seed: int) -> np.ndarray:
    from GradientToolsLib.diffusion.electrostatic import electrostatic_directions

    return np.asarray(electrostatic_directions(n, seed=seed))


def scheme(shells, b0_count: int, seed: int = 1):
    """(bvals, bvecs) with ``b0_count`` leading b=0 volumes and electrostatic shells [(b, n), ...]."""
    bvals, bvecs = [np.zeros(b0_count)], [np.zeros((b0_count, 3))]
    for b, n in shells:
        bvals.append(np.full(n, float(b)))
        bvecs.append(_directions(n, seed))
    return np.concatenate(bvals), np.vstack(bvecs)


def phantom_case(shells=((1000, 30),), b0_count=3, shape=(14, 24, 24), spacing=(2.5, 2.5, 3.5),
                 snr=20.0, seed=0):
    """(phantom, bvals, true voxel-axis bvecs)."""
    from GradientToolsLib.diffusion.dwi_phantom import dwi_phantom

    bvals, bvecs = scheme(shells, b0_count)
    return dwi_phantom(bvals, bvecs, shape=shape, spacing=spacing, snr=snr, seed=seed), bvals, bvecs


def oblique_direction(handedness: int) -> np.ndarray:
    """An oblique LPS direction matrix with determinant ``handedness`` (+1 or -1)."""
    a, b = 0.5, 0.3
    rz = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(b), -np.sin(b)], [0.0, np.sin(b), np.cos(b)]])
    m = rz @ rx
    return m if handedness > 0 else m @ np.diag([-1.0, 1.0, 1.0])


#: a measurement frame (RAS) that is neither the identity nor the image's directions
MEASUREMENT_FRAME = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _matrix4(values, spacing=(1.0, 1.0, 1.0)):
    import vtk

    m = vtk.vtkMatrix4x4()
    for r in range(3):
        for c in range(3):
            m.SetElement(r, c, values[r][c] * spacing[c])
    return m


def measurement_gradients(table_voxel, handedness, frame=MEASUREMENT_FRAME) -> np.ndarray:
    """A voxel-axis table (N, 3) in the measurement frame of a :func:`dwi_node`, converted here, not
    by the library: RAS = R v = MF g, so g = MF^T R v (R: the node's IJK-to-RAS rotation)."""
    rotation = LPS_TO_RAS @ oblique_direction(handedness)
    return np.asarray(table_voxel) @ (np.asarray(frame).T @ rotation).T


def dwi_node(scene, phantom, handedness, table_voxel, name="dwi", frame=MEASUREMENT_FRAME):
    """(node, gradients as stored): a DWI node of ``phantom`` (a DwiPhantom and its b-values) with an
    oblique IJK-to-RAS of determinant ``handedness`` and measurement frame ``frame``, whose gradients
    are ``table_voxel`` (N, 3, voxel axes I, J, K) (:func:`measurement_gradients`)."""
    import slicer.util

    ph, bvals = phantom
    node = scene.AddNewNodeByClass("vtkMRMLDiffusionWeightedVolumeNode", name)
    slicer.util.updateVolumeFromArray(node, ph.dwi)
    rotation = LPS_TO_RAS @ oblique_direction(handedness)
    node.SetIJKToRASMatrix(_matrix4(rotation, ph.spacing))
    node.SetMeasurementFrameMatrix(_matrix4(frame))
    gradients = measurement_gradients(table_voxel, handedness, frame)
    node.SetNumberOfGradients(bvals.size)
    for i, (g, b) in enumerate(zip(gradients, bvals)):
        node.SetDiffusionGradient(i, [float(x) for x in g])
        node.SetBValue(i, float(b))
    return node, gradients


def write_nifti_dwi(path, array, spacing, direction_lps, origin_lps=(10.0, -20.0, 5.0)) -> str:
    import nibabel

    affine = np.eye(4)
    affine[:3, :3] = LPS_TO_RAS @ np.asarray(direction_lps) @ np.diag(spacing)
    affine[:3, 3] = LPS_TO_RAS @ np.asarray(origin_lps)
    image = nibabel.Nifti1Image(np.transpose(np.asarray(array, np.float32), (2, 1, 0, 3)), affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    nibabel.save(image, str(path))
    return str(path)


def write_fsl(prefix, bvals, bvecs) -> tuple:
    np.savetxt(f"{prefix}.bval", np.asarray(bvals)[None], fmt="%g")
    np.savetxt(f"{prefix}.bvec", np.asarray(bvecs).T, fmt="%.10f")
    return f"{prefix}.bval", f"{prefix}.bvec"


def write_nrrd_dwi(path, array, spacing, direction, bvals, vectors, measurement_frame=None,
                   space="left-posterior-superior", origin=(0.0, 0.0, 0.0)) -> str:
    """A DWI NRRD: ``direction`` and ``origin`` in ``space``; ``vectors`` in the measurement frame
    (scaled by sqrt(b / b_max) as Slicer writes multi-shell tables). A ``.nhdr`` path writes a
    detached header and its data beside it as ``<name>.raw``."""
    array = np.asarray(array, np.float32)
    measurement_frame = np.eye(3) if measurement_frame is None else np.asarray(measurement_frame)
    k, j, i, n = array.shape
    b_max = float(np.max(bvals))
    columns = np.asarray(direction) @ np.diag(spacing)
    vec = lambda v: "(" + ",".join(f"{x:.10g}" for x in v) + ")"  # noqa: E731
    lines = ["NRRD0005", "type: float", "dimension: 4", f"space: {space}", f"sizes: {n} {i} {j} {k}",
             "space directions: none " + " ".join(vec(columns[:, c]) for c in range(3)),
             "kinds: list domain domain domain", "endian: little", "encoding: raw",
             f"space origin: {vec(origin)}",
             "measurement frame: " + " ".join(vec(np.asarray(measurement_frame)[:, c]) for c in range(3)),
             "modality:=DWMRI", f"DWMRI_b-value:={b_max:g}"]
    scale = np.sqrt(np.asarray(bvals) / b_max)
    for index, (g, s) in enumerate(zip(np.nan_to_num(vectors), scale)):
        lines.append(f"DWMRI_gradient_{index:04d}:=" + " ".join(f"{x:.10f}" for x in g * s))
    data = np.ascontiguousarray(array).astype("<f4").tobytes()  # (K, J, I, N): list axis fastest
    path = str(path)
    if path.endswith(".nhdr"):
        raw = os.path.splitext(os.path.basename(path))[0] + ".raw"
        lines.insert(9, f"data file: {raw}")
        with open(os.path.join(os.path.dirname(path), raw), "wb") as f:
            f.write(data)
        data = b""
    with open(path, "wb") as f:
        f.write(("\n".join(lines) + ("\n\n" if data else "\n")).encode("ascii"))
        f.write(data)
    return path


def dipy_file(name: str) -> str:
    import dipy

    return os.path.join(os.path.dirname(dipy.__file__), "data", "files", name)


def small_64d():
    """(dwi (K, J, I, N), bvals, FSL bvecs (N, 3) with the NaN row, RAS affine) of DIPY's small_64D."""
    import nibabel

    image = nibabel.load(dipy_file("small_64D.nii"))
    dwi = np.transpose(np.asarray(image.dataobj, dtype=np.float32), (2, 1, 0, 3))
    bvals = np.loadtxt(dipy_file("small_64D.bval")).reshape(-1)
    bvecs = np.loadtxt(dipy_file("small_64D.bvec"))
    return dwi, bvals, bvecs, image.affine
