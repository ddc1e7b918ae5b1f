"""``gradienttools convert``: a scheme file in any supported format to any other, in the right frame."""

from __future__ import annotations

from ._schemes import (
    INPUT_DESCRIPTION,
    add_frame_arguments,
    add_input_arguments,
    check_outputs_are_not_inputs,
    check_reference_volumes,
    load_reference,
    output_paths,
    read_input,
)

NAME = "convert"
ORDER = 32
HELP = "convert a diffusion scheme between formats (FSL, MRtrix, Siemens, GE, Philips, NRRD) and frames"
DESCRIPTION = f"""\
Convert a diffusion gradient scheme file to another format. The vectors are converted between
coordinate frames as the formats need:

  image    FSL .bval/.bvec: the voxel axes of one image (x negated when the image's
           voxel-to-world rotation has a positive determinant)
  scanner  MRtrix .b, NRRD (through its measurement frame)
  device   Siemens .dvs: the gradient-coil axes, for a head-first supine patient x = left,
           y = anterior, z = inferior (converted to and from scanner without more input)
  logical  GE tensor.dat, Philips dti_vectors_input (read/phase/slice of the prescription)

image <-> scanner needs --reference IMAGE, the image the FSL files belong to; the results equal
MRtrix's `mrinfo IMAGE -fslgrad BVEC BVAL -export_grad_mrtrix OUT.b` and
`mrinfo IMAGE -grad IN.b -export_grad_fsl BVEC BVAL`. The logical frame cannot be converted
from an image header; --keep-vectors copies the numbers unchanged on purpose.

{INPUT_DESCRIPTION}

examples:
  gradienttools convert dwi.bval dwi.bvec --reference dwi.nii.gz --format mrtrix --output dwi
  gradienttools convert protocol.dvs --b-max 3000 --format fsl --reference dwi.nii.gz --output dwi
  gradienttools convert tensor.dat --b-max 2000 --block 104 --t2 1 --format siemens \\
      --keep-vectors --output ukb
"""


def add_arguments(parser) -> None:
    from ..diffusion.formats import FORMATS
    from ..diffusion.writers import NRRD_SPACES

    add_input_arguments(parser)
    parser.add_argument("--format", choices=FORMATS, required=True, help="output format")
    parser.add_argument("--output", required=True, metavar="PREFIX", help="output path without suffix")
    add_frame_arguments(parser)
    parser.add_argument("--comment", default=None, help="comment line for formats that keep one")
    parser.add_argument("--space", choices=sorted(NRRD_SPACES), default="right-anterior-superior",
                        help="NRRD: the space of the header the lines go into (default: %(default)s)")
    parser.add_argument("--ge-base", metavar="TENSOR_DAT", default=None,
                        help="GE: a stock tensor.dat whose other blocks are kept in the output")
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")


def run(args) -> int:
    import json

    from .._shared.files import check_output_folder
    from ..diffusion.formats import FORMAT_FRAMES
    from ..diffusion.writers import write_scheme

    check_output_folder(args.output)
    inputs = list(args.files) + ([args.ge_base] if args.ge_base else [])
    check_outputs_are_not_inputs(output_paths(args.output, args.format), inputs)
    reference, volumes = load_reference(args.reference)
    scheme = read_input(args.files, args)
    check_reference_volumes(args.reference, volumes, scheme)
    paths = write_scheme(scheme, args.output, args.format, args.comment or "gradienttools convert",
                         reference=reference, keep_vectors=args.keep_vectors, space=args.space,
                         ge_base=args.ge_base)
    target = FORMAT_FRAMES[args.format]
    kept = bool(args.keep_vectors and scheme.frame != target)
    if args.json:
        print(json.dumps({"written": paths, "volumes": scheme.n, "from_frame": scheme.frame,
                          "to_frame": target, "kept_vectors": kept}, indent=2))
    else:
        how = "unchanged (--keep-vectors)" if kept else "converted"
        note = f" ({scheme.frame} -> {target}, {how})" if scheme.frame != target else ""
        print(f"{scheme.n} volumes{note}")
        for path in paths:
            print(f"wrote {path}")
    return 0
