"""Scheme files: round trips, independent readers (DIPY, MRtrix, Slicer's NRRD reader), bad files."""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np
import pytest
from support import require_tool

from GradientToolsLib import multishell_scheme
from GradientToolsLib.diffusion.formats import FORMATS, SUFFIXES
from GradientToolsLib.diffusion.readers import read_fsl, read_scheme
from GradientToolsLib.diffusion.scheme import GradientScheme
from GradientToolsLib.diffusion.writers import nrrd_dwi_header_lines, write_scheme
from GradientToolsLib.errors import GradientToolsError


@pytest.fixture(scope="module")
def scheme():
    return multishell_scheme({1000: 12, 2000: 20}, b0=3, b0_every=10, seed=4)


# ----------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip(scheme, tmp_path, fmt):
    paths = write_scheme(scheme, tmp_path / "s", fmt)
    assert paths == [str(tmp_path / "s") + suffix for suffix in SUFFIXES[fmt]]
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in paths)  # no leftovers
    back = read_scheme(paths if fmt == "fsl" else paths[0], b_max=scheme.b_max)
    assert back.n == scheme.n
    # 6 decimals (Siemens, GE, Philips) or 8: vectors to 1e-6; b from |g|^2 (scaled formats) to 0.01
    assert np.allclose(back.bvecs, scheme.bvecs, atol=2e-6)
    assert np.allclose(back.bvals, scheme.bvals, atol=0.02)
    assert back.shell_indices().keys() == scheme.shell_indices().keys()


def test_fsl_reader_accepts_either_file_prefix_or_pair(scheme, tmp_path):
    bval, bvec = write_scheme(scheme, tmp_path / "dwi", "fsl")
    for arg in (bval, bvec, str(tmp_path / "dwi"), [bval, bvec], [bvec, bval]):
        back = read_scheme(arg)
        assert np.array_equal(back.bvals, scheme.bvals)


def test_fsl_column_layout_is_read(scheme, tmp_path):
    np.savetxt(tmp_path / "c.bvec", scheme.bvecs, fmt="%.10f")
    np.savetxt(tmp_path / "c.bval", scheme.bvals[None], fmt="%g")
    back = read_fsl(tmp_path / "c.bval", tmp_path / "c.bvec")
    assert np.allclose(back.bvecs, scheme.bvecs, atol=1e-9)


# ------------------------------------------------------------------------- independent readers
def test_dipy_reads_the_fsl_pair(scheme, tmp_path):
    io_gradients = pytest.importorskip("dipy.io.gradients")
    gradients = pytest.importorskip("dipy.core.gradients")
    bval, bvec = write_scheme(scheme, tmp_path / "dwi", "fsl")
    bvals, bvecs = io_gradients.read_bvals_bvecs(bval, bvec)
    assert np.array_equal(bvals, scheme.bvals)
    assert np.allclose(bvecs, scheme.bvecs, atol=1e-8)
    table = gradients.gradient_table(bvals, bvecs=bvecs)
    assert np.count_nonzero(table.b0s_mask) == 3
    assert sorted(set(gradients.unique_bvals_tolerance(table.bvals))) == [0, 1000, 2000]


def test_mrtrix_reads_the_b_file(scheme, tmp_path):
    """dirstat (MRtrix3) parses our .b file into the same shells and volume counts."""
    dirstat = require_tool("dirstat")
    path = write_scheme(scheme, tmp_path / "dwi", "mrtrix")[0]
    out = subprocess.run([dirstat, path], capture_output=True, text=True, check=True).stdout
    assert re.search(r"\(b=0\) \[ 3 volumes \]", out)
    assert re.search(r"\(b=1000\) \[ 12 directions \]", out)
    assert re.search(r"\(b=2000\) \[ 20 directions \]", out)


