"""Teacher generators: the constraints they promise hold exactly."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla

import neurodata as nd
from neurodata.datasets import (
    make_motor_teacher,
    make_soc_network,
    make_three_region_network,
)
from neurodata.errors import UnstableDynamicsError
from neurodata.rnn import soc_nonlinearity
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def soc():
    return make_soc_network(60, random_state=3)


def test_soc_is_stable_and_obeys_dale_and_balance(soc):
    w = soc.values
    exc = soc.unit_type.values == "E"
    assert np.linalg.eigvals(w).real.max() < 0.15
    assert soc.attrs["spectral_abscissa"] < 0.15
    assert np.all(w[:, exc] >= 0) and np.all(w[:, ~exc] <= 0)
    assert np.all(np.diag(w) == 0)
    assert np.count_nonzero(w[:, ~exc]) <= 0.4 * w[:, ~exc].size
    assert -w[:, ~exc].sum() / w[:, exc].sum() == pytest.approx(3.0, rel=1e-10)
    # excitatory weights are never changed: one value, density ~ 0.1
    assert np.unique(w[:, exc][w[:, exc] > 0]).size == 1


def test_soc_optimisation_reduced_the_abscissa_from_unstable():
    rng = np.random.default_rng(3)
    # the same initial matrix, not optimised, is strongly unstable
    with pytest.raises(UnstableDynamicsError, match="max_iter"):
        make_soc_network(60, max_iter=0, random_state=rng)


def test_soc_is_reproducible(soc):
    again = make_soc_network(60, random_state=3)
    np.testing.assert_array_equal(again.values, soc.values)


@pytest.mark.shared_data
def test_soc_statistics_match_the_published_circuit(soc):
    """Stroud et al.'s 200-unit SOC and ours (any size) share the construction's
    statistics: densities 0.1 / 0.4, I/E ratio 3, w0 = E weight * sqrt(N)."""
    scipy_io = pytest.importorskip("scipy.io")
    data = scipy_io.loadmat(shared_file("models/stroud2018_soc_data.mat"), squeeze_me=True,
                            struct_as_record=False)["data"]
    w0 = []
    for w in (data.W_rec, soc.values):
        half = w.shape[0] // 2
        exc, inh = w[:, :half], w[:, half:]
        assert np.count_nonzero(exc) / exc.size == pytest.approx(0.1, abs=0.025)
        assert np.count_nonzero(inh) / inh.size == pytest.approx(0.4, abs=0.01)
        assert -inh.sum() / exc.sum() == pytest.approx(3.0, abs=0.01)
        assert np.linalg.eigvals(w).real.max() == pytest.approx(0.15, abs=0.03)
        w0.append(exc[exc > 0].mean() * np.sqrt(w.shape[0]))
    assert w0[1] == pytest.approx(w0[0], rel=1e-6)


def test_motor_teacher_is_a_consistent_simulation(small_motor_recording, small_motor_teacher):
    rec, t = small_motor_recording, small_motor_teacher
    nd.validate(rec)
    w = rec.weights.values
    n = w.shape[0]
    # preparatory states: the most amplified directions of the Gramian, norm 1.5 sqrt(N)
    gram = sla.solve_continuous_lyapunov((w - np.eye(n)).T, -2 * np.eye(n))
    top = np.linalg.eigvalsh(gram)[-2:]
    x0 = rec.initial_state.values
    np.testing.assert_allclose(np.linalg.norm(x0, axis=1), 1.5 * np.sqrt(n))
    energy = np.einsum("ci,ij,cj->c", x0, gram, x0) / np.sum(x0**2, 1)
    assert np.all(energy <= top[-1] + 1e-9) and np.all(energy >= top[0] - 1e-9)
    # the rate at movement onset is the preparatory state; rates in [0, rmax]
    onset = int(np.flatnonzero(t.time.values >= -1e-12)[0])
    np.testing.assert_allclose(t.rates.values[:, onset], 20 + soc_nonlinearity(x0))
    assert float(t.rates.min()) >= 0 and float(t.rates.max()) <= 100
    # the trial table says where movement starts
    np.testing.assert_allclose(rec.trial_movement_onset - rec.trial_start_time, 0.1)
    # outputs are exactly the readout of the excitatory rates
    z = rec.readout_bias.values + (t.rates.values - 20) @ rec.readout.values.T
    np.testing.assert_allclose(t.outputs.values, z, atol=1e-10)
    assert np.all(rec.readout.values[:, rec.unit_type.values == "I"] == 0)
    # conditions differ; the cue is (cos, sin) of the reach angle during preparation only
    np.testing.assert_allclose(t.inputs.values[:, 0],
                               np.stack([np.cos(t.condition_angle), np.sin(t.condition_angle)], -1))
    assert np.all(t.inputs.values[:, onset:] == 0)


def test_motor_teacher_given_weights_reproduces_the_free_dynamics(small_motor_recording):
    t = small_motor_recording
    again = make_motor_teacher(weights=t.weights.values, n_conditions=4, dt=0.005, duration=0.2,
                               prep_duration=0.1, random_state=1)
    np.testing.assert_allclose(again.rates.values, t.rates.values)


def test_motor_teacher_spikes_are_poisson_draws_of_the_rates(small_motor_recording):
    """Repeated trials carry independent Poisson spike trains whose counts, in bins centred
    on the samples, have the teacher's rates as mean and variance."""
    rec = make_motor_teacher(40, n_conditions=4, dt=0.005, duration=0.2, prep_duration=0.1,
                             n_repeats=50, spikes=True, random_state=1)
    nd.validate(rec)
    assert rec.sizes["trial"] == 200 and np.all(rec.trial_condition.values[:8] == [0, 1, 2, 3] * 2)
    dt = 0.005
    counts = nd.bin_spikes(rec, dt, start=float(rec.time[0]) - dt / 2,
                           stop=float(rec.time[-1]) + dt / 2).values
    np.testing.assert_allclose(rec.rates.values, small_motor_recording.rates.values[
        np.arange(rec.sizes["time"]) % small_motor_recording.sizes["time"]])
    lam = rec.rates.values * dt
    z = (counts.sum() - lam.sum()) / np.sqrt(lam.sum())
    assert abs(z) < 4
    resid = (counts - lam) ** 2 - counts  # E = 0 for Poisson (variance = mean)
    assert abs(resid.sum()) < 4 * np.sqrt(2 * (lam**2).sum() + 4 * (lam**3).sum() + lam.sum())


