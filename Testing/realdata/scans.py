"""Real scans shipped inside installable packages, with regions picked and drawn by hand.

Nothing here is made for the method: the voxels are the scanners' own. Sources:

* Debian packages (fetched with ``apt-get download``, unpacked with ``dpkg-deb -x``, no root needed,
  cached under ``$GRADIENTTOOLS_DATA_CACHE`` or ``~/.cache/gradienttools/realdata``):
  ``invesalius-examples`` (a head CT), ``mricron-data`` (the Colin 27 T1 brain at 1 mm and 0.5 mm),
  ``insighttoolkit5-examples`` (a T1 head at 2 x 2 x 3 mm);
* PyPI wheels of the test extras: DIPY (``dipy/data/files``: a b0 EPI with a Rayleigh background,
  a DWI volume with scanner noise around the head) and nibabel (``nibabel/tests/data``: a BOLD EPI).

Each :class:`Scan` holds the array (K, J, I), the spacing (I, J, K), hand-picked homogeneous regions
(boxes of index ranges, K, J, I) and boundaries (a box and a threshold between the two materials:
boundary voxels are those of one side with a 6-neighbour on the other, as
``references.boundary_medians``). :func:`draw_regions` draws them for a reviewer.

:func:`load_scans` raises :class:`ScansUnavailable` with one line saying why when a source cannot be
had (no apt-get, no network, DIPY missing); the test tier turns it into one skip line, or a failure
under CI (``GRADIENTTOOLS_REQUIRE_REALDATA=1``, set by ``.ci/run``).
"""

from __future__ import annotations

import glob
import os
import plistlib
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np

Box = Tuple[slice, slice, slice]


class ScansUnavailable(RuntimeError):
    """The real scans cannot be had on this machine (the message says why, in one line)."""


@dataclass
class Boundary:
    """A real boundary: voxels of ``box`` above and below ``threshold`` are the two sides."""

    box: Box
    threshold: float
    sides: Tuple[str, str]


@dataclass
class Scan:
    name: str
    modality: str                  # "CT" or "MR"
    description: str
    source: str                    # package and path inside it
    array: np.ndarray              # K, J, I
    spacing: Tuple[float, float, float]  # I, J, K, mm
    regions: Dict[str, Box] = field(default_factory=dict)
    boundaries: Dict[str, Boundary] = field(default_factory=dict)
    preset: str = "MR-Default"


def box(k0, k1, j0, j1, i0, i1) -> Box:
    return (slice(k0, k1), slice(j0, j1), slice(i0, i1))


# -- fetching ---------------------------------------------------------------------------------------

DEBIAN = {
    "invesalius-examples": "usr/share/doc/invesalius-examples/examples/Cranium.inv3",
    "mricron-data": "usr/share/mricron/templates/ch2.nii.gz",
    "insighttoolkit5-examples":
        "usr/share/doc/insighttoolkit5-examples/examples/Data/KmeansTest_T1UCharRaw.nii.gz",
}


def cache_folder() -> str:
    folder = os.environ.get("GRADIENTTOOLS_DATA_CACHE")
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = os.path.join(base, "gradienttools", "realdata")
    os.makedirs(folder, exist_ok=True)
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
    with tempfile.TemporaryDirectory() as work:
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
    try:
        module = __import__(package)
    except ImportError as exc:
        raise ScansUnavailable(f"{package} is not installed (pip install '.[test]'): {exc}") from None
    path = os.path.join(os.path.dirname(module.__file__), relative)
    if not os.path.exists(path):
        raise ScansUnavailable(f"{package} {getattr(module, '__version__', '')} has no {relative}")
    return path


def read_nifti(path: str, volume: int = 0) -> Tuple[np.ndarray, Tuple[float, float, float]]:
    """(array K, J, I, spacing I, J, K) of a NIfTI file (one volume of a 4-D file)."""
    import nibabel

    image = nibabel.load(path)
    data = np.asanyarray(image.dataobj)
    if data.ndim == 4:
        data = data[..., volume]
    zooms = tuple(float(z) for z in image.header.get_zooms()[:3])
    return np.ascontiguousarray(data.T), zooms


def read_invesalius(path: str) -> Tuple[np.ndarray, Tuple[float, float, float]]:
    """The image matrix of an InVesalius 3 project (.inv3: a tar.gz with main.plist and matrix.dat)."""
    with tarfile.open(path, "r:gz") as archive:
        members = {os.path.basename(m.name): m for m in archive.getmembers() if m.isfile()}
        main = plistlib.loads(archive.extractfile(members["main.plist"]).read())
        matrix = main["matrix"]
        raw = archive.extractfile(members[matrix["filename"]]).read()
    array = np.frombuffer(raw, dtype=np.dtype(matrix["dtype"])).reshape(matrix["shape"]).copy()
    return array, tuple(float(s) for s in main["spacing"])


