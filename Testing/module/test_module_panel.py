"""The module panel's behaviour on slicer-core, as Slicer 5.8.1 and 5.10.0 would run it.

Every test runs twice (conftest's ``harness``: the parameter-node wrapper as 5.8.1 and as 5.10.0
behave), against real MRML nodes and scenes; the Qt widgets are stand-ins built from the real .ui
(qt_stand_ins.py). The first tests show that the stand-ins reproduce the failures the issue reports
for Slicer 5.8 (so the panel tests below could catch them), the rest drive the panel like a user.
"""

import os
from typing import Annotated

import numpy as np
import pytest

slicer = pytest.importorskip("slicer")

import parameter_node_stand_in  # noqa: E402
import qt_stand_ins  # noqa: E402

from GradientToolsLib import write_scheme  # noqa: E402
from GradientToolsLib.image.phantoms import ct_phantom  # noqa: E402


def scripted_node():
    """A parameter node in a scene of its own (the probes below need no Slicer logics)."""
    scene = slicer.vtkMRMLScene()
    node = scene.AddNewNodeByClass("vtkMRMLScriptedModuleNode")
    node.scene = scene  # keeps the scene alive with the node
    return node


# ------------------------------------------------------------------------------------------------
# the stand-ins reproduce what Slicer 5.8 got wrong (the items 2 and 3)
# ------------------------------------------------------------------------------------------------


def probe_class(version):
    wrapper = parameter_node_stand_in.wrapper_module(version)

    class Probe:
        method: Annotated[str, wrapper.Choice(["central", "sobel", "gaussian"])] = "central"
        points: str = ""

    return wrapper.parameterNodeWrapper(Probe)


@pytest.mark.parametrize("version", parameter_node_stand_in.VERSIONS)
@pytest.mark.parametrize("connect", ["connectGui", "connectParametersToGui"])
def test_stand_in_resets_choice_combos_on_5_8_with_connect_gui_only(version, connect):
    """Enter, exit, enter with a Choice combo box: with connectGui on 5.8.1 the untagged old
    connector writes the first choice when the new connector clear()s the combo box."""
    cls = probe_class(version)
    node = scripted_node()
    ui = type("Ui", (), {})()
    ui.combo = qt_stand_ins.QComboBox()
    ui.combo.setProperty("SlicerParameterName", "method")
    bind = (lambda p: p.connectGui(ui)) if connect == "connectGui" else (
        lambda p: p.connectParametersToGui({"method": ui.combo}))
    params = cls(node)
    tag = bind(params)
    ui.combo.currentIndex = 1
    assert params.method == "sobel"
    for _ in range(2):  # exit, enter: a new wrapper of the same node, as getParameterNode makes
        params.disconnectGui(tag)
        params = cls(node)
        tag = bind(params)
    broken = version == "5.8.1" and connect == "connectGui"
    assert params.method == ("central" if broken else "sobel")


@pytest.mark.parametrize("version", parameter_node_stand_in.VERSIONS)
def test_stand_in_moves_the_line_edit_cursor_on_5_8(version):
    params = probe_class(version)(scripted_node())
    edit = qt_stand_ins.QLineEdit()
    params.connectParametersToGui({"points": edit})
    edit.text = "4 0 0 20 1"
    edit.setCursorPosition(2)
    edit.insert("5")
    assert params.points == "4 50 0 20 1"
    assert edit.cursorPosition == (len(edit.text) if version == "5.8.1" else 3)


GARBAGE_COLLECTED_WRAPPER = """
import gc, sys, weakref
sys.path.insert(0, {folder!r})
import parameter_node_stand_in, qt_stand_ins, slicer
wrapper = parameter_node_stand_in.wrapper_module({version!r})

class Probe:
    flag: bool = False

scene = slicer.vtkMRMLScene()
node = scene.AddNewNodeByClass("vtkMRMLScriptedModuleNode")
params = wrapper.parameterNodeWrapper(Probe)(node)
box = qt_stand_ins.QCheckBox()
params.connectParametersToGui({{"flag": box}})
shown = weakref.ref(box)
del params, node, box  # the panel is gone; only the node's observer knows the wrapper
gc.collect()
scene.GetFirstNodeByClass("vtkMRMLScriptedModuleNode").SetParameter("flag", "True")
assert shown().checked  # the forgotten wrapper's connector still writes, as Slicer's do
print("survived")
"""


