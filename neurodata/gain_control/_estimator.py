"""The estimator: the gain-control model fitted to recordings of an adaptation experiment."""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata._utils import NeurodataEstimator, check_option, renamed_params
from neurodata.gain_control._benucci import BENUCCI_DIMS, benucci_format, check_benucci
from neurodata.gain_control._effects import adaptation_effects
from neurodata.gain_control._fit import (
    _as_normalized,
    _biased,
    _Problem,
    fit_adaptation_model,
    history_of,
)
from neurodata.gain_control._models import rival_model
from neurodata.gain_control._network import ring_network
from neurodata.gain_control._validation import as_orientations, wrap_orientation

__all__ = ["AdaptiveGainModel"]


def _is_benucci(x) -> bool:
    if isinstance(x, xr.Dataset):
        return "responses" in x and set(x["responses"].dims) == set(BENUCCI_DIMS)
    return isinstance(x, xr.DataArray) and set(x.dims) == set(BENUCCI_DIMS)


@renamed_params(n_starts="n_init")
class AdaptiveGainModel(NeurodataEstimator):
    """Gain-control model fitted to the recordings of an adaptation experiment.

    A thin estimator around :func:`benucci_format` and
    :func:`fit_adaptation_model`: ``fit`` takes one recording, a list of them
    or the dict of :func:`neurodata.open_folder` (one per session), each with
    spike trains (or a trace) and a trial table whose columns hold the grating
    orientation and the ensemble (``"uniform"`` / ``"biased"``); or, lower
    level, Benucci-format data (such as :func:`load_benucci_mat` reads).

    Parameters
    ----------
    p_adapter : float or array_like, optional
        Probability of the adapter in the biased ensemble, one value or one
        per session; by default estimated from each session's trial table.
    adapter : float, optional
        Adapter orientation in degrees; by default the orientation shown most
        often in the biased condition.
    gain_site : {"total", "input"}
        Where the gains act (:func:`ring_network`).
    objective : {"log_gain", "fisher_poisson", "fisher_gaussian"}
        What the gains optimise (:func:`optimal_gains`).
    fit_p_adapter : bool
        Fit each session's adapter probability too.
    prior : {"single", "benucci"}, optional
        Shape of the biased ensemble (default: the data's, else ``"single"``).
    normalization : {"mean", "max", "minmax"}
        How each unit (or, for raw data, each bin) is normalised by its
        unadapted curve.
    n_model_units : int
        Resolution of the model ring.
    n_init : int
        Starts of the fit; the lowest cost wins.
    max_iter : int, optional
        Cap on cost evaluations per start (None: until convergence).
    random_state : None, int or numpy.random.Generator
        For the starts after the first (None: fresh entropy).
    progress : bool, optional
        Progress bar over starts (None: automatic).

    Attributes
    ----------
    params_ : dict
        Fitted ``tuning_kappa``, ``recurrent_strength``, ``recurrent_kappa``,
        ``baseline``.
    result_ : xarray.Dataset
        Output of :func:`fit_adaptation_model`.
    network_ : xarray.Dataset
        The fitted ring network.
    data_ : xarray.Dataset or xarray.DataArray
        The Benucci-format data that were fitted.
    history_ : xarray.Dataset
        ``cost`` and ``best_cost`` on ``iteration`` (evaluations of the
        winning start).

    Examples
    --------
    >>> from neurodata.datasets import load_sample
    >>> rec = load_sample("sample_adaptation")
    >>> model = AdaptiveGainModel(n_init=1, random_state=0).fit(rec)
    >>> sorted(model.params_)
    ['baseline', 'recurrent_kappa', 'recurrent_strength', 'tuning_kappa']
    >>> model.predict([0.0, 45.0]).dims
    ('condition', 'model_unit', 'stimulus_orientation')
    """

    def __init__(self, p_adapter=None, *, adapter: float | None = None,
                 gain_site: str = "total", objective: str = "log_gain",
                 fit_p_adapter: bool = False, prior: str | None = None,
                 normalization: str = "mean", n_model_units: int = 60, n_init: int = 4,
                 max_iter: int | None = None, random_state=None,
                 progress: bool | None = None):
        self.p_adapter = p_adapter
        self.adapter = adapter
        self.gain_site = gain_site
        self.objective = objective
        self.fit_p_adapter = fit_p_adapter
        self.prior = prior
        self.normalization = normalization
        self.n_model_units = n_model_units
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state
        self.progress = progress

    def _as_benucci(self, x, trials, window, variable, stimulus, condition):
        check_option("normalization", self.normalization, ("mean", "max", "minmax"))
        if _is_benucci(x):
            return _as_normalized(x, self.normalization)
        return benucci_format(x, trials=trials, window=window, variable=variable,
                              stimulus=stimulus, condition=condition, adapter=self.adapter,
                              normalization=self.normalization)

    def fit(self, recording, *, trials: str = "trial", window=None, variable: str | None = None,
            stimulus: str = "stimulus_orientation", condition: str = "condition"
            ) -> AdaptiveGainModel:
        """Fit the model to one or several sessions.

        Parameters
        ----------
        recording : Dataset, list or dict of Datasets, or Benucci-format data
            The sessions (see the class docstring).
        trials : str
            The interval table of grating presentations.
        window : (float, float), optional
            Response window in seconds from each presentation's start
            (default: the whole trial).
        variable : str, optional
            A ``(time, unit|roi)`` trace to use instead of the spike trains.
        stimulus, condition : str
            The trial table's columns with the orientation and the ensemble.

        Returns
        -------
        AdaptiveGainModel
            ``self``, fitted.
        """
        self.data_ = self._as_benucci(recording, trials, window, variable, stimulus, condition)
        self.result_ = fit_adaptation_model(
            self.data_, gain_site=self.gain_site, objective=self.objective,
            p_adapter=self.p_adapter, fit_p_adapter=self.fit_p_adapter, prior=self.prior,
            n_model_units=self.n_model_units, n_init=self.n_init, max_iter=self.max_iter,
            random_state=self.random_state, progress=self.progress)
        self.params_ = {str(p): float(v) for p, v in zip(self.result_.parameter.values,
                                                          self.result_.estimate.values)}
        self.network_ = ring_network(self.n_model_units, **self.params_)
        self.history_ = history_of(self.result_)
        return self

    def _model(self):
        return rival_model("gain", gain_site=self.gain_site, objective=self.objective,
                           n_model_units=self.n_model_units)

    def _params(self) -> np.ndarray:
        return np.asarray(self.result_.estimate.values, dtype=float)

    def predict(self, X, *, trials: str = "trial", window=None, variable: str | None = None,
                stimulus: str = "stimulus_orientation", condition: str = "condition"):
        """The fitted model's responses: to stimulus orientations, or for data.

        Parameters
        ----------
        X : array_like of float, or recording(s), or Benucci-format data
            Stimulus orientations in degrees relative to the adapter: the
            response of every model neuron adapted to the uniform and to the
            biased ensemble (the sessions' mean adapter probability), each
            neuron normalised as units are (by its uniform-condition curve
            over the presented orientations).  Or data (what :meth:`fit`
            accepts): the model's Benucci-format values for those sessions,
            their units' preferences and adapter probabilities (the fitted
            ones when ``X`` holds the fitted sessions and they were fitted).

        Returns
        -------
        xarray.DataArray
            ``response(condition, model_unit, stimulus_orientation)``, or
            Benucci-format ``prediction(session, preferred_orientation,
            stimulus_orientation, condition)``.
        """
        self._check_fitted()
        if isinstance(X, xr.Dataset | xr.DataArray | list | tuple | dict) and not (
                isinstance(X, list | tuple) and all(np.isscalar(v) for v in X)):
            data = self._as_benucci(X, trials, window, variable, stimulus, condition)
            return self._predict_data(data)
        return self._tuning(as_orientations(X, "X"))

    def _predict_data(self, data) -> xr.DataArray:
        arr = check_benucci(data)
        p = self.p_adapter
        same = np.array_equal(arr["session"].values, self.result_["session"].values)
        if p is None and (self.fit_p_adapter or not (isinstance(data, xr.Dataset)
                                                     and "p_adapter" in data)) and same:
            p = self.result_["p_adapter"].values
        prob = _Problem(data, self._model(), p, False, self.result_.attrs["prior"])
        return arr.copy(data=prob.predict(self._params())).rename("prediction")

    def _tuning(self, theta: np.ndarray) -> xr.DataArray:
        from neurodata.gain_control._benucci import unit_scales

        closed = np.asarray(check_benucci(self.data_)["stimulus_orientation"].values, dtype=float)
        p = float(np.mean(self.result_["p_adapter"].values))
        model = self._model()
        at = np.concatenate([closed, wrap_orientation(theta)])
        curves = model.curves(self._params(), closed, _biased(closed[:-1], [p],
                                                               self.result_.attrs["prior"]),
                              at=at)[0]
        norm = str(self.result_["normalization"].values)
        offset, scale = unit_scales(curves[:, : closed.size - 1, 0], norm)
        resp = (curves[:, closed.size:, :] - offset[:, None, None]) / scale[:, None, None]
        return xr.DataArray(
            resp.transpose(2, 0, 1), dims=("condition", "model_unit", "stimulus_orientation"),
            name="response",
            coords={"condition": ["uniform", "biased"],
                    "model_unit": np.arange(self.n_model_units),
                    "preferred_orientation": ("model_unit", model.preferred),
                    "stimulus_orientation": theta})

    def score(self, X, *, trials: str = "trial", window=None, variable: str | None = None,
              stimulus: str = "stimulus_orientation", condition: str = "condition") -> float:
        """R^2 of the model's Benucci-format values against those of ``X`` (higher is better)."""
        self._check_fitted()
        data = self._as_benucci(X, trials, window, variable, stimulus, condition)
        y = check_benucci(data).values
        pred = self._predict_data(data).values
        ok = np.isfinite(y)
        return float(1 - np.sum((y[ok] - pred[ok]) ** 2) / np.sum((y[ok] - y[ok].mean()) ** 2))

    def to_dataset(self) -> xr.Dataset:
        """The fit (:func:`fit_adaptation_model`'s Dataset) with the model's settings."""
        self._check_fitted()
        return self.result_.assign_attrs(p_adapter_given=int(self.p_adapter is not None),
                                         normalization=str(self.normalization))

    def effects(self, **kwargs) -> xr.Dataset:
        """:func:`adaptation_effects` of the fitted network (at the mean adapter probability)."""
        self._check_fitted()
        kwargs.setdefault("p_adapter", float(np.mean(self.result_["p_adapter"].values)))
        kwargs.setdefault("gain_site", self.gain_site)
        kwargs.setdefault("objective", self.objective)
        return adaptation_effects(self.network_, **kwargs)
