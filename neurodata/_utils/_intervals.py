"""Trial intervals out of a recording: one reader, one rule for NaN stop times."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodata.errors import NeurodataError, NoNeuralDataError
from neurodata.schema import interval_dims

__all__ = ["interval_array", "recording_span"]


def recording_span(recording: xr.Dataset | xr.DataArray) -> tuple[float, float] | None:
    """First and last time of a recording's neural data (spikes or ``time``), or None.

    Examples
    --------
    >>> recording_span(xr.Dataset(coords={"time": [0.5, 1.0, 1.5]}))
    (0.5, 1.5)
    """
    bounds = []
    if "spike_times" in recording.variables and recording["spike_times"].size:
        st = np.asarray(recording["spike_times"].values, dtype=float)
        bounds.append((float(st.min()), float(st.max())))
    if "time" in recording.coords and recording["time"].size:
        t = np.asarray(recording["time"].values, dtype=float)
        bounds.append((float(t[0]), float(t[-1])))
    if not bounds:
        return None
    return min(b[0] for b in bounds), max(b[1] for b in bounds)


def _from_table(recording: Any, table: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(recording, xr.Dataset) or f"{table}_start_time" not in recording.coords:
        tables = interval_dims(recording) if isinstance(recording, xr.Dataset) else []
        raise NoNeuralDataError(
            f"the recording has no {table!r} interval table (tables: "
            f"{', '.join(tables) or 'none'}); pass intervals=[(start, stop), ...] in seconds, "
            f"or the name of one of its tables.")
    start = np.asarray(recording[f"{table}_start_time"].values, dtype=float)
    stop = np.asarray(recording[f"{table}_stop_time"].values, dtype=float) \
        if f"{table}_stop_time" in recording.coords else np.full_like(start, np.nan)
    return start, stop


def _fill_nan_stops(start: np.ndarray, stop: np.ndarray, nan_stop: str, table: str,
                    span: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray]:
    missing = ~np.isfinite(stop)
    if not missing.any():
        return start, stop
    if nan_stop == "raise":
        raise NeurodataError(
            f"{int(missing.sum())} of the {start.size} {table!r} intervals have no stop time "
            f"(NaN); pass window=(t0, t1) for a fixed span around each start, or the "
            f"intervals themselves, e.g. neurodata.signals.interval_array(rec, "
            f"nan_stop='next') (each ends at the next start) or nan_stop='drop'.")
    if nan_stop == "drop":
        return start[~missing], stop[~missing]
    order = np.argsort(start, kind="stable")
    nxt = np.empty_like(start)
    nxt[order[:-1]] = start[order[1:]]
    last = span[1] if span is not None else np.nan
    nxt[order[-1]] = last
    stop = np.where(missing, nxt, stop)
    if not np.all(np.isfinite(stop)):
        raise NeurodataError(f"the last {table!r} interval has no stop time and the recording's "
                             f"end is unknown; pass window=(t0, t1).")
    return start, stop


def interval_array(recording: Any, intervals: Any = None, *, table: str = "trial",
                   window: tuple[float, float] | None = None, nan_stop: str = "raise",
                   default: str = "raise") -> np.ndarray:
    """``(n, 2)`` float array of ``[start, stop)`` intervals in seconds.

    Parameters
    ----------
    recording : Dataset or DataArray
        Where an interval table and the recording's span are read from.
    intervals : None, str or array-like of (start, stop)
        The intervals themselves, the name of an interval table, or None for
        ``table``.
    table : str
        The interval table used when ``intervals`` is None (``"trial"``).
    window : (float, float), optional
        Replace each interval by ``[start + t0, start + t1)``: a fixed span
        around each start, which also serves tables without stop times.
    nan_stop : {"raise", "next", "drop"}
        What a NaN stop time means: an error that says how to proceed (the
        default), "until the next interval starts" (the last one ends with the
        recording), or "leave that interval out".
    default : {"raise", "span"}
        Without ``intervals`` and without the table: raise, or use the whole
        recording as one interval.

    Examples
    --------
    >>> rec = xr.Dataset(coords={"trial_start_time": ("trial", [0.0, 2.0]),
    ...                          "trial_stop_time": ("trial", [1.0, np.nan]),
    ...                          "time": [0.0, 3.0]})
    >>> interval_array(rec, nan_stop="next")
    array([[0., 1.],
           [2., 3.]])
    >>> interval_array(rec, window=(-0.5, 0.5))
    array([[-0.5,  0.5],
           [ 1.5,  2.5]])
    >>> interval_array(rec)
    Traceback (most recent call last):
    ...
    neurodata.errors.NeurodataError: 1 of the 2 'trial' intervals have no stop time (NaN); ...
    """
    from neurodata._utils._checks import check_option

    check_option("nan_stop", nan_stop, ("raise", "next", "drop"))
    check_option("default", default, ("raise", "span"))
    if intervals is None or isinstance(intervals, str):
        name = table if intervals is None else intervals
        has_table = isinstance(recording, xr.Dataset) and f"{name}_start_time" in recording.coords
        if intervals is None and not has_table and default == "span":
            span = recording_span(recording)
            if span is None:
                raise NoNeuralDataError("the recording has no neural data to take a span from; "
                                        "pass intervals=[(start, stop), ...].")
            return np.array([span], dtype=float)
        start, stop = _from_table(recording, name)
        if window is None:
            start, stop = _fill_nan_stops(start, stop, nan_stop, name, recording_span(recording))
    else:
        arr = np.array(intervals, dtype=float)
        if arr.ndim == 1 and arr.size == 2:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise NeurodataError(f"intervals must be (start, stop) pairs in seconds, shape (n, 2); "
                                 f"got shape {arr.shape}.")
        start, stop = arr[:, 0], arr[:, 1]
        if window is None and not np.all(np.isfinite(arr)):
            raise NeurodataError("intervals must be finite (start, stop) pairs in seconds.")
    if window is not None:
        t0, t1 = (float(w) for w in window)
        if not t1 > t0:
            raise NeurodataError(f"window must be (t0, t1) with t1 > t0; got {window!r}.")
        stop = start + t1
        start = start + t0
    if np.any(stop < start):
        i = int(np.flatnonzero(stop < start)[0])
        raise NeurodataError(f"interval {i} stops ({stop[i]}) before it starts ({start[i]}).")
    return np.stack([start, stop], axis=1)