@pytest.mark.parametrize("version", parameter_node_stand_in.VERSIONS)
def test_stand_in_observers_survive_garbage_collection(version):
    """A wrapper nobody references any more still observes its node (its C++ observer lives on):
    the garbage collector must not clear it, or the node's next event crashes the interpreter."""
    import subprocess
    import sys

    folder = os.path.dirname(os.path.abspath(__file__))
    script = GARBAGE_COLLECTED_WRAPPER.format(folder=folder, version=version)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "survived" in result.stdout, result.stderr[-2000:]


@pytest.mark.parametrize("version", parameter_node_stand_in.VERSIONS)
def test_stand_in_slider_rounds_its_range_like_ctk(version):
    """With one decimal the old suppression slider could not reach 0.25, and its rounded minimum
    failed WithinRange(0.25, 5.0)."""
    wrapper = parameter_node_stand_in.wrapper_module(version)

    class Old:
        suppression: Annotated[float, wrapper.WithinRange(0.25, 5.0)] = 1.0

    params = wrapper.parameterNodeWrapper(Old)(scripted_node())
    slider = qt_stand_ins.ctkSliderWidget()
    slider.decimals = 1
    params.connectParametersToGui({"suppression": slider})
    assert slider.minimum != 0.25
    with pytest.raises(ValueError, match="within"):
        slider.value = slider.minimum


# ------------------------------------------------------------------------------------------------
# bindings through the module's life (item 2)
# ------------------------------------------------------------------------------------------------


def shown_value(widget):
    """What a bound widget shows, in parameter terms."""
    kind = type(widget).__name__
    if kind == "QComboBox":
        return widget.currentText
    if kind == "QCheckBox":
        return widget.checked
    if kind == "qMRMLNodeComboBox":
        return widget.currentNode()
    return widget.value


def expected_shown(value):
    return value.label() if hasattr(value, "label") else value


def assert_widgets_show_parameters(panel):
    params = panel.parameters()
    for name, widget in panel.widget._boundWidgets.items():
        assert shown_value(widget) == expected_shown(getattr(params, name)), name


def choose(combo, member):
    combo.currentIndex = [combo.itemText(i) for i in range(combo.count)].index(member.label())


def test_every_binding_survives_enter_exit_scene_close_and_load(panel, tmp_path):
    module, ui = panel.module, panel.widget.ui
    volume = slicer.util.addVolumeFromArray(np.zeros((3, 4, 5), np.float32), name="input")
    panel.select_module("Data")
    panel.select_module("GradientTools")  # the first volume is picked when entering
    choose(ui.gradientMethodComboBox, module.GradientMethod.GAUSSIAN)
    choose(ui.schemeExportFormatComboBox, module.ExportFormat.SIEMENS)
    choose(ui.schemeRadiusComboBox, module.SchemeRadius.UNIT)
    ui.opacitySuppressionSlider.value = 0.25
    ui.schemeB0CountSpinBox.value = 9
    ui.schemeShowAntipodesCheckBox.checked = True
    changed = {"gradientMethod": module.GradientMethod.GAUSSIAN,
               "schemeExportFormat": module.ExportFormat.SIEMENS,
               "schemeRadius": module.SchemeRadius.UNIT, "opacitySuppression": 0.25, "schemeB0Count": 9,
               "schemeShowAntipodes": True, "gradientInputVolume": volume}

    def check(expected):
        params = panel.parameters()
        assert {name: getattr(params, name) for name in expected} == expected
        assert_widgets_show_parameters(panel)

    for _ in range(3):
        panel.select_module("Data")
        panel.select_module("GradientTools")
        check(changed)
    path = panel.logic().mrml.save_scene_with_data(slicer.mrmlScene, str(tmp_path))
    slicer.mrmlScene.Clear(0)
    check({"gradientMethod": module.GradientMethod.CENTRAL, "schemeB0Count": 6, "gradientInputVolume": None})
    slicer.mrmlScene.SetURL(path)
    slicer.mrmlScene.Import()
    loaded = dict(changed, gradientInputVolume=slicer.mrmlScene.GetFirstNodeByName("input"))
    check(loaded)
    panel.select_module("Data")
    panel.select_module("GradientTools")
    check(loaded)
    assert not panel.errors


