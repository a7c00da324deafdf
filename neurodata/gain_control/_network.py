"""The gain-modulated recurrent ring network: tuning, weights, steady state, dynamics.

A population of ``N`` orientation-tuned neurons with preferred orientations
``phi_i`` evenly spaced over 180 degrees receives a feedforward drive

.. math:: h_i(\\theta) = b + \\exp\\{\\kappa\\,[\\cos 2(\\theta - \\phi_i) - 1]\\}

(a von Mises bump over the doubled angle, peak ``1 + b``) and is coupled by a
fixed recurrent weight matrix ``W``.  Adaptation changes only the diagonal
gain matrix ``G = diag(g)``.  With ``gain_site="total"`` (the default) a
neuron's gain scales its whole input, recurrent input included (what
"single-neuron gain" conventionally means),

.. math:: \\tau\\,\\dot r = -r + G\\,(W r + h(\\theta)), \\qquad
          r^* = (I - G W)^{-1} G\\, h(\\theta),

and with ``gain_site="input"`` only its feedforward drive,

.. math:: \\tau\\,\\dot r = -r + W r + G h(\\theta), \\qquad
          r^* = (I - W)^{-1} G\\, h(\\theta).

The fixed point is stable when every eigenvalue of ``W`` (``GW``) has real part
below 1.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import xarray as xr
from scipy.integrate import solve_ivp

from neurodata._utils import (
    check_array,
    check_fraction,
    check_integer,
    check_option,
    check_positive,
    check_random_state,
)
from neurodata.errors import NeurodataError, ShapeError, UnstableDynamicsError
from neurodata.gain_control._validation import (
    PERIOD,
    as_orientations,
    as_unit_vector,
    check_gain_site,
    wrap_orientation,
)

__all__ = [
    "check_stability",
    "feedforward_drive",
    "ring_network",
    "simulate",
    "steady_state",
    "stimulus_ensemble",
]


def _von_mises(delta_deg: np.ndarray, kappa: float) -> np.ndarray:
    """Peak-normalised von Mises bump over the doubled angle (period 180 degrees)."""
    return np.exp(kappa * (np.cos(np.deg2rad(2.0 * delta_deg)) - 1.0))


def ring_preferred(n: int) -> np.ndarray:
    """Preferred orientations ``-90 + 180 k / n`` of a ring of ``n`` units."""
    return -PERIOD / 2 + PERIOD * np.arange(n) / n


def _ring_weights(phi: np.ndarray, strength: float, kappa_w: float) -> np.ndarray:
    profile = _von_mises(phi[:, None] - phi[None, :], kappa_w)
    return strength * profile / profile.sum(axis=1, keepdims=True)


def ring_network(
    n_units: int = 60,
    *,
    tuning_kappa: float = 2.0,
    recurrent_strength: float = 0.4,
    recurrent_kappa: float = 4.0,
    baseline: float = 0.0,
    weights=None,
    weight_noise: float = 0.0,
    random_state=None,
) -> xr.Dataset:
    """Build a ring of orientation-tuned neurons with fixed recurrent weights.

    The recurrent weights are a von Mises profile of the difference in preferred
    orientation, ``W_ij = w exp{kappa_W [cos 2(phi_i - phi_j) - 1]} / Z`` with
    ``Z`` the row sum of the profile: local excitation whose summed strength
    ``w`` does not depend on ``N``.

    Parameters
    ----------
    n_units : int
        Number of neurons ``N``; preferred orientations ``-90 + 180 k / N``.
    tuning_kappa : float
        Concentration of the feedforward tuning (2.0: half-width at half-height
        of about 25 degrees).
    recurrent_strength : float
        Summed recurrent weight ``w`` onto a neuron (the row sum of ``W``, which
        for this symmetric ring is also its largest eigenvalue; it must stay
        below 1 for stability).
    recurrent_kappa : float
        Concentration ``kappa_W`` of the recurrent weight profile.
    baseline : float
        Untuned feedforward drive ``b`` added to every neuron.
    weights : array_like, shape (N, N), optional
        Custom recurrent weights (postsynaptic rows); replaces the ring profile.
    weight_noise : float
        Standard deviation of multiplicative log-normal noise on every weight
        (a heterogeneous network); 0 keeps the ring exactly symmetric.
    random_state : int or numpy.random.Generator, optional
        Seed for ``weight_noise``.

    Returns
    -------
    xarray.Dataset
        ``weights(model_unit, presynaptic)`` and scalar variables ``tuning_kappa``,
        ``baseline``, ``recurrent_strength``, ``recurrent_kappa``; coordinate
        ``preferred_orientation(model_unit)`` in degrees.

    Examples
    --------
    >>> net = ring_network(12)
    >>> net.weights.shape, float(net.weights.sum("presynaptic")[0])
    ((12, 12), 0.4)
    >>> net.preferred_orientation.values[:3]
    array([-90., -75., -60.])
    """
    n = check_integer("n_units", n_units, minimum=2)
    for name, val in (("tuning_kappa", tuning_kappa), ("recurrent_kappa", recurrent_kappa),
                      ("baseline", baseline), ("weight_noise", weight_noise)):
        check_positive(name, val, strict=False)
    phi = ring_preferred(n)
    if weights is None:
        w = _ring_weights(phi, recurrent_strength, recurrent_kappa)
        strength, kw = float(recurrent_strength), float(recurrent_kappa)
    else:
        w = check_array("weights", weights, ndim=2, copy=True)
        if w.shape != (n, n):
            raise ShapeError(f"weights must be ({n}, {n}) for {n} units; got {w.shape}.")
        strength, kw = np.nan, np.nan
    if weight_noise > 0:
        rng = check_random_state(random_state)
        w = w * rng.lognormal(0.0, weight_noise, size=w.shape)
    return xr.Dataset(
        {
            "weights": (("model_unit", "presynaptic"), w),
            "tuning_kappa": float(tuning_kappa),
            "baseline": float(baseline),
            "recurrent_strength": strength,
            "recurrent_kappa": kw,
        },
        coords={
            "model_unit": np.arange(n),
            "presynaptic": np.arange(n),
            "preferred_orientation": ("model_unit", phi),
        },
    )


def _unpack_network(network: xr.Dataset) -> tuple[np.ndarray, np.ndarray, float, float]:
    if not isinstance(network, xr.Dataset) or "weights" not in network:
        raise NeurodataError(
            "network must be the Dataset returned by ring_network (with 'weights', "
            f"'tuning_kappa', 'baseline'); got {type(network).__name__}."
        )
    w = network["weights"]
    if w.dims != ("model_unit", "presynaptic") or w.shape[0] != w.shape[1]:
        raise ShapeError(
            f"network weights must be square (model_unit, presynaptic); got {w.dims} {w.shape}.")
    phi = np.asarray(network["preferred_orientation"].values, dtype=float)
    return (np.asarray(w.values, dtype=float), phi, float(network["tuning_kappa"]),
            float(network["baseline"]))


def biased_probabilities(n: int, k: int, p_adapter: float, shape: str = "single") -> np.ndarray:
    """Probabilities of ``n`` distinct orientations with the adapter at index ``k``.

    ``shape="single"``: the adapter has ``p_adapter``, the others share the rest
    equally.  ``shape="benucci"``: the convention of published analyses of the
    Benucci et al. data (:func:`benucci_prior`): ``p_adapter`` split 50/25/25
    over the adapter and its two neighbours, and ``1 - p_adapter`` shared by the
    ``n - 2`` other entries of the closed grid of ``n + 1`` orientations, whose
    two ends (the orientation opposite to the adapter, listed twice) are merged
    here: that orientation gets twice the share of the others.
    """
    check_option("shape", shape, ("single", "benucci"))
    if shape == "single":
        prob = np.full(n, (1.0 - p_adapter) / (n - 1))
        prob[k] = p_adapter
        return prob
    if n % 2 or n < 6:
        raise NeurodataError(f"the 'benucci' ensemble needs an even number (>= 6) of "
                             f"orientations, so that one is opposite the adapter; got {n}.")
    prob = np.full(n, (1.0 - p_adapter) / (n - 2))
    prob[(k + n // 2) % n] *= 2.0
    prob[k] = 0.5 * p_adapter
    prob[(k - 1) % n] = prob[(k + 1) % n] = 0.25 * p_adapter
    return prob


def stimulus_ensemble(
    n_orientations: int = 20, *, adapter: float = 0.0, p_adapter: float | None = None,
    shape: str = "single",
) -> xr.DataArray:
    """Probabilities of grating orientations in a uniform or biased ensemble.

    Orientations are ``-90 + 180 k / n`` degrees.  ``p_adapter=None`` gives the
    uniform ensemble.  In the biased ensemble (``shape="single"``) the adapter
    orientation has probability ``p_adapter`` and the others share the rest
    equally; ``shape="benucci"`` follows the published analyses of the
    Benucci et al. data (:func:`biased_probabilities`, :func:`benucci_prior`).

    Examples
    --------
    >>> ens = stimulus_ensemble(4, p_adapter=0.4)
    >>> ens.stimulus_orientation.values, ens.values
    (array([-90., -45.,   0.,  45.]), array([0.2, 0.2, 0.4, 0.2]))
    >>> stimulus_ensemble(20, p_adapter=0.4, shape="benucci").sel(
    ...     stimulus_orientation=[-9.0, 0.0, 9.0, 18.0, -90.0]).values.round(4)
    array([0.1   , 0.2   , 0.1   , 0.0333, 0.0667])
    """
    n = check_integer("n_orientations", n_orientations, minimum=2)
    theta = -PERIOD / 2 + PERIOD * np.arange(n) / n
    prob = np.full(n, 1.0 / n)
    if p_adapter is not None:
        check_fraction("p_adapter", p_adapter, closed="left")
        dist = np.abs(wrap_orientation(theta - adapter))
        k = int(np.argmin(dist))
        if dist[k] > 1e-6:
            raise NeurodataError(
                f"the adapter ({adapter:g} deg) is not one of the {n} ensemble orientations "
                f"(steps of {PERIOD / n:g} deg from -90); choose an adapter on that grid."
            )
        prob = biased_probabilities(n, k, p_adapter, shape)
    return xr.DataArray(
        prob, dims="stimulus_orientation", coords={"stimulus_orientation": theta},
        name="probability",
        attrs={"adapter": float(adapter), "p_adapter": np.nan if p_adapter is None else p_adapter,
               "shape": shape},
    )


def _unpack_ensemble(ensemble: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(ensemble, xr.DataArray) or ensemble.dims != ("stimulus_orientation",):
        raise ShapeError(
            "ensemble must be a DataArray of probabilities over 'stimulus_orientation' "
            "(see stimulus_ensemble)."
        )
    prob = np.asarray(ensemble.values, dtype=float)
    if np.any(prob < 0) or not np.isclose(prob.sum(), 1.0, atol=1e-9):
        raise NeurodataError(
            f"ensemble probabilities must be non-negative and sum to 1; got sum {prob.sum():g}."
        )
    theta = as_orientations(ensemble["stimulus_orientation"].values, "stimulus_orientation")
    return theta, prob


def _orientations(orientations) -> np.ndarray:
    if isinstance(orientations, xr.DataArray) and "stimulus_orientation" in orientations.coords:
        return as_orientations(orientations["stimulus_orientation"].values, "orientations")
    return as_orientations(orientations, "orientations")


def _drive(phi: np.ndarray, theta: np.ndarray, kappa: float, baseline: float) -> np.ndarray:
    return baseline + _von_mises(phi[:, None] - theta[None, :], kappa)


def feedforward_drive(network: xr.Dataset, orientations) -> xr.DataArray:
    """Feedforward drive ``h_i(theta)`` of every unit to every orientation.

    Examples
    --------
    >>> net = ring_network(4)
    >>> feedforward_drive(net, [0.0]).values.ravel().round(3)
    array([0.018, 0.135, 1.   , 0.135])
    """
    _, phi, kappa, baseline = _unpack_network(network)
    theta = _orientations(orientations)
    return _label(_drive(phi, theta, kappa, baseline), network, theta, "drive")


def _label(r: np.ndarray, network: xr.Dataset, theta: np.ndarray, name: str) -> xr.DataArray:
    return xr.DataArray(
        r, dims=("model_unit", "stimulus_orientation"), name=name,
        coords={"model_unit": network["model_unit"].values,
                "preferred_orientation": ("model_unit", network["preferred_orientation"].values),
                "stimulus_orientation": theta},
    )


def _effective_weights(w: np.ndarray, g: np.ndarray, gain_site: str) -> np.ndarray:
    return w if gain_site == "input" else g[:, None] * w


def _spectral_abscissa(w_eff: np.ndarray, w: np.ndarray | None = None,
                       g: np.ndarray | None = None) -> float:
    """Largest real part of the eigenvalues of ``w_eff`` (= ``w`` or ``diag(g) w``).

    For a symmetric ``w`` the spectrum is real and ``diag(g) w`` is similar to
    the symmetric ``G^1/2 w G^1/2``, so a symmetric eigensolver suffices.
    """
    if w is not None and np.array_equal(w, w.T):
        s = np.ones(w.shape[0]) if g is None else np.sqrt(g)
        return float(np.linalg.eigvalsh(s[:, None] * w * s[None, :])[-1])
    return float(np.max(np.linalg.eigvals(w_eff).real))


def check_stability(network: xr.Dataset, gains=None, *, gain_site: str = "total") -> float:
    """Return the largest real part of the eigenvalues of ``W`` (or ``GW``); raise if >= 1.

    Raises
    ------
    UnstableDynamicsError
        When the fixed point is not an attractor (activity would grow without bound).

    Examples
    --------
    >>> net = ring_network(30)
    >>> round(check_stability(net), 3)
    0.4
    >>> check_stability(net, gains=np.full(30, 3.0), gain_site="total")
    Traceback (most recent call last):
    ...
    neurodata.errors.UnstableDynamicsError: the network is unstable: ...
    """
    check_gain_site(gain_site)
    w, _, _, _ = _unpack_network(network)
    g = np.ones(w.shape[0]) if gains is None else as_unit_vector(gains, w.shape[0], "gains",
                                                                   positive=True)
    abscissa = _spectral_abscissa(_effective_weights(w, g, gain_site), w,
                                  g if gain_site == "total" else None)
    if abscissa >= 1.0 - 1e-12:
        mat = "W" if gain_site == "input" else "G W"
        raise UnstableDynamicsError(
            f"the network is unstable: the largest real part of the eigenvalues of {mat} is "
            f"{abscissa:.4g}, and it must be below 1 for activity to settle to a steady state. "
            f"Lower recurrent_strength{' or the gains' if gain_site == 'total' else ''}."
        )
    return abscissa


def _steady(w: np.ndarray, g: np.ndarray, h: np.ndarray, gain_site: str) -> np.ndarray:
    n = w.shape[0]
    return np.linalg.solve(np.eye(n) - _effective_weights(w, g, gain_site), g[:, None] * h)


def steady_state(
    network: xr.Dataset, orientations, gains=None, *, gain_site: str = "total"
) -> xr.DataArray:
    """Closed-form steady-state responses ``r*`` (the tuning curves).

    ``r* = (I - W)^-1 G h`` for ``gain_site="input"`` and
    ``r* = (I - G W)^-1 G h`` for ``gain_site="total"``; one linear solve for
    all orientations.  Gains of 1 (the default) give the unadapted tuning
    ``(I - W)^-1 h``.

    Parameters
    ----------
    network : xarray.Dataset
        From :func:`ring_network`.
    orientations : array_like or xarray.DataArray
        Stimulus orientations in degrees, or an ensemble from
        :func:`stimulus_ensemble`.
    gains : array_like, shape (N,), optional
        Positive gains (default 1).
    gain_site : {"input", "total"}
        Where the gains act (see the module docstring).

    Returns
    -------
    xarray.DataArray
        ``response(model_unit, stimulus_orientation)``.

    Raises
    ------
    UnstableDynamicsError
        If the steady state is not stable.

    Examples
    --------
    >>> net = ring_network(6, recurrent_strength=0.0)
    >>> r = steady_state(net, [0.0, 30.0])
    >>> bool(np.allclose(r, feedforward_drive(net, [0.0, 30.0])))
    True
    """
    w, phi, kappa, baseline = _unpack_network(network)
    g = np.ones(w.shape[0]) if gains is None else as_unit_vector(gains, w.shape[0], "gains",
                                                                   positive=True)
    check_stability(network, g, gain_site=gain_site)
    theta = _orientations(orientations)
    r = _steady(w, g, _drive(phi, theta, kappa, baseline), gain_site)
    return _label(r, network, theta, "response")


def _propagate_exact(m: np.ndarray, dev0: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``expm(m t) dev0`` for every t: (T, N, K), by eigendecomposition or expm."""
    lam, vec = scipy.linalg.eig(m)
    if np.linalg.cond(vec) < 1e8:
        coef = np.linalg.solve(vec, dev0)
        out = np.einsum("nj,tj,jk->tnk", vec, np.exp(np.outer(t, lam)), coef)
        return np.real(out)
    return np.stack([scipy.linalg.expm(m * ti) @ dev0 for ti in t])


