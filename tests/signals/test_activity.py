"""neural_activity (traces or spike trains as rates) and stack_series (series onto one grid)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodata.datasets import load_sample
from neurodata.errors import NeurodataError, NoNeuralDataError
from neurodata.signals import firing_rates, neural_activity, stack_series


def test_spike_trains_become_firing_rates():
    rec = load_sample("sample_session", lazy=False)
    got = neural_activity(rec, bin_size=0.05, smooth=0.1, start=1.0, stop=9.0)
    xr.testing.assert_identical(got, firing_rates(rec, 0.05, smooth=0.1, start=1.0, stop=9.0))


def test_traces_are_used_as_they_are_or_smoothed_keeping_the_mean():
    rec = load_sample("sample_imaging", lazy=False)
    raw = neural_activity(rec, "fluorescence")
    assert raw is not None and raw.identical(rec.fluorescence)
    smooth = neural_activity(rec, "fluorescence", smooth=0.5)
    np.testing.assert_allclose(smooth.mean("time"), raw.mean("time"), rtol=1e-3)
    assert float(smooth.diff("time").std()) < 0.5 * float(raw.diff("time").std())
    assert smooth.attrs["smooth"] == 0.5 and smooth.dims == raw.dims


def test_what_is_missing_is_named():
    spikes = load_sample("sample_session")
    with pytest.raises(NoNeuralDataError, match="pass bin_size="):
        neural_activity(spikes)
    with pytest.raises(NoNeuralDataError, match="has none"):
        neural_activity(load_sample("sample_imaging"), bin_size=0.1)
    with pytest.raises(NeurodataError, match="not both"):
        neural_activity(spikes, "rates", bin_size=0.1)
    with pytest.raises(NeurodataError, match="kernel"):
        neural_activity(spikes, bin_size=0.1, kernel="box")
    with pytest.raises(NoNeuralDataError, match="Open a file"):
        neural_activity(xr.Dataset({"speed": ("time", np.zeros(3))},
                                   coords={"time": [0.0, 1.0, 2.0]}))


def test_series_on_their_own_axes_are_resampled_and_stacked():
    t_fast, t_slow = np.arange(0, 2.001, 0.01), np.arange(0, 2.001, 0.25)
    rec = xr.Dataset(
        {"position": (("time_position", "axis"), np.stack([3 * t_slow, -t_slow + 1], -1)),
         "speed": ("time_speed", 2 * t_fast)},
        coords={"time_position": t_slow, "time_speed": t_fast, "axis": ["x", "y"]})
    grid = np.array([0.1, 0.55, 1.9, 2.5])
    out = stack_series(rec, ["speed", "position"], grid, dim="output")
    assert out.dims == ("time", "output")
    assert out.output.values.tolist() == ["speed", "position[x]", "position[y]"]
    np.testing.assert_allclose(out.values[:3], np.stack([2 * grid, 3 * grid, 1 - grid], -1)[:3])
    assert np.isnan(out.values[3]).all()  # no extrapolation
    unnamed = rec.drop_vars("axis")
    assert stack_series(unnamed, "position", grid).feature.values.tolist() == [
        "position[0]", "position[1]"]
    with pytest.raises(NoNeuralDataError, match="no series 'emg'.*position, speed"):
        stack_series(rec, "emg", grid)
    with pytest.raises(NeurodataError, match="empty"):
        stack_series(rec, [], grid)
