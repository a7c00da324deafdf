"""trial_responses: exact spike counts per trial, mean traces, the trial table kept."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodata.datasets import make_calcium_imaging, make_poisson_population
from neurodata.errors import NeurodataError, NoNeuralDataError
from neurodata.signals import align, trial_responses


def test_spike_counts_match_a_direct_count_and_align():
    rec = make_poisson_population(n_units=5, n_trials=12, random_state=3)
    counts = trial_responses(rec, window=(0.5, 1.5), kind="count")
    st, su = rec.spike_times.values, rec.spike_unit.values
    starts = rec.trial_start_time.values
    direct = np.array([[np.sum((st >= s + 0.5) & (st < s + 1.5) & (su == u)) for u in rec.unit.values]
                       for s in starts])
    np.testing.assert_array_equal(counts.values, direct)
    # the same as one bin of align, and the table's columns come along
    one_bin = align(rec, "trial", (0.5, 1.5), bin_size=1.0).isel(time_rel=0)
    np.testing.assert_array_equal(counts.values, one_bin.values)
    np.testing.assert_array_equal(counts.trial_stimulus_orientation,
                                  rec.trial_stimulus_orientation)
    rates = trial_responses(rec, window=(0.5, 1.5))
    np.testing.assert_allclose(rates.values, counts.values / 1.0)
    # without a window each trial's own [start, stop) (2 s) is used
    whole = trial_responses(rec, kind="count")
    in_trial = np.array([[np.sum((st >= a) & (st < b) & (su == u)) for u in rec.unit.values]
                         for a, b in zip(starts, rec.trial_stop_time.values)])
    np.testing.assert_array_equal(whole.values, in_trial)
    np.testing.assert_allclose(trial_responses(rec).values, in_trial / 2.0)


def test_trace_means_over_the_window():
    rec = make_calcium_imaging(n_rois=3, duration=20.0, random_state=0)
    rec = rec.assign_coords(trial_start_time=("trial", [1.0, 5.0, 9.0]),
                            trial_stop_time=("trial", [2.0, 6.0, 10.0]))
    out = trial_responses(rec, variable="fluorescence")
    t = rec.time.values
    expected = [rec.fluorescence.values[(t >= a) & (t < b)].astype(float).mean(0) for a, b in
                [(1, 2), (5, 6), (9, 10)]]
    np.testing.assert_allclose(out.values, expected)
    assert out.dims == ("trial", "roi")


def test_nan_stops_and_missing_pieces():
    rec = make_poisson_population(n_units=2, n_trials=4, random_state=0)
    stops = rec.trial_stop_time.values.copy()
    stops[1] = np.nan
    bad = rec.assign_coords(trial_stop_time=("trial", stops))
    with pytest.raises(NeurodataError, match="no stop time"):
        trial_responses(bad)
    dropped = trial_responses(bad, nan_stop="drop")
    assert dropped.sizes["trial"] == 3
    np.testing.assert_array_equal(dropped.trial.values, [0, 2, 3])
    assert trial_responses(bad, window=(0.0, 1.0)).sizes["trial"] == 4
    with pytest.raises(NoNeuralDataError, match="no 'stimulus' interval table"):
        trial_responses(rec, "stimulus")
    no_spikes = rec.drop_vars(["spike_times", "spike_unit"])
    with pytest.raises(NoNeuralDataError, match="has none"):
        trial_responses(no_spikes)
    with pytest.raises(NeurodataError, match="kind must be"):
        trial_responses(rec, kind="mean")
    assert isinstance(trial_responses(rec), xr.DataArray)
