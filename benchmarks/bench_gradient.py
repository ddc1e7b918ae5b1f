"""Gradient magnitude on a 256^3 int16 CT phantom: GradientTools vs VTK, scipy and SimpleITK.

Run as a script: ``python benchmarks/bench_gradient.py [--size 256] [--repeats 5] [--sigma 1.5]``.

Timing: one child process runs all cases round-robin ``--repeats`` times and keeps each case's best
time, so the ratios come from the same run under the same machine load; the central-difference
tables also give each case's median CPU time (all threads) over raw VTK's, the work done, which
other users of the machine disturb less than the wall time. Memory: every case runs
once in a fresh child process, which loads the input (and imports every library) first, then resets
the kernel's resident-set high-water mark; the peak extra memory is that mark after the case minus
the resident set before it (so VTK's and ITK's own allocations count too).

Targets:
* central, int16 in, float32 out (issue 13), for each engine: time <= 0.8x raw
  vtkImageGradientMagnitude (Dimensionality 3, VTK's own threads) on an already-cast float32 copy;
  peak extra memory <= 1.2x the float32 output.
* gaussian (issue 2): >= 2x faster than scipy.ndimage (derivative-of-Gaussian filters) and SimpleITK's
  GradientMagnitudeRecursiveGaussian at the same sigma (mm), isotropic and anisotropic spacing.

``--threading`` adds the measurement behind the VTK engine's threading choice (no targets): raw VTK
with VTK's threader or its SMP backend (STDThread) on one big pre-cast image, against our slabs
spread over Python threads (filter single-threaded per slab) or taken in turn with VTK's threads.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy

ISOTROPIC = (1.0, 1.0, 1.0)
ANISOTROPIC = (0.7, 0.7, 1.5)          # I, J, K mm


# ---------------------------------------------------------------- the cases

def _vtk_image(array, spacing):
    import vtk
    from vtk.util import numpy_support

    image = vtk.vtkImageData()
    image.SetDimensions(array.shape[2], array.shape[1], array.shape[0])
    image.SetSpacing(*spacing)
    image.GetPointData().SetScalars(numpy_support.numpy_to_vtk(array.reshape(-1), deep=False))
    return image


def _vtk_magnitude(image, smp=False):
    import vtk
    from vtk.util import numpy_support

    filt = vtk.vtkImageGradientMagnitude()
    filt.SetDimensionality(3)
    filt.HandleBoundariesOn()
    filt.SetEnableSMP(smp)
    filt.SetInputData(image)
    filt.Update()
    output = filt.GetOutput()
    dims = output.GetDimensions()
    return numpy_support.vtk_to_numpy(output.GetPointData().GetScalars()).reshape(dims[::-1]), output


def _prepare_ours_central(case, array, spacing):
    from GradientToolsLib.image import _kernels
    from GradientToolsLib.image.gradient import gradient_magnitude

    engine = "numpy" if "numpy" in case else "vtk"
    if "taking turns" not in case:
        return lambda: gradient_magnitude(array, spacing, engine=engine)

    def taking_turns():
        # as with a VTK whose Update() keeps the GIL: one slab at a time, VTK's threads in each
        original = _kernels.vtk_update_releases_gil
        _kernels.vtk_update_releases_gil = lambda: False
        try:
            return gradient_magnitude(array, spacing, engine=engine)
        finally:
            _kernels.vtk_update_releases_gil = original

    return taking_turns


def prepare(case, array, spacing, sigma):
    """Return a zero-argument callable running ``case``; what it needs is built here, untimed."""
    from GradientToolsLib.image.gradient import gradient_magnitude

    if case.startswith("ours central"):
        return _prepare_ours_central(case, array, spacing)
    if case.startswith("vtk central"):
        precast = array.astype(numpy.float32)
        image = _vtk_image(precast, spacing)
        if "SMP" in case:
            import vtk

            vtk.vtkSMPTools.SetBackend("STDThread")
        return lambda: _vtk_magnitude(image, smp="SMP" in case)
    if case == "ours gaussian":
        return lambda: gradient_magnitude(array, spacing, method="gaussian", sigma=sigma)
    if case == "scipy gaussian (pre-cast float32)":
        import scipy.ndimage as ndi

        precast = array.astype(numpy.float32)
        sigmas = [sigma / spacing[2], sigma / spacing[1], sigma / spacing[0]]          # K, J, I voxels
        if spacing[0] == spacing[1] == spacing[2]:
            return lambda: ndi.gaussian_gradient_magnitude(precast, sigmas, output=numpy.float32,
                                                           mode="nearest") / numpy.float32(spacing[0])

        def scipy_anisotropic():
            # gaussian_gradient_magnitude has no spacing: the same 9 passes, scaled per axis
            total = None
            for axis in range(3):
                order = [0, 0, 0]
                order[axis] = 1
                part = ndi.gaussian_filter(precast, sigmas, order=order, output=numpy.float32, mode="nearest")
                part *= numpy.float32(1.0 / spacing[2 - axis])
                part *= part
                total = part if total is None else numpy.add(total, part, out=total)
            return numpy.sqrt(total, out=total)

        return scipy_anisotropic
    if case == "simpleitk gaussian":
        import SimpleITK as sitk

        image = sitk.GetImageFromArray(array)
        image.SetSpacing(spacing)
        return lambda: sitk.GradientMagnitudeRecursiveGaussian(image, sigma)
    raise SystemExit(f"unknown case {case}")


def as_array(result):
    if isinstance(result, tuple):
        return result[0]
    if hasattr(result, "GetPixelID"):
        import SimpleITK as sitk

        return sitk.GetArrayFromImage(result)
    return result


RAW_VTK = "vtk central (pre-cast float32)"
CENTRAL = ["ours central, vtk engine", "ours central, numpy engine", RAW_VTK]
THREADING = ["ours central, vtk engine", "ours central, vtk engine, slabs taking turns",
             RAW_VTK, "vtk central (pre-cast float32), SMP STDThread"]
GAUSSIAN = ["ours gaussian", "scipy gaussian (pre-cast float32)", "simpleitk gaussian"]


# ---------------------------------------------------------------- child processes

def _import_everything():
    import scipy.ndimage  # noqa: F401
    import SimpleITK  # noqa: F401
    import vtk
    from vtk.util import numpy_support  # noqa: F401

    import GradientToolsLib.image.gradient  # noqa: F401

    # the first instances of VTK's classes set up per-process tables (about 6 MB, measured: 4.7 for
    # vtkImageData, 1.2 for the filter); the raw VTK case makes its image before the high-water
    # mark is reset, so every case starts with them made
    vtk.vtkImageData()
    vtk.vtkImageGradientMagnitude()


def _status_bytes(key):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _reset_high_water():
    """Reset the peak RSS to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def child_memory(args):
    _import_everything()
    array = numpy.load(args.input)
    run = prepare(args.case, array, tuple(args.spacing), args.sigma)
    if _reset_high_water():
        # transient allocations of imports and loading must not hide the case's own peak
        baseline = _status_bytes("VmRSS")
        result = run()
        peak = _status_bytes("VmHWM")
    else:  # pragma: no cover - other systems: high-water mark of the whole process
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        result = run()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    del result
    print(json.dumps({"extra": peak - baseline}))


