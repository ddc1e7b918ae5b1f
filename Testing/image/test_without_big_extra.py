"""The core library and command without the extra ``big``: dask, distributed and zarr blocked in a
child process (an import of any of them fails as if they were not installed)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(r"""
    import importlib.abc, sys

    class Missing(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("dask", "distributed", "zarr", "numcodecs"):
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, Missing())
    import numpy as np
    import SimpleITK as sitk
    import GradientToolsLib as gt
    from GradientToolsLib.cli import main
    from GradientToolsLib.image.volume_sources import open_volume

    folder = sys.argv[1]
    rng = np.random.default_rng(5)
    volume = (rng.normal(size=(20, 24, 28)) * 30).astype(np.int16)
    volume[5:15, 6:18, 7:21] += 800
    expected = gt.gradient_magnitude(volume, (0.7, 0.8, 1.5))
    image = sitk.GetImageFromArray(volume)
    image.SetSpacing((0.7, 0.8, 1.5))
    sitk.WriteImage(image, folder + "/in.nhdr")
    assert isinstance(open_volume(folder + "/in.nhdr").array, np.memmap)
    assert main(["magnitude", folder + "/in.nhdr", folder + "/out.nrrd"]) == 0
    assert np.array_equal(sitk.GetArrayFromImage(sitk.ReadImage(folder + "/out.nrrd")), expected)
    assert main(["opacity", folder + "/in.nhdr", "--json"]) == 0
    assert gt.suggest_gradient_opacity(volume).points
    code = main(["magnitude", folder + "/in.nhdr", folder + "/out.zarr"])
    print("ZARR-EXIT", code)
    try:
        gt.gradient_magnitude_dask(volume, (1, 1, 1))
    except gt.GradientToolsError as exc:
        print("DASK-ERROR", exc)
    print("BLOCKED", sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed", "zarr")))
""")


def test_core_library_and_command_work_without_dask_and_zarr(tmp_path):
    """Streaming magnitude, opacity on a memory map and the in-memory functions work with the
    extra's modules unimportable; a .zarr output and gradient_magnitude_dask then say in one line
    which extra to install (the command: exit 2, nothing written)."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ZARR-EXIT 2" in done.stdout, done.stdout
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("gradienttools magnitude: error: ")
    assert "pip install 'gradienttools[big]'" in errors[0], errors
    assert "Traceback" not in done.stderr
    assert "DASK-ERROR" in done.stdout and "gradienttools[big]" in done.stdout
    assert "BLOCKED []" in done.stdout, done.stdout
    assert not (tmp_path / "out.zarr").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]
