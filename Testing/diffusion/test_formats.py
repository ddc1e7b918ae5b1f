"""Scheme files: round trips in every format, real readers (DIPY, MRtrix), tolerant and strict parsing."""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np
import pytest
from support import oblique_nifti, require_tool

from GradientToolsLib import multishell_scheme
from GradientToolsLib.diffusion.formats import FORMAT_FRAMES, FORMATS, SUFFIXES
from GradientToolsLib.diffusion.frames import FrameError, convert_frame
from GradientToolsLib.diffusion.readers import read_fsl, read_scheme
from GradientToolsLib.diffusion.scheme import GradientScheme
from GradientToolsLib.diffusion.writers import write_scheme
from GradientToolsLib.errors import GradientToolsError


@pytest.fixture(scope="module")
def scheme():
    return multishell_scheme({1000: 12, 2000: 20}, b0=3, b0_every=10, seed=4)


def _t2(fmt: str, scheme) -> int:
    return 1 if fmt == "ge" else 0  # the scheme starts with one b=0: GE's "number of T2"


# ----------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_in_the_formats_own_frame(scheme, tmp_path, fmt):
    native = scheme.with_frame(FORMAT_FRAMES[fmt])
    paths = write_scheme(native, tmp_path / "s", fmt)
    assert paths == [str(tmp_path / "s") + suffix for suffix in SUFFIXES[fmt]]
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in paths)  # no leftovers
    back = read_scheme(paths if fmt == "fsl" else paths[0], b_max=scheme.b_max, t2=_t2(fmt, scheme))
    assert back.n == scheme.n and back.frame == FORMAT_FRAMES[fmt]
    # 6 decimals (Siemens, GE, Philips) or 8: vectors to 1e-6; b from |g|^2 (scaled formats) to 0.01
    assert np.allclose(back.bvecs, scheme.bvecs, atol=2e-6)
    assert np.allclose(back.bvals, scheme.bvals, atol=0.02)


@pytest.mark.parametrize("determinant", [1, -1])
def test_fsl_round_trip_through_a_reference(scheme, tmp_path, determinant):
    affine = oblique_nifti(tmp_path / "dwi.nii", scheme.n, determinant)
    paths = write_scheme(scheme, tmp_path / "s", "fsl", reference=affine)
    image_frame = read_scheme(paths)
    assert image_frame.frame == "image"
    assert not np.allclose(image_frame.bvecs, scheme.bvecs, atol=1e-3)  # oblique: the numbers change
    back = read_scheme(paths, reference=affine)
    assert back.frame == "scanner" and np.allclose(back.bvecs, scheme.bvecs, atol=1e-7)


def test_writing_into_another_frame_needs_its_matrix(scheme, tmp_path):
    with pytest.raises(FrameError, match="reference"):
        write_scheme(scheme, tmp_path / "s", "fsl")
    with pytest.raises(FrameError, match="keep_vectors"):
        write_scheme(scheme, tmp_path / "s", "ge")
    with pytest.raises(FrameError, match="reference"):
        write_scheme(scheme.with_frame("image"), tmp_path / "s", "mrtrix")
    assert os.listdir(tmp_path) == []
    # on purpose: the numbers unchanged
    path = write_scheme(scheme, tmp_path / "s", "ge", keep_vectors=True)[0]
    assert np.allclose(read_scheme(path, b_max=2000, t2=1).bvecs, scheme.bvecs, atol=2e-6)


def test_fsl_reader_accepts_either_file_prefix_or_pair(scheme, tmp_path):
    bval, bvec = write_scheme(scheme.with_frame("image"), tmp_path / "dwi", "fsl")
    for arg in (bval, bvec, str(tmp_path / "dwi"), [bval, bvec], [bvec, bval]):
        back = read_scheme(arg)
        assert np.array_equal(back.bvals, scheme.bvals)


def test_fsl_column_layout_is_read(scheme, tmp_path):
    np.savetxt(tmp_path / "c.bvec", scheme.bvecs, fmt="%.10f")
    np.savetxt(tmp_path / "c.bval", scheme.bvals[None], fmt="%g")
    back = read_fsl(tmp_path / "c.bval", tmp_path / "c.bvec")
    assert np.allclose(back.bvecs, scheme.bvecs, atol=1e-9)


