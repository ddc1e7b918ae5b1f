"""The MRML bridge (GradientToolsLib.mrml) on Slicer's real MRML classes (the slicer-core wheel).

The scene is the session's offscreen scene (conftest's ``offscreen``: trame-slicer's SlicerApp with
application logic, volume-rendering and markups logics, one offscreen 3D view). References are
independent of the code under test: VTK's vtkImageGradientMagnitude, analytic ramps, the node API.
"""

from __future__ import annotations

import logging
import os
import types

import numpy as np
import pytest
import vtk
from vtk.util import numpy_support

slicer = pytest.importorskip("slicer")

from references import vtk_gradient_magnitude  # noqa: E402
from support import make_offscreen  # noqa: E402

from GradientToolsLib import mrml  # noqa: E402
from GradientToolsLib.diffusion.scheme import GradientScheme  # noqa: E402
from GradientToolsLib.errors import GradientToolsError  # noqa: E402


def oblique_matrix():
    """Rotation about an oblique axis, anisotropic spacing, an origin: a general IJKToRAS."""
    axis = np.array([1.0, 2.0, 2.0]) / 3.0
    angle = np.deg2rad(35.0)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rotation = np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k
    spacing = np.array([0.7, 1.1, 2.5])
    matrix = np.eye(4)
    matrix[:3, :3] = rotation * spacing  # columns: I, J, K axes scaled by spacing
    matrix[:3, 3] = [-12.5, 40.0, 7.25]
    return matrix, spacing


def add_volume(scene, array, matrix=None, name="input", class_name="vtkMRMLScalarVolumeNode"):
    node = scene.AddNewNodeByClass(class_name, name)
    slicer.util.updateVolumeFromArray(node, np.ascontiguousarray(array))
    if matrix is not None:
        vtk_matrix = vtk.vtkMatrix4x4()
        for r in range(4):
            for c in range(4):
                vtk_matrix.SetElement(r, c, matrix[r, c])
        node.SetIJKToRASMatrix(vtk_matrix)
    node.CreateDefaultDisplayNodes()
    return node


def node_matrix(node):
    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    return np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)])


# ------------------------------------------------------------------------------------------------
# gradient magnitude volumes
# ------------------------------------------------------------------------------------------------


def test_gradient_volume_geometry_values_and_untouched_input(scene, rng):
    matrix, spacing = oblique_matrix()
    array = rng.normal(100.0, 30.0, size=(9, 12, 14)).astype(np.int16)
    node = add_volume(scene, array, matrix)
    before_array = slicer.util.arrayFromVolume(node).copy()
    before_mtime = node.GetImageData().GetMTime()

    out = mrml.compute_gradient_magnitude(node, units="mm")

    assert out.IsA("vtkMRMLScalarVolumeNode") and out is not node
    assert out.GetScene() is scene and out.GetName() == "input gradient"
    np.testing.assert_allclose(node_matrix(out), matrix, atol=1e-12)
    np.testing.assert_allclose(out.GetSpacing(), spacing, rtol=1e-12)
    result = slicer.util.arrayFromVolume(out)
    assert result.dtype == np.float32 and result.shape == array.shape
    reference = vtk_gradient_magnitude(array, spacing)
    inner = (slice(1, -1),) * 3
    np.testing.assert_allclose(result[inner], reference[inner], rtol=1e-5, atol=1e-4)
    # input untouched: same voxels, same geometry, image data not modified
    np.testing.assert_array_equal(slicer.util.arrayFromVolume(node), before_array)
    np.testing.assert_allclose(node_matrix(node), matrix, atol=1e-12)
    assert node.GetImageData().GetMTime() == before_mtime
    assert out.GetAttribute("GradientTools.Units") == "mm"
    assert out.GetAttribute("GradientTools.SourceNodeID") == node.GetID()


def test_gradient_volume_units_voxel_matches_renderer_units(scene, rng):
    matrix, _ = oblique_matrix()
    array = rng.normal(0.0, 10.0, size=(7, 8, 9)).astype(np.float32)
    node = add_volume(scene, array, matrix)
    out = mrml.compute_gradient_magnitude(node, units="voxel")
    reference = vtk_gradient_magnitude(array, (1.0, 1.0, 1.0))
    inner = (slice(1, -1),) * 3
    np.testing.assert_allclose(slicer.util.arrayFromVolume(out)[inner], reference[inner],
                               rtol=1e-5, atol=1e-4)
    # geometry still the input's: units change the values, never the placement
    np.testing.assert_allclose(node_matrix(out), matrix, atol=1e-12)