def test_exit_leaves_the_widgets_unbound(panel):
    ui = panel.widget.ui
    panel.select_module("Data")
    choose(ui.gradientUnitsComboBox, panel.module.GradientUnits.VOXEL)  # not bound while away
    assert panel.parameters().gradientUnits == panel.module.GradientUnits.MM
    panel.select_module("GradientTools")
    assert ui.gradientUnitsComboBox.currentText == panel.module.GradientUnits.MM.label()


def test_combo_boxes_show_labels_and_store_names(panel):
    module = panel.module
    for name, widget in panel.widget._boundWidgets.items():
        if type(widget).__name__ != "QComboBox":
            continue
        members = list(type(getattr(panel.parameters(), name)))
        assert [widget.itemText(i) for i in range(widget.count)] == [m.label() for m in members]
        assert all(m.label() != m.name for m in members), name
    choose(panel.widget.ui.schemeOrderingComboBox, module.Ordering.NONE)
    assert panel.parameters().parameterNode.GetParameter("schemeOrdering") == "NONE"


# ------------------------------------------------------------------------------------------------
# the free-text opacity function (item 3)
# ------------------------------------------------------------------------------------------------


def test_typing_the_opacity_function_keeps_the_cursor_and_is_taken_on_editing_finished(panel):
    edit = panel.widget.ui.opacityPointsLineEdit
    params = panel.parameters()
    params.opacityPoints = "4 0 0 20 1"
    assert edit.text == "4 0 0 20 1"
    edit.setCursorPosition(2)
    edit.insert("5")
    edit.insert("0")
    assert (edit.text, edit.cursorPosition) == ("4 500 0 20 1", 4)
    assert params.opacityPoints == "4 0 0 20 1"  # not yet taken
    panel.parameters().schemeB0Count = 3  # another parameter changes meanwhile: the typing stays
    assert (edit.text, edit.cursorPosition) == ("4 500 0 20 1", 4)
    edit.finishEditing()
    assert params.opacityPoints == "4 500 0 20 1"
    params.opacityPoints = "2 0 1"  # set elsewhere (Suggest, the console): shown
    assert edit.text == "2 0 1"


def test_apply_takes_text_not_yet_confirmed(panel):
    volume = slicer.util.addVolumeFromArray(np.arange(60, dtype=np.float32).reshape(3, 4, 5), name="v")
    panel.parameters().opacityVolume = volume
    edit = panel.widget.ui.opacityPointsLineEdit
    edit.insert("4 0 0 20 1")
    assert panel.widget.ui.opacityApplyButton.enabled
    panel.widget.ui.opacityApplyButton.click()
    display = panel.logic().volumeRenderingDisplayNode(volume)
    assert panel.logic().mrml.gradient_opacity_points(display) == [(0.0, 0.0), (20.0, 1.0)]
    assert panel.parameters().opacityPoints == "4 0 0 20 1"


# ------------------------------------------------------------------------------------------------
# the suppression slider (item 6)
# ------------------------------------------------------------------------------------------------


def test_suppression_slider_reaches_both_ends_of_its_range(panel):
    slider = panel.widget.ui.opacitySuppressionSlider
    assert (slider.minimum, slider.maximum, slider.decimals) == (0.25, 5.0, 2)
    for value in (slider.minimum, 0.3, 1.55, slider.maximum):
        slider.value = value
        assert panel.parameters().opacitySuppression == value
    assert not panel.errors


# ------------------------------------------------------------------------------------------------
# progress (item 7)
# ------------------------------------------------------------------------------------------------


def phantom_volume():
    image, _ = ct_phantom(shape=(16, 24, 24), noise_std=20.0, seed=3)
    return slicer.util.addVolumeFromArray(image, name="phantom")


def prepare_gradient(panel):
    panel.parameters().gradientInputVolume = phantom_volume()
    return panel.widget.ui.gradientApplyButton


def prepare_suggest(panel):
    panel.parameters().opacityVolume = phantom_volume()
    return panel.widget.ui.opacitySuggestButton


def prepare_generate(panel):
    panel.parameters().schemeShells = "1000:8"
    return panel.widget.ui.schemeGenerateButton


def start_generate(panel):
    prepare_generate(panel).click()


