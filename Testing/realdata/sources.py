"""Where the real scans come from: files inside installable packages, fetched and cached on first use.

* Debian packages: ``apt-get download NAME`` then ``dpkg-deb -x`` into the cache (no root needed to
  unpack; ``apt-get download`` needs the package lists, i.e. one ``apt-get update`` as root). The
  cache is ``$GRADIENTTOOLS_DATA_CACHE`` or ``~/.cache/gradienttools/realdata``; it may be read-only
  when it already holds the files.
* PyPI wheels of the test extras (DIPY, nibabel): the files are read where pip installed them.

Every failure is a :class:`ScansUnavailable` whose message says, in one line, what is missing.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import plistlib
import shutil
import subprocess
import tarfile
import tempfile
from typing import Optional, Sequence, Tuple

import numpy as np

Spacing = Tuple[float, float, float]


class ScansUnavailable(RuntimeError):
    """The real scans cannot be had on this machine (the message says why, in one line)."""


def cache_folder() -> str:
    """The cache folder (``$GRADIENTTOOLS_DATA_CACHE`` or ``~/.cache/gradienttools/realdata``)."""
    folder = os.environ.get("GRADIENTTOOLS_DATA_CACHE")
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = os.path.join(base, "gradienttools", "realdata")
    return folder


def debian_file(package: str, relative: str) -> str:
    """Path of ``relative`` inside Debian ``package``: unpacked into the cache on first use."""
    root = os.path.join(cache_folder(), package)
    path = os.path.join(root, relative)
    if os.path.exists(path):
        return path
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise ScansUnavailable(f"{tool} not found: cannot fetch the Debian package {package}")
    os.makedirs(cache_folder(), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_folder()) as work:
        done = subprocess.run(["apt-get", "download", package], cwd=work, capture_output=True, text=True)
        debs = glob.glob(os.path.join(work, "*.deb"))
        if done.returncode != 0 or not debs:
            reason = (done.stderr.strip().splitlines() or ["no .deb downloaded"])[-1]
            raise ScansUnavailable(f"apt-get download {package} failed ({reason}); "
                                   "run 'apt-get update' (as root) or check the network")
        unpacked = os.path.join(work, "root")
        subprocess.run(["dpkg-deb", "-x", debs[0], unpacked], check=True, capture_output=True)
        if os.path.isdir(root):
            shutil.rmtree(root)
        shutil.move(unpacked, root)
    if not os.path.exists(path):
        raise ScansUnavailable(f"the Debian package {package} has no {relative}")
    return path


def wheel_file(package: str, relative: str) -> str:
    """Path of ``relative`` inside the installed Python package ``package``."""
    try:
        module = __import__(package)
    except ImportError as exc:
        raise ScansUnavailable(f"{package} is not installed (pip install '.[test]'): {exc}") from None
    path = os.path.join(os.path.dirname(module.__file__), relative)
    if not os.path.exists(path):
        raise ScansUnavailable(f"{package} {getattr(module, '__version__', '')} has no {relative}")
    return path


def unavailable(debian: Sequence[Tuple[str, str]], wheels: Sequence[Tuple[str, str]]) -> Optional[str]:
    """Why the files cannot be had, in one line, or None; checks only, fetches nothing.

    ``debian`` and ``wheels``: (package, path inside it) pairs. A Debian file counts when it is in
    the cache, or when apt-get and dpkg-deb exist and apt knows the package.
    """
    for package, relative in debian:
        if os.path.exists(os.path.join(cache_folder(), package, relative)):
            continue
        for tool in ("apt-get", "dpkg-deb", "apt-cache"):
            if shutil.which(tool) is None:
                return f"{tool} not found: cannot fetch the Debian package {package}"
        policy = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True)
        if "Candidate: (none)" in policy.stdout or "Candidate:" not in policy.stdout:
            return f"apt does not know the package {package}: run 'apt-get update' (as root)"
    for package, relative in wheels:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            return f"{package} is not installed (pip install '.[test]')"
        if not os.path.exists(os.path.join(list(spec.submodule_search_locations)[0], relative)):
            return f"the installed {package} has no {relative}"
    return None


def read_nifti(path: str, volume: int = 0) -> Tuple[np.ndarray, Spacing]:
    """(array K, J, I, spacing I, J, K in mm) of a NIfTI file (one volume of a 4-D file)."""
    import nibabel

    image = nibabel.load(path)
    data = np.asanyarray(image.dataobj)
    if data.ndim == 4:
        data = data[..., volume]
    zooms = tuple(float(z) for z in image.header.get_zooms()[:3])
    return np.ascontiguousarray(data.T), zooms


def read_invesalius(path: str) -> Tuple[np.ndarray, Spacing]:
    """The image matrix of an InVesalius 3 project (.inv3: a tar.gz with main.plist and matrix.dat)."""
    with tarfile.open(path, "r:gz") as archive:
        members = {os.path.basename(m.name): m for m in archive.getmembers() if m.isfile()}
        main = plistlib.loads(archive.extractfile(members["main.plist"]).read())
        matrix = main["matrix"]
        raw = archive.extractfile(members[matrix["filename"]]).read()
    array = np.frombuffer(raw, dtype=np.dtype(matrix["dtype"])).reshape(matrix["shape"]).copy()
    return array, tuple(float(s) for s in main["spacing"])
