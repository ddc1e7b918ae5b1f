"""Hostile arguments to the Python API and the MRML bridge: each must raise GradientToolsError (a
ValueError) naming the argument, never a raw numpy/builtin error, never a silent coercion, and leave
its inputs unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import GradientToolsLib as G
from GradientToolsLib.errors import GradientToolsError

VOLUME = np.random.default_rng(0).normal(100, 10, (12, 12, 12)).astype(np.float32)


def _scheme():
    return G.GradientScheme([0, 1000, 1000, 1000], [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])


CASES = [
    ("restarts=0", lambda: G.electrostatic_directions(10, restarts=0), "restarts"),
    ("seed=-1", lambda: G.electrostatic_directions(10, seed=-1), "seed"),
    ("seed=1.5", lambda: G.electrostatic_directions(10, seed=1.5), "seed"),
    ("n=2.7", lambda: G.electrostatic_directions(2.7), "integer"),
    ("n=True", lambda: G.electrostatic_directions(True), "integer"),
    ("n too many", lambda: G.electrostatic_directions(10**6), "1000"),
    ("b0_count=1.5", lambda: G.generate_scheme("1000:10", b0_count=1.5), "b0 count"),
    ("multishell b0=1.5", lambda: G.multishell_scheme({1000: 10}, b0=1.5), "b0 count"),
    ("multishell restarts=0", lambda: G.multishell_scheme({1000: 10, 2000: 10}, restarts=0), "restarts"),
    ("shell b=30", lambda: G.parse_shells({30: 10}), "b=0"),
    ("shells 50 apart", lambda: G.parse_shells({1000: 10, 1050: 10}), "apart"),
    ("format_shells text", lambda: G.format_shells("x"), "shell"),
    ("split starts=0", lambda: G.split_scheme(_scheme(), 2, starts=0), "starts"),
    ("split None", lambda: G.split_scheme(None, 2), "GradientScheme"),
    ("split parts=2.5", lambda: G.split_scheme(_scheme(), 2.5), "parts"),
    ("report None", lambda: G.scheme_report(None), "GradientScheme"),
    ("energy NaN", lambda: G.energy(np.full((4, 3), np.nan)), "non-finite"),
    ("scheme b=1e308", lambda: G.GradientScheme([0, 1e308], [[0, 0, 0], [1, 0, 0]]), "above"),
    ("scheme NaN vector b>0", lambda: G.GradientScheme([0, 1000], [[0, 0, 0], [np.nan] * 3]), "not a number"),
    ("bins='a'", lambda: G.suggest_gradient_opacity(VOLUME, (1, 1, 1), bins="a"), "bins"),
    ("bins=2.5", lambda: G.suggest_gradient_opacity(VOLUME, (1, 1, 1), bins=2.5), "bins"),
    ("max_blocks=0", lambda: G.suggest_gradient_opacity(VOLUME, (1, 1, 1), max_blocks=0), "max_blocks"),
    ("gradient NaN", lambda: G.suggest_gradient_opacity(VOLUME, (1, 1, 1),
                                                        gradient=np.full_like(VOLUME, np.nan)), "gradient"),
    ("gradient complex", lambda: G.suggest_gradient_opacity(VOLUME, (1, 1, 1),
                                                            gradient=VOLUME.astype(complex)), "gradient"),
    ("suppression 0", lambda: G.suggest_gradient_opacity(VOLUME, (1, 1, 1), suppression=0), "suppression"),
    ("noise seed=-1", lambda: G.estimate_gradient_noise(VOLUME, seed=-1), "seed"),
    ("spacing 1e-20", lambda: G.gradient_magnitude(VOLUME * 1e20, (1e-20, 1, 1)), "float32"),
    ("spacing 0", lambda: G.gradient_magnitude(VOLUME, (0, 1, 1)), "spacing"),
    ("Volume origin (1, 2)", lambda: G.Volume(VOLUME, (1, 1, 1), origin=(1, 2)), "origin"),
    ("Volume singular", lambda: G.Volume(VOLUME, (1, 1, 1), direction=np.zeros((3, 3))), "direction"),
    ("ct_phantom seed=-1", lambda: G.ct_phantom((4, 4, 4), seed=-1), "seed"),
    ("dwi_phantom snr=0", lambda: G.dwi_phantom([0, 1000], [[0, 0, 0], [1, 0, 0]], snr=0), "snr"),
    ("points NaN", lambda: G.points_to_string([(np.nan, 0)]), "finite"),
]


@pytest.mark.parametrize("name, call, message", CASES, ids=[c[0] for c in CASES])
def test_bad_arguments_raise_a_named_error(name, call, message):
    before = VOLUME.copy()
    with pytest.raises(GradientToolsError, match=message) as info:
        call()
    assert isinstance(info.value, ValueError)
    np.testing.assert_array_equal(VOLUME, before)


# -------------------------------------------------------------------- MRML bridge
def test_a_dwi_node_is_refused_as_gradient_output(scene):
    import slicer

    from GradientToolsLib import mrml

    source = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "ct")
    slicer.util.updateVolumeFromArray(source, VOLUME)
    dwi = scene.AddNewNodeByClass("vtkMRMLDiffusionWeightedVolumeNode", "dwi")
    slicer.util.updateVolumeFromArray(dwi, np.ones((3, 4, 5, 4), np.float32))
    with pytest.raises(GradientToolsError, match="plain scalar volume"):
        mrml.compute_gradient_magnitude(source, dwi)
    assert slicer.util.arrayFromVolume(dwi).shape == (3, 4, 5, 4)      # untouched


@pytest.mark.parametrize("call, message", [
    (lambda m, s: m.scheme_to_markups(s, None), "scheme"),
    (lambda m, s: m.scheme_to_markups(None, _scheme()), "scene"),
    (lambda m, s: m.compute_gradient_magnitude(None), "volume"),
])
def test_missing_nodes_are_named(scene, call, message):
    from GradientToolsLib import mrml

    with pytest.raises(GradientToolsError, match=message):
        call(mrml, scene)


def test_an_image_whose_values_do_not_fill_its_dimensions_is_refused(scene):
    import vtk

    from GradientToolsLib import mrml

    node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "broken")
    image = vtk.vtkImageData()
    image.SetDimensions(4, 5, 6)
    scalars = vtk.vtkFloatArray()
    scalars.SetNumberOfValues(10)                               # 120 declared
    image.GetPointData().SetScalars(scalars)
    node.SetAndObserveImageData(image)
    with pytest.raises(GradientToolsError, match="inconsistent"):
        mrml.compute_gradient_magnitude(node)
