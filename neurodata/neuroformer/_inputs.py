"""The non-spike modalities of a window: stimulus frames, behaviour inputs, decoding targets.

Each is a variable of the recording on its own time dimension (``time_<name>``),
or a DataArray passed directly, and is validated here at the boundary.

* stimulus: ``(time_*, y, x)`` or ``(time_*, channel, y, x)`` frames; a window
  ``[s, s + window)`` sees the last ``n_frames`` frames shown before ``s + window``.
* behaviour inputs: 1-D series; each is linearly interpolated at ``n_samples``
  evenly spaced times inside the window (bin centres), so every window has the
  same number of behaviour tokens whatever the sampling rate.
* decoding targets: 1-D series interpolated at the window centre.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata.errors import InvalidRecordingError, NeurodataError
from neurodata.schema import is_time_dim

__all__ = ["behaviour_samples", "frame_indices", "get_series", "get_stimulus"]


def _resolve(recording, value, what: str) -> xr.DataArray:
    if isinstance(value, xr.DataArray):
        return value
    if isinstance(value, str):
        if not isinstance(recording, xr.Dataset) or value not in recording.data_vars:
            have = list(recording.data_vars) if isinstance(recording, xr.Dataset) else []
            raise InvalidRecordingError(f"{what} {value!r} is not a variable of the recording; "
                                        f"it has {have}.")
        return recording[value]
    raise InvalidRecordingError(f"{what} must be a variable name or an xarray.DataArray; got "
                                f"{type(value).__name__}.")


def _time_of(da: xr.DataArray, what: str) -> tuple[str, np.ndarray]:
    tdims = [d for d in da.dims if is_time_dim(d)]
    if not tdims or da.dims[0] != tdims[0]:
        raise InvalidRecordingError(f"{what} {da.name!r} must have a time dimension first "
                                    f"('time' or 'time_<name>'); got dims {da.dims}.")
    dim = str(tdims[0])
    if dim not in da.coords:
        raise InvalidRecordingError(f"{what} {da.name!r} has no {dim!r} coordinate (seconds).")
    t = np.asarray(da[dim].values, dtype=float)
    if t.size < 2 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise InvalidRecordingError(f"the {dim!r} times of {what} {da.name!r} must be finite "
                                    f"and strictly increasing, with at least 2 samples.")
    return dim, t


def get_stimulus(recording, stimulus) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(frames (frame, channel, y, x) float32, frame times)`` of a stimulus."""
    da = _resolve(recording, stimulus, "stimulus")
    _, t = _time_of(da, "stimulus")
    values = np.asarray(da.values, dtype=np.float32)
    if values.ndim == 3:
        values = values[:, None]
    if values.ndim != 4:
        raise InvalidRecordingError(f"stimulus frames must be (time, y, x) or (time, channel, "
                                    f"y, x); got dims {da.dims}.")
    if not np.all(np.isfinite(values)):
        raise InvalidRecordingError("the stimulus has NaN or infinite pixels; fill them first.")
    return values, t


def frame_indices(frame_times: np.ndarray, starts: np.ndarray, window: float,
                  n_frames: int) -> np.ndarray:
    """Indices ``(window, n_frames)`` of the last frames shown before each window ends.

    Near the start of the stimulus, where fewer than ``n_frames`` frames have been
    shown, the first frame is repeated.

    Examples
    --------
    >>> frame_indices(np.arange(10) * 0.05, np.array([0.0, 0.1, 0.3]), 0.05, 2).tolist()
    [[0, 0], [1, 2], [5, 6]]
    """
    last = np.searchsorted(frame_times, np.asarray(starts) + window - 1e-9) - 1
    if np.any(last < 0):
        raise NeurodataError(
            f"some windows end before the first stimulus frame ({frame_times[0]:.3f} s); "
            f"restrict the intervals to the stimulus.")
    period = np.median(np.diff(frame_times))
    if np.any(np.asarray(starts) + window > frame_times[-1] + period + 1e-9):
        raise NeurodataError(f"some windows end after the stimulus ({frame_times[-1]:.3f} s); "
                             f"restrict the intervals to the stimulus.")
    return np.maximum(last[:, None] - np.arange(n_frames - 1, -1, -1)[None, :], 0)


def get_series(recording, names, what: str = "behaviour") -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Validate 1-D series: a list of ``(name, times, values)``; NaN samples raise."""
    if isinstance(names, (str, xr.DataArray)):
        names = [names]
    out = []
    for name in names:
        da = _resolve(recording, name, what)
        if da.ndim != 1:
            raise InvalidRecordingError(f"{what} {da.name!r} must be one-dimensional along its "
                                        f"time; got dims {da.dims}. Pass one variable per column.")
        _, t = _time_of(da, what)
        v = np.asarray(da.values, dtype=float)
        bad = ~np.isfinite(v)
        if bad.any():
            raise NeurodataError(
                f"{what} {da.name!r} has {int(bad.sum())} NaN or infinite samples (first at "
                f"{t[np.argmax(bad)]:.3f} s); drop or interpolate them (e.g. "
                f"da.interpolate_na('{da.dims[0]}')) or restrict the intervals to clean data.")
        out.append((str(da.name), t, v))
    return out


def behaviour_samples(series, starts: np.ndarray, window: float, n_samples: int) -> np.ndarray:
    """Interpolate each series at ``n_samples`` bin centres in each window: ``(W, V, S)``.

    Examples
    --------
    >>> s = [("speed", np.array([0.0, 1.0]), np.array([0.0, 10.0]))]
    >>> behaviour_samples(s, np.array([0.5]), 0.1, 2).round(2).tolist()
    [[[5.25, 5.75]]]
    """
    starts = np.asarray(starts, dtype=float)
    at = starts[:, None] + (np.arange(n_samples) + 0.5)[None, :] * (window / n_samples)
    out = np.empty((len(starts), len(series), n_samples), dtype=np.float32)
    for j, (name, t, v) in enumerate(series):
        if at.size and (at.min() < t[0] or at.max() > t[-1]):
            raise NeurodataError(
                f"{name!r} covers {t[0]:.3f}-{t[-1]:.3f} s but some windows fall outside it; "
                f"restrict the intervals to where {name!r} was recorded.")
        out[:, j] = np.interp(at, t, v)
    return out
