"""The real scans of the tier and the regions and boundaries picked on each (drawn by drawing.py).

Boxes are index ranges K, J, I (``box(k0, k1, j0, j1, i0, i1)``); region bands are on the value
smoothed over 1 voxel (see :class:`scans.Region`). Each region and boundary says why it is what it
claims to be; the tier's PNGs show it.
"""

from __future__ import annotations

from typing import Callable, Dict

import numpy as np
from scans import Boundary, Region, Scan, box
from sources import debian_file, read_invesalius, read_nifti, wheel_file

CT_HEAD = ("invesalius-examples", "usr/share/doc/invesalius-examples/examples/Cranium.inv3")
COLIN_1MM = ("mricron-data", "usr/share/mricron/templates/ch2.nii.gz")
COLIN_05MM = ("mricron-data", "usr/share/mricron/templates/ch2better.nii.gz")
ITK_T1 = ("insighttoolkit5-examples",
          "usr/share/doc/insighttoolkit5-examples/examples/Data/KmeansTest_T1UCharRaw.nii.gz")
EPI_B0 = ("dipy", "data/files/aniso_vox.nii.gz")
DWI = ("dipy", "data/files/test_piesno.nii.gz")
BOLD = ("nibabel", "tests/data/example4d.nii.gz")
#: every file the tier reads: (Debian package, path inside it), (Python package, path inside it)
DEBIAN_FILES = (CT_HEAD, COLIN_1MM, COLIN_05MM, ITK_T1)
WHEEL_FILES = (EPI_B0, DWI, BOLD)


GRAY_WHITE = ("gray matter", "white matter")


def ct_head() -> Scan:
    array, spacing = read_invesalius(debian_file(*CT_HEAD))
    return Scan(
        "ct-head", "CT", "head CT (ProMED CT 0051), int16 HU, 0.96 x 0.96 x 1.5 mm, axial slices",
        f"{CT_HEAD[0]}: /{CT_HEAD[1]} (matrix.dat)", array, spacing, preset="CT-AAA",
        regions={
            "brain": Region(box(50, 70, 60, 90, 95, 125), (10, 45), "parenchyma of the frontal lobes"),
            "csf": Region(box(54, 66, 95, 160, 108, 148), (-10, 14), "lateral ventricles"),
            "fat": Region(box(2, 23, 187, 210, 74, 102), (-140, -60), "buccal fat of the cheek"),
            "muscle": Region(box(2, 24, 145, 183, 174, 196), (30, 80), "masseter"),
            "air": Region(box(40, 70, 225, 250, 10, 60), (-1010, -980), "air in front of the face"),
        },
        boundaries={
            "bone/soft tissue": Boundary(box(76, 84, 30, 62, 110, 140), 300.0, ("soft tissue", "bone")),
            "scalp/air": Boundary(box(50, 58, 115, 140, 200, 240), -500.0, ("air", "scalp")),
            "fat/soft tissue": Boundary(box(2, 23, 188, 212, 70, 95), -40.0, ("fat", "soft tissue")),
        })


def _colin(source, name: str, description: str, regions, boundaries, every: int = 1) -> Scan:
    array, spacing = read_nifti(debian_file(*source))
    if every > 1:
        array = np.ascontiguousarray(array[::every])
        spacing = (spacing[0], spacing[1], spacing[2] * every)
    return Scan(name, "MR", description, f"{source[0]}: /{source[1]}", array, spacing,
                regions=regions, boundaries=boundaries)


def t1_1mm() -> Scan:
    return _colin(
        COLIN_1MM, "t1-1mm",
        "T1 brain (Colin 27), uint8, 1 mm isotropic, exact-zero background",
        {"white matter": Region(box(110, 125, 100, 130, 50, 75), (104, 125), "centrum semiovale"),
         "csf": Region(box(90, 106, 86, 132, 62, 86), (10, 45), "left lateral ventricle"),
         "csf 2": Region(box(90, 106, 86, 132, 92, 116), (10, 45), "right lateral ventricle")},
        {"csf/white matter": Boundary(box(92, 97, 80, 110, 60, 85), 70.0, ("csf", "white matter")),
         "scalp/air": Boundary(box(72, 78, 100, 120, 0, 16), 20.0, ("air", "scalp")),
         "gray/white matter": Boundary(box(113, 117, 80, 120, 25, 50), 95.0, GRAY_WHITE)})


def t1_1x1x2() -> Scan:
    return _colin(
        COLIN_1MM, "t1-1x1x2mm",
        "T1 brain (Colin 27) with every other slice kept: real noise, 1 x 1 x 2 mm sampling",
        {"white matter": Region(box(55, 63, 100, 130, 50, 75), (104, 125), "centrum semiovale"),
},
        {"csf/white matter": Boundary(box(46, 49, 80, 110, 60, 85), 70.0, ("csf", "white matter")),
         "scalp/air": Boundary(box(36, 39, 100, 120, 0, 16), 20.0, ("air", "scalp"))}, every=2)


