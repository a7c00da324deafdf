"""Metrics and baselines: PSTHs, ID precision/recall, behaviour scores, ridge and GLM decoders."""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata._utils import NeurodataEstimator, check_random_state
from neurodata.errors import NeurodataError, ShapeError
from neurodata.neuroformer._tokenizer import spikes_from_recording, window_starts

__all__ = ["PoissonGLMDecoder", "RidgeDecoder", "behaviour_scores", "id_prediction_scores",
           "poisson_null", "psth", "psth_correlation", "window_counts"]


def _trials(recording, intervals) -> np.ndarray:
    if intervals is None:
        if "trial_start_time" not in recording.coords:
            raise NeurodataError("the recording has no trial table; pass intervals=[(start, stop), ...].")
        intervals = np.stack([recording["trial_start_time"].values,
                              recording["trial_stop_time"].values], axis=1)
    return np.asarray(intervals, dtype=float).reshape(-1, 2)


def _assign(recording, trials):
    """(trial index, time from trial start, unit index) of every spike inside a trial."""
    times, uidx, ids = spikes_from_recording(recording)
    if "spike_trial" in recording.variables and len(recording["spike_trial"]) == len(times):
        order = np.argsort(np.asarray(recording["spike_times"].values), kind="stable")
        tr = np.asarray(recording["spike_trial"].values)[order]
        ok = (tr >= 0) & (tr < len(trials))
        tr, t, u = tr[ok], times[ok], uidx[ok]
        return tr, t - trials[tr, 0], u, ids
    parts = []
    for k, (a, b) in enumerate(trials):          # few trials: one vectorised slice each
        lo, hi = np.searchsorted(times, [a, b])
        parts.append((np.full(hi - lo, k), times[lo:hi] - a, uidx[lo:hi]))
    tr, rel, u = (np.concatenate(x) for x in zip(*parts))
    return tr, rel, u, ids


def psth(recording: xr.Dataset, *, bin_size: float = 0.05, intervals=None) -> xr.DataArray:
    """Trial-averaged firing rate (Hz) of every unit: ``(time_rel, unit)``.

    Trials are the recording's trial table (or ``intervals``); spikes of a generated
    recording are assigned to trials by its ``spike_trial`` variable.  The PSTH
    spans the shortest trial.

    Examples
    --------
    >>> ds = xr.Dataset({"spike_times": ("spike", [0.01, 1.01, 1.06]),
    ...                  "spike_unit": ("spike", [0, 0, 1])},
    ...                 coords={"unit": [0, 1], "trial_start_time": ("trial", [0.0, 1.0]),
    ...                         "trial_stop_time": ("trial", [0.1, 1.1])})
    >>> psth(ds, bin_size=0.05).values.tolist()
    [[20.0, 0.0], [0.0, 10.0]]
    """
    trials = _trials(recording, intervals)
    _, rel, u, ids = _assign(recording, trials)
    n_bins = int(np.floor(np.min(trials[:, 1] - trials[:, 0]) / bin_size + 1e-9))
    if n_bins < 1:
        raise NeurodataError(f"trials are shorter than one {bin_size} s bin.")
    b = np.floor(rel / bin_size).astype(int)
    ok = (b >= 0) & (b < n_bins)
    counts = np.bincount(b[ok] * len(ids) + u[ok], minlength=n_bins * len(ids))
    rate = counts.reshape(n_bins, len(ids)) / (len(trials) * bin_size)
    return xr.DataArray(rate, dims=("time_rel", "unit"),
                        coords={"time_rel": (np.arange(n_bins) + 0.5) * bin_size, "unit": ids},
                        name="psth", attrs={"bin_size": bin_size, "units": "Hz"})


