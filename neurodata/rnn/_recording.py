"""From a recording to the trial-major arrays the rnn fits take.

The recorded units (traces, or spike trains as firing rates), the behaviour
or EMG series (targets) and the stimulus or task series (inputs) are brought
onto one regular time grid (:func:`neurodata.signals.neural_activity`,
:func:`neurodata.signals.stack_series`) and cut into trials
(:func:`neurodata._utils.interval_array`):
``(trial, time, feature)`` DataArrays whose ``time`` is the time from each
trial's start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from neurodata._utils import interval_array, sampling_step
from neurodata.errors import NeurodataError, NoNeuralDataError
from neurodata.signals import interp_along_time, neural_activity, stack_series

__all__ = ["SELECTORS", "RecordingTrials", "recording_trials"]

#: Keyword selectors of a recording entry point and what each means.
SELECTORS = ("variable", "behaviour", "stimulus", "trials", "window", "condition", "bin_size",
             "smooth")


@dataclass
class RecordingTrials:
    """The arrays of one recording, cut into trials on one time grid."""

    activity: xr.DataArray | None  # (trial, time, unit|roi)
    targets: xr.DataArray | None   # (trial, time, output)
    inputs: xr.DataArray | None    # (trial, time, input)
    step: float                    # sampling interval (s)
    starts: np.ndarray             # trial start times (s); ``time`` is relative to them


def _intervals(recording: xr.Dataset, trials: Any, window: Any) -> np.ndarray | None:
    if trials is None and window is None:
        return None
    table = "trial" if trials is None else trials
    return interval_array(recording, table, window=window)


def _span(intervals: np.ndarray | None, bin_size: float | None) -> dict:
    """Binning span whose bin centres are the first trial's start plus whole bins, up to the
    last sample before the last stop (a sample at ``t`` counts ``[t - bin/2, t + bin/2)``)."""
    if intervals is None or bin_size is None:
        return {}
    return {"start": float(intervals[:, 0].min()) - bin_size / 2,
            "stop": float(intervals[:, 1].max()) - bin_size / 2}


def _grid(recording: xr.Dataset, selectors: dict, intervals: np.ndarray | None,
          need_activity: bool, name: str) -> tuple[xr.DataArray | None, np.ndarray]:
    """The activity (if needed) and the time grid everything is sampled on."""
    bin_size = selectors.get("bin_size")
    activity = None
    if need_activity or selectors.get("variable") is not None or bin_size is not None:
        activity = neural_activity(recording, selectors.get("variable"), bin_size=bin_size,
                                   smooth=selectors.get("smooth"), name=name,
                                   **_span(intervals, bin_size))
        return activity, np.asarray(activity["time"].values, dtype=float)
    if "time" in recording.coords and recording.sizes.get("time", 0) > 1:
        return None, np.asarray(recording["time"].values, dtype=float)
    raise NoNeuralDataError(f"{name} needs a time grid: the recording has no 'time' axis; pass "
                            f"bin_size= to bin its spike trains, or variable= for its traces.")


def _cut(data: xr.DataArray, starts: np.ndarray, n_steps: int, step: float) -> xr.DataArray:
    """``(trial, time, feature)`` samples at ``start + k * step``: taken as they are when
    they fall on the data's samples, else linearly interpolated (NaN outside)."""
    t = np.asarray(data["time"].values, dtype=float)
    rel = np.arange(n_steps) * step
    pos = (starts[:, None] + rel[None, :] - t[0]) / step
    idx = np.rint(pos)
    values = np.asarray(data.values, dtype=float)
    if np.allclose(pos, idx, rtol=0, atol=1e-6) and idx.min() >= 0 and idx.max() < t.size:
        out = values[idx.astype(int)]
    else:
        out = interp_along_time(t, values, starts[:, None] + rel[None, :])
    feat = data.dims[1]
    coords = {k: v.variable for k, v in data.coords.items() if v.dims == (feat,)}
    return xr.DataArray(out, dims=("trial", "time", feat), coords={"time": rel, **coords},
                        name=data.name, attrs=dict(data.attrs))


