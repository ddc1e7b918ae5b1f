"""A brain mask from the mean b=0 and mean diffusion-weighted images, for when the caller gives none.

Noise-only background must stay out of the mask: tensors fitted to pure noise are strongly
anisotropic and random, and streamlines would run through them. Tissue of any kind may stay in
(CSF and grey matter stop streamlines by their low FA).

Otsu's threshold of the logarithm of the mean b=0 splits it into a dark and a bright class (in the
logarithm, background noise spread over decades separates from tissue better than in the linear
values, where bright CSF pulls a threshold up into the tissue). The dark class is background only
when it is dark in *every* contrast: its mean below :data:`B0_RATIO` of the bright class's in the
b=0, and below :data:`DWI_RATIO` of it in the mean diffusion-weighted image. In a crop inside the
brain the dark b=0 class is white matter (CSF is bright at b=0), which is *brighter* than CSF once
diffusion-weighted: then there is no background and the mask is every voxel with signal. With
background, the mask is the bright class, cleaned up as MRtrix's dwi2mask does: a 3x3x3 majority
(median) filter, the largest connected part, holes filled.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: background's mean b=0 is below this fraction of the tissue's
B0_RATIO = 0.3
#: and its mean diffusion-weighted signal below this fraction of the tissue's
DWI_RATIO = 0.5


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of a 1-D sample (between-class variance maximised over a histogram)."""
    values = values[np.isfinite(values)]
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return low
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    centers = 0.5 * (edges[:-1] + edges[1:])
    weight0 = np.cumsum(counts)
    weight1 = weight0[-1] - weight0
    sum0 = np.cumsum(counts * centers)
    mean0 = sum0 / np.maximum(weight0, 1)
    mean1 = (sum0[-1] - sum0) / np.maximum(weight1, 1)
    between = weight0 * weight1 * (mean0 - mean1) ** 2
    return float(edges[1 + int(np.argmax(between[:-1]))])


def brain_mask(mean_b0: np.ndarray, mean_dwi: np.ndarray) -> np.ndarray:
    """Boolean (K, J, I) mask of the tissue (see the module doc).

    Parameters
    ----------
    mean_b0, mean_dwi : ndarray (K, J, I)
        Mean of the b=0 volumes and of the diffusion-weighted volumes.
    """
    b0 = np.nan_to_num(np.asarray(mean_b0, dtype=np.float64), nan=0.0)
    dw = np.nan_to_num(np.asarray(mean_dwi, dtype=np.float64), nan=0.0)
    positive = b0 > 0
    if not np.any(positive):
        return positive
    threshold = float(np.exp(otsu_threshold(np.log(b0[positive]))))
    bright = b0 > threshold
    dark = positive & ~bright
    if not np.any(bright) or not np.any(dark):
        return positive
    is_background = (b0[dark].mean() < B0_RATIO * b0[bright].mean()
                     and dw[dark].mean() < DWI_RATIO * dw[bright].mean())
    if not is_background:
        return positive
    mask = ndimage.median_filter(bright.astype(np.uint8), size=3) > 0
    labels, count = ndimage.label(mask)
    if count == 0:
        return bright
    if count > 1:
        sizes = np.bincount(labels.reshape(-1))[1:]
        mask = labels == 1 + int(np.argmax(sizes))
    return ndimage.binary_fill_holes(mask)
