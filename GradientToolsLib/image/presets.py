"""Scalar opacity, colour and lighting of Slicer's volume-rendering presets, and which one fits a volume.

The numbers are Slicer's own (Modules/Loadable/VolumeRendering/Resources/presets.xml, read in
Slicer's sources): CT-AAA and the four MR presets, plus a ``"grey ramp"`` over the volume's range.
Slicer applies a preset as it is (``qSlicerVolumeRenderingPresetComboBox::applyPreset`` copies the
preset's content; its *Shift* slider then moves every point by hand): the x values are absolute
scalar values, Hounsfield units for the CT presets and the intensities of some typical scanner for
the MR ones. So are the files written here, with one exception: an MR preset whose opacity only
starts above the volume's maximum (a float DWI of values 0..2 under MR-Default's 20..1024) would
render nothing, and is then mapped linearly from its own span onto the volume's range (and says so).
CT presets are never rescaled: their units are physical.

:func:`choose_preset` picks CT-AAA or MR-Default from the data (see there).
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ..errors import GradientToolsError

#: lighting of Slicer's CT presets (shade, diffuse, ambient, specular, specular power)
_CT_LIGHTING = {"shade": True, "diffuse": 0.9, "ambient": 0.1, "specular": 0.2, "specular_power": 10.0}
_MR_LIGHTING = {"shade": True, "diffuse": 1.0, "ambient": 0.2, "specular": 0.0, "specular_power": 1.0}

# (x, opacity) and (x, r, g, b) points as Slicer's presets.xml has them
_PRESETS: Dict[str, Dict] = {
    "CT-AAA": {
        "modality": "CT",
        "scalar_opacity": [(-3024.0, 0.0), (143.556, 0.0), (166.222, 0.686275), (214.389, 0.696078),
                           (419.736, 0.833333), (3071.0, 0.803922)],
        "color": [(-3024.0, 0.0, 0.0, 0.0), (143.556, 0.615686, 0.356863, 0.184314),
                  (166.222, 0.882353, 0.603922, 0.290196), (214.389, 1.0, 1.0, 1.0),
                  (419.736, 1.0, 0.937033, 0.954531), (3071.0, 0.827451, 0.658824, 1.0)],
        "lighting": _CT_LIGHTING,
    },
    "MR-Default": {
        "modality": "MR",
        "scalar_opacity": [(0.0, 0.0), (20.0, 0.0), (40.0, 0.15), (120.0, 0.3), (220.0, 0.375),
                           (1024.0, 0.5)],
        "color": [(0.0, 0.0, 0.0, 0.0), (20.0, 0.168627, 0.0, 0.0), (40.0, 0.403922, 0.145098, 0.0784314),
                  (120.0, 0.780392, 0.607843, 0.380392), (220.0, 0.847059, 0.835294, 0.788235),
                  (1024.0, 1.0, 1.0, 1.0)],
        "lighting": _MR_LIGHTING,
    },
    "MR-Angio": {
        "modality": "MR",
        "scalar_opacity": [(-2048.0, 0.0), (151.354, 0.0), (158.279, 0.4375), (190.112, 0.580357),
                           (200.873, 0.732143), (3661.0, 0.741071)],
        "color": [(-2048.0, 0.0, 0.0, 0.0), (151.354, 0.0, 0.0, 0.0), (158.279, 0.74902, 0.376471, 0.0),
                  (190.112, 1.0, 0.866667, 0.733333), (200.873, 0.937255, 0.937255, 0.937255),
                  (3661.0, 1.0, 1.0, 1.0)],
        "lighting": _MR_LIGHTING,
    },
    "MR-MIP": {
        "modality": "MR",
        "scalar_opacity": [(0.0, 0.0), (98.3725, 0.0), (416.637, 1.0), (2800.0, 1.0)],
        "color": [(0.0, 1.0, 1.0, 1.0), (98.3725, 1.0, 1.0, 1.0), (416.637, 1.0, 1.0, 1.0),
                  (2800.0, 1.0, 1.0, 1.0)],
        "lighting": dict(_MR_LIGHTING, shade=False),
    },
    "MR-T2-Brain": {
        "modality": "MR",
        "scalar_opacity": [(0.0, 0.0), (36.05, 0.0), (218.302, 0.171429), (412.406, 1.0), (641.0, 1.0)],
        "color": [(0.0, 0.0, 0.0, 0.0), (98.7223, 0.956863, 0.839216, 0.192157),
                  (412.406, 0.0, 0.592157, 0.807843), (641.0, 1.0, 1.0, 1.0)],
        "lighting": {"shade": True, "diffuse": 0.6, "ambient": 0.3, "specular": 0.5, "specular_power": 40.0},
    },
}
GREY_RAMP = "grey ramp"
#: every preset name :func:`preset_functions` accepts
PRESETS = tuple(_PRESETS) + (GREY_RAMP,)
#: a volume is taken for CT when its minimum is at or below this (HU: air is -1000, padding lower)
CT_MINIMUM = -900.0
#: ... and at least this share of its voxels lies in air, -1100..-900 HU, or in padding below
CT_AIR_SHARE = 0.01


def choose_preset(array) -> Tuple[str, str]:
    """(preset name, why) for a volume: "CT-AAA" when its values look like Hounsfield units, else
    "MR-Default".

    The rule: CT when the minimum is at or below -900 and at least 1 % of the voxels (a regular
    subsample) lie at or below -900, i.e. air (-1000 HU) or scanner padding (-1024, -2048, -3024).
    MRI magnitude is never negative. A CT stored without its rescale (air at 0, values 0..4095) is
    taken for MRI: name the preset then.
    """
    # a memory map or a zarr view is only read at the subsample
    data = array if hasattr(array, "shape") and hasattr(array, "__getitem__") else np.asarray(array)
    ndim, size = len(data.shape), int(np.prod(data.shape))
    step = max(1, int(round((size / 2e6) ** (1.0 / 3.0)))) if ndim == 3 else 1
    sample = np.asarray(data[::step, ::step, ::step] if ndim == 3 else data)
    low = float(np.min(sample)) if sample.size else 0.0
    if low <= CT_MINIMUM:
        share = float(np.count_nonzero(sample <= CT_MINIMUM)) / sample.size
        if share >= CT_AIR_SHARE:
            return "CT-AAA", (f"values look like Hounsfield units: minimum {low:g}, "
                              f"{100 * share:.0f} % of the voxels at or below {CT_MINIMUM:g} (air)")
    return "MR-Default", f"values do not look like Hounsfield units (minimum {low:g}, no air at -1000)"


def preset_functions(preset: str = "CT-AAA", scalar_range: Optional[Sequence[float]] = None) -> Dict:
    """Scalar opacity, colour and lighting of a preset: ``{"scalar_opacity", "color", "lighting",
    "rescaled_from"}``.

    ``scalar_range`` (the volume's min, max) is needed by ``"grey ramp"`` (opacity 0 to 1, black to
    white over it) and lets an MR preset that would show nothing be mapped onto it
    (``rescaled_from`` is then the preset's original span, else None).
    """
    if preset == GREY_RAMP:
        if scalar_range is None:
            raise GradientToolsError("the grey ramp preset needs the scalar range")
        lo, hi = (float(v) for v in scalar_range)
        if not hi > lo:
            hi = lo + 1.0
        return {"scalar_opacity": [(lo, 0.0), (hi, 1.0)], "color": [(lo, 0.0, 0.0, 0.0), (hi, 1.0, 1.0, 1.0)],
                "lighting": dict(_CT_LIGHTING), "rescaled_from": None}
    if preset not in _PRESETS:
        raise GradientToolsError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    data = _PRESETS[preset]
    opacity, color = list(data["scalar_opacity"]), list(data["color"])
    span = None
    invisible = scalar_range is not None and float(scalar_range[1]) < _visible_start(opacity)
    if data["modality"] == "MR" and invisible:
        span = (opacity[0][0], opacity[-1][0])
        opacity, color = _mapped(opacity, span, scalar_range), _mapped(color, span, scalar_range)
    return {"scalar_opacity": opacity, "color": color, "lighting": dict(data["lighting"]),
            "rescaled_from": span}


def _visible_start(points) -> float:
    """The x where the opacity first leaves 0 (the last zero point before a non-zero one)."""
    for (x0, y0), (_, y1) in zip(points, points[1:]):
        if y0 == 0.0 and y1 > 0.0:
            return x0
    return points[0][0]


def _mapped(points, span, scalar_range):
    lo, hi = (float(v) for v in scalar_range)
    if not hi > lo:
        hi = lo + 1.0
    scale = (hi - lo) / (span[1] - span[0])
    return [(lo + (p[0] - span[0]) * scale,) + tuple(p[1:]) for p in points]