def simulate(
    network: xr.Dataset,
    orientations,
    t,
    gains=None,
    *,
    tau: float = 1.0,
    r0=None,
    gain_site: str = "total",
    method: str = "exact",
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> xr.DataArray:
    """Integrate the rate dynamics for every stimulus at once, from ``r(0) = r0``.

    ``method="exact"`` evaluates the linear system's solution
    ``r(t) = r* + exp(M t / tau) (r0 - r*)`` (``M = -I + W`` or ``-I + GW``);
    ``method="ode"`` integrates it with :func:`scipy.integrate.solve_ivp`
    (DOP853, all units and stimuli as one state vector).

    Parameters
    ----------
    t : array_like
        Non-negative, non-decreasing output times (same units as ``tau``).
    r0 : array_like, shape (N,) or (N, K), optional
        Initial rates (default 0).

    Returns
    -------
    xarray.DataArray
        ``rate(time, model_unit, stimulus_orientation)``.

    Examples
    --------
    >>> net = ring_network(8)
    >>> traj = simulate(net, [0.0], [0.0, 100.0])
    >>> r_inf = steady_state(net, [0.0])
    >>> float(abs(traj.isel(time=-1) - r_inf).max()) < 1e-10
    True
    """
    check_option("method", method, ("exact", "ode"))
    check_positive("tau", tau)
    times = np.atleast_1d(np.asarray(t, dtype=float))
    if times.ndim != 1 or np.any(times < 0) or np.any(np.diff(times) < 0):
        raise NeurodataError("t must be a 1-D array of non-negative, non-decreasing times.")
    r_star = steady_state(network, orientations, gains, gain_site=gain_site)
    w, _, _, _ = _unpack_network(network)
    n, k = r_star.shape
    g = np.ones(n) if gains is None else np.asarray(gains, dtype=float)
    start = np.zeros((n, k)) if r0 is None else np.broadcast_to(
        np.asarray(r0, dtype=float).reshape(n, -1), (n, k)).copy()
    m = (_effective_weights(w, g, gain_site) - np.eye(n)) / tau
    if method == "exact":
        rates = r_star.values[None] + _propagate_exact(m, start - r_star.values, times)
    else:
        b = -m @ r_star.values  # so that dr/dt = m r + b vanishes at r*

        def rhs(_t, y):
            return (m @ y.reshape(n, k) + b).ravel()

        sol = solve_ivp(rhs, (0.0, float(times[-1])), start.ravel(), method="DOP853",
                        t_eval=times, rtol=rtol, atol=atol)
        if not sol.success:
            raise UnstableDynamicsError(f"the ODE solver failed: {sol.message}")
        rates = sol.y.T.reshape(times.size, n, k)
    return xr.DataArray(
        rates, dims=("time", "model_unit", "stimulus_orientation"), name="rate",
        coords={"time": times, **{c: r_star.coords[c] for c in r_star.coords}},
    )
