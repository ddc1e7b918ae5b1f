"""Slicer's transfer-function strings and volume-property files, without Slicer.

* ``"N x1 y1 x2 y2 ..."``: the string form of a piecewise function used by
  vtkMRMLVolumePropertyNode (presets.xml, .vp files, MRML attributes); ``N`` counts the numbers that
  follow (2 per point), not the points. Colour functions use 4 numbers per point (x r g b).
* ``.vp.json``: the JSON volume property Slicer writes since 5.9 (read by
  vtkMRMLVolumePropertyJsonStorageNode).
* ``.vp``: the legacy text file (vtkMRMLVolumePropertyStorageNode): one value per line:
  interpolation type (1 linear), shade, diffuse, ambient, specular, specular power, then the
  scalar-opacity, gradient-opacity and colour strings.

A written file is a complete volume property: scalar opacity, colour and lighting come from one of
Slicer's presets (:mod:`GradientToolsLib.image.presets`: CT-AAA, MR-Default, MR-Angio, MR-MIP,
MR-T2-Brain) or a grey ramp over a given scalar range, and the gradient opacity from the caller
(usually :func:`GradientToolsLib.suggest_gradient_opacity`).
"""

from __future__ import annotations

import json
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._shared.files import atomic_output
from ..errors import GradientToolsError
from .presets import PRESETS, choose_preset, preset_functions

__all__ = ["FLAT", "PRESETS", "choose_preset", "preset_functions", "points_to_string", "string_to_points",
           "visible_range", "write_volume_property", "read_volume_property"]

Point = Tuple[float, float]

#: Slicer's flat gradient opacity (every built-in preset has it)
FLAT = [(0.0, 1.0), (255.0, 1.0)]

JSON_SCHEMA = ("https://raw.githubusercontent.com/slicer/slicer/main/Modules/Loadable/VolumeRendering/"
               "Resources/Schema/volume-property-schema-v1.0.0.json#")


def _format(value: float) -> str:
    return f"{float(value):.10g}"


