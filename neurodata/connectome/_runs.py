"""Monotonic runs of smoothed traces, and the interval affinity on their overlaps.

A *run* of a neuron is a maximal interval in which its normalised rate
``z_i(t)`` keeps one sign and exceeds ``min_slope`` in magnitude, lasting at
least ``min_len`` samples.  For a pair, the overlaps of a run of ``i`` with a
run of ``j`` are scored by the similarity of the two neurons' absolute
derivatives over the overlap, ``min(m_i, m_j) / max(m_i, m_j)`` with ``m`` the
mean ``|z|`` over it (the magnitude of the change across the overlap divided by
its duration), and that value is the affinity at every time point of the
overlap; outside every overlap the affinity is 0.  The formulas are in
:mod:`neurodata.connectome._affinity`; the loops over pairs and time are
compiled here.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["interval_affinity_block", "label_runs"]


@numba.njit(cache=True)
def _sign(v, min_slope):  # pragma: no cover - compiled
    if math.isnan(v) or abs(v) <= min_slope:
        return 0
    return 1 if v > 0 else -1


@numba.njit(cache=True)
def label_runs(z, min_slope, min_len):  # pragma: no cover - compiled
    """Run ids (-1 outside runs) and run signs of ``(neuron, time)`` rates ``z``."""
    n, n_t = z.shape
    run = np.full((n, n_t), -1, dtype=np.int32)
    sgn = np.zeros((n, n_t), dtype=np.int8)
    for i in range(n):
        t = 0
        next_id = 0
        while t < n_t:
            s = _sign(z[i, t], min_slope)
            u = t + 1
            while u < n_t and _sign(z[i, u], min_slope) == s:
                u += 1
            if s != 0 and u - t >= min_len:
                for k in range(t, u):
                    run[i, k] = next_id
                    sgn[i, k] = s
                next_id += 1
            t = u
    return run, sgn


@numba.njit(parallel=True, cache=True)
def interval_affinity_block(cum, run, sgn, missing, ii, jj, same_sign, out):  # pragma: no cover
    """Fill ``out`` (pair, time) with interval affinities of the pairs ``(ii, jj)``.

    ``cum`` is ``(neuron, time + 1)``: cumulative sums of ``|z|`` (0 at NaN), so
    that the mean magnitude over ``[t, u)`` is ``(cum[u] - cum[t]) / (u - t)``.
    """
    n_t = run.shape[1]
    for p in numba.prange(ii.shape[0]):
        i, j = ii[p], jj[p]
        t = 0
        while t < n_t:
            ri, rj = run[i, t], run[j, t]
            u = t + 1
            while u < n_t and run[i, u] == ri and run[j, u] == rj:
                u += 1
            val = np.float32(0.0)
            if ri >= 0 and rj >= 0 and (not same_sign or sgn[i, t] == sgn[j, t]):
                mi = cum[i, u] - cum[i, t]
                mj = cum[j, u] - cum[j, t]
                hi = max(mi, mj)
                if hi > 0:
                    val = np.float32(min(mi, mj) / hi)
            for k in range(t, u):
                out[p, k] = np.nan if (missing[i, k] or missing[j, k]) else val
            t = u
