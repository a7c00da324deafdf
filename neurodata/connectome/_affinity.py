"""Differential affinities between neuronal traces.

The affinity of neurons ``i`` and ``j`` at time ``t`` compares the *changes*
of their calcium traces.  What is known of the paper's definition (Dyballa et
al. 2024; its full text was not available to us, so these are the phrases
quoted from it in the public OpenReview reviews) is that it "compare[s] two
neurons' derivatives during intervals in which both had a constant sign",
measuring "how similar two curves are, locally, in terms of their absolute
derivatives" on "smoothed derivatives" over "periods of monotonic increase or
decrease"; that "two neurons with very similar but opposite sign derivatives
are still likely to be interacting"; and that affinities are "non-negative and
bounded".  Both methods here share the first two steps:

1. Smooth each trace with a Gaussian of standard deviation ``smooth``
   seconds and differentiate it (a derivative-of-Gaussian filter):
   :math:`d_i(t) = (G_\\sigma' * x_i)(t)`.  *(The paper: smoothed
   derivatives.  Ours: the Gaussian and its 1 s default.)*
2. Put every neuron on a common scale, so that dim and bright neurons weigh
   alike: :math:`z_i(t) = d_i(t) / s_i` with :math:`s_i` the root mean square
   of :math:`d_i` over the recording of that animal.  *(Ours.)*

``method="interval"`` (default; our reading of the quoted definition):

3. The *monotonic runs* of a neuron are the maximal intervals in which
   :math:`z_i` keeps one sign with :math:`|z_i| >` ``min_slope`` (in units of
   the neuron's RMS rate), lasting at least ``min_duration`` seconds (both 0
   by default: every sign change starts a run).
4. Where a run of ``i`` overlaps a run of ``j`` (an interval :math:`I` in
   which both are monotonic), the affinity at every :math:`t \\in I` is the
   similarity of their absolute derivatives over :math:`I`,

   .. math::

      a_{ij}(t) = \\frac{\\min(m_i, m_j)}{\\max(m_i, m_j)}, \\qquad
      m_i = \\frac{1}{|I|} \\int_I |z_i| \\, dt,

   i.e. the ratio of the two (normalised) amounts of change across the
   overlap; outside every overlap, where one of them is flat, it is 0.  With
   ``sign="absolute"`` (the paper's, after the quoted remark on opposite
   signs) overlaps count whatever the two signs; with ``sign="same"`` only overlaps
   where both rise or both fall.  ``sign="same"`` is the default (ours): on
   data where co-activating neurons rise and fall together, ``"absolute"``
   gives independent neurons an affinity near 0.5 whenever both move, which
   buries the groups (planted-group NMI 0.5-0.65 against 1.0 with ``"same"``,
   see ``docs/connectome.rst``).  The affinity lies in :math:`[0, 1]`, is 1
   for :math:`x` and :math:`a x + b` (:math:`a > 0`) on their common runs,
   and 0 for flat traces.  *(Ours: the min/max ratio, the mean over the
   overlap, the two thresholds.)*

``method="shared_rate"`` (the module's earlier formula, kept as an option):

3'. :math:`a_{ij}(t) = \\min(|z_i(t)|, |z_j(t)|)` when :math:`z_i(t)
    z_j(t) > 0` and 0 otherwise (``sign="same"``: the formula as it was), or
    regardless of the signs (``sign="absolute"``): pointwise, unbounded
    (the RMS scale makes it about 1 on average).

Both: optionally average the affinity over a centred window of ``window``
seconds (a running mean), which trades time resolution for noise.  Missing
data stay missing: a neuron absent from an animal, or a NaN frame, gives NaN
affinities (masked in the NTF), never zeros; a NaN frame also ends a run.  A
constant trace never changes and so never co-changes: its affinities are 0
(a :class:`~neurodata.errors.NeurodataWarning` says which neurons).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import ndimage

from neurodata._utils import check_option, check_positive, sampling_step
from neurodata._utils import neuron_dim as _find_neuron_dim
from neurodata.connectome._runs import interval_affinity_block, label_runs
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


@dataclass(frozen=True)
class AffinitySpec:
    """How pair affinities are computed (see the module docstring)."""

    method: str = "interval"
    sign: str = "same"
    min_slope: float = 0.0
    min_duration: float = 0.0

    def __post_init__(self) -> None:
        check_option("method", self.method, ("interval", "shared_rate"))
        check_option("sign", self.sign, ("same", "absolute"))
        check_positive("min_slope", self.min_slope, strict=False)
        check_positive("min_duration", self.min_duration, strict=False)

    @property
    def same_sign(self) -> bool:
        return self.sign == "same"


def _affinity_block(z: np.ndarray, out: np.ndarray, width: int,
                    spec: AffinitySpec | None = None, dt: float = 1.0) -> None:
    """Fill ``out`` (pair, time) for all pairs of the (time, neuron) rates ``z``, in chunks."""
    spec = spec or AffinitySpec()
    n = z.shape[1]
    zt = np.ascontiguousarray(z.T)
    i, j = pair_indices(n)
    if spec.method == "interval":
        min_len = max(1, round(spec.min_duration / dt))
        run, sgn = label_runs(zt, float(spec.min_slope), min_len)
        missing = np.isnan(zt)
        cum = np.zeros((n, zt.shape[1] + 1))
        np.cumsum(np.where(missing, 0.0, np.abs(zt)), axis=1, out=cum[:, 1:])
    for start in range(0, i.size, _PAIR_CHUNK):
        sl = slice(start, start + _PAIR_CHUNK)
        if spec.method == "interval":
            interval_affinity_block(cum, run, sgn, missing, i[sl], j[sl], spec.same_sign,
                                    out[sl])
            out[sl] = _smooth_time(out[sl], width)
        elif spec.same_sign:
            out[sl] = _smooth_time(shared_change(zt[i[sl]], zt[j[sl]]), width)
        else:
            out[sl] = _smooth_time(np.minimum(np.abs(zt[i[sl]]), np.abs(zt[j[sl]])), width)


def _warn_constant(names, constant) -> None:
    if np.any(constant):
        bad = [str(v) for v in np.asarray(names)[constant]][:10]
        warnings.warn(f"neuron(s) {bad} have constant traces; they never change, so all their "
                      f"affinities are 0.", NeurodataWarning, stacklevel=3)


def compute_affinities(traces, *, method: str = "interval", sign: str = "same",
                       min_slope: float = 0.0, min_duration: float = 0.0, smooth: float = 1.0,
                       window: float | None = None,
                       neuron_dim: str | None = None) -> xr.DataArray:
    """Differential affinities of all neuron pairs at every time point.

    Parameters
    ----------
    traces : xarray.DataArray
        Calcium traces with dims ``time`` (seconds, regularly sampled) and a
        neuron dim (``roi`` or ``unit``).  NaN frames are missing.
    method : {"interval", "shared_rate"}
        ``"interval"``: similarity of the absolute derivatives on overlapping
        monotonic runs, in [0, 1] (our reading of the paper);
        ``"shared_rate"``: the pointwise shared normalised rate (this
        module's earlier formula).  See the module docstring.
    sign : {"same", "absolute"}
        Whether only same-direction changes count (``"same"``, default) or
        also a rise against a fall (``"absolute"``, the paper's reading, see
        the module docstring).
    min_slope : float
        ``"interval"``: a run needs ``|z| > min_slope`` (in units of each
        neuron's RMS rate); 0 by default.
    min_duration : float
        ``"interval"``: runs shorter than this many seconds are ignored; 0
        by default.
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
    >>> [round(float(v), 2) for v in aff.max("time")]   # a-b together; a-c, b-c opposite
    [1.0, 0.0, 0.0]
    >>> both = compute_affinities(traces, sign="absolute")
    >>> [round(float(v), 2) for v in both.max("time")]  # opposite changes count too
    [1.0, 1.0, 1.0]
    >>> old = compute_affinities(traces, method="shared_rate")
    >>> [round(float(v), 1) for v in old.max("time")]
    [4.7, 0.0, 0.0]
    """
    spec = AffinitySpec(method, sign, min_slope, min_duration)
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
    _affinity_block(z, out, width, spec, dt)
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
