"""The adaptive efficient-coding objective and the gains that optimise it.

Gains trade the fidelity with which each neuron carries its input against the
total activity of the network, for the stimulus ensemble at hand:

.. math::

    L(g) = -\\sum_i \\log g_i \\;+\\; \\alpha\\, \\mathbb{E}_{\\theta\\sim p}
           \\big[\\lVert r^*(\\theta; g) \\rVert^2\\big].

The first term is the information carried by the population when every neuron
adds output noise of fixed variance (at high signal-to-noise ratio, each
neuron's log SNR grows as ``log g_i``); the second is the mean squared activity
of the recurrent network.  With gains on the feedforward drive,
``r* = A G h`` with ``A = (I - W)^-1``, so the activity term is a quadratic form,

.. math::

    \\mathbb{E}\\lVert r^*\\rVert^2 = g^\\top Q\\, g, \\qquad
    Q = (A^\\top A) \\circ \\mathbb{E}[h h^\\top],

positive semidefinite by the Schur product theorem.  ``L`` is therefore strictly
convex on ``g > 0`` and its unique minimum is characterised analytically by

.. math::  g_i\\,(Q g)_i = \\frac{1}{2\\alpha} \\quad \\text{for every } i,

a symmetric matrix-balancing condition: at the optimum every neuron carries
the same share of the network's squared activity.  Without recurrence
(``W = 0``) it has the closed form ``g_i = 1 / sqrt(2 alpha E[h_i^2])``, the
classic single-neuron rule of gain inversely proportional to input RMS.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.optimize import minimize

from neurodata._utils import check_positive, renamed_kwargs
from neurodata.errors import NeurodataError
from neurodata.gain_control._network import (
    _drive,
    _effective_weights,
    _spectral_abscissa,
    _unpack_ensemble,
    _unpack_network,
    check_stability,
)
from neurodata.gain_control._validation import as_unit_vector, check_gain_site

__all__ = [
    "calibrate_alpha",
    "coding_objective",
    "equalizing_gains",
    "objective_gradient",
    "optimal_gains",
    "optimize_gains",
]


def _problem(network: xr.Dataset, ensemble: xr.DataArray):
    w, phi, kappa, baseline = _unpack_network(network)
    theta, prob = _unpack_ensemble(ensemble)
    return w, _drive(phi, theta, kappa, baseline), prob


def _activity_and_grad(w, h, prob, g, gain_site):
    """``E||r*||^2`` and its gradient in g, for either gain site."""
    n = w.shape[0]
    m = np.linalg.inv(np.eye(n) - _effective_weights(w, g, gain_site))
    r = m @ (g[:, None] * h)
    u = h if gain_site == "input" else h + w @ r  # input that the gain multiplies
    activity = float(np.sum(prob * r**2))
    grad = 2.0 * np.sum(prob * (m.T @ r) * u, axis=1)
    return activity, grad


def _quadratic_form(w: np.ndarray, h: np.ndarray, prob: np.ndarray) -> np.ndarray:
    a = np.linalg.inv(np.eye(w.shape[0]) - w)
    return (a.T @ a) * ((h * prob) @ h.T)


def _gains_array(network, gains, gain_site):
    n = network.sizes["model_unit"]
    g = as_unit_vector(gains, n, "gains", positive=True)
    check_stability(network, g, gain_site=gain_site)
    return g


def _alpha(network, ensemble, alpha, gain_site) -> float:
    if alpha is None:
        return calibrate_alpha(network, ensemble, gain_site=gain_site)
    return check_positive("alpha", alpha)


def calibrate_alpha(network: xr.Dataset, ensemble: xr.DataArray, *,
                    gain_site: str = "input") -> float:
    """The ``alpha`` for which unit gains are optimal under the *uniform* ensemble.

    The uniform ensemble is taken over the orientations of ``ensemble``.  At
    ``g = 1`` stationarity reads ``1 = alpha dE||r||^2/dg_i``; for a symmetric
    ring this holds for every unit at once, so the unadapted (uniform-adapted)
    network has gains exactly 1.  For other networks the mean over units is
    matched.

    Examples
    --------
    >>> from neurodata.gain_control import ring_network, stimulus_ensemble
    >>> net, ens = ring_network(30), stimulus_ensemble(20)
    >>> a = calibrate_alpha(net, ens)
    >>> bool(np.allclose(optimal_gains(net, ens, alpha=a), 1.0))
    True
    """
    check_gain_site(gain_site)
    w, h, prob = _problem(network, ensemble)
    uniform = np.full(prob.size, 1.0 / prob.size)
    check_stability(network, gain_site=gain_site)
    _, grad = _activity_and_grad(w, h, uniform, np.ones(w.shape[0]), gain_site)
    return float(w.shape[0] / grad.sum())


def coding_objective(network: xr.Dataset, gains, ensemble: xr.DataArray, *,
                     alpha: float | None = None, gain_site: str = "input") -> float:
    """``L(g) = -sum_i log g_i + alpha E_p ||r*(theta; g)||^2`` (see module docstring).

    Examples
    --------
    >>> from neurodata.gain_control import ring_network, stimulus_ensemble
    >>> net, ens = ring_network(30), stimulus_ensemble(20, p_adapter=0.3)
    >>> g = optimal_gains(net, ens)
    >>> coding_objective(net, g, ens) < coding_objective(net, np.ones(30), ens)
    True
    """
    check_gain_site(gain_site)
    g = _gains_array(network, gains, gain_site)
    a = _alpha(network, ensemble, alpha, gain_site)
    w, h, prob = _problem(network, ensemble)
    activity, _ = _activity_and_grad(w, h, prob, g, gain_site)
    return float(-np.sum(np.log(g)) + a * activity)


def objective_gradient(network: xr.Dataset, gains, ensemble: xr.DataArray, *,
                       alpha: float | None = None, gain_site: str = "input") -> xr.DataArray:
    """Gradient ``dL/dg_i = -1/g_i + alpha dE||r*||^2/dg_i``, analytic.

    ``dr*/dg_i = M e_i u_i`` with ``M = (I - W)^-1`` and ``u = h`` (input site) or
    ``M = (I - GW)^-1`` and ``u = h + W r*`` (total site).

    Examples
    --------
    >>> from neurodata.gain_control import ring_network, stimulus_ensemble
    >>> net, ens = ring_network(30), stimulus_ensemble(20, p_adapter=0.3)
    >>> g = optimal_gains(net, ens)
    >>> float(abs(objective_gradient(net, g, ens)).max()) < 1e-10
    True
    """
    check_gain_site(gain_site)
    g = _gains_array(network, gains, gain_site)
    a = _alpha(network, ensemble, alpha, gain_site)
    w, h, prob = _problem(network, ensemble)
    _, grad = _activity_and_grad(w, h, prob, g, gain_site)
    return _gain_da(network, -1.0 / g + a * grad, "gradient", a)


def _gain_da(network, values, name, alpha, method=None) -> xr.DataArray:
    attrs = {"alpha": alpha} if method is None else {"alpha": alpha, "method": method}
    return xr.DataArray(
        values, dims="model_unit", name=name, attrs=attrs,
        coords={"model_unit": network["model_unit"].values,
                "preferred_orientation": ("model_unit", network["preferred_orientation"].values)},
    )


def _newton_balance(q: np.ndarray, alpha: float, tol: float = 1e-14) -> np.ndarray:
    """Minimise ``-sum log g + alpha g'Qg`` by damped Newton (strictly convex)."""
    g = 1.0 / np.sqrt(2.0 * alpha * np.diag(q))

    def loss(x):
        return -np.sum(np.log(x)) + alpha * x @ q @ x

    for _ in range(200):
        grad = -1.0 / g + 2.0 * alpha * (q @ g)
        if np.max(np.abs(g * grad)) < tol:
            return g
        hess = np.diag(1.0 / g**2) + 2.0 * alpha * q
        step = -np.linalg.solve(hess, grad)
        t, f0, slope = 1.0, loss(g), grad @ step
        # backtrack while the Newton decrement (-slope) is large; near the optimum
        # loss differences drown in rounding and the full step converges quadratically
        while np.any(g + t * step <= 0) or (
            -slope > 1e-10 and loss(g + t * step) > f0 + 1e-4 * t * slope
        ):
            t *= 0.5
        g = g + t * step
    raise NeurodataError("the Newton iteration for the optimal gains did not converge.")


