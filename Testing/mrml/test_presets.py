"""The presets written by GradientTools against Slicer's own preset nodes (slicer-core's volume-rendering
logic reads Slicer's presets.xml), and the choice of preset from the data.

Each preset's scalar opacity, colour and lighting must be what Slicer holds for that name; a file
written with it must read back, through Slicer's storage node, as the same functions and lighting.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("trame_slicer", reason="needs the 'slicer' extra")

import slicer  # noqa: E402

from GradientToolsLib.image.phantoms import ct_phantom, mri_phantom  # noqa: E402
from GradientToolsLib.image.presets import PRESETS, choose_preset, preset_functions  # noqa: E402
from GradientToolsLib.image.volume_property import write_volume_property  # noqa: E402

SLICER_PRESETS = [p for p in PRESETS if p != "grey ramp"]


def _opacity_points(function):
    value = [0.0] * 4
    out = []
    for i in range(function.GetSize()):
        function.GetNodeValue(i, value)
        out.append((value[0], value[1]))
    return out


def _color_points(function):
    value = [0.0] * 6
    out = []
    for i in range(function.GetSize()):
        function.GetNodeValue(i, value)
        out.append(tuple(value[:4]))
    return out


def _lighting(volume_property):
    return {"shade": bool(volume_property.GetShade()), "diffuse": volume_property.GetDiffuse(),
            "ambient": volume_property.GetAmbient(), "specular": volume_property.GetSpecular(),
            "specular_power": volume_property.GetSpecularPower()}


@pytest.fixture(scope="module")
def slicer_presets(offscreen):
    logic = offscreen.app.volume_rendering._logic
    nodes = {name: logic.GetPresetByName(name) for name in SLICER_PRESETS}
    assert all(node is not None for node in nodes.values()), nodes
    return nodes


@pytest.mark.parametrize("name", SLICER_PRESETS)
def test_preset_numbers_are_slicers(slicer_presets, name):
    node = slicer_presets[name]
    ours = preset_functions(name)
    np.testing.assert_allclose(ours["scalar_opacity"], _opacity_points(node.GetScalarOpacity()), rtol=1e-6)
    np.testing.assert_allclose(ours["color"], _color_points(node.GetColor()), rtol=1e-6)
    theirs = _lighting(node.GetVolumeProperty())
    assert ours["lighting"]["shade"] == theirs.pop("shade")
    for key, value in theirs.items():
        assert ours["lighting"][key] == pytest.approx(value), key


@pytest.mark.parametrize("suffix", [".vp.json", ".vp"])
@pytest.mark.parametrize("name", ["MR-Default", "MR-T2-Brain"])
def test_mr_preset_file_read_by_slicer(tmp_path, slicer_presets, name, suffix):
    path = str(tmp_path / ("mr" + suffix))
    write_volume_property(path, [(0.0, 0.0), (5.0, 1.0)], preset=name, scalar_range=(0, 255))
    scene = slicer.vtkMRMLScene()
    node = slicer.vtkMRMLVolumePropertyNode()
    scene.AddNode(node)
    storage = slicer.vtkMRMLVolumePropertyJsonStorageNode() if suffix == ".vp.json" \
        else slicer.vtkMRMLVolumePropertyStorageNode()
    scene.AddNode(storage)
    storage.SetFileName(path)
    assert storage.ReadData(node) == 1
    preset = slicer_presets[name]
    np.testing.assert_allclose(_opacity_points(node.GetScalarOpacity()),
                               _opacity_points(preset.GetScalarOpacity()), rtol=1e-6)
    np.testing.assert_allclose(_opacity_points(node.GetGradientOpacity()), [(0, 0), (5, 1)])
    got, want = _lighting(node.GetVolumeProperty()), _lighting(preset.GetVolumeProperty())
    assert got == pytest.approx(want)


def test_choose_preset_from_the_data():
    ct, _ = ct_phantom((24, 40, 40), (1, 1, 1), noise_std=20, seed=1)
    assert choose_preset(ct)[0] == "CT-AAA"
    padded = ct.copy()
    padded[:, :4] = -3024                                   # scanner padding
    assert choose_preset(padded)[0] == "CT-AAA"
    mri, _, _ = mri_phantom((24, 40, 40), noise_std=10)
    name, why = choose_preset(mri)
    assert name == "MR-Default" and "Hounsfield" in why
    # a CT stored without its rescale (air at 0): taken for MRI, the documented limit
    assert choose_preset(ct.astype(np.int32) + 1024)[0] == "MR-Default"
    # a few negative voxels (ringing, a filter) do not make an MRI a CT
    ringing = mri.astype(np.float32)
    ringing[0, 0, :3] = -1000
    assert choose_preset(ringing)[0] == "MR-Default"


def test_mr_preset_is_mapped_only_when_the_data_lie_below_it():
    kept = preset_functions("MR-Default", scalar_range=(0, 254))
    assert kept["rescaled_from"] is None and kept["scalar_opacity"][-1][0] == 1024.0
    mapped = preset_functions("MR-Default", scalar_range=(0.0, 2.13))
    assert mapped["rescaled_from"] == (0.0, 1024.0)
    xs = [p[0] for p in mapped["scalar_opacity"]]
    assert xs[0] == 0.0 and xs[-1] == pytest.approx(2.13)
    assert [p[1] for p in mapped["scalar_opacity"]] == [p[1] for p in kept["scalar_opacity"]]
    ct = preset_functions("CT-AAA", scalar_range=(0.0, 2.13))   # physical units: never rescaled
    assert ct["rescaled_from"] is None and ct["scalar_opacity"][0][0] == -3024.0
