"""``gradienttools magnitude``: write a float32 gradient-magnitude volume with the input's geometry.

Three ways through, chosen from the input's header and the output's ending:

* raw NRRD/MetaImage in and out: slab by slab on memory-mapped files (memory independent of size);
* a ``.zarr`` store on either side: dask (local threads, or ``--scheduler`` for a cluster);
* anything else (compressed input, NIfTI output): in memory, after saying how much it needs.
"""

from __future__ import annotations

import sys
from typing import Optional

import numpy

from .._shared.files import check_output_folder
from .._shared.memory import available_bytes, check_memory, format_bytes
from ..errors import GradientToolsError
from ..image.gradient import METHODS, gradient_magnitude
from ..image.raw_volumes import RAW_OUTPUT_ENDINGS, raw_volume_output, refuse_overwriting_volume_inputs
from ..image.volume_io import Volume, check_output_path, write_volume
from ..image.volume_sources import IN_MEMORY, ZARR, describe_volume
from ..image.zarr_volumes import is_zarr_path
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

Volumes larger than memory:
  raw (uncompressed) .nrrd/.nhdr/.mha/.mhd in and out are processed slab by slab through
  memory-mapped files: memory use does not grow with the volume. A .zarr store (OME-Zarr level 0,
  or a zarr array with --spacing) in or out is computed with dask, on local threads or, with
  --scheduler tcp://HOST:8786, on a dask.distributed cluster (needs: pip install
  'gradienttools[big]'). Compressed inputs (.nrrd with gzip, .nii.gz, compressed .mha) and NIfTI
  outputs go through memory: the command says how much first and refuses what cannot fit.

Examples:
  gradienttools magnitude ct.nrrd ct-gradient.nrrd --method gaussian --sigma 1.0
  gradienttools magnitude scan.ome.zarr gradient.zarr --scheduler tcp://127.0.0.1:8786
