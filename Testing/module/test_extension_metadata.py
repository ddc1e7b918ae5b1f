"""Static checks of the extension's packaging against what Slicer and the ExtensionsIndex require.

Sources read: Slicer/ExtensionsIndex scripts/check_description_files.py (main and 5.10 branches:
accepted categories, extension and repository names, icon and screenshot URLs read from the
top-level CMakeLists.txt as literal text), Slicer's catalog-entry schema (Schemas/
slicer-extension-catalog-entry-schema-v1.0.1.json), and Slicer's scripted-module and extension
templates (Utilities/Templates, v5.8.1), whose placeholders must not survive.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from module_source import (
    INDEX_ENTRY,
    LIB_DIR,
    MODULE_DIR,
    MODULE_PY,
    README,
    ROOT,
    TOP_CMAKE,
    UI_FILE,
    classes,
    cmake_list,
    cmake_values,
    module_constant,
    module_files,
    module_parent_list,
    module_tree,
    panel_package_files,
    png_size,
    read,
)

CATEGORIES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "extensions_index_categories.json")

# Fields of Slicer's catalog-entry schema (Schemas/slicer-extension-catalog-entry-schema-v1.0.x.json)
SCHEMA_FIELDS = {
    "$schema": str, "category": str, "scm_url": str, "scm_revision": str, "scm_type": str,
    "build_dependencies": list, "dicom_support_rule": str, "build_subdirectory": str, "enabled": bool,
    "tier": int,
}

# Text of Slicer's templates (Utilities/Templates/Modules/Scripted/TemplateKey.py and
# Extensions/Default/CMakeLists.txt, v5.8.1) that a reviewer would see as not filled in
TEMPLATE_PLACEHOLDERS = ("John Doe", "AnyWare", "Firstname Lastname", "Jean-Christophe Fillion-Robin",
                         "3P41RR013218", "organization/projectname", "example.com", "TODO",
                         "This is an example of")

# the ExtensionsIndex checker's patterns for the URLs it downloads (check_cmakelists_content)
ICON_URL_PATTERN = r'set\s*\(EXTENSION_ICONURL\s*"([^"]+)"[ ]*\)'
SCREENSHOT_URLS_PATTERN = r'set\s*\(EXTENSION_SCREENSHOTURLS\s*"([^"]+)"\)'


@pytest.fixture(scope="module")
def tree():
    return module_tree()


@pytest.fixture(scope="module")
def repository(tree):
    return module_constant(tree, "REPOSITORY")


# ------------------------------------------------------------------------------------------------
# ExtensionsIndex entry and category
# ------------------------------------------------------------------------------------------------


def test_category_is_one_the_extensions_index_accepts():
    data = json.loads(read(CATEGORIES_FILE))
    assert data["source"]["file"] == "scripts/check_description_files.py"
    assert set(data["source"]["branches"]) == {"main", "5.10"}
    accepted = data["categories"]
    assert len(accepted) > 40 and "Volume Rendering" not in accepted
    category = json.loads(read(INDEX_ENTRY))["category"]
    assert category in accepted, f"{category!r} is not accepted; pick one of {accepted}"
    assert cmake_values()["EXTENSION_CATEGORY"] == category


def test_module_categories_start_with_the_extension_category(tree):
    categories = module_parent_list(tree, "categories")
    assert categories[0] == json.loads(read(INDEX_ENTRY))["category"]
    accepted = json.loads(read(CATEGORIES_FILE))["categories"]
    assert all(c.split(".")[0] in accepted for c in categories), categories


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
    # the file name is the extension name: the CMake project name, not starting with "Slicer"
    name = os.path.splitext(os.path.basename(INDEX_ENTRY))[0]
    assert not name.lower().startswith("slicer")
    assert re.findall(r"project\s*\(\s*([^\s\)\n\r]+)", read(TOP_CMAKE), re.I)[0] == name


# ------------------------------------------------------------------------------------------------
# one repository name
# ------------------------------------------------------------------------------------------------


def repository_copies(root):
    """Every repository URL the extension states, as (file, url), read from the files' text."""
    found = []
    for name in ("CMakeLists.txt", "GradientTools.json", "README.md",
                 os.path.join("GradientTools", "GradientTools.py")):
        text = read(os.path.join(root, name))
        for match in re.finditer(r"https://(?:raw\.githubusercontent|github)\.com/([\w.-]+/[\w.-]+)", text):
            if "GradientTools" in match.group(1):
                found.append((name, match.group(0)))
    return found