def test_slicer_nrrd_reader_reads_the_dwmri_lines(scheme, tmp_path):
    """Slicer's own vtkMRMLNRRDStorageNode turns our header lines into the same b-values and vectors."""
    slicer = pytest.importorskip("slicer")
    from vtk.util import numpy_support

    m = scheme.n
    data = np.arange(4 * 3 * 2 * m, dtype=np.int16)
    (tmp_path / "dwi.raw").write_bytes(data.tobytes())
    header = ["NRRD0005", "type: short", "dimension: 4", "space: right-anterior-superior",
              f"sizes: {m} 4 3 2", "space directions: none (1,0,0) (0,1,0) (0,0,1)",
              "kinds: list domain domain domain", "endian: little", "encoding: raw",
              "space origin: (0,0,0)", "measurement frame: (1,0,0) (0,1,0) (0,0,1)"]
    header += nrrd_dwi_header_lines(scheme) + ["data file: dwi.raw"]
    (tmp_path / "dwi.nhdr").write_text("\n".join(header) + "\n")
    scene = slicer.vtkMRMLScene()
    node = slicer.vtkMRMLDiffusionWeightedVolumeNode()
    scene.AddNode(node)
    storage = slicer.vtkMRMLNRRDStorageNode()
    scene.AddNode(storage)
    storage.SetFileName(str(tmp_path / "dwi.nhdr"))
    assert storage.ReadData(node)
    bvals = numpy_support.vtk_to_numpy(node.GetBValues())
    vecs = numpy_support.vtk_to_numpy(node.GetDiffusionGradients())
    assert np.allclose(bvals, scheme.bvals, atol=1e-3)
    assert np.allclose(vecs, scheme.bvecs, atol=1e-7)
    # and our reader reads the same header back
    back = read_scheme(tmp_path / "dwi.nhdr")
    assert np.allclose(back.bvals, scheme.bvals, atol=1e-3)


# ----------------------------------------------------------------------------- format details
def test_nrrd_lines(scheme):
    lines = nrrd_dwi_header_lines(scheme)
    assert lines[0] == "modality:=DWMRI" and lines[1] == "DWMRI_b-value:=2000"
    assert len(lines) == 2 + scheme.n
    assert lines[2] == "DWMRI_gradient_0000:=0 0 0"
    keys = [line.split(":=")[0] for line in lines[2:]]
    assert keys == [f"DWMRI_gradient_{i:04d}" for i in range(scheme.n)]
    g = np.array([[float(x) for x in line.split(":=")[1].split()] for line in lines[2:]])
    assert np.allclose(np.linalg.norm(g, axis=1) ** 2 * 2000, scheme.bvals, atol=1e-3)


def test_siemens_file(scheme, tmp_path):
    path = write_scheme(scheme, tmp_path / "s", "siemens")[0]
    text = open(path).read()
    assert f"[directions={scheme.n}]" in text
    assert "CoordinateSystem = xyz" in text and "Normalisation = none" in text
    vectors = re.findall(r"^Vector\[(\d+)\] = \( (\S+), (\S+), (\S+) \)$", text, flags=re.M)
    assert [int(v[0]) for v in vectors] == list(range(scheme.n))
    g = np.array([[float(x) for x in v[1:]] for v in vectors])
    assert np.allclose(np.linalg.norm(g, axis=1), np.sqrt(scheme.bvals / 2000), atol=2e-6)


def test_ge_and_philips_files(scheme, tmp_path):
    ge = write_scheme(scheme, tmp_path / "s", "ge")[0]
    rows = open(ge).read().split("\n")
    assert rows[0] == str(scheme.n) and len([r for r in rows[1:] if r]) == scheme.n
    philips = write_scheme(scheme, tmp_path / "s", "philips", comment="my scheme")[0]
    table = np.loadtxt(philips)  # '#' comment lines skipped
    assert table.shape == (scheme.n, 4)
    assert np.array_equal(table[:, 3], scheme.bvals)


def test_ge_reader_picks_the_requested_block(tmp_path):
    path = tmp_path / "tensor.dat"
    path.write_text("2\n0 0 0\n0 0 0\n3\n1 0 0\n0 0.5 0\n0 0 1\n")
    s = read_scheme(path, b_max=3000)
    assert s.bvals.tolist() == pytest.approx([3000, 750, 3000])