"""


def add_arguments(parser) -> None:
    parser.add_argument("input",
                        help="scalar volume to read (.nrrd, .nhdr, .nii, .nii.gz, .mha, .mhd, .zarr)")
    parser.add_argument("output",
                        help="volume to write (.nrrd, .nhdr, .mha, .mhd, .nii, .nii.gz, .zarr), float32")
    parser.add_argument("--method", choices=METHODS, default="central",
                        help="gradient estimator (default: %(default)s)")
    parser.add_argument("--sigma", type=float, metavar="MM",
                        help="Gaussian standard deviation in mm (in voxels with --units voxel); "
                             "required with --method gaussian")
    parser.add_argument("--units", choices=("mm", "voxel"), default="mm",
                        help="per millimetre (default) or per voxel step, as Slicer's GPU renderer")
    parser.add_argument("--spacing", type=float, nargs=3, metavar=("I", "J", "K"),
                        help="voxel spacing in mm of a plain zarr array input (OME-Zarr stores carry it)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="dask.distributed scheduler for .zarr work (e.g. tcp://127.0.0.1:8786); "
                             "default: local threads")


def _check_arguments(args) -> None:
    if args.method == "gaussian" and args.sigma is None:
        raise GradientToolsError("--method gaussian needs --sigma (e.g. --sigma 1.0)")
    if args.method != "gaussian" and args.sigma is not None:
        raise GradientToolsError(f"--sigma applies only to --method gaussian, not {args.method}")
    if args.sigma is not None and not (numpy.isfinite(args.sigma) and args.sigma > 0):
        raise GradientToolsError(f"--sigma must be a positive number, got {args.sigma}")


def _check_sigma(sigma, source, units: str) -> None:
    """A Gaussian wider than the volume is refused at once (it would only smear the volume into its
    mean, slowly; --sigma 1e300 overflowed)."""
    if sigma is None:
        return
    spacing = source.spacing if units == "mm" else (1.0, 1.0, 1.0)
    extent = max(n * h for n, h in zip(source.shape[::-1], spacing))
    if sigma > extent:
        unit = "mm" if units == "mm" else "voxels"
        raise GradientToolsError(f"--sigma {sigma:g} {unit} is larger than the volume (its largest "
                                 f"extent is {extent:g} {unit})")


def _output_kind(path: str) -> str:
    """"zarr", "raw" (memory-mapped NRRD/MetaImage) or "memory" (SimpleITK writes NIfTI)."""
    if is_zarr_path(path):
        check_output_folder(path.rstrip("/\\"))
        return "zarr"
    if path.lower().endswith(RAW_OUTPUT_ENDINGS):
        check_output_path(path, RAW_OUTPUT_ENDINGS)
        return "raw"
    check_output_path(path)
    return "memory"


def _check_memory(source, out_kind: str) -> Optional[str]:
    """Refuse at once what must go through memory and cannot fit; else the note saying what will
    (printed once the input has been read: a damaged input then gives only its error)."""
    parts = []
    if source.kind == IN_MEMORY:
        # SimpleITK's image plus the array copied from it, until the image is released
        parts.append((f"{source.path} is {source.reason} and cannot be streamed: its voxels are read "
                      "into memory", 2 * source.nbytes))
    if out_kind == "memory":
        output = int(numpy.prod(source.shape, dtype=numpy.int64)) * 4
        # the float32 result plus SimpleITK's copy of it while writing
        parts.append(("NIfTI output is written from memory (raw .nrrd/.mha stream)", 2 * output))
    if not parts:
        return None
    needed = sum(n for _, n in parts)
    what = "; ".join(text if len(parts) == 1 else f"{text} ({format_bytes(n)})" for text, n in parts)
    check_memory(needed, what, advice="; convert the input to raw (uncompressed) NRRD or MetaImage, "
                                      "or write .nrrd/.mha")
    available = available_bytes()
    free = f"{format_bytes(available)} available" if available is not None else "available memory unknown"
    return f"gradienttools {NAME}: note: {what}: needs about {format_bytes(needed)} of memory ({free})"


def run(args) -> int:
    _check_arguments(args)
    refuse_overwriting_volume_inputs([args.output], [args.input])   # before anything else
    out_kind = _output_kind(args.output)
    source = describe_volume(args.input, spacing=args.spacing)
    _check_sigma(args.sigma, source, args.units)
    dask_path = source.kind == ZARR or out_kind == "zarr"
    if args.scheduler and not dask_path:
        raise GradientToolsError("--scheduler applies when the input or the output is a .zarr store")
    note = _check_memory(source, out_kind)
    spacing = source.spacing if args.units == "mm" else (1.0, 1.0, 1.0)
    compute = _compute_dask if dask_path else _compute_slabs
    maximum = compute(args, source, out_kind, spacing, note)
    unit = "per mm" if args.units == "mm" else "per voxel"
    print(f"wrote {args.output}: float32 {'x'.join(str(n) for n in source.shape[::-1])}, "
          f"max {maximum:.6g} {unit}")
    return 0


def _compute_slabs(args, source, out_kind: str, spacing, note: Optional[str]) -> float:
    """Slab engine: the input memory-mapped (or loaded), the output memory-mapped or in memory."""
    array = source.load()
    if note:
        print(note, file=sys.stderr)
    options = dict(method=args.method, sigma=args.sigma)
    if out_kind == "raw":
        with raw_volume_output(args.output, source.shape, source.spacing, source.origin,
                               source.direction) as out:
            with TextProgressBar(NAME) as bar:
                gradient_magnitude(array, spacing, progress=bar, out=out, **options)
            return float(out.max())
    with TextProgressBar(NAME) as bar:
        result = gradient_magnitude(array, spacing, progress=bar, **options)
    write_volume(args.output, Volume(result, source.spacing, source.origin, source.direction))
    return float(result.max())


def _compute_dask(args, source, out_kind: str, spacing, note: Optional[str]) -> float:
    """dask engine: zarr chunks in or out, on local threads or a dask.distributed cluster."""
    if note:
        print(note, file=sys.stderr)
    from ..image.dask_gradient import BlockWriter, compute_blocks, gradient_magnitude_dask, work_blocks
    from ..image.zarr_volumes import store_dask_volume, zarr_volume_output

    # stored chunks: the input store's, else 64^3 for a new store; work in blocks of whole chunks
    chunks = source.chunks or tuple(min(64, n) for n in source.shape)
    lazy = source.dask_array(chunks=work_blocks(source.shape, chunks))
    result = gradient_magnitude_dask(lazy, spacing, args.method, args.sigma)
    run = dict(scheduler=args.scheduler, message=f"gradient magnitude ({args.method})")
    if out_kind == "zarr":
        if not numpy.allclose(source.direction, numpy.eye(3)):
            sys.stderr.write(f"gradienttools {NAME}: warning: OME-Zarr stores no orientation: the "
                             "input's direction cosines are not kept\n")
        with zarr_volume_output(args.output, source.shape, chunks, spacing=source.spacing,
                                origin=source.origin, like=source.zarr) as target:
            with TextProgressBar(NAME) as bar:
                return store_dask_volume(result, target, progress=bar, **run)
    if out_kind == "raw":
        with raw_volume_output(args.output, source.shape, source.spacing, source.origin,
                               source.direction) as out:
            with TextProgressBar(NAME) as bar:
                return compute_blocks(result, BlockWriter(out), progress=bar, **run)
    out = numpy.empty(source.shape, dtype=numpy.float32)
    with TextProgressBar(NAME) as bar:
        maximum = compute_blocks(result, BlockWriter(out), progress=bar, **run)
    write_volume(args.output, Volume(out, source.spacing, source.origin, source.direction))
    return maximum
