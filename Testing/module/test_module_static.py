"""Static checks of the Slicer module file and its .ui (the packaging: test_extension_metadata.py).

Slicer cannot run here, so what Slicer would only find at run time is checked by reading the files:
the module's widget names against the .ui, parameter bindings against the parameter-node class and
the widget connectors of Slicer 5.8.1 and 5.10.0 (Base/Python/slicer/parameterNodeWrapper), widget
ranges against CTK's rounding, the logic's calls against the library, and Python 3.9 syntax (Slicer
5.8 ships 3.9).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from module_source import (
    LIB_DIR,
    MODULE_DIR,
    MODULE_PY,
    PANEL_DIR,
    UI_FILE,
    bound_widgets,
    classes,
    methods,
    module_files,
    module_source,
    panel_choices,
    parameter_fields,
    read,
    self_attribute_uses,
    ui_property,
    ui_widgets,
)

# Widgets Slicer's designer plugins and CTK provide (Libs/MRML/Widgets/DesignerPlugins, CTK Widgets)
SLICER_CTK_WIDGETS = {
    "qMRMLWidget", "qMRMLNodeComboBox", "qMRMLPlotWidget", "qMRMLPlotView", "qMRMLSpinBox",
    "qMRMLSliderWidget", "qMRMLRangeWidget", "qMRMLCheckableNodeComboBox", "qMRMLCollapsibleButton",
    "qMRMLTableView", "qMRMLSubjectHierarchyComboBox", "qMRMLSubjectHierarchyTreeView",
    "ctkCollapsibleButton", "ctkCollapsibleGroupBox", "ctkSliderWidget", "ctkRangeWidget",
    "ctkDoubleSpinBox", "ctkPathLineEdit", "ctkDirectoryButton", "ctkCheckBox", "ctkComboBox",
    "ctkMenuButton", "ctkColorPickerButton",
}

# Which widget class binds to which parameter type in slicer.parameterNodeWrapper (guiConnectors.py
# of v5.8.1 and v5.10.0 matches the exact class: type(widget) == ...). Combo boxes hold enums here:
# the enum connector shows label() (translatable) and stores the member name; the Choice connector
# would show the stored strings themselves. QLineEdit is left out on purpose: 5.8.1's connector
# rewrites the text on every change, moving the cursor to the end (upstream issue 8620).
CONNECTORS = {
    "QCheckBox": {"bool"},
    "QSpinBox": {"int"},
    "QDoubleSpinBox": {"float"},
    "ctkSliderWidget": {"float"},
    "QComboBox": {"enum"},
    "QTextEdit": {"str"},
    "qMRMLNodeComboBox": {"node"},
}
# Parameters the sections sync themselves instead of binding them (see GradientToolsParameterNode)
SYNCED_BY_THE_MODULE = {"opacityChart", "schemeShells", "opacityPoints", "schemeReport"}
# ctkSliderWidget and QDoubleSpinBox show 2 decimals unless the .ui says otherwise
DEFAULT_DECIMALS = 2


@pytest.fixture(scope="module")
def module_tree():
    """The module file and its panel package as one tree (module_source.module_tree)."""
    from module_source import module_tree as tree

    return tree()


@pytest.fixture(scope="module")
def ui_root():
    return ET.parse(UI_FILE).getroot()


def panel_classes(tree):
    """The widget class and its section classes (everything that handles the panel's signals)."""
    found = classes(tree)
    sections = [cls for cls in found.values() if any(ast.unparse(b) == "PanelSection" for b in cls.bases)]
    return [found["GradientToolsWidget"]] + sections


# ------------------------------------------------------------------------------------------------
# module file
# ------------------------------------------------------------------------------------------------


def test_module_folder_holds_only_the_module_script():
    scripts = sorted(f for f in os.listdir(MODULE_DIR) if f.endswith(".py"))
    assert scripts == ["GradientTools.py"], "Slicer takes every .py in the module folder as a module"


def test_panel_package_is_imported_afresh_and_every_section_is_in_the_panel():
    """Slicer's Reload runs GradientTools.py again but keeps imported modules: the module file drops
    the panel package from sys.modules before importing it, every package module is imported by the
    module file or another package module, and every PanelSection subclass is one of the sections."""
    module = ast.parse(read(MODULE_PY))
    statements = [ast.unparse(node) for node in module.body]
    first_import = next(i for i, s in enumerate(statements) if s.startswith("from GradientToolsPanel"))
    assert "_forgetPanelPackage()" in statements[:first_import]
    imported = set()
    for path in module_files():
        for node in ast.walk(ast.parse(read(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[-1])
    package = {os.path.splitext(name)[0] for name in os.listdir(PANEL_DIR) if name.endswith(".py")}
    assert package - {"__init__"} <= imported, f"never imported: {package - imported - {'__init__'}}"
    tree = ast.parse(module_source())
    sections = {cls.name for cls in panel_classes(tree)} - {"GradientToolsWidget"}
    setup = ast.unparse(methods(classes(ast.parse(read(MODULE_PY)))["GradientToolsWidget"])["setup"])
    assert all(f"{name}(self)" in setup for name in sections), sections


def test_module_computes_nothing():
    """The module file and its sections hand all computing to the logic and GradientToolsLib:
    numpy and scipy are imported only by the in-Slicer tests (GradientToolsTest)."""
    tree = ast.parse(read(MODULE_PY))
    tests = classes(tree)["GradientToolsTest"]
    allowed = {id(node) for node in ast.walk(tests)}
    numerical = ("numpy", "scipy", "math", "vtk.util.numpy_support")
    found = []
    for path in module_files():
        source_tree = tree if path == MODULE_PY else ast.parse(read(path))
        for node in ast.walk(source_tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in allowed:
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                found += [f"{os.path.basename(path)}:{node.lineno} {n}" for n in names
                          if n.split(".")[0] in numerical or n in numerical]
    assert not found, found


def test_module_parses_as_python_3_9():
    for path in module_files():
        ast.parse(read(path), filename=path, feature_version=(3, 9))


def test_module_has_the_template_classes(module_tree):
    found = classes(module_tree)
    bases = {name: [ast.unparse(b) for b in cls.bases] for name, cls in found.items()}
    assert bases["GradientTools"] == ["ScriptedLoadableModule"]
    assert bases["GradientToolsWidget"] == ["ScriptedLoadableModuleWidget", "VTKObservationMixin"]
    assert bases["GradientToolsLogic"] == ["ScriptedLoadableModuleLogic"]
    assert bases["GradientToolsTest"] == ["ScriptedLoadableModuleTest"]
    assert parameter_fields(module_tree)[0] == "GradientToolsParameterNode"
    assert len(panel_classes(module_tree)) == 5, "the widget and one PanelSection per section"
    test_methods = [f.name for f in found["GradientToolsTest"].body
                    if isinstance(f, ast.FunctionDef) and f.name.startswith("test_")]
    assert len(test_methods) >= 8
    run_test = methods(found["GradientToolsTest"])["runTest"]
    called = {n.attr for n in ast.walk(run_test) if isinstance(n, ast.Attribute)}
    assert set(test_methods) <= called, "runTest must call every test_ method"
    assert "urlretrieve" not in module_source() and "SampleData" not in module_source()


def test_module_does_not_need_matplotlib_or_pip(module_tree):
    imported = set()
    for node in ast.walk(module_tree):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "matplotlib" not in imported and "pip" not in imported
    assert "pip_install" not in module_source()


def test_every_ui_attribute_used_exists_in_the_ui(module_tree, ui_root):
    used = self_attribute_uses(module_tree, "ui")
    used |= {n.attr for n in ast.walk(module_tree) if isinstance(n, ast.Attribute)
             and isinstance(n.value, ast.Attribute) and n.value.attr == "ui"}
    buttons = {k.arg for n in ast.walk(module_tree) if isinstance(n, ast.Call)
               and ast.unparse(n.func) == "self.connectButtons" for k in n.keywords}
    assert len(buttons) >= 9
    used |= buttons
    widgets = ui_widgets(ui_root)
    missing = sorted(used - set(widgets))
    assert not missing, f"ui names missing from GradientTools.ui: {missing}"
    assert len(used) >= 10


def test_parameter_bindings_match_fields_and_widget_types(module_tree, ui_root):
    _, fields, _, _ = parameter_fields(module_tree)
    bound = {name: widget.get("class") for name, widget in bound_widgets(ui_root).items()}
    assert bound, "no SlicerParameterName in the .ui"
    unknown = sorted(set(bound) - set(fields))
    assert not unknown, f"SlicerParameterName without a parameter field: {unknown}"
    for name, widget_class in bound.items():
        assert widget_class in CONNECTORS, f"{name}: no usable parameter connector for {widget_class}"
        assert fields[name] in CONNECTORS[widget_class], \
            f"{name}: a {widget_class} cannot hold a {fields[name]} parameter"
    assert not set(bound) & SYNCED_BY_THE_MODULE
    unbound = sorted(set(fields) - set(bound) - SYNCED_BY_THE_MODULE)
    assert not unbound, f"parameters without a widget: {unbound}"


def test_bindings_use_the_tag_slicer_5_8_returns(module_tree):
    """5.8.1's connectGui returns None (fixed in 5.10.0 by b5a65a49a0): disconnectGui(None) then
    disconnects nothing; connectParametersToGui returns its tag on both."""
    calls = {n.func.attr for n in ast.walk(module_tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Attribute)}
    assert "connectGui" not in calls
    assert "connectParametersToGui" in calls and "disconnectGui" in calls
    source = ast.unparse(methods(classes(module_tree)["GradientToolsWidget"])["setParameterNode"])
    assert "self._parameterNodeGuiTag = self._parameterNode.connectParametersToGui(" in source
    assert "disconnectGui(self._parameterNodeGuiTag)" in source


def test_slider_and_spin_box_ranges_are_exact_at_their_decimals(module_tree, ui_root):
    """CTK and Qt round minimum, maximum and value to ``decimals``: a WithinRange bound or default
    that is not exact at that precision cannot be reached, or its rounded value fails the check."""
    _, fields, ranges, defaults = parameter_fields(module_tree)
    checked = 0
    for name, widget in bound_widgets(ui_root).items():
        if fields[name] not in ("float", "int"):
            continue
        assert name in ranges, f"{name}: a bounded widget needs WithinRange"
        low, high = ranges[name]
        decimals = 0 if fields[name] == "int" else ui_property(widget, "decimals")
        decimals = DEFAULT_DECIMALS if decimals is None else decimals
        default = float(eval(defaults[name]))
        for label, value in (("minimum", low), ("maximum", high), ("default", default)):
            assert float(f"{value:.{decimals}f}") == value, f"{name}: {label} {value} at {decimals} decimals"
        for label, value in (("minimum", low), ("maximum", high)):
            in_ui = ui_property(widget, label)
            assert in_ui is None or in_ui == value, f"{name}: .ui {label} {in_ui} but WithinRange {value}"
        step = ui_property(widget, "singleStep")
        if step is not None:
            assert abs(step * 10**decimals - round(step * 10**decimals)) < 1e-9, f"{name}: step {step}"
        assert low <= default <= high
        checked += 1
    assert checked >= 5


def test_combo_boxes_show_translatable_labels(module_tree, ui_root):
    """Display text separate from the stored value: each combo box holds a PanelChoice enum, whose
    label() comes from _choiceLabels(), a _()-translated text for every member; the .ui lists no items."""
    _, fields, _, _ = parameter_fields(module_tree)
    choices = panel_choices(module_tree)
    combos = {name: widget for name, widget in bound_widgets(ui_root).items()
              if widget.get("class") == "QComboBox"}
    assert len(combos) >= 6 and all(fields[name] == "enum" for name in combos)
    for widget in combos.values():
        assert widget.find("item") is None, f"{widget.get('name')}: items come from the enum"
    labels = next(n for n in ast.walk(module_tree)
                  if isinstance(n, ast.FunctionDef) and n.name == "_choiceLabels")
    table = next(n for n in ast.walk(labels) if isinstance(n, ast.Dict))
    members = {f"{enum}.{member}" for enum, pairs in choices.items() for member, _value in pairs}
    assert {ast.unparse(key) for key in table.keys} == members
    for text in table.values:
        assert isinstance(text, ast.Call) and ast.unparse(text.func) == "_", ast.unparse(text)
    assert len({ast.literal_eval(text.args[0]) for text in table.values}) == len(members)


def test_parameter_fields_used_in_the_widget_exist(module_tree):
    _, fields, _, _ = parameter_fields(module_tree)
    used = set()
    for node in ast.walk(module_tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "p"):
            used.add(node.attr)
    used |= self_attribute_uses(module_tree, "_parameterNode")
    used |= self_attribute_uses(module_tree, "parameterNode")
    used -= {"connectParametersToGui", "disconnectGui"}
    missing = sorted(used - set(fields))
    assert not missing, f"parameter fields used but not declared: {missing}"


def test_widget_calls_only_existing_logic_methods_and_logic_only_existing_library_functions(module_tree):
    import GradientToolsLib
    import GradientToolsLib.mrml as mrml

    found = classes(module_tree)
    logic_methods = set(methods(found["GradientToolsLogic"])) | {"getParameterNode"}
    calls = set()
    for cls in panel_classes(module_tree):
        calls |= self_attribute_uses(cls, "logic")
    calls |= {n.attr for n in ast.walk(found["GradientToolsTest"]) if isinstance(n, ast.Attribute)
              and isinstance(n.value, ast.Name) and n.value.id == "logic"}
    calls -= {"mrml", "lib"}
    missing = sorted(calls - logic_methods)
    assert not missing, f"logic methods called but not defined: {missing}"
    mrml_calls = {n.attr for n in ast.walk(module_tree) if isinstance(n, ast.Attribute)
                  and isinstance(n.value, ast.Attribute) and n.value.attr == "mrml"}
    missing = sorted(name for name in mrml_calls if not hasattr(mrml, name))
    assert not missing, f"GradientToolsLib.mrml has no {missing}"
    lib_calls = {n.attr for n in ast.walk(module_tree) if isinstance(n, ast.Attribute)
                 and isinstance(n.value, ast.Attribute) and n.value.attr == "lib"}
    missing = sorted(name for name in lib_calls if not hasattr(GradientToolsLib, name))
    assert not missing, f"GradientToolsLib has no {missing}"


def test_library_imports_of_the_module_exist(module_tree):
    import importlib

    for node in ast.walk(module_tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("GradientToolsLib"):
            for alias in node.names:
                target = importlib.import_module(node.module)
                if not hasattr(target, alias.name):
                    importlib.import_module(f"{node.module}.{alias.name}")


def test_slots_catch_errors_and_long_work_is_modal_and_cancellable(module_tree):
    exempt = {"onSceneStartClose", "onSceneEndClose", "onSceneEndImport", "onAddShell", "onRemoveShell"}
    slots = [f for cls in panel_classes(module_tree) for f in cls.body
             if isinstance(f, ast.FunctionDef) and f.name.startswith("on") and f.name not in exempt]
    assert len(slots) >= 9
    for slot in slots:
        source = ast.unparse(slot)
        assert "tryWithErrorDisplay" in source or "runLongWork" in source, \
            f"{slot.name} does not catch errors"
        if "progress=progress" in source:
            assert "runLongWork" in source, f"{slot.name}: long work needs the modal, cancellable dialog"
    run = ast.unparse(methods(classes(module_tree)["GradientToolsWidget"])["runLongWork"])
    for needed in ("tryWithErrorDisplay", "windowModality=qt.Qt.WindowModal", "OperationCancelled",
                   "setParent(None)", "if self._busy"):
        assert needed in run, needed


def test_running_from_source_adds_the_extension_root(module_tree):
    source = read(MODULE_PY)
    assert "os.path.dirname(os.path.dirname(os.path.abspath(__file__)))" in source
    assert os.path.isdir(os.path.join(os.path.dirname(MODULE_DIR), "GradientToolsLib"))


# ------------------------------------------------------------------------------------------------
# .ui file
# ------------------------------------------------------------------------------------------------


def test_ui_is_well_formed_with_known_custom_widgets(ui_root):
    assert ui_root.tag == "ui"
    top = ui_root.find("widget")
    assert top.get("class") == "qMRMLWidget" and top.get("name") == "GradientTools"
    declared = {c.find("class").text for c in ui_root.iter("customwidget")}
    assert declared <= SLICER_CTK_WIDGETS, f"unknown custom widgets: {declared - SLICER_CTK_WIDGETS}"
    for name, widget_class in ui_widgets(ui_root).items():
        assert widget_class in declared or re.fullmatch(r"Q[A-Z]\w+", widget_class), \
            f"{name}: class {widget_class} is neither Qt nor declared"
    names = [w.get("name") for w in ui_root.iter("widget")]
    assert len(names) == len(set(names)), "duplicate objectName in the .ui"
    for connection in ui_root.iter("connection"):
        assert connection.find("sender").text in names and connection.find("receiver").text in names


def test_ui_has_the_four_sections(ui_root):
    sections = [w for w in ui_root.iter("widget") if w.get("class") == "ctkCollapsibleButton"]
    titles = [w.find("property[@name='text']/string").text for w in sections]
    assert titles == ["Gradient magnitude", "Gradient opacity", "Diffusion scheme", "Gradient table check"]
    classes_in = {w.get("class") for w in ui_root.iter("widget")}
    assert {"qMRMLPlotWidget", "QTableWidget", "qMRMLNodeComboBox"} <= classes_in
    node_combos = [w for w in ui_root.iter("widget") if w.get("class") == "qMRMLNodeComboBox"]
    receivers = {c.find("receiver").text for c in ui_root.iter("connection")
                 if c.find("slot").text == "setMRMLScene(vtkMRMLScene*)"}
    assert {w.get("name") for w in node_combos} <= receivers, "node selectors must receive the scene"


# ------------------------------------------------------------------------------------------------
# Python versions
# ------------------------------------------------------------------------------------------------


def test_library_and_module_pass_vermin_for_python_3_9():
    vermin = shutil.which("vermin", path=os.path.dirname(sys.executable)) or shutil.which("vermin")
    assert vermin, "vermin is in the test extra: pip install -e '.[test]'"
    result = subprocess.run([vermin, "-t=3.9-", "--no-tips", "--violations", "--eval-annotations",
                             LIB_DIR, MODULE_PY, PANEL_DIR], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_library_file_parses_as_python_3_9():
    for folder, dirs, files in os.walk(LIB_DIR):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                ast.parse(read(path), filename=path, feature_version=(3, 9))


def test_slicer_core_has_no_parameter_node_wrapper():
    """The panel tests use a stand-in for slicer.parameterNodeWrapper because slicer-core lacks it
    (it needs Qt); if a wheel ever ships it, test against the real one instead."""
    slicer = pytest.importorskip("slicer")
    package = os.path.dirname(slicer.__file__)
    assert not os.path.exists(os.path.join(package, "parameterNodeWrapper"))
    assert not os.path.exists(os.path.join(package, "parameterNodeWrapper.py"))
