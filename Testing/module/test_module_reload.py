"""Slicer's Reload with the panel's sections in the GradientToolsPanel package (on slicer-core).

Slicer's Reload (slicer.util.reloadScriptedModule in 5.8.1 and 5.10.0) runs GradientTools.py again
and makes a new widget, but Python keeps every module the file imports in sys.modules, so edits to
a sub-package would be ignored unless the module file imports it afresh. These tests edit a copy of
the module folder, press "Reload" as each version does it (module_harness.Harness.reload), and check
that the edits count, that a copy without the fresh import would miss them (so the check can fail),
and that the reloaded panel is bound while the old one is not.
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest

slicer = pytest.importorskip("slicer")

from module_harness import MODULE_DIR, MODULE_PY, forget_panel_package  # noqa: E402

EDITED_LABEL = "Sobel (edited)"


def edited_copy(tmp_path, forget=True):
    """A copy of the module folder whose Sobel label and gradient section are edited; without
    ``forget`` the module file does not drop the panel package from sys.modules."""
    folder = tmp_path / "GradientTools"
    shutil.copytree(MODULE_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    choices = folder / "GradientToolsPanel" / "PanelChoices.py"
    text = choices.read_text(encoding="utf-8")
    assert '_("Sobel")' in text
    choices.write_text(text.replace('_("Sobel")', f'_("{EDITED_LABEL}")'), encoding="utf-8")
    section = folder / "GradientToolsPanel" / "GradientMagnitudeSection.py"
    text = section.read_text(encoding="utf-8")
    marker = "class GradientMagnitudeSection(PanelSection):\n"
    section.write_text(text.replace(marker, marker + "    EDITED = True\n\n"), encoding="utf-8")
    module = folder / "GradientTools.py"
    if not forget:
        text = module.read_text(encoding="utf-8")
        assert "\n_forgetPanelPackage()\n" in text
        module.write_text(text.replace("\n_forgetPanelPackage()\n", "\n"), encoding="utf-8")
    return str(module)


def combo_labels(combo):
    return [combo.itemText(i) for i in range(combo.count)]


@pytest.fixture
def reloading(panel):
    """The entered panel; afterwards the real module file is reloaded and sys.path restored."""
    saved_path = list(sys.path)
    yield panel
    sys.path[:] = saved_path
    forget_panel_package()
    panel.reload(MODULE_PY)


def test_reload_takes_edits_to_the_panel_package(reloading, tmp_path):
    panel = reloading
    module = panel.module
    assert EDITED_LABEL not in combo_labels(panel.widget.ui.gradientMethodComboBox)
    choose_sobel = [m.label() for m in module.GradientMethod].index("Sobel")
    panel.widget.ui.gradientMethodComboBox.currentIndex = choose_sobel
    old = panel.reload(edited_copy(tmp_path))
    new = panel.widget
    assert new is not old and getattr(type(new.sections["gradient"]), "EDITED", False)
    # the edited label is shown, and the stored choice survived the reload
    combo = new.ui.gradientMethodComboBox
    assert EDITED_LABEL in combo_labels(combo) and combo.currentText == EDITED_LABEL
    assert panel.parameters().parameterNode.GetParameter("gradientMethod") == "SOBEL"

    # the new panel is bound, the old one is not
    new.ui.gradientUnitsComboBox.currentIndex = 1
    assert panel.parameters().gradientUnits.name == "VOXEL"
    old.ui.gradientUnitsComboBox.currentIndex = 0
    assert panel.parameters().gradientUnits.name == "VOXEL"
    panel.select_module("Data")
    panel.select_module("GradientTools")
    assert new.ui.gradientUnitsComboBox.currentIndex == 1 and not panel.errors


def test_without_the_fresh_import_reload_would_miss_the_edits(reloading, tmp_path):
    """The control: the same edits, but the module file keeps the cached package."""
    panel = reloading
    panel.reload(edited_copy(tmp_path, forget=False))
    assert not getattr(type(panel.widget.sections["gradient"]), "EDITED", False)
    assert EDITED_LABEL not in combo_labels(panel.widget.ui.gradientMethodComboBox)
    assert os.path.dirname(sys.modules["GradientToolsPanel"].__file__) == os.path.join(MODULE_DIR,
                                                                                         "GradientToolsPanel")
