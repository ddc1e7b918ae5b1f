"""Demo section: a synthetic CT, its gradient magnitude (central and Gaussian), and a picture."""

from __future__ import annotations

import os
from typing import List

import numpy

from ..gradient import gradient_magnitude
from ..phantoms import ct_phantom
from ..volume_io import Volume, write_volume

TITLE = "Gradient magnitude of a synthetic CT (issue 2)"
ORDER = 10

SHAPE = (80, 128, 128)                 # K, J, I
SPACING = (0.8, 0.8, 1.5)              # I, J, K mm: thin in-plane, thicker slices, as clinical CT
SIGMA_MM = 1.0


def _save_png(path: str, image: numpy.ndarray, central: numpy.ndarray, smooth: numpy.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    k = image.shape[0] // 2 + 5
    extent = (0, image.shape[2] * SPACING[0], image.shape[1] * SPACING[1], 0)      # mm
    top = float(numpy.percentile(central[k], 99.5))
    figure, axes = pyplot.subplots(1, 3, figsize=(15, 5.2), constrained_layout=True)
    panels = ((image[k], "input slice (HU)", "gray", (-1000, 800)),
              (central[k], "|grad| central (HU/mm)", "magma", (0, top)),
              (smooth[k], f"|grad| Gaussian, sigma {SIGMA_MM} mm (HU/mm)", "magma", (0, top)))
    for axis, (data, title, cmap, limits) in zip(axes, panels):
        shown = axis.imshow(data, cmap=cmap, vmin=limits[0], vmax=limits[1], extent=extent)
        axis.set_title(title, fontsize=11)
        axis.set_xlabel("x (mm)")
        figure.colorbar(shown, ax=axis, shrink=0.8)
    axes[0].set_ylabel("y (mm)")
    figure.suptitle(f"slice {k} of a {SHAPE[2]}x{SHAPE[1]}x{SHAPE[0]} CT phantom, spacing "
                    f"{SPACING[0]} x {SPACING[1]} x {SPACING[2]} mm, correlated noise 20 HU")
    figure.savefig(path, dpi=90)
    pyplot.close(figure)


def run(output_dir: str) -> List[str]:
    image, _ = ct_phantom(SHAPE, SPACING, noise_std=20.0, correlation_mm=0.6, seed=2)
    volume = Volume(image, SPACING, origin=(-0.5 * SHAPE[2] * SPACING[0], -0.5 * SHAPE[1] * SPACING[1], 0.0))
    central = gradient_magnitude(image, SPACING)
    smooth = gradient_magnitude(image, SPACING, method="gaussian", sigma=SIGMA_MM)

    written = []
    for name, data in (("ct-phantom.nrrd", volume), ("ct-phantom-gradient.nrrd", volume.with_array(central)),
                       ("ct-phantom-gradient-gaussian.nrrd", volume.with_array(smooth))):
        written.append(write_volume(os.path.join(output_dir, name), data, compress=True))
    png = os.path.join(output_dir, "gradient-magnitude.png")
    _save_png(png, image, central, smooth)
    written.append(png)
    return written
