"""Fitting models of adaptation to population data in the Benucci format.

A model (:func:`rival_model`: this module's gain model, by default at the
total-input site, or a rival) gives the tuning curves of its neurons adapted
to the uniform and to each session's biased ensemble.  They are processed
exactly as the data were: averaged within the same preferred-orientation
bins (at the recorded units' own preferences when the data keep them), and
normalised by the unadapted curve at the same level (each unit before binning,
or each bin row after).  The parameters, and optionally each session's adapter
probability, minimise the squared difference to every session's data over the
distinct entries (the repeated +90 row and column are merged with -90):
:func:`scipy.optimize.least_squares` from several starts, with a
finite-difference Jacobian whose adapter-probability columns recompute only
their own session.

The comparison of models uses one likelihood, independent Gaussian errors of
one variance estimated by maximum likelihood, and one information criterion,
the BIC (``k log n - 2 log L``, ``k`` counting the noise variance).
"""

from __future__ import annotations

import warnings

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
from neurodata.gain_control._benucci import BENUCCI_DIMS, CONDITIONS, check_benucci, unit_scales
from neurodata.gain_control._models import RivalModel, rival_model
from neurodata.gain_control._network import biased_probabilities, ring_preferred
from neurodata.gain_control._validation import PERIOD, wrap_orientation

__all__ = ["fit_adaptation_model", "predict_adaptation"]

P_BOUNDS = (0.02, 0.95)


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


def _binned(curves, interp, weights, normalization, level="unit"):
    """Benucci array (sessions, bins + 1, stimuli, 2) from model curves and a design."""
    rows = np.tensordot(interp, curves, axes=1)
    if level == "unit":
        offset, scale = unit_scales(rows[:, :-1, 0], normalization)  # closed grid: -90 twice
        rows = (rows - offset[:, None, None]) / scale[:, None, None]
    binned = np.tensordot(weights, rows, axes=1)
    if level == "bin":
        s, b = binned.shape[:2]
        offset, scale = unit_scales(binned[:, :, :-1, 0].reshape(s * b, -1), normalization)
        with np.errstate(invalid="ignore", divide="ignore"):
            binned = (binned - offset.reshape(s, b)[:, :, None, None]) / \
                scale.reshape(s, b)[:, :, None, None]
    return np.concatenate([binned, binned[:, :1]], axis=1)


