"""Aligning signals and spikes to events: (trial, time_rel, neuron) arrays."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import xarray as xr

from neurodata.errors import InvalidRecordingError, NeurodataError, NoNeuralDataError
from neurodata.schema import interval_dims, is_time_dim, stimulus_dims
from neurodata.signals._binning import spike_unit_index
from neurodata.signals._interp import interp_along_time

__all__ = ["align"]


#: The event dimension of a recording aligned to a stimulus table.
PRESENTATION = "presentation"


def _presentation_coords(coords: dict, dim: str) -> dict:
    """A stimulus table's columns on ``presentation``: ``<dim>_<col>`` -> ``presentation_<col>``.

    The table's row ids become the ``presentation`` coordinate and the table's
    name a scalar ``stimulus`` coordinate.
    """
    out: dict = {"stimulus": xr.Variable((), dim)}
    for name, var in coords.items():
        new = PRESENTATION if name == dim else \
            PRESENTATION + name[len(dim):] if name.startswith(f"{dim}_") else name
        out[new] = xr.Variable((PRESENTATION,), var.values, var.attrs)
    return out


def _resolve_events(data: xr.Dataset | xr.DataArray, events) -> tuple[np.ndarray, str, dict]:
    """Return event times, the name of the event dimension and its coordinates."""
    if isinstance(events, str):
        if not isinstance(data, xr.Dataset):
            raise NeurodataError(
                f"events={events!r} names a column of the recording, so pass the recording "
                f"(Dataset) rather than a DataArray, or pass event times as an array."
            )
        dims = interval_dims(data)
        name = f"{events}_start_time" if events in dims else events
        if name not in data.coords:
            cols = [str(c) for c in data.coords if any(str(c).startswith(d + "_") for d in dims)]
            raise NeurodataError(
                f"no event column {events!r} in this recording; use an interval table name "
                f"({', '.join(dims) or 'none'}) or one of its columns: {', '.join(cols) or 'none'}."
            )
        col = data.coords[name]
        dim = str(col.dims[0])
        coords = {k: v.variable for k, v in data.coords.items() if v.dims == (dim,)}
        if dim in stimulus_dims(data):
            return np.asarray(col.values, dtype=np.float64), PRESENTATION, \
                _presentation_coords(coords, dim)
        return np.asarray(col.values, dtype=np.float64), dim, coords
    if isinstance(events, xr.DataArray) and events.ndim == 1:
        dim = str(events.dims[0])
        coords = {k: v.variable for k, v in events.coords.items() if v.dims == (dim,)}
        return np.asarray(events.values, dtype=np.float64), dim, coords
    ev = np.asarray(events, dtype=np.float64)
    if ev.ndim != 1:
        raise NeurodataError(f"events must be one-dimensional event times; got shape {ev.shape}.")
    return ev, "trial", {}


def _check_window(window) -> tuple[float, float]:
    try:
        t0, t1 = (float(w) for w in window)
    except (TypeError, ValueError):
        raise NeurodataError(
            f"window must be (start, stop) in seconds relative to each event, e.g. (-0.5, 1.0); "
            f"got {window!r}."
        ) from None
    if not t1 > t0:
        raise NeurodataError(f"window stop ({t1}) must come after its start ({t0}).")
    return t0, t1


def _align_spikes(ds: xr.Dataset, ev: np.ndarray, t0: float, t1: float, bin_size: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    if bin_size <= 0 or not np.isfinite(bin_size):
        raise NeurodataError(f"bin_size must be a positive number of seconds; got {bin_size}.")
    n_bins = max(1, int(np.ceil((t1 - t0) / bin_size - 1e-9)))
    st = np.asarray(ds["spike_times"].values, dtype=np.float64)
    unit_pos = spike_unit_index(ds)
    n_units, n_ev = ds.sizes["unit"], ev.size
    ok = np.isfinite(ev)
    evs = np.where(ok, ev, 0.0)
    lo = np.where(ok, np.searchsorted(st, evs + t0, side="left"), 0)
    hi = np.where(ok, np.searchsorted(st, evs + t0 + n_bins * bin_size, side="left"), 0)
    n = hi - lo
    total = int(n.sum())
    trial = np.repeat(np.arange(n_ev), n)
    spike = np.repeat(lo, n) + np.arange(total) - np.repeat(np.cumsum(n) - n, n)
    b = np.floor((st[spike] - ev[trial] - t0) / bin_size).astype(np.int64)
    b = np.clip(b, 0, n_bins - 1)
    flat = (trial * n_bins + b) * n_units + unit_pos[spike]
    counts = np.bincount(flat, minlength=n_ev * n_bins * n_units).astype(np.float64)
    counts = counts.reshape(n_ev, n_bins, n_units)
    counts[~ok] = np.nan
    rel = t0 + bin_size * (np.arange(n_bins) + 0.5)
    return counts, rel


def _continuous(data: xr.Dataset | xr.DataArray, variable: str | None) -> xr.DataArray:
    if isinstance(data, xr.DataArray):
        return data
    if variable is not None:
        if variable not in data.data_vars:
            raise NeurodataError(f"no variable {variable!r}; the recording has "
                                 f"{', '.join(map(str, data.data_vars)) or 'no variables'}.")
        return data[variable]
    traces = [n for n, v in data.data_vars.items() if "time" in v.dims and
              ("roi" in v.dims or "unit" in v.dims)]
    if len(traces) == 1:
        return data[traces[0]]
    if not traces:
        raise NoNeuralDataError(
            "nothing to align: the recording has no spike trains (pass bin_size to align "
            "spikes) and no (time, roi|unit) traces."
        )
    raise NeurodataError(f"several traces could be aligned ({', '.join(map(str, traces))}); "
                         f"choose one with variable=...")


def align(
    data: xr.Dataset | xr.DataArray,
    events,
    window: tuple[float, float],
    *,
    bin_size: float | None = None,
    variable: str | None = None,
) -> xr.DataArray:
    """Cut a signal or spike trains around events into ``(trial, time_rel, ...)``.

    Parameters
    ----------
    data : xarray.Dataset or xarray.DataArray
        A recording, or a signal with a time dimension (``time`` or ``time_*``).
    events : str, array-like or DataArray
        Event times in seconds.  A string names an interval table (its start
        times are used, e.g. ``"trial"``) or one of its columns (e.g.
        ``"trial_stop_time"``); the table's columns then become coordinates of
        the result.  NaN event times give NaN rows.
    window : (float, float)
        Start and stop of the window relative to each event, in seconds.
    bin_size : float, optional
        If given and ``data`` is a recording with spike trains, spikes are
        counted in bins of this width (seconds), exactly from the spike times.
    variable : str, optional
        Which variable of a Dataset to align when there are several traces.

    Returns
    -------
    xarray.DataArray
        Dims ``(trial, time_rel, <other dims>)``; the event dimension keeps the
        interval table's name when events come from one, except for a table
        of stimulus presentations (see :func:`neurodata.schema.stimulus_dims`,
        e.g. the Allen Brain Observatory's ``drifting_gratings``): the
        dimension is then ``presentation``, the table's columns become
        ``presentation_<column>`` coordinates (``presentation_orientation``,
        ...) and the scalar coordinate ``stimulus`` names the table.  With
        ``bin_size`` this is allensdk's ``presentationwise_spike_counts``.  Continuous signals
        are linearly interpolated onto ``time_rel`` at the signal's median
        sampling step (offsets are whole multiples of that step, so an event
        that falls on a sample reproduces the samples exactly); spike counts
        have ``time_rel`` at bin centres.  Samples outside the recorded span
        are NaN.

    Examples
    --------
    >>> sig = xr.DataArray(np.arange(10.0)[:, None], dims=("time", "roi"),
    ...                    coords={"time": np.arange(10.0) * 0.5, "roi": [0]})
    >>> align(sig, [1.0, 2.0], (-0.5, 0.5)).squeeze("roi").values
    array([[1., 2., 3.],
           [3., 4., 5.]])

    A table of stimulus presentations gives a ``presentation`` dimension:

    >>> from neurodata.schema import mark_stimulus_table
    >>> rec = xr.Dataset({"spike_times": ("spike", [0.1, 1.2]), "spike_unit": ("spike", [0, 0])},
    ...                  coords={"unit": [0], "flashes_start_time": ("flashes", [0.0, 1.0]),
    ...                          "flashes_stop_time": ("flashes", [0.25, 1.25]),
    ...                          "flashes_color": ("flashes", [-1.0, 1.0])})
    >>> out = align(mark_stimulus_table(rec, "flashes"), "flashes", (0.0, 0.5), bin_size=0.5)
    >>> out.dims, out.presentation_color.values, out.values.ravel()
    (('presentation', 'time_rel', 'unit'), array([-1.,  1.]), array([1., 1.]))
    """
    t0, t1 = _check_window(window)
    ev, dim, coords = _resolve_events(data, events)
    if bin_size is not None:
        if not isinstance(data, xr.Dataset) or "spike_times" not in data.variables:
            raise NoNeuralDataError("bin_size is for spike trains, and this input has none "
                                    "(no 'spike_times'); omit bin_size to align a trace.")
        counts, rel = _align_spikes(data, ev, t0, t1, float(bin_size))
        unit_coords = {k: v.variable for k, v in data.coords.items() if v.dims == ("unit",)}
        out = xr.DataArray(counts, dims=(dim, "time_rel", "unit"),
                           coords={**coords, "time_rel": rel, **unit_coords},
                           name="spike_counts",
                           attrs={"bin_size": float(bin_size), "units": "count"})
        return out
    sig = _continuous(data, variable)
    tdims = [d for d in sig.dims if is_time_dim(d)]
    if not tdims:
        raise InvalidRecordingError(f"the signal has no time dimension; got dims {sig.dims}.")
    tdim: Hashable = tdims[0]
    t = np.asarray(sig[tdim].values, dtype=np.float64)
    if t.size < 2:
        raise NeurodataError("the signal needs at least two samples to align.")
    dt = float(np.median(np.diff(t)))
    rel = np.arange(np.ceil(t0 / dt - 1e-9), np.floor(t1 / dt + 1e-9) + 1) * dt
    sig = sig.transpose(tdim, ...)
    vals = interp_along_time(t, np.asarray(sig.values), ev[:, None] + rel[None, :])
    other = {k: v.variable for k, v in sig.coords.items() if tdim not in v.dims}
    return xr.DataArray(vals, dims=(dim, "time_rel", *sig.dims[1:]),
                        coords={**coords, "time_rel": rel, **other},
                        name=sig.name, attrs=dict(sig.attrs))
