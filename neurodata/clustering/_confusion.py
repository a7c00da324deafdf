"""Confusion matrices of a clustering: responses to the MDS, and clusters against known types."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from neurodata.errors import NeurodataError, ShapeError

__all__ = ["response_confusion_matrix", "type_confusion_matrix"]


def response_confusion_matrix(responses: xr.DataArray | np.ndarray,
                              labels: xr.DataArray | np.ndarray,
                              normalize: str | None = "column_diag") -> xr.DataArray:
    """Mean response of every cluster to every MDS, ``(mds, cluster)``.

    Parameters
    ----------
    responses : DataArray or array ``(unit, cluster)``
        Each neuron's response to the MDS of each cluster (e.g.
        :meth:`MDSClustering.transform`); the columns are the MDS.
    labels : array ``(unit,)``
        Cluster of each neuron (``0 .. K-1``).
    normalize : {"column_diag", "column_max", None}
        ``"column_diag"`` divides every cluster's column by its response to
        its own MDS (as in the authors' figures), so the diagonal is 1 and an
        off-diagonal entry says how strongly another MDS drives that cluster,
        relative to its own.

    Examples
    --------
    >>> r = np.array([[4.0, 1.0], [2.0, 0.0], [0.0, 3.0]])
    >>> response_confusion_matrix(r, [0, 0, 1]).values.tolist()
    [[1.0, 0.0], [0.1666..., 1.0]]
    """
    r = np.asarray(responses.transpose(..., "cluster").values if isinstance(responses, xr.DataArray)
                   and "cluster" in responses.dims else responses, dtype=float)
    lab = np.asarray(labels)
    if r.ndim != 2 or r.shape[0] != lab.shape[0]:
        raise ShapeError(f"responses must be (unit, mds) with one row per label; got shape "
                         f"{r.shape} and {lab.shape[0]} labels.")
    k = r.shape[1]
    if lab.min() < 0 or lab.max() >= k:
        raise NeurodataError(f"labels must lie in 0 .. {k - 1} (one MDS per cluster).")
    onehot = np.eye(k)[lab]
    counts = onehot.sum(0)
    mat = (r.T @ onehot) / np.where(counts > 0, counts, np.nan)  # (mds, cluster)
    if normalize == "column_diag":
        mat = mat / np.diag(mat)[None, :]
    elif normalize == "column_max":
        mat = mat / np.nanmax(np.abs(mat), axis=0, keepdims=True)
    elif normalize is not None:
        raise NeurodataError(f"normalize must be 'column_diag', 'column_max' or None; got {normalize!r}.")
    return xr.DataArray(mat, dims=("mds", "cluster"),
                        coords={"mds": np.arange(k), "cluster": np.arange(k)},
                        name="response_confusion")


def type_confusion_matrix(labels: xr.DataArray | np.ndarray, types: xr.DataArray | np.ndarray,
                          normalize: str | None = "type") -> xr.DataArray:
    """Counts (or fractions) of every known type in every cluster, ``(cluster, type)``.

    ``normalize="type"`` divides by the number of cells of each type (the
    authors' ground-truth confusion matrix: each type's column sums to 1);
    ``"cluster"`` by the cluster sizes; None keeps counts.

    Examples
    --------
    >>> type_confusion_matrix([0, 0, 1, 1], ["a", "a", "a", "b"]).values.tolist()
    [[0.666..., 0.0], [0.333..., 1.0]]
    """
    table = pd.crosstab(pd.Series(np.asarray(labels), name="cluster"),
                        pd.Series(np.asarray(types), name="type"))
    mat = table.to_numpy(dtype=float)
    if normalize == "type":
        mat = mat / mat.sum(0, keepdims=True)
    elif normalize == "cluster":
        mat = mat / mat.sum(1, keepdims=True)
    elif normalize is not None:
        raise NeurodataError(f"normalize must be 'type', 'cluster' or None; got {normalize!r}.")
    return xr.DataArray(mat, dims=("cluster", "type"),
                        coords={"cluster": table.index.to_numpy(), "type": table.columns.to_numpy()},
                        name="type_confusion")
