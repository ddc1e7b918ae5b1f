"""Splitting a direction set into K uniform subsets: GradientTools against MRtrix3's dirsplit, in one run.

For dirgen sets of N directions split into K parts this measures dirsplit's own criterion (the
highest bipolar energy of a part, E_half = sum over its pairs of 1/|a - b| + 1/|a + b|) and the sum
over the parts, for ``split_scheme`` and for ``dirsplit -permutations P`` (random swaps; its default
P = 1e8 takes hours here), with wall times, and prints the ratios ours / dirsplit (< 1: ours lower).

Usage: python benchmarks/bench_split.py [--quick]
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

from GradientToolsLib.diffusion.energy import energy_half
from GradientToolsLib.diffusion.scheme import GradientScheme
from GradientToolsLib.diffusion.split import split_scheme

MRTRIX_LIBEXEC = "/usr/lib/mrtrix3/bin"


def tool(name):
    path = shutil.which(name)
    if path is None and os.path.exists(os.path.join(MRTRIX_LIBEXEC, name)):
        path = os.path.join(MRTRIX_LIBEXEC, name)
    return path


def measure(directions, parts):
    start = time.perf_counter()
    groups = split_scheme(GradientScheme(np.full(len(directions), 1000.0), directions), parts)
    elapsed = time.perf_counter() - start
    energies = [energy_half(directions[g]) for g in groups]
    return elapsed, max(energies), sum(energies)


def measure_dirsplit(exe, path, parts, permutations, folder):
    outs = [os.path.join(folder, f"part{k}.txt") for k in range(parts)]
    start = time.perf_counter()
    subprocess.run([exe, path, *outs, "-cartesian", "-force", "-quiet", "-permutations", str(permutations)],
                   check=True)
    elapsed = time.perf_counter() - start
    energies = [energy_half(np.loadtxt(o)) for o in outs]
    return elapsed, max(energies), sum(energies)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer cases, dirsplit at 1e5 permutations only")
    args = parser.parse_args(argv)
    dirgen, dirsplit = tool("dirgen"), tool("dirsplit")
    if dirgen is None or dirsplit is None:
        print("MRtrix3 dirgen/dirsplit not found (apt-get install mrtrix3)")
        return 1
    cases = [(60, 2), (64, 4)] if args.quick else [(60, 2), (64, 4), (90, 3), (128, 2)]
    budgets = [100000] if args.quick else [100000, 1000000]
    print(f"{'N':>4} {'K':>2}  {'method':<28} {'time (s)':>9} {'max part E':>11} {'sum E':>11}"
          f" {'max ratio':>9}")
    with tempfile.TemporaryDirectory() as folder:
        for n, parts in cases:
            path = os.path.join(folder, f"dirs{n}.txt")
            subprocess.run([dirgen, str(n), path, "-cartesian", "-force", "-quiet"], check=True)
            directions = np.loadtxt(path)
            ours = measure(directions, parts)
            print(f"{n:>4} {parts:>2}  {'GradientTools split_scheme':<28} {ours[0]:>9.3f} {ours[1]:>11.3f}"
                  f" {ours[2]:>11.3f}")
            for budget in budgets:
                theirs = measure_dirsplit(dirsplit, path, parts, budget, folder)
                print(f"{n:>4} {parts:>2}  {f'dirsplit -permutations {budget:.0e}':<28} {theirs[0]:>9.3f}"
                      f" {theirs[1]:>11.3f} {theirs[2]:>11.3f} {ours[1] / theirs[1]:>9.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
