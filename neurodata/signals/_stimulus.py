"""A stimulus movie aligned to the responses it evoked, with a lag window.

:func:`align_movie` puts a movie series (frames on its own ``time_<name>``
axis) and the recorded responses on one axis, the movie's frames: for every
frame, the response while it was shown and the frames of the lag window that
led up to it.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata._utils import (
    check_integer,
    neuron_dim,
    sampling_step,
    select_series,
    select_variable,
)
from neurodata.errors import InvalidRecordingError, NeurodataError, NoNeuralDataError
from neurodata.schema import NEURON_DIMS, is_time_dim
from neurodata.signals._binning import bin_spikes
from neurodata.signals._interp import interp_along_time

__all__ = ["align_movie", "movie_frames"]


def _is_movie(var: xr.DataArray) -> bool:
    return var.ndim in (3, 4) and is_time_dim(var.dims[0]) and not any(
        d in NEURON_DIMS for d in var.dims)


def movie_frames(recording: xr.Dataset | xr.DataArray, stimulus: str | xr.DataArray | None = None,
                 *, name: str = "the analysis") -> xr.DataArray:
    """A stimulus movie as ``(time_<name>, y, x, channel)``.

    The movie is a series whose first dimension is its time axis followed by
    the image rows and columns and, optionally, channels.  Dimensions named
    ``y``, ``x`` (and ``channel``) are used by name; otherwise they are taken
    in that order (how a movie read from an NWB ``TimeSeries`` or
    ``ImageSeries`` comes back, its axes named after the series).

    Parameters
    ----------
    recording : Dataset or DataArray
        A recording holding the movie, or the movie itself.
    stimulus : str or DataArray, optional
        The movie's name; default: the recording's only movie-shaped series.

    Examples
    --------
    >>> m = xr.DataArray(np.zeros((5, 3, 4)), dims=("time_movie", "movie_a", "movie_b"),
    ...                  coords={"time_movie": np.arange(5.0)})
    >>> movie_frames(m).dims
    ('time_movie', 'y', 'x', 'channel')
    """
    if isinstance(recording, xr.DataArray) and stimulus is None:
        stimulus = recording
    if stimulus is None:
        movies = [str(k) for k, v in recording.data_vars.items() if _is_movie(v)]
        if len(movies) != 1:
            raise NoNeuralDataError(
                f"{name} needs a stimulus movie: a series (time_<name>, y, x[, channel]); the "
                f"recording has {'several: ' + ', '.join(movies) if movies else 'none'}. "
                + ("Choose one with stimulus=." if movies else
                   "Add the movie shown to the NWB file (e.g. an ImageSeries under "
                   "stimulus/presentation)."))
        stimulus = movies[0]
    movie = select_series(recording, stimulus, name=name) if isinstance(recording, xr.Dataset) \
        else stimulus
    if not isinstance(movie, xr.DataArray) or not _is_movie(movie):
        dims = tuple(movie.dims) if isinstance(movie, xr.DataArray) else type(movie).__name__
        raise InvalidRecordingError(f"the stimulus must be a movie with dims (time_<name>, y, x"
                                    f"[, channel]); got {dims}.")
    tdim = str(movie.dims[0])
    if {"y", "x"} <= set(movie.dims) and (movie.ndim == 3 or "channel" in movie.dims):
        movie = movie.transpose(tdim, "y", "x", ...)
        if movie.ndim == 3:
            movie = movie.expand_dims("channel", axis=3)
        return movie
    renamed = dict(zip(movie.dims[1:], ("y", "x", "channel")))
    movie = movie.rename(renamed)
    return movie if movie.ndim == 4 else movie.expand_dims("channel", axis=3)


def _frame_responses(recording: xr.Dataset | xr.DataArray, variable: str | None,
                     onsets: np.ndarray, step: float, latency: float, name: str) -> xr.DataArray:
    """Responses ``(frame, unit|roi)``: spikes counted in each frame interval (shifted by
    ``latency``), or traces sampled at each frame's midpoint plus ``latency``."""
    if variable is None and isinstance(recording, xr.Dataset) and \
            "spike_times" in recording.variables:
        counts = bin_spikes(recording, step, start=float(onsets[0]) + latency,
                            stop=float(onsets[-1]) + step + latency)
        counts = counts.isel(time=slice(0, onsets.size)).astype(np.float64)
        counts.attrs = {"units": "count", "long_name": "spikes per frame"}
        return counts.drop_vars("time_bin_start")
    traces = select_variable(recording, variable, name=name)
    t = np.asarray(traces["time"].values, dtype=float)
    values = interp_along_time(t, np.asarray(traces.values, dtype=float),
                               onsets + step / 2 + latency)
    dim = neuron_dim(traces)
    coords = {k: v.variable for k, v in traces.coords.items() if v.dims == (dim,)}
    return xr.DataArray(values, dims=("time", dim), coords=coords, name=traces.name,
                        attrs=dict(traces.attrs))


