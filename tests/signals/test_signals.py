"""bin_spikes, align, compute_dff and resample against brute-force references."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import neurodata as nd
from neurodata.errors import NeurodataError, NoNeuralDataError


@pytest.fixture(scope="module")
def pop():
    return nd.datasets.make_poisson_population(n_units=6, n_trials=12, random_state=4)


def test_bin_spikes_matches_histogram_per_unit(pop):
    counts = nd.bin_spikes(pop, 0.013, start=0.0, stop=20.0)
    edges = counts.time_bin_start.values
    edges = np.append(edges, edges[-1] + 0.013)
    st, su = pop.spike_times.values, pop.spike_unit.values
    for k, uid in enumerate(pop.unit.values):
        ref, _ = np.histogram(st[su == uid], bins=edges)
        np.testing.assert_array_equal(counts.values[:, k], ref)
    assert counts.attrs["bin_size"] == 0.013
    assert counts.dims == ("time", "unit")
    np.testing.assert_allclose(counts.time.values, edges[:-1] + 0.0065)


def test_bin_spikes_conserves_spikes_and_keeps_unit_coords(pop):
    counts = nd.bin_spikes(pop, 0.01)
    assert int(counts.sum()) == pop.sizes["spike"]  # default span includes the last spike
    np.testing.assert_array_equal(counts.preferred_orientation, pop.preferred_orientation)


def test_bin_spikes_errors(pop):
    with pytest.raises(NeurodataError, match="positive"):
        nd.bin_spikes(pop, 0.0)
    with pytest.raises(NoNeuralDataError, match="no spike trains"):
        nd.bin_spikes(pop[["running_speed"]], 0.1)


def test_align_spikes_matches_brute_force(pop):
    window, b = (-0.25, 0.75), 0.05
    aligned = nd.align(pop, "trial_stimulus_on", window, bin_size=b)
    assert aligned.dims == ("trial", "time_rel", "unit")
    st, su = pop.spike_times.values, pop.spike_unit.values
    n_bins = aligned.sizes["time_rel"]
    for i, ev in enumerate(pop.trial_stimulus_on.values):
        for k, uid in enumerate(pop.unit.values):
            rel = st[su == uid] - ev
            ref, _ = np.histogram(rel, bins=window[0] + b * np.arange(n_bins + 1))
            np.testing.assert_array_equal(aligned.values[i, :, k], ref)
    # the trial table travels with the result
    np.testing.assert_array_equal(aligned.trial_stimulus_orientation,
                                  pop.trial_stimulus_orientation)


def test_align_tuning_recovers_planted_rates(pop):
    aligned = nd.align(pop, "trial_stimulus_on", (0.0, 1.0), bin_size=1.0)
    rates = aligned.isel(time_rel=0)  # spikes per second in the stimulus window
    kappa = pop.attrs["kappa"]
    d = np.deg2rad(2 * (pop.trial_stimulus_orientation.values[:, None] - pop.preferred_orientation.values))
    expected = pop.baseline_rate.values + pop.peak_rate.values * np.exp(kappa * (np.cos(d) - 1))
    # 12 trials x 6 units of Poisson counts: the mean matches within 3 standard errors
    z = (rates.values - expected).sum() / np.sqrt(expected.sum())
    assert abs(z) < 3


def test_align_continuous_is_exact_on_samples_and_nan_outside():
    t = np.arange(100) * 0.1
    sig = xr.DataArray(np.c_[t, -t], dims=("time", "roi"), coords={"time": t, "roi": [0, 1]})
    out = nd.align(sig, [2.0, 5.0, 9.8, np.nan], (-0.3, 0.3))
    np.testing.assert_allclose(out.time_rel.values, [-0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3], atol=1e-12)
    np.testing.assert_allclose(out.values[0, :, 0], 2.0 + out.time_rel.values, atol=1e-12)
    np.testing.assert_allclose(out.values[1, :, 1], -(5.0 + out.time_rel.values), atol=1e-12)
    assert np.isnan(out.values[2, -2:, 0]).all() and not np.isnan(out.values[2, :-2, 0]).any()
    assert np.isnan(out.values[3]).all()


def test_align_errors(pop):
    with pytest.raises(NeurodataError, match="window"):
        nd.align(pop, "trial", (1.0, 0.0), bin_size=0.1)
    with pytest.raises(NeurodataError, match="no event column 'cue'"):
        nd.align(pop, "cue", (0, 1), bin_size=0.1)


def test_compute_dff_recovers_true_dff():
    ds = nd.datasets.make_calcium_imaging(n_rois=8, duration=300, event_rate=0.03,
                                          noise=0.01, random_state=1)
    dff = nd.compute_dff(ds.fluorescence, neuropil=ds.neuropil, neuropil_factor=0.7,
                         window=60.0, percentile=10)
    for k in range(8):
        r = np.corrcoef(dff.values[:, k], ds.true_dff.values[:, k])[0, 1]
        assert r > 0.95
    assert dff.attrs["neuropil_factor"] == 0.7
    assert dff.dims == ds.fluorescence.dims
    # the caller's arrays are untouched
    assert ds.fluorescence.dtype == np.float32


def test_compute_dff_rejects_nonpositive_baseline():
    t = np.arange(50) * 0.1
    f = xr.DataArray(np.zeros((50, 2)), dims=("time", "roi"), coords={"time": t})
    with pytest.raises(NeurodataError, match="baseline is zero or negative"):
        nd.compute_dff(f, window=1.0)


def test_resample_linear_and_rate():
    t = np.array([0.0, 1.0, 3.0])
    x = xr.DataArray([0.0, 2.0, 6.0], dims="time_speed", coords={"time_speed": t})
    np.testing.assert_allclose(nd.resample(x, [0.5, 2.0, 3.0]).values, [1.0, 4.0, 6.0])
    r = nd.resample(x, 2.0)
    assert r.sizes["time"] == 7 and r.dims == ("time",)
    with pytest.raises(NeurodataError, match="rate must be positive"):
        nd.resample(x, -1.0)


def test_accessor_forwards(pop):
    assert pop.nd.bin_spikes(0.5).identical(nd.bin_spikes(pop, 0.5))
    a = pop.nd.align("trial", (0, 1), bin_size=0.5)
    assert a.identical(nd.align(pop, "trial", (0, 1), bin_size=0.5))
    assert pop.nd.validate() is pop