# ------------------------------------------------------------------------------ real readers
def test_dipy_reads_the_fsl_pair(scheme, tmp_path):
    io_gradients = pytest.importorskip("dipy.io.gradients")
    gradients = pytest.importorskip("dipy.core.gradients")
    image_frame = scheme.with_frame("image")
    bval, bvec = write_scheme(image_frame, tmp_path / "dwi", "fsl")
    bvals, bvecs = io_gradients.read_bvals_bvecs(bval, bvec)
    assert np.array_equal(bvals, scheme.bvals)
    assert np.allclose(bvecs, image_frame.bvecs, atol=1e-8)
    table = gradients.gradient_table(bvals, bvecs=bvecs)
    assert np.count_nonzero(table.b0s_mask) == 3
    assert sorted(set(gradients.unique_bvals_tolerance(table.bvals))) == [0, 1000, 2000]


def test_mrtrix_reads_the_b_file(scheme, tmp_path):
    """dirstat (MRtrix3) parses our .b file (with its comment line) into the same shells."""
    dirstat = require_tool("dirstat")
    path = write_scheme(scheme, tmp_path / "dwi", "mrtrix", comment="a comment MRtrix must skip")[0]
    out = subprocess.run([dirstat, path], capture_output=True, text=True, check=True).stdout
    assert re.search(r"\(b=0\) \[ 3 volumes \]", out)
    assert re.search(r"\(b=1000\) \[ 12 directions \]", out)
    assert re.search(r"\(b=2000\) \[ 20 directions \]", out)


@pytest.mark.parametrize("determinant", [1, -1])
def test_mrtrix_reads_the_fsl_pair_with_its_image(scheme, tmp_path, determinant):
    """mrinfo IMAGE -fslgrad turns our FSL pair (written for that oblique image) back into the scheme."""
    mrinfo = require_tool("mrinfo")
    affine = oblique_nifti(tmp_path / "dwi.nii", scheme.n, determinant)
    bval, bvec = write_scheme(scheme, tmp_path / "dwi", "fsl", reference=affine)
    subprocess.run([mrinfo, str(tmp_path / "dwi.nii"), "-fslgrad", bvec, bval, "-export_grad_mrtrix",
                    str(tmp_path / "mr.b"), "-quiet"], check=True)
    theirs = np.loadtxt(tmp_path / "mr.b")
    assert np.allclose(theirs[:, :3], scheme.bvecs, atol=1e-5)
    assert np.allclose(theirs[:, 3], scheme.bvals)


# ------------------------------------------------------------------ tolerant where files are real
def test_readers_take_crlf_bom_tabs_comments_and_trailing_spaces(scheme, tmp_path):
    rows = ["# written on a console", ""] + [
        "\t".join(f"{x:.6f}" for x in v) + f"\t{b:g}   " for v, b in zip(scheme.bvecs, scheme.bvals)]
    (tmp_path / "w.b").write_bytes(("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8"))
    back = read_scheme(tmp_path / "w.b")
    assert np.allclose(back.bvecs, scheme.bvecs, atol=1e-6)
    bvals = " ".join(f"{b:g}" for b in scheme.bvals).encode()
    (tmp_path / "l.bval").write_bytes(b"# Gr\xfc\xdfe\r\n" + bvals + b" \r\n")
    np.savetxt(tmp_path / "l.bvec", scheme.bvecs.T, fmt="%.7f", delimiter="  ", newline=" \r\n")
    assert read_scheme(tmp_path / "l.bval").n == scheme.n  # Latin-1 comment, CRLF


