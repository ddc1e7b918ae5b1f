"""``gradienttools opacity``: suggest a gradient-opacity function for Slicer's volume rendering."""

from __future__ import annotations

import json
import os
import sys

from .._shared.files import check_output_folder
from ..errors import GradientToolsError
from ..image.presets import PRESETS
from ..progress import TextProgressBar, scaled

NAME = "opacity"
ORDER = 20
HELP = "suggest a gradient-opacity transfer function (Slicer GPU ray caster units) from the data"
DESCRIPTION = """\
Suggest the gradient-opacity curve of Slicer's volume rendering for a scalar volume: transparent
for the gradients of noise in homogeneous regions, opaque for boundaries.

The x axis is the renderer's own: scalar units per voxel step (central differences of the rendered
array, spacing 1), clamped at x_max = 0.25 * (max - min). The noise of that gradient is measured in
the volume (robust to correlated noise, anisotropic voxels, MRI background, padding); opacity is 0
up to 1.1x its 99th percentile and 1 from 1.6x (times --suppression).

Output: the points, and the "N x1 y1 ..." string Slicer's volume property node reads
(--json: a JSON object with "points": [[x, opacity], ...], the noise estimate and the histogram).
--output writes a complete volume property (.vp.json for Slicer 5.9+, .vp for all versions) with
the scalar opacity, colour and lighting of --preset, Slicer's own numbers. By default the preset
is chosen from the data: CT-AAA when the values look like Hounsfield units (minimum <= -900 and
at least 1 % of the voxels there: air or padding), else MR-Default. MR presets are written in
Slicer's absolute intensities, as Slicer applies them, unless the data lie entirely below where the
preset becomes visible (e.g. a float DWI): then they are mapped onto the volume's range.

Examples:
  gradienttools opacity ct.nrrd
  gradienttools opacity ct.nrrd --json --output ct.vp.json --plot ct-gradient.png
  gradienttools opacity ct.nrrd --visible-range 150 3000   # only what CT-AAA shows
  gradienttools opacity t1.nii.gz --output t1.vp.json --preset MR-T2-Brain
"""


def add_arguments(parser) -> None:
    parser.add_argument("input", help="scalar volume (.nrrd, .nhdr, .nii, .nii.gz, .mha, .mhd, .zarr)")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    parser.add_argument("--output", metavar="FILE", help="write a volume property: FILE.vp.json or FILE.vp")
    parser.add_argument("--plot", metavar="PNG",
                        help="write the gradient histogram (log counts) with the curve")
    parser.add_argument("--suppression", type=float, default=1.0,
                        help="multiplies the noise threshold: >1 hides more, <1 shows more (default 1)")
    parser.add_argument("--visible-range", type=float, nargs=2, metavar=("LOW", "HIGH"),
                        help="analyse only voxels with values in [LOW, HIGH] (what the scalar opacity shows)")
    parser.add_argument("--mask", metavar="FILE", help="analyse only voxels where this volume is non-zero")
    parser.add_argument("--preset", default="auto", choices=("auto",) + PRESETS,
                        help="scalar opacity, colour and lighting written with --output (default: auto, "
                             "CT-AAA for Hounsfield units, else MR-Default; 'grey ramp' spans the "
                             "volume's range)")


def _check_output(path: str, endings, what: str) -> None:
    if not any(path.lower().endswith(e) for e in endings):
        raise GradientToolsError(f"{what} must end in {' or '.join(endings)}: {path}")
    check_output_folder(path)


def _analysed(args) -> str:
    """What the suggestion analysed, in words (for the plot's title)."""
    parts = []
    if args.mask:
        parts.append(f"mask {os.path.basename(args.mask)}")
    if args.visible_range:
        parts.append(f"visible range {args.visible_range[0]:g}..{args.visible_range[1]:g}")
    return ", ".join(parts) or "whole volume"


def run(args) -> int:
    from ..figures import save_histogram_plot
    from ..image.opacity import suggest_gradient_opacity
    from ..image.presets import choose_preset, preset_functions
    from ..image.volume_io import Volume, check_same_grid, read_volume
    from ..image.volume_property import write_volume_property
    from ..image.volume_sources import IN_MEMORY, describe_volume, value_range

    if args.output:
        _check_output(args.output, (".vp.json", ".vp"), "--output")
    if args.plot:
        _check_output(args.plot, (".png",), "--plot")
    # raw NRRD/MetaImage memory-mapped, zarr read by chunk: the noise sample reads only its blocks;
    # the exact value range (the renderer's clamp) is one sequential pass, on a map of its own that
    # reads ahead, while the sample's map reads page by page
    source = describe_volume(args.input, require_spacing=False)
    volume = Volume(source.load(random_access=True), source.spacing, source.origin, source.direction)
    mask = None
    if args.mask:
        mask_volume = read_volume(args.mask)
        check_same_grid(volume, mask_volume, f"--mask {args.mask}")
        mask = mask_volume.array != 0
    with TextProgressBar(NAME) as bar:
        known = None
        if source.kind != IN_MEMORY:
            # exact, not the header's statement: the renderer clamps at the voxels' own range
            known, _ = value_range(source, use_header=False, progress=scaled(bar, 0.0, 0.5))
        suggestion = suggest_gradient_opacity(volume.array, volume.spacing, mask=mask,
                                              visible_range=args.visible_range, scalar_range=known,
                                              suppression=args.suppression,
                                              progress=scaled(bar, 0.5 if known else 0.0, 1.0))
    for warning in suggestion.warnings:
        print(f"gradienttools {NAME}: warning: {warning}", file=sys.stderr)
    if args.preset == "auto":
        preset, why = choose_preset(volume.array)
        chosen = f"chosen from the data: {why}"
    else:
        preset, chosen = args.preset, "as given by --preset"
    span = preset_functions(preset, suggestion.scalar_range)["rescaled_from"]
    if span is not None:
        low, high = suggestion.scalar_range
        chosen += (f"; its intensities {span[0]:g}..{span[1]:g} mapped onto the volume's {low:g}..{high:g} "
                   "(the data lie below where the preset becomes visible)")
    if args.output:
        write_volume_property(args.output, suggestion.points, preset=preset,
                              scalar_range=suggestion.scalar_range)
    if args.plot:
        save_histogram_plot(suggestion, args.plot, title=f"{os.path.basename(args.input)}: gradient opacity",
                            analysed=_analysed(args))
    if args.json:
        document = suggestion.to_dict()
        document["input"] = args.input
        document["preset"] = preset
        document["preset_chosen"] = chosen
        if args.output:
            document["output"] = args.output
        if args.plot:
            document["plot"] = args.plot
        print(json.dumps(document))
        return 0
    print(f"gradient opacity for {args.input} (x: scalar units per voxel step; "
          f"renderer clamps at x_max {suggestion.x_max:.6g})")
    print(f"{'x':>14} {'opacity':>8}")
    for x, y in suggestion.points:
        print(f"{x:14.6g} {y:8.3f}")
    print(f"string: {suggestion.to_string()}")
    print(f"noise: sigma {suggestion.noise_sigma:.4g} per voxel, gradient 99th percentile "
          f"{suggestion.noise_p99:.4g} per voxel step ({suggestion.method})")
    print(f"preset: {preset} ({chosen})")
    for path in (args.output, args.plot):
        if path:
            print(f"wrote {path}")
    return 0
