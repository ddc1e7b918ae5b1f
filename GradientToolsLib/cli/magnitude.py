"""``gradienttools magnitude``: write a float32 gradient-magnitude volume with the input's geometry."""

from __future__ import annotations

import numpy

from .._shared.files import refuse_overwriting_inputs
from .._shared.memory import check_memory
from ..errors import GradientToolsError
from ..image.gradient import METHODS, gradient_magnitude
from ..image.volume_files import data_files, volume_info
from ..image.volume_io import check_output_path, read_volume, write_volume
from ..progress import TextProgressBar

NAME = "magnitude"
ORDER = 10
HELP = "gradient-magnitude volume (float32, physical units, input geometry kept)"
DESCRIPTION = """\
Compute |grad F| of a scalar volume (NRRD, NIfTI or MetaImage) and write it as float32 with the
input's origin, spacing and direction (oblique volumes included).

Units:
  --units mm     (default) scalar units per millimetre, using the file's voxel spacing.
                 A CT in HU gives HU/mm.
  --units voxel  scalar units per voxel step (spacing taken as 1). This is exactly the quantity on
                 the x axis of Slicer's GPU volume rendering gradient opacity (central differences
                 of the rendered data, which Slicer hands to VTK with spacing 1). With --units voxel,
                 --sigma is in voxels too.

Methods:
  central   central differences, identical to vtkImageGradientMagnitude (Dimensionality 3,
            boundaries replicated) on float data; what the GPU ray caster computes.
  sobel     3-D Sobel, scaled so that a linear ramp gives its slope.
  gaussian  derivative of Gaussian with standard deviation --sigma (mm); suppresses noise.

Example:
  gradienttools magnitude ct.nrrd ct-gradient.nrrd --method gaussian --sigma 1.0
"""


def add_arguments(parser) -> None:
    parser.add_argument("input", help="scalar volume to read (.nrrd, .nhdr, .nii, .nii.gz, .mha, .mhd)")
    parser.add_argument("output", help="volume to write (.nrrd, .nii, .nii.gz, .mha), float32")
    parser.add_argument("--method", choices=METHODS, default="central",
                        help="gradient estimator (default: %(default)s)")
    parser.add_argument("--sigma", type=float, metavar="MM",
                        help="Gaussian standard deviation in mm (in voxels with --units voxel); "
                             "required with --method gaussian")
    parser.add_argument("--units", choices=("mm", "voxel"), default="mm",
                        help="per millimetre (default) or per voxel step, as Slicer's GPU renderer")


def _check_request(path: str, sigma, units: str) -> None:
    """Refuse at once what cannot work: a Gaussian wider than the volume, or a volume whose gradient
    cannot fit in memory (reading holds the file's image and its array, 2 x input; writing the float32
    result and the writer's copy of it, input + 2 x output)."""
    info = volume_info(path)
    if not info:
        return  # unreadable header: read_volume says why
    if sigma is not None:
        spacing = info["spacing"] if units == "mm" else (1.0,) * len(info["size"])
        extent = max(n * h for n, h in zip(info["size"], spacing))
        if sigma > extent:
            unit = "mm" if units == "mm" else "voxels"
            raise GradientToolsError(f"--sigma {sigma:g} {unit} is larger than the volume (its largest "
                                     f"extent is {extent:g} {unit})")
    voxels = info["voxels"] * info["components"]
    needed = max(2 * voxels * info["bytes_per_value"], voxels * (info["bytes_per_value"] + 8))
    size = "x".join(str(n) for n in info["size"])
    check_memory(needed, f"the gradient magnitude of {path} ({size} voxels)")


def run(args) -> int:
    if args.method == "gaussian" and args.sigma is None:
        raise GradientToolsError("--method gaussian needs --sigma (e.g. --sigma 1.0)")
    if args.method != "gaussian" and args.sigma is not None:
        raise GradientToolsError(f"--sigma applies only to --method gaussian, not {args.method}")
    if args.sigma is not None and not (numpy.isfinite(args.sigma) and args.sigma > 0):
        raise GradientToolsError(f"--sigma must be a positive number, got {args.sigma}")
    refuse_overwriting_inputs([args.output], data_files(args.input))
    check_output_path(args.output)
    _check_request(args.input, args.sigma, args.units)
    volume = read_volume(args.input)
    spacing = volume.spacing if args.units == "mm" else (1.0, 1.0, 1.0)
    with TextProgressBar(NAME) as bar:
        result = gradient_magnitude(volume.array, spacing, method=args.method, sigma=args.sigma,
                                    progress=bar)
    output = volume.with_array(result)
    volume.array = None  # the input is no longer needed while the output is written
    write_volume(args.output, output)
    unit = "per mm" if args.units == "mm" else "per voxel"
    print(f"wrote {args.output}: float32 {'x'.join(str(n) for n in result.shape[::-1])}, "
          f"max {float(result.max()):.6g} {unit}")
    return 0
