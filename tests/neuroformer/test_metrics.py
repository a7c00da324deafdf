"""Metrics and baselines against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodata.errors import NeurodataError, ShapeError
from neurodata.neuroformer import (
    PoissonGLMDecoder,
    RidgeDecoder,
    behaviour_scores,
    id_prediction_scores,
    poisson_null,
    psth,
    psth_correlation,
    window_counts,
)


def _rec(times, units, trials=None, unit_ids=(0, 1, 2), **extra):
    coords = {"unit": list(unit_ids)}
    if trials is not None:
        trials = np.asarray(trials, float)
        coords |= {"trial_start_time": ("trial", trials[:, 0]),
                   "trial_stop_time": ("trial", trials[:, 1])}
    data = {"spike_times": ("spike", np.asarray(times, float)),
            "spike_unit": ("spike", np.asarray(units))}
    data |= {k: ("spike", np.asarray(v)) for k, v in extra.items()}
    return xr.Dataset(data, coords=coords)


def test_psth_against_hand_counts():
    ds = _rec([0.01, 0.07, 1.02, 1.03, 1.16, 2.5], [0, 1, 0, 0, 2, 1],
              trials=[(0.0, 0.2), (1.0, 1.2)])
    p = psth(ds, bin_size=0.05)
    assert p.dims == ("time_rel", "unit") and p.sizes["time_rel"] == 4
    expected = np.zeros((4, 3))
    expected[0, 0] = 3 / (2 * 0.05)
    expected[1, 1] = 1 / 0.1
    expected[3, 2] = 1 / 0.1
    np.testing.assert_allclose(p.values, expected)


def test_psth_uses_spike_trial_for_overlapping_trials():
    ds = _rec([0.01, 0.02, 0.03], [0, 0, 1], trials=[(0.0, 0.1), (0.0, 0.1)],
              spike_trial=[0, 1, 1])
    np.testing.assert_allclose(psth(ds, bin_size=0.05).values[0], [20.0, 10.0, 0.0])


def test_psth_correlation_and_the_poisson_null():
    rng = np.random.default_rng(0)
    n_trials, rate = 200, 40.0 * (1 + np.sin(np.linspace(0, 2 * np.pi, 20)))
    times, units = [], []
    for k in range(n_trials):                     # inhomogeneous Poisson, one unit
        n = rng.poisson(rate * 0.05)
        t = k + np.repeat(np.arange(20) * 0.05, n) + rng.random(n.sum()) * 0.05
        times.append(t)
        units.append(np.zeros(len(t), int))
    ds = _rec(np.concatenate(times), np.concatenate(units),
              trials=np.c_[np.arange(n_trials), np.arange(n_trials) + 1.0], unit_ids=(0,))
    half_a = ds.isel(trial=slice(0, 100))
    half_b = ds.isel(trial=slice(100, None))
    r = float(psth_correlation(half_a, half_b)[0])
    assert r > 0.9
    null = poisson_null(half_b, random_state=0)
    assert abs(float(psth_correlation(null, half_b)[0])) < 0.5
    # the null keeps each unit's mean rate
    in_b = int((half_b.spike_times >= 100.0).sum())          # spikes inside half_b's trials
    assert null.sizes["spike"] == pytest.approx(in_b, rel=0.05)


def test_id_scores_by_hand():
    real = _rec([0.01, 0.02, 0.06], [0, 1, 2])
    pred = _rec([0.03, 0.04, 0.07, 0.08], [0, 2, 2, 2])
    s = id_prediction_scores(pred, real, intervals=[(0.0, 0.1)])
    np.testing.assert_allclose(s.precision.values, [0.5, 1.0])
    np.testing.assert_allclose(s.recall.values, [0.5, 1.0])
    np.testing.assert_allclose(s.f1.values, [0.5, 1.0])
    empty = id_prediction_scores(_rec([0.06], [1]), real, intervals=[(0.0, 0.1)])
    assert np.isnan(empty.precision.values[0]) and empty.recall.values[0] == 0


def test_behaviour_scores_by_hand():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    s = behaviour_scores(2 * t + 1, t)
    assert float(s.r[0]) == pytest.approx(1.0)
    assert float(s.r2[0]) == pytest.approx(1 - np.sum((t + 1) ** 2) / np.sum((t - 1.5) ** 2))
    angle = np.linspace(0, 6, 40)
    off = np.c_[np.sin(angle + 0.1), np.cos(angle + 0.1)]
    err = behaviour_scores(off, np.c_[np.sin(angle), np.cos(angle)], circular=True)
    assert float(err.angle_error_deg) == pytest.approx(np.degrees(0.1))
    with pytest.raises(ShapeError):
        behaviour_scores(np.zeros((3, 2)), np.zeros((4, 2)))


def test_window_counts_against_brute_force():
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0, 3, 500))
    u = rng.integers(0, 3, 500)
    ds = _rec(t, u)
    starts = np.array([0.2, 0.75, 2.0])
    X = window_counts(ds, starts, window=0.05, window_prev=0.1).reshape(3, 3, 3)
    for i, s in enumerate(starts):
        for k in range(3):
            lo = s - 0.1 + 0.05 * k
            for unit in range(3):
                assert X[i, unit, k] == np.sum((u == unit) & (t >= lo) & (t < lo + 0.05))


def test_baseline_decoders_recover_planted_signals():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 6))
    y = X @ np.array([1.0, 0.0, -2.0, 0.0, 0.5, 0.0]) + 0.05 * rng.normal(size=300)
    pred = RidgeDecoder().fit(X[:200], y[:200]).predict(X[200:])
    assert float(behaviour_scores(pred, y[200:]).r[0]) > 0.99
    theta = rng.uniform(0, 2 * np.pi, 600)
    pref = np.linspace(0, 2 * np.pi, 10, endpoint=False)
    counts = rng.poisson(3 * np.exp(1.5 * np.cos(theta[:, None] - pref)))
    est = PoissonGLMDecoder(circular=True).fit(counts[:400], theta[:400]).predict(counts[400:])
    s = behaviour_scores(est, np.c_[np.sin(theta[400:]), np.cos(theta[400:])], circular=True)
    assert float(s.angle_error_deg) < 12
    lin = rng.uniform(-1, 1, 600)
    counts = rng.poisson(5 * np.exp(np.outer(lin, np.linspace(-1, 1, 8))))
    est = PoissonGLMDecoder(n_basis=5).fit(counts[:400], lin[:400]).predict(counts[400:])
    assert float(behaviour_scores(est[:, 0], lin[400:]).r[0]) > 0.9


def test_metric_inputs_are_checked():
    ds = _rec([0.01], [0])
    with pytest.raises(NeurodataError, match="no trial table"):
        psth(ds)
    a = xr.DataArray(np.ones((3, 2)), dims=("time_rel", "unit"))
    b = xr.DataArray(np.ones((3, 3)), dims=("time_rel", "unit"))
    with pytest.raises(ShapeError):
        psth_correlation(a, b)
