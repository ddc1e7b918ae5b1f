"""``gradienttools gradcheck``: find flipped and swapped axes in a DWI's gradient table."""

from __future__ import annotations

NAME = "gradcheck"
ORDER = 32
HELP = "check a DWI's gradient table for flipped or swapped axes (fibre coherence, like dwigradcheck)"
DESCRIPTION = """\
Score all 24 axis permutations and sign flips of a DWI's gradient table by fibre coherence
(Jeurissen et al. 2014): one tensor fit, deterministic tensor streamlines from the same seeds for
every candidate, score = mean streamline length in mm. The table whose fibres run longest wins.
Candidates are written in the image's voxel axes I, J, K: "+J -I +K" means the corrected table's
first component is the given second one, its second the negated first.

DWI: a 4-D NIfTI or a DWI NRRD. FILES: an FSL pair (X.bval X.bvec, one of them or their prefix X),
read with FSL's convention against the image's direction matrix, or an MRtrix .b file (scanner
coordinates). For a DWI NRRD the table in its header (DWMRI keys, measurement frame) is used when
no FILES are given; for X.nii(.gz), X.bval and X.bvec beside it.

The check needs coherent white matter: whole-brain scans give clear verdicts; small crops (a few
centimetres) give weak ones (a warning says so). Exit status 0 whether or not the table is wrong.
"""


def add_arguments(parser) -> None:
    parser.add_argument("dwi", metavar="DWI", help="diffusion-weighted image (.nii, .nii.gz, .nrrd, .nhdr)")
    parser.add_argument("files", nargs="*", metavar="FILE", help="gradient table file(s)")
    parser.add_argument("--mask", metavar="M", help="brain mask on the DWI's grid (default: from the b=0s)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--output", metavar="PREFIX",
                        help="write the corrected table in the input's format and frame")
    parser.add_argument("--seeds", type=int, default=None,
                        help="seeds per candidate (default 3000; the same seeds for all)")


def _table(args, dwi):
    import os

    from ..diffusion.gradcheck.tables import read_table_files, table_from_nrrd
    from ..errors import GradientToolsError

    if args.files:
        return read_table_files(args.files)
    if dwi.header:
        return table_from_nrrd(args.dwi, dwi.header)
    base = args.dwi[:-7] if args.dwi.lower().endswith(".nii.gz") else os.path.splitext(args.dwi)[0]
    if os.path.exists(base + ".bval") and os.path.exists(base + ".bvec"):
        return read_table_files([base + ".bval", base + ".bvec"])
    raise GradientToolsError(f"{args.dwi}: no gradient table: give an FSL pair or an MRtrix .b file")


def _mask(path, dwi):
    import numpy as np

    from ..errors import GradientToolsError
    from ..image.volume_io import read_volume

    mask = read_volume(path)
    if mask.array.shape != dwi.array.shape[:3]:
        raise GradientToolsError(
            f"{path}: mask has shape {mask.array.shape}, the DWI's volumes {dwi.array.shape[:3]}")
    if not np.allclose(mask.ijk_to_lps(), dwi.ijk_to_lps(), atol=1e-3 * max(dwi.spacing)):
        raise GradientToolsError(f"{path}: the mask is not on the DWI's grid (different geometry)")
    return mask.array != 0


def _result_dict(result, table) -> dict:
    def entry(perm, signs, score):
        return {"permutation": list(perm), "signs": list(signs), "score": round(score, 4)}

    return {
        "dwi_frame": table.kind,
        "given": {"score": round(result.given_score, 4)},
        "best": entry(*result.best, result.score_of(*result.best)),
        "given_is_best": result.given_is_best,
        "margin": round(result.margin, 4),
        "seeds": result.seeds,
        "ranking": [entry(p, s, score) for p, s, score in result.ranking],
        "warnings": list(result.warnings),
    }


def _report_lines(result, table, summary: str, written) -> list:
    from ..diffusion.gradcheck.candidates import describe

    best_score = result.best_score
    lines = [f"gradient table: {table.source} ({table.kind}; {summary})",
             f"{'rank':>4}  {'candidate':<10}  {'score (mm)':>10}  {'vs best':>8}"]
    for rank, (perm, signs, score) in enumerate(result.ranking, start=1):
        tag = "  <- as given" if (perm, signs) == ((0, 1, 2), (1, 1, 1)) else ""
        ratio = 100.0 * (score / best_score - 1.0) if best_score > 0 else 0.0
        lines.append(f"{rank:>4}  {describe((perm, signs)):<10}  {score:>10.2f}  {ratio:>+7.1f}%{tag}")
    if result.given_is_best:
        lines.append(f"verdict: the table as given is the most coherent (lead over the runner-up "
                     f"{100 * result.margin:.1f}%)")
    else:
        gain = 100.0 * (result.score_of(*result.best) / result.given_score - 1.0) \
            if result.given_score > 0 else float("inf")
        lines.append(f"verdict: the table looks WRONG: {describe(result.best)} (voxel axes) gives "
                     f"{gain:.0f}% longer streamlines than the table as given "
                     f"(lead over the runner-up {100 * result.margin:.1f}%)")
    lines.extend(f"WARNING: {w}" for w in result.warnings)
    if written:
        lines.append("corrected table written: " + ", ".join(written))
    return lines


def run(args) -> int:
    import json
    import os
    import warnings

    from .._shared.files import check_output_folder
    from ..diffusion.gradcheck import candidate_matrix, check_gradient_table
    from ..diffusion.gradcheck.check import DEFAULT_SEEDS
    from ..diffusion.gradcheck.tables import describe_b, output_paths, write_corrected
    from ..errors import GradientToolsError
    from ..image.volume_io import read_dwi
    from ..progress import TextProgressBar

    if args.output is not None:
        check_output_folder(args.output)
    seeds = DEFAULT_SEEDS if args.seeds is None else args.seeds
    if seeds < 1:
        raise GradientToolsError(f"--seeds must be a positive integer, got {seeds}")
    dwi = read_dwi(args.dwi)
    table = _table(args, dwi)
    if table.bvals.size != dwi.array.shape[3]:
        raise GradientToolsError(f"{table.source}: {table.bvals.size} volumes in the table but "
                                 f"{dwi.array.shape[3]} in {args.dwi}")
    inputs = {os.path.abspath(p) for p in [args.dwi, table.source, *args.files]}
    if args.output is not None and inputs & {os.path.abspath(p) for p in output_paths(table, args.output)}:
        raise GradientToolsError("--output would overwrite an input file; choose another prefix")
    mask = _mask(args.mask, dwi) if args.mask else None
    voxel = table.to_voxel(dwi.direction)
    with TextProgressBar("gradcheck") as bar, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the result carries its warnings; printed below
        result = check_gradient_table(dwi.array, table.bvals, voxel, dwi.spacing, mask, progress=bar,
                                      seeds=seeds)
    written = []
    if args.output is not None:
        written = write_corrected(table, result.corrected_bvecs, dwi.direction, args.output,
                                  candidate_matrix(result.best))
    if args.json:
        out = _result_dict(result, table)
        out["written"] = written
        print(json.dumps(out, indent=2))
    else:
        print("\n".join(_report_lines(result, table, describe_b(table), written)))
    return 0
