"""Gradient-table check on a 96x96x60 DWI with 64 directions: GradientTools against MRtrix's
dwigradcheck, in one run, on the same files.

The DWI is the phantom of :func:`GradientToolsLib.dwi_phantom` (three curved bundles in the three
planes of the voxel axes and one straight oblique bundle, crossing; grey matter, a CSF ventricle,
Rician noise at SNR 20), 2 mm voxels, an oblique direction matrix, 6 b=0 + 64 directions at
b=1000, written as NIfTI with an FSL table whose second axis is flipped (in the voxel axes). Both
tools read the same files and export the corrected FSL table; both corrected tables are compared
with the true one.

Timed, wall clock, each once (both take many seconds, so one run each is enough against the noise):

* ``gradienttools gradcheck DWI BVAL BVEC --output ...``, a fresh process (imports, reading the
  NIfTI, mask, tensor fit, tracking, writing);
* ``dwigradcheck DWI -fslgrad BVEC BVAL -export_grad_fsl ... -nthreads 2`` with its defaults (10000
  streamlines per candidate, 48 candidates: 24 in the image frame, 24 in the scanner frame).

Targets (issue 14): GradientTools' whole check <= 60 s on 2 cores, and faster than dwigradcheck
(ratio < 1). The machine's load average is printed before and after: the machine may be shared.

Usage: python benchmarks/bench_gradcheck.py [--number N]   (N: dwigradcheck's -number)
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

from GradientToolsLib import dwi_phantom, electrostatic_directions
from GradientToolsLib.diffusion.gradcheck import apply_candidate
from GradientToolsLib.diffusion.gradcheck.frames import voxel_to_fsl

TIME_TARGET = 60.0  # seconds, 2 cores
SHAPE = (60, 96, 96)  # K, J, I
SPACING = (2.0, 2.0, 2.0)
CORRUPTION = ((0, 1, 2), (1, -1, 1))  # the second axis flipped


def _oblique() -> np.ndarray:
    a, b = 0.25, 0.15
    rz = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(b), -np.sin(b)], [0.0, np.sin(b), np.cos(b)]])
    return rz @ rx


def _write_case(folder: str):
    import SimpleITK as sitk

    bvals = np.concatenate([np.zeros(6), np.full(64, 1000.0)])
    truth = np.vstack([np.zeros((6, 3)), np.asarray(electrostatic_directions(64, seed=0))])
    phantom = dwi_phantom(bvals, truth, shape=SHAPE, spacing=SPACING, snr=20.0, seed=0)
    direction = _oblique()  # LPS
    image = sitk.GetImageFromArray(np.moveaxis(phantom.dwi, -1, 0), isVector=False)  # 4-D (N, K, J, I)
    image.SetSpacing(SPACING + (1.0,))
    image.SetOrigin((-96.0, -96.0, -60.0, 0.0))
    full = np.eye(4)
    full[:3, :3] = direction
    image.SetDirection(tuple(full.reshape(-1)))
    path = os.path.join(folder, "dwi.nii.gz")
    sitk.WriteImage(image, path)
    for name, table in (("bad", apply_candidate(truth, CORRUPTION)), ("true", truth)):
        np.savetxt(os.path.join(folder, f"{name}.bval"), bvals[None], fmt="%g")
        np.savetxt(os.path.join(folder, f"{name}.bvec"), voxel_to_fsl(table, direction).T, fmt="%.10f")
    return path, bvals


def _same_table(a: np.ndarray, b: np.ndarray, bvals: np.ndarray) -> bool:
    weighted = bvals > 50
    return bool(np.allclose(np.abs(np.sum(a[weighted] * b[weighted], axis=1)), 1.0, atol=1e-5))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=10000, help="dwigradcheck -number (default 10000)")
    args = parser.parse_args()
    if shutil.which("dwigradcheck") is None:
        print("dwigradcheck is not installed (apt-get install mrtrix3)")
        return 1
    folder = tempfile.mkdtemp(prefix="bench_gradcheck-")
    try:
        dwi, bvals = _write_case(folder)
        bad_bval, bad_bvec = (os.path.join(folder, f"bad.{e}") for e in ("bval", "bvec"))
        true_bvec = np.loadtxt(os.path.join(folder, "true.bvec")).T
        print(f"DWI {SHAPE[2]}x{SHAPE[1]}x{SHAPE[0]}, {bvals.size} volumes (6 b=0, 64 x b=1000), "
              f"2 mm, oblique; table with its second voxel axis flipped")
        print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")

        start = time.perf_counter()
        ours = subprocess.run([sys.executable, "-m", "GradientToolsLib", "gradcheck", dwi, bad_bval, bad_bvec,
                               "--output", os.path.join(folder, "ours")], capture_output=True, text=True)
        ours_time = time.perf_counter() - start
        if ours.returncode != 0:
            print(ours.stderr)
            return 1
        verdict = [line for line in ours.stdout.splitlines() if line.startswith("verdict")][0]
        ours_ok = _same_table(np.loadtxt(os.path.join(folder, "ours.bvec")).T, true_bvec, bvals)

        start = time.perf_counter()
        command = ["dwigradcheck", dwi, "-fslgrad", bad_bvec, bad_bval, "-number", str(args.number),
                   "-nthreads", "2", "-export_grad_fsl", os.path.join(folder, "mrtrix.bvec"),
                   os.path.join(folder, "mrtrix.bval"), "-force"]
        mrtrix = subprocess.run(command, capture_output=True, text=True, cwd=folder)
        mrtrix_time = time.perf_counter() - start
        if mrtrix.returncode != 0:
            print(mrtrix.stderr[-2000:])
            return 1
        mrtrix_ok = _same_table(np.loadtxt(os.path.join(folder, "mrtrix.bvec")).T, true_bvec, bvals)
        table = mrtrix.stderr.split("Mean length", 1)[1].splitlines()[1:3]
        print(f"load average after: {os.getloadavg()[0]:.2f}")

        print(f"\nGradientTools gradcheck: {ours_time:7.1f} s  corrected table = truth: {ours_ok}")
        print(f"  {verdict}")
        print(f"dwigradcheck (-number {args.number}): {mrtrix_time:7.1f} s  corrected table = truth: "
              f"{mrtrix_ok}")
        print("  best two: " + " | ".join(" ".join(line.split()) for line in table))
        ratio = ours_time / mrtrix_time
        print(f"\nratio GradientTools / dwigradcheck: {ratio:.3f}")
        print("\n== targets")
        fast = ours_time <= TIME_TARGET
        print(f"whole check {ours_time:.1f} s <= {TIME_TARGET:.0f} s: {'PASS' if fast else 'FAIL'}")
        print(f"faster than dwigradcheck (ratio {ratio:.3f} < 1): {'PASS' if ratio < 1 else 'FAIL'}")
        print(f"both find the true table: {'PASS' if ours_ok and mrtrix_ok else 'FAIL'}")
        return 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
