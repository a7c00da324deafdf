"""Fitting the gain-control model to population adaptation data (Benucci format).

The model's free parameters are the feedforward tuning concentration
``tuning_kappa``, the recurrent strength ``recurrent_strength`` and the recurrent
width ``recurrent_kappa``; the adapter probability is part of the experimental
design and is given.  For each parameter set the network's gains are the
optimal gains for the uniform and for the biased ensemble (over the
orientations presented), the tuning curves are normalised per model neuron by
the peak of the uniform-condition curve and averaged within the same
preferred-orientation bins as the data, exactly as the data were.  The
parameters minimise the squared difference to every session's data
(:func:`scipy.optimize.least_squares`, several starts).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.optimize import least_squares
from tqdm.auto import tqdm

from neurodata.errors import NeurodataError, ShapeError, UnstableDynamicsError
from neurodata.gain_control._benucci import BENUCCI_DIMS, CONDITIONS, benucci_format, check_benucci
from neurodata.gain_control._effects import adaptation_effects
from neurodata.gain_control._network import (
    _drive,
    _ring_weights,
    _steady,
    ring_network,
    ring_preferred,
)
from neurodata.gain_control._objective import _newton_balance, _quadratic_form, optimize_gains
from neurodata.gain_control._validation import PERIOD, wrap_orientation

__all__ = ["AdaptiveGainModel", "fit_adaptation_model", "predict_adaptation"]

PARAMETERS = ("tuning_kappa", "recurrent_strength", "recurrent_kappa")
DEFAULT_BOUNDS = ((0.2, 0.0, 0.2), (12.0, 0.9, 30.0))


def _model_curves(params, closed, p_adapter, n_model_units, gain_site):
    """Tuning curves (unit, stimulus, condition) of the ring adapted to both ensembles."""
    kappa, strength, kappa_w = (float(p) for p in params)
    phi = ring_preferred(n_model_units)
    w = _ring_weights(phi, strength, kappa_w)
    if strength >= 1.0:  # the ring's largest eigenvalue is its row sum
        raise UnstableDynamicsError(f"recurrent_strength {strength:g} >= 1 is unstable.")
    n_k = closed.size - 1
    grid = closed[:-1]
    uniform = np.full(n_k, 1.0 / n_k)
    biased = np.where(np.isclose(wrap_orientation(grid), 0.0), p_adapter,
                      (1 - p_adapter) / (n_k - 1))
    if not np.isclose(biased.sum(), 1.0):
        raise NeurodataError(
            "the adapter (0 deg relative) must be one of the presented orientations.")
    h = _drive(phi, closed, kappa, 0.0)
    if gain_site == "input":
        q_u, q_b = (_quadratic_form(w, h[:, :-1], p) for p in (uniform, biased))
        alpha = n_model_units / (2.0 * q_u.sum())
        gains = [_newton_balance(q_u, alpha), _newton_balance(q_b, alpha)]
    else:
        net = ring_network(n_model_units, tuning_kappa=kappa, recurrent_strength=strength,
                           recurrent_kappa=kappa_w)
        ens = xr.DataArray(uniform, dims="stimulus_orientation",
                           coords={"stimulus_orientation": grid})
        gains = [optimize_gains(net, e, gain_site=gain_site).values
                 for e in (ens, ens.copy(data=biased))]
    return np.stack([_steady(w, g, h, gain_site) for g in gains], axis=-1)


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
        pos = (psi - phi[0]) / (180.0 / n_model_units)
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
    centres = np.linspace(-PERIOD / 2, PERIOD / 2, int(n_bins))
    closed = np.linspace(-PERIOD / 2, PERIOD / 2, int(n_stimuli))
    design = _design(centres, n_model_units)
    curves = _model_curves((tuning_kappa, recurrent_strength, recurrent_kappa), closed,
                           p_adapter, n_model_units, gain_site)
    arr = _binned(curves, *design, normalization)[0]
    return _label_prediction(arr, centres, closed).assign_coords(normalization=normalization)


def _label_prediction(arr, centres, closed) -> xr.DataArray:
    return xr.DataArray(arr, dims=BENUCCI_DIMS[1:], name="prediction",
                        coords={"preferred_orientation": centres,
                                "stimulus_orientation": closed, "condition": list(CONDITIONS)})


def _starts(init, n_starts, rng, lo, hi):
    first = np.clip(np.asarray((2.0, 0.4, 4.0) if init is None else init, dtype=float), lo, hi)
    draws = [np.exp(rng.uniform(np.log(np.maximum(lo, 1e-2)), np.log(hi))) for _ in
             range(max(int(n_starts) - 1, 0))]
    return [first, *[np.clip(d, lo, hi) for d in draws]]


def fit_adaptation_model(data, *, p_adapter: float, n_model_units: int = 60, init=None,
                         n_starts: int = 4, bounds=DEFAULT_BOUNDS, gain_site: str = "input",
                         random_state=None, progress: bool = False) -> xr.Dataset:
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
    p_adapter : float
        Probability of the adapter in the biased ensemble (experimental design).
    n_model_units : int
        Resolution of the model ring.
    init : sequence of 3 floats, optional
        First start (default: the model defaults 2.0, 0.4, 4.0); further starts
        are drawn log-uniformly within ``bounds``.
    n_starts : int
        Number of starts; the lowest cost wins.
    bounds : (lower, upper)
        Bounds on (tuning_kappa, recurrent_strength, recurrent_kappa).
    random_state : int or numpy.random.Generator, optional
    progress : bool
        Show a progress bar over starts.

    Returns
    -------
    xarray.Dataset
        ``estimate(parameter)``, ``stderr(parameter)`` (from the Jacobian at the
        optimum; it ignores that units sampled into a bin share their deviation
        across stimuli, so it is optimistic), ``prediction(preferred_orientation,
        stimulus_orientation, condition)`` (the population-level model, unit
        preferences spread evenly in each bin), ``fitted`` (the model values
        compared with each session), ``rmse`` and ``r2`` of that comparison.

    Examples
    --------
    Noise-free data from known parameters are recovered exactly:

    >>> data = predict_adaptation(1.8, 0.5, 3.0, p_adapter=0.3).expand_dims(session=1)
    >>> fit = fit_adaptation_model(data, p_adapter=0.3, n_starts=1)
    >>> fit.estimate.values.round(4)
    array([1.8, 0.5, 3. ])
    """
    arr = check_benucci(data)
    if not 0 < p_adapter < 1:
        raise NeurodataError(f"p_adapter must be in (0, 1); got {p_adapter}.")
    norm = str(arr["normalization"].values)
    centres = arr["preferred_orientation"].values.astype(float)
    closed = arr["stimulus_orientation"].values.astype(float)
    prefs = _unit_preferences(data, arr)
    design = _design(centres, n_model_units, prefs)
    y = arr.values
    mask = np.isfinite(y)
    lo, hi = (np.asarray(b, dtype=float) for b in bounds)

    def predict(x):
        curves = _model_curves(x, closed, p_adapter, n_model_units, gain_site)
        return np.broadcast_to(_binned(curves, *design, norm), y.shape)

    def resid(x):
        try:
            return (predict(x) - y)[mask]
        except UnstableDynamicsError:
            return np.full(int(mask.sum()), 1e3)

    rng = np.random.default_rng(random_state)
    best = None
    for x0 in tqdm(_starts(init, n_starts, rng, lo, hi), desc="fit starts", disable=not progress):
        res = least_squares(resid, x0, bounds=(lo, hi), x_scale="jac", xtol=1e-10, ftol=1e-12)
        if best is None or res.cost < best.cost:
            best = res
    assert best is not None
    dof = max(int(mask.sum()) - len(PARAMETERS), 1)
    cov = np.linalg.pinv(best.jac.T @ best.jac) * (2 * best.cost / dof)
    fitted = predict(best.x)
    r2 = 1 - 2 * best.cost / np.sum((y[mask] - y[mask].mean()) ** 2)
    population = _binned(_model_curves(best.x, closed, p_adapter, n_model_units, gain_site),
                         *_design(centres, n_model_units), norm)[0]
    return xr.Dataset(
        {"estimate": ("parameter", best.x), "stderr": ("parameter", np.sqrt(np.diag(cov))),
         "prediction": _label_prediction(population, centres, closed),
         "fitted": (BENUCCI_DIMS, np.array(fitted)),
         "rmse": float(np.sqrt(2 * best.cost / mask.sum())), "r2": float(r2)},
        coords={"parameter": list(PARAMETERS), "session": arr["session"].values,
                "normalization": norm},
        attrs={"p_adapter": float(p_adapter), "n_model_units": int(n_model_units),
               "gain_site": gain_site, "unit_preferences_used": int(prefs is not None),
               "nfev": int(best.nfev)},
    )