def psth_correlation(generated, real, *, bin_size: float = 0.05, intervals_generated=None,
                     intervals_real=None) -> xr.DataArray:
    """Pearson r between the PSTHs of two recordings (or PSTH DataArrays), unit by unit.

    NaN for a unit whose PSTH is flat in either recording; average with
    ``.mean()`` (which skips NaN).  A homogeneous-Poisson null scores about 0.

    Examples
    --------
    >>> a = xr.DataArray([[1.0, 0.0], [3.0, 1.0], [2.0, 2.0]], dims=("time_rel", "unit"))
    >>> psth_correlation(a, a * 2 + 1).values.tolist()
    [1.0, 1.0]
    """
    g = generated if isinstance(generated, xr.DataArray) else psth(
        generated, bin_size=bin_size, intervals=intervals_generated)
    r = real if isinstance(real, xr.DataArray) else psth(real, bin_size=bin_size,
                                                         intervals=intervals_real)
    n = min(g.sizes["time_rel"], r.sizes["time_rel"])
    if g.sizes.get("unit") != r.sizes.get("unit"):
        raise ShapeError(f"the two PSTHs have {g.sizes.get('unit')} and {r.sizes.get('unit')} units.")
    a = np.asarray(g.values[:n], dtype=float)
    b = np.asarray(r.values[:n], dtype=float)
    a, b = a - a.mean(0), b - b.mean(0)
    den = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(den > 0, (a * b).sum(0) / den, np.nan)
    coords = {"unit": r["unit"].values} if "unit" in r.coords else None
    return xr.DataArray(rho, dims=("unit",), coords=coords, name="psth_r")


def poisson_null(recording: xr.Dataset, *, intervals=None, random_state=None) -> xr.Dataset:
    """Homogeneous Poisson spikes with each unit's mean rate over the trials (the null model).

    ``random_state`` seeds the draw (None: fresh entropy).

    Examples
    --------
    >>> ds = xr.Dataset({"spike_times": ("spike", np.linspace(0, 9.9, 100)),
    ...                  "spike_unit": ("spike", np.zeros(100, int))},
    ...                 coords={"unit": [0], "trial_start_time": ("trial", [0.0]),
    ...                         "trial_stop_time": ("trial", [10.0])})
    >>> null = poisson_null(ds, random_state=0)
    >>> 70 < null.sizes["spike"] < 130
    True
    """
    trials = _trials(recording, intervals)
    _, _, u, ids = _assign(recording, trials)
    total = float(np.sum(trials[:, 1] - trials[:, 0]))
    rate = np.bincount(u, minlength=len(ids)) / total
    rng = check_random_state(random_state)
    dur = trials[:, 1] - trials[:, 0]
    n = rng.poisson(rate[None, :] * dur[:, None])                       # (trial, unit)
    trial = np.repeat(np.repeat(np.arange(len(trials)), len(ids)), n.ravel())
    unit = np.repeat(np.tile(np.arange(len(ids)), len(trials)), n.ravel())
    t = trials[trial, 0] + rng.random(trial.size) * dur[trial]
    order = np.argsort(t, kind="stable")
    return xr.Dataset({"spike_times": ("spike", t[order]), "spike_unit": ("spike", ids[unit[order]]),
                       "spike_trial": ("spike", trial[order])},
                      coords={"unit": ids, "trial_start_time": ("trial", trials[:, 0]),
                              "trial_stop_time": ("trial", trials[:, 1])},
                      attrs={"description": "homogeneous Poisson null"})


