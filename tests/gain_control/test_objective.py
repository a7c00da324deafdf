"""The coding objectives and their optimal gains: analytic, numerical, certified, naive."""

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
    single_neuron_gains,
    steady_state,
    stimulus_ensemble,
)
from neurodata.gain_control._gain_problem import OBJECTIVES, GainProblem, drive_slope
from neurodata.gain_control._network import _drive, _ring_weights, ring_preferred

NET = ring_network(60)
SMALL = ring_network(20, recurrent_strength=0.5, baseline=0.1)
BIASED = stimulus_ensemble(20, adapter=0.0, p_adapter=0.3)
UNIFORM = stimulus_ensemble(20)
SITES = ("total", "input")


def test_numerical_optimum_matches_the_analytic_gains():
    analytic = optimal_gains(NET, BIASED, gain_site="input")
    numeric = optimize_gains(NET, BIASED, gain_site="input")
    assert float(abs(numeric / analytic - 1).max()) < 1e-6
    assert float(abs(objective_gradient(NET, analytic, BIASED, gain_site="input")).max()) < 1e-10
    assert analytic.attrs["method"] == "analytic"
    assert analytic.attrs["hessian_min_eigenvalue"] > 0  # strictly convex


def test_analytic_gains_satisfy_the_balancing_condition():
    g = optimal_gains(NET, BIASED, gain_site="input")
    alpha = g.attrs["alpha"]
    # g_i (Q g)_i is unit i's share of E||r||^2 = sum_k p_k r_k . (A G)_{:,i} h_i
    r = steady_state(NET, BIASED, g, gain_site="input").values
    h = feedforward_drive(NET, BIASED).values
    a = np.linalg.inv(np.eye(60) - NET.weights.values)
    share = g.values * np.sum(BIASED.values * (a.T @ r) * h, axis=1)
    np.testing.assert_allclose(share, 1 / (2 * alpha), rtol=1e-12)
    np.testing.assert_allclose(share.sum(), np.sum(BIASED.values * r**2), rtol=1e-12)


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("site", SITES)
def test_gradient_matches_finite_differences(objective, site):
    rng = np.random.default_rng(0)
    g = rng.uniform(0.6, 1.2, 20)
    kw = {"objective": objective, "gain_site": site, "alpha": 0.02}
    grad = objective_gradient(SMALL, g, BIASED, **kw).values
    eps = 1e-6
    idx = [0, 7, 10, 15]
    fd = [(coding_objective(SMALL, g + eps * np.eye(20)[i], BIASED, **kw)
           - coding_objective(SMALL, g - eps * np.eye(20)[i], BIASED, **kw)) / (2 * eps)
          for i in idx]
    np.testing.assert_allclose(grad[idx], fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("site", SITES)
def test_analytic_hessian_of_the_log_gain_objective(site):
    phi, theta = ring_preferred(20), np.arange(-90.0, 90.0, 9.0)
    w = _ring_weights(phi, 0.5, 4.0)
    prob = GainProblem(w, _drive(phi, theta, 2.0, 0.1), drive_slope(phi, theta, 2.0),
                       BIASED.values, site=site)
    g = np.random.default_rng(1).uniform(0.6, 1.3, 20)
    fd = np.stack([(prob.value_grad(g + 1e-6 * e)[1] - prob.value_grad(g - 1e-6 * e)[1]) / 2e-6
                   for e in np.eye(20)], axis=1)
    np.testing.assert_allclose(prob.hessian(g), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("site", SITES)
def test_without_recurrence_each_objective_is_its_single_neuron_rule(objective, site):
    net = ring_network(30, recurrent_strength=0.0, baseline=0.05)
    rule = single_neuron_gains(net, BIASED, objective=objective)
    solved = optimal_gains(net, BIASED, objective=objective, gain_site=site, n_init=1)
    np.testing.assert_allclose(solved, rule, rtol=1e-6)
    # and the rules are the stated closed forms
    h = feedforward_drive(net, BIASED).values
    hp = drive_slope(net.preferred_orientation.values, BIASED.stimulus_orientation.values, 2.0)
    p, a = BIASED.values, rule.attrs["alpha"]
    expected = {"log_gain": lambda: 1 / np.sqrt(2 * a * h**2 @ p),
                "fisher_poisson": lambda: (hp**2 / h) @ p / (2 * a * h**2 @ p),
                "fisher_gaussian": lambda: np.sqrt(np.sqrt((hp**2 @ p) / (a * h**2 @ p)) - 1)}
    np.testing.assert_allclose(rule, expected[objective](), rtol=1e-12)


def test_stimulus_dependent_objectives_depend_on_the_ensemble_and_w():
    """The log-gain fidelity ignores the prior and W; the Fisher fidelities do not."""
    g = np.random.default_rng(2).uniform(0.7, 1.3, 20)
    other = stimulus_ensemble(20, adapter=45.0, p_adapter=0.5)
    weaker = ring_network(20, recurrent_strength=0.2, baseline=0.1)

    def fidelity(net, ens, objective):
        phi = net.preferred_orientation.values
        theta = ens.stimulus_orientation.values
        prob = GainProblem(net.weights.values, _drive(phi, theta, 2.0, 0.1),
                           drive_slope(phi, theta, 2.0), ens.values, objective=objective,
                           alpha=1.0)
        return prob.terms(g)[0]

    assert fidelity(SMALL, BIASED, "log_gain") == fidelity(weaker, other, "log_gain")
    for objective in ("fisher_poisson", "fisher_gaussian"):
        base = fidelity(SMALL, BIASED, objective)
        assert abs(fidelity(SMALL, other, objective) / base - 1) > 0.01
        assert abs(fidelity(weaker, BIASED, objective) / base - 1) > 0.01


@pytest.mark.parametrize(("objective", "agree"), [("log_gain", 4), ("fisher_gaussian", 4),
                                                  ("fisher_poisson", 1)])
def test_the_total_site_optimum_is_certified(objective, agree):
    g = optimal_gains(SMALL, BIASED, objective=objective, n_init=4, random_state=0)
    cert = g.attrs
    # every start reaches the same optimum, except for the Poisson objective, whose
    # landscape has several local minima: the certificate says so
    assert cert["n_init"] == 4 and cert["n_agree"] >= agree
    assert cert["gradient_norm"] < 1e-6
    assert cert["hessian_min_eigenvalue"] > 0  # a strict local minimum (free gains)
    # no random perturbation of the best gains does better
    f0 = coding_objective(SMALL, np.clip(g, 1e-6, None), BIASED, objective=objective)
    rng = np.random.default_rng(0)
    for _ in range(5):
        step = np.exp(rng.normal(0, 1e-3, 20))
        trial = np.clip(g.values * step, 1e-6, None)
        assert coding_objective(SMALL, trial, BIASED, objective=objective) >= f0 - 1e-12


def test_the_poisson_fisher_objective_switches_off_neurons_at_the_adapter():
    g = optimal_gains(NET, BIASED, objective="fisher_poisson", n_init=2, random_state=0)
    assert g.attrs["n_at_bound"] >= 3
    assert float(g.sel(model_unit=30)) < 1e-5 < float(g.sel(model_unit=0))


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("site", SITES)
def test_calibrated_alpha_gives_unit_gains_for_the_uniform_ensemble(objective, site):
    net = ring_network(20)  # one neuron per orientation: every unit alike under the ring
    alpha = calibrate_alpha(net, UNIFORM, objective=objective, gain_site=site)
    assert float(abs(objective_gradient(net, np.ones(20), UNIFORM, objective=objective,
                                        alpha=alpha, gain_site=site)).max()) < 1e-10
    np.testing.assert_allclose(optimal_gains(net, UNIFORM, objective=objective, gain_site=site,
                                             n_init=1), 1.0, rtol=1e-6)
    # the calibration only depends on the orientation grid, not on the bias
    assert calibrate_alpha(net, BIASED, objective=objective, gain_site=site) == \
        pytest.approx(alpha)


def test_alpha_only_rescales_the_input_site_optimum():
    g1 = optimal_gains(NET, BIASED, alpha=0.01, gain_site="input")
    g4 = optimal_gains(NET, BIASED, alpha=0.04, gain_site="input")
    np.testing.assert_allclose(g1, 2 * g4, rtol=1e-10)


def test_input_site_optimum_is_unique_from_random_starts():
    rng = np.random.default_rng(1)
    net = ring_network(20, weight_noise=0.1, random_state=2)
    ref = optimal_gains(net, BIASED, gain_site="input")
    for _ in range(3):
        g = optimize_gains(net, BIASED, gain_site="input", x0=rng.uniform(0.2, 3.0, 20))
        np.testing.assert_allclose(g, ref, rtol=1e-6)


def test_equalizing_gains_equalize_mean_responses():
    for site in SITES:
        g = equalizing_gains(NET, BIASED, gain_site=site)
        mean = steady_state(NET, BIASED, g, gain_site=site).values @ BIASED.values
        assert mean.std() / mean.mean() < 1e-12
        np.testing.assert_allclose(equalizing_gains(NET, UNIFORM, gain_site=site), 1.0,
                                   rtol=1e-12)


def test_bad_alpha_objective_and_unstable_network():
    with pytest.raises(NeurodataError, match="alpha must be a positive"):
        optimal_gains(NET, BIASED, alpha=-1.0)
    with pytest.raises(NeurodataError, match="objective must be one of"):
        optimal_gains(NET, BIASED, objective="infomax")
    with pytest.raises(NeurodataError, match="gain_site"):
        optimize_gains(NET, BIASED, gain_site="nowhere")
    with pytest.raises(UnstableDynamicsError):
        optimal_gains(ring_network(20, recurrent_strength=1.5), BIASED)
    with pytest.raises(NeurodataError, match="sum to 1"):
        optimal_gains(NET, BIASED * 2)
