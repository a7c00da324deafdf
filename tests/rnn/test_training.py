"""RLS algebra, full-FORCE and BPTT: exact identities and learning."""

from __future__ import annotations

import numpy as np
import pytest

from neurodata.errors import NeurodataDeprecationWarning
from neurodata.rnn import fit_bptt, fit_force, rls_update


def test_batched_rls_is_exact_ridge_regression():
    rng = np.random.default_rng(0)
    alpha, n = 2.0, 6
    x = rng.standard_normal((40, n))
    y = rng.standard_normal((40, 3))
    p, w = np.eye(n) / alpha, np.zeros((3, n))
    for batch in np.array_split(np.arange(40), 7):
        k = rls_update(p, x[batch])
        w -= (x[batch] @ w.T - y[batch]).T @ k
    ridge = np.linalg.solve(x.T @ x + alpha * np.eye(n), x.T @ y).T
    np.testing.assert_allclose(w, ridge, atol=1e-10)
    np.testing.assert_allclose(p, np.linalg.inv(x.T @ x + alpha * np.eye(n)), atol=1e-12)
    np.testing.assert_array_equal(p, p.T)


def test_batched_and_rank_one_rls_agree():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((12, 5))
    p1, p2 = np.eye(5), np.eye(5)
    rls_update(p1, x)
    for row in x:
        rls_update(p2, row[None])
    np.testing.assert_allclose(p1, p2, atol=1e-12)


def _oscillation_task(n_trials=2, n_steps=120, dt=0.01):
    t = np.arange(n_steps) * dt
    u = np.zeros((n_trials, n_steps, 1))
    u[:, :10, 0] = np.linspace(1, -1, n_trials)[:, None]
    z = (np.linspace(1, -1, n_trials)[:, None] * np.sin(2 * np.pi * t))[..., None] * 0.8
    return u, z, dt


def test_full_force_learns_and_its_loss_falls():
    u, z, dt = _oscillation_task()
    res = fit_force(u, z, n_units=60, dt=dt, n_epochs=8, g=1.0, random_state=0)
    assert res.loss_curve[-1] < 0.05
    assert res.loss_curve[-1] < 0.1 * res.loss_curve[0]
    assert res.current_error_curve[-1] < res.current_error_curve[0]


def test_full_force_is_reproducible():
    u, z, dt = _oscillation_task()
    a = fit_force(u, z, n_units=30, dt=dt, n_epochs=2, random_state=5)
    b = fit_force(u, z, n_units=30, dt=dt, n_epochs=2, random_state=5)
    np.testing.assert_array_equal(a.weights, b.weights)


def test_hints_enter_the_target_currents():
    """With hints the student's currents must also carry the hint signal: the
    learned network differs from the output-only one, trained from the same seed."""
    u, z, dt = _oscillation_task()
    hints = np.cos(np.linspace(0, 6, 120))[None, :, None].repeat(2, 0)
    plain = fit_force(u, z, n_units=30, dt=dt, n_epochs=2, random_state=0)
    hinted = fit_force(u, z, hints, n_units=30, dt=dt, n_epochs=2, random_state=0)
    assert plain.hint_weights.shape == (30, 0) and hinted.hint_weights.shape == (30, 1)
    assert not np.allclose(plain.weights, hinted.weights)


def test_bptt_gradient_matches_autograd():
    torch = pytest.importorskip("torch")
    from neurodata.rnn._bptt import forward_rates, loss_and_grads

    torch.manual_seed(0)
    n, b, t = 12, 3, 25
    shapes = {"J": (n, n), "B": (n, 2), "b": (n,), "x0": (n,), "W": (2, n)}
    params = {k: 0.4 * torch.randn(*s, dtype=torch.float64) for k, s in shapes.items()}
    u = torch.randn(b, t, 2, dtype=torch.float64)
    z = torch.randn(b, t, 2, dtype=torch.float64)
    a = 0.3 * torch.randn(b, t, 4, dtype=torch.float64)
    vz, va = torch.tensor(3.0, dtype=torch.float64), torch.tensor(2.0, dtype=torch.float64)
    loss, grads = loss_and_grads(params, u, z, a, leak=0.1, activity_weight=0.7,
                                 var_z=vz, var_a=va)
    leaf = {k: v.clone().requires_grad_() for k, v in params.items()}
    rates = forward_rates(leaf, u, 0.1)
    ref = (((rates @ leaf["W"].T - z) ** 2).sum() / vz
           + 0.7 * ((rates[..., :4] - a) ** 2).sum() / va)
    ref.backward()
    assert float(loss) == pytest.approx(float(ref.detach()), rel=1e-12)
    for k in shapes:
        np.testing.assert_allclose(grads[k].numpy(), leaf[k].grad.numpy(), rtol=1e-9,
                                   atol=1e-12)


def test_bptt_learns_and_is_reproducible():
    pytest.importorskip("torch")
    u, z, dt = _oscillation_task(n_steps=60)
    a = fit_bptt(u, z, n_units=20, dt=dt, max_iter=80, learning_rate=0.03, random_state=0)
    with pytest.warns(NeurodataDeprecationWarning, match="'n_iter' is now called 'max_iter'"):
        b = fit_bptt(u, z, n_units=20, dt=dt, n_iter=80, learning_rate=0.03, random_state=0)
    assert a.loss_curve[-1] < 0.1 * a.loss_curve[0] and len(a.loss_curve) == 80
    np.testing.assert_array_equal(a.weights, b.weights)
