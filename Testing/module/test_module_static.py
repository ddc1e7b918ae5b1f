"""Static checks of the Slicer module and the extension packaging.

Slicer cannot run here, so what Slicer would only find at run time is checked by reading the files:
the module's widget names against the .ui, parameter bindings against the parameter-node class,
the logic's calls against the library, CMake lists against the folders, Python 3.9 syntax (Slicer
5.8 ships 3.9), and the ExtensionsIndex entry against the catalog schema's fields.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_DIR = os.path.join(ROOT, "GradientTools")
MODULE_PY = os.path.join(MODULE_DIR, "GradientTools.py")
UI_FILE = os.path.join(MODULE_DIR, "Resources", "UI", "GradientTools.ui")
LIB_DIR = os.path.join(ROOT, "GradientToolsLib")
INDEX_ENTRY = os.path.join(ROOT, "GradientTools.json")

# Widgets Slicer's designer plugins and CTK provide (Libs/MRML/Widgets/DesignerPlugins, CTK Widgets)
SLICER_CTK_WIDGETS = {
    "qMRMLWidget", "qMRMLNodeComboBox", "qMRMLPlotWidget", "qMRMLPlotView", "qMRMLSpinBox",
    "qMRMLSliderWidget", "qMRMLRangeWidget", "qMRMLCheckableNodeComboBox", "qMRMLCollapsibleButton",
    "qMRMLTableView", "qMRMLSubjectHierarchyComboBox", "qMRMLSubjectHierarchyTreeView",
    "ctkCollapsibleButton", "ctkCollapsibleGroupBox", "ctkSliderWidget", "ctkRangeWidget",
    "ctkDoubleSpinBox", "ctkPathLineEdit", "ctkDirectoryButton", "ctkCheckBox", "ctkComboBox",
    "ctkMenuButton", "ctkColorPickerButton",
}

# Which widget class binds to which parameter type in slicer.parameterNodeWrapper (guiConnection.py
# matches the exact class: type(widget) == ...; QComboBox needs a Choice annotation).
CONNECTORS = {
    "QCheckBox": {"bool"},
    "QPushButton": {"bool"},
    "QSpinBox": {"int"},
    "QSlider": {"int"},
    "QDoubleSpinBox": {"float"},
    "ctkSliderWidget": {"float"},
    "QComboBox": {"choice"},
    "QLineEdit": {"str"},
    "QTextEdit": {"str"},
    "ctkPathLineEdit": {"Path"},
    "ctkDirectoryButton": {"Path"},
    "qMRMLNodeComboBox": {"node"},
}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


@pytest.fixture(scope="module")
def module_tree():
    return ast.parse(read(MODULE_PY), filename=MODULE_PY)


@pytest.fixture(scope="module")
def ui_root():
    return ET.parse(UI_FILE).getroot()


def ui_widgets(ui_root):
    """objectName -> class of every widget in the .ui."""
    return {w.get("name"): w.get("class") for w in ui_root.iter("widget")}


def classes(tree):
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def self_attribute_uses(node, owner):
    """Names X in ``self.<owner>.X`` anywhere below ``node``."""
    names = set()
    for sub in ast.walk(node):
        if (isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Attribute)
                and isinstance(sub.value.value, ast.Name) and sub.value.value.id == "self"
                and sub.value.attr == owner):
            names.add(sub.attr)
    return names


def parameter_fields(tree):
    """Field name -> kind ("node", "choice", "bool", "int", "float", "str", "Path") of the wrapper class."""
    for cls in classes(tree).values():
        decorators = [d.id if isinstance(d, ast.Name) else getattr(d, "attr", "") for d in cls.decorator_list]
        if "parameterNodeWrapper" not in decorators:
            continue
        fields = {}
        for item in cls.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                annotation = ast.unparse(item.annotation)
                if "Choice(" in annotation:
                    kind = "choice"
                elif annotation.startswith("vtkMRML") or ".vtkMRML" in annotation:
                    kind = "node"
                else:
                    base = re.sub(r"^Annotated\[(\w+).*$", r"\1", annotation)
                    kind = base.split(".")[-1]
                fields[item.target.id] = kind
        return cls.name, fields
    raise AssertionError("no @parameterNodeWrapper class in GradientTools.py")


# ------------------------------------------------------------------------------------------------
# module file
# ------------------------------------------------------------------------------------------------


def test_module_folder_holds_only_the_module_script():
    scripts = sorted(f for f in os.listdir(MODULE_DIR) if f.endswith(".py"))
    assert scripts == ["GradientTools.py"], "Slicer takes every .py in the module folder as a module"


def test_module_parses_as_python_3_9():
    ast.parse(read(MODULE_PY), filename=MODULE_PY, feature_version=(3, 9))


def test_module_has_the_template_classes(module_tree):
    found = classes(module_tree)
    bases = {name: [ast.unparse(b) for b in cls.bases] for name, cls in found.items()}
    assert bases["GradientTools"] == ["ScriptedLoadableModule"]
    assert bases["GradientToolsWidget"] == ["ScriptedLoadableModuleWidget", "VTKObservationMixin"]
    assert bases["GradientToolsLogic"] == ["ScriptedLoadableModuleLogic"]
    assert bases["GradientToolsTest"] == ["ScriptedLoadableModuleTest"]
    assert parameter_fields(module_tree)[0] == "GradientToolsParameterNode"
    test_methods = [f.name for f in found["GradientToolsTest"].body
                    if isinstance(f, ast.FunctionDef) and f.name.startswith("test_")]
    assert len(test_methods) >= 3
    run_test = next(f for f in found["GradientToolsTest"].body if getattr(f, "name", "") == "runTest")
    called = {n.attr for n in ast.walk(run_test) if isinstance(n, ast.Attribute)}
    assert set(test_methods) <= called, "runTest must call every test_ method"
    assert "urlretrieve" not in read(MODULE_PY) and "SampleData" not in read(MODULE_PY)


def test_module_does_not_need_matplotlib_or_pip(module_tree):
    imported = set()
    for node in ast.walk(module_tree):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "matplotlib" not in imported and "pip" not in imported
    assert "pip_install" not in read(MODULE_PY)


def test_every_ui_attribute_used_exists_in_the_ui(module_tree, ui_root):
    used = self_attribute_uses(module_tree, "ui")
    widgets = ui_widgets(ui_root)
    missing = sorted(used - set(widgets))
    assert not missing, f"self.ui names missing from GradientTools.ui: {missing}"
    assert len(used) >= 10


def test_parameter_bindings_match_fields_and_widget_types(module_tree, ui_root):
    _, fields = parameter_fields(module_tree)
    bound = {}
    for widget in ui_root.iter("widget"):
        for prop in widget.findall("property"):
            if prop.get("name") == "SlicerParameterName":
                assert prop.get("stdset") == "0", "dynamic properties need stdset=0"
                name = prop.find("string").text
                assert name not in bound, f"{name} bound to two widgets"
                bound[name] = widget.get("class")
    assert bound, "no SlicerParameterName in the .ui"
    unknown = sorted(set(bound) - set(fields))
    assert not unknown, f"SlicerParameterName without a parameter field: {unknown}"
    for name, widget_class in bound.items():
        assert widget_class in CONNECTORS, f"{name}: no parameter connector for {widget_class}"
        assert fields[name] in CONNECTORS[widget_class], \
            f"{name}: a {widget_class} cannot hold a {fields[name]} parameter"
    # every parameter the user edits is bound; the chart is internal state and the shells are
    # edited in a QTableWidget (no parameter connector exists for tables) that the widget syncs
    unbound = sorted(set(fields) - set(bound) - {"opacityChart", "schemeShells"})
    assert not unbound, f"parameters without a widget: {unbound}"


def test_parameter_fields_used_in_the_widget_exist(module_tree):
    _, fields = parameter_fields(module_tree)
    used = set()
    for node in ast.walk(module_tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "p"):
            used.add(node.attr)
    used |= self_attribute_uses(module_tree, "_parameterNode")
    used -= {"connectGui", "disconnectGui"}
    missing = sorted(used - set(fields))
    assert not missing, f"parameter fields used but not declared: {missing}"


def test_widget_calls_only_existing_logic_methods_and_logic_only_existing_library_functions(module_tree):
    import GradientToolsLib.mrml as mrml

    found = classes(module_tree)
    logic_methods = {f.name for f in found["GradientToolsLogic"].body if isinstance(f, ast.FunctionDef)}
    logic_methods |= {"getParameterNode"}
    widget_calls = self_attribute_uses(found["GradientToolsWidget"], "logic")
    widget_calls |= {n.attr for n in ast.walk(found["GradientToolsTest"]) if isinstance(n, ast.Attribute)
                     and isinstance(n.value, ast.Name) and n.value.id == "logic"}
    widget_calls -= {"mrml", "lib"}
    missing = sorted(widget_calls - logic_methods)
    assert not missing, f"logic methods called but not defined: {missing}"
    mrml_calls = self_attribute_uses(module_tree, "mrml")
    mrml_calls |= {n.attr for n in ast.walk(module_tree) if isinstance(n, ast.Attribute)
                   and isinstance(n.value, ast.Attribute) and n.value.attr == "mrml"
                   and isinstance(n.value.value, ast.Name) and n.value.value.id == "logic"}
    missing = sorted(name for name in mrml_calls if not hasattr(mrml, name))
    assert not missing, f"GradientToolsLib.mrml has no {missing}"


def test_library_imports_of_the_module_exist(module_tree):
    import importlib

    for node in ast.walk(module_tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("GradientToolsLib"):
            for alias in node.names:
                target = importlib.import_module(node.module)
                if not hasattr(target, alias.name):
                    importlib.import_module(f"{node.module}.{alias.name}")


def test_slots_catch_errors_with_try_with_error_display(module_tree):
    widget = classes(module_tree)["GradientToolsWidget"]
    slots = [f for f in widget.body if isinstance(f, ast.FunctionDef) and f.name.startswith("on")
             and f.name not in ("onSceneStartClose", "onSceneEndClose", "onAddShell", "onRemoveShell")]
    assert len(slots) >= 7
    for slot in slots:
        assert "tryWithErrorDisplay" in ast.unparse(slot), f"{slot.name} does not use tryWithErrorDisplay"


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


def test_ui_has_the_three_sections(ui_root):
    sections = [w for w in ui_root.iter("widget") if w.get("class") == "ctkCollapsibleButton"]
    titles = [w.find("property[@name='text']/string").text for w in sections]
    assert titles == ["Gradient magnitude", "Gradient opacity", "Diffusion scheme"]
    classes_in = {w.get("class") for w in ui_root.iter("widget")}
    assert {"qMRMLPlotWidget", "QTableWidget", "qMRMLNodeComboBox"} <= classes_in
    node_combos = [w for w in ui_root.iter("widget") if w.get("class") == "qMRMLNodeComboBox"]
    receivers = {c.find("receiver").text for c in ui_root.iter("connection")
                 if c.find("slot").text == "setMRMLScene(vtkMRMLScene*)"}
    assert {w.get("name") for w in node_combos} <= receivers, "node selectors must receive the scene"


# ------------------------------------------------------------------------------------------------
# CMake lists and packaging
# ------------------------------------------------------------------------------------------------


def cmake_list(path, variable):
    text = read(path)
    match = re.search(r"set\(\s*" + variable + r"\s+(.*?)\)", text, re.S)
    assert match, f"{variable} not set in {path}"
    return [line.split("#")[0].strip() for line in match.group(1).splitlines() if line.split("#")[0].strip()]


def test_every_library_file_is_listed_and_every_listed_file_exists():
    listed = cmake_list(os.path.join(LIB_DIR, "CMakeLists.txt"), "GRADIENTTOOLSLIB_PYTHON_SCRIPTS")
    on_disk = set()
    for folder, dirs, files in os.walk(LIB_DIR):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                on_disk.add(os.path.relpath(os.path.join(folder, name), LIB_DIR).replace(os.sep, "/"))
    missing = sorted(on_disk - set(listed))
    absent = sorted(set(listed) - on_disk)
    assert not missing, f"add to GradientToolsLib/CMakeLists.txt: {missing}"
    assert not absent, f"listed in GradientToolsLib/CMakeLists.txt but missing (configure fails): {absent}"
    assert len(listed) == len(set(listed))


def test_module_cmake_lists_scripts_and_resources_that_exist():
    cmake = os.path.join(MODULE_DIR, "CMakeLists.txt")
    text = read(cmake)
    scripts = [s.replace("${MODULE_NAME}", "GradientTools")
               for s in cmake_list(cmake, "MODULE_PYTHON_SCRIPTS")]
    resources = [s.replace("${MODULE_NAME}", "GradientTools")
                 for s in cmake_list(cmake, "MODULE_PYTHON_RESOURCES")]
    assert scripts == ["GradientTools.py"]
    for path in scripts + resources:
        assert os.path.isfile(os.path.join(MODULE_DIR, path)), path
    on_disk = set()
    for folder, _, files in os.walk(os.path.join(MODULE_DIR, "Resources")):
        on_disk.update(os.path.relpath(os.path.join(folder, f), MODULE_DIR).replace(os.sep, "/")
                       for f in files)
    assert on_disk <= set(resources), f"resources not installed: {sorted(on_disk - set(resources))}"
    assert "slicerMacroBuildScriptedModule" in text and "WITH_GENERIC_TESTS" in text
    assert "slicer_add_python_unittest(SCRIPT ${MODULE_NAME}.py)" in text
    assert "set(MODULE_NAME GradientTools)" in text


def png_size(path):
    with open(path, "rb") as f:
        header = f.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_top_level_cmake_metadata_and_urls_point_into_the_repository():
    text = read(os.path.join(ROOT, "CMakeLists.txt"))
    assert re.search(r"^project\(GradientTools\)", text, re.M)
    assert re.search(r"^cmake_minimum_required\(", text, re.M)
    values = dict(re.findall(r'^set\((EXTENSION_\w+)\s+"([^"]*)"\)', text, re.M))
    for key in ("EXTENSION_HOMEPAGE", "EXTENSION_CATEGORY", "EXTENSION_CONTRIBUTORS", "EXTENSION_DESCRIPTION",
                "EXTENSION_ICONURL", "EXTENSION_SCREENSHOTURLS", "EXTENSION_DEPENDS"):
        assert values.get(key), f"{key} missing"
    raw = "https://raw.githubusercontent.com/gradienttools/SlicerGradientTools/main/"
    urls = [values["EXTENSION_ICONURL"]] + values["EXTENSION_SCREENSHOTURLS"].split()
    assert len(urls) >= 3
    for url in urls:
        assert url.startswith(raw), url
        local = os.path.join(ROOT, url[len(raw):])
        assert os.path.isfile(local), f"{url} has no file {local}"
        png_size(local)
    assert png_size(os.path.join(ROOT, values["EXTENSION_ICONURL"][len(raw):])) == (128, 128)
    for needed in ("find_package(Slicer REQUIRED)", "include(${Slicer_USE_FILE})",
                   "add_subdirectory(GradientTools)", "add_subdirectory(GradientToolsLib)",
                   "include(${Slicer_EXTENSION_GENERATE_CONFIG})", "include(${Slicer_EXTENSION_CPACK})"):
        assert needed in text, needed
    assert values["EXTENSION_CATEGORY"] == json.loads(read(INDEX_ENTRY))["category"]
    assert os.path.isfile(os.path.join(ROOT, "LICENSE.txt"))


def test_module_icon_is_128_pixels():
    assert png_size(os.path.join(MODULE_DIR, "Resources", "Icons", "GradientTools.png")) == (128, 128)


# Fields of Slicer's catalog-entry schema (Schemas/slicer-extension-catalog-entry-schema-v1.0.x.json)
SCHEMA_FIELDS = {
    "$schema": str, "category": str, "scm_url": str, "scm_revision": str, "scm_type": str,
    "build_dependencies": list, "dicom_support_rule": str, "build_subdirectory": str, "enabled": bool,
    "tier": int,
}


def test_extensions_index_entry_validates_against_the_schema_fields():
    raw = read(INDEX_ENTRY)
    assert "\r" not in raw, "the index wants LF line endings"
    entry = json.loads(raw)
    assert {"$schema", "category", "scm_url"} <= set(entry)
    assert set(entry) <= set(SCHEMA_FIELDS), f"not in the schema: {set(entry) - set(SCHEMA_FIELDS)}"
    for key, value in entry.items():
        assert isinstance(value, SCHEMA_FIELDS[key]), key
        assert not (SCHEMA_FIELDS[key] is int and isinstance(value, bool)), key
    assert re.fullmatch(r"https://raw\.githubusercontent\.com/Slicer/Slicer/main/Schemas/"
                        r"slicer-extension-catalog-entry-schema-v1\.0\.\d\.json#", entry["$schema"])
    assert all(isinstance(d, str) for d in entry["build_dependencies"])
    assert 1 <= entry["tier"] <= 5
    assert entry.get("scm_type", "git") in ("git", "local")
    assert entry["scm_url"].endswith(".git")
    # the file name is the extension name, which is the CMake project name and not "Slicer..."
    name = os.path.splitext(os.path.basename(INDEX_ENTRY))[0]
    assert not name.lower().startswith("slicer")
    assert f"project({name})" in read(os.path.join(ROOT, "CMakeLists.txt"))


def test_cmake_and_index_files_use_lf_line_endings():
    for path in (os.path.join(ROOT, "CMakeLists.txt"), os.path.join(MODULE_DIR, "CMakeLists.txt"),
                 os.path.join(LIB_DIR, "CMakeLists.txt"), INDEX_ENTRY, UI_FILE, MODULE_PY):
        assert b"\r" not in open(path, "rb").read(), path


# ------------------------------------------------------------------------------------------------
# Python versions
# ------------------------------------------------------------------------------------------------


def test_library_and_module_pass_vermin_for_python_3_9():
    vermin = shutil.which("vermin", path=os.path.dirname(sys.executable)) or shutil.which("vermin")
    assert vermin, "vermin is in the test extra: pip install -e '.[test]'"
    result = subprocess.run([vermin, "-t=3.9-", "--no-tips", "--violations", "--eval-annotations",
                             LIB_DIR, MODULE_PY], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_library_file_parses_as_python_3_9():
    for folder, dirs, files in os.walk(LIB_DIR):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                ast.parse(read(path), filename=path, feature_version=(3, 9))


# ------------------------------------------------------------------------------------------------
# the parameter class itself, when slicer.parameterNodeWrapper is available (inside Slicer only)
# ------------------------------------------------------------------------------------------------


def test_parameter_wrapper_availability_is_known():
    """slicer-core has no parameterNodeWrapper (it needs Qt); if a later wheel adds it, instantiate."""
    import importlib.util

    slicer = pytest.importorskip("slicer")
    if importlib.util.find_spec("slicer.parameterNodeWrapper") is None:
        assert not hasattr(slicer, "parameterNodeWrapper")
        return
    from slicer.parameterNodeWrapper import parameterNodeWrapper  # pragma: no cover - not in slicer-core

    namespace = {}
    tree = ast.parse(read(MODULE_PY))
    wrapper = classes(tree)["GradientToolsParameterNode"]
    code = "from typing import Annotated\nfrom slicer import *\nfrom slicer.parameterNodeWrapper import *\n"
    exec(compile(code + ast.unparse(wrapper), MODULE_PY, "exec"), namespace)
    scene = slicer.vtkMRMLScene()
    node = scene.AddNewNodeByClass("vtkMRMLScriptedModuleNode")
    params = namespace["GradientToolsParameterNode"](node)
    assert params.gradientMethod == "central"
    assert parameterNodeWrapper is not None
