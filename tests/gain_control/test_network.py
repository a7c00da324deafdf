"""The ring network: closed-form steady state, dynamics, stability, ensembles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurodata.errors import NeurodataError, ShapeError, UnstableDynamicsError
from neurodata.gain_control import (
    check_stability,
    feedforward_drive,
    ring_network,
    simulate,
    steady_state,
    stimulus_ensemble,
)

THETA = np.arange(-90.0, 90.0, 9.0)


def test_ring_weights_are_symmetric_with_the_requested_row_sum():
    net = ring_network(24, recurrent_strength=0.7, recurrent_kappa=3.0)
    w = net.weights.values
    np.testing.assert_allclose(w.sum(axis=1), 0.7, rtol=1e-12)
    np.testing.assert_allclose(w, w.T, atol=1e-15)
    # circulant: each row is the previous one rolled by one unit
    np.testing.assert_allclose(w[1], np.roll(w[0], 1), atol=1e-15)
    # the largest eigenvalue of a positive symmetric circulant is its row sum
    assert check_stability(net) == pytest.approx(0.7, rel=1e-12)


def test_weight_noise_is_seeded():
    a = ring_network(10, weight_noise=0.1, random_state=3).weights.values
    b = ring_network(10, weight_noise=0.1, random_state=3).weights.values
    c = ring_network(10, weight_noise=0.1, random_state=4).weights.values
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_drive_is_a_von_mises_bump_with_the_right_width():
    net = ring_network(36, tuning_kappa=2.0, baseline=0.1)
    h = feedforward_drive(net, [0.0]).sel(stimulus_orientation=0.0)
    peak = h.sel(model_unit=int(np.argmin(abs(net.preferred_orientation.values))))
    assert float(peak) == pytest.approx(1.1)
    # half height above baseline at cos(2 d) = 1 - ln2 / kappa
    d = np.rad2deg(np.arccos(1 - np.log(2) / 2.0)) / 2
    half = feedforward_drive(net, [d]).values[int(np.argmin(abs(net.preferred_orientation.values)))]
    assert float(half[0]) == pytest.approx(0.6, rel=1e-12)


@pytest.mark.parametrize("site", ["input", "total"])
def test_steady_state_solves_the_fixed_point_equation(site):
    net = ring_network(30, recurrent_strength=0.5)
    g = np.linspace(0.6, 1.3, 30)
    r = steady_state(net, THETA, g, gain_site=site).values
    h = feedforward_drive(net, THETA).values
    w = net.weights.values
    rhs = w @ r + g[:, None] * h if site == "input" else g[:, None] * (w @ r + h)
    np.testing.assert_allclose(r, rhs, rtol=1e-12, atol=1e-14)


def test_unit_gains_reproduce_the_unadapted_tuning():
    net = ring_network(30)
    w = net.weights.values
    h = feedforward_drive(net, THETA).values
    unadapted = np.linalg.solve(np.eye(30) - w, h)
    for site in ("input", "total"):
        np.testing.assert_allclose(steady_state(net, THETA, np.ones(30), gain_site=site),
                                   unadapted, rtol=1e-12)
    no_recurrence = ring_network(30, recurrent_strength=0.0)
    np.testing.assert_allclose(steady_state(no_recurrence, THETA), h, rtol=1e-14)


@pytest.mark.parametrize("site", ["input", "total"])
def test_integrated_dynamics_converge_to_the_closed_form(site):
    net = ring_network(20, recurrent_strength=0.6)
    g = np.linspace(0.7, 1.2, 20)
    r_star = steady_state(net, THETA, g, gain_site=site).values
    slowest = 1.0 - check_stability(net, g, gain_site=site)
    t_end = 45.0 / slowest  # exp(-45) ~ 3e-20 of the initial deviation remains
    traj = simulate(net, THETA, [0.0, 0.5, t_end], g, gain_site=site, method="ode",
                    rtol=1e-12, atol=1e-14)
    rel = np.linalg.norm(traj.isel(time=-1).values - r_star) / np.linalg.norm(r_star)
    assert rel < 1e-8
    exact = simulate(net, THETA, [0.0, 0.5, t_end], g, gain_site=site, method="exact")
    np.testing.assert_allclose(exact.isel(time=0), 0.0, atol=1e-12)  # r(0) = r0 = 0
    np.testing.assert_allclose(exact.isel(time=1), traj.isel(time=1), rtol=1e-8, atol=1e-12)


def test_exact_dynamics_relax_with_the_slowest_eigenvalue():
    net = ring_network(16, recurrent_strength=0.5)
    r_star = steady_state(net, [0.0]).values
    t = np.array([4.0, 5.0])
    traj = simulate(net, [0.0], t, tau=2.0, r0=r_star[:, 0] + 1.0)
    # the uniform deviation (all ones) is the eigenvector with eigenvalue 0.5:
    # it decays as exp(-(1 - 0.5) t / tau)
    dev = traj.values[:, :, 0] - r_star[:, 0]
    np.testing.assert_allclose(dev[:, 0], np.exp(-0.5 * t / 2.0), rtol=1e-10)


def test_unstable_networks_raise_a_clear_error():
    net = ring_network(20, recurrent_strength=1.2)
    with pytest.raises(UnstableDynamicsError, match=r"eigenvalues of G W is 1\.2"):
        steady_state(net, THETA)
    with pytest.raises(UnstableDynamicsError, match=r"eigenvalues of W is 1\.2"):
        steady_state(net, THETA, gain_site="input")
    with pytest.raises(UnstableDynamicsError, match="recurrent_strength"):
        simulate(net, THETA, [0.0, 1.0])
    stable = ring_network(20, recurrent_strength=0.6)
    assert check_stability(stable, np.full(20, 1.5), gain_site="total") == pytest.approx(0.9)
    with pytest.raises(UnstableDynamicsError, match=r"G W is 1\.2"):
        steady_state(stable, THETA, np.full(20, 2.0), gain_site="total")
    # gains on the feedforward drive cannot destabilise the network
    assert check_stability(stable, np.full(20, 2.0), gain_site="input") == pytest.approx(0.6)


def test_stimulus_ensembles():
    ens = stimulus_ensemble(20, adapter=18.0, p_adapter=0.3)
    assert float(ens.sum()) == pytest.approx(1.0)
    assert float(ens.sel(stimulus_orientation=18.0)) == pytest.approx(0.3)
    assert np.allclose(ens.drop_sel(stimulus_orientation=18.0), 0.7 / 19)
    np.testing.assert_allclose(stimulus_ensemble(20), 0.05)
    with pytest.raises(NeurodataError, match="not one of the 20 ensemble orientations"):
        stimulus_ensemble(20, adapter=5.0, p_adapter=0.3)
    with pytest.raises(NeurodataError, match="p_adapter"):
        stimulus_ensemble(20, p_adapter=1.5)
    # the published convention: p split 50/25/25 around the adapter, the orientation
    # opposite the adapter listed twice on the closed grid (so twice as likely)
    ben = stimulus_ensemble(20, adapter=18.0, p_adapter=0.4, shape="benucci")
    assert float(ben.sum()) == pytest.approx(1.0)
    np.testing.assert_allclose(ben.sel(stimulus_orientation=[9.0, 18.0, 27.0]), [0.1, 0.2, 0.1])
    assert float(ben.sel(stimulus_orientation=-72.0)) == pytest.approx(2 * 0.6 / 18)
    assert float(ben.sel(stimulus_orientation=-45.0)) == pytest.approx(0.6 / 18)


def test_bad_inputs():
    net = ring_network(10)
    with pytest.raises(ShapeError, match=r"one value per unit, shape \(10,\)"):
        steady_state(net, THETA, np.ones(9))
    with pytest.raises(NeurodataError, match="must be positive"):
        steady_state(net, THETA, -np.ones(10))
    with pytest.raises(NeurodataError, match="NaN"):
        steady_state(net, [0.0, np.nan])
    with pytest.raises(NeurodataError, match="gain_site"):
        steady_state(net, THETA, gain_site="output")
    with pytest.raises(ShapeError, match="weights must be"):
        ring_network(10, weights=np.zeros((10, 9)))
    with pytest.raises(NeurodataError, match="non-decreasing"):
        simulate(net, THETA, [1.0, 0.5])


def test_orientation_is_periodic():
    net = ring_network(12)
    np.testing.assert_allclose(steady_state(net, THETA + 180.0), steady_state(net, THETA),
                               rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.2, 3.0), min_size=8, max_size=8), st.floats(0.0, 0.9))
def test_input_site_response_is_linear_in_the_gains(gains, strength):
    net = ring_network(8, recurrent_strength=strength)
    g = np.array(gains)
    r = steady_state(net, THETA, g, gain_site="input").values
    basis = np.stack([steady_state(net, THETA, np.where(np.arange(8) == i, 1.0, 1e-300),
                                   gain_site="input").values for i in range(8)])
    np.testing.assert_allclose(r, np.tensordot(g, basis, axes=1), rtol=1e-10, atol=1e-12)
