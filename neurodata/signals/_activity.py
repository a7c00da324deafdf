"""A recording's neural activity on a regular grid, and its other series on that grid.

* :func:`neural_activity`: the ``(time, unit|roi)`` signal an analysis runs on:
  a traces variable as it is, or spike trains as firing rates;
* :func:`stack_series`: behaviour, EMG, stimulus or task series, each on its
  own ``time_<name>`` axis, resampled onto one time grid and stacked as
  columns of one ``(time, <dim>)`` matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from neurodata._utils import (
    check_option,
    check_positive,
    sampling_step,
    select_series,
    select_variable,
)
from neurodata.errors import NeurodataError, NoNeuralDataError
from neurodata.schema import is_time_dim
from neurodata.signals._rates import firing_rates, smooth_along_time
from neurodata.signals._traces import resample

__all__ = ["neural_activity", "stack_series"]


def neural_activity(recording: xr.Dataset | xr.DataArray, variable: str | None = None, *,
                    bin_size: float | None = None, smooth: float | None = None,
                    kernel: str = "gaussian", start: float | None = None,
                    stop: float | None = None, name: str = "the analysis") -> xr.DataArray:
    """The recording's neural activity as a ``(time, unit|roi)`` signal on a regular grid.

    With ``bin_size`` the recording's spike trains become firing rates
    (:func:`firing_rates`, in Hz); without it the traces variable is used as
    it is (``variable``, or the recording's only ``(time, unit|roi)`` signal).

    Parameters
    ----------
    recording : Dataset or DataArray
        A recording (:mod:`neurodata.schema`), or the traces themselves.
    variable : str, optional
        Name of the traces variable (``"dff"``, ``"fluorescence"``, ...).
    bin_size : float, optional
        Bin width (s) for spike trains.  Required when the recording has spike
        trains and no traces.
    smooth : float, optional
        Width (s) of the smoothing kernel (see :func:`firing_rates`); applied
        to traces too.  None: no smoothing.
    kernel : {"gaussian", "boxcar"}
        Smoothing kernel.
    start, stop : float, optional
        Span to bin spike trains over (default: first to last spike).
    name : str
        The analysis, for the messages.

    Returns
    -------
    xarray.DataArray
        ``(time, unit)`` or ``(time, roi)`` with the neuron coordinates.

    Raises
    ------
    NoNeuralDataError
        No traces and no spike trains, or spike trains without ``bin_size``
        (the message says what to pass).

    Examples
    --------
    >>> from neurodata.datasets import load_sample
    >>> rates = neural_activity(load_sample("sample_session"), bin_size=0.05, smooth=0.1)
    >>> rates.dims, rates.attrs["units"]
    (('time', 'unit'), 'Hz')
    >>> neural_activity(load_sample("sample_session"))
    Traceback (most recent call last):
    ...
    neurodata.errors.NoNeuralDataError: the analysis needs a (time, unit|roi) signal; ...
    """
    check_option("kernel", kernel, ("gaussian", "boxcar"))
    has_spikes = isinstance(recording, xr.Dataset) and "spike_times" in recording.variables
    if bin_size is not None:
        if not isinstance(recording, xr.Dataset) or not has_spikes:
            raise NoNeuralDataError("bin_size is for spike trains, and this recording has none "
                                    "(no 'spike_times'); omit bin_size to use its traces.")
        if variable is not None:
            raise NeurodataError(f"pass either variable={variable!r} (traces) or bin_size= "
                                 f"(spike trains as firing rates), not both.")
        return firing_rates(recording, check_positive("bin_size", bin_size), smooth=smooth,
                            kernel=kernel, start=start, stop=stop)
    try:
        traces = select_variable(recording, variable, name=name)
    except NoNeuralDataError:
        if not has_spikes:
            raise
        raise NoNeuralDataError(
            f"{name} needs a (time, unit|roi) signal; this recording has spike trains only: "
            f"pass bin_size= (seconds) to use them as firing rates, e.g. bin_size=0.02, "
            f"smooth=0.05.") from None
    if smooth is None:
        return traces
    width = check_positive("smooth", smooth, strict=False)
    step = sampling_step(traces, name=f"the {traces.name or 'traces'}")
    out = traces.copy(data=smooth_along_time(np.asarray(traces.values, dtype=float),
                                             width / step, kernel))
    out.attrs = {**traces.attrs, "smooth": width, "kernel": kernel}
    return out


def _columns(da: xr.DataArray, label: str) -> tuple[np.ndarray, list[str]]:
    """A resampled series as ``(time, columns)`` and one label per column."""
    values = np.asarray(da.values, dtype=float)
    if da.ndim == 1:
        return values[:, None], [label]
    extra = da.dims[1:]
    if len(extra) == 1 and extra[0] in da.coords:
        names = [f"{label}[{v}]" for v in np.asarray(da[extra[0]].values).tolist()]
    else:
        names = [f"{label}[{i}]" for i in range(int(np.prod(da.shape[1:])))]
    return values.reshape(values.shape[0], -1), names


def stack_series(recording: xr.Dataset, series: str | xr.DataArray | Sequence[str | xr.DataArray],
                 time: np.ndarray | xr.DataArray, *, dim: str = "feature",
                 name: str = "the analysis") -> xr.DataArray:
    """Series of a recording, resampled onto ``time`` and stacked as the columns of one matrix.

    Each series lives on its own time axis (``time`` or ``time_<name>``):
    behaviour, EMG, a stimulus or task variable.  Each is linearly
    interpolated onto ``time`` (:func:`resample`); a series with more than
    one channel contributes one column per channel.

    Parameters
    ----------
    recording : Dataset
        The recording holding the series.
    series : str, DataArray or list of them
        The series' names (or the series themselves).
    time : array-like or DataArray
        The common time grid (s), e.g. the ``time`` of :func:`neural_activity`.
    dim : str
        Name of the column dimension of the result.
    name : str
        The analysis, for the messages.

    Returns
    -------
    xarray.DataArray
        ``(time, dim)``; column labels are the series names, with
        ``[channel]`` appended for multi-channel series.  Times outside a
        series' span are NaN (no extrapolation).

    Raises
    ------
    NoNeuralDataError
        A named series is not in the recording (the message lists those that are).

    Examples
    --------
    >>> t = np.arange(5) * 0.1
    >>> rec = xr.Dataset({"speed": ("time_speed", np.arange(5.0)),
    ...                   "cue": (("time_cue", "axis"), np.ones((5, 2)))},
    ...                  coords={"time_speed": t, "time_cue": t, "axis": ["x", "y"]})
    >>> out = stack_series(rec, ["speed", "cue"], [0.05, 0.25], dim="input")
    >>> out.input.values.tolist(), out.values.tolist()
    (['speed', 'cue[x]', 'cue[y]'], [[0.5, 1.0, 1.0], [2.5, 1.0, 1.0]])
    """
    items = [series] if isinstance(series, (str, xr.DataArray)) else list(series)
    if not items:
        raise NeurodataError(f"{name} got an empty list of series; name at least one.")
    grid = np.asarray(time, dtype=float).ravel()
    blocks, labels = [], []
    for item in items:
        da = select_series(recording, item, name=name)
        tdim = str(da.dims[0])
        if not is_time_dim(tdim):  # select_series guarantees it; kept for mypy's sake
            raise NeurodataError(f"series {da.name!r} has no time dimension.")
        values, cols = _columns(resample(da, grid), str(item if isinstance(item, str)
                                                          else da.name or "series"))
        blocks.append(values)
        labels.extend(cols)
    return xr.DataArray(np.concatenate(blocks, axis=1), dims=("time", dim),
                        coords={"time": grid, dim: labels}, name=dim)
