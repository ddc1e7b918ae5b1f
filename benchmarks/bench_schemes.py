"""Electrostatic direction sets: GradientTools against MRtrix3's dirgen and DIPY, in one run.

For N = 64, 128 and 300 this times

* DIPY ``disperse_charges`` with 5000 iterations from random points (as in DIPY's gradient example),
* MRtrix3 ``dirgen`` with its defaults (10 restarts, bipolar, power 1, all cores),
* ``GradientToolsLib.electrostatic_directions`` with its defaults, for several seeds,

and reports wall time and E_full (Coulomb energy of the 2N antipodal charges) of each, then the
ratios against the targets of issue 4:

* N = 64 and 128: at most 0.25 x dirgen's time, at dirgen's energy or lower;
* N = 300: E_full <= 171884.31 within 10 s.

Timings on a shared machine are noisy: only ratios measured in the same run mean anything.
``--quick`` skips the slow peers (DIPY everywhere, dirgen at N = 300).

Usage: python benchmarks/bench_schemes.py [--quick] [--seeds K]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from GradientToolsLib import electrostatic_directions, multishell_scheme
from GradientToolsLib.diffusion.energy import energy

SPEED_TARGET = 0.25  # x dirgen's time, N = 64 and 128
TARGET_300 = (171884.31, 10.0)  # E_full, seconds
BEST_KNOWN = {64: 7393.483828, 128: 30507.425223, 300: 171884.10}


def time_ours(n, seeds):
    times, energies = [], []
    for seed in seeds:
        start = time.perf_counter()
        v = electrostatic_directions(n, seed=seed)
        times.append(time.perf_counter() - start)
        energies.append(energy(v))
    return float(np.mean(times)), float(np.max(energies)), times, energies


def time_dirgen(n, folder):
    exe = shutil.which("dirgen")
    if exe is None:
        return None
    out = os.path.join(folder, f"dirgen{n}.txt")
    start = time.perf_counter()
    subprocess.run([exe, str(n), out, "-force", "-quiet", "-cartesian"], check=True)
    elapsed = time.perf_counter() - start
    v = np.loadtxt(out, comments="#")
    return elapsed, energy(v)


def time_dipy(n, seed=0):
    try:
        from dipy.core.sphere import HemiSphere, disperse_charges
    except ImportError:
        return None
    rng = np.random.default_rng(seed)
    theta = np.pi * rng.random(n)
    phi = 2 * np.pi * rng.random(n)
    start = time.perf_counter()
    hemi, _ = disperse_charges(HemiSphere(theta=theta, phi=phi), 5000)
    elapsed = time.perf_counter() - start
    return elapsed, energy(hemi.vertices)


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip DIPY, and dirgen at N=300")
    parser.add_argument("--seeds", type=int, default=3, help="seeds for GradientTools (default 3)")
    args = parser.parse_args(argv)
    seeds = list(range(args.seeds))
    rows, verdicts = [], []
    with tempfile.TemporaryDirectory() as folder:
        for n in (64, 128, 300):
            ours_t, ours_e, all_t, all_e = time_ours(n, seeds)
            slow = args.quick and n == 300
            dg = None if slow else time_dirgen(n, folder)
            dp = None if args.quick else time_dipy(n)
            rows.append((n, "DIPY disperse_charges 5000 it", dp))
            rows.append((n, "MRtrix3 dirgen (defaults)", dg))
            rows.append((n, f"GradientTools (mean of {len(seeds)} seeds)", (ours_t, ours_e)))
            print(f"N={n}: GradientTools per seed: " + ", ".join(
                f"{t:.3f} s / {e:.6f}" for t, e in zip(all_t, all_e)), file=sys.stderr)
            if n in (64, 128):
                if dg is None:
                    verdicts.append(f"N={n}: dirgen not run (not installed?): no verdict")
                    continue
                ratio = ours_t / dg[0]
                ok = ratio <= SPEED_TARGET and ours_e <= dg[1] * (1 + 1e-9)
                verdicts.append(
                    f"N={n}: time {ratio:.3f} x dirgen (target <= {SPEED_TARGET}), worst E_full "
                    f"{ours_e:.6f} vs dirgen {dg[1]:.6f} ({ours_e - dg[1]:+.6f}): {'PASS' if ok else 'FAIL'}")
            else:
                ok = ours_e <= TARGET_300[0] and ours_t <= TARGET_300[1]
                extra = "" if dg is None else f"; {ours_t / dg[0]:.3f} x dirgen's time"
                verdicts.append(
                    f"N=300: {ours_t:.2f} s (target <= {TARGET_300[1]:.0f} s), worst E_full {ours_e:.4f} "
                    f"(target <= {TARGET_300[0]}){extra}: {'PASS' if ok else 'FAIL'}")

    print(f"\n{'N':>4}  {'method':<36} {'time (s)':>9} {'E_full':>14} {'vs best known':>14}")
    for n, name, result in rows:
        t, e = (None, None) if result is None else result
        diff = None if e is None else e - BEST_KNOWN[n]
        print(f"{n:>4}  {name:<36} {fmt(t, '9.3f'):>9} {fmt(e, '14.6f'):>14} {fmt(diff, '+14.6f'):>14}")
    print("\nTargets:")
    for line in verdicts:
        print("  " + line)

    # the multi-shell designer on the DIPY example's two shells (64 directions each)
    start = time.perf_counter()
    scheme = multishell_scheme({1000: 64, 2500: 64}, b0=1, seed=0)
    elapsed = time.perf_counter() - start
    shells = scheme.shell_indices()
    single = energy(electrostatic_directions(64, seed=0))
    union = energy(electrostatic_directions(128, seed=0))
    excess = [energy(scheme.bvecs[i]) / single - 1 for i in shells.values()]
    union_excess = energy(scheme.bvecs[np.concatenate(list(shells.values()))]) / union - 1
    print(f"\nmulti-shell 1000x64 + 2500x64 (jointly optimised) in {elapsed:.2f} s: shells "
          + ", ".join(f"{100 * x:.3f}%" for x in excess)
          + f" above the 64-direction optimum, union {100 * union_excess:.3f}% above the 128 optimum "
          f"(target < 0.25% each): {'PASS' if max(excess + [union_excess]) < 0.0025 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
