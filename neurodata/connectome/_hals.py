"""The numerical core of non-negative CP decomposition: HALS on a 3-way array.

This module works on plain arrays; :mod:`neurodata.connectome._ntf` wraps it
with validation, restarts and labelled output.

The model is the rank-``R`` CP (PARAFAC) model

.. math:: X_{ijk} \\approx \\sum_r A_{ir} B_{jr} C_{kr}, \\qquad A, B, C \\ge 0,

fitted by hierarchical alternating least squares (HALS; Cichocki & Phan 2009,
Gillis & Glineur 2012): each factor in turn is updated one column at a time by
the exact non-negative minimiser of the squared error with everything else
fixed,

.. math:: a_r \\leftarrow \\Big[a_r + \\frac{M_{:r} - A\\,G_{:r}}{G_{rr}}\\Big]_+,

where ``M`` is the MTTKRP (the tensor times the Khatri-Rao product of the
other factors) and ``G`` the Hadamard product of the other factors' Gram
matrices.  As in tensorly's ``hals_nnls`` we do a few inner column sweeps per
MTTKRP (they cost ``n R^2`` each, nothing next to a pass over the tensor).

Memory traffic is what limits an iteration: the tensor is read twice per
iteration, never copied.  With ``X`` viewed as the C-contiguous matrix
``X0`` of shape ``(I, J*K)``:

* ``M_A = X0 @ (B ⊙ C)`` (one read; the Khatri-Rao product is only
  ``J K R`` numbers),
* ``W = X0.T @ A`` (one read), shape ``(J, K, R)``; then both
  ``M_B[j,r] = sum_k W[j,k,r] C[k,r]`` and, after ``B`` is updated,
  ``M_C[k,r] = sum_j W[j,k,r] B[j,r]`` come from ``W`` for free, because
  neither needs anything that changed in between.

The loss is free as well: ``||X - M||^2 = ||X||^2 - 2 <M_C, C> + sum(G_C * C^T C)``.

Missing entries (a boolean mask, or NaN in the tensor) are handled by
EM-style imputation: before each iteration the missing entries of a working
copy are set to the current model, and the HALS sweep then runs on the
completed tensor.  This is a majorise-minimise scheme for the masked loss
``||W * (X - M)||^2``: the completed-tensor loss majorises it and HALS
decreases the majoriser, so the masked loss never increases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurodata.connectome._kernels import fill_runs, left_mttkrp, right_mttkrp

__all__ = ["HalsResult", "fit_hals", "khatri_rao", "reconstruct"]

_CHUNK_ROWS = 512


@dataclass
class HalsResult:
    """Factors (columns of equal norm, scale in ``weights``) and loss history."""

    weights: np.ndarray
    factors: list[np.ndarray]
    loss_curve: list[float] = field(default_factory=list)
    n_iter: int = 0


def khatri_rao(b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Column-wise Kronecker product, rows ordered ``(j, k)`` as in a C-order unfolding.

    Examples
    --------
    >>> khatri_rao(np.array([[1.0], [2.0]]), np.array([[3.0], [4.0]])).ravel()
    array([3., 4., 6., 8.])
    """
    return (b[:, None, :] * c[None, :, :]).reshape(-1, b.shape[1])


def reconstruct(weights: np.ndarray, factors: list[np.ndarray]) -> np.ndarray:
    """Dense 3-way array of a CP model (only for small tensors and tests).

    Examples
    --------
    >>> reconstruct(np.ones(1), [np.ones((2, 1)), np.ones((3, 1)), np.ones((1, 1))]).shape
    (2, 3, 1)
    """
    a, b, c = factors
    return np.einsum("r,ir,jr,kr->ijk", weights, a, b, c)


def _hals_update(f: np.ndarray, m: np.ndarray, g: np.ndarray, n_inner: int) -> None:
    """In-place HALS column sweeps for ``min_{F>=0} ||X_(n) - F K^T||``, given M and G."""
    rank = f.shape[1]
    first = None
    for _ in range(n_inner):
        change = 0.0
        for r in range(rank):
            grr = g[r, r]
            if grr <= 0:
                continue
            new = f[:, r] + (m[:, r] - f @ g[:, r]) / grr
            np.maximum(new, 0, out=new)
            change += float(np.dot(new - f[:, r], new - f[:, r]))
            f[:, r] = new
        if first is None:
            first = change
        if change <= 1e-6 * first or first == 0:
            break


