"""Fitting the gain-control model to population adaptation data (Benucci format).

The model's free parameters are the feedforward tuning concentration
``tuning_kappa``, the recurrent strength ``recurrent_strength`` and the recurrent
width ``recurrent_kappa``; the adapter probability is part of the experimental
design and is given, per session (or read from the data, where
:func:`benucci_format` estimated it from the trial table).  For each parameter
set the network's gains are the optimal gains for the uniform and for each
session's biased ensemble (over the orientations presented), the tuning curves
are normalised per model neuron by the summary of the uniform-condition curve
the data used and averaged within the same preferred-orientation bins as the
data, exactly as the data were.  The parameters minimise the squared
difference to every session's data (:func:`scipy.optimize.least_squares`,
several starts).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.optimize import least_squares

from neurodata._utils import (
    check_integer,
    check_option,
    check_random_state,
    make_history,
    progress_bar,
    renamed_kwargs,
)
from neurodata.errors import NeurodataError, ShapeError, UnstableDynamicsError
from neurodata.gain_control._benucci import BENUCCI_DIMS, CONDITIONS, check_benucci
from neurodata.gain_control._network import (
    _drive,
    _ring_weights,
    _steady,
    ring_network,
    ring_preferred,
)
from neurodata.gain_control._objective import _newton_balance, _quadratic_form, optimize_gains
from neurodata.gain_control._validation import PERIOD, check_gain_site, wrap_orientation

__all__ = ["fit_adaptation_model", "predict_adaptation"]

PARAMETERS = ("tuning_kappa", "recurrent_strength", "recurrent_kappa")
DEFAULT_INIT = (2.0, 0.4, 4.0)
DEFAULT_BOUNDS = ((0.2, 0.0, 0.2), (12.0, 0.9, 30.0))


def _ensembles(grid: np.ndarray, p_values) -> tuple[np.ndarray, list[np.ndarray]]:
    """Uniform probabilities over ``grid`` and the biased ones for each p (adapter at 0)."""
    n_k = grid.size
    at = np.isclose(wrap_orientation(grid), 0.0)
    if not at.any():
        raise NeurodataError(
            "the adapter (0 deg relative) must be one of the presented orientations.")
    biased = [np.where(at, p, (1 - p) / (n_k - 1)) for p in p_values]
    return np.full(n_k, 1.0 / n_k), biased


def _gains(w, h_grid, prob, alpha, gain_site, net=None, grid=None):
    if gain_site == "input":
        return _newton_balance(_quadratic_form(w, h_grid, prob), alpha)
    ens = xr.DataArray(prob, dims="stimulus_orientation", coords={"stimulus_orientation": grid})
    return optimize_gains(net, ens, gain_site=gain_site).values


def _model_curves(params, closed, p_values, n_model_units, gain_site) -> np.ndarray:
    """Tuning curves (p, model_unit, stimulus, condition) of the ring adapted to both ensembles.

    The uniform condition is the same for every p; the result has one entry
    per value of ``p_values``.
    """
    kappa, strength, kappa_w = (float(p) for p in params)
    if strength >= 1.0:  # the ring's largest eigenvalue is its row sum
        raise UnstableDynamicsError(f"recurrent_strength {strength:g} >= 1 is unstable.")
    phi = ring_preferred(n_model_units)
    w = _ring_weights(phi, strength, kappa_w)
    grid = closed[:-1]
    uniform, biased = _ensembles(grid, p_values)
    h = _drive(phi, closed, kappa, 0.0)
    net = None
    if gain_site == "input":
        alpha = n_model_units / (2.0 * _quadratic_form(w, h[:, :-1], uniform).sum())
    else:
        net = ring_network(n_model_units, tuning_kappa=kappa, recurrent_strength=strength,
                           recurrent_kappa=kappa_w)
        alpha = None
    g_u = _gains(w, h[:, :-1], uniform, alpha, gain_site, net, grid)
    r_u = _steady(w, g_u, h, gain_site)
    out = np.empty((len(biased), n_model_units, closed.size, 2))
    for i, prob in enumerate(biased):
        out[i, :, :, 0] = r_u
        out[i, :, :, 1] = _steady(w, _gains(w, h[:, :-1], prob, alpha, gain_site, net, grid), h,
                                  gain_site)
    return out


def _bin_index(pref, centres):
    step = centres[1] - centres[0]
    return np.round((wrap_orientation(pref) - centres[0]) / step).astype(int) % (centres.size - 1)


def _design(centres, n_model_units, unit_prefs=None) -> tuple[np.ndarray, np.ndarray]:
    """Matrices that turn model-neuron curves into Benucci bins.

    ``interp`` (rows x model neurons) gives each row's curve as a linear
    interpolation around the ring; ``weights`` (sessions, bins, rows) averages
    rows within bins.  Without ``unit_prefs`` the rows are the model neurons
    themselves (preferences spread evenly within each bin); with them, the rows
    are the recorded units at their estimated preferred orientations.
    """
    phi = ring_preferred(n_model_units)
    n_bins = centres.size - 1
    if unit_prefs is None:
        interp = np.eye(n_model_units)
        sess = np.zeros(n_model_units, dtype=int)
        b = _bin_index(phi, centres)
        n_sessions = 1
    else:
        prefs = np.asarray(unit_prefs, dtype=float)
        sess, col = np.nonzero(np.isfinite(prefs))
        psi = wrap_orientation(prefs[sess, col])
        pos = (psi - phi[0]) / (PERIOD / n_model_units)
        i0 = np.floor(pos).astype(int) % n_model_units
        frac = pos - np.floor(pos)
        interp = np.zeros((psi.size, n_model_units))
        np.add.at(interp, (np.arange(psi.size), i0), 1 - frac)
        np.add.at(interp, (np.arange(psi.size), (i0 + 1) % n_model_units), frac)
        b = _bin_index(psi, centres)
        n_sessions = prefs.shape[0]
    weights = np.zeros((n_sessions, n_bins, sess.size))
    weights[sess, b, np.arange(sess.size)] = 1.0
    counts = weights.sum(axis=2, keepdims=True)
    if unit_prefs is None and np.any(counts == 0):
        raise NeurodataError(f"n_model_units={n_model_units} leaves some preferred-orientation "
                             f"bins without model neurons; use more model units.")
    return interp, np.divide(weights, counts, out=np.zeros_like(weights), where=counts > 0)


def _binned(curves, interp, weights, normalization):
    """Benucci array (sessions, bins + 1, stimuli, 2) from model curves and a design."""
    rows = np.tensordot(interp, curves, axes=1)
    ref = rows[:, :-1, 0]  # the closed grid repeats -90 as +90
    scale = ref.max(axis=1) if normalization == "max" else ref.mean(axis=1)
    binned = np.tensordot(weights, rows / scale[:, None, None], axes=1)
    return np.concatenate([binned, binned[:, :1]], axis=1)


def _session_binned(curves, design, normalization, p_index):
    """Each session's Benucci array from the curves of its own adapter probability."""
    interp, weights = design
    per_p = [_binned(c, interp, weights, normalization) for c in curves]
    n_sessions = weights.shape[0]
    if n_sessions == 1 and len(p_index) > 1:  # population design shared by the sessions
        return np.stack([per_p[j][0] for j in p_index])
    return np.stack([per_p[j][s] for s, j in enumerate(p_index)])


