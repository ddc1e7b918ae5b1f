"""The app's session without a browser: the same scene, bridge calls and queue the page drives.

References: the MRML bridge called directly on the node (as the Slicer module calls it), Slicer's
own volume reader (slicer-core's vtkSlicerVolumesLogic through trame-slicer), SimpleITK for the
test file, the library's scheme readers for the downloads, and Slicer's GPU ray caster (offscreen)
for what the view shows.
"""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest

pytest.importorskip("trame_slicer", reason="needs the 'slicer' extra")
pytest.importorskip("matplotlib", reason="needs the 'plot' extra")

from GradientToolsLib import mrml  # noqa: E402
from GradientToolsLib.app.session import Session  # noqa: E402
from GradientToolsLib.diffusion.formats import FORMATS  # noqa: E402
from GradientToolsLib.diffusion.readers import read_scheme  # noqa: E402
from GradientToolsLib.errors import GradientToolsError  # noqa: E402
from GradientToolsLib.image.volume_property import FLAT  # noqa: E402
from GradientToolsLib.mrml import app_scene  # noqa: E402


@pytest.fixture(scope="module")
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def session(loop):
    session = Session(width=160, height=120)
    loop.run_until_complete(session.load_phantom())
    yield session
    session.close()


def matrix_of(node) -> np.ndarray:
    import vtk

    m = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(m)
    return np.array([[m.GetElement(r, c) for c in range(4)] for r in range(4)])


def volume_count(scene) -> int:
    return scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode")


def test_the_gradient_computed_off_the_scene_is_the_bridges_on_the_node(session, loop):
    before = volume_count(session.scene)
    gradient = loop.run_until_complete(session.compute_gradient("sobel", units="voxel"))
    assert volume_count(session.scene) == before + 1
    assert gradient.GetScene() is session.scene
    reference = mrml.compute_gradient_magnitude(session.active, method="sobel", units="voxel")
    try:
        np.testing.assert_array_equal(mrml.volume_array(gradient), mrml.volume_array(reference))
        np.testing.assert_array_equal(matrix_of(gradient), matrix_of(session.active))
        for name in ("Method", "Units", "Sigma"):
            key = mrml.ATTRIBUTE_PREFIX + name
            assert gradient.GetAttribute(key) == reference.GetAttribute(key)
        assert gradient.GetAttribute(mrml.ATTRIBUTE_PREFIX + "SourceNodeID") == session.active.GetID()
        assert session.display_of(gradient).GetVisibility()
        assert not session.display_of(session.active).GetVisibility()
    finally:
        session.scene.RemoveNode(reference)
    # computing again overwrites the same node instead of adding one
    again = loop.run_until_complete(session.compute_gradient("central", units="mm"))
    assert again is gradient and volume_count(session.scene) == before + 1
    assert gradient.GetAttribute(mrml.ATTRIBUTE_PREFIX + "Method") == "central"


def test_the_suggestion_is_the_bridges_and_comes_with_a_histogram_png(session, loop):
    from PIL import Image

    suggestion, png = loop.run_until_complete(session.suggest(suppression=1.5, visible_only=True))
    display = session.display_of(session.active)
    reference = mrml.suggest_gradient_opacity_for_volume(session.active, display, suppression=1.5)
    np.testing.assert_allclose(suggestion.points, reference.points)
    assert suggestion.noise_sigma == pytest.approx(reference.noise_sigma)
    # the phantom's noise is 40 HU (white noise): the estimate must be near it
    assert suggestion.noise_sigma == pytest.approx(40.0, rel=0.15)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size[0] > 300 and image.size[1] > 200
    pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 10  # a plot, not a blank image


def test_apply_changes_slicers_rendering_and_reset_brings_it_back(session, loop):
    loop.run_until_complete(session.set_show("volume"))
    loop.run_until_complete(session.suggest())
    flat = session.offscreen.render()
    applied_points = loop.run_until_complete(session.apply_opacity())
    display = session.display_of(session.active)
    np.testing.assert_allclose(mrml.gradient_opacity_points(display), applied_points)
    applied = session.offscreen.render()
    loop.run_until_complete(session.reset_opacity())
    np.testing.assert_allclose(mrml.gradient_opacity_points(display), FLAT)
    back = session.offscreen.render()
    assert np.abs(applied.astype(float) - flat).mean() > 2.0
    np.testing.assert_array_equal(back, flat)


