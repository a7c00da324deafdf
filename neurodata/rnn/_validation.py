"""Boundary checks: turn recordings (DataArrays or arrays) into trial-major arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from neurodata._utils import check_positive, neuron_dim, sampling_step
from neurodata.errors import InvalidRecordingError, ShapeError


def as_trials(data, name: str, feature_dim: str | None = None, *,
              dims: Sequence[str] | None = None, min_steps: int = 3) -> xr.DataArray:
    """Return ``data`` as a float DataArray with dims ``(trial, time, feature)``.

    Accepts ``(time, feature)`` or ``(trial, time, feature)`` DataArrays (the
    ``time_rel`` dimension of :func:`neurodata.signals.align` counts as
    ``time``), or plain arrays with ``dims`` naming their axes.  The feature dimension is
    ``feature_dim`` or, when None, ``unit`` or ``roi``.
    """
    if not isinstance(data, xr.DataArray):
        arr = np.asarray(data)
        if dims is None:
            dims = ("time", feature_dim or "unit") if arr.ndim == 2 else \
                ("trial", "time", feature_dim or "unit")
        if arr.ndim != len(dims):
            raise ShapeError(f"{name} has {arr.ndim} axes but dims {tuple(dims)} name "
                             f"{len(dims)}; pass dims matching the array.")
        data = xr.DataArray(arr, dims=tuple(dims))
    if "time" not in data.dims and "time_rel" in data.dims:  # from neurodata.signals.align
        data = data.rename(time_rel="time")
    feat = feature_dim if feature_dim is not None else neuron_dim(data, name=name)
    if "time" not in data.dims or feat not in data.dims:
        raise InvalidRecordingError(
            f"{name} must have dims ('time', '{feat}') or ('trial', 'time', '{feat}'); "
            f"got {tuple(data.dims)}.")
    extra = [d for d in data.dims if d not in ("trial", "time", feat)]
    if extra:
        raise InvalidRecordingError(
            f"{name} has unexpected dimension(s) {extra}; select or stack them into 'trial' "
            f"first, e.g. data.stack(trial={extra}).")
    if "trial" not in data.dims:
        data = data.expand_dims("trial")
    data = data.transpose("trial", "time", feat)
    if not np.issubdtype(data.dtype, np.number):
        raise ShapeError(f"{name} must be numeric; got dtype {data.dtype}.")
    values = np.asarray(data.values, dtype=float)
    if not np.all(np.isfinite(values)):
        bad = int(np.count_nonzero(~np.isfinite(values)))
        raise InvalidRecordingError(
            f"{name} has {bad} NaN or infinite values; interpolate or drop those samples "
            f"(e.g. data.interpolate_na('time')) before fitting.")
    if data.sizes["time"] < min_steps:
        raise InvalidRecordingError(
            f"{name} has {data.sizes['time']} time points; at least {min_steps} are needed "
            f"to fit a dynamical model. Use a finer bin size or longer trials.")
    return data.copy(data=values)


def time_step(data: xr.DataArray, dt: float | None) -> float:
    """The sampling interval: ``dt`` if given, else from the ``time`` coordinate."""
    if dt is not None:
        return check_positive("dt", dt)
    if "time" not in data.coords:
        raise InvalidRecordingError(
            "the data have no 'time' coordinate; pass dt= (seconds per sample) or assign "
            "time with data.assign_coords(time=seconds).")
    return sampling_step(data, name="the data")


def check_aligned(a: xr.DataArray, b: xr.DataArray, names: str) -> None:
    """Raise unless ``a`` and ``b`` share their trial and time sizes."""
    for dim in ("trial", "time"):
        if a.sizes[dim] != b.sizes[dim]:
            raise ShapeError(f"{names} must share the '{dim}' dimension; got "
                             f"{a.sizes[dim]} and {b.sizes[dim]}.")


def select_units(recorded: xr.DataArray, labels, name: str = "recorded") -> np.ndarray:
    """Indices of ``labels`` along the unit dimension of ``recorded``."""
    feat = recorded.dims[-1]
    have = np.asarray(recorded[feat].values) if feat in recorded.coords else \
        np.arange(recorded.sizes[feat])
    labels = np.atleast_1d(np.asarray(labels))
    missing = labels[~np.isin(labels, have)]
    if missing.size:
        raise InvalidRecordingError(
            f"sampled units {missing[:5].tolist()} are not among the {name} units "
            f"({have[:5].tolist()}{'...' if have.size > 5 else ''}); pass labels from "
            f"{name}.{feat}.")
    if np.unique(labels).size != labels.size:
        raise InvalidRecordingError("the sampled unit labels contain duplicates.")
    index = {v: i for i, v in enumerate(have.tolist())}
    return np.array([index[v] for v in labels.tolist()], dtype=int)
