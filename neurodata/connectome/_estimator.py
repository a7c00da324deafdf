"""DynamicConnectome: affinities -> NTF -> communities, as one estimator."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.optimize import nnls

from neurodata._utils import (
    NeurodataEstimator,
    check_fraction,
    check_integer,
    check_option,
    check_positive,
    check_random_state,
    make_history,
    renamed_params,
)
from neurodata.connectome._affinity import AffinitySpec, pairs_to_matrix
from neurodata.connectome._nested import fit_nested_sbm
from neurodata.connectome._ntf import ntf
from neurodata.connectome._sbm import fit_sbm
from neurodata.connectome._tensor import _tensor_of, split_recordings
from neurodata.errors import ShapeError

__all__ = ["DynamicConnectome"]


@renamed_params(n_iter_max="max_iter")
class DynamicConnectome(NeurodataEstimator):
    """Dynamic functional connectome of Dyballa et al. (2024).

    ``fit`` runs the three stages of the paper: differential affinities of
    every neuron pair, time point and animal
    (:func:`build_affinity_tensor`), their non-negative CP decomposition
    (:func:`ntf`, best of ``n_init`` restarts), and weighted SBM communities
    (:func:`fit_sbm`) on each component's pair factor.

    Parameters
    ----------
    rank : int
        Number of NTF components.
    affinity : {"interval", "shared_rate"}
        The affinity (``method`` of :func:`compute_affinities`).
    sign : {"same", "absolute"}
        Whether only same-direction changes count (default) or opposite ones
        too (the paper's reading).
    min_slope, min_duration : float
        Thresholds of the monotonic runs of ``"interval"`` (0: none).
    smooth, window : float
        Affinity parameters (seconds), see :func:`compute_affinities`.
    n_init, max_iter, tol : int, int, float
        NTF restarts and stopping rule (``n_iter_max``, the old name of
        ``max_iter``, is accepted with a deprecation warning).
    edge_threshold : float
        A component's graph keeps the pairs whose weight is at least this
        fraction of its largest pair weight; lighter pairs are non-edges.
        The NTF pair factors are dense, with a long tail of tiny weights that
        no weight model describes well; cutting it makes the edge pattern
        itself informative (0 keeps every positive pair).
    deg_corr : bool or "auto"
        Degree correction of the SBM.
    weights : {"lognormal", "exponential"}
        Edge-weight model of the SBM (the paper used "exponential").
    sbm_n_init : int
        SBM restarts per component.
    nested : bool
        Communities from the nested SBM (:func:`fit_nested_sbm`): every level
        of the hierarchy in ``hierarchy_``, level 0 in ``communities_``.
    random_state : int, Generator or None
        None draws fresh entropy; an int gives a reproducible fit.
    progress : bool or None
        Progress bars (None: shown in a terminal or notebook).

    Attributes
    ----------
    factors_ : dict of str to xarray.DataArray
        ``"pair"`` (pair, component), ``"time"`` (time, component) and
        ``"animal"`` (animal, component): unit-norm columns.
    weights_ : xarray.DataArray
        Component weights (decreasing).
    history_ : xarray.Dataset
        ``relative_error`` on ``iteration``: the NTF error after each HALS
        iteration of the best restart.
    communities_ : xarray.DataArray
        ``(component, roi)`` (or ``unit``) community labels of each
        component's graph; the neuron coordinate holds the identities that
        matched neurons across animals.
    description_length_ : xarray.DataArray
        SBM description length (nats) per component (the whole hierarchy's
        when ``nested``).
    hierarchy_ : xarray.DataArray
        Only when ``nested``: ``(component, level, roi)`` group of each neuron
        at every level (level 0 the finest, the last a single group; a
        component with fewer levels repeats its top one).
    neurons_ : ndarray
        Neuron identities, the order of the graphs' nodes.
    neuron_dim_ : str
        The recordings' neuron dimension, ``roi`` or ``unit``.

    Examples
    --------
    >>> from neurodata.datasets import make_dynamic_communities
    >>> ds = make_dynamic_communities(n_neurons=10, n_time=120, n_animals=2, random_state=0)
    >>> model = DynamicConnectome(rank=3, n_init=1, max_iter=20, sbm_n_init=1,
    ...                           random_state=0).fit(ds, variable="traces")
    >>> model.factors_["time"].dims, model.communities_.dims
    (('time', 'component'), ('component', 'roi'))
    """

    def __init__(self, rank: int = 5, *, affinity: str = "interval", sign: str = "same",
                 min_slope: float = 0.0, min_duration: float = 0.0,
                 smooth: float = 1.0, window: float | None = None,
                 n_init: int = 5, max_iter: int = 200, tol: float = 1e-6,
                 edge_threshold: float = 0.2, deg_corr: bool | str = "auto",
                 weights: str = "lognormal", sbm_n_init: int = 3, nested: bool = False,
                 random_state=None, progress: bool | None = None):
        self.rank = rank
        self.affinity = affinity
        self.sign = sign
        self.min_slope = min_slope
        self.min_duration = min_duration
        self.smooth = smooth
        self.window = window
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.edge_threshold = edge_threshold
        self.deg_corr = deg_corr
        self.weights = weights
        self.sbm_n_init = sbm_n_init
        self.nested = nested
        self.random_state = random_state
        self.progress = progress

    def _check_params(self) -> AffinitySpec:
        check_integer("rank", self.rank)
        check_positive("smooth", self.smooth, strict=False)
        check_positive("window", self.window, allow_none=True)
        check_integer("n_init", self.n_init)
        check_integer("max_iter", self.max_iter)
        check_positive("tol", self.tol, strict=False)
        check_fraction("edge_threshold", self.edge_threshold, closed="left")
        check_option("deg_corr", self.deg_corr, (True, False, "auto"))
        check_option("weights", self.weights, ("lognormal", "exponential"))
        check_integer("sbm_n_init", self.sbm_n_init)
        check_option("nested", self.nested, (False, True))
        return AffinitySpec(self.affinity, self.sign, self.min_slope, self.min_duration)

    def _tensor(self, recording, variable, identity, bin_size, labels=None) -> xr.DataArray:
        spec = self._check_params()
        items = split_recordings(recording, variable=variable, identity=identity,
                                 bin_size=bin_size)
        return _tensor_of(items, smooth=self.smooth, window=self.window, neuron_dim=None,
                          progress=self.progress, labels=labels, spec=spec)

    def fit(self, recording, *, variable: str | None = None, identity: str | None = None,
            bin_size: float | None = None) -> DynamicConnectome:
        """Fit to one or several animals' recordings.

        Parameters
        ----------
        recording : Dataset, DataArray, list or dict
            A recording from :func:`~neurodata.open_nwb` or
            :func:`~neurodata.load_sample` (one animal), a list of them or the
            dict of :func:`~neurodata.open_folder` (one animal each), or the
            traces themselves: ``(time, roi)`` or ``(animal, time, roi)``
            (see :func:`split_recordings`).  All on one time grid.
        variable : str, optional
            The traces variable (``"dff"``, ``"fluorescence"``, ...); needed
            when a recording holds several.
        identity : str, optional
            The neuron coordinate that matches neurons across recordings
            (``"roi_name"``, NeuroPAL names); neurons missing in an animal are
            masked in the factorisation, not zeros.  Default: see
            :func:`split_recordings`.
        bin_size : float, optional
            For recordings of spike trains: fit firing rates in bins of this
            many seconds.  Without it, spikes raise
            :class:`~neurodata.errors.NoNeuralDataError`.

        Returns
        -------
        self
        """
        self._check_params()
        tensor = self._tensor(recording, variable, identity, bin_size)
        return self.fit_tensor(tensor)

    def fit_tensor(self, tensor: xr.DataArray) -> DynamicConnectome:
        """Fit from a precomputed ``(pair, time, animal)`` affinity tensor."""
        self._check_params()
        rng = check_random_state(self.random_state)
        fit = ntf(tensor, self.rank, n_init=self.n_init, max_iter=self.max_iter,
                  tol=self.tol, random_state=rng, progress=self.progress)
        self.neuron_dim_ = str(tensor.attrs.get("neuron_dim", "roi"))
        pair = fit["pair_factor"]
        for name in ("neuron_i", "neuron_j", "i", "j"):
            pair = pair.assign_coords({name: ("pair", tensor[name].values)})
        pair.attrs["neuron_dim"] = self.neuron_dim_
        self.factors_ = {"pair": pair,
                         "time": fit["time_factor"].assign_coords(time=tensor["time"].values),
                         "animal": fit["animal_factor"].assign_coords(
                             animal=tensor["animal"].values)}
        self.weights_ = fit["weights"]
        self.history_ = make_history(
            {"relative_error": np.asarray(fit["loss_curve"].values, dtype=float)},
            attrs={"iteration": "HALS iteration of the best NTF restart"})
        self.neurons_ = _neuron_order(tensor)
        self._fit_communities(rng)
        return self

    @property
    def loss_curve_(self) -> np.ndarray:
        """The NTF relative error per iteration (``history_.relative_error``)."""
        self._check_fitted("history_")
        return np.asarray(self.history_["relative_error"].values)

    @classmethod
    def paper(cls, rank: int = 5, **overrides) -> DynamicConnectome:
        """The settings closest to the paper (Dyballa et al. 2024), as far as it is known.

        Interval affinities counting opposite-direction changes
        (``affinity="interval"``, ``sign="absolute"``), exponential edge
        weights (graph-tool's "real-exponential"), no edge cut, and the nested
        SBM; any parameter can be overridden.

        Examples
        --------
        >>> DynamicConnectome.paper(rank=3, random_state=0)
        DynamicConnectome(edge_threshold=0.0, nested=True, random_state=0, rank=3,
                          sign='absolute', weights='exponential')
        """
        params = dict(affinity="interval", sign="absolute", weights="exponential",
                      edge_threshold=0.0, nested=True)
        return cls(rank, **{**params, **overrides})

    def _fit_communities(self, rng) -> None:
        labels, dls, levels = [], [], []
        for k in range(self.rank):
            w = self.graph(k)
            w = w.where(w >= self.edge_threshold * float(w.max()), 0.0)
            if self.nested:
                fit = fit_nested_sbm(w, deg_corr=self.deg_corr, weights=self.weights,
                                     n_init=self.sbm_n_init, random_state=rng)
                levels.append(fit["community"].values)
                labels.append(levels[-1][0])
                dls.append(fit.attrs["description_length"])
                continue
            com = fit_sbm(w, deg_corr=self.deg_corr, weights=self.weights,
                          n_init=self.sbm_n_init, random_state=rng)
            labels.append(com.values)
            dls.append(com.attrs["description_length"])
        comp = np.arange(self.rank)
        dim = self.neuron_dim_
        self.communities_ = xr.DataArray(np.stack(labels), dims=("component", dim),
                                         coords={"component": comp, dim: self.neurons_},
                                         name="community")
        self.description_length_ = xr.DataArray(np.asarray(dls), dims=("component",),
                                                coords={"component": comp})
        if self.nested:
            depth = max(lv.shape[0] for lv in levels)
            padded = [np.concatenate([lv, np.repeat(lv[-1:], depth - lv.shape[0], 0)])
                      for lv in levels]
            self.hierarchy_ = xr.DataArray(
                np.stack(padded), dims=("component", "level", dim), name="hierarchy",
                coords={"component": comp, "level": np.arange(depth), dim: self.neurons_})

    def graph(self, component: int) -> xr.DataArray:
        """The ``(roi, roi_j)`` (or ``unit``) weighted graph of one component's pair factor."""
        self._check_fitted("factors_")
        dim = self.neuron_dim_
        w = pairs_to_matrix(self.factors_["pair"].isel(component=component).values,
                            len(self.neurons_))
        return xr.DataArray(w, dims=(dim, f"{dim}_j"),
                            coords={dim: self.neurons_, f"{dim}_j": self.neurons_})

    def score(self, recording, *, variable: str | None = None, identity: str | None = None,
              bin_size: float | None = None) -> float:
        """Fraction of a recording's affinity tensor explained by the fitted components.

        The pair and time factors stay fixed; each animal's loadings are
        refitted by non-negative least squares, so that new animals (on the
        fitted time grid, with neurons matched by identity) can be scored.
        ``1 - |X - X_hat|^2 / |X|^2`` over the observed entries: 1 is a
        perfect fit, higher is better.  Arguments as in :meth:`fit`.
        """
        self._check_fitted("factors_")
        tensor = self._tensor(recording, variable, identity, bin_size, labels=self.neurons_)
        if tensor.sizes["time"] != self.factors_["time"].sizes["time"]:
            raise ShapeError(f"the recording has {tensor.sizes['time']} time points; the model "
                             f"was fitted on {self.factors_['time'].sizes['time']}. Score "
                             f"recordings on the fitted time grid.")
        a = (self.factors_["pair"] * self.weights_).values.astype(np.float64)
        b = self.factors_["time"].values.astype(np.float64)
        x = tensor.transpose("animal", "pair", "time").values
        residual = total = 0.0
        for xk in x:
            r, t = _refit_loading(xk, a, b)
            residual += r
            total += t
        return float(1.0 - residual / total) if total > 0 else 0.0

    def to_dataset(self) -> xr.Dataset:
        """The fitted connectome as one Dataset (factors, weights, communities).

        ``pair_factor`` (pair, component) with the pair's neuron identities
        ``neuron_i``/``neuron_j``, ``time_factor``, ``animal_factor``,
        ``weights``, ``community`` (component, roi|unit) and
        ``description_length``; :meth:`write_nwb` stores it.
        """
        self._check_fitted("factors_")
        pair = self.factors_["pair"]
        ds = xr.Dataset({
            "pair_factor": pair.variable,
            "time_factor": self.factors_["time"].variable,
            "animal_factor": self.factors_["animal"].variable,
            "weights": self.weights_.variable,
            "community": self.communities_.variable,
            "description_length": self.description_length_.variable,
        }, coords={"pair": np.arange(pair.sizes["pair"]),
                   "neuron_i": ("pair", _plain(pair["neuron_i"].values)),
                   "neuron_j": ("pair", _plain(pair["neuron_j"].values)),
                   "time": self.factors_["time"]["time"].values,
                   "animal": _plain(self.factors_["animal"]["animal"].values),
                   self.neuron_dim_: _plain(self.neurons_),
                   "component": np.arange(self.rank)})
        if self.nested:
            ds["hierarchy"] = self.hierarchy_.variable
            ds = ds.assign_coords(level=np.arange(self.hierarchy_.sizes["level"]))
        ds.attrs.update(rank=int(self.rank), neuron_dim=self.neuron_dim_,
                        relative_error=float(self.loss_curve_[-1]))
        return ds


def _plain(values) -> np.ndarray:
    """Labels as strings or numbers, never Python objects (for NWB)."""
    v = np.asarray(values)
    return v.astype(str) if v.dtype.kind == "O" else v


def _refit_loading(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(squared residual, squared norm) over the observed entries of ``x ~ a diag(c) b^T``.

    ``c >= 0`` minimises the masked squared error: its Gram matrix is
    ``sum_pt m_pt (a_p * b_t)(a_p * b_t)^T``, computed as ``a^T`` times the
    masked products without forming the ``P x T x R`` array.
    """
    m = np.isfinite(x)
    x0 = np.where(m, x, 0.0).astype(np.float64)
    total = float(np.sum(x0 * x0))
    if total == 0.0:
        return 0.0, 0.0
    r = a.shape[1]
    bb = (b[:, :, None] * b[:, None, :]).reshape(b.shape[0], r * r)
    mb = (m.astype(np.float64) @ bb).reshape(a.shape[0], r, r)
    gram = np.einsum("pr,ps,prs->rs", a, a, mb)
    rhs = np.einsum("pr,pr->r", a, x0 @ b)
    gram += 1e-12 * np.trace(gram) * np.eye(r)
    chol = np.linalg.cholesky(gram)
    c, _ = nnls(chol.T, np.linalg.solve(chol, rhs))
    residual = total - 2 * c @ rhs + c @ gram @ c
    return max(float(residual), 0.0), total


def _neuron_order(tensor: xr.DataArray) -> np.ndarray:
    n = int(max(tensor["j"].values.max(), tensor["i"].values.max())) + 1
    names = np.empty(n, dtype=object)
    names[tensor["i"].values] = tensor["neuron_i"].values
    names[tensor["j"].values] = tensor["neuron_j"].values
    return np.asarray(names.tolist())