def check_repository_everywhere(root, repository):
    """The module's REPOSITORY is what every copy states; raises AssertionError naming a copy that differs."""
    entry = json.loads(read(os.path.join(root, "GradientTools.json")))
    assert entry["scm_url"] == f"https://github.com/{repository}.git"
    values = cmake_values(os.path.join(root, "CMakeLists.txt"))
    assert values["EXTENSION_HOMEPAGE"] == f"https://github.com/{repository}#readme"
    raw = f"https://raw.githubusercontent.com/{repository}/{entry.get('scm_revision', 'main')}/"
    for url in [values["EXTENSION_ICONURL"]] + values["EXTENSION_SCREENSHOTURLS"].split():
        assert url.startswith(raw), url
    assert f"https://github.com/{repository}" in read(os.path.join(root, "README.md"))
    for name, url in repository_copies(root):
        stated = url.split(".com/")[1].split("/")
        assert "/".join(stated[:2]).removesuffix(".git") == repository, f"{name}: {url}"


def test_one_repository_name_everywhere(tree, repository):
    owner, name = repository.split("/")
    # ExtensionsIndex check_git_repository_name: the repository name starts with "Slicer"
    assert name.startswith("Slicer") and name[len("Slicer"):] == "GradientTools"
    check_repository_everywhere(ROOT, repository)
    assert len(repository_copies(ROOT)) >= 7
    # the help text links to REPOSITORY_URL, built from REPOSITORY
    help_text = next(n for n in ast.walk(classes(tree)["GradientTools"]) if isinstance(n, ast.Assign)
                     and getattr(n.targets[0], "attr", "") == "helpText")
    assert "format(url=REPOSITORY_URL)" in ast.unparse(help_text.value)
    assert 'REPOSITORY_URL = "https://github.com/" + REPOSITORY' in read(MODULE_PY)


def test_changing_the_repository_is_one_line_and_the_sync_script(tmp_path, repository):
    for name in ("CMakeLists.txt", "GradientTools.json", "README.md"):
        shutil.copy(os.path.join(ROOT, name), tmp_path / name)
    (tmp_path / "GradientTools").mkdir()
    module = read(MODULE_PY)
    moved = "another-owner/SlicerGradientTools"
    changed = module.replace(f'REPOSITORY = "{repository}"', f'REPOSITORY = "{moved}"')
    assert len(changed.splitlines()) == len(module.splitlines())
    assert sum(a != b for a, b in zip(changed.splitlines(), module.splitlines())) == 1
    (tmp_path / "GradientTools" / "GradientTools.py").write_text(changed, encoding="utf-8")
    script = [sys.executable, os.path.join(ROOT, "scripts", "sync_repository.py"), "--root", str(tmp_path)]
    with pytest.raises(AssertionError):
        check_repository_everywhere(tmp_path, moved)
    assert subprocess.run(script + ["--check"], capture_output=True).returncode == 1
    assert subprocess.run(script, capture_output=True).returncode == 0
    check_repository_everywhere(tmp_path, moved)
    assert subprocess.run(script + ["--check"], capture_output=True).returncode == 0
    assert repository not in (tmp_path / "README.md").read_text(encoding="utf-8")
    # other repositories the README links to are left alone
    assert read(README).count("github.com/Slicer/") == (tmp_path / "README.md").read_text().count(
        "github.com/Slicer/")


# ------------------------------------------------------------------------------------------------
# CMake lists
# ------------------------------------------------------------------------------------------------


