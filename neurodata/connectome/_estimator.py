"""DynamicConnectome: affinities -> NTF -> communities, as one estimator."""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata.connectome._affinity import pairs_to_matrix
from neurodata.connectome._ntf import ntf
from neurodata.connectome._sbm import fit_sbm
from neurodata.connectome._tensor import build_affinity_tensor

__all__ = ["DynamicConnectome"]


class DynamicConnectome:
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
    smooth, window : float
        Affinity parameters (seconds), see :func:`compute_affinities`.
    n_init, n_iter_max, tol : int, int, float
        NTF restarts and stopping rule.
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
    random_state : int or None
    progress : bool
        tqdm progress bars.

    Attributes
    ----------
    factors_ : dict of str to xarray.DataArray
        ``"pair"`` (pair, component), ``"time"`` (time, component) and
        ``"animal"`` (animal, component): unit-norm columns.
    weights_ : xarray.DataArray
        Component weights (decreasing).
    loss_curve_ : ndarray
        Relative error after each iteration of the best restart.
    communities_ : xarray.DataArray
        (component, neuron) community labels of each component's graph.
    description_length_ : xarray.DataArray
        SBM description length (nats) per component.
    neurons_ : ndarray
        Neuron labels, the order of the graphs' nodes.

    Examples
    --------
    >>> from neurodata.datasets import make_dynamic_communities
    >>> ds = make_dynamic_communities(n_neurons=10, n_time=120, n_animals=2, random_state=0)
    >>> model = DynamicConnectome(rank=3, n_init=1, n_iter_max=20, sbm_n_init=1,
    ...                           random_state=0).fit(ds)
    >>> model.factors_["time"].dims, model.communities_.dims
    (('time', 'component'), ('component', 'neuron'))
    """

    def __init__(self, rank: int = 5, *, smooth: float = 1.0, window: float | None = None,
                 n_init: int = 5, n_iter_max: int = 200, tol: float = 1e-6,
                 edge_threshold: float = 0.2, deg_corr: bool | str = "auto",
                 weights: str = "lognormal", sbm_n_init: int = 3, random_state=None,
                 progress: bool = False):
        self.rank = rank
        self.smooth = smooth
        self.window = window
        self.n_init = n_init
        self.n_iter_max = n_iter_max
        self.tol = tol
        self.edge_threshold = edge_threshold
        self.deg_corr = deg_corr
        self.weights = weights
        self.sbm_n_init = sbm_n_init
        self.random_state = random_state
        self.progress = progress

    def fit(self, recordings, y=None) -> DynamicConnectome:
        """Fit to one or several animals' traces (see :func:`build_affinity_tensor`)."""
        tensor = build_affinity_tensor(recordings, smooth=self.smooth, window=self.window,
                                       progress=self.progress)
        return self.fit_tensor(tensor)

    def fit_tensor(self, tensor: xr.DataArray) -> DynamicConnectome:
        """Fit from a precomputed ``(pair, time, animal)`` affinity tensor."""
        rng = np.random.default_rng(self.random_state)
        fit = ntf(tensor, self.rank, n_init=self.n_init, n_iter_max=self.n_iter_max,
                  tol=self.tol, random_state=rng, progress=self.progress)
        pair = fit["pair_factor"]
        for name in ("neuron_i", "neuron_j", "i", "j"):
            pair = pair.assign_coords({name: ("pair", tensor[name].values)})
        self.factors_ = {"pair": pair,
                         "time": fit["time_factor"].assign_coords(time=tensor["time"].values),
                         "animal": fit["animal_factor"].assign_coords(
                             animal=tensor["animal"].values)}
        self.weights_ = fit["weights"]
        self.loss_curve_ = np.asarray(fit["loss_curve"].values)
        self.neurons_ = _neuron_order(tensor)
        self._fit_communities(rng)
        return self

    def _fit_communities(self, rng) -> None:
        labels, dls = [], []
        for k in range(self.rank):
            w = self.graph(k)
            w = w.where(w >= self.edge_threshold * float(w.max()), 0.0)
            com = fit_sbm(w, deg_corr=self.deg_corr, weights=self.weights,
                          n_init=self.sbm_n_init, random_state=rng)
            labels.append(com.values)
            dls.append(com.attrs["description_length"])
        comp = np.arange(self.rank)
        self.communities_ = xr.DataArray(np.stack(labels), dims=("component", "neuron"),
                                         coords={"component": comp, "neuron": self.neurons_},
                                         name="community")
        self.description_length_ = xr.DataArray(np.asarray(dls), dims=("component",),
                                                coords={"component": comp})

    def graph(self, component: int) -> xr.DataArray:
        """The ``(neuron, neuron_j)`` weighted graph of one component's pair factor."""
        w = pairs_to_matrix(self.factors_["pair"].isel(component=component).values,
                            len(self.neurons_))
        return xr.DataArray(w, dims=("neuron", "neuron_j"),
                            coords={"neuron": self.neurons_, "neuron_j": self.neurons_})


def _neuron_order(tensor: xr.DataArray) -> np.ndarray:
    n = int(max(tensor["j"].values.max(), tensor["i"].values.max())) + 1
    names = np.empty(n, dtype=object)
    names[tensor["i"].values] = tensor["neuron_i"].values
    names[tensor["j"].values] = tensor["neuron_j"].values
    return np.asarray(names.tolist())
