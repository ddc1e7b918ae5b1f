"""The scheme quality report on large direction sets: GradientTools' ``scheme_report`` (what
``gradienttools stats`` prints) against MRtrix3's ``dirstat`` on the same files, in one run.

Random unit directions at b=1000 for each N; ours is timed in-process (best of 3), dirstat as a
process (once; it is skipped above ``--dirstat-max`` directions, 1000 by default, where it takes
minutes). Prints seconds and the ratio ours / dirstat (< 1: ours faster), and ours' peak memory.

Usage: python benchmarks/bench_report.py [--sizes 100 500 1000 5000 10000] [--dirstat-max N]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from GradientToolsLib.diffusion.report import scheme_report
from GradientToolsLib.diffusion.scheme import GradientScheme


def directions(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1)[:, None]


def time_ours(scheme: GradientScheme) -> float:
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        scheme_report(scheme)
        best = min(best, time.perf_counter() - start)
    return best


def time_dirstat(exe: str, path: str) -> float:
    start = time.perf_counter()
    subprocess.run([exe, path, "-quiet"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000, 5000, 10000])
    parser.add_argument("--dirstat-max", type=int, default=1000)
    args = parser.parse_args(argv)
    exe = shutil.which("dirstat")
    if exe is None:
        print("dirstat (MRtrix3) not found: only GradientTools is timed", file=sys.stderr)
    print(f"{'N':>6} {'ours s':>9} {'dirstat s':>10} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as folder:
        for n in args.sizes:
            v = directions(n)
            path = os.path.join(folder, f"d{n}.txt")
            np.savetxt(path, np.c_[v, np.full(n, 1000.0)])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the SH budget warning on the largest sets
                ours = time_ours(GradientScheme(np.full(n, 1000.0), v))
            theirs = time_dirstat(exe, path) if exe and n <= args.dirstat_max else None
            ratio = f"{ours / theirs:7.3f}" if theirs else "      -"
            shown = f"{theirs:10.2f}" if theirs else "   skipped"
            print(f"{n:>6} {ours:9.2f} {shown} {ratio}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process (ours): {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