def test_top_level_cmake_metadata_and_urls_point_into_the_repository(repository):
    text = read(TOP_CMAKE)
    assert re.search(r"^cmake_minimum_required\(", text, re.M)
    values = cmake_values()
    for key in ("EXTENSION_HOMEPAGE", "EXTENSION_CATEGORY", "EXTENSION_CONTRIBUTORS", "EXTENSION_DESCRIPTION",
                "EXTENSION_ICONURL", "EXTENSION_SCREENSHOTURLS", "EXTENSION_DEPENDS"):
        assert values.get(key), f"{key} missing"
    # the index checker reads these two as literal strings and downloads them
    icon = re.findall(ICON_URL_PATTERN, text, re.I | re.M)
    screenshots = re.findall(SCREENSHOT_URLS_PATTERN, text, re.I | re.M)
    assert icon == [values["EXTENSION_ICONURL"]] and screenshots == [values["EXTENSION_SCREENSHOTURLS"]]
    raw = f"https://raw.githubusercontent.com/{repository}/main/"
    urls = icon + screenshots[0].split()
    assert len(urls) >= 3
    for url in urls:
        assert url.startswith(raw) and "$" not in url, url
        local = os.path.join(ROOT, url[len(raw):])
        assert os.path.isfile(local), f"{url} has no file {local}"
        png_size(local)
    assert png_size(os.path.join(ROOT, icon[0][len(raw):])) == (128, 128)
    for needed in ("find_package(Slicer REQUIRED)", "include(${Slicer_USE_FILE})",
                   "add_subdirectory(GradientTools)", "add_subdirectory(GradientToolsLib)",
                   "include(${Slicer_EXTENSION_GENERATE_CONFIG})", "include(${Slicer_EXTENSION_CPACK})"):
        assert needed in text, needed
    assert os.path.isfile(os.path.join(ROOT, "LICENSE.txt"))


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
    # the module file and the panel package, every file of it (Slicer installs only listed files)
    assert scripts[0] == "GradientTools.py" and sorted(scripts[1:]) == panel_package_files()
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


def test_module_icon_is_128_pixels():
    assert png_size(os.path.join(MODULE_DIR, "Resources", "Icons", "GradientTools.png")) == (128, 128)


def test_cmake_and_index_files_use_lf_line_endings():
    for path in (TOP_CMAKE, os.path.join(MODULE_DIR, "CMakeLists.txt"),
                 os.path.join(LIB_DIR, "CMakeLists.txt"), INDEX_ENTRY, UI_FILE, *module_files()):
        assert b"\r" not in open(path, "rb").read(), path


# ------------------------------------------------------------------------------------------------
# what a Slicer reviewer reads first
# ------------------------------------------------------------------------------------------------


def test_module_dependencies_name_the_modules_it_uses(tree):
    """Slicer loads the modules in ``dependencies`` first; the module uses their logics and nodes."""
    source = read(MODULE_PY)
    used = {"VolumeRendering": "slicer.modules.volumerendering" in source,
            "Markups": "showSchemeAsMarkups" in source and "vtkMRMLMarkupsFiducialNode" in source,
            "Plots": "qMRMLPlotWidget" in read(UI_FILE) and "vtkMRMLPlotChartNode" in source}
    assert all(used.values()), used
    assert module_parent_list(tree, "dependencies") == list(used)


def test_contributors_and_acknowledgement_are_real(tree):
    contributors = module_parent_list(tree, "contributors")
    assert contributors == ["GradientTools developers"]
    assert cmake_values()["EXTENSION_CONTRIBUTORS"] == ", ".join(contributors)
    module_class = ast.unparse(classes(tree)["GradientTools"])
    for text in (module_class, read(TOP_CMAKE)):
        for placeholder in TEMPLATE_PLACEHOLDERS:
            assert placeholder not in text, placeholder
    acknowledgement = next(n for n in ast.walk(classes(tree)["GradientTools"]) if isinstance(n, ast.Assign)
                           and getattr(n.targets[0], "attr", "") == "acknowledgementText")
    text = ast.unparse(acknowledgement.value)
    assert "GradientTools developers" in text and "Caruyer" in text
