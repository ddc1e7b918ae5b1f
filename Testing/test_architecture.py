"""The layout's import rules, checked from the code itself (every import statement in every file,
including imports inside functions).

Layers of GradientToolsLib, imports flowing one way:

    errors, progress, _shared  ->  image | diffusion (never into each other)  ->  mrml | figures
        ->  cli | demo | app (and the Slicer module, GradientTools/)

``slicer`` is imported only under ``GradientToolsLib/mrml/`` and ``GradientTools/``; ``qt`` and
``ctk`` only in ``GradientTools/``; ``matplotlib`` only in ``GradientToolsLib/figures.py``; the
library never reaches for the application's globals (``slicer.mrmlScene``, ``slicer.app``).
"""

from __future__ import annotations

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = "GradientToolsLib"

#: layer of a first-level name inside the package -> layers it may import from
BASE = {"errors", "progress", "_shared"}
ALLOWED = {
    "base": {"base"},
    "image": {"base", "image"},
    "diffusion": {"base", "diffusion"},
    "mrml": {"base", "image", "diffusion", "mrml"},
    "figures": {"base", "image", "diffusion", "figures"},
    "demo": {"base", "image", "diffusion", "mrml", "figures", "demo"},
    "app": {"base", "image", "diffusion", "mrml", "figures", "app"},
    # the command line runs the demo and the app as subcommands; it may read the package version
    "cli": {"base", "image", "diffusion", "mrml", "figures", "demo", "app", "cli", "root"},
    # the lazy public API and ``python -m GradientToolsLib``
    "root": {"base", "image", "diffusion", "mrml", "figures", "demo", "app", "cli", "root"},
}


def layer_of(module: str) -> str:
    """Layer of a module name inside the package ("GradientToolsLib.image.noise" -> "image")."""
    parts = module.split(".")
    assert parts[0] == LIB
    if len(parts) == 1 or parts[1] == "__main__":
        return "root"
    first = parts[1]
    if first in BASE:
        return "base"
    if first in ALLOWED:
        return first
    raise AssertionError(f"{module}: {first!r} is not a known layer of {LIB} (add it to the rules)")


def module_name(path: str) -> str:
    relative = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
    return relative[: -len(".__init__")] if relative.endswith(".__init__") else relative


def imports_of(source: str, module: str, is_package: bool):
    """(line, absolute module name, imported names) of every import statement in the source."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            names = tuple(alias.name for alias in node.names)
            yield node.lineno, target, names


def application_globals(source: str):
    """Lines that use ``slicer.mrmlScene`` or ``slicer.app``."""
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Attribute) and node.attr in ("mrmlScene", "app")
                and isinstance(node.value, ast.Name) and node.value.id == "slicer"):
            yield node.lineno


def violations(path: str, source: str):
    """Every broken rule of one file, as readable strings."""
    found = []
    relative = os.path.relpath(path, ROOT).replace(os.sep, "/")
    in_module = relative.startswith("GradientTools/")
    in_lib = relative.startswith(LIB + "/")
    in_mrml = relative.startswith(LIB + "/mrml/")
    if in_lib:
        module = module_name(path)
        layer = layer_of(module)
    for line, target, names in imports_of(source, module_name(path), path.endswith("__init__.py")):
        top = target.split(".")[0]
        where = f"{relative}:{line}"
        if top == "slicer" and not (in_mrml or in_module):
            found.append(f"{where} imports slicer outside mrml/ and the module")
        if top in ("qt", "ctk") and not in_module:
            found.append(f"{where} imports {top} outside the Slicer module")
        if top == "matplotlib" and relative != f"{LIB}/figures.py":
            found.append(f"{where} imports matplotlib outside figures.py")
        if in_lib and top == LIB:
            targets = [target] if target != LIB else [f"{LIB}.{n}" if n in ALLOWED or n in BASE else LIB
                                                      for n in names]
            for full in targets:
                other = layer_of(full)
                if other not in ALLOWED[layer]:
                    found.append(f"{where} ({layer}) imports {full} ({other})")
    if in_lib:
        for line in application_globals(source):
            found.append(f"{relative}:{line} uses slicer.mrmlScene or slicer.app (take nodes as arguments)")
    return found


def python_files():
    for folder in (LIB, "GradientTools"):
        for directory, dirs, files in os.walk(os.path.join(ROOT, folder)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in sorted(files):
                if name.endswith(".py"):
                    yield os.path.join(directory, name)


def test_every_file_follows_the_import_rules():
    problems = []
    files = list(python_files())
    assert len(files) > 30
    for path in files:
        with open(path, encoding="utf-8") as handle:
            problems += violations(path, handle.read())
    assert not problems, "\n".join(problems)


def test_the_four_sub_packages_exist():
    for name in ("_shared", "image", "diffusion", "mrml", "cli", "demo"):
        assert os.path.isfile(os.path.join(ROOT, LIB, name, "__init__.py")), name
    assert os.path.isfile(os.path.join(ROOT, LIB, "figures.py"))


@pytest.mark.parametrize("relative, source, expected", [
    ("GradientToolsLib/image/x.py", "def f():\n    from ..diffusion import scheme\n", "imports"),
    ("GradientToolsLib/diffusion/x.py", "from GradientToolsLib.image.noise import BLOCK\n", "imports"),
    ("GradientToolsLib/image/x.py", "def f():\n    import slicer\n", "slicer outside"),
    ("GradientToolsLib/diffusion/x.py", "import matplotlib.pyplot\n", "matplotlib outside"),
    ("GradientToolsLib/mrml/x.py", "from .. import figures\n", "imports"),
    ("GradientToolsLib/mrml/x.py", "from ..cli import main\n", "imports"),
    ("GradientToolsLib/image/x.py", "from GradientToolsLib import scheme_report\n", "imports"),
    ("GradientToolsLib/_shared/x.py", "from ..image import gradient\n", "imports"),
    ("GradientToolsLib/mrml/x.py", "import slicer\nnode = slicer.mrmlScene.GetFirstNode()\n", "mrmlScene"),
    ("GradientToolsLib/figures.py", "import qt\n", "qt outside"),
])
def test_the_checker_catches_violations(relative, source, expected):
    found = violations(os.path.join(ROOT, relative), source)
    assert any(expected in problem for problem in found), found


@pytest.mark.parametrize("relative, source", [
    ("GradientToolsLib/mrml/x.py", "import slicer\nfrom ..image.opacity import suggest_gradient_opacity\n"),
    ("GradientToolsLib/figures.py", "import matplotlib\nfrom .diffusion.scheme import GradientScheme\n"),
    ("GradientToolsLib/cli/x.py", "from .. import __version__\nfrom ..demo import run_demo\n"),
    ("GradientTools/GradientTools.py", "import qt\nimport slicer\nx = slicer.mrmlScene\n"),
])
def test_the_checker_accepts_what_the_rules_allow(relative, source):
    assert violations(os.path.join(ROOT, relative), source) == []
