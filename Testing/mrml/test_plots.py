"""The histogram chart and the panel's plot view node on Slicer's real plot nodes (slicer-core).

References: vtkMRMLPlotSeriesNode::IsXColumnRequired (only Scatter and ScatterBar series are drawn at
their X values; Bar and Line use the row index, Libs/MRML/Core/vtkMRMLPlotSeriesNode.cxx, v5.8.1 and
v5.10.0) and vtkMRMLApplicationLogic::PropagatePlotChartSelection (sets the selected chart on every
plot view node whose DoPropagatePlotChartSelection is on), run here, not re-implemented.
"""

from __future__ import annotations

import types

import numpy as np
import pytest
from vtk.util import numpy_support

slicer = pytest.importorskip("slicer")

from GradientToolsLib import mrml  # noqa: E402


def column(series, name):
    return numpy_support.vtk_to_numpy(series.GetTableNode().GetTable().GetColumnByName(name))


def series_by_role(chart):
    series = [chart.GetNthPlotSeriesNode(i) for i in range(chart.GetNumberOfPlotSeriesNodes())]
    return {s.GetAttribute(mrml.ATTRIBUTE_PREFIX + "Role"): s for s in series}


def test_every_series_is_drawn_at_its_x_values(scene):
    edges = np.array([0.0, 2.5, 5.0, 10.0, 20.0, 40.0])  # uneven bins: row index and x differ
    suggestion = types.SimpleNamespace(histogram_counts=np.array([90.0, 40, 8, 3, 1]), histogram_edges=edges,
                                       points=[(0.0, 0.0), (6.0, 0.0), (12.0, 1.0), (40.0, 1.0)],
                                       noise_sigma=2.0)
    chart = mrml.gradient_histogram_plot(scene, suggestion)
    series = series_by_role(chart)
    assert set(series) == {"counts", "opacity"}
    for node in series.values():
        assert node.IsXColumnRequired(), node.GetPlotTypeAsString(node.GetPlotType())
    assert series["counts"].GetPlotType() == series["counts"].PlotTypeScatterBar
    assert series["opacity"].GetPlotType() == series["opacity"].PlotTypeScatter
    np.testing.assert_allclose(column(series["counts"], series["counts"].GetXColumnName()),
                               [1.25, 3.75, 7.5, 15.0, 30.0])
    curve_x = column(series["opacity"], series["opacity"].GetXColumnName())
    np.testing.assert_allclose(curve_x, [0.0, 6.0, 12.0, 40.0])
    np.testing.assert_allclose(column(series["opacity"], "opacity"), [0.0, 0.0, 1.0, 1.0])


def test_panel_plot_view_ignores_the_charts_other_modules_select(offscreen, scene):
    ours = scene.AddNewNodeByClass("vtkMRMLPlotChartNode", "panel chart")
    other = scene.AddNewNodeByClass("vtkMRMLPlotChartNode", "selected elsewhere")
    view = mrml.panel_plot_view_node(scene, ours, "GradientToolsPlotTest")
    assert mrml.panel_plot_view_node(scene, ours, "GradientToolsPlotTest") is view  # one per tag
    assert not view.GetDoPropagatePlotChartSelection()
    ordinary = scene.AddNewNodeByClass("vtkMRMLPlotViewNode")
    app_logic = offscreen.app.app_logic
    app_logic.GetSelectionNode().SetActivePlotChartID(other.GetID())
    app_logic.PropagatePlotChartSelection()
    assert ordinary.GetPlotChartNodeID() == other.GetID()  # propagation works...
    assert view.GetPlotChartNodeID() == ours.GetID()  # ...but not into the panel's view
    view.SetDoPropagatePlotChartSelection(True)  # e.g. a view node loaded from an older scene
    assert mrml.panel_plot_view_node(scene, ours, "GradientToolsPlotTest") is view
    assert not view.GetDoPropagatePlotChartSelection()
    for node in (view, ordinary):
        scene.RemoveNode(node)
