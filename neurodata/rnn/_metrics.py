"""How well a student reproduces a teacher: outputs and internal dynamics."""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata.errors import ShapeError

__all__ = [
    "cca_similarity",
    "normalized_error",
    "percent_variance_explained",
    "procrustes_distance",
]

_FEATURE_DIMS = ("unit", "roi", "output", "rnn_unit")


def _samples(x, name: str) -> np.ndarray:
    """Flatten to (samples, features), the feature axis last."""
    if isinstance(x, xr.DataArray):
        feat = [d for d in _FEATURE_DIMS if d in x.dims]
        if feat:
            x = x.transpose(..., feat[0])
        x = x.values
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    arr = arr.reshape(-1, arr.shape[-1])
    if not np.all(np.isfinite(arr)):
        raise ShapeError(f"{name} has NaN or infinite values.")
    return arr


def normalized_error(prediction, target) -> float:
    """Normalised squared error ``sum (p - y)^2 / sum (y - mean y)^2``.

    The mean is taken per output channel (last axis, or the ``output``/``unit``
    dimension of a DataArray) over all trials and time points.  0 is perfect;
    1 is no better than predicting each channel's mean.

    Examples
    --------
    >>> y = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> normalized_error(y + 0.5, y)
    0.2
    """
    p, y = _samples(prediction, "prediction"), _samples(target, "target")
    if p.shape != y.shape:
        raise ShapeError(f"prediction and target differ in shape: {p.shape} vs {y.shape}.")
    denom = np.sum((y - y.mean(0)) ** 2)
    return float(np.sum((p - y) ** 2) / denom) if denom > 0 else float("inf")


def percent_variance_explained(model, data) -> float:
    """Fraction of the data variance a model explains, as CURBD reports it.

    ``pVar = 1 - ||data - model||_F^2 / (n * var(data))`` with ``var`` over all
    entries (units and samples pooled) and ``n`` the number of entries
    (Perich et al. 2020).

    Examples
    --------
    >>> d = np.array([[1.0, -1.0], [-1.0, 1.0]])
    >>> percent_variance_explained(0.5 * d, d)
    0.75
    """
    m, d = _samples(model, "model"), _samples(data, "data")
    if m.shape != d.shape:
        raise ShapeError(f"model and data differ in shape: {m.shape} vs {d.shape}.")
    return float(1.0 - np.sum((d - m) ** 2) / (d.size * d.var()))


def _pc_scores(x: np.ndarray, k: int) -> np.ndarray:
    x = x - x.mean(0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    keep = min(k, int(np.sum(s > s[0] * 1e-10)) if s.size and s[0] > 0 else 0)
    if keep == 0:
        raise ShapeError("the activity is constant; no principal components to compare.")
    return u[:, :keep] * s[:keep]


def cca_similarity(x, y, n_components: int = 10) -> float:
    """Mean canonical correlation between the leading principal components.

    Both activities (samples pooled over trials and time, units as features)
    are reduced to their top ``n_components`` principal components, then the
    canonical correlations between the two score sets are averaged (SVCCA,
    Raghu et al. 2017; the similarity measure of Sussillo et al. 2015).  1 means
    the two populations span the same linear dynamics; the value does not depend
    on how units are mixed, so populations of different sizes can be compared.

    Parameters
    ----------
    x, y : array or DataArray
        ``(..., unit)`` activities over the same trials and time points.
    n_components : int
        Principal components kept on each side (fewer if the rank is lower).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> latent = rng.standard_normal((200, 3))
    >>> a = latent @ rng.standard_normal((3, 20))
    >>> b = latent @ rng.standard_normal((3, 30))
    >>> round(cca_similarity(a, b, n_components=3), 6)
    1.0
    """
    a, b = _samples(x, "x"), _samples(y, "y")
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"x and y must have the same number of samples; got {a.shape[0]} "
                         f"and {b.shape[0]}.")
    qa = np.linalg.qr(_pc_scores(a, n_components))[0]
    qb = np.linalg.qr(_pc_scores(b, n_components))[0]
    k = min(qa.shape[1], qb.shape[1])
    corr = np.linalg.svd(qa.T @ qb, compute_uv=False)[:k]
    return float(np.clip(corr, 0.0, 1.0).mean())


def procrustes_distance(x, y, n_components: int = 10) -> float:
    """Procrustes disparity between the leading principal-component trajectories.

    Both activities are reduced to ``n_components`` principal-component scores
    (zero-padded to a common width), centred and scaled to unit Frobenius norm;
    the disparity is the residual sum of squares after the best rotation,
    reflection and scaling of one onto the other, ``1 - (sum of singular values
    of X^T Y)^2``: the measure of :func:`scipy.spatial.procrustes`.  0 means
    identical shape; 1 means unrelated.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((100, 4))
    >>> q = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    >>> round(procrustes_distance(a, 3.0 * a @ q, n_components=4), 8)
    0.0
    """
    a, b = _samples(x, "x"), _samples(y, "y")
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"x and y must have the same number of samples; got {a.shape[0]} "
                         f"and {b.shape[0]}.")
    sa, sb = _pc_scores(a, n_components), _pc_scores(b, n_components)
    width = max(sa.shape[1], sb.shape[1])
    sa = np.pad(sa, ((0, 0), (0, width - sa.shape[1])))
    sb = np.pad(sb, ((0, 0), (0, width - sb.shape[1])))
    sa, sb = sa / np.linalg.norm(sa), sb / np.linalg.norm(sb)
    nuclear = np.linalg.svd(sa.T @ sb, compute_uv=False).sum()
    return float(max(0.0, 1.0 - nuclear**2))