# -- the scans and their hand-picked regions ---------------------------------------------------------

def _ct_head() -> Scan:
    relative = DEBIAN["invesalius-examples"]
    array, spacing = read_invesalius(debian_file("invesalius-examples", relative))
    return Scan(
        "ct-head", "CT", "head CT (ProMED CT 0051), int16 HU, 0.96 x 0.96 x 1.5 mm, coronal slices",
        f"invesalius-examples: /{relative} (matrix.dat)", array, spacing, preset="CT-AAA",
        regions={"brain": box(74, 86, 100, 140, 84, 120), "air": box(40, 70, 225, 250, 10, 60)},
        boundaries={
            "bone/brain": Boundary(box(76, 84, 30, 62, 110, 140), 300.0, ("brain", "bone")),
            "scalp/air": Boundary(box(50, 58, 115, 140, 200, 240), -500.0, ("air", "scalp")),
        })


def _colin(relative: str, name: str, description: str, regions, boundaries, every: int = 1) -> Scan:
    array, spacing = read_nifti(debian_file("mricron-data", relative))
    if every > 1:
        array = np.ascontiguousarray(array[::every])
        spacing = (spacing[0], spacing[1], spacing[2] * every)
    return Scan(name, "MR", description, f"mricron-data: /{relative}", array, spacing,
                regions=regions, boundaries=boundaries)


def _t1_1mm() -> Scan:
    return _colin(
        "usr/share/mricron/templates/ch2.nii.gz", "t1-1mm",
        "T1 brain (Colin 27), uint8, 1 mm isotropic, exact-zero background",
        {"white matter": box(96, 106, 114, 126, 55, 66), "white matter 2": box(96, 106, 109, 120, 115, 126),
         "csf": box(92, 97, 91, 96, 69, 74), "csf 2": box(68, 73, 87, 92, 87, 92)},
        {"csf/white matter": Boundary(box(92, 97, 80, 110, 60, 85), 70.0, ("csf", "white matter")),
         "scalp/air": Boundary(box(72, 78, 100, 120, 0, 16), 20.0, ("air", "scalp"))})


def _t1_1x1x2() -> Scan:
    return _colin(
        "usr/share/mricron/templates/ch2.nii.gz", "t1-1x1x2mm",
        "T1 brain (Colin 27) with every other slice kept: real noise, 1 x 1 x 2 mm sampling",
        {"white matter": box(48, 53, 114, 126, 55, 66), "white matter 2": box(48, 53, 109, 120, 115, 126)},
        {"csf/white matter": Boundary(box(46, 49, 80, 110, 60, 85), 70.0, ("csf", "white matter")),
         "scalp/air": Boundary(box(36, 39, 100, 120, 0, 16), 20.0, ("air", "scalp"))}, every=2)


def _t1_05mm() -> Scan:
    return _colin(
        "usr/share/mricron/templates/ch2better.nii.gz", "t1-0.5mm",
        "T1 brain (Colin 27, 'ch2better'), uint8, 0.5 mm isotropic, skull stripped, zero background",
        {"white matter": box(190, 206, 196, 212, 80, 96),
         "white matter 2": box(201, 216, 186, 202, 198, 214)},
        {"zeroed csf/white matter": Boundary(box(196, 204, 165, 205, 100, 130), 60.0,
                                             ("zeroed csf", "white matter"))})


def _t1_2x2x3() -> Scan:
    relative = DEBIAN["insighttoolkit5-examples"]
    array, spacing = read_nifti(debian_file("insighttoolkit5-examples", relative))
    return Scan(
        "t1-2x2x3mm", "MR", "T1 head, 0-255 in int16, 2 x 2 x 3 mm, masked (exact-zero background)",
        f"insighttoolkit5-examples: /{relative}", array, spacing,
        regions={"white matter": box(29, 34, 58, 65, 49, 56), "white matter 2": box(29, 32, 71, 76, 48, 53)},
        boundaries={
            "csf/white matter": Boundary(box(18, 23, 52, 76, 40, 76), 50.0, ("csf", "white matter")),
            "scalp/air": Boundary(box(18, 23, 88, 105, 50, 75), 30.0, ("air", "scalp"))})


