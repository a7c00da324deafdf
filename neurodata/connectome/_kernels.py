"""Streaming numba kernels for the two tensor passes of a HALS iteration.

BLAS ``sgemm`` is the wrong tool for ``(I, L) @ (L, R)`` with ``R`` about 10:
OpenBLAS packs (copies) the big operand and reaches only a few GB/s.  These
kernels read the big matrix exactly once, in rows or in column blocks, with
the small operand held in cache, so that a pass runs near memory bandwidth.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["fill_runs", "left_mttkrp", "right_mttkrp"]

_BLOCK = 512
_SMALL = 1 << 20  # below this BLAS is fine and thread start-up would dominate


@numba.njit(fastmath=True, cache=True)
def _dot_tail(x, krt, out, i0, i1, r0):  # pragma: no cover - compiled
    for i in range(i0, i1):
        for r in range(r0, krt.shape[0]):
            s = np.float32(0.0)
            for j in range(x.shape[1]):
                s += x[i, j] * krt[r, j]
            out[i, r] = s


@numba.njit(parallel=True, fastmath=True, cache=True)
def _rows_times(x, krt, out):  # pragma: no cover - compiled
    # out[i, r] = sum_j x[i, j] krt[r, j]: a 4-row x 2-rank register block, so
    # that every load of x serves two ranks and every load of krt four rows.
    n_rows, n_cols = x.shape
    rank = krt.shape[0]
    n_full = n_rows - n_rows % 4
    r_full = rank - rank % 2
    for g in numba.prange(n_full // 4):
        i0 = g * 4
        x0, x1, x2, x3 = x[i0], x[i0 + 1], x[i0 + 2], x[i0 + 3]
        for r in range(0, r_full, 2):
            k = krt[r]
            q = krt[r + 1]
            s0 = s1 = s2 = s3 = t0 = t1 = t2 = t3 = np.float32(0.0)
            for j in range(n_cols):
                kj = k[j]
                qj = q[j]
                a0, a1, a2, a3 = x0[j], x1[j], x2[j], x3[j]
                s0 += a0 * kj
                s1 += a1 * kj
                s2 += a2 * kj
                s3 += a3 * kj
                t0 += a0 * qj
                t1 += a1 * qj
                t2 += a2 * qj
                t3 += a3 * qj
            out[i0, r], out[i0 + 1, r], out[i0 + 2, r], out[i0 + 3, r] = s0, s1, s2, s3
            out[i0, r + 1], out[i0 + 1, r + 1] = t0, t1
            out[i0 + 2, r + 1], out[i0 + 3, r + 1] = t2, t3
        _dot_tail(x, krt, out, i0, i0 + 4, r_full)
    _dot_tail(x, krt, out, n_full, n_rows, 0)


@numba.njit(parallel=True, fastmath=True, cache=True)
def _cols_times(x, a, out, block):  # pragma: no cover - compiled
    # out[r, j] = sum_i a[i, r] x[i, j] by column blocks (no reduction across
    # threads); eight rows of x per update of the accumulator, which stays in L1.
    n_rows, n_cols = x.shape
    rank = a.shape[1]
    n_blocks = (n_cols + block - 1) // block
    n_full = n_rows - n_rows % 8
    for b in numba.prange(n_blocks):
        j0 = b * block
        j1 = min(n_cols, j0 + block)
        width = j1 - j0
        acc = np.zeros((rank, width), dtype=np.float32)
        for i in range(0, n_full, 8):
            x0, x1, x2, x3 = x[i, j0:j1], x[i + 1, j0:j1], x[i + 2, j0:j1], x[i + 3, j0:j1]
            x4, x5, x6, x7 = x[i + 4, j0:j1], x[i + 5, j0:j1], x[i + 6, j0:j1], x[i + 7, j0:j1]
            for r in range(rank):
                a0, a1, a2, a3 = a[i, r], a[i + 1, r], a[i + 2, r], a[i + 3, r]
                a4, a5, a6, a7 = a[i + 4, r], a[i + 5, r], a[i + 6, r], a[i + 7, r]
                acc_r = acc[r]
                for j in range(width):
                    acc_r[j] += (a0 * x0[j] + a1 * x1[j] + a2 * x2[j] + a3 * x3[j]) + (
                        a4 * x4[j] + a5 * x5[j] + a6 * x6[j] + a7 * x7[j])
        for i in range(n_full, n_rows):
            xi = x[i, j0:j1]
            for r in range(rank):
                air = a[i, r]
                acc_r = acc[r]
                for j in range(width):
                    acc_r[j] += air * xi[j]
        out[:, j0:j1] = acc


def left_mttkrp(x: np.ndarray, kr: np.ndarray) -> np.ndarray:
    """``x @ kr`` for a C-contiguous float32 ``x`` of shape (I, L) and small ``kr`` (L, R).

    Examples
    --------
    >>> x = np.arange(6, dtype=np.float32).reshape(2, 3)   # small: BLAS; large: numba
    >>> left_mttkrp(x, np.ones((3, 1), np.float32)).ravel()
    array([ 3., 12.], dtype=float32)
    """
    if x.dtype != np.float32 or not x.flags.c_contiguous or x.size < _SMALL:
        return x @ kr.astype(x.dtype)
    out = np.empty((x.shape[0], kr.shape[1]), dtype=np.float32)
    _rows_times(x, np.ascontiguousarray(kr.T, dtype=np.float32), out)
    return out


def right_mttkrp(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``x.T @ a`` for a C-contiguous float32 ``x`` (I, L) and small ``a`` (I, R).

    Examples
    --------
    >>> x = np.arange(6, dtype=np.float32).reshape(2, 3)
    >>> right_mttkrp(x, np.ones((2, 1), np.float32)).ravel()
    array([3., 5., 7.], dtype=float32)
    """
    if x.dtype != np.float32 or not x.flags.c_contiguous or x.size < _SMALL:
        return x.T @ a.astype(x.dtype)
    out = np.empty((a.shape[1], x.shape[1]), dtype=np.float32)
    _cols_times(x, np.ascontiguousarray(a, dtype=np.float32), out, _BLOCK)
    return out.T


@numba.njit(cache=True)
def fill_runs(work, a, kr, rows, starts, stops):  # pragma: no cover - compiled
    """Set ``work[i, c] = a[i] . kr[c]`` on runs of missing entries.

    Returns the sum of squared changes and the sum of squares of the new
    values, accumulated in float64.
    """
    rank = a.shape[1]
    gap = 0.0
    filled = 0.0
    for q in range(rows.shape[0]):
        i = rows[q]
        for c in range(starts[q], stops[q]):
            v = 0.0
            for r in range(rank):
                v += a[i, r] * kr[c, r]
            d = v - work[i, c]
            gap += d * d
            filled += v * v
            work[i, c] = v
    return gap, filled