def test_gradient_volume_analytic_ramp_on_oblique_grid(scene):
    matrix, spacing = oblique_matrix()
    k, j, i = np.meshgrid(np.arange(6), np.arange(7), np.arange(8), indexing="ij")
    array = (3.0 * i - 2.0 * j + 5.0 * k).astype(np.float32)
    out = mrml.compute_gradient_magnitude(add_volume(scene, array, matrix), units="mm")
    # F changes by (3, -2, 5) per voxel step along I, J, K; per mm that is divided by the spacing
    expected = np.sqrt((3.0 / spacing[0]) ** 2 + (2.0 / spacing[1]) ** 2 + (5.0 / spacing[2]) ** 2)
    np.testing.assert_allclose(slicer.util.arrayFromVolume(out)[1:-1, 1:-1, 1:-1], expected, rtol=1e-5)


def test_gradient_volume_reuses_output_and_sets_window(scene, rng):
    array = rng.normal(0.0, 5.0, size=(6, 10, 11)).astype(np.float32)
    node = add_volume(scene, array)
    target = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "target")
    slicer.util.updateVolumeFromArray(target, np.zeros((2, 2, 2), np.uint8))
    out = mrml.compute_gradient_magnitude(node, target, method="sobel")
    assert out is target
    values = slicer.util.arrayFromVolume(out)
    assert values.shape == array.shape and values.dtype == np.float32
    display = out.GetDisplayNode()
    assert display is not None and not display.GetAutoWindowLevel()
    assert display.GetWindowLevelMin() == pytest.approx(0.0)
    assert display.GetWindowLevelMax() == pytest.approx(np.percentile(values, 99.5), rel=1e-5)
    assert out.GetAttribute("GradientTools.Method") == "sobel"


def test_gradient_volume_one_slice_and_constant(scene):
    flat = add_volume(scene, np.full((1, 5, 6), 42, np.int16), name="flat")
    out = mrml.compute_gradient_magnitude(flat)
    values = slicer.util.arrayFromVolume(out)
    assert values.shape == (1, 5, 6)
    np.testing.assert_array_equal(values, 0.0)
    display = out.GetDisplayNode()
    assert display.GetWindowLevelMax() > display.GetWindowLevelMin()


@pytest.mark.parametrize("class_name", ["vtkMRMLLabelMapVolumeNode", "vtkMRMLVectorVolumeNode",
                                        "vtkMRMLDiffusionWeightedVolumeNode"])
def test_gradient_volume_refuses_non_scalar_volumes(scene, class_name):
    shape = (4, 5, 6, 3) if class_name != "vtkMRMLLabelMapVolumeNode" else (4, 5, 6)
    node = scene.AddNewNodeByClass(class_name, "odd")
    slicer.util.updateVolumeFromArray(node, np.ones(shape, np.float32))
    with pytest.raises(GradientToolsError, match="odd"):
        mrml.compute_gradient_magnitude(node)


def test_gradient_volume_refuses_bad_arguments(scene):
    node = add_volume(scene, np.ones((3, 4, 5), np.float32))
    with pytest.raises(GradientToolsError, match="differ"):
        mrml.compute_gradient_magnitude(node, node)
    with pytest.raises(GradientToolsError, match="units"):
        mrml.compute_gradient_magnitude(node, units="inch")
    empty = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "empty")
    with pytest.raises(GradientToolsError, match="no image data"):
        mrml.compute_gradient_magnitude(empty)
    with pytest.raises(GradientToolsError):
        mrml.compute_gradient_magnitude(None)


def test_gradient_volume_follows_parent_transform_and_warns_on_scaling(scene, caplog):
    node = add_volume(scene, np.arange(60, dtype=np.float32).reshape(3, 4, 5))
    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "scale")
    matrix = vtk.vtkMatrix4x4()
    matrix.SetElement(0, 0, 2.0)
    transform.SetMatrixTransformToParent(matrix)
    node.SetAndObserveTransformNodeID(transform.GetID())
    with caplog.at_level(logging.WARNING, logger="GradientToolsLib.mrml"):
        out = mrml.compute_gradient_magnitude(node)
    assert out.GetTransformNodeID() == transform.GetID()
    assert any("scales" in record.getMessage() for record in caplog.records)