@pytest.mark.parametrize("name, text, message", [
    # FSL pairs: "bval | bvec"
    ("x.bval", "0 1000 1000 | 0 1 0\n0 0 1\n0 0 0\n", None),
    ("x.bval", "0 1000 | 0 1 0\n0 0 1\n0 0 0\n", "3 b-values|2 b-values|vectors but"),
    ("x.bval", "0 1000 abc | 0 1 0\n0 0 1\n0 0 0\n", "non-numeric"),
    ("x.bval", "0 -1000 1000 | 0 1 0\n0 0 1\n0 0 0\n", "negative"),
    ("x.bval", "0 1000 1000 | 0 1 0\n0 0 1\n", "3 rows|vectors"),
    ("x.bval", "0 1000 1000 | 0 1 0\n0 0.5 1\n0 0 0\n", "length"),
    ("x.bval", "0 1000 1000 | 0 1 0 1\n0 0 1\n0 0 0\n", "columns"),
    ("x.bval", " | 0 1 0\n0 0 1\n0 0 0\n", "empty"),
    ("x.bval", "0 1000 1000 | 0 1 nan\n0 0 1\n0 0 0\n", "gradient vector is not a number"),
    ("x.bval", "0 1000 1000 | nan 1 0\nnan 0 1\nnan 0 0\n", None),
    ("x.bval", "0 1000 1000 | 0 0 1\n0 0 0\n0 0 0\n", "zero gradient"),
    ("g.b", "0 0 0 0\n1 0 0 1000\n0 1 0 1000\n", None),
    ("g.b", "0 0 0 0\n1 0 0\n", "3 columns"),
    ("g.b", "0 0 0 0\n1 0 x 1000\n", "non-numeric"),
    ("g.b", "0 0 0 0\n1 0 0 -1000\n", "negative"),
    ("g.b", "0 0 0 0\n0.7 0 0 1000\n", "length"),
    ("g.b", "# only a comment\n", "no numbers"),
    ("v.dvs", "[directions=3]\nVector[0] = ( 1, 0, 0 )\n", "no Vector\\[1\\]"),
    ("v.dvs", "[directions=1]\nVector[0] = ( 1, 0 )\n", "malformed"),
    ("v.dvs", "[directions=1]\nVector[1] = ( 1, 0, 0 )\n", "section of 1"),
    ("v.dvs", "Vector[0] = ( 1, 0, 0 )\n", "before any"),
    ("v.dvs", "# nothing\n", "no \\[directions"),
    ("t.dat", "3\n1 0 0\n", "block"),
    ("t.dat", "2\n1 0 0\n0 1 0\n2\n1 0 0\n0 1 0\n", "two blocks of 2"),
    ("t.dat", "1.5\n1 0 0\n", "direction count"),
    ("t.dat", "1\n2 0 0\n", "length"),
])
def test_malformed_files(tmp_path, name, text, message):
    path = tmp_path / name
    if name.endswith(".bval"):
        bval, bvec = text.split("|")
        path.write_text(bval.strip())
        (tmp_path / "x.bvec").write_text(bvec.lstrip())
    else:
        path.write_text(text)
    if message is None:
        assert read_scheme(path).n == 3
        return
    with pytest.raises(GradientToolsError, match=message) as info:
        read_scheme(path, b_max=1000)
    assert name.split(".")[0] in str(info.value)  # the message names the file
    if name.endswith((".dvs", ".dat")):
        with pytest.raises(GradientToolsError, match="b_max"):  # the console's b-value is not in the file
            read_scheme(path)


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(GradientToolsError, match="no such file"):
        read_scheme(tmp_path / "missing.b")
    (tmp_path / "lonely.bval").write_text("0 1000")
    with pytest.raises(GradientToolsError, match="does not exist"):
        read_scheme(tmp_path / "lonely.bval")
    (tmp_path / "x.xyz").write_text("1 2 3")
    with pytest.raises(GradientToolsError, match="unknown"):
        read_scheme(tmp_path / "x.xyz")
    (tmp_path / "bin.b").write_bytes(b"\x00\x01\x02")
    with pytest.raises(GradientToolsError, match="not a text file"):
        read_scheme(tmp_path / "bin.b")


def test_write_is_atomic_on_bad_folder(scheme, tmp_path):
    with pytest.raises(GradientToolsError, match="folder"):
        write_scheme(scheme, tmp_path / "missing" / "s", "mrtrix")
    with pytest.raises(GradientToolsError, match="format"):
        write_scheme(scheme, tmp_path / "s", "dicom")
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------------------------ the scheme
def test_scheme_validation_and_frames():
    with pytest.raises(GradientToolsError, match="b-values"):
        GradientScheme([0, 1000], [[0, 0, 0]])
    with pytest.raises(GradientToolsError, match="zero gradient"):
        GradientScheme([1000], [[0, 0, 0]])
    with pytest.raises(GradientToolsError, match="unknown frame"):
        GradientScheme([1000], [[1, 0, 0]], "world")
    s = GradientScheme([0, 5, 1000, 1010, 3000], [[0, 0, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert s.frame == "scanner" and s.copy().frame == "scanner"
    assert s.b0_indices().tolist() == [0, 1]
    shells = s.shell_indices()
    assert list(shells) == [1005, 3000] and shells[1005].tolist() == [2, 3]
    assert s.subset([4, 2]).bvals.tolist() == [3000, 1000]
    assert convert_frame(s, "scanner").frame == "scanner"