def predict_adaptation(tuning_kappa: float = 2.0, recurrent_strength: float = 0.4,
                       recurrent_kappa: float = 4.0, *, p_adapter: float = 0.3,
                       n_model_units: int = 60, n_bins: int = 13, n_stimuli: int = 21,
                       gain_site: str = "input", normalization: str = "mean") -> xr.DataArray:
    """Model prediction in Benucci format (without the session dimension).

    Examples
    --------
    >>> pred = predict_adaptation()
    >>> pred.dims
    ('preferred_orientation', 'stimulus_orientation', 'condition')
    >>> float(pred.sel(condition="uniform").isel(stimulus_orientation=slice(0, -1))
    ...       .mean("stimulus_orientation").std()) < 1e-12   # every uniform curve averages 1
    True
    """
    check_gain_site(gain_site)
    check_option("normalization", normalization, ("mean", "max"))
    centres = np.linspace(-PERIOD / 2, PERIOD / 2, int(n_bins))
    closed = np.linspace(-PERIOD / 2, PERIOD / 2, int(n_stimuli))
    design = _design(centres, n_model_units)
    curves = _model_curves((tuning_kappa, recurrent_strength, recurrent_kappa), closed,
                           [p_adapter], n_model_units, gain_site)
    arr = _binned(curves[0], *design, normalization)[0]
    return _label_prediction(arr, centres, closed).assign_coords(normalization=normalization)


def _label_prediction(arr, centres, closed) -> xr.DataArray:
    return xr.DataArray(arr, dims=BENUCCI_DIMS[1:], name="prediction",
                        coords={"preferred_orientation": centres,
                                "stimulus_orientation": closed, "condition": list(CONDITIONS)})


