"""Diffusion schemes as markups point lists: one locked point list per shell on a sphere, and back.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Sequence

import numpy as np
import vtk

from .._shared.validate import check_positive
from ..diffusion.scheme import GradientScheme
from ..errors import GradientToolsError
from ._nodes import ATTRIBUTE_PREFIX, attribute, require_node, require_scene

#: one color per shell (RGB 0..1), chosen to stay distinct on Slicer's dark 3D-view background
SHELL_COLORS = (
    (0.99, 0.75, 0.15),  # amber
    (0.20, 0.63, 0.95),  # sky blue
    (0.93, 0.33, 0.38),  # red
    (0.40, 0.80, 0.35),  # green
    (0.75, 0.50, 0.95),  # violet
    (0.95, 0.55, 0.20),  # orange
    (0.30, 0.85, 0.80),  # teal
    (0.95, 0.60, 0.80),  # pink
)

#: largest sphere radius (mm) of a markups preview; the shell with the largest b-value gets it
DEFAULT_SPHERE_RADIUS = 50.0

def _shells(scheme, b0_threshold: float) -> Dict[float, np.ndarray]:
    shells = scheme.shell_indices(b0_threshold=b0_threshold)
    return {float(b): np.asarray(idx, dtype=int) for b, idx in sorted(shells.items())
            if float(b) > b0_threshold and len(idx) > 0}


def _float_list(values) -> str:
    return " ".join(repr(float(v)) for v in values)


def _int_list(values) -> str:
    return " ".join(str(int(v)) for v in values)


def scheme_to_markups(scene, scheme, radius: str = "b-value", show_antipodes: bool = False,
                      name_prefix: str = "Diffusion scheme", center: Sequence[float] = (0.0, 0.0, 0.0),
                      sphere_radius: float = DEFAULT_SPHERE_RADIUS, glyph_scale: float = 2.0,
                      b0_threshold: float = 50.0) -> list:
    """Show a diffusion gradient scheme as point lists, one locked node per shell.

    Parameters
    ----------
    scene : vtkMRMLScene
    scheme : GradientTools.scheme.GradientScheme
    radius : {"b-value", "unit"}
        ``"b-value"``: a shell of b-value b lies on a sphere of radius ``sphere_radius * sqrt(b / b_max)``
        (the q-space radius, the same scaling as the gradient vectors of a DWI NRRD file);
        ``"unit"``: every shell on the sphere of radius ``sphere_radius``.
    show_antipodes : bool
        Also place -g for each direction g (diffusion is antipodally symmetric), which shows how
        evenly the sphere is covered.
    center : 3 floats
        Centre of the spheres in RAS (mm), e.g. the centre of a volume.
    sphere_radius : float
        Radius in mm of the outermost sphere.
    glyph_scale : float
        Point size, relative to the view size (Slicer's glyph scale).
    b0_threshold : float
        Volumes with b at or below it are b0s; they are not drawn.

    Returns
    -------
    list of vtkMRMLMarkupsFiducialNode
        In increasing b order. Each node is locked, has a fixed number of points, hidden labels, and
        attributes ``GradientTools.BValue`` (nominal), ``GradientTools.BValues`` and
        ``GradientTools.Indices`` (per direction), ``GradientTools.Radius``, ``GradientTools.Center``,
        ``GradientTools.Antipodes``, ``GradientTools.NumberOfVolumes`` and ``GradientTools.B0Indices``
        so that :func:`markups_to_scheme` can rebuild the scheme.
    """
    require_scene(scene)
    if not isinstance(scheme, GradientScheme):
        raise GradientToolsError(f"scheme: expected a GradientScheme, got {type(scheme).__name__}")
    if radius not in ("b-value", "unit"):
        raise GradientToolsError(f"radius must be 'b-value' or 'unit', not {radius!r}")
    sphere_radius = check_positive(sphere_radius, "sphere radius (mm)")
    glyph_scale = check_positive(glyph_scale, "glyph scale")
    center = np.asarray(center, dtype=float).reshape(3)
    bvals = np.asarray(scheme.bvals, dtype=float)
    bvecs = np.asarray(scheme.bvecs, dtype=float)
    shells = _shells(scheme, b0_threshold)
    if not shells:
        raise GradientToolsError("the scheme has no diffusion-weighted volumes to show (only b0s)")
    b_max = max(shells)
    b0_indices = [int(i) for i in scheme.b0_indices(b0_threshold)]
    nodes = []
    for number, (b, indices) in enumerate(shells.items()):
        directions = bvecs[indices]
        norms = np.linalg.norm(directions, axis=1, keepdims=True)
        if np.any(norms == 0):
            raise GradientToolsError(f"shell b={b:g} has a zero gradient direction")
        directions = directions / norms
        shell_radius = sphere_radius * (math.sqrt(b / b_max) if radius == "b-value" else 1.0)
        positions = directions * shell_radius
        if show_antipodes:
            positions = np.vstack([positions, -positions])
        positions = positions + center

        node = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode",
                                       scene.GenerateUniqueName(f"{name_prefix} b={b:g}"))
        was_modifying = node.StartModify()
        try:
            points = vtk.vtkPoints()
            for p in positions:
                points.InsertNextPoint(*p)
            node.SetControlPointPositionsWorld(points)
            node.SetLocked(True)
            node.SetFixedNumberOfControlPoints(True)
            attributes = {
                "BValue": repr(b),
                "BValues": _float_list(bvals[indices]),
                "Indices": _int_list(indices),
                "Radius": repr(shell_radius),
                "Center": _float_list(center),
                "Antipodes": "1" if show_antipodes else "0",
                "NumberOfVolumes": str(bvals.size),
                "B0Indices": _int_list(b0_indices),
                "B0Values": _float_list(bvals[b0_indices]),
            }
            for key, value in attributes.items():
                node.SetAttribute(ATTRIBUTE_PREFIX + key, value)
        finally:
            node.EndModify(was_modifying)
        if node.GetDisplayNode() is None:
            node.CreateDefaultDisplayNodes()
        display = node.GetDisplayNode()
        color = SHELL_COLORS[number % len(SHELL_COLORS)]
        display.SetSelectedColor(*color)
        display.SetColor(*color)
        display.SetPointLabelsVisibility(False)
        display.SetPropertiesLabelVisibility(False)
        display.SetGlyphTypeFromString("Sphere3D")
        display.SetGlyphScale(glyph_scale)
        nodes.append(node)
    return nodes


def directions_from_markups(node) -> np.ndarray:
    """Unit gradient directions (M, 3) of a point list made by :func:`scheme_to_markups`.

    Directions are read from the point positions (relative to ``GradientTools.Center``), so edits
    made after unlocking the node are kept. Antipodal copies are dropped.
    """
    require_node(node, "vtkMRMLMarkupsNode", "point list")
    count = node.GetNumberOfControlPoints()
    positions = np.array([node.GetNthControlPointPositionWorld(i) for i in range(count)], dtype=float)
    positions = positions.reshape(-1, 3)
    center = attribute(node, "Center")
    if center is not None:
        positions = positions - np.array([float(v) for v in center.split()])
    if attribute(node, "Antipodes") == "1":
        if count % 2:
            raise GradientToolsError(f"point list '{node.GetName()}' should hold pairs of antipodes")
        positions = positions[: count // 2]
    norms = np.linalg.norm(positions, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise GradientToolsError(f"point list '{node.GetName()}' has a point at the sphere centre")
    return positions / norms


def markups_to_scheme(nodes, b_value: Optional[float] = None):
    """Rebuild a GradientScheme from point lists made by :func:`scheme_to_markups`.

    Volume order, per-volume b-values and b0s are restored from the node attributes. Point lists
    without them (drawn by hand) are taken as one shell each, in the order given, with b-value
    ``b_value`` or, if None, the ``GradientTools.BValue`` attribute; no b0s are added.
    """
    nodes = list(nodes)
    if not nodes:
        raise GradientToolsError("no point lists given")
    tagged = all(attribute(n, "Indices") is not None for n in nodes)
    if tagged:
        total = int(attribute(nodes[0], "NumberOfVolumes"))
        bvals = np.full(total, np.nan)
        bvecs = np.zeros((total, 3))
        b0_indices = [int(i) for i in (attribute(nodes[0], "B0Indices") or "").split()]
        b0_values = [float(v) for v in (attribute(nodes[0], "B0Values") or "").split()]
        bvals[b0_indices] = b0_values if b0_values else 0.0
        for node in nodes:
            indices = np.array([int(i) for i in attribute(node, "Indices").split()], dtype=int)
            directions = directions_from_markups(node)
            if len(indices) != len(directions):
                raise GradientToolsError(f"point list '{node.GetName()}' has {len(directions)} directions "
                                         f"but {len(indices)} volume indices")
            bvals[indices] = [float(v) for v in attribute(node, "BValues").split()]
            bvecs[indices] = directions
        if np.any(np.isnan(bvals)):
            raise GradientToolsError("the point lists do not cover every volume of the scheme "
                                     "(pass all shells of one scheme)")
        return GradientScheme(bvals, bvecs)
    all_b, all_v = [], []
    for node in nodes:
        b = b_value if b_value is not None else attribute(node, "BValue")
        if b is None:
            raise GradientToolsError(f"point list '{node.GetName()}' has no b-value; pass b_value")
        directions = directions_from_markups(node)
        all_v.append(directions)
        all_b.append(np.full(len(directions), float(b)))
    return GradientScheme(np.concatenate(all_b), np.vstack(all_v))
