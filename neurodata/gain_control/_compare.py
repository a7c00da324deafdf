"""Comparing models of adaptation on Benucci-format data, and checking that it works.

* :func:`simulate_benucci`: data in the published session-level layout (raw
  bin responses, per-session adapter probability) generated from any rival
  model, with noise;
* :func:`compare_models`: every rival fitted to the same data under one
  likelihood (independent Gaussian errors, one variance) and ranked by one
  information criterion (BIC);
* :func:`cross_validate_sessions`: leave-one-session-out prediction error;
* :func:`model_confusion`: how often the comparison picks the model that
  generated the data, over seeded datasets from each model, with the
  generating model's parameter estimates (the recovery study).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata._utils import check_integer, check_positive, check_random_state, progress_bar
from neurodata.errors import NeurodataError
from neurodata.gain_control._benucci import BENUCCI_DIMS, CONDITIONS, check_benucci
from neurodata.gain_control._conventions import BENUCCI_P_ADAPTER
from neurodata.gain_control._fit import (
    _as_normalized,
    _biased,
    _design,
    _Problem,
    fit_adaptation_model,
)
from neurodata.gain_control._models import RivalModel, rival_model, rival_models
from neurodata.gain_control._validation import PERIOD

__all__ = ["compare_models", "cross_validate_sessions", "model_confusion", "simulate_benucci"]

#: Ranges from which :func:`simulate_benucci` draws parameters (uniformly).
PARAMETER_RANGES = {
    "tuning_kappa": (1.5, 3.0), "recurrent_strength": (0.3, 0.6),
    "recurrent_kappa": (2.5, 6.0), "baseline": (0.05, 0.4), "pool_kappa": (1.0, 4.0),
    "semisaturation": (0.2, 1.0), "reweighting": (0.5, 2.0),
}


def _as_model(model, gain_site="total", objective="log_gain", n_model_units=60) -> RivalModel:
    if isinstance(model, RivalModel):
        return model
    if isinstance(model, str) and model.startswith("gain/"):
        _, gain_site, objective = model.split("/")
        model = "gain"
    return rival_model(model, gain_site=gain_site, objective=objective,
                       n_model_units=n_model_units)


def simulate_benucci(model="gain", params=None, *, gain_site: str = "total",
                     objective: str = "log_gain", n_sessions: int = 4, p_adapter=None,
                     prior: str = "benucci", noise: float = 0.05, n_model_units: int = 60,
                     random_state=None) -> xr.Dataset:
    """Raw session-level data in the published layout, generated from a rival model.

    Each session's 13 x 21 x 2 array is the model's bin-averaged tuning curves
    (model neurons spread evenly within each 15-degree bin) adapted to the
    uniform ensemble and to the session's biased one, each bin row scaled by a
    random amplitude (10 to 30, as spikes/s) and shifted so that its lowest
    rate is a random spontaneous rate (2 to 5), plus independent Gaussian noise of standard
    deviation ``noise`` times the row's amplitude.  Analyses normalise rows
    with :func:`normalize_benucci` (``"minmax"``), which removes amplitude and
    spontaneous rate.

    Parameters
    ----------
    model : str or RivalModel
        ``"gain"``, ``"no_recurrence"``, ``"equalize"``, ``"normalization"``, a
        name such as ``"gain/input/fisher_poisson"``, or a :func:`rival_model`.
    params : dict or sequence, optional
        The model's parameters; by default drawn uniformly from
        :data:`PARAMETER_RANGES`.
    gain_site, objective : str
        For ``model="gain"``.
    n_sessions : int
        Sessions.
    p_adapter : array_like, optional
        Each session's adapter probability (default: the first ``n_sessions``
        of :data:`BENUCCI_P_ADAPTER`, cycled).
    prior : {"benucci", "single"}
        Shape of the biased ensemble.
    noise : float
        Noise standard deviation relative to each row's amplitude.
    n_model_units : int
        Resolution of the model ring.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    xarray.Dataset
        ``responses`` (``normalization="none"``, ``normalization_level="bin"``),
        ``p_adapter(session)``, the truth ``true_params(parameter)``, and
        ``prior`` as a coordinate; ``attrs["model"]``.

    Examples
    --------
    >>> data = simulate_benucci("normalization", n_sessions=2, random_state=0)
    >>> data.responses.shape, data.attrs["model"], data.p_adapter.values.tolist()
    ((2, 13, 21, 2), 'normalization', [0.5, 0.35])
    """
    m = _as_model(model, gain_site, objective, n_model_units)
    rng = check_random_state(random_state)
    n_sessions = check_integer("n_sessions", n_sessions)
    check_positive("noise", noise, strict=False)
    if params is None:
        params = [rng.uniform(*PARAMETER_RANGES[name]) for name in m.parameters]
    elif isinstance(params, dict):
        params = [params[name] for name in m.parameters]
    params = np.asarray(params, dtype=float)
    p = np.resize(np.asarray(BENUCCI_P_ADAPTER if p_adapter is None else p_adapter, float),
                  n_sessions)
    centres = np.linspace(-PERIOD / 2, PERIOD / 2, 13)
    closed = np.linspace(-PERIOD / 2, PERIOD / 2, 21)
    values, index = np.unique(p, return_inverse=True)
    curves = m.curves(params, closed, _biased(closed[:-1], values, prior))
    interp, weights = _design(centres, m.n_model_units)
    rows = np.stack([np.tensordot(weights, np.tensordot(interp, curves[j], axes=1), axes=1)[0]
                     for j in index])  # session, bin, stimulus, condition
    amp = rng.uniform(10.0, 30.0, rows.shape[:2])
    spont = rng.uniform(2.0, 5.0, rows.shape[:2])
    lo = rows[:, :, :-1, 0].min(axis=2)
    span = rows[:, :, :-1, 0].max(axis=2) - lo
    scale = amp / span
    raw = (rows - lo[:, :, None, None]) * scale[:, :, None, None]
    # the spontaneous rate keeps every noise-free rate >= 2 (adapted minima may fall below
    # the unadapted ones)
    floor = np.minimum(raw.min(axis=(2, 3)), 0.0)
    raw = raw + (spont - floor)[:, :, None, None]
    raw = raw + rng.normal(0.0, 1.0, raw.shape) * (noise * amp)[:, :, None, None]
    raw[:, :, -1] = raw[:, :, 0]  # the +90 column repeats -90
    raw = np.concatenate([raw, raw[:, :1]], axis=1)
    return xr.Dataset(
        {"responses": (BENUCCI_DIMS, raw), "p_adapter": ("session", p),
         "true_params": ("parameter", params)},
        coords={"session": np.arange(n_sessions), "preferred_orientation": centres,
                "stimulus_orientation": closed, "condition": list(CONDITIONS),
                "parameter": list(m.parameters), "normalization": "none",
                "normalization_level": "bin", "prior": prior},
        attrs={"model": m.name, "noise": float(noise),
               "description": "simulated Benucci-format data (neurodata.gain_control."
                              "simulate_benucci)"})


def compare_models(data, models=None, *, p_adapter=None, fit_p_adapter: bool = False,
                   prior: str | None = None, normalization: str | None = None,
                   n_init: int = 2, random_state=None, progress: bool | None = None,
                   return_fits: bool = False):
    """Fit every rival model to the same data and rank them by BIC.

    Parameters
    ----------
    data : Benucci-format Dataset or DataArray
        Raw data are normalised first (``normalization``, default
        ``"minmax"``).
    models : list, optional
        :func:`rival_model`\\ s or their names (default :func:`rival_models`:
        this model at both sites with the ``"log_gain"`` and
        ``"fisher_gaussian"`` objectives, gains without recurrence, the naive
        equalising rule and normalisation reweighting).
    p_adapter, fit_p_adapter, prior, n_init, random_state, progress
        As :func:`fit_adaptation_model` (each model gets ``n_init`` starts).
    return_fits : bool
        Also return the list of every model's fit.

    Returns
    -------
    xarray.Dataset
        On ``model``: ``log_likelihood``, ``n_params``, ``bic``, ``delta_bic``
        (to the best), ``aic``, ``rmse``, ``estimate(model, parameter)`` (over
        the union of the models' parameters, NaN where a model has none);
        ``attrs["best"]``, the model with the lowest BIC.

    Examples
    --------
    >>> data = simulate_benucci("no_recurrence", n_sessions=2, noise=0.02, random_state=1)
    >>> table = compare_models(data, ["no_recurrence", "gain"], n_init=1, random_state=0)
    >>> table.attrs["best"]
    'no_recurrence'
    """
    models = [_as_model(m) for m in (rival_models() if models is None else models)]
    data = _as_normalized(data, normalization)
    rng = check_random_state(random_state)
    fits = [fit_adaptation_model(data, model=m, p_adapter=p_adapter,
                                 fit_p_adapter=fit_p_adapter, prior=prior, n_init=n_init,
                                 certify=False, random_state=rng, progress=False)
            for m in progress_bar(models, progress=progress, desc="models")]
    names = [m.name for m in models]
    params = list(dict.fromkeys(p for m in models for p in m.parameters))
    est = np.full((len(models), len(params)), np.nan)
    for i, (m, fit) in enumerate(zip(models, fits)):
        for p, v in zip(m.parameters, fit.estimate.values):
            est[i, params.index(p)] = v
    bic = np.array([float(f.bic) for f in fits])
    table = xr.Dataset(
        {"log_likelihood": ("model", [float(f.log_likelihood) for f in fits]),
         "n_params": ("model", [int(f.n_params) for f in fits]),
         "bic": ("model", bic), "delta_bic": ("model", bic - bic.min()),
         "aic": ("model", [float(f.aic) for f in fits]),
         "rmse": ("model", [float(f.rmse) for f in fits]),
         "estimate": (("model", "parameter"), est)},
        coords={"model": names, "parameter": params},
        attrs={"best": names[int(np.argmin(bic))], "criterion": "BIC",
               "likelihood": "independent Gaussian errors, one variance (maximum likelihood)"})
    return (table, fits) if return_fits else table


def cross_validate_sessions(data, model="gain", *, gain_site: str = "total",
                            objective: str = "log_gain", p_adapter=None, prior: str | None = None,
                            normalization: str | None = None, n_init: int = 2,
                            random_state=None) -> xr.Dataset:
    """Leave-one-session-out cross-validation of a model.

    Each session in turn is held out; the model is fitted to the others and
    predicts the held-out session from its own (known) adapter probability.

    Returns
    -------
    xarray.Dataset
        On ``session`` (the held-out one): ``rmse``, ``r2`` and the Gaussian
        ``log_likelihood`` per datum of the held-out entries (with the noise
        variance of the training fit); ``mean_rmse`` over folds.

    Examples
    --------
    >>> data = simulate_benucci("no_recurrence", n_sessions=3, noise=0.02, random_state=1)
    >>> cv = cross_validate_sessions(data, "no_recurrence", n_init=1, random_state=0)
    >>> bool(cv.mean_rmse < 0.05)
    True
    """
    m = _as_model(model, gain_site, objective)
    data = _as_normalized(data, normalization)
    arr = check_benucci(data)
    n = arr.sizes["session"]
    if n < 2:
        raise NeurodataError("cross-validation over sessions needs at least 2 sessions.")
    from neurodata.gain_control._fit import session_p_adapter

    p = session_p_adapter(data, p_adapter)
    rng = check_random_state(random_state)
    ds = data if isinstance(data, xr.Dataset) else xr.Dataset({"responses": data})
    out: dict[str, list[float]] = {"rmse": [], "r2": [], "log_likelihood": []}
    for s in range(n):
        keep = [i for i in range(n) if i != s]
        train = ds.isel(session=keep).assign(p_adapter=("session", p[keep]))
        fit = fit_adaptation_model(train, model=m, prior=prior, n_init=n_init, certify=False,
                                   random_state=rng, progress=False)
        test = ds.isel(session=[s]).assign(p_adapter=("session", p[[s]]))
        # the held-out rows get their own offset and scale when the fit used them (nuisance
        # parameters of the normalisation, like the normalisation itself)
        prob = _Problem(test, m, None, False, fit.attrs["prior"], bool(fit.attrs["row_affine"]))
        pred = prob.fitted(fit.estimate.values)
        y = prob.y
        ok = np.isfinite(y)
        res = (pred - y)[ok]
        var = float(fit.rmse) ** 2
        out["rmse"].append(float(np.sqrt(np.mean(res**2))))
        out["r2"].append(float(1 - np.sum(res**2) / np.sum((y[ok] - y[ok].mean()) ** 2)))
        out["log_likelihood"].append(float(-0.5 * (np.log(2 * np.pi * var) + np.mean(res**2)
                                                    / var)))
    result = xr.Dataset({k: ("session", v) for k, v in out.items()},
                        coords={"session": arr["session"].values},
                        attrs={"model": m.name})
    return result.assign(mean_rmse=result.rmse.mean())


def model_confusion(models=None, *, n_datasets: int = 20, n_sessions: int = 3,
                    noise: float = 0.05, n_init: int = 2, recover: bool = True,
                    random_state=None, progress: bool | None = None) -> xr.Dataset:
    """How often :func:`compare_models` picks the model that generated the data.

    For every model, ``n_datasets`` seeded datasets (:func:`simulate_benucci`,
    parameters drawn at random) are compared across all models; with
    ``recover`` the generating model is also fitted with the sessions' adapter
    probabilities free, to measure parameter recovery.

    Returns
    -------
    xarray.Dataset
        ``counts(true_model, chosen_model)``; per dataset (``dataset``,
        ``true_model``): ``chosen``, ``delta_bic`` of the true model, the true
        and estimated parameters (``true_params``, ``estimate`` on
        ``parameter``, NaN-padded) and, with ``recover``, ``recovered`` (the
        free-p fit's estimates) and the true and fitted adapter probabilities
        (``true_p``, ``recovered_p`` on ``session``).

    Examples
    --------
    >>> cm = model_confusion(["no_recurrence", "gain"], n_datasets=1, n_sessions=2,
    ...                      noise=0.02, n_init=1, recover=False, random_state=0)
    >>> int(np.trace(cm.counts.values))
    2
    """
    models = [_as_model(m) for m in (rival_models() if models is None else models)]
    names = [m.name for m in models]
    params = list(dict.fromkeys(p for m in models for p in m.parameters))
    rng = check_random_state(random_state)
    shape = (len(models), n_datasets)
    chosen = np.empty(shape, dtype=object)
    dbic = np.full(shape, np.nan)
    truth = np.full((*shape, len(params)), np.nan)
    est = np.full_like(truth, np.nan)
    rec = np.full_like(truth, np.nan)
    true_p = np.full((*shape, n_sessions), np.nan)
    rec_p = np.full_like(true_p, np.nan)
    jobs = [(i, d) for i in range(len(models)) for d in range(n_datasets)]
    for i, d in progress_bar(jobs, progress=progress, desc="datasets"):
        m = models[i]
        data = simulate_benucci(m, n_sessions=n_sessions, noise=noise, random_state=rng)
        table = compare_models(data, models, n_init=n_init, random_state=rng, progress=False)
        chosen[i, d] = table.attrs["best"]
        dbic[i, d] = float(table.delta_bic.sel(model=m.name))
        for p in m.parameters:
            k = params.index(p)
            truth[i, d, k] = float(data.true_params.sel(parameter=p))
            est[i, d, k] = float(table.estimate.sel(model=m.name, parameter=p))
        true_p[i, d] = data.p_adapter.values
        if recover:
            fit = fit_adaptation_model(data, model=m, fit_p_adapter=True,
                                       p_adapter=np.full(n_sessions, 0.4), n_init=n_init,
                                       certify=False, random_state=rng, progress=False)
            for p, v in zip(m.parameters, fit.estimate.values):
                rec[i, d, params.index(p)] = v
            rec_p[i, d] = fit.p_adapter.values
    counts = np.array([[np.sum(chosen[i] == c) for c in names] for i in range(len(models))])
    dims = ("true_model", "dataset")
    return xr.Dataset(
        {"counts": (("true_model", "chosen_model"), counts),
         "chosen": (dims, chosen.astype(str)), "delta_bic": (dims, dbic),
         "true_params": ((*dims, "parameter"), truth), "estimate": ((*dims, "parameter"), est),
         "recovered": ((*dims, "parameter"), rec),
         "true_p": ((*dims, "session"), true_p), "recovered_p": ((*dims, "session"), rec_p)},
        coords={"true_model": names, "chosen_model": names, "dataset": np.arange(n_datasets),
                "parameter": params, "session": np.arange(n_sessions)},
        attrs={"noise": float(noise), "n_sessions": int(n_sessions), "criterion": "BIC"})