def test_write_is_atomic_on_bad_folder(scheme, tmp_path):
    with pytest.raises(GradientToolsError, match="folder"):
        write_scheme(scheme, tmp_path / "missing" / "s", "fsl")
    with pytest.raises(GradientToolsError, match="format"):
        write_scheme(scheme, tmp_path / "s", "dicom")
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- malformed files
def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("bval, bvec, message", [
    ("0 1000 1000", "0 1 0\n0 0 1\n0 0 0\n", "3 vectors"),  # ok shape
    ("0 1000", "0 1 0\n0 0 1\n0 0 0\n", "3 b-values|2 b-values|vectors but"),
    ("0 1000 abc", "0 1 0\n0 0 1\n0 0 0\n", "non-numeric"),
    ("0 -1000 1000", "0 1 0\n0 0 1\n0 0 0\n", "negative"),
    ("0 1000 1000", "0 1 0\n0 0 1\n", "3 rows|vectors"),
    ("0 1000 1000", "0 1 0\n0 0.5 1\n0 0 0\n", "length"),
    ("0 1000 1000", "0 1 0 1\n0 0 1\n0 0 0\n", "columns"),
    ("", "0 1 0\n0 0 1\n0 0 0\n", "empty"),
    ("0 1000 1000", "0 1 nan\n0 0 1\n0 0 0\n", "non-finite"),
    ("0 1000 1000", "0 0 1\n0 0 0\n0 0 0\n", "zero gradient"),
])
def test_malformed_fsl(tmp_path, bval, bvec, message):
    a = write(tmp_path, "x.bval", bval)
    b = write(tmp_path, "x.bvec", bvec)
    if message == "3 vectors":
        assert read_scheme([a, b]).n == 3  # the well-formed control case
        return
    with pytest.raises(GradientToolsError, match=message) as info:
        read_scheme([a, b])
    assert "x.bv" in str(info.value)  # the message names the file


@pytest.mark.parametrize("text, message", [
    ("0 0 0 0\n1 0 0 1000\n", None),
    ("0 0 0 0\n1 0 0\n", "3 columns"),
    ("0 0 0 0\n1 0 x 1000\n", "non-numeric"),
    ("0 0 0 0\n1 0 0 -1000\n", "negative"),
    ("0 0 0 0\n0.7 0 0 1000\n", "length"),
    ("# only a comment\n", "no numbers"),
])
def test_malformed_mrtrix(tmp_path, text, message):
    path = write(tmp_path, "g.b", text)
    if message is None:
        assert read_scheme(path).n == 2
        return
    with pytest.raises(GradientToolsError, match=message) as info:
        read_scheme(path)
    assert "g.b" in str(info.value)


def test_malformed_other_formats(tmp_path):
    dvs = write(tmp_path, "v.dvs", "[directions=3]\nCoordinateSystem = xyz\nVector[0] = ( 1, 0, 0 )\n")
    with pytest.raises(GradientToolsError, match="3 directions"):
        read_scheme(dvs, b_max=1000)
    with pytest.raises(GradientToolsError, match="b_max"):
        read_scheme(dvs)
    bad = write(tmp_path, "w.dvs", "[directions=1]\nVector[0] = ( 1, 0 )\n")
    with pytest.raises(GradientToolsError, match="malformed"):
        read_scheme(bad, b_max=1000)
    nrrd = write(tmp_path, "n.dwmri.txt", "modality:=DWMRI\nDWMRI_gradient_0000:=1 0 0\n")
    with pytest.raises(GradientToolsError, match="b-value"):
        read_scheme(nrrd)
    nrrd = write(tmp_path, "m.dwmri.txt", "DWMRI_b-value:=1000\nDWMRI_gradient_0000:=1 0\n")
    with pytest.raises(GradientToolsError, match="3 numbers"):
        read_scheme(nrrd)
    ge = write(tmp_path, "t.dat", "3\n1 0 0\n")
    with pytest.raises(GradientToolsError, match="block"):
        read_scheme(ge, b_max=1000)
    with pytest.raises(GradientToolsError, match="no such file"):
        read_scheme(tmp_path / "missing.b")
    with pytest.raises(GradientToolsError, match="does not exist"):
        read_scheme(write(tmp_path, "lonely.bval", "0 1000"))
    with pytest.raises(GradientToolsError, match="unknown"):
        read_scheme(write(tmp_path, "x.xyz", "1 2 3"))


def test_scheme_validation():
    with pytest.raises(GradientToolsError, match="b-values"):
        GradientScheme([0, 1000], [[0, 0, 0]])
    with pytest.raises(GradientToolsError, match="zero gradient"):
        GradientScheme([1000], [[0, 0, 0]])
    s = GradientScheme([0, 5, 1000, 1010, 3000], [[0, 0, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert s.b0_indices().tolist() == [0, 1]
    shells = s.shell_indices()
    assert list(shells) == [1005, 3000] and shells[1005].tolist() == [2, 3]