def optimal_gains(network: xr.Dataset, ensemble: xr.DataArray, *,
                  alpha: float | None = None) -> xr.DataArray:
    """The analytic optimal gains: the unique solution of ``g_i (Q g)_i = 1/(2 alpha)``.

    ``Q = (A^T A) o E_p[h h^T]`` (gains on the feedforward drive, the model's
    default).  The balancing condition is solved to machine precision by
    Newton's method on the strictly convex objective.  With ``W = 0`` it reduces
    to ``g_i = 1/sqrt(2 alpha E[h_i^2])``.

    Parameters
    ----------
    network : xarray.Dataset
        From :func:`ring_network`.
    ensemble : xarray.DataArray
        Stimulus probabilities (:func:`stimulus_ensemble`).
    alpha : float, optional
        Trade-off weight; by default :func:`calibrate_alpha` (gains are 1 under
        the uniform ensemble over the same orientations).

    Returns
    -------
    xarray.DataArray
        ``gains(model_unit)``, with ``attrs["alpha"]``.

    Examples
    --------
    >>> from neurodata.gain_control import ring_network, stimulus_ensemble
    >>> net = ring_network(60)
    >>> g = optimal_gains(net, stimulus_ensemble(20, adapter=0.0, p_adapter=0.3))
    >>> float(g.sel(model_unit=30)) < 1.0 < float(g.sel(model_unit=0))   # adapter at unit 30 (0 deg)
    True
    """
    a = _alpha(network, ensemble, alpha, "input")
    check_stability(network)
    w, h, prob = _problem(network, ensemble)
    g = _newton_balance(_quadratic_form(w, h, prob), a)
    return _gain_da(network, g, "gains", a, "analytic")


