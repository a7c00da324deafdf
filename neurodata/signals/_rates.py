"""Firing rates: binned spike counts divided by the bin, optionally smoothed."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter1d, uniform_filter1d

from neurodata.errors import NeurodataError
from neurodata.signals._binning import bin_spikes

__all__ = ["firing_rates", "smooth_along_time"]


def smooth_along_time(values: np.ndarray, width: float, kernel: str = "gaussian") -> np.ndarray:
    """Smooth ``values`` (time first) with a kernel ``width`` samples wide.

    ``width`` is the Gaussian's standard deviation or the boxcar's full
    width, in samples.  Both kernels preserve the mean; the ends are
    reflected (``scipy.ndimage``'s "nearest" mode).

    Examples
    --------
    >>> smooth_along_time(np.array([0.0, 0.0, 3.0, 0.0, 0.0]), 3, "boxcar")
    array([0., 1., 1., 1., 0.])
    """
    if kernel == "gaussian" and width > 0:
        return gaussian_filter1d(values, width, axis=0, mode="nearest")
    if kernel == "boxcar" and round(width) > 1:
        return uniform_filter1d(values, int(round(width)), axis=0, mode="nearest")
    return values


def firing_rates(ds: xr.Dataset, bin_size: float, *, smooth: float | None = None,
                 kernel: str = "gaussian", start: float | None = None,
                 stop: float | None = None) -> xr.DataArray:
    """Each unit's firing rate in Hz on a regular time grid.

    Parameters
    ----------
    ds : xarray.Dataset
        A recording with spike trains (see :func:`bin_spikes`).
    bin_size : float
        Bin width in seconds.
    smooth : float, optional
        Width of the smoothing kernel in seconds: the standard deviation of a
        Gaussian (``kernel="gaussian"``) or the full width of a centred boxcar
        (``kernel="boxcar"``).  None: no smoothing.
    kernel : {"gaussian", "boxcar"}
        Smoothing kernel.  Both preserve the mean rate; at the ends of the
        recording the signal is reflected (``scipy.ndimage``'s "nearest" mode)
        so that no rate is lost or invented at the edges.
    start, stop : float, optional
        Span to cover (default: first to last spike).

    Returns
    -------
    xarray.DataArray
        ``firing_rate(time, unit)`` in Hz (float64), with the unit coordinates
        and ``attrs`` ``bin_size``, ``smooth`` and ``kernel``.

    Examples
    --------
    >>> ds = xr.Dataset({"spike_times": ("spike", np.arange(0.0, 10.0, 0.1)),
    ...                  "spike_unit": ("spike", np.zeros(100, int))}, coords={"unit": [0]})
    >>> rates = firing_rates(ds, 0.5, smooth=1.0, start=0.0, stop=10.0)
    >>> float(rates.mean()), rates.attrs["units"]
    (10.0, 'Hz')
    """
    if kernel not in ("gaussian", "boxcar"):
        raise NeurodataError(f"kernel must be 'gaussian' or 'boxcar'; got {kernel!r}.")
    counts = bin_spikes(ds, bin_size, start=start, stop=stop)
    rates = counts.values.astype(np.float64) / float(bin_size)
    if smooth is not None:
        if not np.isfinite(smooth) or smooth < 0:
            raise NeurodataError(f"smooth must be a non-negative width in seconds; got {smooth}.")
        rates = smooth_along_time(rates, smooth / float(bin_size), kernel)
    out = counts.copy(data=rates)
    out.name = "firing_rate"
    out.attrs = {"bin_size": float(bin_size), "smooth": float(smooth or 0.0), "kernel": kernel,
                 "units": "Hz", "long_name": "firing rate"}
    return out
