"""Vectorised linear interpolation along a time axis, shared by align and resample."""

from __future__ import annotations

import numpy as np

__all__ = ["interp_along_time"]


def interp_along_time(t: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Linearly interpolate ``values`` (time first) at ``query`` times.

    All trailing axes of ``values`` are interpolated at once; queries outside
    ``[t[0], t[-1]]`` or NaN give NaN (no extrapolation).

    Parameters
    ----------
    t : ndarray, shape (T,)
        Strictly increasing sample times.
    values : ndarray, shape (T, ...)
        Samples, time first.
    query : ndarray, any shape Q
        Times to evaluate.

    Returns
    -------
    ndarray, shape Q + values.shape[1:]
        float64 (or the input's float dtype if wider).

    Examples
    --------
    >>> interp_along_time(np.array([0.0, 1.0, 2.0]), np.array([[0.0], [10.0], [20.0]]),
    ...                   np.array([0.5, 1.5, 3.0]))
    array([[ 5.],
           [15.],
           [nan]])
    """
    t = np.asarray(t, dtype=np.float64)
    q = np.asarray(query, dtype=np.float64)
    dtype = np.result_type(values.dtype, np.float64)
    out_shape = q.shape + values.shape[1:]
    if t.size == 0:
        return np.full(out_shape, np.nan, dtype=dtype)
    if t.size == 1:
        out = np.full(out_shape, np.nan, dtype=dtype)
        out[q == t[0]] = values[0]
        return out
    qf = q.ravel()
    i0 = np.clip(np.searchsorted(t, qf, side="right") - 1, 0, t.size - 2)
    frac = (qf - t[i0]) / (t[i0 + 1] - t[i0])
    frac = frac.reshape((-1,) + (1,) * (values.ndim - 1))
    out = values[i0] * (1.0 - frac) + values[i0 + 1] * frac
    outside = ~((qf >= t[0]) & (qf <= t[-1]))
    out = out.astype(dtype, copy=False)
    out[outside] = np.nan
    return out.reshape(out_shape)
