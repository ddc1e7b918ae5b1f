"""Demo section: a Slicer scene built with the MRML bridge, saved, and rendered by Slicer's pipeline.

The scene holds a synthetic CT, its gradient-magnitude volume, a GPU volume rendering with the
suggested gradient opacity, and a three-shell diffusion scheme as point lists. It is written as
``slicer/slicer-scene/scene.mrml`` plus data files (open it in Slicer with File > Add Data), and the 3D views
are rendered offscreen through the same displayable managers Slicer uses. The same functions make
the extension's screenshots and icons (``scripts/make_screenshots.py``).
"""

from __future__ import annotations

import os
from typing import Dict, List

import numpy as np

TITLE = "Slicer scene: gradient volume, gradient opacity, scheme preview (rendered by Slicer's pipeline)"
ORDER = 40

#: the synthetic CT: thick slices, so that physical and renderer units differ
PHANTOM_SHAPE = (48, 96, 96)
PHANTOM_SPACING = (0.8, 0.8, 2.0)
PHANTOM_NOISE = 40.0
SCHEME_SHELLS = {1000: 30, 2000: 45, 3000: 60}
BACKGROUND = (0.11, 0.12, 0.16)
#: a soft-tissue preset: noise in homogeneous tissue is what a flat gradient opacity shows
VOLUME_RENDERING_PRESET = "CT-Muscle"


def build_ct_scene(offscreen, seed: int = 0):
    """Add the phantom, its gradient magnitude and a CT-Muscle rendering; return nodes and suggestion."""
    from .. import mrml
    from ..image.phantoms import ct_phantom

    image, _ = ct_phantom(shape=PHANTOM_SHAPE, spacing=PHANTOM_SPACING, noise_std=PHANTOM_NOISE, seed=seed)
    ct = offscreen.add_volume(image, spacing=PHANTOM_SPACING, name="CT phantom")
    gradient = mrml.compute_gradient_magnitude(ct, units="voxel")
    display = offscreen.show_volume_rendering(ct, VOLUME_RENDERING_PRESET)
    suggestion = mrml.suggest_gradient_opacity_for_volume(ct)
    chart = mrml.gradient_histogram_plot(offscreen.scene, suggestion)
    return {"ct": ct, "gradient": gradient, "display": display, "suggestion": suggestion, "chart": chart}


def render_opacity_comparison(offscreen, nodes, width: int) -> np.ndarray:
    """Side by side: Slicer's flat gradient opacity (left) and the suggested one (right)."""
    from .. import mrml

    mrml.reset_gradient_opacity(nodes["display"])
    offscreen.reset_camera("anterior", azimuth=30.0, elevation=15.0, zoom=1.3)
    flat = offscreen.render()
    mrml.apply_gradient_opacity(nodes["display"], nodes["suggestion"].points)
    suggested = offscreen.render()
    gap = np.zeros((flat.shape[0], max(2, width // 200), 3), dtype=np.uint8)
    return np.hstack([flat, gap, suggested])


def render_gradient_volume(offscreen, nodes) -> np.ndarray:
    """The gradient-magnitude volume rendered alone (boundaries bright, noise dim)."""
    import vtk

    from .. import mrml

    nodes["display"].SetVisibility(False)
    gradient = nodes["gradient"]
    display = offscreen.show_volume_rendering(gradient, "CT-AAA")
    values = np.asarray(mrml.volume_array(gradient))
    low, high = np.percentile(values, [90.0, 99.9])
    prop = display.GetVolumePropertyNode().GetVolumeProperty()
    opacity = vtk.vtkPiecewiseFunction()
    opacity.AddPoint(0.0, 0.0)
    opacity.AddPoint(low, 0.0)
    opacity.AddPoint(high, 0.6)
    colour = vtk.vtkColorTransferFunction()
    colour.AddRGBPoint(low, 0.2, 0.4, 0.9)
    colour.AddRGBPoint(0.5 * (low + high), 0.95, 0.75, 0.2)
    colour.AddRGBPoint(high, 1.0, 1.0, 1.0)
    node = display.GetVolumePropertyNode()
    was_modifying = node.StartModify()
    prop.SetScalarOpacity(opacity)
    prop.SetColor(colour)
    node.EndModify(was_modifying)
    offscreen.reset_camera("anterior", azimuth=30.0, elevation=15.0, zoom=1.3)
    image = offscreen.render()
    display.SetVisibility(False)
    nodes["display"].SetVisibility(True)
    return image


def add_scheme_preview(scene, seed: int = 0, show_antipodes: bool = True, glyph_scale: float = 2.5):
    from .. import mrml

    scheme = mrml.generate_scheme(SCHEME_SHELLS, b0_count=4, seed=seed)
    markups = mrml.scheme_to_markups(scene, scheme, show_antipodes=show_antipodes, glyph_scale=glyph_scale)
    return scheme, markups


def render_scheme(offscreen, markups) -> np.ndarray:
    for node in markups:
        node.GetDisplayNode().SetVisibility(True)
    offscreen.reset_camera("anterior", azimuth=25.0, elevation=20.0, zoom=1.2)
    return offscreen.render()


def write_images(output_dir: str, width: int = 640, height: int = 480, seed: int = 0) -> Dict[str, str]:
    """Render the three views into ``output_dir``; save the scene in ``output_dir/slicer-scene``."""
    from .. import mrml
    from ..mrml.offscreen import OffscreenSlicer, write_png

    os.makedirs(output_dir, exist_ok=True)
    written: Dict[str, str] = {}
    offscreen = OffscreenSlicer(width, height, background=BACKGROUND)
    try:
        nodes = build_ct_scene(offscreen, seed=seed)
        comparison = render_opacity_comparison(offscreen, nodes, width)
        written["gradient-opacity"] = os.path.join(output_dir, "gradient-opacity.png")
        write_png(written["gradient-opacity"], comparison)
        written["gradient-magnitude"] = os.path.join(output_dir, "gradient-magnitude.png")
        write_png(written["gradient-magnitude"], render_gradient_volume(offscreen, nodes))

        nodes["display"].SetVisibility(False)
        _, markups = add_scheme_preview(offscreen.scene, seed=seed)
        written["diffusion-scheme"] = os.path.join(output_dir, "diffusion-scheme.png")
        write_png(written["diffusion-scheme"], render_scheme(offscreen, markups))
        nodes["display"].SetVisibility(True)

        scene_dir = os.path.join(output_dir, "slicer-scene")
        os.makedirs(scene_dir, exist_ok=True)
        written["scene"] = mrml.save_scene_with_data(offscreen.scene, scene_dir)
    finally:
        offscreen.close()
    return written


def run(output_dir: str) -> List[str]:
    # a folder of its own, so that file names never collide with other demo sections
    written = write_images(os.path.join(output_dir, "slicer"))
    scene_dir = os.path.dirname(written["scene"])
    return [written[k] for k in ("gradient-opacity", "gradient-magnitude", "diffusion-scheme")] + sorted(
        os.path.join(scene_dir, f) for f in os.listdir(scene_dir))
