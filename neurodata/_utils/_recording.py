"""Reading what an analysis needs out of a recording, with one rule for each question.

* :func:`sampling_step`: the regular sampling interval of a time axis, with one
  tolerance (:data:`SAMPLING_RTOL`) for the whole package;
* :func:`neuron_dim`: which of ``unit`` / ``roi`` a signal has;
* :func:`select_variable`, :func:`select_series`: a named variable, or the one
  obvious choice, with an error that lists the candidates;
* :func:`as_recordings`: one recording, a list or the dict of
  :func:`~neurodata.open_folder`, as an ordered dict of named recordings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodata.errors import InvalidRecordingError, NeurodataError, NoNeuralDataError
from neurodata.schema import NEURON_DIMS, is_time_dim

__all__ = ["SAMPLING_RTOL", "as_recordings", "neuron_dim", "sampling_step", "select_series",
           "select_variable"]

#: Largest deviation of any sampling step from the median step, relative to it,
#: for a time axis to count as regularly sampled.  It admits timestamp rounding
#: and clock jitter of acquisition systems (typically 1e-6 to 1e-4) and rejects
#: gaps and dropped frames (a dropped frame is a deviation of 1).
SAMPLING_RTOL = 1e-3


def _times(obj: Any, dim: str) -> np.ndarray:
    if isinstance(obj, (xr.DataArray, xr.Dataset)):
        if dim not in obj.coords:
            raise InvalidRecordingError(
                f"the data have no {dim!r} coordinate, so the sampling step is unknown; assign "
                f"times in seconds with data.assign_coords({dim}=seconds).")
        return np.asarray(obj[dim].values, dtype=float)
    return np.asarray(obj, dtype=float).ravel()


def sampling_step(obj: Any, dim: str = "time", *, name: str = "the data") -> float:
    """The constant sampling interval (seconds) of a time axis, or a named error.

    Parameters
    ----------
    obj : DataArray, Dataset or array of times
        The signal (its ``dim`` coordinate is read) or the times themselves.
    dim : str
        The time dimension.
    name : str
        How the error message refers to the data.

    Returns
    -------
    float
        The median step.  Every step must lie within :data:`SAMPLING_RTOL` of it.

    Raises
    ------
    InvalidRecordingError
        Fewer than two samples, times that do not increase, or irregular steps
        (the message gives the largest deviation and how to resample).

    Examples
    --------
    >>> sampling_step(np.arange(5) * 0.1)
    0.1
    >>> sampling_step([0.0, 0.1, 0.2, 0.4], name="traces")
    Traceback (most recent call last):
    ...
    neurodata.errors.InvalidRecordingError: traces are not regularly sampled along 'time': ...
    """
    t = _times(obj, dim)
    if t.size < 2:
        raise InvalidRecordingError(f"{name} need at least 2 samples along {dim!r} to have a "
                                    f"sampling step; got {t.size}.")
    steps = np.diff(t)
    if not np.all(np.isfinite(steps)) or np.any(steps <= 0):
        raise InvalidRecordingError(f"the {dim!r} coordinate of {name} must be finite and "
                                    f"strictly increasing; sort it and drop repeated samples.")
    step = float(np.median(steps))
    worst = float(np.max(np.abs(steps - step))) / step
    if worst > SAMPLING_RTOL:
        raise InvalidRecordingError(
            f"{name} are not regularly sampled along {dim!r}: the median step is {step:.6g} s "
            f"but one step differs from it by {100 * worst:.3g} % (gaps or dropped samples; "
            f"the tolerance is {100 * SAMPLING_RTOL:g} %). Resample onto a regular grid first, "
            f"e.g. neurodata.resample(data, np.arange(t0, t1, {step:.6g})).")
    return step


def neuron_dim(data: xr.DataArray | xr.Dataset, *, name: str = "the data",
               dims: Sequence[str] = NEURON_DIMS) -> str:
    """The neuron dimension of ``data``: ``unit`` (sorted units) or ``roi`` (imaging).

    Examples
    --------
    >>> neuron_dim(xr.DataArray(np.zeros((3, 2)), dims=("time", "roi")))
    'roi'
    >>> neuron_dim(xr.DataArray(np.zeros((3, 2)), dims=("time", "cell")), name="traces")
    Traceback (most recent call last):
    ...
    neurodata.errors.InvalidRecordingError: traces need a neuron dimension ('unit' or 'roi'); ...
    """
    found = [d for d in dims if d in data.dims]
    if len(found) == 1:
        return found[0]
    listed = " or ".join(repr(d) for d in dims)
    if not found:
        raise InvalidRecordingError(
            f"{name} need a neuron dimension ({listed}); got dims {tuple(data.dims)}. Rename "
            f"yours, e.g. data.rename(cell='roi') for imaging or data.rename(cell='unit') for "
            f"sorted units.")
    raise InvalidRecordingError(f"{name} have both {found[0]!r} and {found[1]!r} dimensions; "
                                f"select one variable, e.g. recording['dff'].")


def _is_trace(var: xr.DataArray, dims: Sequence[str]) -> bool:
    return var.ndim == 2 and var.dims[0] == "time" and var.dims[1] in dims


def select_variable(recording: xr.Dataset | xr.DataArray, variable: str | None = None, *,
                    name: str = "the analysis",
                    dims: Sequence[str] = NEURON_DIMS) -> xr.DataArray:
    """The ``(time, unit|roi)`` signal an analysis runs on: named, or the only one there is.

    Parameters
    ----------
    recording : Dataset or DataArray
        A recording (see :mod:`neurodata.schema`), or the signal itself.
    variable : str, optional
        The variable's name (``"dff"``, ``"fluorescence"``, ...).  Needed when
        the recording holds several signals.
    name : str
        The analysis, for the messages.
    dims : sequence of str
        The neuron dimensions accepted.

    Raises
    ------
    NoNeuralDataError
        The recording holds no such signal (the message says whether it has
        spike trains and how to bin them).
    NeurodataError
        The named variable is missing or the choice is ambiguous.

    Examples
    --------
    >>> from neurodata.datasets import load_sample
    >>> rec = load_sample("sample_imaging")
    >>> select_variable(rec, "fluorescence").dims
    ('time', 'roi')
    """
    if isinstance(recording, xr.DataArray):
        if recording.ndim != 2 or recording.dims[0] != "time" or recording.dims[1] not in dims:
            want = " or ".join(f"('time', {d!r})" for d in dims)
            raise InvalidRecordingError(f"{name} needs a signal with dims {want}; got "
                                        f"{tuple(recording.dims)}.")
        return recording
    if not isinstance(recording, xr.Dataset):
        raise NeurodataError(f"{name} needs a recording (xarray.Dataset) or a (time, unit|roi) "
                             f"DataArray; got {type(recording).__name__}.")
    candidates = [str(k) for k, v in recording.data_vars.items() if _is_trace(v, dims)]
    if variable is not None:
        if variable not in recording.data_vars:
            raise NeurodataError(f"the recording has no variable {variable!r}; its (time, "
                                 f"{'|'.join(dims)}) signals are: {', '.join(candidates) or 'none'}.")
        var = recording[variable]
        if not _is_trace(var, dims):
            raise InvalidRecordingError(f"{name} needs {variable!r} to have dims ('time', "
                                        f"{'|'.join(dims)}); got {tuple(var.dims)}.")
        return var
    if len(candidates) == 1:
        return recording[candidates[0]]
    if candidates:
        raise NeurodataError(f"the recording holds several signals ({', '.join(candidates)}); "
                             f"choose one with variable={candidates[0]!r}.")
    hint = ("It has spike trains: pass firing rates instead, e.g. "
            "neurodata.signals.firing_rates(recording, 0.05)." if "spike_times" in recording
            else "Open a file with imaging traces or sorted units.")
    raise NoNeuralDataError(f"{name} needs a (time, {'|'.join(dims)}) signal, and this "
                            f"recording has none. {hint}")


def select_series(recording: xr.Dataset, series: str | xr.DataArray, *,
                  name: str = "the analysis") -> xr.DataArray:
    """A series of the recording on its own time axis (``time`` or ``time_<name>``).

    Examples
    --------
    >>> from neurodata.datasets import make_poisson_population
    >>> rec = make_poisson_population(n_units=2, n_trials=2, random_state=0)
    >>> select_series(rec, "missing")
    Traceback (most recent call last):
    ...
    neurodata.errors.NoNeuralDataError: the recording has no series 'missing'; ...
    """
    if isinstance(series, xr.DataArray):
        da = series
    else:
        if not isinstance(recording, xr.Dataset) or series not in recording.data_vars:
            have = [] if not isinstance(recording, xr.Dataset) else [
                str(k) for k, v in recording.data_vars.items()
                if v.ndim and is_time_dim(v.dims[0])]
            raise NoNeuralDataError(f"the recording has no series {series!r}; {name} can use "
                                    f"one of: {', '.join(have) or 'none (add the series to the NWB file)'}.")
        da = recording[series]
    if not da.ndim or not is_time_dim(da.dims[0]):
        raise InvalidRecordingError(f"series {da.name!r} must have its time dimension first "
                                    f"('time' or 'time_<name>'); got dims {tuple(da.dims)}.")
    return da


def as_recordings(recordings: Any, *, name: str = "the analysis"
                  ) -> dict[str, xr.Dataset | xr.DataArray]:
    """One recording, a sequence or a mapping of them, as an ordered ``{name: recording}``.

    Names come from the mapping's keys, else from each recording's
    ``nwb_identifier`` attribute, else from its position.

    Examples
    --------
    >>> a = xr.Dataset(attrs={"nwb_identifier": "worm1"})
    >>> list(as_recordings([a, xr.Dataset()]))
    ['worm1', '1']
    """
    if isinstance(recordings, (xr.Dataset, xr.DataArray)):
        recordings = [recordings]
    if isinstance(recordings, Mapping):
        items = [(str(k), v) for k, v in recordings.items()]
    elif isinstance(recordings, Sequence) and not isinstance(recordings, str):
        items = [(str(r.attrs.get("nwb_identifier") or i) if hasattr(r, "attrs") else str(i), r)
                 for i, r in enumerate(recordings)]
    else:
        raise NeurodataError(f"{name} needs a recording, a list of recordings or a dict of "
                             f"them (as open_folder returns); got {type(recordings).__name__}.")
    if not items:
        raise NeurodataError(f"{name} got no recordings.")
    out: dict[str, xr.Dataset | xr.DataArray] = {}
    for key, rec in items:
        if not isinstance(rec, (xr.Dataset, xr.DataArray)):
            raise NeurodataError(f"recording {key!r} is a {type(rec).__name__}; pass xarray "
                                 f"Datasets (from open_nwb) or DataArrays.")
        if key in out:
            raise NeurodataError(f"two recordings share the name {key!r}; pass a dict with "
                                 f"distinct names.")
        out[key] = rec
    return out
