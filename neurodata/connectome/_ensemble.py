"""Rank selection in the manner of tensortools: ensembles of restarts per rank."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import xarray as xr
from scipy.optimize import linear_sum_assignment

from neurodata._utils import check_integer, check_random_state, progress_bar, renamed_kwargs
from neurodata.connectome._ntf import ntf

__all__ = ["factor_similarity", "ntf_ensemble"]


def _factor_list(fit) -> list[np.ndarray]:
    if isinstance(fit, xr.Dataset):
        return [np.asarray(fit[f"{d}_factor"].values) for d in fit.attrs["dims"]]
    return [np.asarray(f) for f in fit]


def factor_similarity(fit_a, fit_b) -> tuple[float, np.ndarray]:
    """Similarity of two CP models after matching their components (tensortools' score).

    Components are compared by the product over modes of the cosines of their
    factor columns; the best one-to-one matching (Hungarian algorithm) is
    found, and the score is the mean matched similarity, 1 for identical
    models up to permutation and scaling.  Unmatched components (different
    ranks) count as 0.

    Parameters
    ----------
    fit_a, fit_b : xarray.Dataset from :func:`ntf`, or lists of factor arrays

    Returns
    -------
    score : float
    perm : ndarray
        ``perm[k]`` is the component of ``fit_b`` matched to component ``k``
        of ``fit_a`` (-1 when unmatched).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = [rng.random((n, 3)) for n in (5, 4, 3)]
    >>> score, perm = factor_similarity(f, [2 * g[:, [2, 0, 1]] for g in f])
    >>> round(score, 6), perm.tolist()
    (1.0, [1, 2, 0])
    """
    fa, fb = _factor_list(fit_a), _factor_list(fit_b)
    sim = np.ones((fa[0].shape[1], fb[0].shape[1]))
    for a, b in zip(fa, fb):
        an = a / np.maximum(np.linalg.norm(a, axis=0), 1e-300)
        bn = b / np.maximum(np.linalg.norm(b, axis=0), 1e-300)
        sim *= np.abs(an.T @ bn)
    rows, cols = linear_sum_assignment(-sim)
    perm = np.full(sim.shape[0], -1)
    perm[rows] = cols
    return float(sim[rows, cols].sum() / max(sim.shape)), perm


@renamed_kwargs(n_restarts="n_init")
def ntf_ensemble(tensor, ranks: Iterable[int], *, n_init: int = 5, random_state=None,
                 progress: bool | None = None, **ntf_kwargs) -> xr.Dataset:
    """Fit NTF ``n_init`` times at each rank, for choosing the rank.

    As in tensortools (Williams et al. 2018): per rank, the reconstruction
    error of each restart (sorted, best first) and the similarity
    (:func:`factor_similarity`) of each restart to the best one.  A good rank
    has low error and restarts that agree (similarity near 1); past it the
    error improves little and the factors stop being reproducible.

    Returns
    -------
    xarray.Dataset
        ``error`` and ``similarity`` (rank, restart).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.einsum("ir,jr,kr->ijk", *[rng.random((n, 2)) for n in (8, 6, 3)])
    >>> ens = ntf_ensemble(x, [1, 2], n_init=2, random_state=0, tol=1e-7)
    >>> ens.error.dims, bool(ens.error.sel(rank=2)[0] < 1e-2 < ens.error.sel(rank=1)[0])
    (('rank', 'restart'), True)
    """
    ranks = [check_integer("rank", r) for r in ranks]
    n_init = check_integer("n_init", n_init)
    rng = check_random_state(random_state)
    err = np.full((len(ranks), n_init), np.nan)
    sim = np.full((len(ranks), n_init), np.nan)
    ntf_kwargs.setdefault("progress", False)
    for q, rank in enumerate(progress_bar(ranks, desc="ranks", progress=progress)):
        fits = [ntf(tensor, rank, random_state=rng, **ntf_kwargs) for _ in range(n_init)]
        errors = np.array([f.attrs["relative_error"] for f in fits])
        order = np.argsort(errors)
        err[q] = errors[order]
        sim[q] = [factor_similarity(fits[order[0]], fits[k])[0] for k in order]
    return xr.Dataset({"error": (("rank", "restart"), err),
                       "similarity": (("rank", "restart"), sim)},
                      coords={"rank": ranks, "restart": np.arange(n_init)})
