"""Demo section: a synthetic CT, its gradient magnitude (central and Gaussian), and a picture."""

from __future__ import annotations

import os
from typing import List

from ..figures import save_gradient_slices
from ..image.gradient import gradient_magnitude
from ..image.phantoms import ct_phantom
from ..image.volume_io import Volume, write_volume

TITLE = "Gradient magnitude of a synthetic CT (issue 2)"
ORDER = 10

SHAPE = (80, 128, 128)                 # K, J, I
SPACING = (0.8, 0.8, 1.5)              # I, J, K mm: thin in-plane, thicker slices, as clinical CT
SIGMA_MM = 1.0


def run(output_dir: str) -> List[str]:
    image, _ = ct_phantom(SHAPE, SPACING, noise_std=20.0, correlation_mm=0.6, seed=2)
    volume = Volume(image, SPACING, origin=(-0.5 * SHAPE[2] * SPACING[0], -0.5 * SHAPE[1] * SPACING[1], 0.0))
    central = gradient_magnitude(image, SPACING)
    smooth = gradient_magnitude(image, SPACING, method="gaussian", sigma=SIGMA_MM)

    written = []
    for name, data in (("ct-phantom.nrrd", volume), ("ct-phantom-gradient.nrrd", volume.with_array(central)),
                       ("ct-phantom-gradient-gaussian.nrrd", volume.with_array(smooth))):
        written.append(write_volume(os.path.join(output_dir, name), data, compress=True))
    k = image.shape[0] // 2 + 5
    written.append(save_gradient_slices(
        os.path.join(output_dir, "gradient-magnitude.png"), image,
        [("|grad| central (HU/mm)", central), (f"|grad| Gaussian, sigma {SIGMA_MM} mm (HU/mm)", smooth)],
        SPACING, slice_index=k, image_window=(-1000, 800), image_label="input slice (HU)",
        title=f"slice {k} of a {SHAPE[2]}x{SHAPE[1]}x{SHAPE[0]} CT phantom, spacing "
              f"{SPACING[0]} x {SPACING[1]} x {SPACING[2]} mm, correlated noise 20 HU"))
    return written
