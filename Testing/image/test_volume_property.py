"""Transfer-function strings and volume-property files, read back by slicer-core's own classes."""

from __future__ import annotations

import numpy as np
import pytest

from GradientToolsLib import GradientToolsError
from GradientToolsLib.image.volume_property import (
    points_to_string,
    read_volume_property,
    string_to_points,
    visible_range,
    write_volume_property,
)

slicer = pytest.importorskip("slicer", reason="needs the 'slicer' extra (slicer-core)")
import vtk  # noqa: E402

POINTS = [(0.0, 0.0), (12.5, 0.0), (18.25, 1.0), (300.0, 1.0)]


def _values(function):
    out = []
    for i in range(function.GetSize()):
        node = [0.0] * 4
        function.GetNodeValue(i, node)
        out.append((node[0], node[1]))
    return out


def test_string_is_what_slicer_writes_and_reads():
    text = points_to_string(POINTS)
    assert text.split()[0] == "8"                       # N counts values, not points
    function = vtk.vtkPiecewiseFunction()
    slicer.vtkMRMLVolumePropertyNode.GetPiecewiseFunctionFromString(text, function)
    assert _values(function) == POINTS
    assert string_to_points(slicer.vtkMRMLVolumePropertyNode.GetPiecewiseFunctionString(function)) == POINTS


def test_string_round_trip_and_errors():
    assert string_to_points(points_to_string(POINTS)) == POINTS
    assert string_to_points("4 0 1 255 1") == [(0.0, 1.0), (255.0, 1.0)]
    for bad in ("", "3 0 1 2", "4 0 1 255", "4 5 0 1 1", "x", "2 0 1.5"):
        with pytest.raises(GradientToolsError):
            string_to_points(bad)
    with pytest.raises(GradientToolsError):
        points_to_string([(1, 0.5), (0, 0.5)])


def test_visible_range():
    ct_aaa = "12 -3024 0 143.556 0 166.222 0.686275 214.389 0.696078 419.736 0.833333 3071 0.803922"
    assert visible_range(ct_aaa) == (143.556, np.inf)
    assert visible_range([(0, 0), (10, 1), (20, 0)]) == (0.0, 20.0)
    with pytest.raises(GradientToolsError):
        visible_range([(0, 0), (1, 0)])


def _nodes(json_format: bool):
    """A scene with a volume property node and Slicer's storage node for the format."""
    scene = slicer.vtkMRMLScene()
    node = slicer.vtkMRMLVolumePropertyNode()
    scene.AddNode(node)
    storage = slicer.vtkMRMLVolumePropertyJsonStorageNode() if json_format \
        else slicer.vtkMRMLVolumePropertyStorageNode()
    scene.AddNode(storage)
    return scene, node, storage


def _read_with_slicer(path: str, json_format: bool):
    scene, node, storage = _nodes(json_format)
    storage.SetFileName(path)
    assert storage.ReadData(node) == 1
    return node


@pytest.mark.parametrize("suffix", [".vp.json", ".vp"])
def test_files_read_by_slicer_storage_nodes(tmp_path, suffix):
    path = str(tmp_path / ("property" + suffix))
    write_volume_property(path, POINTS)
    node = _read_with_slicer(path, suffix == ".vp.json")
    np.testing.assert_allclose(_values(node.GetGradientOpacity()), POINTS, rtol=1e-9)
    scalar = _values(node.GetScalarOpacity())
    assert scalar[0] == (-3024.0, 0.0) and len(scalar) == 6           # CT-AAA scalar opacity kept
    assert node.GetColor().GetSize() == 6
    np.testing.assert_allclose(read_volume_property(path)["gradient_opacity"], POINTS, rtol=1e-9)


@pytest.mark.parametrize("suffix", [".vp.json", ".vp"])
def test_reads_files_written_by_slicer(tmp_path, suffix):
    scene, node, storage = _nodes(suffix == ".vp.json")
    slicer.vtkMRMLVolumePropertyNode.GetPiecewiseFunctionFromString(points_to_string(POINTS),
                                                                    node.GetGradientOpacity())
    slicer.vtkMRMLVolumePropertyNode.GetPiecewiseFunctionFromString("4 -100 0 500 0.7",
                                                                    node.GetScalarOpacity())
    color = vtk.vtkColorTransferFunction()
    color.AddRGBPoint(-100, 0, 0, 0)
    color.AddRGBPoint(500, 1, 0.5, 0.25)
    node.SetColor(color)
    path = str(tmp_path / ("slicer" + suffix))
    storage.SetFileName(path)
    assert storage.WriteData(node) == 1
    got = read_volume_property(path)
    np.testing.assert_allclose(got["gradient_opacity"], POINTS, rtol=1e-9)
    np.testing.assert_allclose(got["scalar_opacity"], [(-100, 0), (500, 0.7)], rtol=1e-9)
    np.testing.assert_allclose(got["color"], [(-100, 0, 0, 0), (500, 1, 0.5, 0.25)], rtol=1e-9)


def test_grey_ramp_preset_and_errors(tmp_path):
    path = str(tmp_path / "g.vp")
    write_volume_property(path, "2 0 1", preset="grey ramp", scalar_range=(0, 100))
    got = read_volume_property(path)
    assert got["scalar_opacity"] == [(0.0, 0.0), (100.0, 1.0)]
    assert got["gradient_opacity"] == [(0.0, 1.0)]
    with pytest.raises(GradientToolsError):
        write_volume_property(str(tmp_path / "x.txt"), POINTS)
    with pytest.raises(GradientToolsError):
        write_volume_property(str(tmp_path / "y.vp"), POINTS, preset="nope")
    with pytest.raises(GradientToolsError):
        write_volume_property(str(tmp_path / "missing" / "z.vp"), POINTS)
    assert not (tmp_path / "x.txt").exists()
