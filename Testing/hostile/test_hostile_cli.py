"""Hostile input on the command line: every case must end with exit status 2, one stderr line naming
the problem, no output (nor temporary) left behind, and the input's bytes unchanged.

Each case builds its own files in a fresh folder, hashes every file there, runs the command (a real
process when signals or the interpreter matter, in-process otherwise) and checks the four promises.
"""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys

import numpy as np
import pytest
import SimpleITK as sitk
from support import run_cli


def _hashes(folder):
    out = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as handle:
                out[name] = hashlib.sha256(handle.read()).hexdigest()
    return out


def assert_refused(folder, args, message, *, process=False, limit_bytes=None):
    """Run ``gradienttools ARGS`` in ``folder``; check exit 2, one line with ``message``, nothing
    written and nothing changed."""
    before = _hashes(folder)
    names_before = set(os.listdir(folder))
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        if limit_bytes is None:
            code, out, err = run_cli(*args, process=process)
        else:
            def cap():
                resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

            done = subprocess.run([sys.executable, "-m", "GradientToolsLib", *map(str, args)],
                                  capture_output=True, text=True, preexec_fn=cap)
            code, err = done.returncode, done.stderr
    finally:
        os.chdir(cwd)
    lines = err.strip().splitlines()
    assert code == 2, (args, code, err)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert message in lines[0], (message, lines[0])
    assert set(os.listdir(folder)) == names_before, "an output or temporary was left behind"
    assert _hashes(folder) == before, "an input was modified"
    return lines[0]


def write(path, array, spacing=(0.9, 0.8, 2.0), compress=False):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path), compress)


@pytest.fixture
def ct(tmp_path):
    array = np.random.default_rng(0).normal(100, 10, (12, 14, 16)).astype(np.int16)
    write(tmp_path / "in.nrrd", array)
    return tmp_path, array


# -------------------------------------------------------------------- outputs that are inputs
@pytest.mark.parametrize("output", ["in.nrrd", "./in.nrrd", "{tmp}/in.nrrd", "{tmp}/../{name}/in.nrrd",
                                    "link.nrrd", "hard.nrrd"])
def test_magnitude_never_overwrites_its_input(ct, output):
    folder, _ = ct
    os.symlink("in.nrrd", folder / "link.nrrd")
    os.link(folder / "in.nrrd", folder / "hard.nrrd")
    target = output.format(tmp=folder, name=folder.name)
    assert_refused(folder, ["magnitude", "in.nrrd", target], "is an input")


def test_magnitude_never_overwrites_a_detached_data_file(tmp_path):
    write(tmp_path / "in.nhdr", np.ones((4, 5, 6), np.int16))
    data = [n for n in os.listdir(tmp_path) if n != "in.nhdr"]
    assert len(data) == 1
    assert_refused(tmp_path, ["magnitude", "in.nhdr", data[0]], "is an input")


# -------------------------------------------------------------------- truncated files
@pytest.mark.parametrize("suffix, compress", [(".nii", False), (".nii.gz", True), (".nrrd", False),
                                              (".nrrd", True), (".mha", False), (".mha", True)])