@renamed_kwargs(maxiter="max_iter")
def optimize_gains(network: xr.Dataset, ensemble: xr.DataArray, *,
                   alpha: float | None = None, gain_site: str = "input", x0=None,
                   gtol: float = 1e-12, max_iter: int = 20000) -> xr.DataArray:
    """Minimise the coding objective numerically (L-BFGS over ``log g``).

    A generic optimiser that uses only the objective and its gradient, never
    the balancing condition; for ``gain_site="input"`` it agrees with
    :func:`optimal_gains`.  It also handles ``gain_site="total"``, for which no
    analytic solution is known; gains that make ``GW`` unstable are rejected.

    Examples
    --------
    >>> from neurodata.gain_control import ring_network, stimulus_ensemble
    >>> net, ens = ring_network(20), stimulus_ensemble(20, p_adapter=0.3)
    >>> g_num = optimize_gains(net, ens)
    >>> float(abs(g_num / optimal_gains(net, ens) - 1).max()) < 1e-6
    True
    """
    check_gain_site(gain_site)
    a = _alpha(network, ensemble, alpha, gain_site)
    w, h, prob = _problem(network, ensemble)
    n = w.shape[0]
    start = np.zeros(n) if x0 is None else np.log(as_unit_vector(x0, n, "x0", positive=True))

    def fun(x):
        g = np.exp(x)
        if gain_site == "total" and _spectral_abscissa(g[:, None] * w, w, g) >= 1.0:
            return np.inf, np.zeros(n)
        activity, grad = _activity_and_grad(w, h, prob, g, gain_site)
        return -x.sum() + a * activity, -1.0 + a * grad * g

    res = minimize(fun, start, jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "maxfun": 4 * max_iter, "gtol": gtol,
                            "ftol": 1e-16, "maxcor": 30})
    if not np.all(np.isfinite(res.x)):
        raise NeurodataError(f"the gain optimiser failed: {res.message}")
    return _gain_da(network, np.exp(res.x), "gains", a, "L-BFGS-B")


def equalizing_gains(network: xr.Dataset, ensemble: xr.DataArray, *,
                     gain_site: str = "input") -> xr.DataArray:
    """The naive homeostatic rule: gains that make every unit's mean response equal.

    The common target is the population-average mean response of the
    unit-gain network under the uniform ensemble (so the rule returns gains of
    1 there for a symmetric ring).  Mean responses are linear in the mean drive
    ``m = E_p[h]``: for the input site ``g = c (I - W) 1 / m``; for the total
    site ``g = c / (m + c W 1)``.  This is *not* the efficient-coding optimum;
    it serves as a control that over-corrects.

    Examples
    --------
    >>> from neurodata.gain_control import ring_network, stimulus_ensemble, steady_state
    >>> net, ens = ring_network(30), stimulus_ensemble(20, p_adapter=0.3)
    >>> g = equalizing_gains(net, ens)
    >>> mean = steady_state(net, ens, g).dot(ens)
    >>> float(mean.std() / mean.mean()) < 1e-12
    True
    """
    check_gain_site(gain_site)
    w, h, prob = _problem(network, ensemble)
    n = w.shape[0]
    check_stability(network, gain_site=gain_site)
    ones = np.ones(n)
    target = float(np.mean(np.linalg.solve(np.eye(n) - w, h.mean(axis=1))))
    m = h @ prob
    if gain_site == "input":
        g = target * (ones - w @ ones) / m
    else:
        g = target / (m + target * w @ ones)
    if np.any(g <= 0):
        raise NeurodataError("no positive gains equalise the mean responses of this network.")
    return _gain_da(network, g, "gains", np.nan, "equalize")