# ------------------------------------------------------------------------------------------------
# gradient opacity
# ------------------------------------------------------------------------------------------------


def function_values(function):
    """Every node of a piecewise (x, y, mid, sharp) or colour (x, r, g, b, mid, sharp) function."""
    width = 6 if function.IsA("vtkColorTransferFunction") else 4
    values, node = [], [0.0] * width
    for i in range(function.GetSize()):
        function.GetNodeValue(i, node)
        values.append(tuple(node))
    return values


def test_apply_and_reset_gradient_opacity_keep_scalar_opacity_and_colour(offscreen, scene):
    node = add_volume(scene, np.arange(120, dtype=np.int16).reshape(4, 5, 6))
    display = offscreen.show_volume_rendering(node, "CT-AAA")
    prop_node = display.GetVolumePropertyNode()
    prop = prop_node.GetVolumeProperty()
    scalar_before = function_values(prop.GetScalarOpacity())
    colour_before = function_values(prop.GetRGBTransferFunction())
    assert len(scalar_before) > 2 and len(colour_before) > 2

    points = [(0.0, 0.0), (12.5, 0.3), (40.0, 1.0)]
    mrml.apply_gradient_opacity(prop_node, points)
    assert mrml.gradient_opacity_points(prop_node) == points
    # the property the renderer reads has the same function, and through the MRML string API too
    text = prop_node.GetPiecewiseFunctionString(prop_node.GetGradientOpacity())
    assert [float(v) for v in text.split()] == [6, 0, 0, 12.5, 0.3, 40, 1]
    assert not prop.GetDisableGradientOpacity()
    assert function_values(prop.GetScalarOpacity()) == scalar_before
    assert function_values(prop.GetRGBTransferFunction()) == colour_before

    # the display node stands for its property; strings are accepted
    mrml.apply_gradient_opacity(display, "4 0 0.5 10 1")
    assert mrml.gradient_opacity_points(prop_node) == [(0.0, 0.5), (10.0, 1.0)]

    mrml.reset_gradient_opacity(prop_node)
    flat = mrml.gradient_opacity_points(prop_node)
    assert len(flat) >= 2 and all(y == 1.0 for _, y in flat)
    assert function_values(prop.GetScalarOpacity()) == scalar_before


@pytest.mark.parametrize("points, message", [
    ([(0, 0), (10, 1.5)], "between 0 and 1"),
    ([(10, 0), (0, 1)], "sorted"),
    ([], "at least one"),
    ([(0, float("nan"))], "finite"),
])
def test_apply_gradient_opacity_refuses_bad_points(offscreen, scene, points, message):
    prop_node = scene.AddNewNodeByClass("vtkMRMLVolumePropertyNode", "prop")
    mrml.apply_gradient_opacity(prop_node, [(0, 0.25), (5, 1)])
    with pytest.raises(GradientToolsError, match=message):
        mrml.apply_gradient_opacity(prop_node, points)
    assert mrml.gradient_opacity_points(prop_node) == [(0.0, 0.25), (5.0, 1.0)]
    scene.RemoveNode(prop_node)


