"""Electrostatic directions: energies against independent references and the best known optima."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from support import require_tool

from GradientToolsLib import electrostatic_directions
from GradientToolsLib.diffusion.energy import energy, energy_half, pair_terms
from GradientToolsLib.diffusion.optimizer import optimize_directions
from GradientToolsLib.diffusion.sphere import random_directions, spiral_hemisphere
from GradientToolsLib.errors import GradientToolsError

# E_full of the known optima (antipodal pairs = Thomson problem for 2N points)
KNOWN = {3: 9.985281374, 6: 49.165253058, 16: 412.261274651}
# best known E_full (Camino / Jones sets, MRtrix dirgen)
BEST = {32: 1765.955100, 64: 7393.483828, 128: 30507.425223}


def coulomb_2n(v):
    """Independent reference: Coulomb energy of all 2N points {+v, -v} by scipy's pdist."""
    points = np.concatenate([v, -v])
    return float(np.sum(1.0 / pdist(points)))


def test_energy_matches_pairwise_coulomb_of_2n_points(rng):
    for n in (2, 7, 40, 200):  # 200 > one block of rows
        v = random_directions(n, rng)
        assert energy(v) == pytest.approx(coulomb_2n(v), rel=1e-12)
        assert energy_half(v) == pytest.approx((coulomb_2n(v) - n / 2) / 2, rel=1e-12)


def test_energy_is_dipy_potential_over_two(rng):
    sphere = pytest.importorskip("dipy.core.sphere")
    v = random_directions(25, rng)
    # const=0: no move, so the first recorded potential is the start's
    _, potential = sphere.disperse_charges(sphere.HemiSphere(xyz=v), 1, const=0.0)
    assert potential[0] == pytest.approx(2.0 * energy(v), rel=1e-12)


def test_energy_ignores_sign_and_length(rng):
    v = random_directions(20, rng)
    flipped = v * rng.choice([-1.0, 1.0], size=(20, 1)) * rng.uniform(0.5, 3.0, size=(20, 1))
    assert energy(flipped) == pytest.approx(energy(v), rel=1e-13)


def test_gradient_matches_finite_differences(rng):
    v = random_directions(150, rng)  # two row blocks
    w = rng.random((150, 150))
    w = w + w.T
    np.fill_diagonal(w, 0.0)
    for weights in (None, w):
        _, grad = pair_terms(v, weights, want_grad=True)
        eps = 1e-7  # random points include close pairs: high curvature, so a small step
        for i, k in [(0, 0), (77, 1), (149, 2), (128, 0)]:
            plus, minus = v.copy(), v.copy()
            plus[i, k] += eps
            minus[i, k] -= eps
            numeric = (pair_terms(plus, weights, False)[0]
                       - pair_terms(minus, weights, False)[0]) / (2 * eps)
            assert grad[i, k] == pytest.approx(numeric, rel=1e-5)


@pytest.mark.parametrize("n", sorted(KNOWN))
def test_known_optima(n):
    v = electrostatic_directions(n, seed=0)
    assert v.shape == (n, 3)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-12)
    assert energy(v) == pytest.approx(KNOWN[n], abs=2e-8)


def test_octahedron_is_orthogonal():
    v = electrostatic_directions(3, seed=1)
    assert np.allclose(np.abs(v @ v.T), np.eye(3), atol=1e-6)


def test_icosahedron_angles():
    v = electrostatic_directions(6, seed=2)
    cos = np.abs(v @ v.T)[~np.eye(6, dtype=bool)]
    assert np.allclose(cos, 1.0 / np.sqrt(5.0), atol=1e-6)  # all 6 axes at 63.43 degrees


@pytest.mark.parametrize("n", sorted(BEST))
def test_reaches_best_known_energy(n):
    e = energy(electrostatic_directions(n, seed=0))
    print(f"N={n}: E_full = {e:.6f}, best known {BEST[n]:.6f}, difference {e - BEST[n]:+.6f}")
    # 1e-6 relative: at N=128 a second minimum lies 0.018 (6e-7) above the best; which one a seed
    # reaches can change with the BLAS kernels of the machine. Seed 0 reaches the best here.
    assert e <= BEST[n] * (1.0 + 1e-6)


def test_deterministic_per_seed():
    a = electrostatic_directions(40, seed=7)
    b = electrostatic_directions(40, seed=7)
    assert np.array_equal(a, b)
    c = electrostatic_directions(40, seed=8)
    assert not np.array_equal(a, c)


def test_converged_projected_gradient_vanishes():
    v = electrostatic_directions(50, seed=3)
    _, grad = pair_terms(v, None, want_grad=True)
    tangential = grad - np.sum(grad * v, axis=1)[:, None] * v
    # the radial part is of the order of the energy per direction; the tangential part is ~0
    assert np.abs(tangential).max() < 1e-7 * np.abs(grad).max()
    # and no single-direction nudge lowers the energy
    e0 = energy(v)
    for i in (0, 17, 49):
        nudged = v.copy()
        nudged[i] += 1e-3 * np.cross(nudged[i], [0.3, 0.5, 0.8])
        assert energy(nudged) >= e0 - 1e-9


def test_fixed_directions_are_kept():
    fixed = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    v = electrostatic_directions(12, seed=4, fixed=fixed)
    assert np.array_equal(v[:2], fixed)
    free = electrostatic_directions(12, seed=4)
    # constrained optimum: better than random, no better than the free optimum
    assert energy(free) - 1e-9 <= energy(v) < energy(random_directions(12, np.random.default_rng(0)))


def test_optimize_from_spiral_lowers_energy():
    start = spiral_hemisphere(30)
    value, v = optimize_directions(start)
    assert value + 15 == pytest.approx(energy(v), rel=1e-12)
    assert energy(v) < energy(start)


def test_progress_is_reported():
    calls = []
    electrostatic_directions(10, seed=0, progress=lambda f, m="": calls.append(f))
    assert calls and calls[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in calls)


@pytest.mark.parametrize("bad", [0, -3, "x"])
def test_bad_counts(bad):
    with pytest.raises(GradientToolsError):
        electrostatic_directions(bad)


def test_too_many_fixed():
    with pytest.raises(GradientToolsError, match="fixed"):
        electrostatic_directions(1, fixed=[[0, 0, 1], [1, 0, 0]])


def test_dirgen_energy_convention_agrees(tmp_path):
    """MRtrix dirstat's bipolar total on our directions is E_half = (E_full - N/2) / 2."""
    dirstat = require_tool("dirstat")
    v = electrostatic_directions(45, seed=5)
    path = tmp_path / "dirs.txt"
    np.savetxt(path, v, fmt="%.12f")
    out = subprocess.run([dirstat, str(path), "-output", "BEt"], capture_output=True, text=True, check=True)
    assert float(out.stdout.split()[0]) == pytest.approx(energy_half(v), rel=1e-5)
