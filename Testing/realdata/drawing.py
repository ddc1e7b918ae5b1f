"""A PNG per scan that shows a reviewer every region and boundary of :mod:`scans` on the voxels.

One panel per region or boundary: the axial slice (K) through the middle of its box, cropped around
the box, in a grey window of the scan; the box outlined, the region's voxels (or the boundary's two
sides) tinted, and the measure in the title. A first panel shows the whole slice with every box.
"""

from __future__ import annotations

import numpy as np


def _window(array: np.ndarray):
    low, high = np.percentile(array[::2, ::2, ::2], [0.5, 99.5])
    return float(low), float(high) if high > low else float(low) + 1.0


def _crop(b, shape, margin):
    j = slice(max(0, b[1].start - margin), min(shape[1], b[1].stop + margin))
    i = slice(max(0, b[2].start - margin), min(shape[2], b[2].stop + margin))
    return j, i


def _outline(axis, b, color):
    from matplotlib.patches import Rectangle

    axis.add_patch(Rectangle((b[2].start - 0.5, b[1].start - 0.5), b[2].stop - b[2].start,
                             b[1].stop - b[1].start, fill=False, edgecolor=color, lw=1.2))


def _tint(axis, mask2d, color, extent):
    rgba = np.zeros(mask2d.shape + (4,))
    rgba[mask2d] = list(color) + [0.55]
    axis.imshow(rgba, extent=extent, interpolation="nearest")


def draw_scan(scan, path: str, region_measures=None, boundary_measures=None) -> str:
    """Write ``path`` (PNG): every region and boundary of ``scan`` drawn on its slices."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    array = scan.array
    low, high = _window(array)
    items = [("region", n, r) for n, r in scan.regions.items()]
    items += [("boundary", n, b) for n, b in scan.boundaries.items()]
    measures = {m.name: m for m in (region_measures or []) + (boundary_measures or [])}
    columns = 3
    rows = int(np.ceil((len(items) + 1) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 5.0 * rows), squeeze=False)
    for axis in axes.flat:
        axis.set_axis_off()
    middle = int(np.median([(it[2].box[0].start + it[2].box[0].stop) // 2 for it in items]))
    overview = axes.flat[0]
    overview.imshow(array[middle], cmap="gray", vmin=low, vmax=high, interpolation="nearest")
    for kind, _, item in items:
        _outline(overview, item.box, "tab:orange" if kind == "region" else "tab:cyan")
    overview.set_title(f"{scan.name}: slice k={middle}\n(orange: regions, cyan: boundaries)", fontsize=9)
    for axis, (kind, name, item) in zip(axes.flat[1:], items):
        k = (item.box[0].start + item.box[0].stop) // 2
        j, i = _crop(item.box, array.shape, margin=max(6, (item.box[2].stop - item.box[2].start) // 2))
        extent = (i.start - 0.5, i.stop - 0.5, j.stop - 0.5, j.start - 0.5)
        shown = array[k, j, i]
        if kind == "region":
            width = item.band[1] - item.band[0]
            vmin, vmax = item.band[0] - 1.5 * width, item.band[1] + 1.5 * width
        else:
            vmin, vmax = (float(v) for v in np.percentile(shown, [1, 99]))
        axis.imshow(shown, cmap="gray", vmin=vmin, vmax=max(vmax, vmin + 1e-9), extent=extent,
                    interpolation="nearest")
        if kind == "region":
            _tint(axis, item.voxels(array)[k, j, i], (1.0, 0.55, 0.0), extent)
        else:
            crossing = item.voxels(array)[k, j, i]
            above = array[k, j, i] > item.threshold
            _tint(axis, crossing & above, (0.0, 0.9, 0.9), extent)
            _tint(axis, crossing & ~above, (0.9, 0.0, 0.9), extent)
        _outline(axis, item.box, "tab:orange" if kind == "region" else "tab:cyan")
        axis.set_axis_on()
        axis.tick_params(labelsize=6)
        axis.set_title(_label(kind, name, item, measures.get(name), k), fontsize=8)
    figure.suptitle(f"{scan.name}: {scan.description}\n{scan.source}", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=72)
    plt.close(figure)
    return path


def _label(kind, name, item, measure, k):
    b = item.box
    where = f"k {b[0].start}:{b[0].stop} j {b[1].start}:{b[1].stop} i {b[2].start}:{b[2].stop} (shown k={k})"
    if kind == "region":
        head = f"region '{name}': band {item.band[0]:g}..{item.band[1]:g}, eroded {item.erode}"
        if measure is not None:
            head += (f"\n{measure.voxels} voxels, value {measure.mean_value:.4g} +- {measure.std_value:.3g}, "
                     f"gradient p99 {measure.p99:.4g}")
    else:
        head = f"boundary '{name}' ({item.sides[0]} | {item.sides[1]}) at {item.threshold:g}"
        if measure is not None:
            head += (f"\n{measure.voxels} voxels, median gradient {measure.median:.4g}, contrast "
                     f"{measure.contrast_sigmas:.1f} sigma ({'real' if measure.real else 'NOT real'})")
    return f"{head}\n{where}"