def start_suggest(panel):
    prepare_suggest(panel).click()


PREPARE = {"gradient": prepare_gradient, "suggest": prepare_suggest, "generate": prepare_generate}
MADE_BY = {"gradient": "vtkMRMLScalarVolumeNode", "suggest": "vtkMRMLPlotChartNode",
           "generate": "vtkMRMLMarkupsFiducialNode"}


def node_count(class_name):
    return slicer.mrmlScene.GetNumberOfNodesByClass(class_name)


def assert_released(panel):
    ui, params = panel.widget.ui, panel.parameters()
    assert not panel.widget.busy
    assert ui.schemeGenerateButton.enabled
    assert ui.gradientApplyButton.enabled == bool(params.gradientInputVolume)
    assert ui.opacitySuggestButton.enabled == bool(params.opacityVolume)
    for dialog in panel.dialogs:
        assert dialog.isHidden() and dialog.parent() is None
    assert panel.main_window.findChildren(qt_stand_ins.QProgressDialog) == []


@pytest.mark.parametrize("step", sorted(PREPARE))
def test_long_work_is_modal_and_runs_once(panel, step):
    ui = panel.widget.ui
    buttons = [prepare(panel) for prepare in PREPARE.values()]
    clicks = []

    def click_again():  # the user clicks every button again while the work runs
        clicks.append(tuple(button.enabled for button in buttons))
        for button in buttons:
            button.clicked.emit(False)  # even if it were not disabled

    panel.on_events.append(click_again)
    before = node_count(MADE_BY[step])
    {"gradient": ui.gradientApplyButton, "suggest": ui.opacitySuggestButton,
     "generate": ui.schemeGenerateButton}[step].click()
    panel.on_events.clear()
    assert clicks and set(clicks) == {(False, False, False)}
    assert len(panel.dialogs) == 1
    dialog = panel.dialogs[0]
    assert dialog.modalityWhenShown == qt_stand_ins.Qt.WindowModal
    assert dialog.values[-1] > 0
    assert node_count(MADE_BY[step]) == before + 1
    assert not panel.errors
    assert_released(panel)


@pytest.mark.parametrize("step", sorted(PREPARE))
@pytest.mark.parametrize("after_reports", [1, 3])
def test_cancel_stops_the_work_and_makes_nothing(panel, step, after_reports):
    button = PREPARE[step](panel)
    reports = panel.cancel_after(after_reports)
    counts = {name: node_count(name) for name in set(MADE_BY.values())}
    button.click()
    assert len(reports) == after_reports, "the work went on after Cancel"
    assert {name: node_count(name) for name in counts} == counts
    assert not panel.errors and panel.status[-1].endswith("cancelled")
    assert panel.parameters().gradientOutputVolume is None and panel.parameters().opacityChart is None
    assert panel.parameters().schemeReport == ""
    assert_released(panel)


def test_errors_are_shown_and_release_the_dialog(panel):
    label_map = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "labels")
    slicer.util.updateVolumeFromArray(label_map, np.zeros((3, 4, 5), np.uint8))
    panel.parameters().gradientInputVolume = label_map
    with pytest.raises(ValueError, match="label map"):  # tryWithErrorDisplay shows it, then re-raises
        panel.widget.ui.gradientApplyButton.click()
    assert len(panel.errors) == 1 and "label map" in panel.errors[0]
    assert_released(panel)


# ------------------------------------------------------------------------------------------------
# stale state (item 8) and the warnings label
# ------------------------------------------------------------------------------------------------


def table_text(table):
    return [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount)]


def test_bad_shell_cell_is_reverted_and_good_edits_are_kept(panel):
    table = panel.widget.ui.schemeShellsTable
    assert table_text(table) == [("1000", "30"), ("2000", "60")]
    with pytest.raises(ValueError):
        table.edit(1, 1, "many")
    assert panel.errors and table_text(table) == [("1000", "30"), ("2000", "60")]
    assert panel.parameters().schemeShells == "1000:30, 2000:60"
    with pytest.raises(ValueError):
        table.edit(1, 0, "1000")  # the same b-value twice
    assert table_text(table) == [("1000", "30"), ("2000", "60")]
    table.edit(1, 0, "3e3")
    assert panel.parameters().schemeShells == "1000:30, 3000:60"
    assert table_text(table) == [("1000", "30"), ("3000", "60")]
    with pytest.raises(ValueError):
        table.edit(0, 0, "")  # a shell without a b-value
    assert table_text(table) == [("1000", "30"), ("3000", "60")]
    table.setCurrentCell(0, 0)
    panel.widget.ui.schemeRemoveShellButton.click()
    assert panel.parameters().schemeShells == "3000:60" and table_text(table) == [("3000", "60")]
    assert len(panel.errors) == 3


