#!/usr/bin/env python3
"""Regenerate the extension's screenshots and icons with Slicer's own rendering pipeline.

Run from the repository root with the project's venv (needs the ``slicer`` extra)::

    .venv/bin/python scripts/make_screenshots.py            # screenshots and icons
    .venv/bin/python scripts/make_screenshots.py --icons    # icons only

Screenshots (Resources/Screenshots/*.png) are the 3D views of the demo scene
(GradientToolsLib/demo/slicer_scene.py) rendered offscreen by the same MRML displayable managers
Slicer uses (trame-slicer's SlicerApp on the slicer-core wheel). The icon is a three-shell scheme
preview rendered the same way, at 128 x 128 pixels, for the module and the extension.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

SCREENSHOTS = ("gradient-opacity", "gradient-magnitude", "diffusion-scheme")
ICON_PATHS = (os.path.join(ROOT, "GradientTools", "Resources", "Icons", "GradientTools.png"),
              os.path.join(ROOT, "Resources", "GradientTools.png"))


def make_icon(size: int = 128) -> None:
    from GradientToolsLib.demo import slicer_scene
    from GradientToolsLib.mrml.offscreen import OffscreenSlicer

    offscreen = OffscreenSlicer(size, size, background=slicer_scene.BACKGROUND)
    try:
        _, markups = slicer_scene.add_scheme_preview(offscreen.scene, seed=3, show_antipodes=False,
                                                     glyph_scale=3.0)
        image = slicer_scene.render_scheme(offscreen, markups)
    finally:
        offscreen.close()
    from GradientToolsLib.mrml.offscreen import write_png

    for path in ICON_PATHS:
        write_png(path, image)
        print(path)


def make_screenshots(width: int, height: int) -> None:
    from GradientToolsLib.demo import slicer_scene

    target = os.path.join(ROOT, "Resources", "Screenshots")
    os.makedirs(target, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        written = slicer_scene.write_images(tmp, width=width, height=height)
        for name in SCREENSHOTS:
            destination = os.path.join(target, f"{name}.png")
            shutil.copyfile(written[name], destination)
            print(destination)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--icons", action="store_true", help="only the icons")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    args = parser.parse_args(argv)
    make_icon()
    if not args.icons:
        make_screenshots(args.width, args.height)
    return 0


if __name__ == "__main__":
    sys.exit(main())
