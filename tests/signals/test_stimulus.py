"""align_movie: a stimulus movie aligned to the responses it evoked, with a lag window."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import neurodata as nd
from neurodata.errors import InvalidRecordingError, NeurodataError, NoNeuralDataError
from neurodata.signals import align_movie, movie_frames

STEP = 0.05


def _recording(n_frames: int = 20) -> xr.Dataset:
    """A 20-frame movie from t = 2 s, two units whose spikes per frame we know, and traces."""
    rng = np.random.default_rng(0)
    onsets = 2.0 + np.arange(n_frames) * STEP
    counts = rng.integers(0, 4, (n_frames, 2))
    frame, unit = np.nonzero(counts)
    n = counts[frame, unit]
    times = onsets[np.repeat(frame, n)] + STEP * rng.uniform(0.01, 0.99, n.sum())
    order = np.argsort(times)
    t_img = np.arange(1.0, 4.0, 0.01)
    return nd.validate(xr.Dataset(
        {"movie": (("time_movie", "y", "x"), rng.normal(size=(n_frames, 3, 4))),
         "spike_times": ("spike", times[order]),
         "spike_unit": ("spike", np.repeat(unit, n)[order]),
         "dff": (("time", "roi"), np.stack([t_img, -t_img], 1))},
        coords={"time_movie": onsets, "unit": [0, 1], "time": t_img, "roi": ["a", "b"]},
        attrs={"counts": counts}))


def test_spikes_are_counted_per_frame_and_the_window_holds_the_preceding_frames():
    rec = _recording()
    counts = rec.attrs["counts"]
    out = align_movie(rec, "movie", lags=3)
    assert out.stimulus.dims == ("time", "lag", "y", "x", "channel")
    assert out.sizes["time"] == 18 and out.frame.values.tolist() == list(range(2, 20))
    np.testing.assert_allclose(out.time, rec.time_movie.values[2:])
    np.testing.assert_allclose(out.lag, [-2 * STEP, -STEP, 0.0])
    np.testing.assert_array_equal(out.responses.values, counts[2:])
    for k in (0, 7, 17):  # row k: frames k .. k + 2 of the movie
        np.testing.assert_array_equal(out.stimulus.values[k, ..., 0], rec.movie.values[k:k + 3])
    assert not out.stimulus.values.flags.writeable  # a view of the movie, not a copy


def test_latency_shifts_the_response_window():
    rec = _recording()
    shifted = align_movie(rec, lags=1, latency=STEP)  # the response one frame later
    np.testing.assert_array_equal(shifted.responses.values[:-1], rec.attrs["counts"][1:])
    assert shifted.responses.values[-1].sum() == 0  # after the last frame: no spikes recorded


def test_traces_are_sampled_at_frame_midpoints_and_frames_outside_them_left_out():
    rec = _recording()
    out = align_movie(rec, variable="dff", lags=2)
    mid = rec.time_movie.values[1:] + STEP / 2
    np.testing.assert_allclose(out.responses.values, np.stack([mid, -mid], 1))
    assert out.responses.dims == ("time", "roi") and list(out.roi.values) == ["a", "b"]
    short = rec.sel(time=slice(None, 2.5))  # imaging stops during the movie
    kept = align_movie(short, variable="dff", lags=2)
    assert kept.time.values.max() + STEP / 2 <= 2.5 + 1e-9 and kept.sizes["time"] < 19


def test_movie_axes_by_name_or_by_position():
    m = xr.DataArray(np.zeros((4, 2, 3, 5)), dims=("time_m", "channel", "y", "x"),
                     coords={"time_m": np.arange(4.0)})
    assert movie_frames(m).dims == ("time_m", "y", "x", "channel")
    assert movie_frames(m).shape == (4, 3, 5, 2)
    read_back = xr.DataArray(np.zeros((4, 3, 5)), dims=("time_m", "m_channel", "m_dim2"),
                             coords={"time_m": np.arange(4.0)})  # as open_nwb names them
    assert movie_frames(read_back).shape == (4, 3, 5, 1)


def test_what_is_missing_is_named():
    rec = _recording()
    with pytest.raises(NoNeuralDataError, match="needs a stimulus movie.*none"):
        align_movie(rec.drop_vars("movie"))
    two = rec.assign(noise=rec.movie * 2)
    with pytest.raises(NoNeuralDataError, match="several: movie, noise.*stimulus="):
        align_movie(two)
    with pytest.raises(NoNeuralDataError, match="no series 'film'"):
        align_movie(rec, "film")
    with pytest.raises(InvalidRecordingError, match="movie with dims"):
        align_movie(rec, rec.dff)
    with pytest.raises(NeurodataError, match="lags"):
        align_movie(rec, lags=21)
    with pytest.raises(NoNeuralDataError, match="responses"):
        align_movie(rec.drop_vars(["spike_times", "spike_unit"]).sel(time=slice(None, 1.5)),
                    variable="dff")
    jittered = rec.assign_coords(time_movie=rec.time_movie.values + np.r_[0, 0.02, [0] * 18])
    with pytest.raises(InvalidRecordingError, match="not regularly sampled"):
        align_movie(jittered)
