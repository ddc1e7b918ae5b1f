#!/usr/bin/env python3
"""Render every real scan of the test tier flat vs suggested, through Slicer's own pipeline.

Run from the repository root with the project's venv (needs the ``slicer`` extra; fetches and
caches the scans like the tier, ``Testing/realdata/sources.py``)::

    .venv/bin/python scripts/render_real_scans.py             # all -> Testing/realdata/out/renders
    .venv/bin/python scripts/render_real_scans.py --readme    # also the README's two screenshots
    .venv/bin/python scripts/render_real_scans.py ct-head     # some scans

Each scan becomes a volume node (its voxel size on the node, as Slicer loads it) rendered by the
GPU ray caster of slicer-core through trame-slicer's offscreen view (cut in half, see VIEWS), with
the scalar preset of :data:`VIEWS` (MR-Default for the MRIs, as ``choose_preset`` picks; CT-Muscle
for the CT), once with Slicer's flat gradient opacity and once with ``suggest_gradient_opacity``'s
curve (default arguments, computed on the whole volume), side by side. Re-run it after the noise
estimator changes. One-slice scans (the DWI) are skipped: a single slice renders as a sheet.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "Testing", "realdata")]

#: per scan: the render preset (None: choose_preset) and the camera (direction, azimuth, elevation,
#: zoom). Every volume is cut in half along I (the half i < middle is kept) and seen from the
#: right, at the cut: the outer surface (skin, skull) would hide what the gradient opacity changes,
#: the inside of homogeneous tissue. The CT is rendered with CT-Muscle, which shows soft tissue
#: (CT-AAA, the preset written for it, shows only bone and contrast).
VIEWS = {
    "ct-head": ("CT-Muscle", ("right", 20, 10, 1.0)),
}
DEFAULT_VIEW = (None, ("right", 20, 10, 1.2))
#: the two renders the README shows, and their file names under Resources/Screenshots
README = {"ct-head": "real-ct-head-flat-vs-suggested.png", "t1-1mm": "real-t1-1mm-flat-vs-suggested.png"}


def render_scan(scan, folder: str, size=(400, 400)):
    """Write ``<name>-flat-vs-suggested.png`` in ``folder``; returns (path, pixels, suggestion, preset)."""
    from GradientToolsLib import suggest_gradient_opacity
    from GradientToolsLib.image.presets import choose_preset
    from GradientToolsLib.image.volume_property import FLAT
    from GradientToolsLib.mrml.offscreen import OffscreenSlicer, side_by_side

    suggestion = suggest_gradient_opacity(scan.array)                 # the whole volume, as the tier
    preset, (direction, azimuth, elevation, zoom) = VIEWS.get(scan.name, DEFAULT_VIEW)
    preset = preset or choose_preset(scan.array)[0]
    half = np.ascontiguousarray(scan.array[:, :, : scan.array.shape[2] // 2])
    with OffscreenSlicer(*size) as view:
        node = view.add_volume(half, spacing=scan.spacing, name=scan.name)
        display = view.show_volume_rendering(node, preset)
        view.reset_camera(direction, azimuth=azimuth, elevation=elevation, zoom=zoom)
        images = view.render_gradient_opacities(display, [FLAT, suggestion.points])
    path = os.path.join(folder, f"{scan.name}-flat-vs-suggested.png")
    pixels = side_by_side(images, path)
    return path, pixels, suggestion, preset


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="scans to render (default: every 3-D scan of the tier)")
    parser.add_argument("--output", default=os.path.join(ROOT, "Testing", "realdata", "out", "renders"))
    parser.add_argument("--readme", action="store_true",
                        help="also write the README's screenshots (Resources/Screenshots/real-*.png)")
    args = parser.parse_args()
    from scans import ScansUnavailable, load_scans

    try:
        scans = load_scans(args.names or None)
    except ScansUnavailable as exc:
        print(f"real scans unavailable: {exc}", file=sys.stderr)
        return 1
    os.makedirs(args.output, exist_ok=True)
    for scan in scans:
        if scan.array.shape[0] < 2:
            print(f"{scan.name}: one slice, not rendered")
            continue
        path, pixels, suggestion, preset = render_scan(scan, args.output)
        print(f"{scan.name}: {preset}, gradient opacity {suggestion.to_string()} -> {path}")
        if args.readme and scan.name in README:
            from GradientToolsLib.mrml.offscreen import write_png

            small = pixels[::2, ::2] if pixels.shape[1] > 700 else pixels
            target = os.path.join(ROOT, "Resources", "Screenshots", README[scan.name])
            write_png(target, np.ascontiguousarray(small))
            print(f"   README screenshot -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
