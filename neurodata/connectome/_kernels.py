"""The fused tensor pass of a HALS iteration (numba), and the row-wise HALS update.

One pass over the mode-0 unfolding ``X0`` (I, L) does everything an
iteration needs from the tensor.  Rows of ``X0`` are taken eight at a time;
while such a block is in cache the kernel

1. (masked tensors) completes it: missing entries get the current model
   ``a_i . kr_c`` (EM imputation), so no completed copy of the tensor exists;
2. computes its rows of ``M_A = X0 @ (B ⊙ C)``;
3. updates those rows of ``A`` (the HALS update of ``A`` is separable by rows:
   the column sweeps of row ``i`` only involve ``a_i``, ``M_A[i]`` and ``G``);
4. adds the block's share of ``W = X0.T @ A_new`` to a per-chunk accumulator.

Every loop over the columns runs on tiles of ``_TILE`` columns, so that the
eight rows, the Khatri-Rao tile and the ``W`` tile stay in L1 while the
inner loops vectorise over columns.  Groups of blocks are shared out among
the threads, each thread adding into its own ``W`` (summed afterwards), so
threads never share a write.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["fused_pass", "hals_rows", "row_sum_squares", "tile_full"]

_ROWS = 8     # rows of X0 per block (the register blocking below is written for 8)
_TILE = 512   # columns per tile: 8 rows + a tile of kr.T and of W fit in L1
_GROUP = 4    # blocks handed to a thread at a time


@numba.njit(fastmath=True, cache=True, inline="always")
def _hals_row(a, i, m, g, n_inner):  # pragma: no cover - compiled
    """Column sweeps on row ``i`` of ``a`` (float64 arithmetic); own stopping rule."""
    rank = a.shape[1]
    first = 0.0
    for sweep in range(n_inner):
        change = 0.0
        for r in range(rank):
            grr = g[r, r]
            if grr <= 0:
                continue
            dot = 0.0
            for q in range(rank):
                dot += a[i, q] * g[q, r]
            old = a[i, r]
            new = old + (m[r] - dot) / grr
            if new < 0:
                new = 0.0
            a[i, r] = new
            d = a[i, r] - old
            change += d * d
        if sweep == 0:
            first = change
        if change <= 1e-6 * first or first == 0:
            break


@numba.njit(fastmath=True, cache=True)
def hals_rows(f, m, g, n_inner):  # pragma: no cover - compiled
    """HALS update of every row of ``f`` in place: ``min_{F>=0} ||X_(n) - F K^T||``.

    ``m`` is the MTTKRP and ``g`` the Gram matrix ``K^T K`` (float64).  Each
    row runs up to ``n_inner`` column sweeps and stops when a sweep changes it
    by less than 1e-6 of its first sweep's change (squared norms).
    """
    for i in range(f.shape[0]):
        _hals_row(f, i, m[i], g, n_inner)


@numba.njit(fastmath=True, cache=True)
def _complete(x, obs, full, a, krt, i0, buf, model, tflag):  # pragma: no cover - compiled
    """Complete the block's tiles that hold a missing entry, in ``buf``.

    Only tiles with ``tflag == 0`` are touched (the others are read straight
    from ``x``); in those, a row's tile with nothing missing (``full``) is
    copied and its mask not read, otherwise the model row
    ``a_i . krt[:, tile]`` is computed (vectorised over columns) and selected
    where the mask is 0.  Returns the sum of squares imputed.
    """
    rank = krt.shape[0]
    n_cols = x.shape[1]
    filled = 0.0
    zero = x[0, 0] * np.float32(0)
    for tile in range(tflag.shape[0]):
        if tflag[tile]:
            continue
        j0 = tile * _TILE
        j1 = min(n_cols, j0 + _TILE)
        width = j1 - j0
        for q in range(buf.shape[0]):
            i = i0 + q
            xr, br = x[i, j0:j1], buf[q, j0:j1]
            if full[i, tile]:
                for j in range(width):
                    br[j] = xr[j]
                continue
            orow = obs[i, j0:j1]
            mr = model[:width]
            mr[:] = 0
            for r in range(rank):
                air = a[i, r]
                kr = krt[r, j0:j1]
                for j in range(width):
                    mr[j] += air * kr[j]
            sq = zero
            for j in range(width):   # selects, not arithmetic: x may be NaN where missing
                v = zero if orow[j] else mr[j]
                br[j] = xr[j] if orow[j] else v
                sq += v * v
            filled += sq
    return filled


@numba.njit(parallel=True, fastmath=True, cache=True)
def row_sum_squares(x, obs):  # pragma: no cover - compiled
    """Per row, the sum of squares of ``x`` (where ``obs``, uint8, is 1; all if it is (0, 0)).

    float32 partial sums over tiles of ``_TILE`` columns, float64 across tiles;
    entries where ``obs`` is 0 are never used in arithmetic (they may be NaN).
    """
    n_rows, n_cols = x.shape
    masked = obs.shape[0] > 0
    out = np.zeros(n_rows)
    for i in numba.prange(n_rows):
        zero = x[i, 0] * np.float32(0)
        total = 0.0
        for j0 in range(0, n_cols, _TILE):
            j1 = min(n_cols, j0 + _TILE)
            s = zero
            if masked:
                for j in range(j0, j1):
                    v = x[i, j] if obs[i, j] else zero
                    s += v * v
            else:
                for j in range(j0, j1):
                    s += x[i, j] * x[i, j]
            total += s
        out[i] = total
    return out


def tile_full(observed: np.ndarray) -> np.ndarray:
    """``(I, n_tiles)`` uint8: 1 where a tile of ``_TILE`` columns of a row has no missing entry.

    Examples
    --------
    >>> obs = np.ones((2, 600), bool); obs[1, 550] = False
    >>> tile_full(obs).tolist()
    [[1, 1], [1, 0]]
    """
    starts = np.arange(0, observed.shape[1], _TILE)
    out = np.empty((observed.shape[0], starts.size), dtype=np.uint8)
    for r0 in range(0, observed.shape[0], 256):
        out[r0 : r0 + 256] = np.logical_and.reduceat(observed[r0 : r0 + 256], starts, axis=1)
    return out


@numba.njit(fastmath=True, cache=True)
def _left8(xs, bb, tflag, krt, m):  # pragma: no cover - compiled
    """``m[q, r] += sum_c xb[q, c] krt[r, c]`` for exactly 8 rows, by column tiles.

    Two ranks per sweep of a tile: 16 accumulators, and each load of ``xb``
    serves two ranks.
    """
    n_cols = xs.shape[1]
    rank = krt.shape[0]
    zero = xs[0, 0] * np.float32(0)
    for j0 in range(0, n_cols, _TILE):
        j1 = min(n_cols, j0 + _TILE)
        xb = xs if tflag[j0 // _TILE] else bb
        x0, x1, x2, x3 = xb[0, j0:j1], xb[1, j0:j1], xb[2, j0:j1], xb[3, j0:j1]
        x4, x5, x6, x7 = xb[4, j0:j1], xb[5, j0:j1], xb[6, j0:j1], xb[7, j0:j1]
        for r in range(0, rank - 1, 2):
            k = krt[r, j0:j1]
            p = krt[r + 1, j0:j1]
            s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zero
            t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = zero
            for j in range(j1 - j0):
                kj = k[j]
                pj = p[j]
                y0, y1, y2, y3, y4, y5, y6, y7 = x0[j], x1[j], x2[j], x3[j], x4[j], x5[j], x6[j], x7[j]
                s0 += y0 * kj
                s1 += y1 * kj
                s2 += y2 * kj
                s3 += y3 * kj
                s4 += y4 * kj
                s5 += y5 * kj
                s6 += y6 * kj
                s7 += y7 * kj
                t0 += y0 * pj
                t1 += y1 * pj
                t2 += y2 * pj
                t3 += y3 * pj
                t4 += y4 * pj
                t5 += y5 * pj
                t6 += y6 * pj
                t7 += y7 * pj
            m[0, r] += s0
            m[1, r] += s1
            m[2, r] += s2
            m[3, r] += s3
            m[4, r] += s4
            m[5, r] += s5
            m[6, r] += s6
            m[7, r] += s7
            m[0, r + 1] += t0
            m[1, r + 1] += t1
            m[2, r + 1] += t2
            m[3, r + 1] += t3
            m[4, r + 1] += t4
            m[5, r + 1] += t5
            m[6, r + 1] += t6
            m[7, r + 1] += t7
        if rank % 2:
            k = krt[rank - 1, j0:j1]
            for q in range(_ROWS):
                xq = xb[q, j0:j1]
                s = zero
                for j in range(j1 - j0):
                    s += xq[j] * k[j]
                m[q, rank - 1] += s


@numba.njit(fastmath=True, cache=True)
def _right8(xs, bb, tflag, a, i0, w):  # pragma: no cover - compiled
    """``w[r, c] += sum_q a[i0 + q, r] xb[q, c]`` for exactly 8 rows, by column tiles.

    Two ranks per sweep of a tile, so that each load of ``xb`` serves two.
    """
    n_cols = xs.shape[1]
    rank = w.shape[0]
    for j0 in range(0, n_cols, _TILE):
        j1 = min(n_cols, j0 + _TILE)
        xb = xs if tflag[j0 // _TILE] else bb
        x0, x1, x2, x3 = xb[0, j0:j1], xb[1, j0:j1], xb[2, j0:j1], xb[3, j0:j1]
        x4, x5, x6, x7 = xb[4, j0:j1], xb[5, j0:j1], xb[6, j0:j1], xb[7, j0:j1]
        for r in range(0, rank - 1, 2):
            a0, a1, a2, a3 = a[i0, r], a[i0 + 1, r], a[i0 + 2, r], a[i0 + 3, r]
            a4, a5, a6, a7 = a[i0 + 4, r], a[i0 + 5, r], a[i0 + 6, r], a[i0 + 7, r]
            b0, b1, b2, b3 = a[i0, r + 1], a[i0 + 1, r + 1], a[i0 + 2, r + 1], a[i0 + 3, r + 1]
            b4, b5, b6, b7 = a[i0 + 4, r + 1], a[i0 + 5, r + 1], a[i0 + 6, r + 1], a[i0 + 7, r + 1]
            wr = w[r, j0:j1]
            wq = w[r + 1, j0:j1]
            for j in range(j1 - j0):
                y0, y1, y2, y3, y4, y5, y6, y7 = x0[j], x1[j], x2[j], x3[j], x4[j], x5[j], x6[j], x7[j]
                wr[j] += (a0 * y0 + a1 * y1 + a2 * y2 + a3 * y3) + (
                    a4 * y4 + a5 * y5 + a6 * y6 + a7 * y7)
                wq[j] += (b0 * y0 + b1 * y1 + b2 * y2 + b3 * y3) + (
                    b4 * y4 + b5 * y5 + b6 * y6 + b7 * y7)
        if rank % 2:
            r = rank - 1
            wr = w[r, j0:j1]
            for q in range(_ROWS):
                aq = a[i0 + q, r]
                xq = xb[q, j0:j1]
                for j in range(j1 - j0):
                    wr[j] += aq * xq[j]


@numba.njit(fastmath=True, cache=True)
def _left1(xi, bi, tflag, krt, m_row):  # pragma: no cover - compiled
    n_cols = xi.shape[0]
    for j0 in range(0, n_cols, _TILE):
        j1 = min(n_cols, j0 + _TILE)
        src = xi[j0:j1] if tflag[j0 // _TILE] else bi[j0:j1]
        for r in range(krt.shape[0]):
            k = krt[r, j0:j1]
            s = xi[0] * np.float32(0)
            for j in range(j1 - j0):
                s += src[j] * k[j]
            m_row[r] += s


@numba.njit(fastmath=True, cache=True)
def _right1(xi, bi, tflag, a, i, w):  # pragma: no cover - compiled
    n_cols = xi.shape[0]
    for j0 in range(0, n_cols, _TILE):
        j1 = min(n_cols, j0 + _TILE)
        src = xi[j0:j1] if tflag[j0 // _TILE] else bi[j0:j1]
        for r in range(w.shape[0]):
            air = a[i, r]
            wr = w[r, j0:j1]
            for j in range(j1 - j0):
                wr[j] += air * src[j]


@numba.njit(parallel=True, fastmath=True, cache=True)
def fused_pass(x, obs, full, a, krt, g, n_inner, update, w_parts, stats,
               bufs):  # pragma: no cover - compiled
    """One read of ``x`` (and ``obs``): the HALS update of ``a`` and ``W = X0.T @ a_new``.

    Parameters
    ----------
    x : (I, L) C-contiguous array (never written).
    obs : (I, L) uint8 array, 1 where observed (0 where missing), or a (0, 0) array
        when nothing is missing.
    full : (I, n_tiles) uint8 from :func:`tile_full` (or (0, 0)): tiles that
        need no imputation, whose mask is then not read.
    a : (I, R) first factor, updated in place (when ``update``).
    krt : (R, L) transposed Khatri-Rao product of the other two factors.
    g : (R, R) float64 Hadamard product of their Gram matrices.
    n_inner : int, HALS column sweeps per row.
    update : bool; False computes only the statistics (a loss evaluation).
    w_parts : (n_threads, R, L) zeros on entry: one ``W.T`` per thread (sum them).
    stats : (n_threads, 2) float64 zeros on entry: per thread, ``sum(a_old * M_A)``
        and the sum of squares of the imputed values.
    bufs : (n_threads, 8, L) scratch for completed blocks ((n_threads, 8, 0)
        when nothing is missing).

    Groups of ``_GROUP`` blocks are shared out among the threads (numba's
    schedule), each thread adding into its own ``W`` and ``stats`` row.
    """
    n_rows, n_cols = x.shape
    rank = a.shape[1]
    masked = obs.shape[0] > 0
    n_blocks = (n_rows + _ROWS - 1) // _ROWS
    n_tiles = (n_cols + _TILE - 1) // _TILE
    n_groups = (n_blocks + _GROUP - 1) // _GROUP
    for grp in numba.prange(n_groups):
        t = numba.get_thread_id()
        w = w_parts[t]
        buf = bufs[t]
        m = np.zeros((_ROWS, rank))
        model = np.empty(_TILE if masked else 0, dtype=x.dtype)
        tflag = np.ones(n_tiles, dtype=np.uint8)     # 1: read the tile from x
        inner = 0.0
        filled = 0.0
        for blk in range(grp * _GROUP, min(n_blocks, (grp + 1) * _GROUP)):
            i0 = blk * _ROWS
            i1 = min(n_rows, i0 + _ROWS)
            nb = i1 - i0
            xb, bb = x[i0:i1], buf[:nb]
            if masked:
                for tile in range(n_tiles):
                    tflag[tile] = 1
                    for i in range(i0, i1):
                        tflag[tile] &= full[i, tile]
                filled += _complete(x, obs, full, a, krt, i0, bb, model, tflag)
            m[:] = 0
            if nb == _ROWS:
                _left8(xb, bb, tflag, krt, m)
            else:
                for q in range(nb):
                    _left1(xb[q], bb[q], tflag, krt, m[q])
            for q in range(nb):
                for r in range(rank):
                    inner += a[i0 + q, r] * m[q, r]
            if not update:
                continue
            for q in range(nb):
                _hals_row(a, i0 + q, m[q], g, n_inner)
            if nb == _ROWS:
                _right8(xb, bb, tflag, a, i0, w)
            else:
                for q in range(nb):
                    _right1(xb[q], bb[q], tflag, a, i0 + q, w)
        stats[t, 0] += inner
        stats[t, 1] += filled