def id_prediction_scores(predicted: xr.Dataset, real: xr.Dataset, *, window: float = 0.05,
                         intervals=None) -> xr.Dataset:
    """Per-window precision, recall and F1 of the set of neurons that fire.

    Windows tile the predicted recording's trials (or ``intervals``); in each,
    the set of units firing in ``predicted`` is compared with the set firing in
    ``real`` at the same times.  Precision is NaN where nothing was predicted,
    recall where nothing fired, F1 where neither.

    Examples
    --------
    >>> real = xr.Dataset({"spike_times": ("spike", [0.01, 0.02]), "spike_unit": ("spike", [0, 1])},
    ...                   coords={"unit": [0, 1, 2]})
    >>> pred = xr.Dataset({"spike_times": ("spike", [0.03, 0.04]), "spike_unit": ("spike", [0, 2])},
    ...                   coords={"unit": [0, 1, 2]})
    >>> s = id_prediction_scores(pred, real, intervals=[(0.0, 0.05)])
    >>> float(s.precision[0]), float(s.recall[0]), float(s.f1[0])
    (0.5, 0.5, 0.5)
    """
    trials = _trials(predicted, intervals)
    starts, which = window_starts(trials, window)
    _, _, ids = spikes_from_recording(real)
    W, N = len(starts), len(ids)

    def indicator(ds, use_trials):
        t, u, _ = spikes_from_recording(ds, ids)
        ind = np.zeros((W, N), dtype=bool)
        if use_trials and "spike_trial" in ds.variables:
            order = np.argsort(np.asarray(ds["spike_times"].values), kind="stable")
            tr = np.asarray(ds["spike_trial"].values)[order]
            first = np.searchsorted(which, np.arange(len(trials)))
            k = np.floor((t - trials[tr, 0]) / window).astype(int)
            n_in = np.bincount(which, minlength=len(trials))
            ok = (k >= 0) & (k < n_in[tr])
            ind[first[tr[ok]] + k[ok], u[ok]] = True
            return ind
        lo = np.searchsorted(t, starts)
        hi = np.searchsorted(t, starts + window)
        n = hi - lo
        rows = np.repeat(np.arange(W), n)
        pos = np.repeat(lo, n) + np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        ind[rows, u[pos]] = True
        return ind

    P, R = indicator(predicted, True), indicator(real, False)
    tp = (P & R).sum(1).astype(float)
    npred, nreal = P.sum(1).astype(float), R.sum(1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(npred > 0, tp / npred, np.nan)
        recall = np.where(nreal > 0, tp / nreal, np.nan)
        f1 = np.where(npred + nreal > 0, 2 * tp / (npred + nreal), np.nan)
    return xr.Dataset({"precision": ("window", precision), "recall": ("window", recall),
                       "f1": ("window", f1)},
                      coords={"window_start": ("window", starts)})


def behaviour_scores(predicted, true, *, circular: bool = False) -> xr.Dataset:
    """Pearson r and R^2 of each decoded variable; with ``circular``, angular error too.

    ``predicted`` and ``true`` are ``(sample, output)`` arrays or DataArrays.  With
    ``circular=True`` the two outputs are read as (sin, cos) of an angle, and the
    median absolute angular error (degrees) is added.

    Examples
    --------
    >>> y = np.c_[np.sin(np.linspace(0, 6, 50)), np.cos(np.linspace(0, 6, 50))]
    >>> s = behaviour_scores(y, y, circular=True)
    >>> s.r.values.round(3).tolist(), float(s.angle_error_deg)
    ([1.0, 1.0], 0.0)
    """
    p = np.asarray(predicted, dtype=float)
    t = np.asarray(true, dtype=float)
    p, t = (p[:, None] if p.ndim == 1 else p), (t[:, None] if t.ndim == 1 else t)
    if p.shape != t.shape:
        raise ShapeError(f"predicted {p.shape} and true {t.shape} must have the same shape.")
    pc, tc = p - p.mean(0), t - t.mean(0)
    r = (pc * tc).sum(0) / np.sqrt((pc * pc).sum(0) * (tc * tc).sum(0))
    r2 = 1 - ((p - t) ** 2).sum(0) / (tc * tc).sum(0)
    out = xr.Dataset({"r": ("output", r), "r2": ("output", r2)})
    if circular:
        if p.shape[1] != 2:
            raise ShapeError("circular=True needs two outputs: (sin, cos) of the angle.")
        err = np.angle(np.exp(1j * (np.arctan2(p[:, 0], p[:, 1]) - np.arctan2(t[:, 0], t[:, 1]))))
        out["angle_error_deg"] = float(np.degrees(np.median(np.abs(err))))
    return out


def window_counts(recording, starts, *, window: float = 0.05, window_prev: float = 0.15,
                  bin_size: float | None = None, units=None) -> np.ndarray:
    """Spike counts of each unit in bins covering ``[start - window_prev, start + window)``.

    The features of the baselines: the same span of spikes the model sees for a
    window.  Returns ``(window, unit * bin)`` (unit-major), bins of ``bin_size``
    (default ``window``).

    Examples
    --------
    >>> ds = xr.Dataset({"spike_times": ("spike", [0.01, 0.06, 0.07]),
    ...                  "spike_unit": ("spike", [0, 1, 1])}, coords={"unit": [0, 1]})
    >>> window_counts(ds, [0.05], window=0.05, window_prev=0.05).tolist()
    [[1.0, 0.0, 0.0, 2.0]]
    """
    bin_size = window if bin_size is None else bin_size
    n_bins = round((window + window_prev) / bin_size)
    times, uidx, ids = spikes_from_recording(recording, units)
    starts = np.asarray(starts, dtype=float)
    edges = starts[:, None] - window_prev + np.arange(n_bins + 1)[None, :] * bin_size
    out = np.empty((len(starts), len(ids), n_bins))
    for k in range(len(ids)):                # per unit: vectorised over windows and bins
        tk = times[uidx == k]
        out[:, k] = np.diff(np.searchsorted(tk, edges), axis=1)
    return out.reshape(len(starts), -1)


def _r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination over all outputs (1 is perfect, higher is better)."""
    resid = np.sum((y_true - y_pred) ** 2)
    total = np.sum((y_true - y_true.mean(0)) ** 2)
    return float(1.0 - resid / total) if total > 0 else float("nan")


class RidgeDecoder(NeurodataEstimator):
    """Ridge regression on standardised window counts, penalty by cross-validation.

    The linear baseline of the paper's behaviour decoding: an array-level
    estimator (``fit(X, y)`` on window counts, as scikit-learn's), with the
    package's conventions otherwise (``score`` is R², ``to_dataset`` holds the
    fitted coefficients).

    Parameters
    ----------
    alphas : array-like, optional
        Penalties to choose from by efficient leave-one-out cross-validation
        (default: 13 values from 0.01 to 10^4).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5)); y = X @ [1.0, 0, 0, 2.0, 0] + 0.1 * rng.normal(size=200)
    >>> dec = RidgeDecoder().fit(X, y)
    >>> dec.predict(X).shape, round(dec.score(X, y), 2)
    ((200, 1), 1.0)
    """

    def __init__(self, alphas=None):
        self.alphas = alphas

    def fit(self, X, y) -> RidgeDecoder:
        """Standardise ``X`` (windows, features) and fit ``y`` (windows[, outputs])."""
        from sklearn.linear_model import RidgeCV
        X, y = np.asarray(X, float), np.asarray(y, float)
        y = y[:, None] if y.ndim == 1 else y
        self.mean_, self.std_ = X.mean(0), X.std(0) + 1e-9
        alphas = np.logspace(-2, 4, 13) if self.alphas is None else self.alphas
        self.model_ = RidgeCV(alphas=alphas).fit((X - self.mean_) / self.std_, y)
        return self

    def predict(self, X) -> np.ndarray:
        """Decoded values ``(windows, outputs)``."""
        self._check_fitted("model_")
        X = np.asarray(X, float)
        return self.model_.predict((X - self.mean_) / self.std_).reshape(len(X), -1)

    def score(self, X, y) -> float:
        """R² of the decoded values (higher is better)."""
        y = np.asarray(y, float)
        return _r2(y[:, None] if y.ndim == 1 else y, self.predict(X))

    def to_dataset(self) -> xr.Dataset:
        """Coefficients ``(output, feature)`` in standardised units, intercept and penalty."""
        self._check_fitted("model_")
        coef = np.atleast_2d(self.model_.coef_)
        return xr.Dataset({"coef": (("output", "feature"), coef),
                           "intercept": ("output", np.atleast_1d(self.model_.intercept_)),
                           "feature_mean": ("feature", self.mean_),
                           "feature_std": ("feature", self.std_)},
                          attrs={"alpha": float(self.model_.alpha_)})


class PoissonGLMDecoder(NeurodataEstimator):
    """Poisson GLM encoding model per unit, decoded by maximum likelihood on a grid.

    Each unit's count in a window is Poisson with log-rate linear in a basis of
    the behaviour variable: Fourier harmonics of an angle (``circular=True``) or
    Gaussian bumps over the training range.  A window is decoded as the grid value
    maximising the population likelihood of its counts.  With ``circular`` the
    decoder returns (sin, cos) of the decoded angle.  An array-level estimator
    like :class:`RidgeDecoder`; ``score`` is the R² of the decoded values
    (of the angle's sine and cosine when ``circular``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> theta = rng.uniform(0, 2 * np.pi, 500)
    >>> pref = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    >>> X = rng.poisson(5 * np.exp(2 * np.cos(theta[:, None] - pref)))
    >>> est = PoissonGLMDecoder(circular=True).fit(X, theta).predict(X)
    >>> err = np.angle(np.exp(1j * (np.arctan2(est[:, 0], est[:, 1]) - theta)))
    >>> bool(np.median(np.abs(err)) < 0.2)
    True
    """

    def __init__(self, *, circular: bool = False, n_basis: int = 2, alpha: float = 1e-3,
                 n_grid: int = 360):
        self.circular, self.n_basis, self.alpha, self.n_grid = circular, n_basis, alpha, n_grid

    def _basis(self, v: np.ndarray) -> np.ndarray:
        if self.circular:
            k = np.arange(1, self.n_basis + 1)
            return np.concatenate([np.cos(v[:, None] * k), np.sin(v[:, None] * k)], axis=1)
        c = np.linspace(self.lo_, self.hi_, self.n_basis)
        width = (self.hi_ - self.lo_) / max(self.n_basis - 1, 1) + 1e-12
        return np.exp(-0.5 * ((v[:, None] - c[None, :]) / width) ** 2)

    def fit(self, X, y) -> PoissonGLMDecoder:
        """One Poisson GLM per column of ``X`` (window counts) on the basis of ``y``."""
        from sklearn.linear_model import PoissonRegressor
        X, y = np.asarray(X, float), np.asarray(y, float).ravel()
        self.lo_, self.hi_ = float(y.min()), float(y.max())
        B = self._basis(y)
        self.models_ = [PoissonRegressor(alpha=self.alpha, max_iter=300).fit(B, X[:, i])
                        for i in range(X.shape[1])]
        grid = (np.linspace(0, 2 * np.pi, self.n_grid, endpoint=False) if self.circular
                else np.linspace(self.lo_, self.hi_, self.n_grid))
        Bg = self._basis(grid)
        self.grid_ = grid
        self.log_rate_ = np.stack([Bg @ m.coef_ + m.intercept_ for m in self.models_], axis=1)
        return self

    def predict(self, X) -> np.ndarray:
        """The maximum-likelihood value of every window (its sine and cosine if circular)."""
        self._check_fitted("log_rate_")
        X = np.asarray(X, float)
        log_rate = np.clip(self.log_rate_, -30.0, 30.0)
        ll = X @ log_rate.T - np.exp(log_rate).sum(1)[None, :]
        v = self.grid_[np.argmax(ll, axis=1)]
        return np.c_[np.sin(v), np.cos(v)] if self.circular else v[:, None]

    def score(self, X, y) -> float:
        """R² of the decoded values against ``y`` (as (sin, cos) if circular)."""
        y = np.asarray(y, float).ravel()
        truth = np.c_[np.sin(y), np.cos(y)] if self.circular else y[:, None]
        return _r2(truth, self.predict(X))

    def to_dataset(self) -> xr.Dataset:
        """Each unit's fitted log-rate on the decoding grid: ``(grid, feature)``."""
        self._check_fitted("log_rate_")
        return xr.Dataset({"log_rate": (("grid", "feature"), self.log_rate_)},
                          coords={"grid": self.grid_},
                          attrs={"circular": int(self.circular), "n_basis": int(self.n_basis),
                                 "alpha": float(self.alpha)})
