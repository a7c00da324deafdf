"""full-FORCE learning with hints from sampled units (numpy, batched RLS).

The student ("task-performing") network is

.. math:: \\tau \\dot x = -x + J \\tanh(x) + B u(t), \\qquad z = W \\tanh(x).

A fixed random target-generating network (full-FORCE, DePasquale et al. 2018)
receives, besides the task input, the target output and the *hint* signals,
here the activity of the sampled teacher units.  This is our reading of the
abstract of Salatiello & Giese (2020), whose full text was not available to us;
the equations below are DePasquale et al.'s, the hints are our choice:

.. math:: \\tau \\dot x^D = -x^D + J^D \\tanh(x^D) + B u + U_{out} z^* + U_{hint} h(t).

Recursive least squares then trains every row of ``J`` so that the student's
recurrent currents ``J tanh(x)`` match the target network's
``J^D tanh(x^D) + U_out z* + U_hint h`` while the student runs freely, and ``W``
so that ``W tanh(x)`` matches ``z*``.  Without hints this is plain full-FORCE on
the output (the baseline).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg.lapack import dpotrf, dtrtrs

from neurodata._utils import check_random_state, progress_bar
from neurodata.errors import UnstableDynamicsError
from neurodata.rnn._simulate import simulate_rate_network

__all__ = ["ForceResult", "fit_force", "rls_update"]


def rls_update(p: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """One batched recursive-least-squares step; updates ``p`` in place.

    For a batch of regressors ``R`` (one row per trial), the Woodbury identity
    gives the exact least-squares update of ``P = (sum r r^T + alpha I)^{-1}``:
    ``P <- P - P R^T (I + R P R^T)^{-1} R P``.  The returned gain ``K`` (same
    shape as ``rates``) turns a-priori errors ``E`` of any linear readout
    ``M r`` into the update ``M <- M - E^T K``.  The Cholesky form keeps ``P``
    exactly symmetric, which plain rank-one FORCE updates lose over long runs.

    Examples
    --------
    Repeated updates solve least squares: a 2-unit readout converges to the
    weights that generated its targets.

    >>> rng = np.random.default_rng(0)
    >>> p, m, true = np.eye(2) * 100.0, np.zeros((1, 2)), np.array([[1.0, -2.0]])
    >>> for _ in range(50):
    ...     r = rng.standard_normal((3, 2))
    ...     err = r @ m.T - r @ true.T
    ...     m -= err.T @ rls_update(p, r)
    >>> np.round(m, 3)
    array([[ 1., -2.]])
    """
    pr = rates @ p
    s = pr @ rates.T
    s[np.diag_indices_from(s)] += 1.0
    chol, info = dpotrf(s, lower=1, clean=1)
    if info:
        raise UnstableDynamicsError("the RLS matrix P lost positive definiteness; raise alpha "
                                    "(P(0) = I / alpha) or lower the learning rate p0.")
    g = dtrtrs(chol, pr, lower=1)[0]
    p -= g.T @ g
    return dtrtrs(chol, g, lower=1, trans=1)[0]


@dataclass
class ForceResult:
    """Weights and training record of :func:`fit_force`."""

    weights: np.ndarray          # J, (n_units, n_units)
    input_weights: np.ndarray    # B, (n_units, n_inputs)
    output_weights: np.ndarray   # W, (n_outputs, n_units)
    target_weights: np.ndarray   # J^D
    feedback_weights: np.ndarray  # U_out
    hint_weights: np.ndarray     # U_hint
    loss_curve: list[float] = field(default_factory=list)
    current_error_curve: list[float] = field(default_factory=list)


def _target_currents(inputs, targets, hints, jd, b, u_out, u_hint, *, dt, tau):
    ext = targets @ u_out.T
    if hints is not None and hints.shape[-1]:
        ext = ext + hints @ u_hint.T
    n = jd.shape[0]
    xd = simulate_rate_network(jd, np.zeros((inputs.shape[0], n)), inputs.shape[1], dt=dt,
                               tau=tau, inputs=inputs @ b.T + ext)
    return np.tanh(xd) @ jd.T + ext


def fit_force(
    inputs: np.ndarray,
    targets: np.ndarray,
    hints: np.ndarray | None = None,
    *,
    n_units: int = 200,
    dt: float,
    tau: float = 0.05,
    g: float = 1.0,
    alpha: float = 10.0,
    n_epochs: int = 20,
    learn_every: int = 2,
    input_scale: float = 0.3,
    output_scale: float = 0.3,
    hint_scale: float = 0.3,
    noise: float = 0.0,
    random_state: int | np.random.Generator | None = None,
    progress: bool | None = None,
) -> ForceResult:
    """Train a rate RNN with full-FORCE, optionally with hints from sampled units.

    All trials run side by side; every ``learn_every`` steps one batched RLS
    step (:func:`rls_update`) updates ``J`` and ``W`` from the rates of all trials.

    Parameters
    ----------
    inputs : ndarray, shape (n_trials, n_steps, n_inputs)
        Task inputs ``u``.
    targets : ndarray, shape (n_trials, n_steps, n_outputs)
        Target outputs ``z*`` (already on a unit scale).
    hints : ndarray, shape (n_trials, n_steps, n_hints), optional
        Activity of the sampled teacher units (centred, unit scale); None or
        zero columns trains on the output alone.
    n_units, dt, tau : int, float, float
        Student size, sampling interval and time constant (s).
    g : float
        Gain of the random target-network weights ``J^D ~ N(0, g^2/N)``; the
        student starts from ``J = J^D``.
    alpha : float
        RLS regulariser, ``P(0) = I / alpha``.
    n_epochs, learn_every : int
        Passes over the trials; time steps between RLS updates.
    input_scale, output_scale, hint_scale : float
        ``B, U_out ~ U(-scale, scale)``; ``U_hint ~ N(0, hint_scale^2 / n_hints)``
        so that the total hint drive does not grow with the number of hints.
    noise : float
        Standard deviation of white noise added to the student's state during
        training (per unit time ``tau``).
    random_state : None, int or Generator
        Seed of all random weights (None: fresh entropy).
    progress : bool or None
        Progress bar over epochs (None: shown in a terminal or notebook).

    Returns
    -------
    ForceResult
        ``weights`` (``J``), ``input_weights`` (``B``), ``output_weights``
        (``W``), the target network's weights, and per-epoch ``loss_curve``
        (normalised output error while training) and ``current_error_curve``.

    Examples
    --------
    >>> t = np.arange(100) * 0.01
    >>> u = np.zeros((1, 100, 1)); u[0, :10, 0] = 1.0
    >>> z = np.sin(2 * np.pi * t)[None, :, None] * 0.5
    >>> res = fit_force(u, z, n_units=50, dt=0.01, n_epochs=5, random_state=0, progress=False)
    >>> bool(res.loss_curve[-1] < 0.05)
    True
    """
    rng = check_random_state(random_state)
    n_trials, n_steps, n_in = inputs.shape
    n_out = targets.shape[-1]
    n_hint = 0 if hints is None else hints.shape[-1]
    n = int(n_units)
    jd = g * rng.standard_normal((n, n)) / np.sqrt(n)
    b = input_scale * rng.uniform(-1, 1, (n, n_in))
    u_out = output_scale * rng.uniform(-1, 1, (n, n_out))
    u_hint = hint_scale * rng.standard_normal((n, n_hint)) / np.sqrt(max(n_hint, 1))
    target = _target_currents(inputs, targets, hints, jd, b, u_out, u_hint, dt=dt, tau=tau)
    drive = inputs @ b.T
    j, w = jd.copy(), np.zeros((n_out, n))
    p = np.eye(n) / alpha
    res = ForceResult(j, b, w, jd, u_out, u_hint)
    leak = dt / tau
    var_z = np.sum((targets - targets.mean((0, 1))) ** 2)
    var_c = np.sum((target - target.mean((0, 1))) ** 2)
    for _ in progress_bar(range(n_epochs), progress=progress, desc="full-FORCE", leave=False):
        x = np.zeros((n_trials, n))
        sse_z = sse_c = 0.0
        for i in range(n_steps):
            r = np.tanh(x)
            current = r @ j.T
            if i % learn_every == 0:
                k = rls_update(p, r)
                err_c = current - target[:, i]
                err_z = r @ w.T - targets[:, i]
                j -= err_c.T @ k
                w -= err_z.T @ k
                sse_z += float(np.sum(err_z**2)) * learn_every
                sse_c += float(np.sum(err_c**2)) * learn_every
            x = x + leak * (-x + current + drive[:, i])
            if noise:
                x += noise * np.sqrt(leak) * rng.standard_normal(x.shape)
        if not np.all(np.isfinite(x)) or not np.all(np.isfinite(j)):
            raise UnstableDynamicsError(
                "full-FORCE training diverged; raise alpha (stronger regularisation), "
                "lower g or the input scales, or use a smaller dt/tau.")
        res.loss_curve.append(sse_z / var_z if var_z > 0 else 0.0)
        res.current_error_curve.append(sse_c / var_c if var_c > 0 else 0.0)
    res.weights, res.output_weights = j, w
    return res
