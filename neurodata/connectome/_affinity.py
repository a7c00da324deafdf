"""Differential affinities between neuronal traces, and the pairs x time x animal tensor.

The affinity of neurons ``i`` and ``j`` at time ``t`` compares the *changes*
of their calcium traces (Dyballa et al. 2024, section 2.1: affinities from
concurrent changes of the signals, non-negative, zero for opposite changes):

1. Smooth each trace with a Gaussian of standard deviation ``smooth``
   seconds and differentiate it (a derivative-of-Gaussian filter):
   :math:`d_i(t) = (G_\\sigma' * x_i)(t)`.
2. Put every neuron on a common scale, so that dim and bright neurons weigh
   alike: :math:`z_i(t) = d_i(t) / s_i` with :math:`s_i` the root mean square
   of :math:`d_i` over the recording of that animal (a robust median-based
   scale is degenerate for traces that are flat most of the time).
3. The affinity is the change that the two neurons share,

   .. math::

      a_{ij}(t) = \\begin{cases} \\min(|z_i(t)|, |z_j(t)|) & z_i(t)\\,z_j(t) > 0 \\\\
                                 0 & \\text{otherwise,} \\end{cases}

   i.e. ``max(0, min(z_i, z_j)) + max(0, -max(z_i, z_j))``: large when both
   rise or both fall steeply, small when one of them barely moves, zero when
   they move in opposite directions.  It is symmetric, non-negative, and
   bounded by the smaller of the two normalised rates.
4. Optionally average the affinity over a centred window of ``window``
   seconds (a running mean), which trades time resolution for noise.

Choices where the paper is not explicit here are documented in
``docs/connectome.rst``.  Missing data stay missing: a neuron absent from an
animal, or a NaN frame, gives NaN affinities (masked in the NTF), never zeros.
A constant trace never changes and so never co-changes: its affinities are 0
(a :class:`~neurodata.errors.NeurodataWarning` says which neurons).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import xarray as xr
from scipy import ndimage

from neurodata._utils import neuron_dim as _find_neuron_dim
from neurodata._utils import sampling_step
from neurodata.errors import InvalidRecordingError, NeurodataWarning, ShapeError

__all__ = ["compute_affinities", "pair_indices", "pairs_to_matrix", "shared_change"]

_PAIR_CHUNK = 2048


def pair_indices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(i, j)``, ``i < j``, of the upper triangle in row-major order.

    Examples
    --------
    >>> pair_indices(3)
    (array([0, 0, 1]), array([1, 2, 2]))
    """
    i, j = np.triu_indices(n, k=1)
    return i, j


def pairs_to_matrix(values, n: int | None = None) -> np.ndarray:
    """Symmetric ``(N, N)`` matrix (zero diagonal) from ``N(N-1)/2`` pair values.

    Examples
    --------
    >>> pairs_to_matrix([1.0, 2.0, 3.0])
    array([[0., 1., 2.],
           [1., 0., 3.],
           [2., 3., 0.]])
    """
    v = np.asarray(values, dtype=float)
    if n is None:
        n = round((1 + np.sqrt(1 + 8 * v.size)) / 2)
    if v.size != n * (n - 1) // 2:
        raise ShapeError(f"{v.size} pair values do not fill the upper triangle of {n} neurons.")
    out = np.zeros((n, n))
    i, j = pair_indices(n)
    out[i, j] = v
    out[j, i] = v
    return out


def shared_change(zi: np.ndarray, zj: np.ndarray) -> np.ndarray:
    """The differential affinity of two normalised rates (elementwise).

    Examples
    --------
    >>> shared_change(np.array([2.0, 2.0, -1.0, 0.5]), np.array([1.0, -3.0, -4.0, 0.0]))
    array([1., 0., 1., 0.])
    """
    up = np.maximum(np.minimum(zi, zj), 0)
    down = np.maximum(-np.maximum(zi, zj), 0)
    return up + down


def _neuron_dim(da: xr.DataArray, neuron_dim: str | None) -> str:
    if neuron_dim is not None:
        if neuron_dim not in da.dims:
            raise InvalidRecordingError(f"traces have no dimension {neuron_dim!r}; dims are "
                                        f"{tuple(da.dims)}.")
        return neuron_dim
    return _find_neuron_dim(da, name="traces")


def _sampling_interval(time: np.ndarray) -> float:
    if time.size < 3:
        raise ShapeError(f"traces need at least 3 time points to differentiate; got {time.size}.")
    return sampling_step(time, name="the traces")


def _normalised_rates(x: np.ndarray, dt: float, smooth: float) -> tuple[np.ndarray, np.ndarray]:
    """``z = d / s`` for (time, neuron) traces; NaN frames stay NaN; flags constant neurons."""
    x = np.asarray(x, dtype=np.float64)
    nan = np.isnan(x)
    filled = x.copy()
    t = np.arange(x.shape[0])
    for col in np.flatnonzero(nan.any(axis=0) & ~nan.all(axis=0)):
        good = ~nan[:, col]
        filled[:, col] = np.interp(t, t[good], x[good, col])
    if smooth > 0:
        d = ndimage.gaussian_filter1d(filled, smooth / dt, axis=0, order=1, mode="nearest") / dt
    else:
        d = np.gradient(filled, dt, axis=0)
    d[nan] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        s = np.sqrt(np.nanmean(d**2, axis=0))
        scale = np.nanmax(np.abs(filled), axis=0)
    constant = ~(s > 1e-9 * np.where(scale > 0, scale, 1.0) / dt) & ~nan.all(axis=0)
    s = np.where(constant, 0.0, s)
    z = d / np.where(s > 0, s, 1.0)
    z[:, constant] = 0.0
    return z.astype(np.float32), constant