def align_movie(recording: xr.Dataset, stimulus: str | xr.DataArray | None = None, *,
                variable: str | None = None, lags: int = 12, latency: float = 0.0,
                name: str = "the analysis") -> xr.Dataset:
    """A stimulus movie aligned to the responses it evoked, frame by frame, with a lag window.

    For every frame ``k`` of the movie (frames on its own ``time_<name>``
    axis, at a regular rate), the response while it was shown, and the
    ``lags`` frames ``k - lags + 1 .. k`` that led up to it.  Frames without
    a full lag window (the first ``lags - 1``) or outside the responses' span
    are left out.

    Parameters
    ----------
    recording : Dataset
        A recording with the movie and the responses: spike trains (counted
        in each frame's interval ``[onset + latency, next onset + latency)``)
        or ``(time, unit|roi)`` traces (sampled at each frame's midpoint plus
        ``latency``, linearly interpolated).
    stimulus : str or DataArray, optional
        The movie (see :func:`movie_frames`); default: the only movie-shaped
        series of the recording.
    variable : str, optional
        Traces to use as responses; default: the spike trains if there are
        any, else the only traces variable.
    lags : int
        Frames in the lag window, the current one included.
    latency : float
        Shift (s) of the response window relative to the frame.
    name : str
        The analysis, for the messages.

    Returns
    -------
    xarray.Dataset
        On ``time`` (the onsets of the kept frames; coordinate ``frame``, the
        frames' indices in the movie): ``stimulus (time, lag, y, x, channel)``
        (a read-only view of the movie: row ``k`` holds the lag window of
        frame ``k``, ``lag`` in seconds, ``0`` the frame itself) and
        ``responses (time, unit|roi)``.  attrs: ``frame_step`` (s), ``lags``,
        ``latency``.

    Raises
    ------
    NoNeuralDataError
        No movie (or several and none chosen), or no responses.
    InvalidRecordingError
        Frames that are not regularly timed.

    Examples
    --------
    >>> from neurodata.datasets import make_retina_population
    >>> rec = make_retina_population(10, 2, n_frames=50, stimulus_shape=(6, 5, 5),
    ...                              random_state=0)
    >>> aligned = align_movie(rec, "movie", lags=6)
    >>> aligned.stimulus.dims, aligned.sizes["time"], aligned.responses.dims
    (('time', 'lag', 'y', 'x', 'channel'), 45, ('time', 'unit'))
    >>> bool((aligned.stimulus.isel(lag=-1) == rec.movie.values[5:, :, :, None]).all())
    True
    """
    movie = movie_frames(recording, stimulus, name=name)
    lags = check_integer("lags", lags)
    tdim = str(movie.dims[0])
    onsets = np.asarray(movie[tdim].values, dtype=float)
    step = sampling_step(onsets, name=f"the frames of {movie.name or 'the movie'!s}")
    if lags > onsets.size:
        raise NeurodataError(f"lags ({lags}) exceeds the movie's {onsets.size} frames.")
    responses = _frame_responses(recording, variable, onsets, step, float(latency), name)
    frames = np.asarray(movie.values)
    window = np.lib.stride_tricks.sliding_window_view(frames, lags, axis=0)  # (F-L+1, y, x, c, L)
    window = np.moveaxis(window, -1, 1)
    values = np.asarray(responses.values, dtype=float)[lags - 1:]
    keep = np.isfinite(values).all(axis=1)
    if not keep.any():
        raise NoNeuralDataError(f"no frame of the movie falls within the responses' span; "
                                f"{name} needs responses recorded while the movie was shown.")
    idx = np.flatnonzero(keep)
    dim = str(responses.dims[1])
    coords = {k: v.variable for k, v in responses.coords.items() if v.dims == (dim,)}
    lag = (np.arange(lags) - lags + 1) * step
    stim = window[idx] if idx.size < window.shape[0] else window
    return xr.Dataset(
        {"stimulus": (("time", "lag", "y", "x", "channel"), stim),
         "responses": (("time", dim), values[idx], dict(responses.attrs))},
        coords={"time": onsets[lags - 1:][idx], "frame": ("time", idx + lags - 1), "lag": lag,
                **coords},
        attrs={"frame_step": step, "lags": lags, "latency": float(latency)},
    )