def _cpu_seconds():
    """CPU time of this process, all threads (less sensitive than wall time to other users)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_time(args):
    _import_everything()
    array = numpy.load(args.input)
    spacing = tuple(args.spacing)
    cases = args.cases.split("|")
    runs = {case: prepare(case, array, spacing, args.sigma) for case in cases}
    best = {case: float("inf") for case in cases}
    cpu = {case: [] for case in cases}
    outputs = {}
    for _ in range(args.repeats):
        for case in cases:
            cpu_start, start = _cpu_seconds(), time.perf_counter()
            result = runs[case]()
            best[case] = min(best[case], time.perf_counter() - start)
            cpu[case].append(_cpu_seconds() - cpu_start)
            outputs[case] = as_array(result).astype(numpy.float32, copy=False)
            del result
    reference = outputs[cases[0]]
    errors = {}
    margin = 12            # beyond the Gaussian kernels of sigma <= 2 voxels and their boundary effects
    inner = (slice(margin, -margin),) * 3
    for case in cases[1:]:
        peer = outputs[case]
        diff = numpy.abs(reference.astype(numpy.float64) - peer)
        errors[case] = {
            "max_abs": float(diff.max()), "max_rel": float(diff.max() / peer.max()),
            "inner_max_abs": float(diff[inner].max()), "inner_max_rel": float(diff[inner].max() / peer.max()),
            "peer_max": float(peer.max()),
        }
    print(json.dumps({"times": best, "errors": errors,
                      "cpu": {case: float(numpy.median(values)) for case, values in cpu.items()}}))


def _spawn(extra):
    command = [sys.executable, os.path.abspath(__file__)] + extra
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"child failed: {' '.join(extra)}\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- report

def _fmt_mb(value):
    return f"{value / 2 ** 20:7.1f} MB"


def _central_section(cases, common, repeats, output_bytes, targets):
    """Time (one child, round-robin) and memory (one child per case) of central-difference cases,
    the raw VTK case last; returns the verdicts."""
    timing = _spawn(["--child", "time", "--cases", "|".join(cases), "--repeats", str(repeats)] + common)
    memory = {case: _spawn(["--child", "memory", "--case", case] + common)["extra"] for case in cases}
    raw, raw_cpu = timing["times"][RAW_VTK], timing["cpu"][RAW_VTK]
    print(f"{'case':46s} {'time':>8s} {'/ raw VTK':>9s} {'CPU / raw':>9s} {'peak extra memory':>17s} "
          f"{'/ output':>8s} {'max |diff| vs first':>19s}")
    for case in cases:
        err = timing["errors"].get(case)
        diff = f"{err['max_abs']:19.3g}" if err else f"{'(reference)':>19s}"
        print(f"{case:46s} {timing['times'][case]:7.3f}s {timing['times'][case] / raw:8.2f}x "
              f"{timing['cpu'][case] / raw_cpu:8.2f}x {_fmt_mb(memory[case]):>17s} "
              f"{memory[case] / output_bytes:7.2f}x {diff}")
    verdicts = []
    for case in cases:
        if targets and case.startswith("ours"):
            ratio, memory_ratio = timing["times"][case] / raw, memory[case] / output_bytes
            verdicts.append((f"{case}: time vs raw VTK on float32", ratio, "<= 0.8x", ratio <= 0.8))
            verdicts.append((f"{case}: peak extra memory / output", memory_ratio, "<= 1.2x",
                             memory_ratio <= 1.2))
    return verdicts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sigma", type=float, default=1.5, help="Gaussian sigma, mm (default 1.5)")
    parser.add_argument("--threading", action="store_true",
                        help="also compare the VTK engine's threading with VTK's own threads")
    parser.add_argument("--skip-gaussian", action="store_true", help="central differences only")
    parser.add_argument("--child", choices=("memory", "time"), help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--cases", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--spacing", type=float, nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "memory":
        return child_memory(args)
    if args.child == "time":
        return child_time(args)

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
    from GradientToolsLib.image.phantoms import ct_phantom

    n = args.size
    image, _ = ct_phantom((n, n, n), noise_std=20.0, correlation_mm=0.7, seed=0)
    output_bytes = image.size * 4
    print(f"input: {n}^3 int16 CT phantom ({_fmt_mb(image.nbytes).strip()}); float32 output "
          f"{_fmt_mb(output_bytes).strip()}; {os.cpu_count()} cores; best of {args.repeats} "
          f"round-robin runs; load average {os.getloadavg()[0]:.2f}")
    verdicts = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "input.npy")
        numpy.save(path, image)
        del image
        common = ["--input", path, "--sigma", str(args.sigma)]

        spacing = ["--spacing"] + [str(h) for h in ANISOTROPIC]
        print("\n== central differences (spacing " + " x ".join(map(str, ANISOTROPIC)) + " mm)")
        verdicts += _central_section(CENTRAL, common + spacing, args.repeats, output_bytes, targets=True)
        if args.threading:
            print("\n== threading of the VTK engine (no targets)")
            _central_section(THREADING, common + spacing, args.repeats, output_bytes, targets=False)

        gaussian_spacings = [] if args.skip_gaussian else [("isotropic", ISOTROPIC),
                                                           ("anisotropic", ANISOTROPIC)]
        for label, space in gaussian_spacings:
            print(f"\n== derivative of Gaussian, sigma {args.sigma} mm, {label} spacing "
                  + " x ".join(map(str, space)) + " mm")
            spacing = ["--spacing"] + [str(h) for h in space]
            timing = _spawn(["--child", "time", "--cases", "|".join(GAUSSIAN), "--repeats",
                             str(args.repeats)] + common + spacing)
            memory = {case: _spawn(["--child", "memory", "--case", case] + common + spacing)["extra"]
                      for case in GAUSSIAN}
            print(f"{'case':36s} {'time':>9s} {'peak extra memory':>18s} {'speed-up':>9s} "
                  f"{'max abs err':>12s} {'rel':>9s} {'interior abs':>13s} {'rel':>9s}")
            ours = timing["times"][GAUSSIAN[0]]
            for case in GAUSSIAN:
                t = timing["times"][case]
                err = timing["errors"].get(case)
                errors = (f"{err['max_abs']:12.4g} {err['max_rel']:9.2g} {err['inner_max_abs']:13.4g} "
                          f"{err['inner_max_rel']:9.2g}" if err else "")
                print(f"{case:36s} {t:8.3f}s {_fmt_mb(memory[case]):>18s} {t / ours:8.2f}x {errors}")
            for case in GAUSSIAN[1:]:
                speedup = timing["times"][case] / ours
                verdicts.append((f"gaussian {label}: speed-up vs {case.split()[0]}", speedup, ">= 2x",
                                 speedup >= 2.0))

    print(f"\n== targets (load average at the end {os.getloadavg()[0]:.2f})")
    for name, value, target, ok in verdicts:
        print(f"{name:52s} {value:6.2f}x  target {target:8s} {'PASS' if ok else 'FAIL'}")
    return 0 if all(v[3] for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
