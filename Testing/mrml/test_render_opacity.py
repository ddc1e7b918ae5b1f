"""The suggested curve in Slicer's own pipeline (slicer-core + trame-slicer, offscreen GPU ray caster).

The points are applied to the vtkMRMLVolumePropertyNode of a volume-rendering display node the way
Slicer code does it (GetPiecewiseFunctionFromString, SetGradientOpacity inside StartModify/EndModify),
the view is rendered offscreen, and the image is compared with the flat-curve render.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("trame_slicer", reason="needs the 'slicer' extra")

import slicer  # noqa: E402
import vtk  # noqa: E402
from support import make_offscreen  # noqa: E402

from GradientToolsLib import suggest_gradient_opacity  # noqa: E402
from GradientToolsLib.image.phantoms import ct_phantom  # noqa: E402
from GradientToolsLib.image.volume_property import string_to_points  # noqa: E402
from GradientToolsLib.mrml.offscreen import write_png  # noqa: E402

FLAT = "4 0 1 255 1"


@pytest.fixture(scope="module")
def scene():
    s = make_offscreen(320, 240, background=None)
    image, _ = ct_phantom((48, 64, 64), (1.5, 1.5, 1.5), noise_std=25, seed=3, correlation_mm=0.8)
    node = s.add_volume(image, spacing=(1.5, 1.5, 1.5), origin=(-48, -48, -36))
    display = s.show_volume_rendering(node, "CT-Muscle")
    s.reset_camera("anterior", azimuth=30, elevation=20)
    yield s, image, node, display
    s.close()


def apply(display, text: str) -> None:
    vp = display.GetVolumePropertyNode()
    function = vtk.vtkPiecewiseFunction()
    slicer.vtkMRMLVolumePropertyNode.GetPiecewiseFunctionFromString(text, function)
    was = vp.StartModify()
    vp.SetGradientOpacity(function)
    vp.EndModify(was)


def test_volume_node_geometry(scene):
    s, image, node, _ = scene
    assert node.GetSpacing() == pytest.approx((1.5, 1.5, 1.5))
    assert node.GetOrigin() == pytest.approx((-48, -48, -36))
    assert node.GetImageData().GetSpacing() == (1.0, 1.0, 1.0)     # Slicer keeps geometry on the node
    np.testing.assert_array_equal(slicer.util.arrayFromVolume(node), image)


def test_suggested_curve_changes_the_render(scene, tmp_path):
    s, image, _, display = scene
    background = s.render()
    suggestion = suggest_gradient_opacity(image)
    apply(display, FLAT)
    flat = s.render(str(tmp_path / "flat.png"))
    apply(display, suggestion.to_string())
    # Slicer's node holds exactly the suggested points
    held = slicer.vtkMRMLVolumePropertyNode.GetPiecewiseFunctionString(
        display.GetVolumePropertyNode().GetGradientOpacity())
    np.testing.assert_allclose(string_to_points(held), suggestion.points, rtol=1e-6)
    suggested = s.render(str(tmp_path / "suggested.png"))
    assert flat.shape == suggested.shape == (240, 320, 3)
    assert (tmp_path / "flat.png").stat().st_size > 0
    # not empty: many pixels differ from the background-only corners
    corner = suggested[:8, :8].reshape(-1, 3).mean(axis=0)
    assert np.mean(np.abs(suggested.astype(float) - corner).sum(axis=2) > 30) > 0.05
    # differs from the flat-curve render
    diff = np.abs(flat.astype(int) - suggested.astype(int)).sum(axis=2)
    assert np.mean(diff > 30) > 0.02, np.mean(diff > 30)
    # noisy homogeneous tissue hidden: the suggested render lets through more of the background
    # (darker interior, as soft tissue becomes transparent)
    assert suggested.mean() < flat.mean()
    del background


def test_markups_are_drawn(scene):
    s, _, _, display = scene
    apply(display, FLAT)
    display.SetVisibility(False)
    before = s.render()
    points = s.scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "pts")
    points.CreateDefaultDisplayNodes()
    for p in [(0, 0, 0), (20, 10, 5), (-20, 0, 10)]:
        points.AddControlPoint(vtk.vtkVector3d(*p))
    points.GetDisplayNode().SetSelectedColor(1, 1, 0)
    points.GetDisplayNode().SetGlyphScale(8)
    after = s.render()
    s.scene.RemoveNode(points)
    display.SetVisibility(True)
    yellow = (after[..., 0] > 150) & (after[..., 1] > 150) & (after[..., 2] < 100)
    assert yellow.sum() > 20 and not ((before[..., 0] > 150) & (before[..., 2] < 100)).any()


def test_write_png_round_trip(tmp_path):
    rgb = np.zeros((5, 7, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)                  # top-left red
    path = tmp_path / "x.png"
    write_png(str(path), rgb)
    reader = vtk.vtkPNGReader()
    reader.SetFileName(str(path))
    reader.Update()
    from vtk.util import numpy_support

    out = numpy_support.vtk_to_numpy(reader.GetOutput().GetPointData().GetScalars()).reshape(5, 7, -1)
    np.testing.assert_array_equal(out[::-1, :, :3], rgb)       # VTK rows start at the bottom
