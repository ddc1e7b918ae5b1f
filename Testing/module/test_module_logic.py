"""Run the module's own logic and its in-Slicer self-tests on slicer-core.

GradientTools/GradientTools.py is loaded as Slicer would load it, with the pieces of Slicer that need
the Qt application replaced by minimal stand-ins (``qt``, ``slicer.ScriptedLoadableModule`` base
classes, ``slicer.parameterNodeWrapper`` annotations, ``slicer.i18n``, ``slicer.modules``), and
``slicer.mrmlScene`` set to a real scene with Slicer's logics (mrml.offscreen.OffscreenSlicer). The logic
class and the GradientToolsTest methods then run unchanged against real MRML nodes; only the widget
test (which needs the Qt panel) is left to Slicer.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
import unittest

import numpy as np
import pytest

slicer = pytest.importorskip("slicer")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_PY = os.path.join(ROOT, "GradientTools", "GradientTools.py")


def _stand_ins():
    """Modules the module file imports that exist only inside the Slicer application."""
    scripted = types.ModuleType("slicer.ScriptedLoadableModule")

    class ScriptedLoadableModule:
        def __init__(self, parent):
            self.parent = parent

    class ScriptedLoadableModuleWidget:
        def __init__(self, parent=None):
            self.parent = parent

    class ScriptedLoadableModuleLogic:
        def __init__(self, parent=None):
            self.parent = parent

    class ScriptedLoadableModuleTest(unittest.TestCase):
        def delayDisplay(self, message, msec=0):
            pass

    for cls in (ScriptedLoadableModule, ScriptedLoadableModuleWidget, ScriptedLoadableModuleLogic,
                ScriptedLoadableModuleTest):
        setattr(scripted, cls.__name__, cls)
    scripted.__all__ = [c.__name__ for c in (ScriptedLoadableModule, ScriptedLoadableModuleWidget,
                                             ScriptedLoadableModuleLogic, ScriptedLoadableModuleTest)]

    wrapper = types.ModuleType("slicer.parameterNodeWrapper")
    wrapper.parameterNodeWrapper = lambda cls: cls
    wrapper.Choice = lambda choices: ("Choice", tuple(choices))
    wrapper.WithinRange = lambda low, high: ("WithinRange", low, high)

    i18n = types.ModuleType("slicer.i18n")
    i18n.tr = lambda text: text
    i18n.translate = lambda context, text: text

    return {"qt": types.ModuleType("qt"), "slicer.ScriptedLoadableModule": scripted,
            "slicer.parameterNodeWrapper": wrapper, "slicer.i18n": i18n}


@pytest.fixture(scope="module")
def module():
    from support import make_offscreen

    offscreen = make_offscreen(64, 64, background=None)
    stand_ins = _stand_ins()
    saved_modules = {name: sys.modules.get(name) for name in stand_ins}
    saved_attributes = {name: getattr(slicer, name, None) for name in ("mrmlScene", "modules")}
    sys.modules.update(stand_ins)
    slicer.mrmlScene = offscreen.scene
    volume_rendering = offscreen.app.app_logic.GetModuleLogic("VolumeRendering")
    volume_rendering_module = types.SimpleNamespace(logic=lambda: volume_rendering)
    slicer.modules = types.SimpleNamespace(volumerendering=volume_rendering_module)
    try:
        spec = importlib.util.spec_from_file_location("GradientTools", MODULE_PY)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        yield loaded
    finally:
        offscreen.close()
        for name, value in saved_modules.items():
            if value is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = value
        for name, value in saved_attributes.items():
            if value is None:
                if hasattr(slicer, name):
                    delattr(slicer, name)
            else:
                setattr(slicer, name, value)


SELF_TESTS = ["test_GradientMagnitudeGeometryAndValues", "test_GradientOpacityRoundTrip",
              "test_SchemeMarkupsAndReadback"]


@pytest.mark.parametrize("name", SELF_TESTS)
def test_in_slicer_self_test_runs_on_slicer_core(module, name):
    result = unittest.TestResult()
    module.GradientToolsTest(name).run(result)
    problems = [text for _, text in result.errors + result.failures]
    assert result.testsRun == 1 and not problems, "\n".join(problems)


def test_every_self_test_is_either_run_here_or_needs_the_panel(module):
    names = sorted(n for n in dir(module.GradientToolsTest) if n.startswith("test_"))
    assert sorted(SELF_TESTS + ["test_WidgetLoads"]) == names


def test_console_logic_on_a_real_scene(module, rng):
    logic = module.GradientToolsLogic()
    volume = slicer.util.addVolumeFromArray(rng.normal(0, 10, (6, 7, 8)).astype(np.float32), name="noise")
    output = logic.computeGradientMagnitude(volume, units="voxel")
    assert output.GetScene() is slicer.mrmlScene
    assert output.GetAttribute("GradientTools.Units") == "voxel"
    display = logic.applyGradientOpacity(volume, "4 0 0 20 1")
    assert logic.volumeRenderingDisplayNode(volume) is display
    assert logic.mrml.gradient_opacity_points(display) == [(0.0, 0.0), (20.0, 1.0)]
    assert logic.pointsToString([(0, 0), (20, 1)]).split() == ["4", "0", "0", "20", "1"]

    scheme = logic.generateScheme([(1000, 6)], b0Count=1, seed=2)
    first = logic.showSchemeAsMarkups(scheme)
    second = logic.showSchemeAsMarkups(scheme, radius="unit")
    # a new preview replaces the last one instead of piling up point lists
    assert slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLMarkupsFiducialNode") == len(second) == 1
    assert first[0].GetScene() is None
    assert logic.parseShells(logic.formatShells([(1000.0, 6)])) == [(1000.0, 6)]
