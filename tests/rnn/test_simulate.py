"""Rate-network integration: analytic solutions, convergence order, the reference circuit."""

from __future__ import annotations

import numpy as np
import pytest

from neurodata.errors import ShapeError, UnstableDynamicsError
from neurodata.rnn import simulate_rate_network, soc_nonlinearity
from tests.conftest import shared_file


def test_linear_network_matches_matrix_exponential():
    rng = np.random.default_rng(0)
    w = 0.5 * rng.standard_normal((5, 5)) / np.sqrt(5)
    x0 = rng.standard_normal(5)
    tau, dt = 0.1, 0.05
    x = simulate_rate_network(w, x0, 6, dt=dt, tau=tau, nonlinearity=lambda v: v,
                              method="rk4", substeps=10)[0]
    from scipy.linalg import expm

    exact = np.stack([expm((w - np.eye(5)) * k * dt / tau) @ x0 for k in range(6)])
    np.testing.assert_allclose(x, exact, atol=1e-6)


def test_rk4_is_fourth_order_and_euler_first_order():
    w = np.array([[0.0, 2.0], [-2.0, 0.0]])
    x0 = np.array([1.0, 0.5])
    ref = simulate_rate_network(w, x0, 2, dt=1.0, tau=1.0, method="rk4", substeps=2000)[0, -1]

    def err(method, sub):
        x = simulate_rate_network(w, x0, 2, dt=1.0, tau=1.0, method=method, substeps=sub)
        return np.linalg.norm(x[0, -1] - ref)

    assert 12 < err("rk4", 20) / err("rk4", 40) < 20      # ~2^4
    assert 1.7 < err("euler", 200) / err("euler", 400) < 2.3  # ~2^1


def test_soc_nonlinearity_shape():
    x = np.linspace(-100, 100, 11)
    f = soc_nonlinearity(x, r0=20, rmax=100)
    assert f.min() > -20 and f.max() < 80
    eps = 1e-6
    assert soc_nonlinearity(np.array([eps]))[0] / eps == pytest.approx(1.0)
    assert np.all(np.diff(f) > 0)


def test_divergence_raises_with_remedy():
    with pytest.raises(UnstableDynamicsError, match="diverged"):
        simulate_rate_network(5.0 * np.eye(3), np.ones(3), 200, dt=0.1, tau=0.1,
                              nonlinearity=lambda v: v)


def test_shape_errors():
    with pytest.raises(ShapeError):
        simulate_rate_network(np.zeros((3, 2)), np.zeros(3), 5, dt=0.1, tau=1.0)
    with pytest.raises(ShapeError):
        simulate_rate_network(np.zeros((3, 3)), np.zeros(3), 5, dt=0.1, tau=1.0,
                              inputs=np.zeros((1, 4, 3)))


@pytest.mark.shared_data
def test_reproduces_stroud2018_reference_target():
    """The published SOC with the README's dynamics gives its EMG-like target:
    normalised squared error ~0.0105, correlation ~0.9966 (measured with scipy's
    adaptive solver); our fixed-step RK4 must agree."""
    scipy_io = pytest.importorskip("scipy.io")
    path = shared_file("models/stroud2018_soc_data.mat")
    data = scipy_io.loadmat(path, squeeze_me=True, struct_as_record=False)["data"]
    n_samples = 200
    dt = 500.0 / (n_samples - 1)
    x = simulate_rate_network(data.W_rec, data.initial_cond, n_samples, dt=dt, tau=200.0,
                              nonlinearity="soc", method="rk4", substeps=4)[0]
    z = data.readout[0] + soc_nonlinearity(x[:, :100]) @ data.readout[1:]
    target = data.initial_target
    nse = np.sum((z - target) ** 2) / np.sum((target - target.mean()) ** 2)
    assert nse == pytest.approx(0.0105, abs=0.002)
    assert np.corrcoef(z, target)[0, 1] == pytest.approx(0.9966, abs=0.001)
