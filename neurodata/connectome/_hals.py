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
matrices.  As in tensorly's ``hals_nnls`` we do up to five inner column sweeps
per MTTKRP (they cost ``n R^2`` each, nothing next to a pass over the
tensor); each row of a factor stops sweeping once a sweep changes it by less
than 1e-6 of its first sweep's change (the rows' problems are independent).

**One read of the tensor per iteration.**  With ``X`` viewed as the
C-contiguous matrix ``X0`` of shape ``(I, J*K)``, an iteration needs
``M_A = X0 @ (B ⊙ C)``, then (with the updated ``A``) ``W = X0.T @ A``, from
which ``M_B[j,r] = sum_k W[j,k,r] C[k,r]`` and, after ``B`` is updated,
``M_C[k,r] = sum_j W[j,k,r] B[j,r]`` follow without touching the tensor.  The
update of ``A`` is separable by rows (row ``i`` needs only ``a_i``,
``M_A[i]`` and ``G``), so :func:`~neurodata.connectome._kernels.fused_pass`
takes ``X0`` eight rows at a time and, while they are in cache, computes
their rows of ``M_A``, updates those rows of ``A`` and adds their share of
``W``: the same iterates as two passes (an exact reordering, tested against
a two-pass reference), at one read of the tensor instead of two.  The loss is
free: ``||X - M||^2 = ||X||^2 - 2 <M_C, C> + sum(G_A * G_B * G_C)``.

Missing entries (a boolean mask, or NaN in the tensor) are handled by
EM-style imputation: the HALS iteration runs on the tensor completed by the
current model.  This is a majorise-minimise scheme for the masked loss
``||W * (X - M)||^2``: the completed-tensor loss majorises it and HALS
decreases the majoriser, so the masked loss never increases.  No completed
copy exists: the pass completes each block in cache as it reads it (the
mask is read only on tiles of a row that hold a missing entry), and the
masked loss of the model a pass starts from comes out of the same pass,
``||Y||^2 - 2 <A, M_A> + ||M||^2``.  So the loss of iteration ``t`` is known
after pass ``t + 1``; a fit makes one extra, loss-only pass at the end.

**Performance** (``benchmarks/bench_connectome.py``, the paper's scale:
4,950 x 1,000 x 21 float32, 0.42 GB, rank 10; shared 2-core machine, see
the connectome docs page for the full table): 0.051 s per iteration on two
free cores (tensorly 0.10: 0.637 s in the same run), 0.097-0.100 s on one
thread (tensorly 0.70-0.73 s), equal relative error; 0.42 GB read per
iteration (33 % of 25 GB/s on two cores).  The pass does 4.2 GFLOP per
iteration at about 41 GFLOP/s per core, so an iteration is bound by
arithmetic, not by memory bandwidth (one read at 25 GB/s takes 0.017 s).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from neurodata.connectome._kernels import fused_pass, hals_rows, row_sum_squares, tile_full

__all__ = ["HalsResult", "fit_hals", "khatri_rao", "khatri_rao_t", "reconstruct"]


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


def _balance(factors: list[np.ndarray]) -> None:
    """Rescale columns to equal norms across modes (the model is unchanged)."""
    norms = np.stack([np.linalg.norm(f, axis=0) for f in factors])
    ok = np.all(norms > 0, axis=0)
    geo = np.ones(norms.shape[1])
    geo[ok] = np.exp(np.log(norms[:, ok]).mean(axis=0))
    for f, n in zip(factors, norms):
        scale = np.where(ok, geo / np.where(n > 0, n, 1), 1.0)
        f *= scale.astype(f.dtype)


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
    """Sum of squares of a 2-D array (observed entries only), accumulated in float64.

    Examples
    --------
    >>> sum_squares(np.ones((3, 2), np.float32))
    6.0
    """
    x0 = np.ascontiguousarray(x0)
    obs = (np.zeros((0, 0), dtype=np.uint8) if observed is None
           else np.ascontiguousarray(observed, dtype=bool).view(np.uint8))
    return float(row_sum_squares(x0, obs).sum())


