"""Console files: Siemens' implicit b=0, GE blocks and "number of T2", Philips' unique pairs.

Each file is also read by an independent parser written here from the vendor's rules (Siemens: the
rules of its sequence's own reader; Philips: dcm2niix's notes), not by the library's reader.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from GradientToolsLib import multishell_scheme
from GradientToolsLib.diffusion.formats import SchemeFileWarning
from GradientToolsLib.diffusion.frames import DEVICE_TO_SCANNER, convert_frame
from GradientToolsLib.diffusion.readers import read_ge, read_philips, read_scheme, read_siemens
from GradientToolsLib.diffusion.scheme import GradientScheme
from GradientToolsLib.diffusion.writers import write_scheme
from GradientToolsLib.errors import GradientToolsError


@pytest.fixture(scope="module")
def scheme():
    """3 b=0 at the head, 3 more spread, two shells: 3 + 30 + 3 volumes."""
    return multishell_scheme({1000: 12, 3000: 18}, b0=6, b0_head=3, b0_spread=True, seed=7)


def siemens_sections(text: str):
    """Sections as Siemens' didi.cpp reads them: lower-cased lines, '#' and blank lines skipped,
    '[directions=%ld]' at the start of a line, 'vector[i] = (%lf,%lf,%lf)' (no blank before a comma)."""
    sections, current = {}, None
    for line in text.splitlines():
        line = line.lower()
        stripped = line.lstrip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        if "directions=" in line:
            count = int(re.match(r"\[directions=(\d+)\]", line).group(1))
            current = sections.setdefault(count, {"vectors": {}, "settings": {}})
            continue
        name, value = (t.strip() for t in stripped.split("=", 1))
        if name.startswith("vector["):
            m = re.match(r"\(\s*([-+.\de]+),\s*([-+.\de]+),\s*([-+.\de]+)", value)
            assert m, f"sscanf('(%lf,%lf,%lf)') would fail on {value!r}"
            current["vectors"][int(name[7:-1])] = [float(x) for x in m.groups()]
        else:
            current["settings"][name] = value
    return sections


# ------------------------------------------------------------------------------------- Siemens
def test_siemens_table_leaves_the_consoles_b0_out(scheme, tmp_path):
    path = write_scheme(scheme, tmp_path / "s", "siemens")[0]
    text = open(path).read()
    sections = siemens_sections(text)
    assert list(sections) == [scheme.n - 1]
    section = sections[scheme.n - 1]
    assert section["settings"] == {"coordinatesystem": "xyz", "normalisation": "none"}
    table = np.array([section["vectors"][i] for i in range(scheme.n - 1)])
    assert np.all(np.abs(table) <= 1.0)  # Siemens' rule for xyz tables
    # file vectors + the console's b=0 = the scheme (device axes -> scanner RAS, |g|^2 -> b)
    implicit = np.vstack([np.zeros(3), table @ DEVICE_TO_SCANNER])
    norms = np.linalg.norm(implicit, axis=1)
    assert np.allclose(norms ** 2 * scheme.b_max, scheme.bvals, atol=0.02)
    unit = np.divide(implicit, norms[:, None], out=np.zeros_like(implicit), where=norms[:, None] > 0)
    assert np.allclose(unit, scheme.bvecs, atol=2e-6)
    assert "acquires one b=0 itself" in text and f"{scheme.n - 1} directions" in text
    # the library's reader puts the b=0 back, or not
    back = read_siemens(path, scheme.b_max)
    assert back.n == scheme.n and back.frame == "device"
    assert np.allclose(convert_frame(back, "scanner").bvecs, scheme.bvecs, atol=2e-6)
    rows = read_siemens(path, scheme.b_max, implicit_b0=False)
    assert rows.n == scheme.n - 1 and np.allclose(rows.bvals, scheme.bvals[1:], atol=0.02)


def test_siemens_scheme_without_leading_b0_warns(tmp_path):
    s = GradientScheme([1000, 0, 1000], [[1, 0, 0], [0, 0, 0], [0, 1, 0]])
    with pytest.warns(SchemeFileWarning, match="4 volumes"):
        path = write_scheme(s, tmp_path / "s", "siemens")[0]
    assert list(siemens_sections(open(path).read())) == [3]
    assert read_siemens(path, 1000).n == 4  # what the scanner acquires


def test_siemens_multi_section_file(scheme, tmp_path):
    """Our section appended to a DiffusionVectors file with others: chosen by its number of directions."""
    ours = open(write_scheme(scheme, tmp_path / "s", "siemens")[0]).read()
    other = ("# -----\r\n[directions=3]\r\nCoordinateSystem = XYZ\r\nNormalisation = Unity\r\n"
             "Vector[0] = ( 1.0, 0.0, 0.0 )\r\nVector[1] = ( 0.0, 2.0, 0.0 )\r\n"
             "Vector[2] = ( 0.0, 0.0, 1.0 )\r\n")
    duplicate = "[directions=3]\nCoordinateSystem = xyz\nVector[0] = ( 0, 0, 1 )\n"
    (tmp_path / "DiffusionVectors.dvs").write_text(other + "\n" + ours + "\n" + duplicate)
    merged = tmp_path / "DiffusionVectors.dvs"
    assert sorted(siemens_sections(merged.read_text())) == [3, scheme.n - 1]
    with pytest.raises(GradientToolsError, match=r"2 sections \(3, 35 directions\).*--block"):
        read_scheme(merged, b_max=scheme.b_max)
    back = read_scheme(merged, b_max=scheme.b_max, block=scheme.n - 1)
    assert np.allclose(convert_frame(back, "scanner").bvecs, scheme.bvecs, atol=2e-6)
    first = read_scheme(merged, b_max=1000, block=3, implicit_b0=False)  # the first [directions=3] wins
    assert np.allclose(first.bvecs, np.eye(3)) and np.allclose(first.bvals, 1000)  # unity normalisation


def test_siemens_prs_table_is_logical(tmp_path):
    (tmp_path / "p.dvs").write_text("[directions=2]\nCoordinateSystem = prs\nNormalisation = none\n"
                                    "Vector[0] = ( 1, 0, 0 )\nVector[1] = ( 0, 0.5, 0 )\n")
    s = read_siemens(tmp_path / "p.dvs", 2000, implicit_b0=False)
    assert s.frame == "logical"
    assert np.allclose(s.bvecs, [[0, 1, 0], [1, 0, 0]])  # (phase, read, slice) -> (read, phase, slice)
    assert np.allclose(s.bvals, [2000, 500])


# ------------------------------------------------------------------------------------------ GE
def _stock(rng, counts):
    lines = ["# a stock tensor.dat", ""]
    for n in counts:
        v = rng.normal(size=(n, 3))
        v /= np.linalg.norm(v, axis=1)[:, None]
        lines += [f"{n}  "] + ["\t".join(f"{x:.6f}" for x in row) for row in v]
    return "\r\n".join(lines) + "\r\n"


def test_ge_block_keeps_the_stock_blocks_and_is_selected_by_its_count(scheme, tmp_path, rng):
    stock = _stock(rng, range(6, 40))
    (tmp_path / "tensor.dat").write_text(stock)
    logical = scheme.with_frame("logical")
    path = write_scheme(logical, tmp_path / "custom", "ge", ge_base=tmp_path / "tensor.dat")[0]
    text = open(path).read()
    n = scheme.n - 3  # the three leading b=0 are GE's "number of T2"
    assert "number of T2 = 3" in text and f"number of directions (TENSOR) = {n}" in text and "CV11" in text
    assert "\t" not in text  # tabs spoil GE's DICOM copy of the vectors before 29.1
    counts = [int(line) for line in text.splitlines() if re.fullmatch(r"\d+", line.strip())]
    assert counts == list(range(6, 40))  # every stock block, ours in place of the stock one of size n
    with pytest.raises(GradientToolsError, match="--block"):
        read_ge(path, scheme.b_max)
    back = read_ge(path, scheme.b_max, n, t2=3)
    assert back.frame == "logical" and back.n == scheme.n
    assert np.allclose(back.bvecs, scheme.bvecs, atol=2e-6)
    assert np.allclose(back.bvals, scheme.bvals, atol=0.02)
    other = read_scheme(path, b_max=1000, block=7)
    assert other.n == 7 and np.allclose(other.bvals, 1000)
    with pytest.raises(GradientToolsError, match="no block of 99"):
        read_ge(path, 1000, 99)


def test_ge_b_is_b_max_times_the_squared_length(tmp_path):
    """b_eff = b_max (x^2 + y^2 + z^2) (GE's tensor notes): no renormalisation to the longest vector."""
    (tmp_path / "t.dat").write_text("2\n0.707107 0 0\n0 0.5 0\n")
    s = read_ge(tmp_path / "t.dat", 2000)
    assert np.allclose(s.bvals, [1000, 500], atol=0.01)


# ------------------------------------------------------------------------------------- Philips
def test_philips_pairs_are_unique_and_the_b0_comes_first(scheme, tmp_path):
    path = write_scheme(scheme.with_frame("logical"), tmp_path / "p", "philips", comment="1000:12 3000:18")[0]
    lines = open(path).read().splitlines()
    assert not re.match(r"[-+.\d]", lines[0]) and "own direction" in lines[0]  # the name line
    table = np.loadtxt(path, skiprows=1)  # an independent reader of the rows
    assert table.shape == (scheme.n, 4)
    assert table[0, 3] == 0  # the b=0 row first
    pairs = {tuple(row) for row in table}
    assert len(pairs) == scheme.n  # every (direction, b) unique
    b0 = table[:, 3] == 0
    assert np.count_nonzero(b0) == 6
    assert np.allclose(np.linalg.norm(table[:, :3], axis=1), 1, atol=1e-5)  # b=0 rows too: unit directions
    assert len({tuple(np.round(r, 5)) for r in table[b0, :3]}) == 6
    assert np.allclose(table[~b0, 3], scheme.bvals[scheme.bvals > 0])
    back = read_philips(path)
    assert back.frame == "logical" and np.allclose(back.bvecs, scheme.bvecs, atol=2e-6)


def test_philips_refuses_what_the_console_refuses(tmp_path):
    twice = GradientScheme([0, 1000, 1000], [[0, 0, 0], [1, 0, 0], [1, 0, 0]], "logical")
    with pytest.raises(GradientToolsError, match="volumes 2 and 3"):
        write_scheme(twice, tmp_path / "p", "philips")
    late = GradientScheme([1000, 0], [[1, 0, 0], [0, 0, 0]], "logical")
    with pytest.raises(GradientToolsError, match="b=0 volume first"):
        write_scheme(late, tmp_path / "p", "philips")


def test_philips_files_of_other_writers_are_read(tmp_path):
    # dcm2niix's Philips notes: a name line and tab-separated rows; the ivim package: "# title" and "% .4f"
    (tmp_path / "a.txt").write_text("MyCustomDirections\n0.000\t0.000\t1.000\t0\n"
                                    "0.049\t-0.919\t-0.391\t1000\n1.000\t0.000\t0.000\t0\n")
    (tmp_path / "b.txt").write_text("# IVIM acquistion scheme\n 1.0000  0.0000  0.0000 0.0\n"
                                    " 0.0000  1.0000  0.0000 200.0\n")
    a, b = read_scheme(tmp_path / "a.txt"), read_scheme(tmp_path / "b.txt")
    assert a.bvals.tolist() == [0, 1000, 0] and np.allclose(a.bvecs[[0, 2]], 0)
    assert b.bvals.tolist() == [0, 200] and np.allclose(b.bvecs[1], [0, 1, 0])
    (tmp_path / "c.txt").write_text("name\n0 0 1 0\nsecond name\n1 0 0 1000\n")
    with pytest.raises(GradientToolsError, match="non-numeric"):
        read_scheme(tmp_path / "c.txt")


def test_write_with_warnings_as_errors_is_clean_for_a_normal_scheme(scheme, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_scheme(scheme, tmp_path / "s", "siemens")
        write_scheme(scheme.with_frame("logical"), tmp_path / "s", "ge")
