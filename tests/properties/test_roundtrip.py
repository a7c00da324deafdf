"""Property: generate -> save_nwb -> open_nwb gives identical spikes, traces and intervals."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neurodata as nd


@st.composite
def recordings(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_units = draw(st.integers(1, 6))
    n_spikes = draw(st.integers(0, 300))
    n_trials = draw(st.integers(1, 8))
    n_t, n_roi = draw(st.integers(2, 40)), draw(st.integers(1, 5))
    ids = np.sort(rng.choice(1000, n_units, replace=False))
    times = np.sort(rng.uniform(0, 50, n_spikes))
    # guarantee every unit fires at least once when there are spikes at all
    units = rng.choice(ids, n_spikes)
    if n_spikes >= n_units:
        units[:n_units] = ids
    start = np.sort(rng.uniform(0, 50, n_trials))
    stop = start + rng.uniform(0.1, 10, n_trials)  # intervals may overlap
    stop[rng.random(n_trials) < 0.3] = np.nan  # unknown stops are kept
    t = np.cumsum(rng.uniform(0.01, 0.2, n_t))
    ds = xr.Dataset(
        {"spike_times": ("spike", times), "spike_unit": ("spike", units),
         "dff": (("time", "roi"), rng.normal(size=(n_t, n_roi)))},
        coords={"unit": ids, "depth": ("unit", rng.uniform(0, 1000, n_units)),
                "time": t, "roi": np.arange(n_roi),
                "trial": np.arange(n_trials), "trial_start_time": ("trial", start),
                "trial_stop_time": ("trial", stop),
                "trial_condition": ("trial", rng.choice(["a", "b"], n_trials).astype(object))})
    return ds


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recordings())
def test_save_open_round_trip(ds):
    with tempfile.TemporaryDirectory() as d:
        out = nd.save_nwb(ds, Path(d) / "r.nwb")
        back = nd.open_nwb(out, lazy=False)
    if ds.sizes["spike"]:
        np.testing.assert_array_equal(back.spike_times.values, ds.spike_times.values)
        np.testing.assert_array_equal(back.spike_unit.values, ds.spike_unit.values)
        np.testing.assert_array_equal(back.unit.values, ds.unit.values)
        np.testing.assert_array_equal(back.depth.values, ds.depth.values)
    np.testing.assert_array_equal(back.dff.values, ds.dff.values)
    np.testing.assert_array_equal(back.time.values, ds.time.values)
    for col in ("trial_start_time", "trial_stop_time"):
        np.testing.assert_array_equal(back[col].values, ds[col].values)
    assert list(back.trial_condition.values) == list(ds.trial_condition.values)
    nd.validate(back)
