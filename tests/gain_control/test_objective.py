"""The coding objective and its optimal gains: analytic, numerical and naive."""

from __future__ import annotations

import numpy as np
import pytest

from neurodata.errors import NeurodataError, UnstableDynamicsError
from neurodata.gain_control import (
    calibrate_alpha,
    coding_objective,
    equalizing_gains,
    feedforward_drive,
    objective_gradient,
    optimal_gains,
    optimize_gains,
    ring_network,
    steady_state,
    stimulus_ensemble,
)

NET = ring_network(60)
BIASED = stimulus_ensemble(20, adapter=0.0, p_adapter=0.3)
UNIFORM = stimulus_ensemble(20)


def test_numerical_optimum_matches_the_analytic_gains():
    analytic = optimal_gains(NET, BIASED)
    numeric = optimize_gains(NET, BIASED)
    assert float(abs(numeric / analytic - 1).max()) < 1e-6
    assert float(abs(objective_gradient(NET, analytic, BIASED)).max()) < 1e-10
    assert float(abs(objective_gradient(NET, numeric, BIASED)).max()) < 1e-6


def test_analytic_gains_satisfy_the_balancing_condition():
    g = optimal_gains(NET, BIASED)
    alpha = g.attrs["alpha"]
    # g_i (Q g)_i is unit i's share of E||r||^2 = sum_k p_k r_k . (A G)_{:,i} h_i
    r = steady_state(NET, BIASED, g).values
    h = feedforward_drive(NET, BIASED).values
    a = np.linalg.inv(np.eye(60) - NET.weights.values)
    share = g.values * np.sum(BIASED.values * (a.T @ r) * h, axis=1)
    np.testing.assert_allclose(share, 1 / (2 * alpha), rtol=1e-12)
    np.testing.assert_allclose(share.sum(), np.sum(BIASED.values * r**2), rtol=1e-12)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    g = rng.uniform(0.6, 1.2, 60)
    for site in ("input", "total"):
        grad = objective_gradient(NET, g, BIASED, alpha=0.02, gain_site=site).values
        eps = 1e-6
        idx = [0, 17, 30, 45]
        fd = [(coding_objective(NET, g + eps * np.eye(60)[i], BIASED, alpha=0.02, gain_site=site)
               - coding_objective(NET, g - eps * np.eye(60)[i], BIASED, alpha=0.02,
                                  gain_site=site)) / (2 * eps) for i in idx]
        np.testing.assert_allclose(grad[idx], fd, rtol=1e-6, atol=1e-8)


def test_without_recurrence_the_gains_are_inverse_rms():
    net = ring_network(30, recurrent_strength=0.0)
    g = optimal_gains(net, BIASED, alpha=0.5)
    h = feedforward_drive(net, BIASED).values
    np.testing.assert_allclose(g, 1 / np.sqrt(2 * 0.5 * (h**2) @ BIASED.values), rtol=1e-12)


def test_calibrated_alpha_gives_unit_gains_for_the_uniform_ensemble():
    for site in ("input", "total"):
        alpha = calibrate_alpha(NET, UNIFORM, gain_site=site)
        assert float(abs(objective_gradient(NET, np.ones(60), UNIFORM, alpha=alpha,
                                            gain_site=site)).max()) < 1e-12
    np.testing.assert_allclose(optimal_gains(NET, UNIFORM), 1.0, rtol=1e-12)
    # and the calibration only depends on the orientation grid, not on the bias
    assert calibrate_alpha(NET, BIASED) == pytest.approx(calibrate_alpha(NET, UNIFORM))


def test_alpha_only_rescales_the_optimum():
    g1 = optimal_gains(NET, BIASED, alpha=0.01)
    g4 = optimal_gains(NET, BIASED, alpha=0.04)
    np.testing.assert_allclose(g1, 2 * g4, rtol=1e-10)


def test_optimum_is_unique_from_random_starts():
    rng = np.random.default_rng(1)
    net = ring_network(20, weight_noise=0.1, random_state=2)
    ref = optimal_gains(net, BIASED)
    for _ in range(3):
        g = optimize_gains(net, BIASED, x0=rng.uniform(0.2, 3.0, 20))
        np.testing.assert_allclose(g, ref, rtol=1e-6)


def test_total_site_numerical_optimum_is_a_minimum():
    g = optimize_gains(NET, BIASED, gain_site="total").values
    assert float(abs(objective_gradient(NET, g, BIASED, gain_site="total")).max()) < 1e-7
    f0 = coding_objective(NET, g, BIASED, gain_site="total")
    rng = np.random.default_rng(0)
    for _ in range(5):
        step = rng.normal(0, 1e-3, 60)
        assert coding_objective(NET, g * np.exp(step), BIASED, gain_site="total") > f0
    with pytest.raises(NeurodataError, match="gain_site"):
        optimize_gains(NET, BIASED, gain_site="nowhere")


def test_equalizing_gains_equalize_mean_responses():
    for site in ("input", "total"):
        g = equalizing_gains(NET, BIASED, gain_site=site)
        mean = steady_state(NET, BIASED, g, gain_site=site).values @ BIASED.values
        assert mean.std() / mean.mean() < 1e-12
        np.testing.assert_allclose(equalizing_gains(NET, UNIFORM, gain_site=site), 1.0,
                                   rtol=1e-12)


def test_bad_alpha_and_unstable_network():
    with pytest.raises(NeurodataError, match="alpha must be a positive"):
        optimal_gains(NET, BIASED, alpha=-1.0)
    with pytest.raises(UnstableDynamicsError):
        optimal_gains(ring_network(20, recurrent_strength=1.5), BIASED)
    with pytest.raises(NeurodataError, match="sum to 1"):
        optimal_gains(NET, BIASED * 2)