def test_generate_shows_one_point_list_per_shell_around_the_volume_and_replaces_it(session, loop):
    scheme, report = loop.run_until_complete(session.generate_scheme("1000:12, 2500:20", b0_count=2))
    assert [shell["n"] for shell in report["shells"]] == [12, 20]
    scheme, report = loop.run_until_complete(session.generate_scheme("700:9", b0_count=1, seed=3))
    nodes = app_scene.scheme_markups(session.scene)
    assert len(nodes) == 1 and nodes[0].GetNumberOfControlPoints() == 9
    center, radius = app_scene.volume_sphere(session.active)
    points = np.array([nodes[0].GetNthControlPointPositionWorld(i) for i in range(9)])
    # markups store float32 positions
    np.testing.assert_allclose(np.linalg.norm(points - center, axis=1), 0.9 * radius, rtol=1e-6)
    assert mrml.markups_to_scheme(nodes).n == scheme.n
    assert session.show == "scheme" and nodes[0].GetDisplayNode().GetVisibility()
    assert not session.display_of(session.active).GetVisibility()


def test_a_new_suggestion_replaces_an_applied_one_in_the_rendering(session, loop):
    """The knob's path: suggest, apply, move the knob (suggest again): the rendering follows."""
    gentle, _ = loop.run_until_complete(session.suggest(suppression=1.0))
    loop.run_until_complete(session.apply_opacity())
    stronger, _ = loop.run_until_complete(session.suggest(suppression=1.5))
    display = session.display_of(session.active)
    np.testing.assert_allclose(mrml.gradient_opacity_points(display), stronger.points)
    # the ramp's start is the noise threshold times the knob
    assert stronger.points[1][0] == pytest.approx(1.5 * gentle.points[1][0], rel=1e-6)
    loop.run_until_complete(session.reset_opacity())


def test_a_preset_from_the_page_is_slicers_preset(session, loop):
    import slicer

    loop.run_until_complete(session.set_preset("CT-AAA"))
    rendered = session.display_of(session.active).GetVolumePropertyNode().GetVolumeProperty()
    preset = session.offscreen.app.volume_rendering.get_preset_property("CT-AAA").volume_property
    text = slicer.vtkMRMLVolumePropertyNode.GetPiecewiseFunctionString
    assert text(rendered.GetScalarOpacity()) == text(preset.GetScalarOpacity())
    assert session.volume_info()["preset"] == "CT-AAA"
    loop.run_until_complete(session.set_preset("CT-Muscle"))


def test_a_gradient_made_off_the_scene_goes_under_the_inputs_parent_transform(offscreen):
    """As the bridge's own output does (the private copy has no transform to carry)."""
    import vtk

    node = offscreen.add_volume(np.arange(6 * 7 * 8, dtype=np.float32).reshape(6, 7, 8), name="moved")
    transform = offscreen.scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    matrix = vtk.vtkMatrix4x4()
    matrix.SetElement(0, 3, 25.0)
    transform.SetMatrixTransformToParent(matrix)
    node.SetAndObserveTransformNodeID(transform.GetID())
    detached = app_scene.detached_volume(node)
    adopted = app_scene.adopt_volume(offscreen.scene, mrml.compute_gradient_magnitude(detached.node),
                                     source_node=node)
    direct = mrml.compute_gradient_magnitude(node)
    try:
        assert adopted.GetTransformNodeID() == direct.GetTransformNodeID() == transform.GetID()
        np.testing.assert_array_equal(mrml.volume_array(adopted), mrml.volume_array(direct))
    finally:
        for item in (adopted, direct, node, transform):
            offscreen.scene.RemoveNode(item)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_download_reads_back_as_the_scheme(session, loop, fmt, tmp_path):
    if session.scheme is None:
        loop.run_until_complete(session.generate_scheme("1000:10, 2000:15", b0_count=2))
    paths = []
    for name, content in session.scheme_files(fmt):
        path = tmp_path / name
        path.write_bytes(content)
        paths.append(str(path))
    options = {}
    if fmt == "ge":  # GE acquires the leading b=0 volumes itself ("number of T2"), outside the file
        options["t2"] = int(np.argmax(session.scheme.bvals > 50))
    back = read_scheme(paths if len(paths) > 1 else paths[0], b_max=session.scheme.b_max, **options)
    np.testing.assert_allclose(back.bvals, session.scheme.bvals, atol=0.5)
    np.testing.assert_allclose(np.abs(np.sum(back.bvecs * session.scheme.bvecs, axis=1)),
                               (session.scheme.bvals > 50).astype(float), atol=1e-5)