def _check_covered(data: xr.DataArray, what: str) -> None:
    bad = np.flatnonzero(~np.isfinite(data.values).all(axis=(1, 2)))
    if bad.size:
        raise NeurodataError(
            f"the {what} has no values (NaN) in {bad.size} of the {data.sizes['trial']} trials "
            f"(first: trial {int(bad[0])}): those trials extend beyond the signal or it has "
            f"gaps. Choose trials inside it (trials=[(start, stop), ...]) or a shorter window=.")


def _condition_labels(recording: xr.Dataset, condition: str, n_trials: int) -> np.ndarray:
    for key in (f"trial_{condition}", condition):
        if key in recording.coords and recording[key].dims == ("trial",):
            labels = np.asarray(recording[key].values)
            if labels.size == n_trials:
                return labels
    cols = [str(c)[len("trial_"):] for c in recording.coords
            if str(c).startswith("trial_") and recording[c].dims == ("trial",)]
    raise NoNeuralDataError(f"the trial table has no column {condition!r} to average trials "
                            f"by; its columns are: {', '.join(cols) or 'none'}.")


def recording_trials(recording: xr.Dataset, *, variable: str | None = None,
                     behaviour: str | Sequence[str] | None = None,
                     stimulus: str | Sequence[str] | None = None, trials: Any = None,
                     window: tuple[float, float] | None = None, condition: str | None = None,
                     bin_size: float | None = None, smooth: float | None = None,
                     need_activity: bool = True, name: str = "the fit") -> RecordingTrials:
    """Cut a recording's activity, targets and inputs into ``(trial, time, feature)`` arrays.

    ``trials`` names an interval table (or gives ``(start, stop)`` pairs);
    with ``window`` each trial is ``[start + t0, start + t1)``; without either,
    the whole recording is one trial.  Trials are cut to the length of the
    shortest.  With ``condition`` (a trial-table column) trials are averaged
    within each condition (peri-stimulus time histograms for spike trains).
    """
    if not isinstance(recording, xr.Dataset):
        raise NeurodataError(f"{name} needs a recording (xarray.Dataset); got "
                             f"{type(recording).__name__}.")
    intervals = _intervals(recording, trials, window)
    selectors = {"variable": variable, "bin_size": bin_size, "smooth": smooth}
    activity, grid = _grid(recording, selectors, intervals, need_activity, name)
    step = sampling_step(grid, name="the activity")
    targets = None if behaviour is None else stack_series(recording, behaviour, grid,
                                                          dim="output", name=name)
    inputs = None if stimulus is None else stack_series(recording, stimulus, grid,
                                                        dim="input", name=name)
    if intervals is None:
        intervals = np.array([[grid[0], grid[-1] + step / 2]])
    n_steps = int(np.ceil(float(np.min(intervals[:, 1] - intervals[:, 0])) / step - 1e-6))
    if n_steps < 1:
        raise NeurodataError(f"the shortest trial is shorter than one sample ({step:g} s).")
    labels = None if condition is None else _condition_labels(recording, condition,
                                                              intervals.shape[0])
    out = []
    for data, what in ((activity, "activity"), (targets, "behaviour"), (inputs, "stimulus")):
        if data is not None:
            data = _cut(data, intervals[:, 0], n_steps, step)
            _check_covered(data, what)
            if labels is not None:
                data = data.groupby(xr.DataArray(labels, dims="trial", name="condition")) \
                    .mean().rename(condition="trial")
        out.append(data)
    n_out = next(d.sizes["trial"] for d in out if d is not None) if any(
        d is not None for d in out) else intervals.shape[0]
    starts = intervals[:, 0] if labels is None else np.full(n_out, np.nan)
    return RecordingTrials(out[0], out[1], out[2], step, starts)