def _unit_preferences(data, arr: xr.DataArray):
    """Per-unit preferred orientations of a Benucci Dataset, if it has them."""
    if not isinstance(data, xr.Dataset) or "unit_preference" not in data:
        return None
    prefs = data["unit_preference"]
    if prefs.dims != ("session", "unit") or prefs.sizes["session"] != arr.sizes["session"]:
        raise ShapeError("unit_preference must have dims ('session', 'unit') matching the data.")
    return prefs.values


class AdaptiveGainModel:
    """Gain-control model fitted to population adaptation data.

    A thin estimator around :func:`fit_adaptation_model`.  ``fit`` accepts
    Benucci-format data or recordings aligned to stimulus presentations
    (``(trial, unit)`` DataArrays, converted with :func:`benucci_format`).

    Parameters
    ----------
    p_adapter : float
        Probability of the adapter in the biased ensemble.
    adapter : float
        Adapter orientation in degrees (for ``(trial, unit)`` recordings).
    n_model_units, n_starts, gain_site, random_state, progress
        See :func:`fit_adaptation_model`.

    Attributes
    ----------
    params_ : dict
        Fitted ``tuning_kappa``, ``recurrent_strength``, ``recurrent_kappa``.
    result_ : xarray.Dataset
        Output of :func:`fit_adaptation_model`.
    network_ : xarray.Dataset
        The fitted ring network.
    data_ : xarray.Dataset or xarray.DataArray
        The Benucci-format data that were fitted.

    Examples
    --------
    >>> from neurodata.datasets import make_adaptation_trials
    >>> rec = make_adaptation_trials(100, n_trials=200, random_state=1)
    >>> model = AdaptiveGainModel(p_adapter=0.3, n_starts=1).fit(rec)
    >>> sorted(model.params_)
    ['recurrent_kappa', 'recurrent_strength', 'tuning_kappa']
    """

    def __init__(self, p_adapter: float = 0.3, *, adapter: float = 0.0, n_model_units: int = 60,
                 n_starts: int = 4, gain_site: str = "input", random_state=None,
                 progress: bool = False):
        self.p_adapter = p_adapter
        self.adapter = adapter
        self.n_model_units = n_model_units
        self.n_starts = n_starts
        self.gain_site = gain_site
        self.random_state = random_state
        self.progress = progress

    def _as_benucci(self, x) -> xr.DataArray | xr.Dataset:
        is_benucci = isinstance(x, xr.Dataset) or (
            isinstance(x, xr.DataArray) and "session" in x.dims)
        if is_benucci:
            check_benucci(x)
            return x
        return benucci_format(x, adapter=self.adapter)

    def fit(self, X, y=None) -> AdaptiveGainModel:
        """Fit the model; ``X`` is Benucci-format data or (trial, unit) recordings."""
        self.data_ = self._as_benucci(X)
        self.result_ = fit_adaptation_model(
            self.data_, p_adapter=self.p_adapter, n_model_units=self.n_model_units,
            n_starts=self.n_starts, gain_site=self.gain_site, random_state=self.random_state,
            progress=self.progress)
        self.params_ = {p: float(self.result_.estimate.sel(parameter=p)) for p in PARAMETERS}
        self.network_ = ring_network(self.n_model_units, **self.params_)
        return self

    def predict(self) -> xr.DataArray:
        """The fitted model's population-level Benucci-format prediction."""
        return self.result_["prediction"]

    def score(self, X, y=None) -> float:
        """R^2 of the population-level prediction against the session mean of ``X``."""
        data = check_benucci(self._as_benucci(X))
        pred = self.predict().sel(preferred_orientation=data.preferred_orientation,
                                  stimulus_orientation=data.stimulus_orientation)
        mean = data.mean("session")
        ok = np.isfinite(mean.values)
        resid = (mean - pred).values[ok]
        total = np.sum((mean.values[ok] - mean.values[ok].mean()) ** 2)
        return float(1 - np.sum(resid**2) / total)

    def effects(self, **kwargs) -> xr.Dataset:
        """:func:`adaptation_effects` of the fitted network."""
        kwargs.setdefault("p_adapter", self.p_adapter)
        kwargs.setdefault("gain_site", self.gain_site)
        return adaptation_effects(self.network_, **kwargs)
