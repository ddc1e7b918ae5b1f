"""Noise-floor study on real scans: hand-measured regions against every noise estimator.

Run: ``python benchmarks/study_noise.py [--spread]`` (fetches and caches the scans of
``Testing/realdata/scans.py`` on first use; about a minute).

For each real scan the reference is measured by hand: the 99th percentile of the renderer's own
gradient (central differences per voxel step, ``references.renderer_gradient``) inside homogeneous
regions picked in ``Testing/realdata/catalog.py`` (the test tier draws them in
``Testing/realdata/out/<scan>-regions.png``). Each estimator's result is turned into that
quantity, the ``P`` the curve is built on:

* voxel-sigma estimators (Immerkaer, wavelet MAD, Aja-Fernandez local-variance mode, DIPY's
  ``estimate_sigma`` and ``piesno``) through the white-noise relation ``P = q99(chi_3) s / sqrt(2)``
  (2.38 s), the only one they support;
* the renderer-unit estimators (the previous block estimator, the project's) give ``P`` directly.

The table prints ``P / max region p99``: the curve hides the regions' noise when this is at least
0.87 (opacity <= 0.1 at 1.15 P) and shows a boundary of median gradient ``m`` when ``P <= m / 1.5``;
the last columns give that window per scan. ``--spread`` adds the seed and crop spread of the
project's ``P`` (20 seeds; crops that keep the tissue).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Testing"))
sys.path.insert(0, os.path.join(HERE, "..", "Testing", "realdata"))

from references import renderer_gradient  # noqa: E402
from scans import ScansUnavailable, load_scans, measure  # noqa: E402

from GradientToolsLib.image.noise import noise_gradient_quantile  # noqa: E402

WHITE = noise_gradient_quantile([1 / np.sqrt(2)] * 3)        # P of white noise of std 1 (2.38)


def _informative(a: np.ndarray) -> np.ndarray:
    """Voxels not equal to all six neighbours (exact-zero backgrounds and padding left out)."""
    f = np.pad(a, 1, mode="edge")
    c = f[1:-1, 1:-1, 1:-1]
    same = np.ones(a.shape, bool)
    for axis in range(3):
        for shift in (0, 2):
            index = [slice(1, -1)] * 3
            index[axis] = slice(shift, shift + a.shape[axis])
            same &= f[tuple(index)] == c
    return ~same


def immerkaer(a):
    """Immerkaer (1996), in 3-D: mean |F * (L x L x L)| with L = [1, -2, 1], Gaussian noise."""
    f = a.astype(np.float64)
    kernel = np.array([1.0, -2.0, 1.0])
    for axis in range(3):
        f = ndimage.correlate1d(f, kernel, axis=axis, mode="reflect")
    keep = _informative(a)
    return float(np.sqrt(np.pi / 2) * np.abs(f[keep]).mean() / np.sqrt(216.0))


def wavelet_mad(a):
    """Donoho and Johnstone (1994): median |HHH| / 0.6745 of the finest 3-D Haar level."""
    f = a.astype(np.float64)
    k, j, i = (n - n % 2 for n in f.shape)
    f = f[:k, :j, :i]
    hhh = f.copy()
    for axis in range(3):
        even = np.take(hhh, range(0, hhh.shape[axis], 2), axis=axis)
        odd = np.take(hhh, range(1, hhh.shape[axis], 2), axis=axis)
        hhh = (even - odd) / np.sqrt(2.0)
    # coefficients of 2x2x2 blocks that are not all equal (exact-zero background left out)
    blocks = f.reshape(k // 2, 2, j // 2, 2, i // 2, 2)
    varying = blocks.max(axis=(1, 3, 5)) > blocks.min(axis=(1, 3, 5))
    return float(np.median(np.abs(hhh[varying])) / 0.6745)


def local_variance_mode(a, size=3):
    """Aja-Fernandez et al. (2009): the mode of the local variance (3^3 windows) estimates sigma^2."""
    f = a.astype(np.float64)
    mean = ndimage.uniform_filter(f, size)
    var = np.maximum(ndimage.uniform_filter(f * f, size) - mean * mean, 0) * size ** 3 / (size ** 3 - 1)
    v = var[_informative(a) & (var > 0)]
    logs = np.log(v)
    hist, edges = np.histogram(logs, bins=200)
    smooth = ndimage.gaussian_filter1d(hist.astype(float), 2)
    peak = int(np.argmax(smooth))
    return float(np.sqrt(np.exp(0.5 * (edges[peak] + edges[peak + 1]))))


def dipy_estimate_sigma(a):
    from dipy.denoise.noise_estimate import estimate_sigma

    return float(np.asarray(estimate_sigma(a.astype(np.float64))).ravel()[0])


def dipy_piesno(a):
    from dipy.denoise.noise_estimate import piesno

    # one volume: the slices stand for the repetitions PIESNO expects along the last axis
    return float(np.asarray(piesno(np.moveaxis(a.astype(np.float64), 0, -1), N=1)).max())


def project(a, seed=0):
    from GradientToolsLib.image.opacity import suggest_gradient_opacity

    return suggest_gradient_opacity(a, seed=seed).noise_p99


VOXEL_SIGMA = {"Immerkaer": immerkaer, "wavelet MAD": wavelet_mad, "local-var mode": local_variance_mode,
               "dipy estimate_sigma": dipy_estimate_sigma, "dipy piesno": dipy_piesno}
DIRECT = {"project": project}


def reference(scan):
    regions, boundaries = measure(scan, renderer_gradient(scan.array))
    region = {r.name: r.p99 for r in regions}
    sigma = {r.name: r.std_value for r in regions}
    bounds = {b.name: (b.median, b.real) for b in boundaries}
    return region, sigma, bounds


def table(scans) -> None:
    names = list(VOXEL_SIGMA) + list(DIRECT)
    from GradientToolsLib.image.opacity import RAMP_END, RAMP_START

    hide = RAMP_START + 0.1 * (RAMP_END - RAMP_START)      # opacity 0.1
    show = RAMP_START + 0.8 * (RAMP_END - RAMP_START)      # opacity 0.8
    print(f"== P / (max hand-measured region p99); with this ramp (0 at {RAMP_START} P, 1 at {RAMP_END} P) "
          f"the region noise is hidden when >= {1 / hide:.2f}; "
          f"window = [max p99 / {hide:.2f}, min real-boundary median / {show:.2f}]")
    print(f"{'scan':12s} {'regions: p99 (voxel std)':44s} " + " ".join(f"{n[:13]:>13s}" for n in names)
          + f" {'window':>17s}")
    for scan in scans:
        region, sigma, bounds = reference(scan)
        worst = max(region.values())
        cells = []
        for n in names:
            try:
                value = VOXEL_SIGMA[n](scan.array) * WHITE if n in VOXEL_SIGMA else DIRECT[n](scan.array)
                cells.append(f"{value / worst:13.2f}")
            except Exception as exc:  # a peer that cannot run on this scan says so
                cells.append(f"{'fails':>13s}")
                print(f"  {n} on {scan.name}: {type(exc).__name__}: {str(exc)[:80]}", file=sys.stderr)
        regions = ", ".join(f"{k} {v:.3g} ({sigma[k]:.2g})" for k, v in region.items())
        real = [m for name, (m, real) in bounds.items() if real]
        high = min(real) / show if real else float("inf")
        print(f"{scan.name:12s} {regions[:44]:44s} " + " ".join(cells) +
              f" {1 / hide:8.2f}-{high / worst:<8.2f}")


def crops(scan):
    """Crops that keep every region and boundary box: a margin trimmed off each side in turn."""
    boxes = [r.box for r in scan.regions.values()] + [b.box for b in scan.boundaries.values()]
    lo = [min(b[a].start for b in boxes) for a in range(3)]
    hi = [max(b[a].stop for b in boxes) for a in range(3)]
    out = []
    for axis in range(3):
        for side in (0, 1):
            index = [slice(None)] * 3
            n = scan.array.shape[axis]
            if side == 0:
                index[axis] = slice(lo[axis] // 2, n)
            else:
                index[axis] = slice(0, hi[axis] + (n - hi[axis]) // 2)
            out.append(tuple(index))
    return out


def spread(scans) -> None:
    print("\n== stability of the project's P: 20 seeds, and 6 crops keeping the tissue (max/min - 1)")
    print(f"{'scan':12s} {'P seed 0':>10s} {'seeds spread':>13s} {'crops spread':>13s} {'ms':>6s}")
    for scan in scans:
        start = time.perf_counter()
        seeds = [project(scan.array, seed) for seed in range(20)]
        ms = (time.perf_counter() - start) / 20 * 1000
        cropped = [project(np.ascontiguousarray(scan.array[c])) for c in crops(scan)] + [seeds[0]]
        print(f"{scan.name:12s} {seeds[0]:10.4g} {max(seeds) / min(seeds) - 1:12.1%} "
              f"{max(cropped) / min(cropped) - 1:12.1%} {ms:6.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spread", action="store_true", help="also the seed and crop spread")
    args = parser.parse_args()
    try:
        scans = load_scans()
    except ScansUnavailable as exc:
        print(f"real scans unavailable: {exc}")
        return 1
    table(scans)
    if args.spread:
        spread(scans)
    return 0


if __name__ == "__main__":
    sys.exit(main())
