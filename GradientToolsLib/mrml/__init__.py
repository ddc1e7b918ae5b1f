"""The bridge between the library and Slicer's MRML nodes: the only part that imports ``slicer``.

Everything here takes nodes (and scenes) as arguments and never touches ``slicer.mrmlScene`` or
``slicer.app``, so it runs unchanged inside Slicer and on the ``slicer-core`` wheel (Slicer's MRML
classes without the application). The Slicer module's logic is a thin layer over these functions.

=====================  ======================================================================
module                 job
=====================  ======================================================================
``volumes``            scalar volume nodes, gradient-magnitude volumes in the input's geometry
``volume_rendering``   suggested, applied and reset gradient opacity of volume properties
``plots``              the gradient histogram and curve as plot nodes, the panel's plot view
``markups``            diffusion schemes as point lists, and back
``dwi``                schemes in diffusion-weighted volume nodes
``scene``              saving a scene with its data files
``offscreen``          a scene with Slicer's logics and an offscreen 3D view (renders, tests)
``app_scene``          the browser app's helpers: volumes from files, detached copies for work off
                       the event loop, the gradient volume's rendering, scheme previews
=====================  ======================================================================

Conventions: volume arrays are K,J,I (``slicer.util.arrayFromVolume`` order); ``node.GetSpacing()``
is I,J,K in mm; node attributes written here start with ``GradientTools.``.
"""

from __future__ import annotations

from ..diffusion.multishell import b0_spacing, generate_scheme
from ..diffusion.shells import format_shells, parse_shells
from ._nodes import ATTRIBUTE_PREFIX
from .dwi import attach_scheme_to_dwi, export_scheme, scheme_from_dwi
from .markups import (
    DEFAULT_SPHERE_RADIUS,
    SHELL_COLORS,
    directions_from_markups,
    markups_to_scheme,
    scheme_to_markups,
)
from .offscreen import OffscreenSlicer, write_png
from .plots import gradient_histogram_plot, panel_plot_view_node
from .scene import STORABLE_CLASSES, save_scene_with_data
from .volume_rendering import (
    apply_gradient_opacity,
    gradient_opacity_points,
    points_to_string,
    reset_gradient_opacity,
    suggest_gradient_opacity_for_volume,
    volume_rendering_display_node,
)
from .volumes import check_scalar_volume, compute_gradient_magnitude, volume_array

__all__ = [
    "ATTRIBUTE_PREFIX", "DEFAULT_SPHERE_RADIUS", "SHELL_COLORS", "STORABLE_CLASSES", "OffscreenSlicer",
    "apply_gradient_opacity", "attach_scheme_to_dwi", "export_scheme", "b0_spacing", "check_scalar_volume",
    "compute_gradient_magnitude", "directions_from_markups", "format_shells", "generate_scheme",
    "gradient_histogram_plot", "gradient_opacity_points", "markups_to_scheme", "panel_plot_view_node",
    "parse_shells",
    "points_to_string", "reset_gradient_opacity", "save_scene_with_data", "scheme_from_dwi",
    "scheme_to_markups", "suggest_gradient_opacity_for_volume", "volume_array",
    "volume_rendering_display_node", "write_png",
]
