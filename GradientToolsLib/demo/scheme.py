"""Demo section: a two-shell diffusion scheme (FSL files, quality report) and a picture of it."""

from __future__ import annotations

import os
from typing import List

TITLE = "Diffusion scheme: b=1000 x30 + b=2000 x60 + 6 b0, jointly optimised"
ORDER = 30

SHELLS = {1000: 30, 2000: 60}
B0 = 6
B0_EVERY = 15
SEED = 2024


def run(output_dir: str) -> List[str]:
    from .._shared.files import atomic_output
    from ..diffusion.multishell import multishell_scheme
    from ..diffusion.report import format_report, scheme_report
    from ..diffusion.writers import write_scheme
    from ..figures import plot_scheme

    scheme = multishell_scheme(SHELLS, b0=B0, b0_every=B0_EVERY, seed=SEED)
    prefix = os.path.join(output_dir, "scheme_2shell")
    # FSL bvecs belong to an image: here an axis-aligned one in FSL's standard (LAS) orientation
    written = write_scheme(scheme, prefix, "fsl", reference=[[-2, 0, 0], [0, 2, 0], [0, 0, 2]])
    written += write_scheme(scheme, prefix, "mrtrix", comment="gradienttools demo")
    report_path = prefix + "_report.txt"
    with atomic_output(report_path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(format_report(scheme_report(scheme)) + "\n")
    written.append(report_path)
    written.append(plot_scheme(scheme, prefix + ".png", "directions folded onto the upper hemisphere "
                               "(v = -v), equal-area view; rim = equator"))
    return written