def _starts(init, n_init, rng, lo, hi):
    first = np.clip(np.asarray(DEFAULT_INIT if init is None else init, dtype=float), lo, hi)
    draws = [np.exp(rng.uniform(np.log(np.maximum(lo, 1e-2)), np.log(hi))) for _ in
             range(max(int(n_init) - 1, 0))]
    return [first, *[np.clip(d, lo, hi) for d in draws]]


def session_p_adapter(data, p_adapter=None) -> np.ndarray:
    """The adapter probability of every session: given (one value or one per session) or
    read from the data's ``p_adapter`` variable (:func:`benucci_format` estimates it)."""
    arr = check_benucci(data)
    n = arr.sizes["session"]
    if p_adapter is None:
        if not isinstance(data, xr.Dataset) or "p_adapter" not in data:
            raise NeurodataError(
                "the adapter probability of each session is unknown: pass p_adapter= (one value, "
                "or one per session), or data from benucci_format, which estimates it from the "
                "trial table.")
        p = np.asarray(data["p_adapter"].values, dtype=float)
    else:
        p = np.broadcast_to(np.asarray(p_adapter, dtype=float), (n,)) if np.ndim(p_adapter) == 0 \
            else np.asarray(p_adapter, dtype=float)
    if p.shape != (n,):
        raise ShapeError(f"p_adapter needs one value per session ({n}); got shape {p.shape}.")
    if not np.all((p > 0) & (p < 1)):
        raise NeurodataError(f"p_adapter must lie in (0, 1) for every session; got {p.tolist()}.")
    return p


class _Problem:
    """The least-squares problem of one fit: data, design, adapter probabilities."""

    def __init__(self, data, p_adapter, n_model_units, gain_site):
        arr = check_benucci(data)
        self.norm = str(arr["normalization"].values)
        self.centres = arr["preferred_orientation"].values.astype(float)
        self.closed = arr["stimulus_orientation"].values.astype(float)
        self.prefs = _unit_preferences(data, arr)
        self.design = _design(self.centres, n_model_units, self.prefs)
        self.p = session_p_adapter(data, p_adapter)
        self.p_values, self.p_index = np.unique(self.p, return_inverse=True)
        self.y = arr.values
        self.mask = np.isfinite(self.y)
        self.n_model_units, self.gain_site = n_model_units, gain_site
        self.sessions = arr["session"].values
        self.costs: list[float] = []

    def predict(self, x):
        curves = _model_curves(x, self.closed, self.p_values, self.n_model_units, self.gain_site)
        return _session_binned(curves, self.design, self.norm, self.p_index)

    def resid(self, x):
        try:
            r = (self.predict(x) - self.y)[self.mask]
        except UnstableDynamicsError:
            r = np.full(int(self.mask.sum()), 1e3)
        self.costs.append(0.5 * float(r @ r))
        return r