def test_histogram_plot_nodes(scene):
    edges = np.linspace(0.0, 50.0, 11)
    counts = np.array([500, 300, 120, 40, 0, 7, 3, 1, 0, 2], dtype=float)
    suggestion = types.SimpleNamespace(histogram_counts=counts, histogram_edges=edges,
                                       points=[(0.0, 0.0), (15.0, 0.0), (30.0, 1.0), (50.0, 1.0)],
                                       noise_sigma=4.25)
    chart = mrml.gradient_histogram_plot(scene, suggestion)
    assert chart.IsA("vtkMRMLPlotChartNode") and chart.GetYAxisLogScale()
    assert chart.GetNumberOfPlotSeriesNodes() == 2
    series = {chart.GetNthPlotSeriesNode(i).GetAttribute("GradientTools.Role"): chart.GetNthPlotSeriesNode(i)
              for i in range(2)}
    table = series["counts"].GetTableNode().GetTable()
    x = numpy_support.vtk_to_numpy(table.GetColumnByName(series["counts"].GetXColumnName()))
    np.testing.assert_allclose(x, 0.5 * (edges[1:] + edges[:-1]))
    np.testing.assert_array_equal(numpy_support.vtk_to_numpy(table.GetColumnByName("count")), counts)
    curve = series["opacity"].GetTableNode().GetTable()
    cx = numpy_support.vtk_to_numpy(curve.GetColumnByName("gradient"))
    cy = numpy_support.vtk_to_numpy(curve.GetColumnByName("opacity"))
    np.testing.assert_allclose(np.interp([15.0, 22.5, 30.0], cx, cy), [0.0, 0.5, 1.0])
    assert "4.25" in chart.GetTitle()
    # a second call updates the same nodes instead of adding new ones
    tables = scene.GetNumberOfNodesByClass("vtkMRMLTableNode")
    suggestion.histogram_counts = counts * 2
    assert mrml.gradient_histogram_plot(scene, suggestion, chart) is chart
    assert scene.GetNumberOfNodesByClass("vtkMRMLTableNode") == tables
    table = series["counts"].GetTableNode().GetTable()
    np.testing.assert_array_equal(numpy_support.vtk_to_numpy(table.GetColumnByName("count")), counts * 2)


def test_suggestion_for_volume_node_uses_renderer_units_and_visible_range(offscreen, scene):
    from GradientToolsLib.image import opacity
    from GradientToolsLib.image.phantoms import ct_phantom
    from GradientToolsLib.image.volume_property import visible_range

    image, _ = ct_phantom(shape=(24, 32, 32), spacing=(0.5, 0.5, 2.0), noise_std=20.0, seed=1)
    node = add_volume(scene, image)
    node.SetSpacing(0.5, 0.5, 2.0)
    result = mrml.suggest_gradient_opacity_for_volume(node)
    direct = opacity.suggest_gradient_opacity(image, spacing=None)
    assert result.points == direct.points
    assert result.noise_sigma == pytest.approx(direct.noise_sigma)
    chart = mrml.gradient_histogram_plot(scene, result)
    assert chart.GetNumberOfPlotSeriesNodes() == 2

    # with a volume rendering, only what its scalar opacity shows is analysed
    display = offscreen.show_volume_rendering(node, "CT-AAA")
    prop = display.GetVolumePropertyNode()
    text = prop.GetPiecewiseFunctionString(prop.GetVolumeProperty().GetScalarOpacity())
    low, high = visible_range(text)
    assert np.isfinite(low) and low > image.min()
    bounded = (max(low, float(image.min())), min(high, float(image.max())))
    visible = mrml.suggest_gradient_opacity_for_volume(node, display, suppression=1.5)
    expected = opacity.suggest_gradient_opacity(image, visible_range=bounded, suppression=1.5)
    assert visible.points == expected.points
    assert visible.points != result.points


# ------------------------------------------------------------------------------------------------
# schemes as markups
# ------------------------------------------------------------------------------------------------