def _epi_b0() -> Scan:
    relative = "data/files/aniso_vox.nii.gz"
    array, spacing = read_nifti(wheel_file("dipy", relative))
    return Scan(
        "epi-b0", "MR", "b0 EPI (T2-weighted), int16, 4 x 4 x 5 mm, Rayleigh noise background",
        f"dipy wheel: dipy/{relative}", array, spacing,
        # no homogeneous tissue region wider than 3 voxels at 4 x 4 x 5 mm: the air is the region
        regions={"background": box(4, 20, 0, 6, 0, 58)},
        boundaries={
            "csf/tissue": Boundary(box(11, 14, 16, 34, 24, 40), 280.0, ("tissue", "csf")),
            "brain/air": Boundary(box(11, 14, 2, 12, 20, 40), 60.0, ("air", "brain"))})


def _dwi() -> Scan:
    relative = "data/files/test_piesno.nii.gz"
    array, spacing = read_nifti(wheel_file("dipy", relative))
    return Scan(
        "dwi", "MR", "diffusion-weighted volume, float64, 14 slices, scanner noise around the head",
        f"dipy wheel: dipy/{relative}", array, spacing,
        regions={"tissue": box(10, 15, 39, 44, 26, 31), "tissue 2": box(8, 13, 26, 31, 41, 46),
                 "background": box(2, 12, 80, 88, 20, 70)},
        boundaries={"brain/background": Boundary(box(4, 10, 64, 80, 30, 50), 0.13, ("background", "brain"))})


def _epi_bold() -> Scan:
    relative = "tests/data/example4d.nii.gz"
    array, spacing = read_nifti(wheel_file("nibabel", relative))
    return Scan(
        "epi-bold", "MR", "BOLD EPI (T2*), first volume, int16, 2 x 2 x 2.2 mm, masked background",
        f"nibabel wheel: nibabel/{relative}", array, spacing,
        regions={"white matter": box(20, 27, 29, 36, 48, 55)},
        boundaries={
            "csf/tissue": Boundary(box(15, 18, 28, 56, 54, 74), 700.0, ("tissue", "csf")),
            "brain/air": Boundary(box(15, 18, 0, 12, 50, 80), 100.0, ("air", "brain"))})


#: every scan of the tier, in the order of the tables
LOADERS = (_ct_head, _t1_1mm, _t1_05mm, _t1_2x2x3, _t1_1x1x2, _epi_bold, _epi_b0, _dwi)


def load_scans() -> List[Scan]:
    """All scans (fetched and cached on first use); :class:`ScansUnavailable` says why not."""
    return [loader() for loader in LOADERS]


def boundary_voxels(array: np.ndarray, boundary: Boundary) -> np.ndarray:
    """Voxels (bool, whole volume) of ``boundary``: inside its box, with a 6-neighbour (in the box)
    on the other side of its threshold. Both sides count: the boundary is where the crossing is."""
    side = array[boundary.box] > boundary.threshold
    padded = np.pad(side, 1, mode="edge")
    crossing = np.zeros(side.shape, dtype=bool)
    for axis in range(3):
        for shift in (-1, 1):
            index = [slice(1, -1)] * 3
            index[axis] = slice(1 + shift, padded.shape[axis] - 1 + shift)
            crossing |= padded[tuple(index)] != side
    out = np.zeros(array.shape, dtype=bool)
    out[boundary.box] = crossing
    return out


def boundary_median(gradient: np.ndarray, array: np.ndarray, boundary: Boundary,
                    min_contrast_sigmas: float = 10.0) -> Tuple[float, bool]:
    """(median renderer gradient over the boundary's voxels, whether it is a real boundary).

    Real: the two sides' mean values differ by at least ``min_contrast_sigmas`` times the noise,
    measured as the robust spread of the 6-neighbour residual on the boundary box's voxels
    away from the crossing (the same 10-sigma rule as the synthetic suite).
    """
    voxels = boundary_voxels(array, boundary)
    values = array[boundary.box].astype(np.float64)
    side = values > boundary.threshold
    contrast = abs(values[side].mean() - values[~side].mean()) if side.any() and (~side).any() else 0.0
    away = ~voxels[boundary.box]
    residual = _residuals(array)[boundary.box][away]
    sigma = 1.4826 * np.median(np.abs(residual)) / np.sqrt(7.0 / 6.0) if residual.size else 0.0
    return float(np.median(gradient[voxels])), bool(contrast >= min_contrast_sigmas * sigma)


def _residuals(array: np.ndarray) -> np.ndarray:
    f = np.pad(array.astype(np.float64), 1, mode="edge")
    neighbours = (f[2:, 1:-1, 1:-1] + f[:-2, 1:-1, 1:-1] + f[1:-1, 2:, 1:-1] + f[1:-1, :-2, 1:-1]
                  + f[1:-1, 1:-1, 2:] + f[1:-1, 1:-1, :-2]) / 6.0
    return f[1:-1, 1:-1, 1:-1] - neighbours