@renamed_kwargs(n_starts="n_init")
def fit_adaptation_model(data, *, p_adapter=None, n_model_units: int = 60, init=None,
                         n_init: int = 4, max_iter: int | None = None, bounds=DEFAULT_BOUNDS,
                         gain_site: str = "input", random_state=None,
                         progress: bool | None = None) -> xr.Dataset:
    """Fit tuning width, recurrent strength and recurrent width to Benucci-format data.

    Parameters
    ----------
    data : xarray.DataArray or xarray.Dataset
        Benucci-format responses (see :func:`check_benucci`).  When ``data`` is
        the Dataset of :func:`benucci_format` (or
        :func:`~neurodata.datasets.make_adaptation_experiment`), the estimated
        preferred orientation of every unit (``unit_preference``) is used: the
        model bin for a session averages model curves at those orientations
        (linear interpolation around the ring), exactly as the data bin
        averaged those units.  Otherwise preferences are taken as spread evenly
        within each bin.
    p_adapter : float or array_like, optional
        Probability of the adapter in the biased ensemble (experimental
        design): one value, or one per session.  By default the data's
        ``p_adapter`` variable (:func:`benucci_format` estimates it from the
        trial table).
    n_model_units : int
        Resolution of the model ring.
    init : sequence of 3 floats, optional
        First start (default: the model defaults 2.0, 0.4, 4.0); further starts
        are drawn log-uniformly within ``bounds``.
    n_init : int
        Number of starts; the lowest cost wins.
    max_iter : int, optional
        Cap on the evaluations of the cost per start (scipy's ``max_nfev``);
        None: until convergence.
    bounds : (lower, upper)
        Bounds on (tuning_kappa, recurrent_strength, recurrent_kappa).
    gain_site : {"input", "total"}
        Where the gains act (see :func:`ring_network`).
    random_state : None, int or numpy.random.Generator
        For the further starts (None: fresh entropy).
    progress : bool, optional
        Progress bar over starts (None: automatic).

    Returns
    -------
    xarray.Dataset
        ``estimate(parameter)``, ``stderr(parameter)`` (from the Jacobian at the
        optimum; it ignores that units sampled into a bin share their deviation
        across stimuli, so it is optimistic), ``prediction(preferred_orientation,
        stimulus_orientation, condition)`` (the population-level model at the
        sessions' mean adapter probability, unit preferences spread evenly in
        each bin), ``fitted`` (the model values compared with each session),
        ``p_adapter(session)``, ``rmse`` and ``r2`` of that comparison, and
        ``cost(iteration)``: the least-squares cost at every evaluation of the
        winning start.

    Examples
    --------
    Noise-free data from known parameters are recovered exactly:

    >>> data = predict_adaptation(1.8, 0.5, 3.0, p_adapter=0.3).expand_dims(session=1)
    >>> fit = fit_adaptation_model(data, p_adapter=0.3, n_init=1)
    >>> fit.estimate.values.round(4)
    array([1.8, 0.5, 3. ])
    """
    check_gain_site(gain_site)
    n_init = check_integer("n_init", n_init)
    max_iter = check_integer("max_iter", max_iter, allow_none=True)
    prob = _Problem(data, p_adapter, int(n_model_units), gain_site)
    lo, hi = (np.asarray(b, dtype=float) for b in bounds)
    rng = check_random_state(random_state)
    best, best_costs = None, []
    for x0 in progress_bar(_starts(init, n_init, rng, lo, hi), progress=progress,
                           desc="fit starts"):
        prob.costs = []
        res = least_squares(prob.resid, x0, bounds=(lo, hi), x_scale="jac", xtol=1e-10,
                            ftol=1e-12, max_nfev=max_iter)
        if best is None or res.cost < best.cost:
            best, best_costs = res, list(prob.costs)
    assert best is not None
    return _fit_result(prob, best, best_costs)


def _fit_result(prob: _Problem, best, costs) -> xr.Dataset:
    mask, y = prob.mask, prob.y
    dof = max(int(mask.sum()) - len(PARAMETERS), 1)
    cov = np.linalg.pinv(best.jac.T @ best.jac) * (2 * best.cost / dof)
    fitted = prob.predict(best.x)
    r2 = 1 - 2 * best.cost / np.sum((y[mask] - y[mask].mean()) ** 2)
    curves = _model_curves(best.x, prob.closed, [float(prob.p.mean())], prob.n_model_units,
                           prob.gain_site)
    population = _binned(curves[0], *_design(prob.centres, prob.n_model_units), prob.norm)[0]
    return xr.Dataset(
        {"estimate": ("parameter", best.x), "stderr": ("parameter", np.sqrt(np.diag(cov))),
         "prediction": _label_prediction(population, prob.centres, prob.closed),
         "fitted": (BENUCCI_DIMS, np.array(fitted)),
         "p_adapter": ("session", prob.p),
         "rmse": float(np.sqrt(2 * best.cost / mask.sum())), "r2": float(r2),
         "cost": ("iteration", np.asarray(costs, dtype=float))},
        coords={"parameter": list(PARAMETERS), "session": prob.sessions,
                "iteration": np.arange(len(costs)), "normalization": prob.norm},
        attrs={"n_model_units": int(prob.n_model_units), "gain_site": prob.gain_site,
               "unit_preferences_used": int(prob.prefs is not None), "nfev": int(best.nfev)},
    )


def _unit_preferences(data, arr: xr.DataArray):
    """Per-unit preferred orientations of a Benucci Dataset, if it has them."""
    if not isinstance(data, xr.Dataset) or "unit_preference" not in data:
        return None
    prefs = data["unit_preference"]
    if prefs.ndim != 2 or prefs.dims[0] != "session" or \
            prefs.sizes["session"] != arr.sizes["session"]:
        raise ShapeError("unit_preference must have dims ('session', 'unit') matching the data.")
    return prefs.values


def history_of(fit: xr.Dataset) -> xr.Dataset:
    """The training history of a fit: its cost at every evaluation, on ``iteration``."""
    return make_history({"cost": fit["cost"].values,
                         "best_cost": np.minimum.accumulate(fit["cost"].values)},
                        attrs={"iteration": "evaluation of the least-squares cost (best start)"})