def random_directions(rng, count):
    v = rng.normal(size=(count, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def two_shell_scheme(rng):
    bvals = np.array([0, 1000, 1000, 5, 2500, 1000, 2500, 2500, 0, 1000, 2500, 1000], dtype=float)
    bvecs = random_directions(rng, bvals.size)
    bvecs[bvals <= 50] = 0.0
    return GradientScheme(bvals, bvecs)


def test_scheme_markups_counts_colours_lock_and_radius(scene, rng):
    scheme = two_shell_scheme(rng)
    nodes = mrml.scheme_to_markups(scene, scheme, center=(10.0, -5.0, 3.0), sphere_radius=40.0)
    assert [n.GetAttribute("GradientTools.BValue") for n in nodes] == ["1000.0", "2500.0"]
    assert [n.GetNumberOfControlPoints() for n in nodes] == [5, 4]  # b0s are not drawn
    colours = []
    for node in nodes:
        assert node.IsA("vtkMRMLMarkupsFiducialNode")
        assert node.GetLocked() and node.GetFixedNumberOfControlPoints()
        display = node.GetDisplayNode()
        assert display.GetSelectedColor() == display.GetColor()
        assert not display.GetPointLabelsVisibility()
        colours.append(display.GetSelectedColor())
    assert colours[0] != colours[1]
    for node, b in zip(nodes, (1000.0, 2500.0)):
        positions = np.array([node.GetNthControlPointPositionWorld(i)
                              for i in range(node.GetNumberOfControlPoints())])
        radii = np.linalg.norm(positions - [10.0, -5.0, 3.0], axis=1)
        np.testing.assert_allclose(radii, 40.0 * np.sqrt(b / 2500.0), rtol=1e-6)


def test_scheme_markups_unit_radius_antipodes_and_readback(scene, rng):
    scheme = two_shell_scheme(rng)
    nodes = mrml.scheme_to_markups(scene, scheme, radius="unit", show_antipodes=True)
    assert [n.GetNumberOfControlPoints() for n in nodes] == [10, 8]
    positions = np.array([nodes[1].GetNthControlPointPositionWorld(i) for i in range(8)])
    np.testing.assert_allclose(np.linalg.norm(positions, axis=1), mrml.DEFAULT_SPHERE_RADIUS, rtol=1e-6)
    np.testing.assert_allclose(positions[4:], -positions[:4], atol=1e-9)

    back = mrml.markups_to_scheme(nodes)
    np.testing.assert_allclose(back.bvals, scheme.bvals)
    np.testing.assert_allclose(back.bvecs, scheme.bvecs, atol=1e-9)
    shell = scheme.shell_indices()[2500]
    np.testing.assert_allclose(mrml.directions_from_markups(nodes[1]), scheme.bvecs[shell], atol=1e-9)


def test_markups_drawn_by_hand_read_as_one_shell(scene, rng):
    node = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "hand")
    directions = random_directions(rng, 6)
    slicer.util.updateMarkupsControlPointsFromArray(node, directions * 17.0)
    with pytest.raises(GradientToolsError, match="b-value"):
        mrml.markups_to_scheme([node])
    scheme = mrml.markups_to_scheme([node], b_value=700.0)
    np.testing.assert_allclose(scheme.bvals, 700.0)
    np.testing.assert_allclose(scheme.bvecs, directions, atol=1e-9)


def test_scheme_markups_refuse_b0_only(scene):
    with pytest.raises(GradientToolsError, match="only b0"):
        mrml.scheme_to_markups(scene, GradientScheme(np.zeros(3), np.zeros((3, 3))))


def test_markups_appear_in_the_3d_view(offscreen, scene, rng):
    empty = offscreen.render()
    nodes = mrml.scheme_to_markups(offscreen.scene, two_shell_scheme(rng), glyph_scale=4.0)
    offscreen.reset_camera("anterior")
    drawn = offscreen.render()
    assert drawn.shape == empty.shape
    changed = np.any(np.abs(drawn.astype(int) - empty.astype(int)) > 30, axis=-1)
    assert changed.mean() > 0.002
    # both shell colours are visible (lit spheres: compare hue by the dominant channel pattern)
    pixels = drawn[changed].astype(float)
    for node in nodes:
        colour = np.array(node.GetDisplayNode().GetSelectedColor())
        direction = colour / np.linalg.norm(colour)
        cosine = pixels @ direction / np.maximum(np.linalg.norm(pixels, axis=1), 1e-9)
        assert np.count_nonzero(cosine > 0.99) > 5


# ------------------------------------------------------------------------------------------------
# diffusion-weighted volumes
# ------------------------------------------------------------------------------------------------


def test_attach_scheme_to_dwi_and_read_back(scene, rng):
    scheme = two_shell_scheme(rng)
    dwi = scene.AddNewNodeByClass("vtkMRMLDiffusionWeightedVolumeNode", "dwi")
    slicer.util.updateVolumeFromArray(dwi, np.ones((3, 4, 5, scheme.n), np.float32))
    mrml.attach_scheme_to_dwi(dwi, scheme)
    assert dwi.GetNumberOfGradients() == scheme.n
    for i in range(scheme.n):
        assert dwi.GetBValue(i) == pytest.approx(scheme.bvals[i])
        np.testing.assert_allclose(dwi.GetDiffusionGradient(i), scheme.bvecs[i], atol=1e-12)
    back = mrml.scheme_from_dwi(dwi)
    np.testing.assert_allclose(back.bvals, scheme.bvals)
    wrong = GradientScheme(np.array([0.0, 1000.0]), np.array([[0, 0, 0], [1.0, 0, 0]]))
    with pytest.raises(GradientToolsError, match="components"):
        mrml.attach_scheme_to_dwi(dwi, wrong)
    with pytest.raises(GradientToolsError, match="DiffusionWeighted"):
        mrml.attach_scheme_to_dwi(scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode"), scheme)


# ------------------------------------------------------------------------------------------------
# scene save and reload
# ------------------------------------------------------------------------------------------------


def test_scene_save_and_reload_keeps_generated_nodes(offscreen, scene, rng, tmp_path, request, monkeypatch):
    # a relative folder, as `make demo` passes: storage nodes must not resolve it twice
    monkeypatch.chdir(tmp_path)
    os.mkdir("saved")

    matrix, spacing = oblique_matrix()
    array = rng.normal(50.0, 10.0, size=(5, 6, 7)).astype(np.float32)
    node = add_volume(scene, array, matrix, name="ct")
    gradient = mrml.compute_gradient_magnitude(node)
    display = offscreen.show_volume_rendering(node, "CT-AAA")
    points = [(0.0, 0.0), (7.5, 0.4), (20.0, 1.0)]
    mrml.apply_gradient_opacity(display, points)
    scheme = two_shell_scheme(rng)
    mrml.scheme_to_markups(scene, scheme, show_antipodes=True)

    path = mrml.save_scene_with_data(scene, "saved")
    assert os.path.isfile(path) and os.path.dirname(path) == str(tmp_path / "saved")

    other = make_offscreen(64, 64)
    request.addfinalizer(other.close)
    other.scene.SetURL(path)
    assert other.scene.Import()
    loaded = other.scene.GetFirstNodeByName("ct gradient")
    assert loaded is not None
    np.testing.assert_allclose(slicer.util.arrayFromVolume(loaded), slicer.util.arrayFromVolume(gradient))
    np.testing.assert_allclose(node_matrix(loaded), matrix, atol=1e-6)
    assert loaded.GetAttribute("GradientTools.Units") == "mm"
    ct = other.scene.GetFirstNodeByName("ct")
    vr = other.app.volume_rendering.get_vr_display_node(ct)
    assert vr is not None
    np.testing.assert_allclose(mrml.gradient_opacity_points(vr), points)
    markups = [other.scene.GetNthNodeByClass(i, "vtkMRMLMarkupsFiducialNode")
               for i in range(other.scene.GetNumberOfNodesByClass("vtkMRMLMarkupsFiducialNode"))]
    assert len(markups) == 2 and all(m.GetLocked() for m in markups)
    back = mrml.markups_to_scheme(markups)
    np.testing.assert_allclose(back.bvals, scheme.bvals)
    np.testing.assert_allclose(back.bvecs, scheme.bvecs, atol=1e-5)


# ------------------------------------------------------------------------------------------------
# panel helpers
# ------------------------------------------------------------------------------------------------


def test_generate_scheme_matches_the_library_call():
    from GradientToolsLib.diffusion.multishell import multishell_scheme

    scheme = mrml.generate_scheme("1000:8, 2000:12", b0_count=3, b0_placement="interleaved", seed=5)
    direct = multishell_scheme({1000.0: 8, 2000.0: 12}, b0=3, b0_every=10, seed=5, order=True, polarity=True)
    np.testing.assert_array_equal(scheme.bvals, direct.bvals)
    np.testing.assert_allclose(scheme.bvecs, direct.bvecs)
    b0 = scheme.b0_indices()
    assert len(b0) == 3 and b0[0] == 0 and b0[-1] > scheme.n // 2  # spread over the acquisition
    start = mrml.generate_scheme([(1000, 8)], b0_count=2, b0_placement="start", ordering="none", seed=1)
    np.testing.assert_array_equal(start.b0_indices(), [0, 1])
    with pytest.raises(GradientToolsError, match="placement"):
        mrml.generate_scheme([(1000, 8)], b0_count=2, b0_placement="middle")
    with pytest.raises(GradientToolsError, match="at least one shell"):
        mrml.generate_scheme("", b0_count=2)
