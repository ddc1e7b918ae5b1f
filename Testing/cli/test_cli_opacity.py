"""``gradienttools opacity`` end to end (in-process, and one real process)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from support import run_cli

from GradientToolsLib import suggest_gradient_opacity
from GradientToolsLib.image.phantoms import ct_phantom
from GradientToolsLib.image.volume_io import read_volume, write_volume
from GradientToolsLib.image.volume_property import read_volume_property, string_to_points


@pytest.fixture(scope="module")
def ct_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("opacity")
    image, labels = ct_phantom((32, 48, 48), (0.8, 0.8, 2.5), noise_std=20, seed=5, correlation_mm=0.6)
    path = str(folder / "ct.nrrd")
    write_volume(path, image)
    mask = str(folder / "mask.nrrd")
    write_volume(mask, (labels != 0).astype(np.uint8))
    return path, mask


def test_json_output_matches_the_library(ct_file):
    path, _ = ct_file
    done = run_cli("opacity", path, "--json")
    assert done.code == 0
    out = json.loads(done.out)
    volume = read_volume(path)
    expected = suggest_gradient_opacity(volume.array)
    np.testing.assert_allclose(out["points"], expected.points)
    assert out["noise_sigma"] == pytest.approx(expected.noise_sigma)
    assert out["noise_p99"] == pytest.approx(expected.noise_p99)
    np.testing.assert_allclose(string_to_points(out["string"]), expected.points, rtol=1e-8)
    assert len(out["histogram"]["counts"]) + 1 == len(out["histogram"]["edges"])


def test_text_output_files_and_knobs(ct_file, tmp_path):
    path, mask = ct_file
    vp_json = str(tmp_path / "ct.vp.json")
    vp = str(tmp_path / "ct.vp")
    png = str(tmp_path / "ct.png")
    done = run_cli("opacity", path, "--output", vp_json, "--plot", png, "--suppression", "1.5")
    assert done.code == 0
    text = done.out
    assert "string: " in text and "per voxel step" in text
    printed = string_to_points(text.split("string: ")[1].splitlines()[0])
    np.testing.assert_allclose(read_volume_property(vp_json)["gradient_opacity"], printed, rtol=1e-8)
    with open(png, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert run_cli("opacity", path, "--output", vp, "--mask", mask, "--visible-range", "-200", "2000",
                   "--preset", "grey ramp").code == 0
    got = read_volume_property(vp)
    volume = read_volume(path)
    assert got["scalar_opacity"] == [(float(volume.array.min()), 0.0), (float(volume.array.max()), 1.0)]
    one = suggest_gradient_opacity(volume.array)
    stronger = string_to_points(text.split("string: ")[1].splitlines()[0])
    assert stronger[1][0] == pytest.approx(1.5 * one.points[1][0], rel=1e-6)


@pytest.mark.parametrize("args,message", [
    (["missing.nrrd"], "not found"),
    (["{ct}", "--output", "{tmp}/x.txt"], ".vp.json or .vp"),
    (["{ct}", "--plot", "{tmp}/x.jpg"], ".png"),
    (["{ct}", "--output", "{tmp}/nofolder/x.vp"], "does not exist"),
    (["{ct}", "--suppression", "-1"], "suppression"),
    (["{ct}", "--visible-range", "5", "1"], "visible_range"),
    (["{ct}", "--mask", "{ct_small}"], "mask shape"),
])
def test_errors_one_line_exit_2_no_output(ct_file, tmp_path, args, message):
    path, _ = ct_file
    small = str(tmp_path / "small.nrrd")
    write_volume(small, np.zeros((2, 3, 4), np.uint8))
    argv = ["opacity"] + [a.format(ct=path, tmp=tmp_path, ct_small=small) for a in args]
    done = run_cli(*argv)
    assert done.code == 2
    err = done.err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == ["small.nrrd"]


def test_real_process(ct_file, tmp_path):
    path, _ = ct_file
    out = tmp_path / "p.vp.json"
    done = run_cli("opacity", path, "--json", "--output", out, process=True)
    assert done.code == 0, done.err
    assert json.loads(done.out)["output"] == str(out) and out.exists()
    bad = run_cli("opacity", tmp_path / "none.nrrd", process=True)
    assert bad.code == 2 and "Traceback" not in bad.err and bad.err.count("\n") == 1


def test_warnings_go_to_stderr_one_line_each_and_exit_0(tmp_path):
    # pure noise: the ramp would end beyond the renderer's clamp and is compressed below it
    path = str(tmp_path / "noise.nrrd")
    write_volume(path, np.random.default_rng(3).normal(100.0, 10.0, (32, 48, 48)).astype(np.float32))
    done = run_cli("opacity", path)
    assert done.code == 0
    lines = done.err.splitlines()
    assert lines and all(line.startswith("gradienttools opacity: warning: ") for line in lines), lines
    assert any("compressed" in line for line in lines)
    assert "string: " in done.out
    as_json = run_cli("opacity", path, "--json")
    assert as_json.code == 0
    warnings = json.loads(as_json.out)["warnings"]
    assert [f"gradienttools opacity: warning: {w}" for w in warnings] == as_json.err.splitlines()


def test_no_warning_on_a_normal_ct(ct_file):
    done = run_cli("opacity", ct_file[0])
    assert done.code == 0 and done.err == ""


@pytest.mark.parametrize("what", ["range", "mask"])
def test_empty_visible_range_or_mask_exit_2(ct_file, tmp_path, what):
    path, mask = ct_file
    if what == "range":
        args = ["--visible-range", "5000", "6000"]
        message = "visible range"
    else:
        empty = str(tmp_path / "empty.nrrd")
        write_volume(empty, np.zeros(read_volume(path).array.shape, np.uint8))
        args = ["--mask", empty]
        message = "no voxel"
    out = str(tmp_path / "x.vp.json")
    done = run_cli("opacity", path, *args, "--output", out)
    assert done.code == 2 and done.err.count("\n") == 1 and message in done.err, done.err
    assert done.err.startswith("gradienttools opacity: error: ")
    assert not os.path.exists(out)


def test_an_mri_gets_an_mr_preset_chosen_from_the_data(tmp_path):
    from GradientToolsLib.image.phantoms import mri_phantom
    from GradientToolsLib.image.presets import preset_functions

    image, _, _ = mri_phantom((24, 40, 40), noise_std=10)
    path = str(tmp_path / "mri.nrrd")
    write_volume(path, image.astype(np.float32))
    out = str(tmp_path / "mri.vp.json")
    done = run_cli("opacity", path, "--output", out)
    assert done.code == 0
    assert "preset: MR-Default (chosen from the data" in done.out
    written = read_volume_property(out)
    np.testing.assert_allclose(written["scalar_opacity"], preset_functions("MR-Default")["scalar_opacity"])
    assert written["scalar_opacity"][0][0] == 0.0                      # not CT-AAA's -3024 HU
    as_json = json.loads(run_cli("opacity", path, "--json", "--preset", "MR-T2-Brain").out)
    assert as_json["preset"] == "MR-T2-Brain" and as_json["preset_chosen"] == "as given by --preset"


def test_a_ct_gets_ct_aaa(ct_file):
    done = run_cli("opacity", ct_file[0], "--json")
    assert json.loads(done.out)["preset"] == "CT-AAA"