def t1_05mm() -> Scan:
    return _colin(
        COLIN_05MM, "t1-0.5mm",
        "T1 brain (Colin 27, 'ch2better'), uint8, 0.5 mm isotropic, skull stripped, zero background",
        {"white matter": Region(box(222, 240, 150, 230, 88, 122), (104, 125), "left centrum semiovale"),
         "white matter 2": Region(box(222, 240, 150, 230, 178, 215), (104, 125), "right centrum semiovale")},
        {"gray/white matter": Boundary(box(226, 234, 140, 180, 30, 90), 95.0, GRAY_WHITE)})


def t1_2x2x3() -> Scan:
    return _scan(
        "t1-2x2x3mm", "T1 head, 0-255 in int16, 2 x 2 x 3 mm, masked (exact-zero background)",
        f"{ITK_T1[0]}: /{ITK_T1[1]}", read_nifti(debian_file(*ITK_T1)),
        {"white matter": Region(box(9, 52, 48, 84, 37, 59), (95, 125), "left hemisphere white matter"),
         "white matter 2": Region(box(8, 51, 45, 83, 66, 83), (95, 125), "right hemisphere white matter")},
        {"csf/white matter": Boundary(box(20, 27, 56, 70, 44, 74), 65.0, ("csf", "white matter")),
         "scalp/air": Boundary(box(18, 23, 97, 106, 50, 75), 30.0, ("air", "scalp"))})


def epi_b0() -> Scan:
    air = "air beside the head (Rayleigh)"
    return _scan(
        "epi-b0", "b0 EPI (T2-weighted), int16, 4 x 4 x 5 mm, Rayleigh noise background",
        f"dipy wheel: dipy/{EPI_B0[1]}", read_nifti(wheel_file(*EPI_B0)),
        {"background": Region(box(4, 20, 0, 58, 0, 8), (0, 60), air),
         "background 2": Region(box(4, 20, 0, 58, 50, 58), (0, 60), air)},
        {"csf/tissue": Boundary(box(11, 14, 18, 34, 25, 36), 600.0, ("tissue", "csf")),
         "brain/air": Boundary(box(11, 14, 2, 12, 20, 40), 120.0, ("air", "brain"))})


def _scan(name, description, source, data, regions, boundaries) -> Scan:
    """An MR scan from (array, spacing) with its regions and boundaries."""
    array, spacing = data
    return Scan(name, "MR", description, source, array, spacing, regions=regions, boundaries=boundaries)


def dwi() -> Scan:
    array, spacing = read_nifti(wheel_file(*DWI))
    # the file is ONE slice with 14 repetitions along its last axis (DIPY's PIESNO test data, as
    # dipy.denoise.noise_estimate.piesno reads a 3-D array): a 3-D gradient across repetitions would
    # be meaningless, so the tier takes one diffusion-weighted repetition as a one-slice volume
    return Scan(
        "dwi", "MR", "diffusion-weighted image (one slice; repetition 2 of 14), float64, "
        "8-coil magnitude background", f"dipy wheel: dipy/{DWI[1]} (repetition 2 of 14)",
        np.ascontiguousarray(array[2:3]), spacing,
        regions={
            "tissue": Region(box(0, 1, 24, 46, 14, 46), (0.15, 0.23), "frontal lobe"),
            "background": Region(box(0, 1, 76, 90, 5, 86), (0.0, 0.1), "air behind the head"),
            "background 2": Region(box(0, 1, 7, 20, 5, 86), (0.0, 0.1), "air in front of the head"),
        },
        boundaries={"brain/background": Boundary(box(0, 1, 66, 78, 20, 60), 0.11, ("background", "brain"))})


def epi_bold() -> Scan:
    array, spacing = read_nifti(wheel_file(*BOLD))
    return Scan(
        "epi-bold", "MR", "BOLD EPI (T2*), first volume, int16, 2 x 2 x 2.2 mm, masked background",
        f"nibabel wheel: nibabel/{BOLD[1]}", array, spacing,
        regions={
            "csf": Region(box(12, 22, 30, 53, 53, 75), (575, 700), "lateral ventricles", erode=1),
        },
        boundaries={
            "csf/tissue": Boundary(box(15, 18, 28, 56, 54, 74), 560.0, ("tissue", "csf")),
            "brain/air": Boundary(box(15, 18, 0, 12, 50, 80), 100.0, ("air", "brain"))})


#: every scan of the tier, in the order of the tables
LOADERS: Dict[str, Callable[[], Scan]] = {
    "ct-head": ct_head, "t1-1mm": t1_1mm, "t1-0.5mm": t1_05mm, "t1-2x2x3mm": t1_2x2x3,
    "t1-1x1x2mm": t1_1x1x2, "epi-bold": epi_bold, "epi-b0": epi_b0, "dwi": dwi,
}
