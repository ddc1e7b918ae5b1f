"""The NRRD fragment and its measurement frame, read and written by Slicer's own vtkMRMLNRRDStorageNode.

Slicer keeps a DWI node's gradients in the measurement frame and maps them to RAS with the node's
measurement frame matrix (into which its reader folds the header's ``space``): that product must be
the scheme's scanner-frame vectors, for both spaces Slicer reads and for an oblique frame.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from GradientToolsLib import multishell_scheme
from GradientToolsLib.diffusion.frames import FrameError
from GradientToolsLib.diffusion.readers import read_scheme
from GradientToolsLib.diffusion.writers import nrrd_dwi_header_lines, write_scheme

slicer = pytest.importorskip("slicer")


@pytest.fixture(scope="module")
def scheme():
    return multishell_scheme({1000: 10, 2500: 14}, b0=3, b0_spread=True, seed=11)


def _nhdr(tmp_path, scheme, fragment, space):
    data = np.zeros(4 * 3 * 2 * scheme.n, dtype=np.int16)
    (tmp_path / "dwi.raw").write_bytes(data.tobytes())
    header = ["NRRD0005", "type: short", "dimension: 4", f"space: {space}", f"sizes: {scheme.n} 4 3 2",
              "space directions: none (1,0,0) (0,1,0) (0,0,1)", "kinds: list domain domain domain",
              "endian: little", "encoding: raw", "space origin: (0,0,0)"]
    path = tmp_path / "dwi.nhdr"
    path.write_text("\n".join(header + fragment + ["data file: dwi.raw"]) + "\n")
    return path


def _read_with_slicer(scene, path):
    node = scene.AddNewNodeByClass("vtkMRMLDiffusionWeightedVolumeNode")
    storage = scene.AddNewNodeByClass("vtkMRMLNRRDStorageNode")
    storage.SetFileName(str(path))
    assert storage.ReadData(node)
    return node


def _slicer_ras_gradients(node):
    from vtk.util import numpy_support

    from GradientToolsLib.mrml.dwi import measurement_frame

    stored = numpy_support.vtk_to_numpy(node.GetDiffusionGradients())
    ras = stored @ measurement_frame(node).T
    return ras, numpy_support.vtk_to_numpy(node.GetBValues())


@pytest.mark.parametrize("space", ["right-anterior-superior", "left-posterior-superior"])
def test_slicer_reads_the_fragment_with_its_measurement_frame(scene, tmp_path, scheme, space):
    lines = nrrd_dwi_header_lines(scheme, space=space)
    assert any(line.startswith("measurement frame: ") for line in lines)
    node = _read_with_slicer(scene, _nhdr(tmp_path, scheme, lines, space))
    ras, bvals = _slicer_ras_gradients(node)
    assert np.allclose(ras, scheme.bvecs, atol=1e-7)
    assert np.allclose(bvals, scheme.bvals, atol=1e-3)
    # our reader reads the same header (and the bare fragment, through its '# space' line) back
    for path in (tmp_path / "dwi.nhdr", write_scheme(scheme, tmp_path / "f", "nrrd", space=space)[0]):
        back = read_scheme(path)
        assert back.frame == "scanner" and np.allclose(back.bvecs, scheme.bvecs, atol=1e-7)


def test_an_oblique_measurement_frame_from_another_writer(scene, tmp_path, scheme):
    """A DWIConvert-style header: LPS space, gradients in an oblique measurement frame."""
    frame = Rotation.from_rotvec([0.4, -0.2, 0.7]).as_matrix()  # measurement -> LPS
    lps = scheme.bvecs * [-1, -1, 1]
    measured = lps @ frame  # frame^T applied to each row
    scaled = measured * np.sqrt(scheme.bvals / scheme.b_max)[:, None]
    fragment = ["modality:=DWMRI", "measurement frame: " + " ".join(
        "(" + ",".join(f"{x:.12f}" for x in column) + ")" for column in frame.T),
        f"DWMRI_b-value:={scheme.b_max:g}"] + [
        f"DWMRI_gradient_{i:04d}:= " + " ".join(f"{x:.10f}" for x in g) for i, g in enumerate(scaled)]
    path = _nhdr(tmp_path, scheme, fragment, "left-posterior-superior")
    node = _read_with_slicer(scene, path)
    ras, _ = _slicer_ras_gradients(node)
    assert np.allclose(ras, scheme.bvecs, atol=1e-7)  # the test's header means what it should
    back = read_scheme(path)
    assert np.allclose(back.bvecs, scheme.bvecs, atol=1e-7)
    assert np.allclose(back.bvals, scheme.bvals, atol=1e-3)


def test_attach_honours_the_nodes_measurement_frame_and_slicer_writes_it(scene, tmp_path, scheme):
    import vtk

    from GradientToolsLib.mrml.dwi import attach_scheme_to_dwi, scheme_from_dwi

    node = scene.AddNewNodeByClass("vtkMRMLDiffusionWeightedVolumeNode")
    image = vtk.vtkImageData()
    image.SetDimensions(2, 3, 4)
    image.AllocateScalars(vtk.VTK_SHORT, scheme.n)
    node.SetAndObserveImageData(image)
    frame = vtk.vtkMatrix4x4()
    rotation = Rotation.from_rotvec([-0.3, 0.5, 0.1]).as_matrix()
    for r in range(3):
        for c in range(3):
            frame.SetElement(r, c, rotation[r, c])
    node.SetMeasurementFrameMatrix(frame)
    attach_scheme_to_dwi(node, scheme)
    ras, bvals = _slicer_ras_gradients(node)
    assert np.allclose(ras, scheme.bvecs, atol=1e-9) and np.allclose(bvals, scheme.bvals)
    assert np.allclose(scheme_from_dwi(node).bvecs, scheme.bvecs, atol=1e-9)
    # Slicer's own NRRD writer, then our reader
    storage = scene.AddNewNodeByClass("vtkMRMLNRRDStorageNode")
    storage.SetFileName(str(tmp_path / "written.nhdr"))
    assert storage.WriteData(node)
    back = read_scheme(tmp_path / "written.nhdr")
    assert np.allclose(back.bvecs, scheme.bvecs, atol=1e-6)
    assert np.allclose(back.bvals, scheme.bvals, atol=1e-2)


def test_nrrd_lines_need_the_scanner_frame(scheme):
    with pytest.raises(FrameError, match="scanner"):
        nrrd_dwi_header_lines(scheme.with_frame("image"))
    lines = nrrd_dwi_header_lines(scheme)
    keys = [line.split(":=")[0] for line in lines if line.startswith("DWMRI_gradient_")]
    assert keys == [f"DWMRI_gradient_{i:04d}" for i in range(scheme.n)]
    assert "DWMRI_b-value:=2500" in lines and "measurement frame: (1,0,0) (0,1,0) (0,0,1)" in lines