def _smooth_time(a: np.ndarray, width: int) -> np.ndarray:
    """Centred running mean over ``width`` samples along the last axis, NaN-aware."""
    if width <= 1:
        return a
    nan = np.isnan(a)
    num = ndimage.uniform_filter1d(np.where(nan, 0, a), width, axis=-1, mode="nearest")
    den = ndimage.uniform_filter1d((~nan).astype(np.float32), width, axis=-1, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0.5, num / den, np.nan)
    out[nan] = np.nan
    return out.astype(a.dtype)


def _affinity_block(z: np.ndarray, out: np.ndarray, width: int) -> None:
    """Fill ``out`` (pair, time) for all pairs of the (time, neuron) rates ``z``, in chunks."""
    n = z.shape[1]
    zt = np.ascontiguousarray(z.T)
    i, j = pair_indices(n)
    for start in range(0, i.size, _PAIR_CHUNK):
        sl = slice(start, start + _PAIR_CHUNK)
        out[sl] = _smooth_time(shared_change(zt[i[sl]], zt[j[sl]]), width)


def _warn_constant(names, constant) -> None:
    if np.any(constant):
        bad = [str(v) for v in np.asarray(names)[constant]][:10]
        warnings.warn(f"neuron(s) {bad} have constant traces; they never change, so all their "
                      f"affinities are 0.", NeurodataWarning, stacklevel=3)


def compute_affinities(traces, *, smooth: float = 1.0, window: float | None = None,
                       neuron_dim: str | None = None) -> xr.DataArray:
    """Differential affinities of all neuron pairs at every time point.

    Parameters
    ----------
    traces : xarray.DataArray
        Calcium traces with dims ``time`` (seconds, regularly sampled) and a
        neuron dim (``roi`` or ``unit``).  NaN frames are missing.
    smooth : float
        Standard deviation, in seconds, of the Gaussian whose derivative
        gives the rates; 0 for plain central differences.
    window : float, optional
        Length, in seconds, of a centred running mean of the affinities.
    neuron_dim : str, optional
        Name of the neuron dimension when it is not one of the defaults.

    Returns
    -------
    xarray.DataArray
        float32 ``(pair, time)``, upper-triangle pairs in row-major order, with
        coords ``neuron_i``, ``neuron_j`` (labels) and ``i``, ``j``
        (positions) on ``pair``, and ``attrs["neuron_dim"]``, the traces' neuron
        dimension.  The formula is in the module docstring.

    Examples
    --------
    >>> t = np.arange(200) * 0.25
    >>> rise = np.tanh(t - 25)
    >>> traces = xr.DataArray(np.stack([rise, 2 * rise + 1, -rise], axis=1),
    ...                       dims=("time", "roi"), coords={"time": t, "roi": ["a", "b", "c"]})
    >>> aff = compute_affinities(traces)
    >>> aff.dims, aff.sizes["pair"]
    (('pair', 'time'), 3)
    >>> [round(float(v), 1) for v in aff.max("time")]   # a-b together; a-c, b-c opposite
    [4.7, 0.0, 0.0]
    """
    if not isinstance(traces, xr.DataArray):
        raise InvalidRecordingError(f"traces must be an xarray.DataArray with dims (time, roi); "
                                    f"got {type(traces).__name__}.")
    ndim = _neuron_dim(traces, neuron_dim)
    if "time" not in traces.dims or traces.ndim != 2:
        raise InvalidRecordingError(f"traces must have dims ('time', '{ndim}'); got "
                                    f"{tuple(traces.dims)}.")
    traces = traces.transpose("time", ndim)
    time = np.asarray(traces["time"].values if "time" in traces.coords
                      else np.arange(traces.sizes["time"]), dtype=float)
    dt = _sampling_interval(time)
    names = traces[ndim].values if ndim in traces.coords else np.arange(traces.sizes[ndim])
    z, constant = _normalised_rates(traces.values, dt, smooth)
    _warn_constant(names, constant)
    width = 1 if not window else max(1, round(window / dt))
    n = z.shape[1]
    out = np.empty((n * (n - 1) // 2, time.size), dtype=np.float32)
    _affinity_block(z, out, width)
    return _pair_array(out, names, time, ndim)


def _pair_array(data: np.ndarray, names, time, neuron_dim: str,
                extra: Mapping | None = None) -> xr.DataArray:
    i, j = pair_indices(len(names))
    names = np.asarray(names)
    coords = {"pair": np.arange(i.size), "neuron_i": ("pair", names[i]),
              "neuron_j": ("pair", names[j]), "i": ("pair", i), "j": ("pair", j),
              "time": time}
    if extra:
        coords.update(extra)
    dims = ("pair", "time") if data.ndim == 2 else ("pair", "time", "animal")
    return xr.DataArray(data, dims=dims, coords=coords, name="affinity",
                        attrs={"neuron_dim": neuron_dim})
