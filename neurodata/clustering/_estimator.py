"""``MDSClustering``: a recording's predictive model, then MDS clustering of its neurons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import xarray as xr

from neurodata._utils import (
    NeurodataEstimator,
    check_random_state,
    make_history,
    renamed_params,
    spawn_seed,
    torch_generator,
)
from neurodata.clustering._constraint import make_constraint
from neurodata.clustering._engine import Model
from neurodata.clustering._mds import mds_clustering, neurons_of
from neurodata.clustering._model import fit_predictive_model
from neurodata.clustering._objective import ResponseNormalizer, mds_objective
from neurodata.errors import NeurodataError, ShapeError
from neurodata.signals import align_movie

__all__ = ["MDSClustering"]

#: Parameters of the estimator that configure the predictive model, not the clustering.
_MODEL_PARAMS = ("n_epochs", "model_params")


def _as_unit_by_cluster(responses: xr.DataArray | np.ndarray, k: int) -> xr.DataArray:
    if isinstance(responses, xr.DataArray):
        if "cluster" not in responses.dims or responses.ndim != 2:
            raise ShapeError(f"responses must be a 2-D DataArray with a 'cluster' dimension (the "
                             f"MDS shown) and a neuron dimension; got dims {responses.dims}.")
        other = next(d for d in responses.dims if d != "cluster")
        da = responses.transpose(other, "cluster")
    else:
        arr = np.asarray(responses, dtype=float)
        if arr.ndim != 2:
            raise ShapeError(f"responses must be 2-D (unit, cluster); got shape {arr.shape}.")
        da = xr.DataArray(arr, dims=("unit", "cluster"))
    if da.shape[1] != k:
        raise ShapeError(f"responses must have one column per MDS ({k}); got {da.shape[1]}. Record "
                         f"each new cell's response to every stimulus in stimuli_.")
    if not np.all(np.isfinite(da.values)):
        raise NeurodataError("responses contain NaN or infinite values; drop those cells first.")
    return da


def _fingerprint(aligned: xr.Dataset) -> tuple:
    """Cheap identity of aligned data: sizes and sums of the stimulus and the responses."""
    return (tuple(aligned.sizes.items()), float(np.asarray(aligned["responses"].values).sum()),
            float(np.asarray(aligned["stimulus"].isel(lag=-1).values, dtype=float).sum()))


@renamed_params(lr="learning_rate")
class MDSClustering(NeurodataEstimator):
    """Most discriminative stimulus clustering as an estimator (see :func:`mds_clustering`).

    ``fit(recording, stimulus=..., variable=..., lags=...)`` aligns the
    recording's stimulus movie to its responses
    (:func:`neurodata.signals.align_movie`), trains a predictive model
    (:func:`fit_predictive_model`, ``n_epochs`` and ``model_params``), moves
    its readouts to the canvas centre (as the authors do) and clusters its
    neurons (:func:`mds_clustering`, the other parameters).  ``fit(model)``
    clusters the neurons of a ready predictive model (a torch module).

    Parameters
    ----------
    n_clusters_init, tau, tau_scale, split, max_clusters, min_cluster_size, split_margin,
    max_iter, n_steps, learning_rate, split_max_iter, split_refine_iter, norm, value_range,
    temporal_sigma, n_noise, scale_floor, stimulus_shape, device
        As in :func:`mds_clustering`.
    n_epochs : int
        Training epochs of the predictive model (recording path).
    model_params : dict, optional
        Other settings of :func:`fit_predictive_model` (``n_features``,
        ``n_hidden``, ``learning_rate``, ``chunk_frames``, ...).
    random_state : None, int or Generator
        Seed of the predictive model and of the clustering (None: fresh entropy).
    progress : bool or None
        Progress bars (None: shown in a terminal or notebook).

    Attributes
    ----------
    labels_ : xarray.DataArray ``(unit,)`` or ``(roi,)``
        Cluster of every recorded neuron.
    stimuli_ : xarray.DataArray ``(cluster, time, y, x, channel)``
    response_matrix_ : xarray.DataArray ``(mds, cluster)``
    n_clusters_ : int
    history_ : xarray.Dataset
        ``objective`` and ``n_clusters`` per EM iteration, on ``iteration``.
    model_ : torch module
        The model clustered (the centred predictive model on the recording path).
    predictive_model_ : ConvGaussianModel
        The predictive model as trained (recording path; its training history
        is ``predictive_model_.history_``).
    result_ : xarray.Dataset
        Everything :func:`mds_clustering` returned.

    Examples
    --------
    From a recording: a white-noise movie and the spike trains it evoked.

    >>> from neurodata.datasets import make_retina_population
    >>> rec = make_retina_population(20, 2, n_frames=600, stimulus_shape=(6, 5, 5),
    ...                              random_state=0)
    >>> mds = MDSClustering(n_clusters_init=2, split=False, n_epochs=3, random_state=0,
    ...                     progress=False)
    >>> mds = mds.fit(rec, stimulus="movie", lags=6)
    >>> mds.n_clusters_, mds.labels_.dims, mds.stimuli_.dims
    (2, ('unit',), ('cluster', 'time', 'y', 'x', 'channel'))
    >>> responses = mds.transform()          # each cell's response to each MDS
    >>> bool((mds.predict(responses) == mds.labels_).all())
    True
    """

    def __init__(self, n_clusters_init: int = 6, *, tau: float = 1.6, tau_scale: str = "spread",
                 split: bool = True, max_clusters: int | None = None, min_cluster_size: int = 5,
                 split_margin: float = 0.04, max_iter: int = 20, n_steps: int = 40,
                 learning_rate: float = 0.2, split_max_iter: int = 6, split_refine_iter: int = 2,
                 norm: float | None = None,
                 value_range: Sequence[float] | Sequence[Sequence[float]] = (-1.0, 1.0),
                 temporal_sigma: float = 0.0, n_noise: int = 256, scale_floor: float = 0.1,
                 stimulus_shape: Sequence[int] | None = None, n_epochs: int = 30,
                 model_params: dict | None = None, device: str = "cpu",
                 random_state: Any = None, progress: bool | None = None) -> None:
        self.n_clusters_init = n_clusters_init
        self.tau = tau
        self.tau_scale = tau_scale
        self.split = split
        self.max_clusters = max_clusters
        self.min_cluster_size = min_cluster_size
        self.split_margin = split_margin
        self.max_iter = max_iter
        self.n_steps = n_steps
        self.learning_rate = learning_rate
        self.split_max_iter = split_max_iter
        self.split_refine_iter = split_refine_iter
        self.norm = norm
        self.value_range = value_range
        self.temporal_sigma = temporal_sigma
        self.n_noise = n_noise
        self.scale_floor = scale_floor
        self.stimulus_shape = stimulus_shape
        self.n_epochs = n_epochs
        self.model_params = model_params
        self.device = device
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ fit
    def _predictive_model(self, recording: xr.Dataset, selectors: dict, seed: int):
        aligned = align_movie(recording, selectors.get("stimulus"),
                              variable=selectors.get("variable"), lags=selectors.get("lags", 12),
                              latency=selectors.get("latency", 0.0), name="MDSClustering")
        model = fit_predictive_model(aligned, n_epochs=self.n_epochs, device=self.device,
                                     random_state=seed, progress=self.progress,
                                     **(self.model_params or {}))
        return aligned, model

    def fit(self, recording: Any, n_neurons: int | None = None, *,
            stimulus: str | xr.DataArray | None = None, variable: str | None = None,
            lags: int = 12, latency: float = 0.0) -> MDSClustering:
        """Cluster the neurons of a recording (through its predictive model) or of a model.

        Parameters
        ----------
        recording : Dataset or torch module
            A recording with a stimulus movie (a series ``(time_<name>, y, x[,
            channel])``) and the responses to it (spike trains, or ``(time,
            unit|roi)`` traces); or a predictive model mapping stimuli
            ``(batch, channel, time, y, x)`` to responses ``(batch, unit)``.
        n_neurons : int, optional
            Model path: the number of neurons (checked against the model's output).
        stimulus, variable, lags, latency
            Recording path: the movie series, the traces to use (default: the
            spike trains, counted per frame), the lag window (frames; the
            predictive model's temporal extent) and a response latency (s);
            see :func:`neurodata.signals.align_movie`.

        Returns
        -------
        MDSClustering
            ``self``.
        """
        seed = self.random_state
        if isinstance(recording, xr.Dataset):
            rng = check_random_state(self.random_state)
            seed = spawn_seed(rng)
            selectors = {"stimulus": stimulus, "variable": variable, "lags": lags,
                         "latency": latency}
            aligned, model = self._predictive_model(recording, selectors, spawn_seed(rng))
            self.predictive_model_ = model
            self.fit_selectors_ = selectors
            self._fingerprint = _fingerprint(aligned)
            target: Model = model.centered()
        elif callable(recording):
            if stimulus is not None or variable is not None:
                raise NeurodataError("stimulus= and variable= select from a recording "
                                     "(xarray.Dataset); a model needs neither.")
            target = recording
        else:
            raise NeurodataError(f"MDSClustering fits a recording (xarray.Dataset with a stimulus "
                                 f"movie and responses) or a predictive model (a callable torch "
                                 f"module); got {type(recording).__name__}.")
        params = {k: v for k, v in self.get_params().items() if k not in _MODEL_PARAMS}
        params["random_state"] = seed  # the model path: exactly mds_clustering(model, ...)
        self.result_ = mds_clustering(target, n_neurons, **params)
        self.model_ = target
        self.labels_ = self.result_.labels
        self.stimuli_ = self.result_.stimuli
        self.objective_curve_ = self.result_.objective
        self.response_matrix_ = self.result_.response_matrix
        self.n_clusters_ = int(self.result_.sizes["cluster"])
        self.history_ = make_history(
            {"objective": self.result_.objective.values,
             "n_clusters": self.result_.n_clusters_per_iteration.values},
            attrs={"iteration": "EM iteration"})
        return self

    def fit_predict(self, recording: Any, n_neurons: int | None = None, **selectors: Any
                    ) -> xr.DataArray:
        """Fit and return ``labels_``."""
        return self.fit(recording, n_neurons, **selectors).labels_

    # -------------------------------------------------------------- results
    def stimuli_tensor(self) -> torch.Tensor:
        """The MDS as a torch tensor ``(cluster, channel, time, y, x)``, ready to show a model."""
        self._check_fitted()
        return torch.from_numpy(np.ascontiguousarray(
            self.stimuli_.transpose("cluster", "channel", "time", "y", "x").values))

    def transform(self, model: Model | None = None) -> xr.DataArray:
        """Responses ``(unit, cluster)`` of a model's neurons to the fitted MDS.

        ``model`` defaults to the model clustered (``model_``).
        """
        self._check_fitted()
        model = self.model_ if model is None else model
        with torch.no_grad():
            out = model(self.stimuli_tensor().to(self.device))
        if not isinstance(out, torch.Tensor) or out.ndim != 2:
            raise ShapeError("the model must return responses (batch, unit) as a torch.Tensor.")
        dim, labels = neurons_of(model, out.shape[1])
        return xr.DataArray(out.cpu().numpy().T, dims=(dim, "cluster"),
                            coords={dim: labels, "cluster": self.stimuli_.cluster.values})

    def predict(self, responses: xr.DataArray | np.ndarray) -> xr.DataArray:
        """Type new cells on the fly: each goes to the MDS it responds to most.

        ``responses`` is ``(unit, cluster)`` (or ``(roi, cluster)``): every
        cell's response to every fitted MDS (recorded, or from :meth:`transform`).
        """
        self._check_fitted()
        da = _as_unit_by_cluster(responses, self.n_clusters_)
        labels = da.cluster.values[np.argmax(da.values, axis=1)] if "cluster" in da.coords else \
            np.argmax(da.values, axis=1)
        dim = da.dims[0]
        return xr.DataArray(np.asarray(labels, dtype=np.int64), dims=(dim,),
                            coords={dim: da[dim].values} if dim in da.coords else None,
                            name="labels")

    def _normalizer(self, model: Model) -> ResponseNormalizer:
        """The noise z-scoring of ``model``'s neurons: the fit's for the fitted model."""
        if model is self.model_:
            return ResponseNormalizer(torch.from_numpy(self.result_.noise_mean.values),
                                      torch.from_numpy(self.result_.noise_scale.values))
        shape = tuple(self.stimuli_.transpose("cluster", "channel", "time", "y", "x").shape[1:])
        con = make_constraint(shape, float(self.result_.attrs["norm"]), self.value_range,
                              self.temporal_sigma)
        with torch.no_grad():
            noise = con.random(max(2, self.n_noise), torch_generator(0))
            return ResponseNormalizer.from_responses(model(noise).double(), self.scale_floor)

    def score(self, recording: Any = None, n_neurons: int | None = None, **selectors: Any
              ) -> float:
        """Mean MDS objective ``J`` over clusters (Burg et al., Eq. 1; higher is better).

        Every cluster's MDS is shown to the model of ``recording`` (a
        recording: the predictive model fitted to it, reused when it is the
        recording fitted, else trained with the same settings; a model: used
        as it is; None: the model clustered), responses are z-scored against
        noise, and ``J_c`` is computed from the cluster means of the fitted
        labels at the fit's temperature.  On the fitted model this is the
        mean of ``result_.cluster_objective``.
        """
        self._check_fitted()
        model = self.model_ if recording is None else recording
        if isinstance(recording, xr.Dataset):
            sel = {**self.__dict__.get("fit_selectors_", {}), **selectors}
            aligned = align_movie(recording, sel.get("stimulus"), variable=sel.get("variable"),
                                  lags=sel.get("lags", 12), latency=sel.get("latency", 0.0))
            if getattr(self, "_fingerprint", None) == _fingerprint(aligned):
                model = self.model_
            else:
                model = self._predictive_model(recording, sel, spawn_seed(
                    check_random_state(self.random_state)))[1].centered()
        with torch.no_grad():
            raw = model(self.stimuli_tensor().to(self.device)).double().cpu()
        r = self._normalizer(model)(raw).numpy()  # (mds, unit)
        labels = self.labels_.values
        if r.shape[1] != labels.size:
            raise ShapeError(f"the model has {r.shape[1]} neurons; the clustering has "
                             f"{labels.size}.")
        onehot = np.eye(self.n_clusters_)[labels]
        means = (r @ onehot) / onehot.sum(0)
        return float(np.mean(mds_objective(means, float(self.result_.attrs["tau_effective"]))))

    def to_dataset(self) -> xr.Dataset:
        """The fitted clustering as one Dataset (labels, MDS, response matrix, history).

        Examples
        --------
        >>> from neurodata.datasets import RetinaLNModel, make_retina_population
        >>> rec = make_retina_population(20, 2, n_frames=10, stimulus_shape=(6, 5, 5),
        ...                              random_state=0)
        >>> mds = MDSClustering(n_clusters_init=2, split=False, random_state=0, progress=False)
        >>> ds = mds.fit(RetinaLNModel.from_recording(rec)).to_dataset()
        >>> ds.labels.dims, ds.stimuli.dims[0]
        (('unit',), 'cluster')
        """
        self._check_fitted()
        ds = self.result_.copy()
        empty = [k for k, v in ds.data_vars.items() if v.size == 0]
        ds = ds.drop_vars(empty)
        for k, v in ds.data_vars.items():
            if v.dtype == bool:
                ds[k] = v.astype(np.int8)
        return ds
