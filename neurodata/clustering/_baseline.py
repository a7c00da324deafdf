"""The classic baseline: cluster response features with a Gaussian mixture chosen by BIC.

Baden et al. (2016) typed mouse retinal ganglion cells by reducing their
responses to a battery of stimuli with (sparse) PCA and fitting Gaussian
mixture models with diagonal covariances, choosing the number of components
by the Bayesian information criterion.  :func:`gmm_bic_clustering` does the
same for any ``(neuron, feature)`` matrix, and :func:`noise_response_features`
builds one from a predictive model: every neuron's z-scored responses to a
fixed set of noise stimuli on the same constraint set that the MDS are
optimised over, so that both methods see the same model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
import xarray as xr
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture

from neurodata._utils import torch_generator
from neurodata.clustering._constraint import make_constraint
from neurodata.clustering._mds import neurons_of
from neurodata.errors import NeurodataError, ShapeError

__all__ = ["gmm_bic_clustering", "noise_response_features"]


def noise_response_features(model: Any, n_stimuli: int = 500, *,
                            stimulus_shape: Sequence[int] | None = None, norm: float | None = None,
                            value_range: Sequence[float] = (-1.0, 1.0),
                            random_state: int | None = None) -> xr.DataArray:
    """Responses ``(unit, stimulus)`` of a model to noise stimuli, z-scored per neuron.

    The neuron dimension is the model's (``unit`` or ``roi``, see
    :func:`~neurodata.clustering._mds.neurons_of`).

    Examples
    --------
    >>> from neurodata.datasets import RetinaLNModel, make_retina_population
    >>> rec = make_retina_population(10, 2, n_frames=10, stimulus_shape=(6, 5, 5),
    ...                              random_state=0)
    >>> noise_response_features(RetinaLNModel.from_recording(rec), 50, random_state=0).shape
    (10, 50)
    """
    shape = tuple(stimulus_shape or model.stimulus_shape)
    con = make_constraint(shape, norm, value_range)
    with torch.no_grad():
        resp = model(con.random(n_stimuli, torch_generator(random_state))).cpu().numpy().T
    resp = resp.astype(np.float64)
    sd = resp.std(axis=1, keepdims=True)
    z = (resp - resp.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    dim, labels = neurons_of(model, z.shape[0])
    return xr.DataArray(z, dims=(dim, "stimulus"), coords={dim: labels}, name="features")


def gmm_bic_clustering(
    features: xr.DataArray | np.ndarray,
    n_components: Iterable[int] = range(1, 21),
    *,
    n_pcs: int = 20,
    covariance_type: str = "diag",
    n_init: int = 5,
    random_state: int | None = None,
) -> xr.Dataset:
    """Cluster neurons by PCA + Gaussian mixture, the number of components chosen by BIC.

    Parameters
    ----------
    features : DataArray or array ``(unit, feature)``
        E.g. responses to a stimulus battery, in common units (e.g. each
        neuron's responses z-scored, as :func:`noise_response_features`
        returns); they are centred by the PCA but not rescaled per feature,
        which would make the clusters anisotropic and a diagonal mixture
        split them.
    n_components : iterable of int
        Mixture sizes to try.
    n_pcs : int
        Principal components kept (at most the number of features and neurons).
    covariance_type : str
        As in :class:`sklearn.mixture.GaussianMixture` (Baden et al.: diagonal).
    n_init : int
        Restarts per mixture size.
    random_state : int, optional
        Seed.

    Returns
    -------
    xarray.Dataset
        ``labels (unit)`` (the features' first dimension, ``unit`` for an
        array), ``bic (n_components)``; attr ``n_clusters``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(0, 1, (30, 5)), rng.normal(6, 1, (30, 5))])
    >>> res = gmm_bic_clustering(x, range(1, 5), n_pcs=3, random_state=0)
    >>> res.attrs["n_clusters"]
    2
    """
    x = np.asarray(features.values if isinstance(features, xr.DataArray) else features, dtype=float)
    if x.ndim != 2:
        raise ShapeError(f"features must be 2-D (unit, feature); got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise NeurodataError("features contain NaN or infinite values; drop those neurons first.")
    ks = [int(k) for k in n_components if 1 <= int(k) <= x.shape[0]]
    if not ks:
        raise NeurodataError(f"no mixture size in n_components fits {x.shape[0]} neurons.")
    pcs = PCA(n_components=min(n_pcs, *x.shape), random_state=random_state).fit_transform(x)
    bic, fits = [], []
    for k in ks:
        gmm = GaussianMixture(k, covariance_type=covariance_type, n_init=n_init,
                              random_state=random_state, reg_covar=1e-4).fit(pcs)
        bic.append(gmm.bic(pcs))
        fits.append(gmm)
    best = int(np.argmin(bic))
    labels = fits[best].predict(pcs)
    dim = str(features.dims[0]) if isinstance(features, xr.DataArray) else "unit"
    names = features.coords[dim].values if isinstance(features, xr.DataArray) and \
        dim in features.coords else np.arange(x.shape[0])
    return xr.Dataset({"labels": (dim, labels.astype(np.int64)), "bic": ("n_components", bic)},
                      coords={dim: names, "n_components": ks},
                      attrs={"n_clusters": ks[best], "n_pcs": pcs.shape[1]})
