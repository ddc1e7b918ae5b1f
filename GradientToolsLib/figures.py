"""Figures as PNG files: the only module that imports matplotlib (the ``plot`` extra).

* :func:`save_histogram_plot`: the renderer-unit gradient histogram with a suggested opacity curve;
* :func:`plot_scheme`: a diffusion scheme's directions, one equal-area hemisphere per shell;
* :func:`save_gradient_slices`: a slice of a volume beside two gradient-magnitude slices.

Every figure is written atomically (no partial PNG is left behind on an error).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ._shared.files import atomic_output
from .errors import GradientToolsError


def _pyplot():
    """matplotlib's pyplot on the non-interactive Agg backend, or an error naming the extra."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise GradientToolsError(f"plots need matplotlib: pip install 'gradienttools[plot]' ({exc})") \
            from None
    return plt


def save_histogram_plot(suggestion, path: str, title: Optional[str] = None,
                        analysed: str = "whole volume") -> str:
    """Write a PNG: the gradient histogram (log count axis) with the opacity curve over it.

    Parameters
    ----------
    suggestion : GradientOpacitySuggestion
    path : str
        PNG file (written atomically).
    title : str, optional
        First title line (default: "gradient histogram and suggested opacity").
    analysed : str
        What was analysed, named in the title: "whole volume", "visible range 150..3000",
        "mask body.nrrd", ...

    The x axis zooms on the noise floor (up to 8x the noise level, or the whole range up to the
    renderer's clamp x_max when that is nearer); a noise level beyond the plotted range is still
    marked, by an arrow at the right edge with its value. The legend sits below the axes.
    Needs matplotlib (the ``plot`` extra).
    """
    plt = _pyplot()
    counts = np.asarray(suggestion.histogram_counts, dtype=float)
    edges = np.asarray(suggestion.histogram_edges, dtype=float)
    figure, axis = plt.subplots(figsize=(8, 5.2), dpi=100)
    axis.stairs(np.maximum(counts, 0.8), edges, fill=True, color="0.6", label="voxels (analysed sample)")
    axis.set_yscale("log")
    axis.set_ylim(0.8, max(10.0, counts.max(initial=1.0) * 2))
    axis.set_xlabel("gradient magnitude x (scalar units per voxel step, Slicer GPU ray caster)")
    axis.set_ylabel("count (log)")
    curve = axis.twinx()
    pts = np.asarray(suggestion.points, dtype=float)
    xs = np.append(pts[:, 0], edges[-1]) if pts[-1, 0] < edges[-1] else pts[:, 0]
    curve.plot(xs, suggestion.opacity_at(xs), color="tab:orange", lw=2.5, marker="o", label="opacity")
    curve.set_ylim(-0.02, 1.05)
    curve.set_ylabel("gradient opacity")
    noise = float(suggestion.noise_p99)
    # the interesting part is usually near the noise floor: zoom there, keep the clamp in view
    right = edges[-1]
    if noise > 0:
        right = min(edges[-1], max(8 * noise, pts[-2, 0] * 3 if len(pts) > 1 else 0))
    right = right if right > 0 else 1.0
    axis.set_xlim(0, right)
    noise_label = f"noise 99th pct P = {noise:.4g}"
    if 0 < noise <= right:
        axis.axvline(noise, color="tab:red", ls="--", lw=1, label=noise_label)
    elif noise > right:
        where = "beyond the renderer's clamp x_max" if noise > edges[-1] else "beyond the plotted range"
        axis.annotate(f"{noise_label}\n{where} {edges[-1]:.4g}", xy=(1.0, 0.8), xycoords="axes fraction",
                      xytext=(-60, 0), textcoords="offset points", ha="right", va="center", color="tab:red",
                      fontsize=8, arrowprops={"arrowstyle": "-|>", "color": "tab:red"},
                      bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85})
        axis.plot([], [], color="tab:red", ls="--", lw=1, label=f"{noise_label} (off the plot, arrow)")
    if right < edges[-1]:
        axis.set_xlabel(axis.get_xlabel() + f"\n(zoomed; the renderer clamps at x_max {edges[-1]:.4g})")
    handles, labels = axis.get_legend_handles_labels()
    extra = curve.get_legend_handles_labels()
    figure.legend(handles + extra[0], labels + extra[1], loc="lower center", ncol=3, fontsize=8,
                  frameon=False)
    head = title or "gradient histogram and suggested opacity"
    axis.set_title(f"{head}\nanalysed: {analysed}; noise sigma {suggestion.noise_sigma:.3g}, "
                   f"{len(getattr(suggestion, 'warnings', []))} warning(s)", fontsize=10)
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    with atomic_output(path, suffix=".png") as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)
    return path


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
    plt = _pyplot()
    shells = scheme.shell_indices()
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    panels = [(f"b = {b}: {len(idx)} directions", [(b, idx, colors[k % len(colors)])])
              for k, (b, idx) in enumerate(shells.items())]
    if len(shells) > 1:
        panels.append(("all shells together",
                       [(b, idx, colors[k % len(colors)]) for k, (b, idx) in enumerate(shells.items())]))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels), 4.4), squeeze=False)
    circle = np.linspace(0, 2 * np.pi, 200)
    for ax, (label, sets) in zip(axes[0], panels):
        ax.plot(np.cos(circle), np.sin(circle), color="0.6", linewidth=0.8)
        for ring in (30, 60):  # polar angles 30 and 60 degrees
            r = np.sqrt(1.0 - np.cos(np.radians(ring)))
            ax.plot(r * np.cos(circle), r * np.sin(circle), color="0.85", linewidth=0.6)
        for b, idx, color in sets:
            xy = hemisphere_projection(scheme.bvecs[idx])
            ax.scatter(xy[:, 0], xy[:, 1], s=28, color=color, edgecolors="k", linewidths=0.4,
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


def save_gradient_slices(path: str, image: np.ndarray, gradients: Sequence, spacing: Sequence[float],
                         slice_index: Optional[int] = None, image_window=(None, None),
                         image_label: str = "input slice", title: str = "") -> str:
    """A slice of ``image`` beside the same slice of each gradient-magnitude volume.

    Parameters
    ----------
    image : numpy array (K, J, I)
    gradients : sequence of (label, array (K, J, I))
        Shown with one colour scale, from 0 to the 99.5th percentile of the first one's slice.
    spacing : 3 floats (I, J, K), mm
        For the axes (in mm).
    slice_index : int, optional
        Slice K to show (default: the middle one).
    image_window : (low, high)
        Grey window of the image (default: its range).
    """
    plt = _pyplot()
    k = image.shape[0] // 2 if slice_index is None else int(slice_index)
    extent = (0, image.shape[2] * spacing[0], image.shape[1] * spacing[1], 0)      # mm
    top = float(np.percentile(gradients[0][1][k], 99.5))
    figure, axes = plt.subplots(1, 1 + len(gradients), figsize=(5 * (1 + len(gradients)), 5.2),
                                constrained_layout=True)
    panels = [(image[k], image_label, "gray", image_window)]
    panels += [(array[k], label, "magma", (0, top)) for label, array in gradients]
    for axis, (data, label, cmap, limits) in zip(axes, panels):
        shown = axis.imshow(data, cmap=cmap, vmin=limits[0], vmax=limits[1], extent=extent)
        axis.set_title(label, fontsize=11)
        axis.set_xlabel("x (mm)")
        figure.colorbar(shown, ax=axis, shrink=0.8)
    axes[0].set_ylabel("y (mm)")
    if title:
        figure.suptitle(title)
    with atomic_output(path, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=90, format="png")
    plt.close(figure)
    return path
