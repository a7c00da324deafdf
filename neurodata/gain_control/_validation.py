"""Input checks shared by the gain-control functions.

Orientations are in degrees with period 180 (a grating at 10 degrees is the
same stimulus as one at 190 degrees).  Every check raises a
:class:`neurodata.errors.NeurodataError` subclass whose message names the
problem and the fix.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import xarray as xr

from neurodata._utils import check_option
from neurodata.errors import NeurodataError, ShapeError

#: Period of orientation, in degrees.
PERIOD = 180.0

GAIN_SITES = ("input", "total")


def wrap_orientation(theta: np.ndarray | float) -> np.ndarray:
    """Wrap orientations (degrees) into [-90, 90).

    Examples
    --------
    >>> wrap_orientation(np.array([0.0, 90.0, 100.0, -95.0, 180.0]))
    array([  0., -90., -80.,  85.,   0.])
    """
    return (np.asarray(theta, dtype=float) + PERIOD / 2) % PERIOD - PERIOD / 2


def as_orientations(theta, name: str = "orientations") -> np.ndarray:
    """Return ``theta`` as a finite 1-D float array of degrees, or raise."""
    arr = np.atleast_1d(np.asarray(theta, dtype=float))
    if arr.ndim != 1:
        raise ShapeError(f"{name} must be a 1-D array of degrees; got shape {arr.shape}.")
    if arr.size == 0:
        raise ShapeError(f"{name} is empty; pass at least one orientation in degrees.")
    if not np.all(np.isfinite(arr)):
        raise NeurodataError(f"{name} has NaN or infinite values; pass finite degrees.")
    return arr


def check_gain_site(gain_site: str) -> None:
    """Raise unless ``gain_site`` is one of :data:`GAIN_SITES`: ``"input"`` (gains scale
    the feedforward drive) or ``"total"`` (feedforward plus recurrent input)."""
    check_option("gain_site", gain_site, GAIN_SITES)


def check_periodic_grid(values, name: str) -> np.ndarray:
    """Check an orientation grid that closes the 180-degree circle.

    The Benucci format lists orientations from -90 to +90 degrees *inclusive*
    (both ends are the same orientation, repeated to close the circle), evenly
    spaced.  A grid that is uneven, or whose span is not 180 degrees, is not
    periodic and is refused.

    Examples
    --------
    >>> check_periodic_grid(np.linspace(-90, 90, 13), "preferred_orientation")[:3]
    array([-90., -75., -60.])
    >>> check_periodic_grid(np.linspace(0, 90, 13), "preferred_orientation")
    Traceback (most recent call last):
    ...
    neurodata.errors.ShapeError: preferred_orientation must span one orientation period...
    """
    arr = as_orientations(values, name)
    if arr.size < 3:
        raise ShapeError(f"{name} needs at least 3 orientations; got {arr.size}.")
    step = np.diff(arr)
    if np.any(step <= 0) or not np.allclose(step, step[0], rtol=1e-6, atol=1e-9):
        raise ShapeError(
            f"{name} must be evenly spaced and increasing (degrees); got steps "
            f"{np.unique(np.round(step, 6))[:5].tolist()}. Give orientations in degrees on an "
            f"even grid around the circle."
        )
    span = arr[-1] - arr[0]
    if not np.isclose(span, PERIOD, atol=1e-6):
        raise ShapeError(
            f"{name} must span one orientation period: from -90 to +90 degrees inclusive "
            f"(the two ends are the same orientation); got {arr[0]:g} to {arr[-1]:g} "
            f"(span {span:g}). Orientations are periodic with period 180 degrees; "
            f"express them in degrees relative to the adapter."
        )
    return arr


def as_unit_vector(values, n: int, name: str, *, positive: bool = False) -> np.ndarray:
    """Return ``values`` (array or DataArray over ``unit``) as a float vector of length n."""
    arr = np.asarray(values.values if isinstance(values, xr.DataArray) else values, dtype=float)
    if arr.shape != (n,):
        raise ShapeError(f"{name} must have one value per unit, shape ({n},); got {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise NeurodataError(f"{name} has NaN or infinite values.")
    if positive and np.any(arr <= 0):
        raise NeurodataError(
            f"{name} must be positive (a gain multiplies a neuron's input); got minimum "
            f"{arr.min():g}."
        )
    return arr


def require_dims_exact(obj: xr.DataArray, dims: tuple[Hashable, ...], name: str) -> xr.DataArray:
    """Transpose ``obj`` to ``dims`` or raise naming the missing and extra dims."""
    if set(obj.dims) != set(dims):
        raise ShapeError(
            f"{name} must have dims {tuple(dims)} (in any order); got {tuple(obj.dims)}."
        )
    return obj.transpose(*dims)
