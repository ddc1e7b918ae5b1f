"""Validators for the arguments of public functions: one place, one message style.

Every check raises :class:`GradientToolsError` (a ``ValueError``) whose message starts with the
argument's name and says what was expected and what was given, e.g. ``spacing must be three
positive finite numbers (I, J, K), got (1.0, 0.0, 1.0)``.

Array conventions: volumes are numpy arrays in Slicer's K,J,I order; spacings are I,J,K (mm).
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from ..errors import GradientToolsError


def check_spacing(spacing, name: str = "spacing") -> Tuple[float, float, float]:
    """Three positive finite voxel sizes in I,J,K order, as floats."""
    try:
        values = np.asarray(spacing, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise GradientToolsError(
            f"{name} must be three positive numbers (I, J, K), got {spacing!r}") from None
    if values.size != 3:
        raise GradientToolsError(f"{name} must have three values (I, J, K), got {values.size}")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise GradientToolsError(f"{name} must be three positive finite numbers, got {tuple(values)}")
    return tuple(float(v) for v in values)


def real_array(array, name: str) -> np.ndarray:
    """``array`` as a numpy array of real numbers (bool, integer or float), without a copy (a numpy
    array, memory maps included, is returned as it is)."""
    if not isinstance(array, np.ndarray):
        try:
            array = np.asarray(array)
        except (TypeError, ValueError):
            raise GradientToolsError(f"{name} must be a numeric numpy array") from None
    if array.dtype.kind not in "biuf":
        raise GradientToolsError(f"{name} must hold real numbers, got dtype {array.dtype}")
    return array


def check_volume(array, name: str = "array") -> np.ndarray:
    """A real-valued (bool, integer or float) volume as a 3-D K,J,I array (no copy).

    A 2-D array (J, I) is taken as a one-slice volume and returned with a leading axis of 1.
    """
    array = real_array(array, name)
    if array.ndim == 2:
        array = array[np.newaxis]
    elif array.ndim != 3:
        raise GradientToolsError(f"{name} must be 3-D (K, J, I) or 2-D (J, I), got shape {array.shape}")
    if array.size == 0:
        raise GradientToolsError(f"{name} is empty (shape {array.shape})")
    return array


def check_volume_like(array, name: str = "array"):
    """As :func:`check_volume`, but a 3-D array-like that reads on indexing (a zarr view: ``shape``,
    ``dtype`` and ``__getitem__``, no numpy array) is returned as it is instead of being read whole.
    """
    if isinstance(array, np.ndarray) or not all(hasattr(array, a) for a in ("shape", "dtype", "__getitem__")):
        return check_volume(array, name)
    if len(array.shape) != 3:
        return check_volume(np.asarray(array), name)
    if np.dtype(array.dtype).kind not in "biuf":
        raise GradientToolsError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if 0 in tuple(array.shape):
        raise GradientToolsError(f"{name} is empty (shape {tuple(array.shape)})")
    return array


def check_mask(mask, shape: Sequence[int], name: str = "mask") -> Optional[np.ndarray]:
    """None, or a boolean K,J,I array of ``shape`` (non-zero = selected) that selects a voxel."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.ndim == 2:
        m = m[None]
    if m.shape != tuple(shape):
        raise GradientToolsError(f"{name} shape {m.shape} differs from the volume shape {tuple(shape)}")
    if m.dtype != bool:
        m = m != 0
    if not m.any():
        raise GradientToolsError(f"{name} selects no voxel")
    return m


def check_range(value_range, name: str = "visible_range") -> Optional[Tuple[float, float]]:
    """None, or (low, high): two finite numbers with low <= high."""
    if value_range is None:
        return None
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise GradientToolsError(f"{name} must be two numbers (low, high), got {value_range!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi < lo:
        raise GradientToolsError(f"{name} must be finite with low <= high, got ({lo}, {hi})")
    return lo, hi


def check_positive(value, name: str) -> float:
    """A positive finite number, as float."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GradientToolsError(f"{name} must be a number, got {value!r}") from None
    if not (np.isfinite(number) and number > 0):
        raise GradientToolsError(f"{name} must be a positive finite number, got {number}")
    return number


def check_int(value, name: str, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """An integer (a float with an integral value is accepted, 2.7 or True are not) within bounds."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise GradientToolsError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, (int, np.integer)):
        number = int(value)
    else:
        try:
            as_float = float(value)
        except (TypeError, ValueError):
            raise GradientToolsError(f"{name} must be an integer, got {value!r}") from None
        if not (np.isfinite(as_float) and as_float.is_integer()):
            raise GradientToolsError(f"{name} must be an integer, got {value!r}")
        number = int(as_float)
    if minimum is not None and number < minimum:
        raise GradientToolsError(f"{name} must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise GradientToolsError(f"{name} must be at most {maximum}, got {number}")
    return number


def check_seed(seed, name: str = "seed") -> Optional[int]:
    """None (a fresh random seed) or an integer in [0, 2**63) as numpy's generators accept."""
    if seed is None:
        return None
    return check_int(seed, name, minimum=0, maximum=2**63 - 1)


def check_real_array(array, name: str) -> np.ndarray:
    """A numeric array of finite real numbers (bool, integer or float; no NaN, inf or complex)."""
    values = real_array(array, name)
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
        raise GradientToolsError(f"{name} contains NaN or infinite values")
    return values