def _gram(f: np.ndarray) -> np.ndarray:
    return f.T.astype(np.float64) @ f


def khatri_rao_t(b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``khatri_rao(b, c).T`` built directly in C order, shape ``(R, J*K)``.

    Examples
    --------
    >>> b, c = np.array([[1.0], [2.0]]), np.array([[3.0], [4.0]])
    >>> bool(np.array_equal(khatri_rao_t(b, c), khatri_rao(b, c).T))
    True
    """
    out = np.empty((b.shape[1], b.shape[0], c.shape[0]), dtype=np.result_type(b, c))
    np.multiply(b.T[:, :, None], c.T[:, None, :], out=out)
    return out.reshape(b.shape[1], -1)


class _TensorPass:
    """Buffers of the fused pass over ``x0`` (and its mask), reused every iteration."""

    def __init__(self, x0: np.ndarray, observed: np.ndarray | None, rank: int):
        self.x0, self.rank = x0, rank
        none = np.zeros((0, 0), dtype=np.uint8)
        self.obs = (none if observed is None
                    else np.ascontiguousarray(observed, dtype=bool).view(np.uint8))
        self.full = none if observed is None else tile_full(observed)
        self._alloc(numba.get_num_threads())

    def _alloc(self, n_threads: int) -> None:
        shape = (n_threads, self.rank, self.x0.shape[1])
        self.w_parts = np.empty(shape, dtype=self.x0.dtype)
        self.stats = np.zeros((n_threads, 2))
        width = self.x0.shape[1] if self.obs.size else 0
        self.bufs = np.empty((n_threads, 8, width), dtype=self.x0.dtype)

    def __call__(self, a, krt, g, n_inner, update):
        """Run the pass; returns ``W.T`` (R, J*K) or None, ``<a_old, M_A>``, imputed sum of squares."""
        assert a.flags.c_contiguous and krt.flags.c_contiguous  # else numba will not vectorise
        if self.w_parts.shape[0] != numba.get_num_threads():
            self._alloc(numba.get_num_threads())
        self.w_parts[:] = 0
        self.stats[:] = 0
        fused_pass(self.x0, self.obs, self.full, a, krt, g, n_inner, update, self.w_parts,
                   self.stats, self.bufs)
        w = self.w_parts.sum(axis=0) if update else None
        return w, float(self.stats[:, 0].sum()), float(self.stats[:, 1].sum())


def _sweep(tensor_pass, factors, krt, n_inner, b_first=True):
    """One HALS iteration over the three modes, one read of the tensor.

    ``A`` is updated inside the pass; then ``B`` and ``C`` (in that order
    unless ``b_first`` is False) from ``W``.  Returns ``<Y, M_new>`` and
    ``||M_new||^2`` for the (completed) tensor ``Y`` of this pass, and
    ``<Y, M_old>`` and the imputed sum of squares (the masked loss of the
    model the pass started from).
    """
    a, b, c = factors
    j, k, rank = b.shape[0], c.shape[0], a.shape[1]
    w, inner_old, filled = tensor_pass(a, krt, _gram(b) * _gram(c), n_inner, True)
    w = w.reshape(rank, j, k)
    ga = _gram(a)
    grams = {1: _gram(b), 2: _gram(c)}
    specs = {1: "rjk,kr->jr", 2: "rjk,jr->kr"}
    for mode in (1, 2) if b_first else (2, 1):
        other = 3 - mode
        m = np.einsum(specs[mode], w, factors[other])
        hals_rows(factors[mode], m, ga * grams[other], n_inner)
        grams[mode] = _gram(factors[mode])
    inner = float(np.sum(m.astype(np.float64) * factors[mode]))
    return inner, float(np.sum(ga * grams[1] * grams[2])), inner_old, filled


def _model_norm2(factors) -> float:
    return float(np.sum(_gram(factors[0]) * _gram(factors[1]) * _gram(factors[2])))


def _relative(loss2: float, norm2: float) -> float:
    return float(np.sqrt(max(loss2, 0.0) / max(norm2, 1e-300)))


def fit_hals(x0, shape, rank, *, observed=None, factors=None, n_iter_max=200,
             tol=1e-6, n_inner=5, rng=None, b_first=True) -> HalsResult:
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
        HALS column sweeps per factor row update.
    rng : numpy.random.Generator
    b_first : bool
        Update the second mode before the third (False: the other way round,
        so that a caller can keep its own mode order after a transposition).

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
    x0 = np.ascontiguousarray(x0)
    dtype = x0.dtype
    norm_obs2 = sum_squares(x0, observed)
    if factors is None:
        factors = _init_factors(shape, rank, rng, dtype, np.sqrt(norm_obs2))
    else:
        factors = [np.array(f, dtype=dtype, copy=True) for f in factors]
    tensor_pass = _TensorPass(x0, observed, rank)
    if observed is None:
        losses = _iterate_complete(tensor_pass, factors, norm_obs2, n_iter_max, tol,
                                   (n_inner, b_first))
    else:
        factors, losses = _iterate_masked(tensor_pass, factors, norm_obs2, n_iter_max, tol,
                                          (n_inner, b_first))
    return _normalise(factors, losses)


def _iterate_complete(tensor_pass, factors, norm2, n_iter_max, tol, sweep_kw) -> list[float]:
    """HALS iterations on a complete tensor; the loss of each new model is free."""
    losses: list[float] = []
    for _ in range(n_iter_max):
        krt = khatri_rao_t(factors[1], factors[2])
        inner, model2, _, _ = _sweep(tensor_pass, factors, krt, *sweep_kw)
        _balance(factors)
        losses.append(_relative(norm2 - 2 * inner + model2, norm2))
        if len(losses) > 1 and abs(losses[-2] - losses[-1]) < tol:
            break
    return losses


def _iterate_masked(tensor_pass, factors, norm_obs2, n_iter_max, tol, sweep_kw):
    """EM-HALS iterations; pass ``t`` also yields the masked loss of the model it starts from.

    With ``Y`` the tensor completed by the current model ``M``, the masked loss
    is ``||Y - M||^2 = ||Y||^2 - 2 <A, Y (B ⊙ C)> + ||M||^2``, and the pass computes
    both ``||Y||^2`` (imputed part) and ``Y (B ⊙ C) = M_A``.  So the loss of
    iteration ``t`` is known one pass later; the last pass only evaluates it,
    and on convergence the model the pass started from is returned.
    """
    losses: list[float] = []
    for it in range(n_iter_max + 1 if n_iter_max > 0 else 0):
        krt = khatri_rao_t(factors[1], factors[2])
        model2 = _model_norm2(factors)
        if it == n_iter_max:
            g = _gram(factors[1]) * _gram(factors[2])
            _, inner_old, filled = tensor_pass(factors[0], krt, g, 0, False)
            losses.append(_relative(norm_obs2 + filled - 2 * inner_old + model2, norm_obs2))
            break
        saved = [f.copy() for f in factors]
        _, _, inner_old, filled = _sweep(tensor_pass, factors, krt, *sweep_kw)
        if it > 0:
            losses.append(_relative(norm_obs2 + filled - 2 * inner_old + model2, norm_obs2))
            if len(losses) > 1 and abs(losses[-2] - losses[-1]) < tol:
                return saved, losses
        _balance(factors)
    return factors, losses


def _normalise(factors, losses) -> HalsResult:
    norms = np.stack([np.linalg.norm(f.astype(np.float64), axis=0) for f in factors])
    weights = np.prod(norms, axis=0)
    order = np.argsort(-weights, kind="stable")
    out = []
    for f, n in zip(factors, norms):
        safe = np.where(n > 0, n, 1.0)
        out.append((f / safe.astype(f.dtype))[:, order])
    return HalsResult(weights[order], out, losses, len(losses))
