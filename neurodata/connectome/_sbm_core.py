"""Compiled description length and moves of the weighted (degree-corrected) SBM.

State: block label ``b[i]``; block sizes ``n[r]``; edge counts ``e[r, s]``
(``e[r, r]`` is twice the number of edges inside ``r``, as in graph-tool);
block degrees ``er[r] = sum_s e[r, s]``; weight sums ``x[r, s]`` (``x[r, r]``
counts each internal edge once).  Blocks are slots ``0..cap-1``; empty slots
are allowed.  The description length (in nats) is written out in
``docs/connectome.rst`` and in :mod:`neurodata.connectome._sbm`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

LN2 = math.log(2.0)


@numba.njit(cache=True)
def lncomb(n, k):  # pragma: no cover - compiled
    if k < 0 or k > n:
        return 0.0
    return math.lgamma(n + 1.0) - math.lgamma(k + 1.0) - math.lgamma(n - k + 1.0)


@numba.njit(cache=True)
def _weight_term(m, s1, s2, wm, p0, p1):  # pragma: no cover - compiled
    # -log marginal likelihood of the m edge weights of one block pair.
    # wm == 0: exponential weights, Gamma(1, beta) prior on the rate (p0 = beta,
    #          p1 = log beta), s1 = sum of weights.
    # wm == 1: normal log-weights, Normal-Inverse-Gamma prior (mu0 = p0,
    #          kappa0 = 1, alpha0 = 1, beta0 = p1), s1, s2 = sums of y, y^2.
    if m <= 0:
        return 0.0
    if wm == 0:
        return -(p1 + math.lgamma(m + 1.0) - (m + 1.0) * math.log(s1 + p0))
    if wm == 1:
        mean = s1 / m
        ss = max(s2 - s1 * mean, 0.0)
        kn = 1.0 + m
        an = 1.0 + 0.5 * m
        bn = p1 + 0.5 * ss + m * (mean - p0) ** 2 / (2.0 * kn)
        lp = (math.lgamma(an) + math.log(p1) - an * math.log(bn) + 0.5 * math.log(1.0 / kn)
              - 0.5 * m * math.log(2.0 * math.pi))
        return -lp
    return 0.0


@numba.njit(cache=True)
def _off_term(m, xv, x2v, wm, p0, p1):  # pragma: no cover - compiled
    return -math.lgamma(m + 1.0) + _weight_term(m, xv, x2v, wm, p0, p1)


@numba.njit(cache=True)
def _diag_term(e2, xv, x2v, wm, p0, p1):  # pragma: no cover - compiled
    m = e2 // 2
    return -(m * LN2 + math.lgamma(m + 1.0)) + _weight_term(m, xv, x2v, wm, p0, p1)


@numba.njit(cache=True)
def _pair_term(e, x, x2, r, s, wm, p0, p1):  # pragma: no cover - compiled
    if r == s:
        return _diag_term(e[r, r], x[r, r], x2[r, r], wm, p0, p1)
    return _off_term(e[r, s], x[r, s], x2[r, s], wm, p0, p1)


@numba.njit(cache=True)
def _size_term(nr, err, dc):  # pragma: no cover - compiled
    if nr == 0:
        return 0.0
    if dc:
        out = math.lgamma(err + 1.0)
        if err > 0:
            out += lncomb(nr + err - 1, err)
    else:
        out = err * math.log(nr)
    return out - math.lgamma(nr + 1.0)


@numba.njit(cache=True)
def _block_term(n, er, r, dc):  # pragma: no cover - compiled
    return _size_term(n[r], er[r], dc)


@numba.njit(cache=True)
def global_term(nb, n_nodes, n_edges):  # pragma: no cover - compiled
    """Terms that depend only on the number of non-empty blocks."""
    pairs = nb * (nb + 1) // 2
    out = lncomb(pairs + n_edges - 1, n_edges) + math.log(n_nodes)
    return out + lncomb(n_nodes - 1, nb - 1) + math.lgamma(n_nodes + 1.0)


@numba.njit(cache=True)
def _local(e, x, x2, n, er, r, s, dc, wm, p0, p1):  # pragma: no cover - compiled
    cap = n.shape[0]
    tot = _block_term(n, er, r, dc)
    for t in range(cap):
        tot += _pair_term(e, x, x2, r, t, wm, p0, p1)
    if s != r:
        tot += _block_term(n, er, s, dc)
        for t in range(cap):
            if t != r:
                tot += _pair_term(e, x, x2, s, t, wm, p0, p1)
    return tot


@numba.njit(cache=True)
def total_dl(e, x, x2, n, er, degrees, n_edges, dc, wm, p0, p1):  # pragma: no cover
    """Full description length of a state."""
    cap = n.shape[0]
    tot = 0.0
    nb = 0
    for r in range(cap):
        if n[r] > 0:
            nb += 1
        tot += _block_term(n, er, r, dc)
        for t in range(r, cap):
            tot += _pair_term(e, x, x2, r, t, wm, p0, p1)
    if dc:
        for k in degrees:
            tot -= math.lgamma(k + 1.0)
    return tot + global_term(nb, degrees.shape[0], n_edges)


@numba.njit(cache=True)
def _shift(e, x, x2, n, er, kt, wt, wt2, deg, r, sign):  # pragma: no cover - compiled
    # add (sign=+1) or remove (sign=-1) a node with edge counts kt / weights wt to
    # each block, to / from block r
    cap = n.shape[0]
    for t in range(cap):
        if kt[t] == 0:
            continue
        if t == r:
            e[r, r] += sign * 2 * kt[t]
            x[r, r] += sign * wt[t]
            x2[r, r] += sign * wt2[t]
        else:
            e[r, t] += sign * kt[t]
            e[t, r] += sign * kt[t]
            x[r, t] += sign * wt[t]
            x[t, r] += sign * wt[t]
            x2[r, t] += sign * wt2[t]
            x2[t, r] += sign * wt2[t]
    n[r] += sign
    er[r] += sign * deg


@numba.njit(cache=True)
def node_links(i, b, indptr, indices, weights, weights2, kt, wt, wt2):  # pragma: no cover
    kt[:] = 0
    wt[:] = 0.0
    wt2[:] = 0.0
    for p in range(indptr[i], indptr[i + 1]):
        t = b[indices[p]]
        kt[t] += 1
        wt[t] += weights[p]
        wt2[t] += weights2[p]


@numba.njit(cache=True)
def move_delta(i, s, b, e, x, x2, n, er, kt, wt, wt2, deg, nb, n_nodes, n_edges, dc, wm, p0,
               p1):
    # pragma: no cover - compiled
    r = b[i]
    if r == s:
        return 0.0
    before = _local(e, x, x2, n, er, r, s, dc, wm, p0, p1)
    nb_after = nb - (1 if n[r] == 1 else 0) + (1 if n[s] == 0 else 0)
    _shift(e, x, x2, n, er, kt, wt, wt2, deg, r, -1)
    _shift(e, x, x2, n, er, kt, wt, wt2, deg, s, 1)
    after = _local(e, x, x2, n, er, r, s, dc, wm, p0, p1)
    _shift(e, x, x2, n, er, kt, wt, wt2, deg, s, -1)
    _shift(e, x, x2, n, er, kt, wt, wt2, deg, r, 1)
    dg = global_term(nb_after, n_nodes, n_edges) - global_term(nb, n_nodes, n_edges)
    return after - before + dg


@numba.njit(cache=True)
def move_delta_fast(i, s, b, e, x, x2, n, er, kt, wt, wt2, nbrs, n_nbrs, deg, nb, n_nodes,
                    n_edges, dc, wm, p0, p1):  # pragma: no cover - compiled
    """As :func:`move_delta`, touching only the block pairs that change."""
    r = b[i]
    if r == s:
        return 0.0
    d = (_size_term(n[r] - 1, er[r] - deg, dc) - _size_term(n[r], er[r], dc)
         + _size_term(n[s] + 1, er[s] + deg, dc) - _size_term(n[s], er[s], dc))
    for q in range(n_nbrs):
        t = nbrs[q]
        if t == r or t == s:
            continue
        d += (_off_term(e[r, t] - kt[t], x[r, t] - wt[t], x2[r, t] - wt2[t], wm, p0, p1)
              - _off_term(e[r, t], x[r, t], x2[r, t], wm, p0, p1)
              + _off_term(e[s, t] + kt[t], x[s, t] + wt[t], x2[s, t] + wt2[t], wm, p0, p1)
              - _off_term(e[s, t], x[s, t], x2[s, t], wm, p0, p1))
    d += (_off_term(e[r, s] - kt[s] + kt[r], x[r, s] - wt[s] + wt[r],
                    x2[r, s] - wt2[s] + wt2[r], wm, p0, p1)
          - _off_term(e[r, s], x[r, s], x2[r, s], wm, p0, p1))
    d += (_diag_term(e[r, r] - 2 * kt[r], x[r, r] - wt[r], x2[r, r] - wt2[r], wm, p0, p1)
          - _diag_term(e[r, r], x[r, r], x2[r, r], wm, p0, p1)
          + _diag_term(e[s, s] + 2 * kt[s], x[s, s] + wt[s], x2[s, s] + wt2[s], wm, p0, p1)
          - _diag_term(e[s, s], x[s, s], x2[s, s], wm, p0, p1))
    nb_after = nb - (1 if n[r] == 1 else 0) + (1 if n[s] == 0 else 0)
    if nb_after != nb:
        d += global_term(nb_after, n_nodes, n_edges) - global_term(nb, n_nodes, n_edges)
    return d


@numba.njit(cache=True)
def sweep(order, b, e, x, x2, n, er, degrees, indptr, indices, weights, weights2, n_edges, dc,
          wm, p0, p1):  # pragma: no cover - compiled
    """One greedy pass of single-node moves in the given order; returns total change.

    Each node may move to any block it has an edge to (moves elsewhere cannot
    gain much and would cost a scan of every block).
    """
    cap = n.shape[0]
    kt = np.zeros(cap, dtype=np.int64)
    wt = np.zeros(cap, dtype=np.float64)
    wt2 = np.zeros(cap, dtype=np.float64)
    n_nodes = b.shape[0]
    total = 0.0
    nb = 0
    for r in range(cap):
        if n[r] > 0:
            nb += 1
    nbrs = np.zeros(cap, dtype=np.int64)
    for i in order:
        node_links(i, b, indptr, indices, weights, weights2, kt, wt, wt2)
        n_nbrs = 0
        for t in range(cap):
            if kt[t] > 0:
                nbrs[n_nbrs] = t
                n_nbrs += 1
        r = b[i]
        best, best_s = -1e-9, r
        for q in range(n_nbrs):
            s = nbrs[q]
            if s == r:
                continue
            d = move_delta_fast(i, s, b, e, x, x2, n, er, kt, wt, wt2, nbrs, n_nbrs, degrees[i],
                                nb, n_nodes, n_edges, dc, wm, p0, p1)
            if d < best:
                best, best_s = d, s
        if best_s != r:
            if n[r] == 1:
                nb -= 1
            _shift(e, x, x2, n, er, kt, wt, wt2, degrees[i], r, -1)
            _shift(e, x, x2, n, er, kt, wt, wt2, degrees[i], best_s, 1)
            b[i] = best_s
            total += best
    return total


@numba.njit(cache=True)
def _merged_local(e, x, x2, n, er, r, s, dc, wm, p0, p1):  # pragma: no cover - compiled
    # the local terms of blocks r and s after all of r joins s
    cap = n.shape[0]
    tot = _size_term(n[r] + n[s], er[r] + er[s], dc)
    for t in range(cap):
        if t != r and t != s and (e[s, t] + e[r, t]) > 0:
            tot += _off_term(e[s, t] + e[r, t], x[s, t] + x[r, t], x2[s, t] + x2[r, t],
                             wm, p0, p1)
    return tot + _diag_term(e[s, s] + e[r, r] + 2 * e[r, s], x[s, s] + x[r, r] + x[r, s],
                            x2[s, s] + x2[r, r] + x2[r, s], wm, p0, p1)


@numba.njit(cache=True)
def merge_deltas(e, x, x2, n, er, n_nodes, n_edges, dc, wm, p0, p1):  # pragma: no cover
    """Change of description length for merging each pair of non-empty blocks."""
    cap = n.shape[0]
    out = np.full((cap, cap), np.inf)
    nb = 0
    for r in range(cap):
        if n[r] > 0:
            nb += 1
    dg = global_term(nb - 1, n_nodes, n_edges) - global_term(nb, n_nodes, n_edges)
    for r in range(cap):
        if n[r] == 0:
            continue
        for s in range(r + 1, cap):
            if n[s] == 0:
                continue
            before = _local(e, x, x2, n, er, r, s, dc, wm, p0, p1)
            after = _merged_local(e, x, x2, n, er, r, s, dc, wm, p0, p1)
            out[r, s] = after - before + dg
    return out


@numba.njit(cache=True)
def block_stats(b, cap, indptr, indices, weights, weights2, degrees):  # pragma: no cover
    """Block sizes, edge counts, degrees and weight sums of a labelling."""
    e = np.zeros((cap, cap), dtype=np.int64)
    x = np.zeros((cap, cap), dtype=np.float64)
    x2 = np.zeros((cap, cap), dtype=np.float64)
    n = np.zeros(cap, dtype=np.int64)
    er = np.zeros(cap, dtype=np.int64)
    for i in range(b.shape[0]):
        r = b[i]
        n[r] += 1
        er[r] += degrees[i]
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            s = b[j]
            e[r, s] += 1
            if j > i:
                if r == s:
                    x[r, r] += weights[p]
                    x2[r, r] += weights2[p]
                else:
                    x[r, s] += weights[p]
                    x[s, r] += weights[p]
                    x2[r, s] += weights2[p]
                    x2[s, r] += weights2[p]
    return e, x, x2, n, er
