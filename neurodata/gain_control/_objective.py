"""The efficient-coding objectives and the gains that optimise them.

Gains trade the fidelity of the stimulus representation against the total
activity of the network, for the stimulus ensemble at hand (a reconstruction:
the paper's text was not available, see the documentation page):

.. math::

    L(g) = -F(g) \\;+\\; \\alpha\\, \\mathbb{E}_{\\theta\\sim p}
           \\big[\\lVert r^*(\\theta; g) \\rVert^2\\big].

The fidelity ``F`` is named by ``objective`` (details in
:mod:`neurodata.gain_control._gain_problem`):

* ``"log_gain"``: ``sum_i log g_i``, the high-SNR information of neurons with
  fixed output noise; it depends on neither the ensemble nor ``W``;
* ``"fisher_poisson"``: the prior-weighted Fisher information of the
  orientation under independent Poisson noise, ``E_p[sum_i r_i'^2 / r_i]``;
* ``"fisher_gaussian"``: the prior-weighted Fisher information under additive
  Gaussian noise before the gains (``input_noise``, relative) and after them.

With gains on the feedforward drive (``gain_site="input"``) and the
``"log_gain"`` fidelity, ``r* = A G h`` with ``A = (I - W)^-1`` and the activity
is a quadratic form,

.. math::

    \\mathbb{E}\\lVert r^*\\rVert^2 = g^\\top Q\\, g, \\qquad
    Q = (A^\\top A) \\circ \\mathbb{E}[h h^\\top],

positive semidefinite by the Schur product theorem.  ``L`` is then strictly
convex on ``g > 0`` and its unique minimum is characterised analytically by
``g_i (Q g)_i = 1/(2 alpha)``: every neuron carries the same share of the
network's squared activity.  Every other case (the total-input site, the
default, and the Fisher objectives at either site) is non-convex: it is
solved from several starts with the analytic gradient, and the gains carry a
certificate of the best optimum found (:func:`optimal_gains`).  Without
recurrence (``W = 0``) each objective reduces to a single-neuron rule
(:func:`single_neuron_gains`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata._utils import check_integer, check_option, check_positive, renamed_kwargs
from neurodata.errors import NeurodataError
from neurodata.gain_control._gain_problem import (
    OBJECTIVES,
    UNSTABLE,
    GainProblem,
    SolveResult,
    drive_slope,
)
from neurodata.gain_control._network import (
    _drive,
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
    "single_neuron_gains",
]


def _problem(network: xr.Dataset, ensemble: xr.DataArray, *, objective="log_gain",
             gain_site="total", alpha=None, input_noise=1.0) -> GainProblem:
    check_gain_site(gain_site)
    check_option("objective", objective, OBJECTIVES)
    check_positive("input_noise", input_noise)
    w, phi, kappa, baseline = _unpack_network(network)
    theta, prob = _unpack_ensemble(ensemble)
    check_stability(network, gain_site=gain_site)
    alpha = None if alpha is None else check_positive("alpha", alpha)
    return GainProblem(w, _drive(phi, theta, kappa, baseline), drive_slope(phi, theta, kappa),
                       prob, site=gain_site, objective=objective, input_noise=input_noise,
                       alpha=alpha, uniform=np.full(prob.size, 1.0 / prob.size))


def _quadratic_form(w: np.ndarray, h: np.ndarray, prob: np.ndarray) -> np.ndarray:
    a = np.linalg.inv(np.eye(w.shape[0]) - w)
    return (a.T @ a) * ((h * prob) @ h.T)


def _gains_array(network, gains, gain_site):
    n = network.sizes["model_unit"]
    g = as_unit_vector(gains, n, "gains", positive=True)
    check_stability(network, g, gain_site=gain_site)
    return g


def calibrate_alpha(network: xr.Dataset, ensemble: xr.DataArray, *, objective: str = "log_gain",
                    gain_site: str = "total", input_noise: float = 1.0) -> float:
    """The ``alpha`` for which unit gains are optimal under the *uniform* ensemble.

    The uniform ensemble is taken over the orientations of ``ensemble``.  At
    ``g = 1`` stationarity reads ``dF/dg_i = alpha dE||r||^2/dg_i``; for a
    symmetric ring whose units the orientation grid treats alike this holds for
    every unit at once, so the unadapted (uniform-adapted) network has gains
    exactly 1.  Otherwise the sums over units are matched.

    Examples
    --------
    >>> from neurodata.gain_control import ring_network, stimulus_ensemble
    >>> net, ens = ring_network(20), stimulus_ensemble(20)
    >>> a = calibrate_alpha(net, ens)
    >>> bool(np.allclose(optimal_gains(net, ens, alpha=a, n_init=1), 1.0))
    True
    """
    return _problem(network, ensemble, objective=objective, gain_site=gain_site,
                    input_noise=input_noise).alpha


def coding_objective(network: xr.Dataset, gains, ensemble: xr.DataArray, *,
                     objective: str = "log_gain", alpha: float | None = None,
                     gain_site: str = "total", input_noise: float = 1.0) -> float:
    """``L(g) = -F(g) + alpha E_p ||r*(theta; g)||^2`` (see the module docstring).

    Examples
    --------
    >>> from neurodata.gain_control import ring_network, stimulus_ensemble
    >>> net, ens = ring_network(30), stimulus_ensemble(20, p_adapter=0.3)
    >>> g = optimal_gains(net, ens, n_init=1)
    >>> coding_objective(net, g, ens) < coding_objective(net, np.ones(30), ens)
    True
    """
    prob = _problem(network, ensemble, objective=objective, gain_site=gain_site, alpha=alpha,
                    input_noise=input_noise)
    return float(prob.value_grad(_gains_array(network, gains, gain_site))[0])


def objective_gradient(network: xr.Dataset, gains, ensemble: xr.DataArray, *,
                       objective: str = "log_gain", alpha: float | None = None,
                       gain_site: str = "total", input_noise: float = 1.0) -> xr.DataArray:
    """Gradient ``dL/dg_i``, analytic (one adjoint solve).

    ``dr*/dg_i = M e_i u_i`` with ``M = (I - GW)^-1`` and ``u = h + W r*`` (total
    site) or ``M = (I - W)^-1`` and ``u = h`` (input site); the Fisher
    objectives add the same rule for the orientation derivatives ``r*'`` and,
    for Gaussian noise, for the noise covariance.

    Examples
    --------
    >>> from neurodata.gain_control import ring_network, stimulus_ensemble
    >>> net, ens = ring_network(30), stimulus_ensemble(20, p_adapter=0.3)
    >>> g = optimal_gains(net, ens, gain_site="input")
    >>> float(abs(objective_gradient(net, g, ens, gain_site="input")).max()) < 1e-10
    True
    """
    prob = _problem(network, ensemble, objective=objective, gain_site=gain_site, alpha=alpha,
                    input_noise=input_noise)
    grad = prob.value_grad(_gains_array(network, gains, gain_site))[1]
    return _gain_da(network, grad, "gradient", {"alpha": prob.alpha, "objective": objective})


def _gain_da(network, values, name, attrs) -> xr.DataArray:
    return xr.DataArray(
        values, dims="model_unit", name=name, attrs=attrs,
        coords={"model_unit": network["model_unit"].values,
                "preferred_orientation": ("model_unit",
                                          network["preferred_orientation"].values)},
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


def _certificate_attrs(res, method: str, alpha: float, objective: str, gain_site: str) -> dict:
    return {"alpha": alpha, "objective": objective, "gain_site": gain_site, "method": method,
            "objective_value": res.value, "n_init": int(res.values.size),
            "n_agree": res.n_agree, "gradient_norm": res.gradient_norm,
            "hessian_min_eigenvalue": res.hessian_min_eigenvalue, "n_at_bound": res.n_at_bound}


def optimal_gains(network: xr.Dataset, ensemble: xr.DataArray, *, objective: str = "log_gain",
                  alpha: float | None = None, gain_site: str = "total", n_init: int = 4,
                  input_noise: float = 1.0, random_state=None,
                  certify: bool = True) -> xr.DataArray:
    """The gains that minimise the coding objective, with a certificate of the optimum.

    For ``gain_site="input"`` with ``objective="log_gain"`` the problem is
    strictly convex: the unique solution of ``g_i (Q g)_i = 1/(2 alpha)`` with
    ``Q = (A^T A) o E_p[h h^T]`` is found to machine precision by Newton's
    method.  Every other case is non-convex: L-BFGS-B over ``log g`` with the
    analytic gradient from ``n_init`` starts (unit gains, the convex input-site
    optimum, then random perturbations drawn from ``random_state``), keeping
    the best.

    Parameters
    ----------
    network : xarray.Dataset
        From :func:`ring_network`.
    ensemble : xarray.DataArray
        Stimulus probabilities (:func:`stimulus_ensemble`).
    objective : {"log_gain", "fisher_poisson", "fisher_gaussian"}
        The fidelity term (module docstring).
    alpha : float, optional
        Trade-off weight; by default :func:`calibrate_alpha` (gains are 1 under
        the uniform ensemble over the same orientations).
    gain_site : {"total", "input"}
        Where the gains act (:func:`ring_network`).
    n_init : int
        Starts of the non-convex solver.
    input_noise : float
        For ``"fisher_gaussian"``: standard deviation of the noise before the
        gains relative to the noise after them.
    random_state : None, int or numpy.random.Generator
        For the random starts.
    certify : bool
        Compute the second-order certificate (a Hessian by finite differences
        of the analytic gradient, ``2 N`` gradient evaluations).

    Returns
    -------
    xarray.DataArray
        ``gains(model_unit)``.  ``attrs``: ``alpha``, ``objective_value``,
        ``method``, and the certificate: ``n_init`` starts of which
        ``n_agree`` reached the best value (relative 1e-9), ``gradient_norm``
        (largest ``|dL/d log g|`` over the gains inside the bounds
        ``[1e-6, 1e3]``), ``hessian_min_eigenvalue`` (smallest eigenvalue of the
        Hessian in ``log g`` over those gains: positive for a strict local
        minimum) and ``n_at_bound`` (gains the objective switched off).

    Examples
    --------
    >>> from neurodata.gain_control import ring_network, stimulus_ensemble
    >>> net = ring_network(60)
    >>> g = optimal_gains(net, stimulus_ensemble(20, adapter=0.0, p_adapter=0.3), n_init=2)
    >>> float(g.sel(model_unit=30)) < 1.0 < float(g.sel(model_unit=0))  # adapter at 0 deg
    True
    >>> g.attrs["n_agree"], g.attrs["hessian_min_eigenvalue"] > 0
    (2, True)
    """
    prob = _problem(network, ensemble, objective=objective, gain_site=gain_site, alpha=alpha,
                    input_noise=input_noise)
    n_init = check_integer("n_init", n_init)
    if gain_site == "input" and objective == "log_gain":
        g = _newton_balance(_quadratic_form(prob.w, prob.h, prob.prob), prob.alpha)
        value = float(prob.value_grad(g)[0])
        res = SolveResult(gains=g, value=value, values=np.array([value]), n_agree=1)
        if certify:
            prob.certify(res)
        return _gain_da(network, g, "gains",
                        _certificate_attrs(res, "analytic", prob.alpha, objective, gain_site))
    res = prob.solve(n_init, random_state=random_state, certify=certify)
    return _gain_da(network, res.gains, "gains",
                    _certificate_attrs(res, "L-BFGS-B", prob.alpha, objective, gain_site))


@renamed_kwargs(maxiter="max_iter")
def optimize_gains(network: xr.Dataset, ensemble: xr.DataArray, *, objective: str = "log_gain",
                   alpha: float | None = None, gain_site: str = "total", x0=None,
                   input_noise: float = 1.0, gtol: float = 1e-12,
                   max_iter: int = 20000) -> xr.DataArray:
    """Minimise the coding objective from one start (L-BFGS-B over ``log g``).

    A generic optimiser that uses only the objective and its analytic
    gradient, never the balancing condition; for ``gain_site="input"`` and the
    ``"log_gain"`` objective it agrees with the analytic :func:`optimal_gains`.
    Gains that make ``GW`` unstable are rejected.  ``x0``: the start (default
    unit gains).

    Examples
    --------
    >>> from neurodata.gain_control import ring_network, stimulus_ensemble
    >>> net, ens = ring_network(20), stimulus_ensemble(20, p_adapter=0.3)
    >>> g_num = optimize_gains(net, ens, gain_site="input")
    >>> g_exact = optimal_gains(net, ens, gain_site="input")
    >>> float(abs(g_num / g_exact - 1).max()) < 1e-6
    True
    """
    prob = _problem(network, ensemble, objective=objective, gain_site=gain_site, alpha=alpha,
                    input_noise=input_noise)
    n = prob.n
    start = np.zeros(n) if x0 is None else np.log(as_unit_vector(x0, n, "x0", positive=True))
    x, value = prob.minimize_from(start, gtol=gtol, max_iter=check_integer("max_iter", max_iter))
    if not value < UNSTABLE:
        raise NeurodataError("the gain optimiser found no stable gains from this start.")
    return _gain_da(network, np.exp(x), "gains",
                    {"alpha": prob.alpha, "objective": objective, "gain_site": gain_site,
                     "method": "L-BFGS-B", "objective_value": value})


def single_neuron_gains(network: xr.Dataset, ensemble: xr.DataArray, *,
                        objective: str = "log_gain", alpha: float | None = None,
                        input_noise: float = 1.0) -> xr.DataArray:
    """Each objective's closed-form optimum without recurrence (``W = 0``).

    With ``a_i = E_p[h_i'^2]``, ``c_i = E_p[h_i^2]``:

    * ``"log_gain"``: ``g_i = 1 / sqrt(2 alpha c_i)`` (gain inversely
      proportional to the input's RMS);
    * ``"fisher_poisson"``: ``g_i = E_p[h_i'^2 / h_i] / (2 alpha c_i)``;
    * ``"fisher_gaussian"``: ``g_i^2 = (sqrt(a_i / (alpha c_i)) - 1) /
      input_noise^2``, or 0 where that is negative.

    The weights of ``network`` are ignored (this is the rule each neuron would
    follow alone); ``alpha`` defaults to the calibration of the network
    without recurrence.

    Examples
    --------
    >>> from neurodata.gain_control import ring_network, stimulus_ensemble
    >>> net, ens = ring_network(20, recurrent_strength=0.0), stimulus_ensemble(20, p_adapter=0.3)
    >>> rule = single_neuron_gains(net, ens, objective="fisher_poisson")
    >>> solved = optimal_gains(net, ens, objective="fisher_poisson", n_init=1)
    >>> float(abs(rule / solved - 1).max()) < 1e-6
    True
    """
    free = network.assign(weights=network["weights"] * 0.0)
    prob = _problem(free, ensemble, objective=objective, gain_site="input", alpha=alpha,
                    input_noise=input_noise)
    p, h, hp, a_ = prob.prob, prob.h, prob.hp, prob.alpha
    c = h**2 @ p
    if objective == "log_gain":
        g = 1.0 / np.sqrt(2.0 * a_ * c)
    elif objective == "fisher_poisson":
        g = (hp**2 / h) @ p / (2.0 * a_ * c)
    else:
        g = np.sqrt(np.maximum(np.sqrt((hp**2 @ p) / (a_ * c)) - 1.0, 0.0) / input_noise**2)
    return _gain_da(network, g, "gains", {"alpha": a_, "objective": objective,
                                          "method": "single-neuron rule"})


def equalizing_gains(network: xr.Dataset, ensemble: xr.DataArray, *,
                     gain_site: str = "total") -> xr.DataArray:
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
    w, phi, kappa, baseline = _unpack_network(network)
    theta, prob = _unpack_ensemble(ensemble)
    h = _drive(phi, theta, kappa, baseline)
    check_stability(network, gain_site=gain_site)
    g = _equalizing(w, h, prob, gain_site)
    if np.any(g <= 0):
        raise NeurodataError("no positive gains equalise the mean responses of this network.")
    return _gain_da(network, g, "gains", {"method": "equalize", "gain_site": gain_site})


def _equalizing(w: np.ndarray, h: np.ndarray, prob: np.ndarray, gain_site: str) -> np.ndarray:
    n = w.shape[0]
    ones = np.ones(n)
    target = float(np.mean(np.linalg.solve(np.eye(n) - w, h.mean(axis=1))))
    m = h @ prob
    if gain_site == "input":
        return target * (ones - w @ ones) / m
    return target / (m + target * w @ ones)