def _checked(points, width: int = 2, what: str = "points") -> List[tuple]:
    try:
        array = np.asarray(points, dtype=float)
    except (TypeError, ValueError):
        raise GradientToolsError(f"{what} must be numbers") from None
    if array.size == 0:
        raise GradientToolsError(f"{what}: need at least one point")
    if array.ndim != 2 or array.shape[1] != width:
        raise GradientToolsError(f"{what} must be rows of {width} numbers, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise GradientToolsError(f"{what} must be finite numbers")
    if np.any(np.diff(array[:, 0]) <= 0):
        raise GradientToolsError(f"{what}: x must be strictly increasing")
    if np.any(array[:, 1:] < 0) or np.any(array[:, 1:] > 1):
        raise GradientToolsError(f"{what}: values must be in [0, 1]")
    return [tuple(float(v) for v in row) for row in array]


def points_to_string(points, width: int = 2) -> str:
    """``"N x1 y1 ..."`` for rows of ``width`` numbers (2: opacity points, 4: colour points x r g b)."""
    rows = _checked(points, width)
    values = [v for row in rows for v in row]
    return " ".join([str(len(values))] + [_format(v) for v in values])


def string_to_points(text: str, width: int = 2) -> List[tuple]:
    """Parse ``"N x1 y1 ..."`` into a list of tuples of ``width`` numbers (checked)."""
    try:
        items = [float(v) for v in str(text).split()]
    except ValueError:
        raise GradientToolsError(f"not a transfer-function string: {text!r}") from None
    if not items:
        raise GradientToolsError("empty transfer-function string")
    count = items[0]
    values = items[1:]
    if count != len(values) or count % width or count == 0:
        raise GradientToolsError(
            f"transfer-function string announces {count:g} values but has {len(values)} "
            f"(expected a multiple of {width})")
    return _checked(np.reshape(values, (-1, width)), width)


def visible_range(scalar_opacity, threshold: float = 0.0) -> Tuple[float, float]:
    """Scalar range where a scalar-opacity function exceeds ``threshold`` (for the ``visible_range`` knob).

    ``scalar_opacity``: points (x, opacity) or an "N x y ..." string. The function is constant
    beyond its end points (as VTK's clamping), so an opaque end extends to infinity.
    """
    pts = string_to_points(scalar_opacity) if isinstance(scalar_opacity, str) else _checked(scalar_opacity)
    xs = np.array([p[0] for p in pts])
    ys = np.array([p[1] for p in pts])
    above = ys > threshold
    if not above.any():
        raise GradientToolsError(f"the scalar opacity never exceeds {threshold}")
    first, last = int(np.argmax(above)), int(len(above) - 1 - np.argmax(above[::-1]))
    low = -np.inf if first == 0 else float(xs[first - 1])
    high = np.inf if last == len(xs) - 1 else float(xs[last + 1])
    return low, high


def _function_json(points, kind: str) -> Dict:
    if kind == "color":
        entries = [{"x": x, "color": [r, g, b], "midpoint": 0.5, "sharpness": 0.0} for x, r, g, b in points]
        return {"type": "colorTransferFunction", "points": entries}
    entries = [{"x": x, "y": y, "midpoint": 0.5, "sharpness": 0.0} for x, y in points]
    return {"type": "piecewiseLinearFunction", "points": entries}


def write_volume_property(path: str, gradient_opacity, scalar_opacity=None, color=None,
                          preset: str = "CT-AAA", scalar_range: Optional[Sequence[float]] = None,
                          shade: Optional[bool] = None) -> str:
    """Write a complete volume property; the format follows the extension (.vp.json or .vp).

    Parameters
    ----------
    path : str
        Output file, ``*.vp.json`` (Slicer 5.9 and later) or ``*.vp`` (legacy; all versions).
    gradient_opacity : points (x, opacity) or "N x y ..." string
        x in the renderer's units (scalar units per voxel step).
    scalar_opacity, color : points, optional
        (x, opacity) and (x, r, g, b); taken from ``preset`` when omitted.
    preset, scalar_range
        See :func:`GradientToolsLib.image.presets.preset_functions`; the preset also gives the lighting.
    shade : bool, optional
        Lighting on or off (default: the preset's).

    Returns
    -------
    str
        The path written (atomically: a failure leaves no partial file).
    """
    gradient = string_to_points(gradient_opacity) if isinstance(gradient_opacity, str) \
        else _checked(gradient_opacity, 2, "gradient opacity")
    defaults = preset_functions(preset, scalar_range)
    scalar = _checked(scalar_opacity if scalar_opacity is not None else defaults["scalar_opacity"], 2,
                      "scalar opacity")
    colors = _checked(color if color is not None else defaults["color"], 4, "colour")
    light = defaults["lighting"]
    if shade is not None:
        light["shade"] = bool(shade)
    name = os.path.basename(str(path)).lower()
    if name.endswith(".vp.json"):
        effective = [scalar[0][0], scalar[-1][0]]
        document = {
            "@schema": JSON_SCHEMA,
            "volumeProperties": [{
                "effectiveRange": effective,
                "isoSurfaceValues": [0.0],
                "independentComponents": True,
                "interpolationType": "linear",
                "useClippedVoxelIntensity": False,
                "clippedVoxelIntensity": -1e10,
                "scatteringAnisotropy": 0.0,
                "components": [{
                    "componentWeight": 1.0,
                    "shade": bool(light["shade"]),
                    "lighting": {"diffuse": light["diffuse"], "ambient": light["ambient"],
                                 "specular": light["specular"], "specularPower": light["specular_power"]},
                    "disableGradientOpacity": False,
                    "scalarOpacityUnitDistance": 1.0,
                    "rgbTransferFunction": _function_json(colors, "color"),
                    "scalarOpacity": _function_json(scalar, "opacity"),
                    "gradientOpacity": _function_json(gradient, "opacity"),
                }],
            }],
        }
        text = json.dumps(document, indent=4) + "\n"
    elif name.endswith(".vp"):
        lighting = [_format(light[k]) for k in ("diffuse", "ambient", "specular", "specular_power")]
        lines = ["1", "1" if light["shade"] else "0"] + lighting + [
            points_to_string(scalar), points_to_string(gradient), points_to_string(colors, 4)]
        text = "\n".join(lines) + "\n"
    else:
        raise GradientToolsError(f"volume-property files end in .vp.json or .vp, got {path!r}")
    with atomic_output(str(path)) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    return str(path)


def _json_points(function: Dict, kind: str) -> List[tuple]:
    try:
        if kind == "color":
            return [(float(p["x"]), *(float(c) for c in p["color"])) for p in function["points"]]
        return [(float(p["x"]), float(p["y"])) for p in function["points"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise GradientToolsError(f"malformed transfer function in volume-property file: {exc}") from None


def read_volume_property(path: str) -> Dict[str, List[tuple]]:
    """Read a .vp.json or .vp file: ``{"scalar_opacity", "gradient_opacity", "color"}`` point lists."""
    name = os.path.basename(str(path)).lower()
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if name.endswith(".vp.json"):
        try:
            component = json.loads(text)["volumeProperties"][0]["components"][0]
            return {
                "scalar_opacity": _json_points(component["scalarOpacity"], "opacity"),
                "gradient_opacity": _json_points(component["gradientOpacity"], "opacity"),
                "color": _json_points(component["rgbTransferFunction"], "color"),
            }
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GradientToolsError(f"{path}: not a volume-property JSON file ({exc})") from None
    if name.endswith(".vp"):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if len(lines) < 9:
            raise GradientToolsError(f"{path}: a .vp file has 9 lines, found {len(lines)}")
        return {
            "scalar_opacity": string_to_points(lines[6]),
            "gradient_opacity": string_to_points(lines[7]),
            "color": string_to_points(lines[8], 4),
        }
    raise GradientToolsError(f"volume-property files end in .vp.json or .vp, got {path!r}")
