"""Must-show results on the simulated hub network, and the generator's ground truth."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from neurodata import validate
from neurodata.datasets import make_hub_network
from neurodata.errors import NeurodataError
from neurodata.neuroformer import (
    attention_connectivity,
    poisson_null,
    psth_correlation,
)

from .conftest import N_TEST


# -- the generator --------------------------------------------------------------------------
def test_hub_network_is_a_valid_seeded_recording():
    a = make_hub_network(n_trials=3, random_state=4)
    b = make_hub_network(n_trials=3, random_state=4)
    validate(a)
    np.testing.assert_array_equal(a.spike_times.values, b.spike_times.values)
    np.testing.assert_array_equal(a.connectivity.values, b.connectivity.values)
    hubs = np.flatnonzero(a.is_hub.values)
    # every edge starts at a hub, each hub has 5 distinct targets, lags in range
    assert set(np.nonzero(a.connectivity.values)[1]) == set(hubs)
    assert (a.connectivity.sum("target").values[hubs] == 5).all()
    assert a.connectivity.sum("source").max() == 1
    lag = a.lag.values[a.connectivity.values]
    assert ((lag >= 0.01) & (lag <= 0.03)).all()


def test_hub_spikes_follow_at_the_planted_lag():
    """The hub -> target cross-correlogram peaks at the planted lag (+ kernel)."""
    ds = make_hub_network(n_trials=40, random_state=2)
    t, u = ds.spike_times.values, ds.spike_unit.values
    tgt, src = np.nonzero(ds.connectivity.values)
    hits = 0
    for target, source in zip(tgt, src):
        ts, tt = t[u == source], t[u == target]
        d = (tt[None, :] - ts[:, None]).ravel()
        d = d[(d > 0) & (d < 0.05)]
        counts = np.bincount((d / 0.002).astype(int), minlength=25)
        peak = (np.argmax(counts) + 0.5) * 0.002
        lag = ds.lag.values[target, source]
        hits += lag - 0.002 <= peak <= lag + 0.006
    assert hits >= 0.8 * len(tgt)


def test_hub_network_bad_parameters():
    with pytest.raises(NeurodataError, match="too small"):
        make_hub_network(n_neurons=5, n_hubs=3, targets_per_hub=5)
    with pytest.raises(NeurodataError, match="lag_range"):
        make_hub_network(lag_range=(0.03, 0.01))


# -- must-show ----------------------------------------------------------------------------
def test_attention_connectivity_recovers_edges_and_direction(hub, hub_model):
    ds, _, test_iv = hub
    conn = attention_connectivity(hub_model, ds, intervals=test_iv, stimulus="stimulus")
    assert conn.dims == ("target", "source")
    C = conn.values
    truth = ds.connectivity.sel(target=conn.target, source=conn.source).values
    off = ~np.eye(len(C), dtype=bool)
    auroc = roc_auc_score(truth[off], np.nan_to_num(C[off]))
    assert auroc > 0.85
    t, s = np.nonzero(truth)
    assert np.mean(C[t, s] > C[s, t]) > 0.8


@pytest.fixture(scope="module")
def generated(hub, hub_model):
    ds, _, test_iv = hub
    return hub_model.generate(ds, intervals=test_iv, stimulus="stimulus", random_state=0)


def test_generated_activity_is_a_recording(hub, generated):
    _ds, _, test_iv = hub
    validate(generated)
    assert generated.sizes["trial"] == N_TEST
    np.testing.assert_allclose(generated.trial_start_time.values, test_iv[:, 0])
    t = generated.spike_times.values
    tr = generated.spike_trial.values
    assert (t >= test_iv[tr, 0]).all() and (t < test_iv[tr, 1]).all()


def test_generated_psth_matches_held_out_trials(hub, generated):
    ds, _, _ = hub
    real = ds.isel(trial=slice(-N_TEST, None))
    r = float(psth_correlation(generated, real).mean())
    r_null = float(psth_correlation(poisson_null(real, random_state=1), real).mean())
    assert r > 0.4
    assert r >= r_null + 0.3


def test_generated_rate_is_close_to_the_true_rate(hub, generated):
    ds, _, test_iv = hub
    lo, hi = np.searchsorted(ds.spike_times.values, [test_iv[0, 0], test_iv[-1, 1]])
    ratio = generated.sizes["spike"] / (hi - lo)
    assert 0.7 < ratio < 1.3
