"""The gradient check of a vtkMRMLDiffusionWeightedVolumeNode on slicer-core: gradients taken from
the node's measurement frame through its IJK-to-RAS geometry (both handedness), the correction
written back, DWI NRRDs read by Slicer's own NRRD reader, masks, the module logic's
checkGradientTable, bad input.

Timing: about 10 s on 2 busy cores.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import vtk
from dwi_files import MEASUREMENT_FRAME, dwi_node, oblique_direction, phantom_case, write_nrrd_dwi

slicer = pytest.importorskip("slicer")

from GradientToolsLib import GradientToolsError  # noqa: E402
from GradientToolsLib.diffusion.gradcheck import apply_candidate, inverse  # noqa: E402
from GradientToolsLib.diffusion.gradcheck.tables import table_from_nrrd  # noqa: E402
from GradientToolsLib.image.volume_io import read_dwi  # noqa: E402
from GradientToolsLib.mrml.gradient_check import (  # noqa: E402
    CORRECTION_ATTRIBUTE,
    apply_correction,
    check_gradient_table_for_node,
    voxel_gradients,
)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module"))
try:  # the module loader of Testing/module before its Harness (module_harness.py) existed
    from test_module_logic import module  # noqa: E402,F401  (a fixture, reused)
except ImportError:
    module = None

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])
CORRUPTION = ((1, 2, 0), (-1, 1, 1))
FRAME = MEASUREMENT_FRAME  # RAS


@pytest.fixture(scope="module")
def phantom():
    return phantom_case(shape=(12, 22, 22), spacing=(2.5, 2.5, 3.0), snr=20.0, seed=9)


def _dwi_node(scene, phantom, handedness, table_voxel):
    """A DWI node of the phantom: oblique IJK-to-RAS, gradients in FRAME (made here, not by the library)."""
    ph, bvals, _ = phantom
    return dwi_node(scene, (ph, bvals), handedness, table_voxel, frame=FRAME)


@pytest.mark.parametrize("handedness", [1, -1])
def test_a_dwi_node_is_checked_and_corrected_in_its_measurement_frame(scene, phantom, handedness):
    _, bvals, truth = phantom
    node, stored = _dwi_node(scene, phantom, handedness, truth)
    np.testing.assert_allclose(voxel_gradients(node), truth, atol=1e-12)
    assert check_gradient_table_for_node(node, seeds=1000).given_is_best
    assert apply_correction(node, check_gradient_table_for_node(node, seeds=1000)) is False

    node, _ = _dwi_node(scene, phantom, handedness, apply_candidate(truth, CORRUPTION))
    result = check_gradient_table_for_node(node, seeds=1000)
    assert not result.given_is_best and result.best == inverse(CORRUPTION)
    assert apply_correction(node, result) is True
    corrected = np.array([node.GetDiffusionGradient(i) for i in range(bvals.size)])
    weighted = bvals > 0
    # the true gradients in the measurement frame again (up to each vector's sign), b-values kept
    np.testing.assert_allclose(np.abs(np.sum(corrected[weighted] * stored[weighted], axis=1)), 1.0,
                               atol=1e-9)
    assert [node.GetBValue(i) for i in range(bvals.size)] == list(bvals)
    assert node.GetAttribute(CORRECTION_ATTRIBUTE) is not None
    with pytest.raises(GradientToolsError, match="not the ones that were checked"):
        apply_correction(node, result)


@pytest.mark.parametrize("space", ["left-posterior-superior", "right-anterior-superior"])
def test_slicers_nrrd_reader_and_the_command_lines_reader_agree_on_the_voxel_gradients(
        scene, phantom, tmp_path, space):
    ph, bvals, truth = phantom
    to_space = np.eye(3) if space.startswith("left") else LPS_TO_RAS
    direction = to_space @ oblique_direction(-1)
    frame = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    header_vectors = apply_candidate(truth, CORRUPTION) @ (frame.T @ direction).T
    path = write_nrrd_dwi(tmp_path / "dwi.nrrd", ph.dwi, ph.spacing, direction, bvals, header_vectors,
                          frame, space)
    node = scene.AddNewNodeByClass("vtkMRMLDiffusionWeightedVolumeNode", "loaded")
    storage = scene.AddNewNodeByClass("vtkMRMLNRRDStorageNode")
    storage.SetFileName(path)
    assert storage.ReadData(node)
    from_slicer = voxel_gradients(node)
    dwi = read_dwi(path)
    from_cli = table_from_nrrd(path, dwi.header).to_voxel(dwi.direction)
    unit = lambda v: v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)  # noqa: E731
    np.testing.assert_allclose(unit(from_slicer), unit(from_cli), atol=1e-6)
    np.testing.assert_allclose(unit(from_slicer), unit(apply_candidate(truth, CORRUPTION)), atol=1e-6)
    np.testing.assert_array_equal(slicer.util.arrayFromVolume(node), dwi.array)
    assert check_gradient_table_for_node(node, seeds=1000).best == inverse(CORRUPTION)


def test_masks_and_bad_input(scene, phantom):
    ph, _, truth = phantom
    node, _ = _dwi_node(scene, phantom, 1, truth)
    mask = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "brain")
    slicer.util.updateVolumeFromArray(mask, ph.brain.astype(np.uint8))
    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    mask.SetIJKToRASMatrix(matrix)
    result = check_gradient_table_for_node(node, mask, seeds=500)
    np.testing.assert_array_equal(result.mask, ph.brain)
    mask.SetSpacing(1.0, 1.0, 1.0)
    with pytest.raises(GradientToolsError, match="not on the DWI's grid"):
        check_gradient_table_for_node(node, mask)
    with pytest.raises(GradientToolsError, match="vtkMRMLDiffusionWeightedVolumeNode"):
        check_gradient_table_for_node(mask)
    empty = scene.AddNewNodeByClass("vtkMRMLDiffusionWeightedVolumeNode", "empty")
    slicer.util.updateVolumeFromArray(empty, ph.dwi[:2, :3, :4])
    with pytest.raises(GradientToolsError, match="33 volumes but 7 gradients"):  # a new node's 7
        check_gradient_table_for_node(empty)
    empty.SetNumberOfGradients(0)
    with pytest.raises(GradientToolsError, match="no gradients"):
        check_gradient_table_for_node(empty)
    with pytest.raises(GradientToolsError, match="result of check_gradient_table_for_node"):
        apply_correction(node, "not a result")


@pytest.fixture(scope="module")
def module_logic(request):
    """A factory of GradientTools.py's logic, loaded on slicer-core by Testing/module's loader."""
    try:
        from module_harness import Harness
        from parameter_node_stand_in import VERSIONS
    except ImportError:
        yield request.getfixturevalue("module").GradientToolsLogic
        return
    from support import make_offscreen

    offscreen = make_offscreen(64, 64, background=None)
    harness = Harness(VERSIONS[-1], offscreen)
    try:
        yield harness.logic
    finally:
        harness.close()
        offscreen.close()


def test_the_module_logic_checks_and_applies(module_logic, phantom):
    _, bvals, truth = phantom
    logic = module_logic()
    node, _ = _dwi_node(slicer.mrmlScene, phantom, -1, apply_candidate(truth, CORRUPTION))
    result = logic.checkGradientTable(node, apply=True)
    assert result.best == inverse(CORRUPTION)
    np.testing.assert_allclose(np.abs(np.sum(voxel_gradients(node)[bvals > 0] * truth[bvals > 0], axis=1)),
                               1.0, atol=1e-9)
    again = logic.checkGradientTable(node)
    assert again.given_is_best and logic.applyGradientCorrection(node, again) is False