def _balance(factors: list[np.ndarray]) -> None:
    """Rescale columns to equal norms across modes (the model is unchanged)."""
    norms = np.stack([np.linalg.norm(f, axis=0) for f in factors])
    ok = np.all(norms > 0, axis=0)
    geo = np.ones(norms.shape[1])
    geo[ok] = np.exp(np.log(norms[:, ok]).mean(axis=0))
    for f, n in zip(factors, norms):
        scale = np.where(ok, geo / np.where(n > 0, n, 1), 1.0)
        f *= scale.astype(f.dtype)


def _missing_runs(observed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of missing entries per row: (row, first column, end column) arrays."""
    rows, starts, stops = [], [], []
    for c0 in range(0, observed.shape[0], _CHUNK_ROWS):
        miss = ~observed[c0 : c0 + _CHUNK_ROWS]
        pad = np.zeros((miss.shape[0], 1), dtype=np.int8)
        d = np.diff(np.hstack([pad, miss.view(np.int8), pad]), axis=1)
        r1, c1 = np.nonzero(d == 1)
        _, c2 = np.nonzero(d == -1)
        rows.append(r1 + c0)
        starts.append(c1)
        stops.append(c2)
    return (np.concatenate(rows).astype(np.int64), np.concatenate(starts).astype(np.int64),
            np.concatenate(stops).astype(np.int64))


class _Filler:
    """EM imputation of missing entries in a working copy, run by run."""

    def __init__(self, x0: np.ndarray, observed: np.ndarray):
        self.runs = _missing_runs(observed)
        self.work = np.empty_like(x0)
        for c0 in range(0, x0.shape[0], _CHUNK_ROWS):
            sl = slice(c0, c0 + _CHUNK_ROWS)
            self.work[sl] = np.where(observed[sl], x0[sl], 0)

    def fill(self, a: np.ndarray, kr: np.ndarray) -> tuple[float, float]:
        """Put the model at the missing entries.

        Returns the sum of squared changes there and the sum of squares of the
        new values there (so that the completed tensor's norm is known).
        """
        rows, starts, stops = self.runs
        gap, filled = fill_runs(self.work, np.ascontiguousarray(a, dtype=self.work.dtype),
                                np.ascontiguousarray(kr, dtype=self.work.dtype),
                                rows, starts, stops)
        return float(gap), float(filled)


def _init_factors(shape, rank, rng, dtype, norm_x) -> list[np.ndarray]:
    """Uniform random factors scaled so the model's norm equals the data's."""
    factors = [rng.random((n, rank)).astype(dtype) for n in shape]
    grams = [f.T.astype(np.float64) @ f for f in factors]
    model_norm = np.sqrt(max(float(np.sum(grams[0] * grams[1] * grams[2])), 1e-300))
    scale = (norm_x / model_norm) ** (1.0 / 3.0)
    for f in factors:
        f *= dtype.type(scale)
    return factors


def sum_squares(x0: np.ndarray, observed: np.ndarray | None = None) -> float:
    """Sum of squares of a 2-D array (observed entries only), chunked, in float64.

    Examples
    --------
    >>> sum_squares(np.ones((3, 2), np.float32))
    6.0
    """
    total = 0.0
    for start in range(0, x0.shape[0], _CHUNK_ROWS):
        block = x0[start : start + _CHUNK_ROWS]
        if observed is not None:
            block = np.where(observed[start : start + _CHUNK_ROWS], block, 0)
        total += float(np.einsum("ij,ij->", block, block, dtype=np.float64))
    return total


def _sweep(data, factors, kr, n_inner):
    """One HALS iteration over the three modes; returns (<X, M>, ||M||^2)."""
    a, b, c = factors
    j, k, rank = b.shape[0], c.shape[0], a.shape[1]
    gb, gc = b.T.astype(np.float64) @ b, c.T.astype(np.float64) @ c
    _hals_update(a, left_mttkrp(data, kr), gb * gc, n_inner)
    w = right_mttkrp(data, a).reshape(j, k, rank)
    ga = a.T.astype(np.float64) @ a
    _hals_update(b, np.einsum("jkr,kr->jr", w, c), ga * gc, n_inner)
    gb = b.T.astype(np.float64) @ b
    m_c = np.einsum("jkr,jr->kr", w, b)
    _hals_update(c, m_c, ga * gb, n_inner)
    gc = c.T.astype(np.float64) @ c
    inner = float(np.sum(m_c.astype(np.float64) * c))
    return inner, float(np.sum(ga * gb * gc))


def fit_hals(x0, shape, rank, *, observed=None, factors=None, n_iter_max=200,
             tol=1e-6, n_inner=5, rng=None) -> HalsResult:
    """Fit a non-negative CP model to a tensor given as its mode-0 unfolding.

    Parameters
    ----------
    x0 : ndarray, shape (I, J*K)
        C-order unfolding of the ``(I, J, K)`` tensor (a view, never written).
    shape : tuple of int
        ``(I, J, K)``.
    rank : int
        Number of components.
    observed : ndarray of bool, shape (I, J*K), optional
        False at missing entries (EM imputation, see the module docstring).
    factors : list of ndarray, optional
        Initial factors (copied); random uniform otherwise.
    n_iter_max, tol : int, float
        Stop after ``n_iter_max`` iterations or when the relative error
        changes by less than ``tol`` between iterations.
    n_inner : int
        HALS column sweeps per factor update.
    rng : numpy.random.Generator

    Returns
    -------
    HalsResult
        Unit-norm factors, ``weights`` sorted in decreasing order, and the
        relative error ``||W*(X-M)|| / ||W*X||`` after every iteration.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> true = [rng.random((n, 2)) for n in (6, 5, 4)]
    >>> x = reconstruct(np.ones(2), true).astype(np.float32)
    >>> res = fit_hals(x.reshape(6, 20), x.shape, 2, rng=rng, n_iter_max=300, tol=1e-7)
    >>> bool(res.loss_curve[-1] < 1e-2)
    True
    """
    rng = np.random.default_rng() if rng is None else rng
    dtype = x0.dtype
    norm_obs2 = sum_squares(x0, observed)
    if factors is None:
        factors = _init_factors(shape, rank, rng, dtype, np.sqrt(norm_obs2))
    else:
        factors = [np.array(f, dtype=dtype, copy=True) for f in factors]
    filler = _Filler(x0, observed) if observed is not None else None
    data = filler.work if filler is not None else x0
    kr = khatri_rao(factors[1], factors[2])
    data_norm2 = norm_obs2
    if filler is not None:
        data_norm2 = norm_obs2 + filler.fill(factors[0], kr)[1]
    losses: list[float] = []
    for _ in range(n_iter_max):
        inner, model2 = _sweep(data, factors, kr, n_inner)
        loss2 = data_norm2 - 2 * inner + model2
        _balance(factors)
        kr = khatri_rao(factors[1], factors[2])
        if filler is not None:
            gap, filled = filler.fill(factors[0], kr)
            loss2, data_norm2 = loss2 - gap, norm_obs2 + filled
        losses.append(float(np.sqrt(max(loss2, 0.0) / max(norm_obs2, 1e-300))))
        if len(losses) > 1 and abs(losses[-2] - losses[-1]) < tol:
            break
    return _normalise(factors, losses)


def _normalise(factors, losses) -> HalsResult:
    norms = np.stack([np.linalg.norm(f.astype(np.float64), axis=0) for f in factors])
    weights = np.prod(norms, axis=0)
    order = np.argsort(-weights, kind="stable")
    out = []
    for f, n in zip(factors, norms):
        safe = np.where(n > 0, n, 1.0)
        out.append((f / safe.astype(f.dtype))[:, order])
    return HalsResult(weights[order], out, losses, len(losses))
