"""Reading the Slicer module and the extension files as text (shared by the static tests)."""

from __future__ import annotations

import ast
import os
import re
import struct
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_DIR = os.path.join(ROOT, "GradientTools")
MODULE_PY = os.path.join(MODULE_DIR, "GradientTools.py")
#: the package of the panel's sections and choices, beside the module file
PANEL_DIR = os.path.join(MODULE_DIR, "GradientToolsPanel")
UI_FILE = os.path.join(MODULE_DIR, "Resources", "UI", "GradientTools.ui")
LIB_DIR = os.path.join(ROOT, "GradientToolsLib")
INDEX_ENTRY = os.path.join(ROOT, "GradientTools.json")
TOP_CMAKE = os.path.join(ROOT, "CMakeLists.txt")
README = os.path.join(ROOT, "README.md")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def panel_package_files():
    """The .py files of the GradientToolsPanel package, sorted, relative to the module folder."""
    return sorted(os.path.join("GradientToolsPanel", name).replace(os.sep, "/")
                  for name in os.listdir(PANEL_DIR) if name.endswith(".py"))


def module_files():
    """The module file and the panel package's files (absolute paths): the module's Python code."""
    return [MODULE_PY] + [os.path.join(MODULE_DIR, name) for name in panel_package_files()]


def module_source():
    """The text of every file of :func:`module_files`, one after the other."""
    return "\n".join(read(path) for path in module_files())


def module_tree():
    """One ast.Module holding the top-level statements of every file of :func:`module_files` (the
    module file first), so the static checks see the module and its sections as one."""
    body = []
    for path in module_files():
        body.extend(ast.parse(read(path), filename=path).body)
    return ast.Module(body=body, type_ignores=[])


def ui_root():
    return ET.parse(UI_FILE).getroot()


def ui_widgets(root):
    """objectName -> class of every widget in the .ui."""
    return {w.get("name"): w.get("class") for w in root.iter("widget")}


def ui_property(widget, name):
    """A designer property of a .ui widget element as a Python value, None when not set."""
    prop = widget.find(f"property[@name='{name}']")
    if prop is None or not len(prop):
        return None
    value = list(prop)[0]
    return {"number": int, "double": float, "bool": lambda t: t == "true"}.get(value.tag, str)(value.text)


def bound_widgets(root):
    """Parameter name -> .ui widget element, from the SlicerParameterName dynamic properties."""
    bound = {}
    for widget in root.iter("widget"):
        for prop in widget.findall("property"):
            if prop.get("name") == "SlicerParameterName":
                assert prop.get("stdset") == "0", "dynamic properties need stdset=0"
                name = prop.find("string").text
                assert name not in bound, f"{name} bound to two widgets"
                bound[name] = widget
    return bound


def classes(tree):
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def methods(cls):
    return {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef)}


def panel_choices(tree):
    """The module's combo-box enums, ``X = PanelChoice("X", [(name, value), ...])``: X -> pairs."""
    found = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and ast.unparse(node.value.func) == "PanelChoice"):
            name, pairs = (ast.literal_eval(arg) for arg in node.value.args)
            assert name == node.targets[0].id, f"{name} assigned to {node.targets[0].id}"
            found[name] = pairs
    return found


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
    """(class name, {field -> kind}) of the @parameterNodeWrapper class; kinds: node, enum, bool,
    int, float, str. Also {field -> (minimum, maximum)} of WithinRange and {field -> default}."""
    enums = set(panel_choices(tree))
    for cls in classes(tree).values():
        decorators = [d.id if isinstance(d, ast.Name) else getattr(d, "attr", "") for d in cls.decorator_list]
        if "parameterNodeWrapper" not in decorators:
            continue
        fields, ranges, defaults = {}, {}, {}
        for item in cls.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                annotation = ast.unparse(item.annotation)
                base = re.sub(r"^Annotated\[(\w+).*$", r"\1", annotation).split(".")[-1]
                if base in enums:
                    kind = "enum"
                elif base.startswith("vtkMRML"):
                    kind = "node"
                else:
                    kind = base
                fields[item.target.id] = kind
                within = re.search(r"WithinRange\(([^,]+), ([^)]+)\)", annotation)
                if within:
                    ranges[item.target.id] = tuple(float(eval(v)) for v in within.groups())
                if item.value is not None:
                    defaults[item.target.id] = ast.unparse(item.value)
        return cls.name, fields, ranges, defaults
    raise AssertionError("no @parameterNodeWrapper class in GradientTools.py")


def module_constant(tree, name):
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"GradientTools.py has no {name} = ...")


def module_parent_list(tree, attribute):
    """The literal list assigned to ``self.parent.<attribute>`` in the module class (translate()
    calls give their text)."""
    for node in ast.walk(classes(tree)["GradientTools"]):
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Attribute)
                and node.targets[0].attr == attribute and isinstance(node.value, ast.List)):
            return [element.args[-1].value if isinstance(element, ast.Call) else element.value
                    for element in node.value.elts]
    raise AssertionError(f"no self.parent.{attribute} = [...]")


def cmake_values(path=TOP_CMAKE):
    """EXTENSION_* variables set with a quoted literal in the top-level CMakeLists.txt."""
    return dict(re.findall(r'^set\((EXTENSION_\w+)\s+"([^"]*)"\)', read(path), re.M))


def cmake_list(path, variable):
    text = read(path)
    match = re.search(r"set\(\s*" + variable + r"\s+(.*?)\)", text, re.S)
    assert match, f"{variable} not set in {path}"
    return [line.split("#")[0].strip() for line in match.group(1).splitlines() if line.split("#")[0].strip()]


def png_size(path):
    with open(path, "rb") as f:
        header = f.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])
