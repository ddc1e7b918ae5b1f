"""The synthetic CT phantom: values, labels, physical placement, noise statistics."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

from GradientToolsLib.errors import GradientToolsError
from GradientToolsLib.image.phantoms import HU, LABELS, ct_phantom, phantom_labels


def test_regions_have_their_values_and_noise():
    image, labels = ct_phantom((48, 80, 80), noise_std=20.0, seed=3)
    assert image.dtype == np.int16 and labels.dtype == np.uint8 and image.shape == labels.shape
    assert set(np.unique(labels)) == set(LABELS.values())
    for label, value in HU.items():
        core = ndi.binary_erosion(labels == label, iterations=2)
        assert core.sum() > 100, label
        values = image[core].astype(np.float64)
        assert values.mean() == pytest.approx(value, abs=3.0)
        assert values.std() == pytest.approx(20.0, rel=0.1)


def test_noise_free_is_piecewise_constant_and_deterministic():
    clean, labels = ct_phantom(noise_std=0.0)
    lut = np.array([HU[k] for k in sorted(HU)])
    np.testing.assert_array_equal(clean, lut[labels])
    a, _ = ct_phantom(seed=7)
    b, _ = ct_phantom(seed=7)
    c, _ = ct_phantom(seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_same_field_of_view_samples_the_same_object():
    # half the spacing, twice the voxels: region volumes in mm^3 agree
    coarse = phantom_labels((32, 48, 48), (2.0, 2.0, 2.0))
    fine = phantom_labels((64, 96, 96), (1.0, 1.0, 1.0))
    for label in LABELS.values():
        coarse_mm3 = (coarse == label).sum() * 8.0
        fine_mm3 = (fine == label).sum() * 1.0
        assert coarse_mm3 == pytest.approx(fine_mm3, rel=0.15), label
    # the fine grid's 2x2x2 blocks around each coarse centre mostly carry the coarse label
    blocks = fine.reshape(32, 2, 48, 2, 48, 2)
    agree = (blocks == coarse[:, None, :, None, :, None]).mean()
    assert agree > 0.95


def test_correlated_noise_keeps_its_std_and_is_correlated():
    shape, spacing = (40, 64, 64), (0.8, 0.8, 1.5)
    white, labels = ct_phantom(shape, spacing, noise_std=30.0, seed=1, dtype=np.float32)
    smooth, _ = ct_phantom(shape, spacing, noise_std=30.0, seed=1, correlation_mm=1.2, dtype=np.float32)
    clean, _ = ct_phantom(shape, spacing, noise_std=0.0, dtype=np.float32)
    core = ndi.binary_erosion(labels == 0, iterations=3)
    for noisy, expected_correlation in ((white, (-0.05, 0.05)), (smooth, (0.5, 1.0))):
        noise = (noisy - clean)
        assert noise[core].std() == pytest.approx(30.0, rel=0.05)
        neighbours = core[:, :, 1:] & core[:, :, :-1]
        r = np.corrcoef(noise[:, :, 1:][neighbours], noise[:, :, :-1][neighbours])[0, 1]
        assert expected_correlation[0] < r < expected_correlation[1]


def test_one_slice_and_float_output():
    image, labels = ct_phantom((1, 40, 50), correlation_mm=1.0, dtype=np.float64)
    assert image.shape == (1, 40, 50) and image.dtype == np.float64
    assert labels.max() > 0                                       # the middle slice cuts the body


@pytest.mark.parametrize("kwargs,message", [
    (dict(shape=(0, 4, 4)), "shape"), (dict(shape=(4, 4)), "shape"),
    (dict(spacing=(1, -1, 1)), "spacing"), (dict(noise_std=-1), "noise_std"),
    (dict(correlation_mm=float("nan")), "correlation_mm"), (dict(dtype=np.complex64), "dtype"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(GradientToolsError, match=message):
        ct_phantom(**kwargs)
