"""The quality report against MRtrix's dirstat on the same file, DIPY's SH basis, and analytic cases."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from support import require_tool

from GradientToolsLib import electrostatic_directions, multishell_scheme
from GradientToolsLib.diffusion.energy import energy
from GradientToolsLib.diffusion.report import direction_set_report, format_report, scheme_report
from GradientToolsLib.diffusion.scheme import GradientScheme
from GradientToolsLib.diffusion.sh import lmax_for_count, sh_matrix
from GradientToolsLib.diffusion.writers import write_scheme
from GradientToolsLib.errors import GradientToolsError

# dirstat -output keys and where the same number sits in our per-shell report
METRICS = {
    "N": lambda r: r["n"],
    "BEt": lambda r: r["bipolar"]["energy"]["total"],
    "BE": lambda r: r["bipolar"]["energy"]["mean"],
    "BE-": lambda r: r["bipolar"]["energy"]["min"],
    "BE+": lambda r: r["bipolar"]["energy"]["max"],
    "BN": lambda r: r["bipolar"]["nearest_angle"]["mean"],
    "BN-": lambda r: r["bipolar"]["nearest_angle"]["min"],
    "BN+": lambda r: r["bipolar"]["nearest_angle"]["max"],
    "UEt": lambda r: r["unipolar"]["energy"]["total"],
    "UE": lambda r: r["unipolar"]["energy"]["mean"],
    "UE-": lambda r: r["unipolar"]["energy"]["min"],
    "UE+": lambda r: r["unipolar"]["energy"]["max"],
    "UN": lambda r: r["unipolar"]["nearest_angle"]["mean"],
    "UN-": lambda r: r["unipolar"]["nearest_angle"]["min"],
    "UN+": lambda r: r["unipolar"]["nearest_angle"]["max"],
    "ASYM": lambda r: r["asymmetry"],
}


def dirstat_values(dirstat, path, b, keys):
    out = subprocess.run([dirstat, str(path), "-shells", str(b), "-output", ",".join(keys)],
                         capture_output=True, text=True, check=True)
    return [float(x) for x in out.stdout.split()]


@pytest.fixture(scope="module")
def scheme():
    # unbalanced polarity on purpose in one shell, so the asymmetry is a real number to compare
    s = multishell_scheme({1000: 20, 2500: 45}, b0=4, b0_every=12, seed=21)
    vecs = s.bvecs.copy()
    low = s.shell_indices()[1000]
    vecs[low] *= np.where(vecs[low, 2:3] < 0, -1.0, 1.0)
    return GradientScheme(s.bvals, vecs)


def test_agrees_with_dirstat_on_the_same_b_file(scheme, tmp_path):
    dirstat = require_tool("dirstat")
    path = write_scheme(scheme, tmp_path / "scheme", "mrtrix")[0]
    report = scheme_report(scheme)
    for shell in report["shells"]:
        lmaxes = list(shell["sh_condition"])
        keys = list(METRICS) + [f"SH{lmax}" for lmax in lmaxes]
        theirs = dirstat_values(dirstat, path, shell["b"], keys)
        ours = [METRICS[k](shell) for k in METRICS] + [shell["sh_condition"][lmax] for lmax in lmaxes]
        for key, a, b in zip(keys, ours, theirs):
            # dirstat prints 6 significant digits: half a unit of the 6th digit is <= 5e-6 relative
            assert a == pytest.approx(b, rel=5.01e-6, abs=1e-6), key
        # dirstat reports SH condition numbers up to the same lmax (asking one more fails)
        assert lmax_for_count(shell["n"]) == int(lmaxes[-1])
        bad = subprocess.run([dirstat, str(path), "-shells", str(shell["b"]), "-output",
                              f"SH{int(lmaxes[-1]) + 2}"], capture_output=True, text=True)
        assert bad.returncode != 0


def test_energy_total_is_e_half(scheme):
    for shell in scheme_report(scheme)["shells"]:
        v = scheme.bvecs[scheme.shell_indices()[shell["b"]]]
        assert shell["E_full"] == pytest.approx(energy(v), rel=1e-12)
        assert shell["E_half"] == pytest.approx((energy(v) - len(v) / 2) / 2, rel=1e-12)


def test_sh_condition_matches_dipy_basis(rng):
    shm = pytest.importorskip("dipy.reconst.shm")
    v = electrostatic_directions(40, seed=3)
    theta = np.arccos(np.clip(v[:, 2], -1, 1))
    phi = np.arctan2(v[:, 1], v[:, 0])
    for lmax in (2, 4, 6, 8):
        basis, _, _ = shm.real_sh_descoteaux(lmax, theta, phi, legacy=False)
        # both bases are orthonormal real even-order SH: the same singular values
        assert np.linalg.cond(sh_matrix(v, lmax)) == pytest.approx(np.linalg.cond(basis), rel=1e-9)
        ours = np.linalg.svd(sh_matrix(v, lmax), compute_uv=False)
        theirs = np.linalg.svd(basis, compute_uv=False)
        assert np.allclose(ours, theirs, rtol=1e-9)


def test_sh_basis_is_orthonormal_on_a_fine_quadrature():
    k = np.arange(4000) + 0.5  # full-sphere Fibonacci points: an equal-weight quadrature
    z = 1 - 2 * k / 4000
    phi = k * np.pi * (3 - np.sqrt(5))
    v = np.stack([np.sqrt(1 - z * z) * np.cos(phi), np.sqrt(1 - z * z) * np.sin(phi), z], axis=1)
    a = sh_matrix(v, 6)
    gram = a.T @ a * (4 * np.pi / len(v))
    assert np.allclose(gram, np.eye(a.shape[1]), atol=1e-3)


def test_lmax_for_count():
    counts = (1, 5, 6, 14, 15, 27, 28, 44, 45, 300)
    assert [lmax_for_count(n) for n in counts] == [0, 0, 2, 2, 4, 4, 6, 6, 8, 22]


def test_analytic_octahedron_axes():
    r = direction_set_report(np.eye(3))
    assert r["bipolar"]["nearest_angle"] == {"mean": 90.0, "min": 90.0, "max": 90.0}
    assert r["E_half"] == pytest.approx(6 * (2 / np.sqrt(2)) / 2, rel=1e-12)  # 3 pairs x 2 terms x 1/sqrt2
    assert r["asymmetry"] == pytest.approx(np.sqrt(3) / 3)
    assert r["sh_condition"] == {}  # 3 directions: no lmax=2 fit (6 coefficients)


def test_asymmetry_warning():
    v = electrostatic_directions(20, seed=1)
    up = v * np.where(v[:, 2:3] < 0, -1.0, 1.0)
    scheme = GradientScheme(np.full(20, 1000.0), up)
    report = scheme_report(scheme)
    assert report["shells"][0]["asymmetry"] > 0.1
    assert any("asymmetry" in w for w in report["warnings"])
    assert "WARNING" in format_report(report)


def test_repeated_directions_are_reported_not_crashing():
    v = np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    report = scheme_report(GradientScheme(np.full(4, 1000.0), v))
    shell = report["shells"][0]
    assert shell["E_half"] is None and shell["bipolar"]["nearest_angle"]["min"] == 0.0
    assert any("repeated" in w for w in report["warnings"])
    json.dumps(report)  # still JSON


def test_report_structure_and_json(scheme):
    report = scheme_report(scheme)
    text = json.dumps(report, allow_nan=False)
    assert json.loads(text)["volumes"] == scheme.n
    assert report["b0"] == 4 and report["b0_positions"] == [0, 13, 26, 39]
    assert [s["b"] for s in report["shells"]] == [1000, 2500]
    assert report["union"]["n"] == 65
    text = format_report(report)
    assert "b = 1000 [ 20 directions ]" in text and "all shells together [ 65 directions ]" in text


def test_b0_only_scheme():
    report = scheme_report(GradientScheme(np.zeros(3), np.zeros((3, 3))))
    assert report["shells"] == [] and report["b0"] == 3 and report["warnings"]


def test_bad_input():
    with pytest.raises(GradientToolsError):
        scheme_report("not a scheme")
    with pytest.raises(GradientToolsError):
        direction_set_report(np.zeros((3, 3)))
