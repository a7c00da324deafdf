"""One response per trial and neuron: spike counts, rates or mean traces in a window."""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata._utils import check_option, interval_array, neuron_dim, select_variable
from neurodata.errors import NoNeuralDataError
from neurodata.schema import interval_dims
from neurodata.signals._binning import spike_unit_index

__all__ = ["trial_responses"]


def _table_coords(recording: xr.Dataset, table: str, keep: np.ndarray | None) -> dict:
    """The interval table's columns (``<table>_<column>``) as coordinates on ``table``."""
    coords = {}
    for name, coord in recording.coords.items():
        if coord.dims == (table,):
            values = coord.variable if keep is None else coord.variable[keep]
            coords[str(name)] = values
    return coords


def _spike_counts(recording: xr.Dataset, bounds: np.ndarray) -> np.ndarray:
    """Spikes of every unit in every ``[start, stop)`` interval: (interval, unit)."""
    st = np.asarray(recording["spike_times"].values, dtype=np.float64)
    unit_pos = spike_unit_index(recording)
    n_units, n = recording.sizes["unit"], bounds.shape[0]
    lo = np.searchsorted(st, bounds[:, 0], side="left")
    hi = np.searchsorted(st, bounds[:, 1], side="left")
    per = hi - lo
    interval = np.repeat(np.arange(n), per)
    spike = np.repeat(lo, per) + np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
    flat = interval * n_units + unit_pos[spike]
    return np.bincount(flat, minlength=n * n_units).reshape(n, n_units).astype(np.float64)


def _trace_means(trace: xr.DataArray, bounds: np.ndarray) -> np.ndarray:
    """Mean of each trace over the samples in every ``[start, stop)``: (interval, neuron)."""
    t = np.asarray(trace["time"].values, dtype=np.float64)
    x = np.asarray(trace.values, dtype=np.float64)
    csum = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    lo = np.searchsorted(t, bounds[:, 0], side="left")
    hi = np.searchsorted(t, bounds[:, 1], side="left")
    n = (hi - lo)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (csum[hi] - csum[lo]) / np.maximum(n, 1), np.nan)


def trial_responses(recording: xr.Dataset, trials: str = "trial", *,
                    window: tuple[float, float] | None = None, variable: str | None = None,
                    kind: str = "rate", nan_stop: str = "raise") -> xr.DataArray:
    """The response of every neuron to every trial: spike rate, count, or mean trace.

    Each trial contributes the interval ``[start + t0, start + t1)`` when
    ``window=(t0, t1)`` is given, else its own ``[start_time, stop_time)``.
    Spikes are counted exactly from the spike times (no binning); a
    ``(time, unit|roi)`` trace is averaged over the samples that fall in the
    interval.

    Parameters
    ----------
    recording : xarray.Dataset
        A recording with an interval table (``trial_start_time``, ...) and
        spike trains or a trace variable.
    trials : str
        The interval table (``"trial"``, ``"epoch"`` or another table's name).
    window : (float, float), optional
        Seconds relative to each trial start; the default uses each trial's
        own stop time.
    variable : str, optional
        A ``(time, unit|roi)`` trace to average instead of the spike trains
        (required when the recording has no spikes and several traces).
    kind : {"rate", "count"}
        For spikes: spikes per second (the default) or the spike count.
    nan_stop : {"raise", "next", "drop"}
        What a trial without stop time means when ``window`` is None (see
        :func:`neurodata._utils.interval_array`); ``"drop"`` leaves it out.

    Returns
    -------
    xarray.DataArray
        ``responses(trial, unit)`` (or ``roi``; the trial dimension keeps the
        table's name) with every column of the table as a coordinate on it
        (``trial_stimulus_orientation``, ...) and the neuron coordinates of
        the recording.

    Raises
    ------
    NoNeuralDataError
        The recording has no such interval table, or neither spikes nor a
        trace to take responses from.

    Examples
    --------
    >>> from neurodata.datasets import make_poisson_population
    >>> rec = make_poisson_population(n_units=3, n_trials=4, random_state=0)
    >>> r = trial_responses(rec, window=(0.5, 1.5))
    >>> r.dims, r.attrs["units"], "trial_stimulus_orientation" in r.coords
    (('trial', 'unit'), 'Hz', True)
    """
    check_option("kind", kind, ("rate", "count"))
    if not isinstance(recording, xr.Dataset) or trials not in interval_dims(recording):
        have = interval_dims(recording) if isinstance(recording, xr.Dataset) else []
        raise NoNeuralDataError(
            f"the recording has no {trials!r} interval table (tables: {', '.join(have) or 'none'}); "
            f"responses per trial need one with start times, e.g. the NWB trials table.")
    bounds = interval_array(recording, trials, window=window, nan_stop=nan_stop)
    keep = None
    if bounds.shape[0] != recording.sizes[trials]:  # nan_stop="drop" left trials out
        stops = np.asarray(recording[f"{trials}_stop_time"].values, dtype=float)
        keep = np.flatnonzero(np.isfinite(stops))
    coords = _table_coords(recording, trials, keep)
    if variable is None and "spike_times" in recording.variables:
        values = _spike_counts(recording, bounds)
        dim, units = "unit", "count"
        if kind == "rate":
            values = values / (bounds[:, 1] - bounds[:, 0])[:, None]
            units = "Hz"
    else:
        trace = select_variable(recording, variable, name="trial_responses")
        dim = neuron_dim(trace)
        values, units = _trace_means(trace, bounds), str(trace.attrs.get("units", "a.u."))
    neuron = {str(k): v.variable for k, v in recording.coords.items() if v.dims == (dim,)}
    return xr.DataArray(values, dims=(trials, dim), coords={**coords, **neuron},
                        name="responses", attrs={"units": units, "window": "trial" if window is
                                                 None else f"{window[0]:g} to {window[1]:g} s"})
