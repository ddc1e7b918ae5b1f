"""Volumes larger than memory: streaming through memory-mapped files, and dask on a local cluster.

Run as a script: ``python benchmarks/bench_out_of_core.py [--slices 720] [--repeats 2]
[--methods central gaussian] [--skip-zarr] [--keep DIR]``.

Part 1, streaming (issue 16): an uncompressed int16 .nhdr of 720 x 1024 x 1024 voxels (1.51 GB; the
float32 output 3.02 GB) with CT-like content (air, tissue, bone, noise of 20 HU). Each case runs in
a fresh child process whose memory is sampled every 5 ms from /proc/PID/status: RssAnon + RssShmem,
the resident memory the kernel cannot reclaim (memory-mapped file pages are left out: the kernel
drops or writes them back under pressure). Cases, round-robin ``--repeats`` times, best wall time:

* ``stream``: ``gradienttools magnitude big.nhdr out.nhdr`` (read and write memory-mapped);
* ``memory``: the in-memory computation on the same volume, which fits here: the child reads the
  voxels into an array (np.fromfile, page cache warm), then times ``gradient_magnitude`` alone
  (float32 output in memory; reading and writing not counted).

Targets: ``stream`` peak <= 600 MB; ``stream`` throughput (voxels per second of the whole
command: start-up, reading, computing, writing) >= 1/1.5 of ``memory``'s (computing only).
The input's pages are in the page cache for both (it was just written); the output's pages are
written back by the kernel after the command ends (no fsync either way).

Part 2, dask (issue 16): a 256 x 512 x 512 int16 OME-Zarr (0.4, zarr format 2) with 64^3 chunks;
``gradienttools magnitude in.ome.zarr out.zarr`` on a dask.distributed LocalCluster of 2 worker
processes (1 thread each) on 127.0.0.1, and on local threads; results compared with
``gradient_magnitude`` in memory (must be identical); overhead = wall time over the in-memory
computation's.

Prints the machine's load average before and after: the machine is shared, so ratios from the
same run are what counts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "Testing"))
from support import run_sampling_memory, zarr_group_with_level  # noqa: E402  (the suite's helpers)

SPACING = (0.5, 0.5, 0.8)
SIGMA = 1.0
TARGET_PEAK = 600e6
TARGET_RATIO = 1.5


def write_ct_like(path: str, shape, seed: int = 0) -> None:
    """A raw little-endian int16 .nhdr (+ .raw), written slab by slab: air, a body, bone, noise."""
    data = os.path.splitext(path)[0] + ".raw"
    rng = numpy.random.default_rng(seed)
    nk, nj, ni = shape
    jj, ii = numpy.ogrid[:nj, :ni]
    body = ((jj - nj / 2) / (0.42 * nj)) ** 2 + ((ii - ni / 2) / (0.45 * ni)) ** 2 < 1
    bone = ((jj - nj / 2) / (0.08 * nj)) ** 2 + ((ii - ni / 2.5) / (0.06 * ni)) ** 2 < 1
    with open(data, "wb") as stream:
        for k0 in range(0, nk, 16):
            n = min(16, nk - k0)
            slab = numpy.where(body, 40, -1000).astype(numpy.int16) + numpy.zeros((n, 1, 1), numpy.int16)
            slab[:, bone] = 900
            slab += (rng.standard_normal((n, nj, ni), dtype=numpy.float32) * 20).astype(numpy.int16)
            stream.write(slab.astype("<i2").tobytes())
    with open(path, "w") as header:
        header.write("NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\n"
                     f"sizes: {ni} {nj} {nk}\n"
                     f"space directions: ({SPACING[0]},0,0) (0,{SPACING[1]},0) (0,0,{SPACING[2]})\n"
                     "kinds: domain domain domain\nendian: little\nencoding: raw\n"
                     "space origin: (0,0,0)\n"
                     f"data file: {os.path.basename(data)}\n")


IN_MEMORY_CHILD = r"""
import json, sys, time, numpy
from GradientToolsLib.image.gradient import gradient_magnitude
from GradientToolsLib.image.raw_headers import read_header
header = read_header(sys.argv[1])
voxels = numpy.fromfile(header.data_path, dtype=header.dtype, offset=header.offset).reshape(header.shape)
method, sigma = sys.argv[2], (float(sys.argv[3]) if sys.argv[3] != "-" else None)
start, cpu = time.perf_counter(), time.process_time()
result = gradient_magnitude(voxels, header.spacing, method, sigma)
print(json.dumps({"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu}))
"""


def method_args(method: str):
    return ["--method", method] + (["--sigma", str(SIGMA)] if method == "gaussian" else [])


def streaming(folder: str, slices: int, repeats: int, methods) -> bool:
    shape = (slices, 1024, 1024)
    path = os.path.join(folder, "big.nhdr")
    t0 = time.perf_counter()
    write_ct_like(path, shape)
    voxels = int(numpy.prod(shape))
    print(f"input {path}: int16 {shape[2]}x{shape[1]}x{shape[0]} = {voxels * 2 / 1e9:.2f} GB "
          f"(output float32 {voxels * 4 / 1e9:.2f} GB), written in {time.perf_counter() - t0:.1f} s")
    ok = True
    for method in methods:
        best = {"stream": (numpy.inf, 0, 0), "memory": (numpy.inf, 0, 0)}
        for _ in range(repeats):
            out = os.path.join(folder, "out.nhdr")
            start, cpu = time.perf_counter(), _children_cpu()
            done, peak = run_sampling_memory([sys.executable, "-m", "GradientToolsLib", "magnitude", path,
                                              out, *method_args(method)])
            wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
            assert done.code == 0, done.err
            best["stream"] = min(best["stream"], (wall, cpu, peak))
            done, peak = run_sampling_memory([sys.executable, "-c", IN_MEMORY_CHILD, path, method,
                                              str(SIGMA) if method == "gaussian" else "-"])
            assert done.code == 0, done.err
            timed = json.loads(done.out)
            best["memory"] = min(best["memory"], (timed["seconds"], timed["cpu"], peak))
        ok &= _report(method, voxels, best)
    return ok


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _report(method: str, voxels: int, best: dict) -> bool:
    (ts, cs, ps), (tm, cm, pm) = best["stream"], best["memory"]
    ratio = ts / tm
    print(f"{method:9s} stream {ts:7.2f} s (CPU {cs:6.2f} s) {voxels / ts / 1e6:6.1f} Mvoxel/s, peak "
          f"RssAnon+RssShmem {ps / 1e6:6.1f} MB  (whole command)")
    print(f"{method:9s} memory {tm:7.2f} s (CPU {cm:6.2f} s) {voxels / tm / 1e6:6.1f} Mvoxel/s, peak "
          f"RssAnon+RssShmem {pm / 1e6:6.1f} MB  (gradient_magnitude only, input already in memory)")
    passed = ratio <= TARGET_RATIO and ps <= TARGET_PEAK
    verdict = "PASS" if passed else "FAIL"
    print(f"{method:9s} stream / memory: wall {ratio:.2f}, CPU {cs / cm:.2f} (target wall <= {TARGET_RATIO});"
          f" stream peak {ps / 1e6:.0f} MB (target <= {TARGET_PEAK / 1e6:.0f} MB): {verdict}")
    return passed


def write_ome_zarr(path: str, array, chunks=(64, 64, 64)) -> None:
    group = zarr_group_with_level(path, array, chunks)
    axes = [{"name": n, "type": "space", "unit": "millimeter"} for n in "zyx"]
    group.attrs["multiscales"] = [{"version": "0.4", "axes": axes, "datasets": [
        {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": list(SPACING[::-1])}]}]}]


def dask_cluster_case(folder: str, repeats: int) -> bool:
    import distributed
    import zarr

    from GradientToolsLib.image.gradient import gradient_magnitude

    shape = (256, 512, 512)
    header = os.path.join(folder, "zarr-source.nhdr")
    write_ct_like(header, shape, seed=1)
    array = numpy.fromfile(os.path.splitext(header)[0] + ".raw", dtype="<i2").reshape(shape)
    source = os.path.join(folder, "in.ome.zarr")
    write_ome_zarr(source, array)
    best_memory = numpy.inf
    for _ in range(repeats):
        start = time.perf_counter()
        expected = gradient_magnitude(array, SPACING)
        best_memory = min(best_memory, time.perf_counter() - start)
    ok = True
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", processes=True,
                                  dashboard_address=None) as cluster:
        for label, extra in (("LocalCluster 2 workers", ["--scheduler", cluster.scheduler_address]),
                             ("local threads", [])):
            best = numpy.inf
            for _ in range(repeats):
                out = os.path.join(folder, "out.zarr")
                start = time.perf_counter()
                done = subprocess.run([sys.executable, "-m", "GradientToolsLib", "magnitude", source, out,
                                       *extra], capture_output=True, text=True)
                best = min(best, time.perf_counter() - start)
                assert done.returncode == 0, done.stderr
            identical = numpy.array_equal(zarr.open_array(os.path.join(out, "0"), mode="r")[...], expected)
            ok &= identical
            print(f"zarr 256x512x512 int16, 64^3 chunks, {label:22s}: {best:6.2f} s, in memory "
                  f"{best_memory:5.2f} s: overhead {best / best_memory:5.2f}x; identical: {identical}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slices", type=int, default=720, help="slices of 1024x1024 (720: 1.51 GB int16)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--methods", nargs="+", default=["central", "gaussian"])
    parser.add_argument("--skip-zarr", action="store_true")
    parser.add_argument("--keep", metavar="DIR",
                        help="work in DIR and keep the files (default: a temporary folder)")
    args = parser.parse_args()
    folder = args.keep or tempfile.mkdtemp(prefix="bench-out-of-core-", dir=os.environ.get("TMPDIR"))
    free = shutil.disk_usage(folder).free
    needed = args.slices * 1024 * 1024 * 6 * 1.1
    if free < needed:
        print(f"not enough disk space in {folder}: {free / 1e9:.1f} GB free, {needed / 1e9:.1f} GB needed")
        return 1
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} cores; "
          f"{free / 1e9:.0f} GB free in {folder}")
    try:
        ok = streaming(folder, args.slices, args.repeats, args.methods)
        if not args.skip_zarr:
            ok &= dask_cluster_case(folder, args.repeats)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