def test_rnn_teacher_follows_its_own_equation(rnn_recording, rnn_teacher):
    rec, t = rnn_recording, rnn_teacher
    nd.validate(rec)
    j, b = rec.weights.values, rec.input_weights.values
    x = np.arctanh(t.rates.values)
    leak = t.attrs["dt"] / t.attrs["tau"]
    pred = x[:, :-1] + leak * (-x[:, :-1] + t.rates.values[:, :-1] @ j.T
                               + t.inputs.values[:, :-1] @ b.T)
    np.testing.assert_allclose(pred, x[:, 1:], atol=1e-8)
    np.testing.assert_allclose(t.outputs.values, t.rates.values @ rec.readout.values.T)


def test_three_region_network_plants_exactly_the_given_couplings():
    net = make_three_region_network(10, {("A", "C"): 0.7}, duration=0.5, random_state=0)
    nd.validate(net)
    w, reg = net.weights.values, net.region.values
    for s in "ABC":
        for r in "ABC":
            block = w[np.ix_(reg == r, reg == s)]
            if s == r or (s, r) == ("A", "C"):
                assert np.any(block != 0)
            else:
                assert np.all(block == 0)
    assert net.coupling.sel(source="A", target="C").item() == 0.7
    assert net.coupling.sum().item() == pytest.approx(0.7)
    multi = make_three_region_network(10, duration=0.5, n_trials=3, spikes=True, random_state=0)
    nd.validate(multi)
    assert multi.rates.dims == ("time", "unit") and multi.sizes["trial"] == 3
    np.testing.assert_allclose(multi.trial_stop_time - multi.trial_start_time, 0.51)
    # spikes at max_rate * (1 + r) / 2: the count per unit matches the rates' integral
    expected = (50.0 * (1 + multi.rates.values) / 2).sum(0) * 0.01
    counts = np.bincount(multi.spike_unit.values, minlength=30)
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected) + 3)