@pytest.mark.parametrize("command", ["magnitude", "opacity"])
def test_truncated_volumes_are_refused_naming_the_file(tmp_path, suffix, compress, command):
    array = np.random.default_rng(1).normal(100, 10, (20, 30, 40)).astype(np.int16)
    write(tmp_path / ("full" + suffix), array, compress=compress)
    data = (tmp_path / ("full" + suffix)).read_bytes()
    (tmp_path / ("cut" + suffix)).write_bytes(data[: len(data) * 2 // 3])
    os.remove(tmp_path / ("full" + suffix))
    args = [command, "cut" + suffix] + (["out.nrrd"] if command == "magnitude" else [])
    line = assert_refused(tmp_path, args, "cut" + suffix)
    assert "truncated" in line


# -------------------------------------------------------------------- memory
def _sparse_volume(folder, size=(1024, 1024, 1024)):
    """A raw NRRD of int16 zeros whose data file is sparse (no disk used): big, but cheap to make."""
    (folder / "big.nhdr").write_text(
        "NRRD0004\ntype: short\ndimension: 3\nsizes: {} {} {}\nencoding: raw\nendian: little\n"
        "data file: big.raw\n".format(*size))
    with open(folder / "big.raw", "wb") as handle:
        handle.truncate(2 * size[0] * size[1] * size[2])


def test_a_volume_that_cannot_fit_is_refused_with_the_estimate(tmp_path):
    _sparse_volume(tmp_path)                                   # 2 GB of int16: 10 GB to compute
    # NIfTI output is written from memory whatever the input (a raw NRRD output could stream)
    line = assert_refused(tmp_path, ["magnitude", "big.nhdr", "out.nii"], "memory",
                          limit_bytes=3 * 1024 ** 3)
    assert "needs about" in line and "GB" in line


# -------------------------------------------------------------------- scheme counts
@pytest.mark.parametrize("args, message", [
    (["--shell", "1000:1000000"], "more than the optimizer can do"),
    (["--shell", "1000:1000000000"], "more than the optimizer can do"),
    (["--shell", "1000:30", "--b0", "1000000000"], "at most 1000"),
    (["--shell", "1000:30", "--seed=-1"], "seed"),
])
def test_scheme_counts_beyond_the_limits_are_refused_at_once(tmp_path, args, message):
    assert_refused(tmp_path, ["scheme", *args, "--output", "s"], message)


def test_help_states_the_direction_limit():
    code, out, _ = run_cli("scheme", "--help")
    assert code == 0 and "at most 1000 directions" in " ".join(out.split())


# -------------------------------------------------------------------- gradient tables
@pytest.mark.parametrize("files, message", [
    ({"t.bval": "0 1e308 1000", "t.bvec": "0 1 0\n0 0 1\n0 0 0"}, "above 1e+06"),
    ({"t.bval": "0 1000 1000", "t.bvec": "0 nan 0\n0 0 1\n0 0 0"}, "gradient vector is not a number"),
    ({"t.bval": "0 nan 1000", "t.bvec": "0 1 0\n0 0 1\n0 0 0"}, "not a number"),
    ({"t.bval": "0 1000 1000", "t.bvec": "0 1e300 0\n0 0 1\n0 0 0"}, "not a direction"),
    ({"t.dvs": "[directions=0]\nCoordinateSystem = xyz\n"}, "1 to 100000 directions"),
    ({"t.dvs": "[directions=99999999999999999999]\nVector[0] = (1, 0, 0)\n"}, "1 to 100000 directions"),
])
@pytest.mark.parametrize("command", ["stats", "convert"])
def test_hostile_tables_are_refused(tmp_path, files, message, command):
    for name, text in files.items():
        (tmp_path / name).write_text(text + "\n")
    args = [command, *sorted(files), "--b-max", "1000"]
    if command == "convert":
        args += ["--format", "mrtrix", "--output", "out"]
    assert_refused(tmp_path, args, message)


def test_nan_vectors_of_b0_volumes_are_read_as_b0_with_a_warning(tmp_path):
    (tmp_path / "t.bval").write_text("0 1000 1000 1000\n")
    (tmp_path / "t.bvec").write_text("nan 1 0 0\nnan 0 1 0\nnan 0 0 1\n")
    code, out, err = run_cli("stats", str(tmp_path / "t.bvec"), str(tmp_path / "t.bval"))
    assert code == 0 and "nan nan nan" in out and "volumes 0" in out, (out, err)


@pytest.mark.parametrize("args, message", [
    (["--shell", "30:10"], "count as b=0"),
    (["--shell", "1e-300:10"], "count as b=0"),
    (["--shell", "2e6:10"], "above"),
    (["--shell", "1000:10", "--shell", "1050:10"], "50 s/mm^2 apart"),
])
def test_shells_that_are_not_shells_are_refused(tmp_path, args, message):
    assert_refused(tmp_path, ["scheme", *args, "--output", "s"], message)


# -------------------------------------------------------------------- signals and pipes
def test_sigterm_while_writing_leaves_no_temporary(tmp_path):
    import time

    noise = np.random.default_rng(2).normal(0, 1, (96, 256, 256)).astype(np.float32)
    write(tmp_path / "in.nrrd", noise)
    # a compressed output of random values: writing takes a while, long enough to be caught at it
    process = subprocess.Popen([sys.executable, "-m", "GradientToolsLib", "magnitude", "in.nrrd",
                                "out.nii.gz"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any(n.startswith(".tmp-") for n in os.listdir(tmp_path)):
            process.terminate()
            break
        time.sleep(0.002)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    lines = err.strip().splitlines()        # a note on the memory NIfTI output needs may come first
    assert lines[-1] == "gradienttools magnitude: terminated (nothing was written)", err
    assert all(": note: " in line for line in lines[:-1]) and "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == ["in.nrrd"]


def test_output_piped_to_head_still_finishes(tmp_path):
    command = (f"{sys.executable} -m GradientToolsLib scheme --shell 1000:40 --seed 1 --format mrtrix "
               f"--output s | head -c 10")
    done = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True)
    assert "Broken pipe" not in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "s.b").is_file()


# -------------------------------------------------------------------- geometry
def _nrrd_header(path, extra):
    path.write_text("NRRD0004\ntype: short\ndimension: 3\nsizes: 4 5 6\nencoding: raw\nendian: little\n"
                    f"{extra}\ndata file: {path.stem}.raw\n")
    (path.parent / f"{path.stem}.raw").write_bytes(bytes(2 * 4 * 5 * 6))


@pytest.mark.parametrize("extra, message", [
    ("space: left-posterior-superior\nspace directions: (1,0,0) (0,0,0) (0,0,1)", "zero length"),
    ("space: left-posterior-superior\nspace directions: (1,0,0) (2,0,0) (0,0,1)", "not independent"),
    ("spacings: 1 0 1", "zero length"),
])
@pytest.mark.parametrize("command", ["magnitude", "opacity"])
def test_singular_voxel_axes_are_refused_in_words(tmp_path, extra, message, command):
    _nrrd_header(tmp_path / "in.nhdr", extra)
    args = [command, "in.nhdr"] + (["out.nrrd"] if command == "magnitude" else [])
    line = assert_refused(tmp_path, args, message)
    assert "in.nhdr" in line and "Refusing" not in line


def test_singular_metaimage_matrix_is_refused(tmp_path):
    (tmp_path / "in.mhd").write_text("ObjectType = Image\nNDims = 3\nDimSize = 4 5 6\n"
                                     "ElementType = MET_SHORT\nTransformMatrix = 1 0 0 1 0 0 0 0 1\n"
                                     "ElementDataFile = in.raw\n")
    (tmp_path / "in.raw").write_bytes(bytes(2 * 4 * 5 * 6))
    assert_refused(tmp_path, ["opacity", "in.mhd"], "not independent")


@pytest.mark.parametrize("change, message", [
    ({"spacing": (0.9, 0.8, 2.5)}, "spacing"),
    ({"origin": (0.0, 3.0, 0.0)}, "origin"),
    ({"direction": (0, 1, 0, 1, 0, 0, 0, 0, 1)}, "direction"),
])
def test_a_mask_on_another_grid_is_refused(ct, change, message):
    folder, array = ct
    mask = sitk.GetImageFromArray((array > 100).astype(np.uint8))
    mask.SetSpacing(change.get("spacing", (0.9, 0.8, 2.0)))
    mask.SetOrigin(change.get("origin", (0.0, 0.0, 0.0)))
    mask.SetDirection(change.get("direction", (1, 0, 0, 0, 1, 0, 0, 0, 1)))
    sitk.WriteImage(mask, str(folder / "mask.nrrd"))
    line = assert_refused(folder, ["opacity", "in.nrrd", "--mask", "mask.nrrd", "--output", "o.vp.json"],
                          message)
    assert "resample" in line


def test_a_gradient_beyond_float32_is_refused(tmp_path):
    write(tmp_path / "in.nrrd", np.where(np.indices((6, 6, 6)).sum(0) % 2 == 0, 1e308, -1e308))
    assert_refused(tmp_path, ["magnitude", "in.nrrd", "out.nrrd"], "float32's range")


def test_an_empty_output_path_is_refused(ct):
    assert_refused(ct[0], ["magnitude", "in.nrrd", ""], "empty")


# -------------------------------------------------------------------- fixed directions
def _fixed(folder, bvals, vectors):
    (folder / "f.bval").write_text(" ".join(map(str, bvals)) + "\n")
    (folder / "f.bvec").write_text("\n".join(" ".join(map(str, row)) for row in np.array(vectors).T) + "\n")


@pytest.mark.parametrize("bvals, vectors, shells, message", [
    ([0, 950, 1060], [[0, 0, 0], [1, 0, 0], [0, 1, 0]], ["1000:10", "1200:10"], "both match"),
    ([0, 1000, 1150], [[0, 0, 0], [1, 0, 0], [-1, 0, 0]], ["1000:10", "1200:10"], "one axis"),
    ([0, 1700], [[0, 0, 0], [1, 0, 0]], ["1000:10", "1200:10"], "nearest is b=1200"),
])
def test_fixed_directions_that_cannot_be_kept_are_refused(tmp_path, bvals, vectors, shells, message):
    _fixed(tmp_path, bvals, vectors)
    args = ["scheme", *sum((["--shell", s] for s in shells), []), "--fixed", "f.bvec", "f.bval",
            "--output", "out"]
    assert_refused(tmp_path, args, message)


def test_fixed_directions_go_to_the_nearest_shell(tmp_path):
    # b=1090 is within the tolerance of both 1000 and 1150: it belongs to the nearer one
    _fixed(tmp_path, [0, 1090], [[0, 0, 0], [0, 0.6, 0.8]])
    code, _, err = run_cli("scheme", "--shell", "1000:8", "--shell", "1150:8", "--fixed",
                           str(tmp_path / "f.bvec"), str(tmp_path / "f.bval"), "--seed", "1",
                           "--output", str(tmp_path / "out"))
    assert code == 0, err
    bvals = np.loadtxt(tmp_path / "out.bval")
    bvecs = np.loadtxt(tmp_path / "out.bvec").T
    kept = np.flatnonzero(np.abs(bvecs @ [0, 0.6, 0.8]) > 1 - 1e-6)
    assert len(kept) == 1 and bvals[kept[0]] == 1150


# -------------------------------------------------------------------- concurrent runs
def test_two_runs_writing_one_prefix_never_mix_their_pairs(tmp_path):
    runs = [subprocess.Popen([sys.executable, "-m", "GradientToolsLib", "scheme", "--shell", f"1000:{n}",
                              "--seed", "1", "--output", "s"], cwd=tmp_path, stderr=subprocess.PIPE)
            for n in (40, 41, 42, 43)]
    for run in runs:
        assert run.wait(timeout=300) == 0, run.stderr.read()
    bvals = np.loadtxt(tmp_path / "s.bval")
    bvecs = np.loadtxt(tmp_path / "s.bvec")
    assert bvecs.shape == (3, bvals.size)                       # one run's pair, not a mix
    assert sorted(os.listdir(tmp_path)) == ["s.bval", "s.bvec"]
