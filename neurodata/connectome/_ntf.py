"""Non-negative tensor factorisation (non-negative CP by HALS) with restarts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from neurodata._utils import renamed_kwargs, show_progress
from neurodata.connectome._hals import HalsResult, fit_hals
from neurodata.errors import NeurodataError, ShapeError

__all__ = ["ntf"]

DEFAULT_DIMS = ("pair", "time", "animal")


def _as_tensor(tensor, dims) -> tuple[np.ndarray, tuple[str, ...], dict]:
    """Array, dim names and coordinates of a 3-way input."""
    if isinstance(tensor, xr.DataArray):
        if tensor.ndim != 3:
            raise ShapeError(f"ntf needs a 3-way tensor; got dims {tensor.dims}.")
        coords = {d: tensor[d].values for d in tensor.dims if d in tensor.coords}
        return np.asarray(tensor.data), tuple(str(d) for d in tensor.dims), coords
    arr = np.asarray(tensor)
    if arr.ndim != 3:
        raise ShapeError(f"ntf needs a 3-way tensor; got an array of shape {arr.shape}. "
                         f"Pass a (pair, time, animal) array; add a unit axis for one animal.")
    dims = DEFAULT_DIMS if dims is None else tuple(dims)
    if len(dims) != 3:
        raise ShapeError(f"dims must name the 3 modes; got {dims}.")
    return arr, dims, {}


def _c_order_view(x: np.ndarray, rank: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """A C-contiguous transposed view of ``x``, copied only when needed.

    The first axis of the view is the row mode of the unfolding that HALS
    streams; the Khatri-Rao product of the other two modes must stay small,
    so when the largest mode is not first in memory (and the product would
    exceed 16 M numbers) the tensor is copied with the largest mode first.
    """
    perm = tuple(int(p) for p in np.argsort([-s for s in x.strides], kind="stable"))
    big = int(np.argmax(x.shape))
    if perm[0] != big and np.prod(x.shape) // x.shape[perm[0]] * rank > 2**24:
        perm = (big, *[p for p in perm if p != big])
    view = np.transpose(x, perm)
    if not view.flags.c_contiguous:
        view = np.ascontiguousarray(view)
    return view, perm


def _observed_mask(x: np.ndarray, mask) -> np.ndarray | None:
    """Boolean array of observed entries (None when everything is observed), chunked."""
    obs = None if mask is None else np.asarray(mask, dtype=bool)
    if obs is not None and obs.shape != x.shape:
        raise ShapeError(f"mask has shape {obs.shape}; the tensor has shape {x.shape}.")
    nan_rows = []
    for start in range(0, x.shape[0], 256):
        block = x[start : start + 256]
        finite = np.isfinite(block)
        if not finite.all():
            if np.isinf(block[~finite]).any():
                raise NeurodataError("the tensor holds infinite values; replace them with NaN "
                                     "(missing) or finite numbers.")
            nan_rows.append((start, finite))
        negative = block < 0                       # False at NaN
        if obs is not None and negative.any():
            negative &= obs[start : start + 256]
        if negative.any():
            raise NeurodataError("non-negative tensor factorisation needs a non-negative tensor; "
                                 "found negative entries. Shift or clip the data first.")
    if nan_rows:     # merge NaNs into a copy (never into the caller's mask)
        obs = np.ones(x.shape, dtype=bool) if obs is None else obs.copy()
    for start, finite in nan_rows:
        obs[start : start + finite.shape[0]] &= finite  # type: ignore[index]
    if obs is not None and not obs.any():
        raise NeurodataError("every entry of the tensor is missing; nothing to factorise.")
    return None if obs is None or obs.all() else obs


def _check_rank(rank, shape) -> int:
    if not isinstance(rank, (int, np.integer)) or isinstance(rank, bool) or rank < 1:
        raise ShapeError(f"rank must be a positive integer; got {rank!r}.")
    if rank > max(shape):
        raise ShapeError(f"rank {rank} is larger than every mode of the tensor {tuple(shape)}; "
                         f"use at most {max(shape)} components.")
    return int(rank)


def _rng(random_state) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


def _restarts(x0, shape, rank, obs, n_init, rng, progress, **kw) -> tuple[HalsResult, list]:
    from tqdm.auto import tqdm

    best, errors = None, []
    for _ in tqdm(range(n_init), desc="NTF restarts", disable=not progress):
        res = fit_hals(x0, shape, rank, observed=obs, rng=rng, **kw)
        errors.append(res.loss_curve[-1] if res.loss_curve else np.nan)
        if best is None or errors[-1] < best.loss_curve[-1]:
            best = res
    assert best is not None
    return best, errors


@renamed_kwargs(n_iter_max="max_iter")
def ntf(tensor, rank: int, *, mask=None, dims: Sequence[str] | None = None, n_init: int = 1,
        max_iter: int = 200, tol: float = 1e-6, n_inner: int = 5, init=None,
        random_state=None, progress: bool | None = None) -> xr.Dataset:
    """Non-negative CP decomposition (NTF) of a 3-way tensor by HALS.

    Fits ``X[i, j, k] ~ sum_r w_r a_ir b_jr c_kr`` with non-negative unit-norm
    factor columns and weights ``w_r``, minimising the squared error over the
    observed entries; the best of ``n_init`` random restarts is kept.

    Parameters
    ----------
    tensor : xarray.DataArray or ndarray, 3-D
        Non-negative data, e.g. affinities ``(pair, time, animal)``; NaN marks
        missing entries.  float32 input is factorised in float32 without a copy.
    rank : int
        Number of components; at most the largest mode size.
    mask : array of bool, optional
        False at missing entries, in addition to NaN.  Missing entries are
        imputed EM-style with the current model before every iteration, which
        never increases the masked loss (see :mod:`neurodata.connectome._hals`).
    dims : sequence of str, optional
        Names of the modes of a plain array (default ``pair, time, animal``).
    n_init : int
        Random restarts (uniform initial factors scaled to the data's norm).
    max_iter, tol : int, float
        Stop a restart after ``max_iter`` iterations or when the relative
        error changes by less than ``tol``.  (``n_iter_max``, the old name of
        ``max_iter``, is accepted with a deprecation warning.)
    n_inner : int
        At most this many HALS column sweeps per factor update (as tensorly's
        ``hals_nnls``); each row of a factor stops early once a sweep changes
        it by less than 1e-6 of its first sweep's change.
    init : list of 3 arrays, optional
        Initial factors for a single run (overrides ``n_init``).
    random_state : int, Generator or None
        None draws fresh entropy; an int gives a reproducible fit.
    progress : bool or None
        A progress bar over restarts (None: shown in a terminal or notebook).

    Returns
    -------
    xarray.Dataset
        ``<dim>_factor`` (dim, component) for each mode, ``weights``
        (component, decreasing), ``loss_curve`` (iteration) of the best restart
        and ``restart_error`` (restart); attrs ``relative_error``, ``rank``.

    Raises
    ------
    ShapeError
        The tensor is not 3-D, or ``rank`` is not in ``1..max(shape)``.
    NeurodataError
        Negative or infinite entries, or nothing observed.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> true = [rng.random((n, 2)) for n in (10, 8, 3)]
    >>> x = np.einsum("ir,jr,kr->ijk", *true).astype(np.float32)
    >>> fit = ntf(x, 2, n_init=3, random_state=0, tol=1e-9, max_iter=500)
    >>> fit.time_factor.dims, bool(fit.attrs["relative_error"] < 1e-3)
    (('time', 'component'), True)
    """
    x, dims, coords = _as_tensor(tensor, dims)
    rank = _check_rank(rank, x.shape)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float32)
    view, perm = _c_order_view(x, rank)
    obs = _observed_mask(view, None if mask is None else np.transpose(np.asarray(mask), perm))
    shape = view.shape
    x0 = view.reshape(shape[0], -1)
    obs0 = None if obs is None else obs.reshape(shape[0], -1)
    # HALS updates the modes in the caller's order whatever the memory layout
    kw = dict(n_iter_max=max_iter, tol=tol, n_inner=n_inner, b_first=bool(perm[1] < perm[2]))
    rng = _rng(random_state)
    if init is not None:
        factors = [np.asarray(init[p]) for p in perm]
        best = fit_hals(x0, shape, rank, observed=obs0, factors=factors, rng=rng, **kw)
        errors = [best.loss_curve[-1]]
    else:
        best, errors = _restarts(x0, shape, rank, obs0, n_init, rng, show_progress(progress),
                                 **kw)
    inverse = np.argsort(perm)
    factors = [best.factors[i] for i in inverse]
    return _to_dataset(best, factors, dims, coords, errors, rank)


def _to_dataset(best, factors, dims, coords, errors, rank) -> xr.Dataset:
    comp = np.arange(rank)
    data = {}
    for d, f in zip(dims, factors):
        data[f"{d}_factor"] = xr.DataArray(f, dims=(d, "component"),
                                           coords={d: coords[d]} if d in coords else None)
    data["weights"] = xr.DataArray(best.weights, dims=("component",))
    data["loss_curve"] = xr.DataArray(np.asarray(best.loss_curve), dims=("iteration",))
    data["restart_error"] = xr.DataArray(np.asarray(errors), dims=("restart",))
    ds = xr.Dataset(data).assign_coords(component=comp)
    ds.attrs.update(rank=rank, relative_error=float(best.loss_curve[-1]), n_iter=best.n_iter,
                    dims=list(dims))
    return ds
