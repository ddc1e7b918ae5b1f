"""Demo section: a two-shell diffusion scheme (FSL files, quality report) and a picture of it."""

from __future__ import annotations

import os
from typing import List

import numpy as np

TITLE = "Diffusion scheme: b=1000 x30 + b=2000 x60 + 6 b0, jointly optimised"
ORDER = 30

SHELLS = {1000: 30, 2000: 60}
B0 = 6
B0_EVERY = 15
SEED = 2024


def hemisphere_projection(directions: np.ndarray) -> np.ndarray:
    """(x, y) of a Lambert equal-area view of the upper hemisphere, unit disk = equator.

    Each direction is first folded onto z >= 0 (v and -v are the same measurement), so equal
    areas on the sphere stay equal in the picture and uneven coverage is visible.
    """
    v = np.where(directions[:, 2:3] < 0, -directions, directions)
    radius = np.sqrt(np.clip(1.0 - v[:, 2], 0.0, 1.0))  # sqrt(2(1 - z)) / sqrt(2)
    phi = np.arctan2(v[:, 1], v[:, 0])
    return np.stack([radius * np.cos(phi), radius * np.sin(phi)], axis=1)


def plot_scheme(scheme, path: str, title: str = "") -> str:
    """PNG with one hemisphere view per shell and one of all shells together."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..fileutil import atomic_output

    shells = scheme.shell_indices()
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    panels = [(f"b = {b}: {len(idx)} directions", [(b, idx, colours[k % len(colours)])])
              for k, (b, idx) in enumerate(shells.items())]
    if len(shells) > 1:
        panels.append(("all shells together",
                       [(b, idx, colours[k % len(colours)]) for k, (b, idx) in enumerate(shells.items())]))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels), 4.4), squeeze=False)
    circle = np.linspace(0, 2 * np.pi, 200)
    for ax, (label, sets) in zip(axes[0], panels):
        ax.plot(np.cos(circle), np.sin(circle), color="0.6", linewidth=0.8)
        for ring in (30, 60):  # polar angles 30 and 60 degrees
            r = np.sqrt(1.0 - np.cos(np.radians(ring)))
            ax.plot(r * np.cos(circle), r * np.sin(circle), color="0.85", linewidth=0.6)
        for b, idx, colour in sets:
            xy = hemisphere_projection(scheme.bvecs[idx])
            ax.scatter(xy[:, 0], xy[:, 1], s=28, color=colour, edgecolors="k", linewidths=0.4,
                       label=f"b = {b}")
        ax.set_title(label, fontsize=10)
        ax.set_aspect("equal")
        ax.set_xlim(-1.08, 1.08)
        ax.set_ylim(-1.08, 1.08)
        ax.set_axis_off()
        if len(sets) > 1:
            ax.legend(loc="lower right", fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def run(output_dir: str) -> List[str]:
    from ..fileutil import atomic_output
    from ..multishell import multishell_scheme
    from ..scheme_io import write_scheme
    from ..scheme_stats import format_report, scheme_report

    scheme = multishell_scheme(SHELLS, b0=B0, b0_every=B0_EVERY, seed=SEED)
    prefix = os.path.join(output_dir, "scheme_2shell")
    written = write_scheme(scheme, prefix, "fsl", comment="gradienttools demo")
    written += write_scheme(scheme, prefix, "mrtrix", comment="gradienttools demo")
    report_path = prefix + "_report.txt"
    with atomic_output(report_path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(format_report(scheme_report(scheme)) + "\n")
    written.append(report_path)
    written.append(plot_scheme(scheme, prefix + ".png", "directions folded onto the upper hemisphere "
                               "(v = -v), equal-area view; rim = equator"))
    return written
