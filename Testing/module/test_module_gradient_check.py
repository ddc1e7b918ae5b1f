"""The panel's "Gradient table check" section on slicer-core, as Slicer 5.8.1 and 5.10.0 would run it.

Each test runs for both versions (conftest's ``harness``), driving the section like a user: a phantom
DWI (GradientToolsLib's dwi_phantom: curved and crossing bundles, Rician noise) in a real
vtkMRMLDiffusionWeightedVolumeNode with oblique geometry and a measurement frame, its gradients
set here through the node's API with one voxel axis deliberately flipped. The reference is that
known flip: the verdict must name its inverse, and Apply must give back the true table.

Timing: about 1 s per check on 2 busy cores; about 25 s for the file (both versions).
"""

from __future__ import annotations

import numpy as np
import pytest
from dwi_files import dwi_node, measurement_gradients, phantom_case

slicer = pytest.importorskip("slicer")

import qt_stand_ins  # noqa: E402

from GradientToolsLib.diffusion.gradcheck import apply_candidate, describe, inverse  # noqa: E402
from GradientToolsLib.mrml.gradient_check import CORRECTION_ATTRIBUTE  # noqa: E402

#: the deliberate corruption: the J axis flipped (voxel axes); it undoes itself
FLIP_J = ((0, 1, 2), (1, -1, 1))
#: I and J swapped, then J flipped: the table as given then ranks below the top five
SWAP_FLIP = ((1, 0, 2), (1, -1, 1))
HANDEDNESS = -1  # a rotoreflection: the harder case for frame conversions


@pytest.fixture(scope="module")
def case():
    """(phantom, b-values, true voxel-axis table), small enough for a check in about a second."""
    return phantom_case(shape=(12, 22, 22), spacing=(2.5, 2.5, 3.0), snr=20.0, seed=9)


def add_dwi(case, name="dwi", corruption=FLIP_J):
    ph, bvals, truth = case
    table = apply_candidate(truth, corruption)
    return dwi_node(slicer.mrmlScene, (ph, bvals), HANDEDNESS, table, name=name)[0]


def stored_gradients(node):
    return np.array([node.GetDiffusionGradient(i) for i in range(node.GetNumberOfGradients())])


def rows(table):
    return [tuple(table.item(r, c).text() for c in range(4)) for r in range(table.rowCount)]


def select_and_check(panel, node):
    ui = panel.widget.ui
    ui.checkDwiSelector.setCurrentNode(node)
    assert panel.parameters().checkDwiVolume is node
    assert ui.checkButton.enabled
    ui.checkButton.click()
    return panel.widget.sections["check"]


def assert_cleared(panel):
    ui, section = panel.widget.ui, panel.widget.sections["check"]
    assert section.result is None and section.checkedNode is None
    assert ui.checkVerdictLabel.text == "-" and ui.checkRankingTable.rowCount == 0
    assert ui.checkWarningsLabel.isHidden() and not ui.checkApplyButton.enabled


@pytest.mark.parametrize("corruption", [FLIP_J, SWAP_FLIP], ids=["flip", "swap-flip"])
def test_check_shows_the_verdict_warnings_and_best_tables(panel, case, corruption):
    ui = panel.widget.ui
    node = add_dwi(case, corruption=corruption)
    before = stored_gradients(node)
    assert not ui.checkApplyButton.enabled
    section = select_and_check(panel, node)
    result = section.result
    assert section.checkedNode is node and not panel.errors
    assert not result.given_is_best and result.best == inverse(corruption)
    # what is shown is the result: the verdict names the fix, the table its best rows and the given one
    assert "wrong" in ui.checkVerdictLabel.text and describe(inverse(corruption)) in ui.checkVerdictLabel.text
    shown = rows(ui.checkRankingTable)
    given_rank = next(i for i, (p, s, _) in enumerate(result.ranking, 1) if (p, s) == ((0, 1, 2), (1, 1, 1)))
    expected = [(rank, (p, s), score) for rank, (p, s, score) in enumerate(result.ranking[:5], 1)]
    if given_rank > 5:
        expected.append((given_rank, ((0, 1, 2), (1, 1, 1)), result.given_score))
    # on this phantom the flipped table ranks third, the swapped one twentieth (added below the five)
    assert len(shown) == len(expected) == (5 if corruption == FLIP_J else 6)
    for (rank, name, length, behind), (rank_e, candidate, score) in zip(shown, expected):
        assert rank == str(rank_e) and name.startswith(describe(candidate))
        assert name.endswith("(as given)") == (rank_e == given_rank)
        assert float(length) == pytest.approx(score, abs=0.005)
        assert float(behind.rstrip("%")) == pytest.approx(100 * (score / result.best_score - 1), abs=0.05)
    assert shown[0][3] == "+0.0%"
    label = ui.checkWarningsLabel
    assert (label.text, label.isHidden()) == ("\n".join(result.warnings), not result.warnings)
    assert ui.checkApplyButton.enabled
    # the check ran in the modal dialog, reported progress, and left the node as it was
    dialog, = panel.dialogs
    assert dialog.modalityWhenShown == qt_stand_ins.Qt.WindowModal and dialog.values[-1] == 100
    assert dialog.isHidden() and dialog.parent() is None and not panel.widget.busy
    np.testing.assert_array_equal(stored_gradients(node), before)
    assert node.GetAttribute(CORRECTION_ATTRIBUTE) is None