def test_export_writes_the_scene_preview_and_refuses_after_a_scene_close(panel, tmp_path):
    start_generate(panel)
    shown = panel.logic().schemeFromScene()
    qt_stand_ins.QFileDialog.answers.append(str(tmp_path / "before"))
    panel.widget.ui.schemeExportButton.click()
    written = panel.logic().readScheme([str(tmp_path / "before.bval"), str(tmp_path / "before.bvec")])
    np.testing.assert_allclose(written.bvals, shown.bvals)
    np.testing.assert_allclose(written.bvecs, shown.bvecs, atol=1e-5)
    slicer.mrmlScene.Clear(0)
    assert panel.widget.ui.schemeReportTextEdit.toPlainText() == ""
    with pytest.raises(ValueError, match="no scheme preview"):
        panel.widget.ui.schemeExportButton.click()
    assert qt_stand_ins.QFileDialog.answers == [], "asked for a file name anyway"
    assert sorted(os.listdir(tmp_path)) == ["before.bval", "before.bvec"]


def test_report_is_not_rewritten_when_other_parameters_change(panel):
    start_generate(panel)
    report = panel.widget.ui.schemeReportTextEdit
    assert "1000" in report.toPlainText()
    writes = report.writes
    panel.widget.ui.schemeShowAntipodesCheckBox.checked = True
    panel.widget.ui.schemeB0CountSpinBox.value = 2
    assert report.writes == writes


def test_warnings_are_shown_beside_the_noise_estimate(panel):
    ui = panel.widget.ui
    real = panel.widget.logic.suggestGradientOpacity
    start_suggest(panel)
    assert ui.opacityNoiseLabel.text != "-"
    expected = list(getattr(real(panel.parameters().opacityVolume), "warnings", []))
    label = ui.opacityWarningsLabel
    assert (label.text, label.isHidden()) == ("\n".join(expected), not expected)

    def with_warnings(*args, **kwargs):
        suggestion = real(*args, **kwargs)
        suggestion.warnings = ["only 3 homogeneous blocks", "noise may be underestimated"]
        return suggestion

    panel.widget.logic.suggestGradientOpacity = with_warnings
    try:
        ui.opacitySuggestButton.click()
    finally:
        panel.widget.logic.suggestGradientOpacity = real
    assert ui.opacityWarningsLabel.text == "only 3 homogeneous blocks\nnoise may be underestimated"
    assert not ui.opacityWarningsLabel.isHidden()
    slicer.mrmlScene.Clear(0)
    assert (ui.opacityNoiseLabel.text, ui.opacityWarningsLabel.isHidden()) == ("-", True)


# ------------------------------------------------------------------------------------------------
# importing Siemens and GE files (item 9)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["siemens", "ge"])
def test_siemens_and_ge_files_import_with_b_max(panel, tmp_path, file_format):
    scheme = panel.logic().generateScheme([(1000, 6), (3000, 10)], b0Count=1, seed=4)
    written = write_scheme(scheme, str(tmp_path / "scheme"), file_format, keep_vectors=True)
    ui = panel.widget.ui
    qt_stand_ins.QFileDialog.answers.append(written)
    with pytest.raises(ValueError, match="b_max"):
        ui.schemeImportButton.click()
    assert node_count("vtkMRMLMarkupsFiducialNode") == 0
    ui.schemeImportBMaxSpinBox.value = 3000
    assert panel.parameters().schemeImportBMax == 3000.0
    qt_stand_ins.QFileDialog.answers.append(written)
    ui.schemeImportButton.click()
    imported = panel.logic().schemeFromScene()
    weighted = scheme.bvals > 50
    np.testing.assert_allclose(imported.bvals[imported.bvals > 50], scheme.bvals[weighted], rtol=1e-3)
    assert node_count("vtkMRMLMarkupsFiducialNode") == 2
