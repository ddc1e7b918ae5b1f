"""The gradient histogram with the suggested curve as plot nodes (tables, series, a chart) for a
qMRMLPlotWidget in the module panel, and the panel's own plot view node.

Series types: Slicer draws Bar and Line series at the row index and ignores their X column
(``vtkMRMLPlotSeriesNode::IsXColumnRequired`` is true only for Scatter and ScatterBar), so the
histogram is a ScatterBar series and the curve a Scatter series: both are drawn at their X values.
"""

from __future__ import annotations

from typing import Dict

import numpy as np
import vtk
from vtk.util import numpy_support

from ..errors import GradientToolsError
from ._nodes import ATTRIBUTE_PREFIX, require_scene


def _table_from_columns(table_node, columns: Dict[str, np.ndarray]) -> None:
    table = vtk.vtkTable()
    for name, values in columns.items():
        column = numpy_support.numpy_to_vtk(np.ascontiguousarray(values, dtype=np.float64), deep=True)
        column.SetName(name)
        table.AddColumn(column)
    table_node.SetAndObserveTable(table)


def _get_or_add(scene, class_name: str, node, name: str):
    if node is None:
        node = scene.AddNewNodeByClass(class_name, name)
    return node


def gradient_histogram_plot(scene, suggestion, chart_node=None, name: str = "Gradient histogram"):
    """Show a gradient histogram and a suggested opacity curve in plot nodes.

    Builds (or updates, when ``chart_node`` came from an earlier call) two table nodes, two plot
    series and one plot chart with a logarithmic count axis. The opacity curve shares the count
    axis: opacity o is drawn at height ``max_count ** o``, so 0 sits at the bottom (count 1) and 1 at
    the top, and on the log axis the curve keeps its shape. Empty bins are drawn at count 1.

    Parameters
    ----------
    scene : vtkMRMLScene
    suggestion : object with ``histogram_counts``, ``histogram_edges``, ``points``, ``noise_sigma``
        as returned by :func:`GradientToolsLib.opacity.suggest_gradient_opacity`.
    chart_node : vtkMRMLPlotChartNode, optional
        A chart made by an earlier call, to update in place.

    Returns
    -------
    vtkMRMLPlotChartNode
        The chart; its series are named "<name> counts" (ScatterBar: bars at the bin centres) and
        "<name> opacity" (Scatter: the curve's points joined by lines), both with the X column
        "gradient" in scalar units per voxel step.
    """
    require_scene(scene)
    counts = np.asarray(suggestion.histogram_counts, dtype=float)
    edges = np.asarray(suggestion.histogram_edges, dtype=float)
    if counts.ndim != 1 or edges.shape != (counts.size + 1,):
        raise GradientToolsError("histogram edges must have one more entry than counts")
    centres = 0.5 * (edges[:-1] + edges[1:])
    top = max(float(counts.max(initial=0.0)), 2.0)
    points = np.asarray(suggestion.points, dtype=float).reshape(-1, 2)
    curve_x = np.union1d(points[:, 0], [edges[0], edges[-1]])
    curve_x = curve_x[(curve_x >= edges[0]) & (curve_x <= edges[-1])]
    curve_opacity = np.interp(curve_x, points[:, 0], points[:, 1])

    existing = {}
    if chart_node is not None:
        for i in range(chart_node.GetNumberOfPlotSeriesNodes()):
            series = chart_node.GetNthPlotSeriesNode(i)
            existing[series.GetAttribute(ATTRIBUTE_PREFIX + "Role")] = series
    chart_node = _get_or_add(scene, "vtkMRMLPlotChartNode", chart_node, name)

    roles = (
        ("counts", {"gradient": centres, "count": counts, "count (log axis)": np.maximum(counts, 1.0)},
         "count (log axis)", (0.55, 0.55, 0.6), "ScatterBar"),
        ("opacity", {"gradient": curve_x, "opacity": curve_opacity,
                     "opacity (log axis)": top ** curve_opacity}, "opacity (log axis)", (0.99, 0.75, 0.15),
         "Scatter"),
    )
    for role, columns, y_column, color, plot_type in roles:
        series = existing.get(role)
        if series is None:
            series = scene.AddNewNodeByClass("vtkMRMLPlotSeriesNode", f"{name} {role}")
            series.SetAttribute(ATTRIBUTE_PREFIX + "Role", role)
            chart_node.AddAndObservePlotSeriesNodeID(series.GetID())
        table_node = series.GetTableNode()
        if table_node is None:
            table_node = scene.AddNewNodeByClass("vtkMRMLTableNode", f"{name} {role} table")
            series.SetAndObserveTableNodeID(table_node.GetID())
        _table_from_columns(table_node, columns)
        series.SetXColumnName("gradient")
        series.SetYColumnName(y_column)
        series.SetPlotType(getattr(series, "PlotType" + plot_type))
        series.SetColor(*color)
        if plot_type == "Scatter":
            series.SetLineStyle(series.LineStyleSolid)
            series.SetMarkerStyle(series.MarkerStyleCircle)
            series.SetLineWidth(3)
    chart_node.SetTitle(f"Gradient histogram, noise sigma {float(suggestion.noise_sigma):.4g}")
    chart_node.SetXAxisTitle("gradient magnitude (scalar units per voxel step)")
    chart_node.SetYAxisTitle("count (log); opacity 0 at bottom, 1 at top")
    chart_node.SetYAxisLogScale(True)
    chart_node.SetLegendVisibility(True)
    return chart_node


def panel_plot_view_node(scene, chart_node, singleton_tag: str, name: str = "GradientTools plot view"):
    """The plot view node of a module panel's own plot widget, showing ``chart_node``.

    One singleton vtkMRMLPlotViewNode per ``singleton_tag``, created when missing. Chart propagation
    is switched off (``SetDoPropagatePlotChartSelection(False)``): Slicer's application logic sets
    the chart of every propagating plot view to the chart another module "selects" (e.g. the Plots
    module, or a table shown as a plot), which would replace the panel's histogram.

    Parameters
    ----------
    scene : vtkMRMLScene
    chart_node : vtkMRMLPlotChartNode or None
        The chart to show (None shows nothing).
    singleton_tag : str
        Identifies the panel's view node in the scene (also after saving and reloading it).

    Returns
    -------
    vtkMRMLPlotViewNode
        Give it to ``qMRMLPlotWidget.setMRMLPlotViewNode``.
    """
    view_node = scene.GetSingletonNode(singleton_tag, "vtkMRMLPlotViewNode")
    if view_node is None:
        view_node = scene.CreateNodeByClass("vtkMRMLPlotViewNode")
        view_node.UnRegister(None)
        view_node.SetSingletonTag(singleton_tag)
        view_node.SetName(name)
        view_node = scene.AddNode(view_node)
    view_node.SetDoPropagatePlotChartSelection(False)
    view_node.SetPlotChartNodeID(chart_node.GetID() if chart_node is not None else None)
    return view_node
