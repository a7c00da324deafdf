"""What drives the field: afferent input (``source=``) and noise (``noise=`` or ``temperature=``).

Afferent input ``s(x, t)`` is added to the field's acceleration (the mass's noise target
on a lattice of neural masses), in every solver:

* a callable ``source(t)`` returning an ``(nx, ny)`` array;
* a DataArray ``(time, x, y)``, linearly interpolated in time and zero outside its times;
* an ``(nx, ny)`` array: a constant input.

Noise is white in time and independent per site, of intensity ``sigma`` (``noise=``), or
set by a temperature (``temperature=T``): the fluctuation-dissipation relation
``sigma^2 = 2 gamma T`` gives every eigenmode the mean energy ``T``, whatever the damping.
With ``gamma = 0`` a temperature drives nothing (a conservative field); the generators
then draw the initial state from the equilibrium (Gibbs) distribution at ``T``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from neurodata.errors import NeurodataError, ShapeError

__all__ = ["noise_intensity", "source_function"]


def noise_intensity(noise: float | None, temperature: float | None, gamma: float) -> float:
    """``sigma`` from ``noise`` or from ``temperature`` (``sigma^2 = 2 gamma T``).

    Examples
    --------
    >>> noise_intensity(None, 2.0, 4.0), noise_intensity(0.5, None, 4.0)
    (4.0, 0.5)
    >>> noise_intensity(1.0, 1.0, 4.0)
    Traceback (most recent call last):
    ...
    neurodata.errors.NeurodataError: give noise= or temperature=, not both (sigma^2 = 2 gamma T).
    """
    if temperature is None:
        return 0.0 if noise is None else float(noise)
    if noise not in (None, 0, 0.0):
        raise NeurodataError("give noise= or temperature=, not both (sigma^2 = 2 gamma T).")
    t = float(temperature)
    if not np.isfinite(t) or t < 0:
        raise NeurodataError(f"temperature must be a finite number >= 0; got {temperature!r}.")
    return float(np.sqrt(2.0 * float(gamma) * t))


def source_function(source: Any, shape: tuple[int, int]) -> Callable[[float], np.ndarray] | None:
    """The input as a function of time returning ``(nx, ny)`` float arrays (None: no input).

    Examples
    --------
    >>> t = np.array([0.0, 1.0])
    >>> da = xr.DataArray(np.stack([np.zeros((3, 3)), np.ones((3, 3))]), dims=("time", "x", "y"),
    ...                   coords={"time": t})
    >>> f = source_function(da, (3, 3))
    >>> float(f(0.25)[0, 0]), float(f(2.0)[0, 0])
    (0.25, 0.0)
    """
    if source is None:
        return None
    if callable(source):
        def call(t: float) -> np.ndarray:
            out = np.asarray(source(float(t)), dtype=float)
            if out.shape != tuple(shape):
                raise ShapeError(f"source(t) must return an array of the lattice's shape "
                                 f"{tuple(shape)}; got {out.shape}.")
            return out
        return call
    if isinstance(source, xr.DataArray) and "time" in source.dims:
        if set(source.dims) != {"time", "x", "y"}:
            raise ShapeError(f"a source DataArray has dims ('time', 'x', 'y'); got {source.dims}.")
        da = source.transpose("time", "x", "y")
        frames = np.asarray(da.values, dtype=float)
        times = np.asarray(da["time"].values, dtype=float)
        if frames.shape[1:] != tuple(shape):
            raise ShapeError(f"the source is {frames.shape[1:]} per frame; the lattice is "
                             f"{tuple(shape)}.")
        if times.size < 1 or np.any(np.diff(times) <= 0):
            raise ShapeError("the source's time coordinate must increase strictly.")

        def interp(t: float) -> np.ndarray:
            if t < times[0] or t > times[-1]:
                return np.zeros(shape)
            i = int(np.clip(np.searchsorted(times, t, side="right") - 1, 0, times.size - 1))
            if i == times.size - 1:
                return frames[i].copy()
            u = (t - times[i]) / (times[i + 1] - times[i])
            return (1 - u) * frames[i] + u * frames[i + 1]
        return interp
    arr = np.asarray(source.values if isinstance(source, xr.DataArray) else source, dtype=float)
    if arr.shape != tuple(shape):
        raise ShapeError(f"a constant source has the lattice's shape {tuple(shape)}; got "
                         f"{arr.shape}. Give a callable or a (time, x, y) DataArray for input "
                         f"that changes in time.")
    if not np.all(np.isfinite(arr)):
        raise ShapeError("the source has NaN or infinite values.")
    return lambda t: arr
