"""The module's logic and its in-Slicer self-tests (GradientToolsTest) on slicer-core.

GradientTools/GradientTools.py is loaded as Slicer would load it (module_harness.py): a real MRML
scene with Slicer's logics, and stand-ins for what needs the Qt application, with the parameter-node
wrapper behaving as Slicer 5.8.1 and as 5.10.0 (each test runs for both). Every GradientToolsTest
method runs unchanged, the panel tests included, so what a maintainer runs in a real Slicer is what
runs here.
"""

from __future__ import annotations

import ast

import numpy as np
import pytest
from module_source import classes, methods, module_tree

slicer = pytest.importorskip("slicer")

SELF_TESTS = sorted(name for name in methods(classes(module_tree())["GradientToolsTest"])
                    if name.startswith("test_"))


@pytest.mark.parametrize("name", SELF_TESTS)
def test_in_slicer_self_test_runs_on_slicer_core(harness, name):
    problems = harness.run_self_test(name)
    assert not problems, "\n".join(problems)


def test_run_test_runs_every_self_test(harness):
    run_test = ast.unparse(methods(classes(module_tree())["GradientToolsTest"])["runTest"])
    assert all(f"self.{name}" in run_test for name in SELF_TESTS)
    assert len(SELF_TESTS) >= 9


def test_console_logic_on_a_real_scene(harness, rng):
    logic = harness.logic()
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
    np.testing.assert_allclose(logic.schemeFromScene().bvals, scheme.bvals)
    assert logic.parseShells(logic.formatShells([(1000.0, 6)])) == [(1000.0, 6)]