def _open_circle(y: np.ndarray) -> np.ndarray:
    """Merge the repeated +90 row and column of Benucci arrays with -90 (NaN-aware mean)."""
    y = np.array(y, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # both ends NaN: stays NaN
        y[:, 0] = np.nanmean(np.stack([y[:, 0], y[:, -1]]), axis=0)
        y[:, :, 0] = np.nanmean(np.stack([y[:, :, 0], y[:, :, -1]]), axis=0)
    return y[:, :-1, :-1]


def _close_circle(y: np.ndarray) -> np.ndarray:
    """Repeat -90 as +90 along both orientation axes (the inverse of :func:`_open_circle`)."""
    y = np.concatenate([y, y[:, :1]], axis=1)
    return np.concatenate([y, y[:, :, :1]], axis=2)


def _row_affine(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each (session, bin) row of ``pred`` mapped by the affine ``a m + c`` that best fits ``y``.

    Normalising a row by its noisy unadapted minimum and amplitude is an
    affine map of the noise-free normalised row, the same for both
    conditions; refitting ``a`` and ``c`` per row (least squares over its
    stimuli and conditions, NaN entries left out) removes that error from the
    comparison instead of letting it bias the parameters.
    """
    ok = np.isfinite(y)
    m = np.where(ok, pred, 0.0)
    yy = np.where(ok, y, 0.0)
    axes = (2, 3)
    n = ok.sum(axis=axes)
    sm, sy = m.sum(axis=axes), yy.sum(axis=axes)
    smm, smy = (m * m).sum(axis=axes), (m * yy).sum(axis=axes)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = smm - sm**2 / n
        a = np.where(var > 1e-300, (smy - sm * sy / n) / var, 0.0)
        c = np.where(n > 0, (sy - a * sm) / n, 0.0)
    return a[:, :, None, None] * pred + c[:, :, None, None]


def predict_adaptation(tuning_kappa: float = 2.0, recurrent_strength: float = 0.4,
                       recurrent_kappa: float = 4.0, *, baseline: float = 0.0,
                       p_adapter: float = 0.3, n_model_units: int = 60, n_bins: int = 13,
                       n_stimuli: int = 21, gain_site: str = "total",
                       objective: str = "log_gain", prior: str = "single",
                       normalization: str = "mean") -> xr.DataArray:
    """The gain model's prediction in Benucci format (without the session dimension).

    Model neurons are spread evenly within each bin and normalised one by one
    (as :func:`benucci_format` normalises units).

    Examples
    --------
    >>> pred = predict_adaptation()
    >>> pred.dims
    ('preferred_orientation', 'stimulus_orientation', 'condition')
    >>> float(pred.sel(condition="uniform").isel(stimulus_orientation=slice(0, -1))
    ...       .mean("stimulus_orientation").std()) < 1e-12   # every uniform curve averages 1
    True
    """
    check_option("normalization", normalization, ("mean", "max", "minmax"))
    model = rival_model("gain", gain_site=gain_site, objective=objective,
                        n_model_units=n_model_units)
    centres = np.linspace(-PERIOD / 2, PERIOD / 2, int(n_bins))
    closed = np.linspace(-PERIOD / 2, PERIOD / 2, int(n_stimuli))
    biased = _biased(closed[:-1], [p_adapter], prior)
    curves = model.curves((tuning_kappa, recurrent_strength, recurrent_kappa, baseline), closed,
                          biased)
    arr = _binned(curves[0], *_design(centres, n_model_units), normalization)[0]
    return _label_prediction(arr, centres, closed).assign_coords(normalization=normalization)


def _biased(grid: np.ndarray, p_values, prior: str) -> list[np.ndarray]:
    at = np.isclose(wrap_orientation(grid), 0.0)
    if not at.any():
        raise NeurodataError(
            "the adapter (0 deg relative) must be one of the presented orientations.")
    k = int(np.flatnonzero(at)[0])
    return [biased_probabilities(grid.size, k, float(p), prior) for p in p_values]


def _label_prediction(arr, centres, closed) -> xr.DataArray:
    return xr.DataArray(arr, dims=BENUCCI_DIMS[1:], name="prediction",
                        coords={"preferred_orientation": centres,
                                "stimulus_orientation": closed, "condition": list(CONDITIONS)})


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
                "trial table (or fit it with fit_p_adapter=True).")
        p = np.asarray(data["p_adapter"].values, dtype=float)
    else:
        p = np.broadcast_to(np.asarray(p_adapter, dtype=float), (n,)) if np.ndim(p_adapter) == 0 \
            else np.asarray(p_adapter, dtype=float)
    if p.shape != (n,):
        raise ShapeError(f"p_adapter needs one value per session ({n}); got shape {p.shape}.")
    if not np.all((p > 0) & (p < 1)):
        raise NeurodataError(f"p_adapter must lie in (0, 1) for every session; got {p.tolist()}.")
    return p


def _unit_preferences(data, arr: xr.DataArray):
    """Per-unit preferred orientations of a Benucci Dataset, if it has them."""
    if not isinstance(data, xr.Dataset) or "unit_preference" not in data:
        return None
    prefs = data["unit_preference"]
    if prefs.ndim != 2 or prefs.dims[0] != "session" or \
            prefs.sizes["session"] != arr.sizes["session"]:
        raise ShapeError("unit_preference must have dims ('session', 'unit') matching the data.")
    return prefs.values


class _Problem:
    """The least-squares problem of one fit: data, design, model, adapter probabilities."""

    def __init__(self, data, model: RivalModel, p_adapter, fit_p: bool, prior: str,
                 row_affine: bool = False):
        arr = check_benucci(data)
        self.arr, self.model, self.fit_p, self.prior = arr, model, fit_p, prior
        self.row_affine = bool(row_affine)
        self.norm = str(arr["normalization"].values)
        self.level = str(arr["normalization_level"].values)
        if self.norm == "none":
            raise NeurodataError("the data are raw (normalization='none'): normalise them first "
                                 "with normalize_benucci(data, 'minmax'), or pass "
                                 "normalization= to the fit.")
        self.centres = arr["preferred_orientation"].values.astype(float)
        self.closed = arr["stimulus_orientation"].values.astype(float)
        self.prefs = _unit_preferences(data, arr) if self.level == "unit" else None
        self.design = _design(self.centres, model.n_model_units, self.prefs)
        self.p = np.full(arr.sizes["session"], 0.3) if fit_p and p_adapter is None and not (
            isinstance(data, xr.Dataset) and "p_adapter" in data) else \
            session_p_adapter(data, p_adapter)
        self.y = _open_circle(arr.values)
        self.mask = np.isfinite(self.y)
        self.n_sessions = arr.sizes["session"]
        self.k = len(model.parameters)
        self.costs: list[float] = []

    def split(self, theta):
        theta = np.asarray(theta, dtype=float)
        return theta[: self.k], (theta[self.k:] if self.fit_p else self.p)

    def predict(self, theta, sessions=None) -> np.ndarray:
        """Closed Benucci arrays of ``sessions`` (default all) at parameters ``theta``."""
        params, p = self.split(theta)
        sessions = np.arange(self.n_sessions) if sessions is None else np.asarray(sessions)
        values, index = np.unique(p[sessions], return_inverse=True)
        curves = self.model.curves(params, self.closed, _biased(self.closed[:-1], values,
                                                                self.prior))
        interp, weights = self.design
        shared = weights.shape[0] == 1
        out = np.empty((sessions.size, self.centres.size, self.closed.size, 2))
        for j in range(values.size):
            rows = sessions[index == j]
            w = weights if shared else weights[rows]
            binned = _binned(curves[j], interp, w, self.norm, self.level)
            out[index == j] = binned if not shared else binned[0]
        return out

    def fitted(self, theta, sessions=None) -> np.ndarray:
        """The model values compared with the data (open circle, row-affine if chosen)."""
        pred = _open_circle(self.predict(theta, sessions))
        if self.row_affine:
            pred = _row_affine(pred, self.y if sessions is None else self.y[sessions])
        return pred

    def resid(self, theta) -> np.ndarray:
        try:
            r = (self.fitted(theta) - self.y)[self.mask]
        except (UnstableDynamicsError, NeurodataError):
            r = np.full(int(self.mask.sum()), 1e3)
        self.costs.append(0.5 * float(r @ r))
        return r

    def jac(self, theta, step: float = 1e-6) -> np.ndarray:
        """Forward differences; an adapter-probability column recomputes its session only."""
        theta = np.asarray(theta, dtype=float)
        base = self.fitted(theta)
        cols = []
        for j in range(theta.size):
            h = step * max(1.0, abs(theta[j]))
            t = theta.copy()
            t[j] += h
            if j < self.k:
                diff = (self.fitted(t) - base) / h
            else:
                s = j - self.k
                diff = np.zeros_like(base)
                diff[s] = (self.fitted(t, [s])[0] - base[s]) / h
            cols.append(diff[self.mask])
        return np.stack(cols, axis=1)

    def bounds(self, bounds=None):
        lo, hi = self.model.bounds if bounds is None else (np.asarray(b, float) for b in bounds)
        if self.fit_p:
            lo = np.concatenate([lo, np.full(self.n_sessions, P_BOUNDS[0])])
            hi = np.concatenate([hi, np.full(self.n_sessions, P_BOUNDS[1])])
        return lo, hi

    def starts(self, init, n_init, rng, lo, hi):
        first = self.model.init if init is None else np.asarray(init, dtype=float)
        if first.size == self.k and self.fit_p:
            first = np.concatenate([first, self.p])
        out = [np.clip(first, lo, hi)]
        for _ in range(max(n_init - 1, 0)):
            draw = np.exp(rng.uniform(np.log(np.maximum(lo, 1e-2)), np.log(np.maximum(hi, 2e-2))))
            draw[: self.k][lo[: self.k] == 0] *= rng.uniform(0, 1)  # reach 0-bounded ones
            out.append(np.clip(draw, lo, hi))
        return out


def _as_normalized(data, normalization):
    arr = check_benucci(data)
    if str(arr["normalization"].values) != "none":
        return data
    from neurodata.gain_control._conventions import normalize_benucci

    return normalize_benucci(data, normalization or "minmax")


@renamed_kwargs(n_starts="n_init")
def fit_adaptation_model(data, *, model: str | RivalModel = "gain", gain_site: str = "total",
                         objective: str = "log_gain", p_adapter=None,
                         fit_p_adapter: bool = False, prior: str | None = None,
                         normalization: str | None = None, row_affine: bool | None = None,
                         n_model_units: int = 60, init=None,
                         n_init: int = 4, max_iter: int | None = None, bounds=None,
                         certify: bool = True, random_state=None,
                         progress: bool | None = None) -> xr.Dataset:
    """Fit a model of adaptation to Benucci-format data.

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
        within each bin.  Raw data (``normalization="none"``, as
        :func:`load_benucci_mat` reads the published layout) are first
        normalised by :func:`normalize_benucci`.
    model : str or RivalModel
        ``"gain"`` (this module's model), ``"no_recurrence"``, ``"equalize"``,
        ``"normalization"``, or a :func:`rival_model`.
    gain_site, objective : str
        For ``model="gain"`` (:func:`optimal_gains`).
    p_adapter : float or array_like, optional
        The adapter probability, one value or one per session; by default the
        data's ``p_adapter`` variable.  With ``fit_p_adapter`` these are the
        starting values (0.3 where unknown).
    fit_p_adapter : bool
        Fit each session's adapter probability too.
    prior : {"single", "benucci"}, optional
        Shape of the biased ensemble (:func:`stimulus_ensemble`); by default
        the data's ``prior`` coordinate (``"benucci"`` for
        :func:`load_benucci_mat`), else ``"single"``.
    normalization : {"minmax", "mean", "max"}, optional
        For raw data: how to normalise them (default ``"minmax"``, the
        published convention).
    row_affine : bool, optional
        Refit an offset and a scale per (session, bin) row, shared by the two
        conditions (:func:`_row_affine`): normalising by a noisy minimum and
        peak is such an affine error.  Default: True for ``"minmax"`` and
        ``"max"`` data, False for ``"mean"``.  The two per row count as
        parameters.
    n_model_units : int
        Resolution of the model ring.
    init : sequence, optional
        First start (default: the model's defaults); further starts are drawn
        log-uniformly within ``bounds``.
    n_init : int
        Number of starts; the lowest cost wins.
    max_iter : int, optional
        Cap on the evaluations of the cost per start (scipy's ``max_nfev``);
        None: until convergence.
    bounds : (lower, upper), optional
        Bounds on the model's parameters (default :attr:`RivalModel.bounds`).
    certify : bool
        Re-solve the gains of every ensemble from 4 cold starts at the fitted
        parameters and report whether the warm-started solutions were the best
        found (attrs ``n_ensembles``, ``n_matched``, ``gradient_norm``,
        ``hessian_min_eigenvalue``).
    random_state : None, int or numpy.random.Generator
        For the further starts (None: fresh entropy).
    progress : bool, optional
        Progress bar over starts (None: automatic).

    Returns
    -------
    xarray.Dataset
        ``estimate(parameter)``, ``stderr(parameter)`` (from the Jacobian at the
        optimum; it ignores that units sampled into a bin share their deviation
        across stimuli, so it is optimistic), ``p_adapter(session)`` (and
        ``p_adapter_stderr`` when fitted), ``prediction(preferred_orientation,
        stimulus_orientation, condition)`` (population level at the sessions'
        mean adapter probability), ``fitted`` (the model values compared with
        each session), ``rmse``, ``r2``, ``log_likelihood``, ``n_data``,
        ``n_params``, ``aic``, ``bic``, and ``cost(iteration)``: the
        least-squares cost at every evaluation of the winning start.

    Examples
    --------
    Noise-free data from known parameters are recovered exactly:

    >>> data = predict_adaptation(1.8, 0.5, 3.0, baseline=0.2).expand_dims(session=1)
    >>> fit = fit_adaptation_model(data, p_adapter=0.3, n_init=1, certify=False)
    >>> fit.estimate.values.round(4)
    array([1.8, 0.5, 3. , 0.2])
    """
    if isinstance(model, str):
        model = rival_model(model, gain_site=gain_site, objective=objective,
                            n_model_units=n_model_units)
    model.reset()
    n_init = check_integer("n_init", n_init)
    max_iter = check_integer("max_iter", max_iter, allow_none=True)
    data = _as_normalized(data, normalization)
    arr = check_benucci(data)
    prior = prior or (str(arr["prior"].values) if "prior" in arr.coords else "single")
    check_option("prior", prior, ("single", "benucci"))
    if row_affine is None:
        row_affine = str(arr["normalization"].values) in ("minmax", "max")
    prob = _Problem(data, model, p_adapter, bool(fit_p_adapter), prior, row_affine)
    lo, hi = prob.bounds(bounds)
    rng = check_random_state(random_state)
    best, best_costs = None, []
    for x0 in progress_bar(prob.starts(init, n_init, rng, lo, hi), progress=progress,
                           desc=f"fit {model.name}"):
        prob.costs = []
        res = least_squares(prob.resid, x0, jac=prob.jac, bounds=(lo, hi), x_scale="jac",
                            xtol=1e-10, ftol=1e-12, max_nfev=max_iter)
        if best is None or res.cost < best.cost:
            best, best_costs = res, list(prob.costs)
    assert best is not None
    cert = model.certify(prob.split(best.x)[0], prob.closed, _biased(
        prob.closed[:-1], np.unique(prob.split(best.x)[1]), prior), random_state=0) \
        if certify else {}
    return _fit_result(prob, best, best_costs, cert)


def _fit_result(prob: _Problem, best, costs, cert) -> xr.Dataset:
    mask, y = prob.mask, prob.y
    n = int(mask.sum())
    k = best.x.size + (2 * int(np.any(mask, axis=(2, 3)).sum()) if prob.row_affine else 0)
    rss = 2 * best.cost
    cov = np.linalg.pinv(best.jac.T @ best.jac) * (rss / max(n - k - 1, 1))
    err = np.sqrt(np.clip(np.diag(cov), 0, None))
    params, p = prob.split(best.x)
    loglik = -0.5 * n * (np.log(2 * np.pi * rss / n) + 1.0)
    centres = prob.centres
    population = _binned(prob.model.curves(params, prob.closed, _biased(
        prob.closed[:-1], [float(np.mean(p))], prob.prior))[0],
        *_design(centres, prob.model.n_model_units), prob.norm, prob.level)[0]
    p_err = err[prob.k:] if prob.fit_p else np.full(p.size, np.nan)
    return xr.Dataset(
        {"estimate": ("parameter", params), "stderr": ("parameter", err[: prob.k]),
         "p_adapter": ("session", p), "p_adapter_stderr": ("session", p_err),
         "prediction": _label_prediction(population, centres, prob.closed),
         "fitted": (BENUCCI_DIMS, _close_circle(prob.fitted(best.x))),
         "rmse": float(np.sqrt(rss / n)), "r2": float(1 - rss / np.sum((y[mask] - y[mask].mean())
                                                                         ** 2)),
         "log_likelihood": float(loglik), "n_data": n, "n_params": k + 1,
         "aic": float(2 * (k + 1) - 2 * loglik), "bic": float((k + 1) * np.log(n) - 2 * loglik),
         "cost": ("iteration", np.asarray(costs, dtype=float))},
        coords={"parameter": list(prob.model.parameters), "session": prob.arr["session"].values,
                "iteration": np.arange(len(costs)), "normalization": prob.norm,
                "normalization_level": prob.level},
        attrs={"model": prob.model.name, "gain_site": prob.model.gain_site,
               "objective": prob.model.objective, "prior": prob.prior,
               "p_adapter_fitted": int(prob.fit_p), "row_affine": int(prob.row_affine),
               "n_model_units": prob.model.n_model_units,
               "unit_preferences_used": int(prob.prefs is not None), "nfev": int(best.nfev),
               **{key: (float(v) if isinstance(v, float) else int(v)) for key, v in cert.items()}},
    )


def history_of(fit: xr.Dataset) -> xr.Dataset:
    """The training history of a fit: its cost at every evaluation, on ``iteration``."""
    return make_history({"cost": fit["cost"].values,
                         "best_cost": np.minimum.accumulate(fit["cost"].values)},
                        attrs={"iteration": "evaluation of the least-squares cost (best start)"})