def test_actions_from_two_tabs_at_once_queue_and_leave_a_consistent_scene(session, loop):
    async def two_tabs():
        first = [session.generate_scheme("1000:8", b0_count=1), session.suggest(), session.compute_gradient(),
                 session.apply_opacity()]
        second = [session.generate_scheme("1000:6, 2000:10", b0_count=1), session.reset_opacity(),
                  session.suggest(suppression=2.0)]
        # the two tabs' clicks interleaved, all submitted before the first one finishes
        clicks = [first[0], second[0], first[1], second[1], first[2], second[2], first[3]]
        return await asyncio.gather(*clicks, return_exceptions=True)

    gradients_before = volume_count(session.scene)
    results = loop.run_until_complete(two_tabs())
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    # in arrival order: the second tab's scheme was generated last, its suggestion (suppression 2) is
    # the one kept, and the first tab's apply (last) put it into the rendering
    assert sorted(shell["b"] for shell in session.report["shells"]) == [1000, 2000]
    assert len(app_scene.scheme_markups(session.scene)) == 2
    assert session.suggestion.suppression == 2.0
    np.testing.assert_allclose(mrml.gradient_opacity_points(session.display_of(session.active)),
                               session.suggestion.points)
    assert volume_count(session.scene) == gradients_before  # the gradient node was reused
    assert not session.jobs.status.busy and session.jobs.status.waiting == 0


def write_oblique_nrrd(path) -> np.ndarray:
    """A small oblique int16 NRRD written by SimpleITK (LPS), independent of the library's writer."""
    import SimpleITK as sitk

    array = (np.arange(6 * 7 * 8, dtype=np.int16).reshape(6, 7, 8) * 3 - 400).astype(np.int16)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.7, 0.9, 2.5))
    image.SetOrigin((-12.0, 30.5, 7.25))
    angle = np.radians(20.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    image.SetDirection(tuple(rotation.ravel()))
    sitk.WriteImage(image, str(path))
    return array


def test_an_uploaded_nrrd_has_the_geometry_slicers_own_reader_gives(session, loop, tmp_path):
    path = tmp_path / "oblique.nrrd"
    array = write_oblique_nrrd(path)
    node = loop.run_until_complete(session.load_upload("oblique.nrrd", path.read_bytes()))
    assert session.active is node and node.GetName() == "oblique"
    reference = session.offscreen.app.io_manager.load_volumes([str(path)])[0]
    try:
        np.testing.assert_allclose(matrix_of(node), matrix_of(reference), atol=1e-9)
        np.testing.assert_array_equal(mrml.volume_array(node), mrml.volume_array(reference))
        np.testing.assert_array_equal(mrml.volume_array(node), array)
    finally:
        session.scene.RemoveNode(reference)
    assert session.volume_info()["preset"] == "CT-Muscle"  # values below -200: a CT preset
    loop.run_until_complete(session.select_volume(session.volumes[0].GetID()))
    assert session.active is session.volumes[0]


@pytest.mark.parametrize("name, content, message", [
    ("scan.nhdr", b"NRRD0004\n", "single-file volume"),
    ("scan.dcm", b"\x00" * 10, "single-file volume"),
    ("broken.nrrd", b"not a nrrd file at all", "cannot read image file"),
])
def test_a_bad_upload_names_the_problem_and_changes_nothing(session, loop, name, content, message):
    before = (len(session.volumes), session.active)
    with pytest.raises(GradientToolsError, match=message):
        loop.run_until_complete(session.load_upload(name, content))
    assert (len(session.volumes), session.active) == before


def test_actions_that_need_an_earlier_one_say_so(loop):
    fresh = Session(width=32, height=32)
    try:
        for action, message in ((fresh.suggest(), "load a volume"), (fresh.apply_opacity(), "suggest"),
                                (fresh.set_show("scheme"), "generate a scheme")):
            with pytest.raises(GradientToolsError, match=message):
                loop.run_until_complete(action)
        with pytest.raises(GradientToolsError, match="generate a scheme"):
            fresh.scheme_files("fsl")
    finally:
        fresh.close()