def test_apply_gives_back_the_true_table_and_is_refused_twice(panel, case):
    ph, bvals, truth = case
    ui = panel.widget.ui
    node = add_dwi(case)
    voxels = slicer.util.arrayFromVolume(node).copy()
    select_and_check(panel, node)
    ui.checkApplyButton.click()
    true_stored = measurement_gradients(truth, HANDEDNESS)
    np.testing.assert_allclose(stored_gradients(node), true_stored, atol=1e-9)
    assert [node.GetBValue(i) for i in range(bvals.size)] == list(bvals)
    np.testing.assert_array_equal(slicer.util.arrayFromVolume(node), voxels)
    applied = describe(inverse(FLIP_J))
    assert node.GetAttribute(CORRECTION_ATTRIBUTE) == applied
    assert f"Applied: {applied}" in ui.checkVerdictLabel.text and applied in panel.status[-1]
    assert not ui.checkApplyButton.enabled and not panel.errors

    with pytest.raises(ValueError, match="not the ones that were checked"):  # shown, then re-raised
        ui.checkApplyButton.clicked.emit(False)  # a second Apply, even past the disabled button
    assert len(panel.errors) == 1 and "not the ones that were checked" in panel.errors[0]
    np.testing.assert_allclose(stored_gradients(node), true_stored, atol=1e-9)
    assert node.GetAttribute(CORRECTION_ATTRIBUTE) == applied

    ui.checkButton.click()  # checked again, the corrected table is the best: nothing to apply
    assert panel.widget.sections["check"].result.given_is_best
    assert "as given is the most coherent" in ui.checkVerdictLabel.text
    assert rows(ui.checkRankingTable)[0][1].endswith("(as given)") and not ui.checkApplyButton.enabled


def test_selecting_another_volume_forgets_the_result(panel, case):
    ui = panel.widget.ui
    first, second = add_dwi(case, "first"), add_dwi(case, "second")
    select_and_check(panel, first)
    assert ui.checkApplyButton.enabled
    ui.checkDwiSelector.setCurrentNode(second)
    assert_cleared(panel)
    ui.checkDwiSelector.setCurrentNode(first)  # back: the result is gone, not brought back
    assert_cleared(panel)
    select_and_check(panel, first)
    panel.parameters().checkDwiVolume = second  # from the console or a loaded scene: the same
    assert_cleared(panel)
    select_and_check(panel, second)
    slicer.mrmlScene.RemoveNode(second)  # the checked volume deleted
    assert_cleared(panel)
    assert panel.parameters().checkDwiVolume is None and not ui.checkButton.enabled
    assert not panel.errors


@pytest.mark.parametrize("after_reports", [1, 3])
def test_cancel_leaves_the_node_untouched(panel, case, after_reports):
    ui = panel.widget.ui
    node = add_dwi(case)
    before = stored_gradients(node)
    reports = panel.cancel_after(after_reports)
    nodes = slicer.mrmlScene.GetNumberOfNodes()
    select_and_check(panel, node)
    assert len(reports) == after_reports, "the check went on after Cancel"
    assert panel.status[-1].endswith("cancelled") and not panel.errors
    assert_cleared(panel)
    np.testing.assert_array_equal(stored_gradients(node), before)
    assert node.GetAttribute(CORRECTION_ATTRIBUTE) is None
    assert slicer.mrmlScene.GetNumberOfNodes() == nodes
    assert panel.dialogs[-1].isHidden() and panel.dialogs[-1].parent() is None
    assert ui.checkButton.enabled and not panel.widget.busy


def test_scene_close_clears_the_section(panel, case):
    ui = panel.widget.ui
    select_and_check(panel, add_dwi(case))
    assert ui.checkRankingTable.rowCount == 5
    slicer.mrmlScene.Clear(0)
    assert_cleared(panel)
    assert panel.parameters().checkDwiVolume is None and not ui.checkButton.enabled


def test_the_mask_is_used_and_a_mask_off_the_grid_is_refused(panel, case):
    ph = case[0]
    ui = panel.widget.ui
    node = add_dwi(case)
    mask = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "brain")
    slicer.util.updateVolumeFromArray(mask, ph.brain.astype(np.uint8))
    import vtk

    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    mask.SetIJKToRASMatrix(matrix)
    ui.checkMaskSelector.setCurrentNode(mask)
    assert panel.parameters().checkMaskVolume is mask
    section = select_and_check(panel, node)
    np.testing.assert_array_equal(section.result.mask, ph.brain)
    assert section.result.best == inverse(FLIP_J)

    mask.SetSpacing(1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="not on the DWI's grid"):  # shown, then re-raised
        ui.checkButton.click()
    assert len(panel.errors) == 1 and "not on the DWI's grid" in panel.errors[0]
    assert not panel.widget.busy and panel.dialogs[-1].isHidden()


def test_a_volume_without_gradients_is_refused(panel, case):
    node = add_dwi(case)
    node.SetNumberOfGradients(0)
    with pytest.raises(ValueError, match="no gradients"):
        select_and_check(panel, node)
    assert "no gradients" in panel.errors[0]
    assert_cleared(panel)


def test_entering_selects_the_first_dwi_volume(panel, case):
    node = add_dwi(case)
    assert panel.parameters().checkDwiVolume is None
    panel.select_module("Data")
    panel.select_module("GradientTools")
    assert panel.parameters().checkDwiVolume is node
    assert panel.widget.ui.checkDwiSelector.currentNode() is node and panel.widget.ui.checkButton.enabled
