"""Continuous-trace preprocessing: dF/F and resampling onto a common time base."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

from neurodata.errors import NeurodataError
from neurodata.schema import is_time_dim, require_dims
from neurodata.signals._interp import interp_along_time

__all__ = ["compute_dff", "resample"]


def _time_dim(da: xr.DataArray) -> str:
    dims = [str(d) for d in da.dims if is_time_dim(d)]
    if not dims:
        raise NeurodataError(f"the signal needs a time dimension ('time' or 'time_*'); got "
                             f"{tuple(da.dims)}.")
    return dims[0]


def _sampling_step(t: np.ndarray) -> float:
    if t.size < 2:
        raise NeurodataError("the signal needs at least two samples.")
    return float(np.median(np.diff(t)))


def compute_dff(
    fluorescence: xr.DataArray,
    *,
    neuropil: xr.DataArray | None = None,
    neuropil_factor: float = 0.7,
    window: float = 60.0,
    percentile: float = 8.0,
) -> xr.DataArray:
    """Relative fluorescence change dF/F with a running-percentile baseline.

    ``F_c = F - neuropil_factor * F_neu`` (when neuropil is given), then
    ``dF/F = (F_c - F0) / F0`` where ``F0`` is the ``percentile``-th percentile
    of ``F_c`` in a running window of ``window`` seconds centred on each sample
    (edges use the reflected signal).  This is the common two-photon recipe
    (neuropil factor 0.7 as in suite2p; an 8th-percentile baseline over tens of
    seconds as in many Allen and suite2p analyses).

    Parameters
    ----------
    fluorescence : xarray.DataArray
        Raw traces with a time dimension, e.g. ``(time, roi)``.
    neuropil : xarray.DataArray, optional
        Neuropil traces of the same shape, subtracted with ``neuropil_factor``.
    neuropil_factor : float
        Contamination ratio r in ``F - r F_neu``.
    window : float
        Baseline window length in seconds (at least one sample).
    percentile : float
        Baseline percentile in [0, 100].

    Returns
    -------
    xarray.DataArray
        ``dff`` with the input's dims and coordinates; ``attrs`` record the
        parameters.

    Raises
    ------
    NeurodataError
        If the baseline is not positive somewhere (dF/F would be undefined);
        the message names the ROIs.

    Examples
    --------
    >>> t = np.arange(100) * 0.1
    >>> f = xr.DataArray(np.full((100, 1), 10.0), dims=("time", "roi"), coords={"time": t})
    >>> f[50:55] = 15.0
    >>> dff = compute_dff(f, window=5.0, percentile=10)
    >>> float(dff[52, 0]), float(dff[10, 0])
    (0.5, 0.0)
    """
    tdim = _time_dim(fluorescence)
    if not 0 <= percentile <= 100:
        raise NeurodataError(f"percentile must lie in [0, 100]; got {percentile}.")
    f = fluorescence.transpose(tdim, ...)
    values = np.asarray(f.values, dtype=np.float64)
    if neuropil is not None:
        npl = neuropil.transpose(*f.dims)
        if npl.shape != f.shape:
            raise NeurodataError(f"neuropil traces have shape {npl.shape}, fluorescence "
                                 f"{f.shape}; they must match.")
        values = values - neuropil_factor * np.asarray(npl.values, dtype=np.float64)
    dt = _sampling_step(np.asarray(f[tdim].values))
    size = max(1, int(round(window / dt)))
    footprint = (size,) + (1,) * (values.ndim - 1)
    f0 = ndimage.percentile_filter(values, percentile, size=footprint, mode="reflect")
    if np.any(f0 <= 0):
        bad: list | np.ndarray = np.unique(np.nonzero(f0 <= 0)[1])[:10] if values.ndim > 1 else []
        raise NeurodataError(
            f"the fluorescence baseline is zero or negative for some traces (columns "
            f"{list(bad)}), so dF/F is undefined; check the neuropil factor or pass traces with "
            f"a positive offset."
        )
    out = f.copy(data=(values - f0) / f0)
    out.name = "dff"
    out.attrs = {"long_name": "dF/F", "units": "1", "baseline_window_s": float(window),
                 "baseline_percentile": float(percentile),
                 "neuropil_factor": float(neuropil_factor) if neuropil is not None else 0.0}
    return out


def resample(data: xr.DataArray, time: np.ndarray | xr.DataArray | float) -> xr.DataArray:
    """Linearly interpolate a signal onto a new time base.

    Parameters
    ----------
    data : xarray.DataArray
        A signal with a time dimension (``time`` or ``time_*``).
    time : array-like, DataArray or float
        The new sample times in seconds, or a sampling rate in Hz (a float),
        in which case samples run from the first to the last input time.

    Returns
    -------
    xarray.DataArray
        The signal on dimension ``time`` at the new times; samples outside the
        input's span are NaN (no extrapolation).

    Examples
    --------
    >>> pos = xr.DataArray([0.0, 1.0, 2.0], dims="time_position",
    ...                    coords={"time_position": [0.0, 1.0, 2.0]})
    >>> resample(pos, [0.25, 1.5, 3.0]).values
    array([0.25, 1.5 ,  nan])
    >>> resample(pos, 2.0).time.values
    array([0. , 0.5, 1. , 1.5, 2. ])
    """
    tdim = _time_dim(data)
    require_dims(data, [tdim], "data")
    t = np.asarray(data[tdim].values, dtype=np.float64)
    if np.ndim(time) == 0:
        rate = float(time)  # type: ignore[arg-type]
        if rate <= 0:
            raise NeurodataError(f"a sampling rate must be positive; got {rate} Hz.")
        n = int(np.floor((t[-1] - t[0]) * rate + 1e-9)) + 1
        new_t = t[0] + np.arange(n) / rate
    else:
        new_t = np.asarray(time, dtype=np.float64).ravel()
    src = data.transpose(tdim, ...)
    vals = interp_along_time(t, np.asarray(src.values), new_t)
    other = {k: v.variable for k, v in src.coords.items() if tdim not in v.dims}
    dims = ("time", *src.dims[1:])
    return xr.DataArray(vals, dims=dims, coords={"time": new_t, **other},
                        name=data.name, attrs=dict(data.attrs))
