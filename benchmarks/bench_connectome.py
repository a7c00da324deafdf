"""Benchmark: affinities + NTF on a tensor the size of the paper's, against tensorly.

4,950 pairs (100 neurons) x 1,000 time points x 21 animals, float32 (0.42 GB),
rank 10.  Both factorisations start from the same random factors and run the
same number of HALS iterations; tensorly's ``non_negative_parafac_hals`` runs
with its default settings otherwise.  tensortools' ``ncp_hals`` runs too when
it is importable.

Per-iteration seconds are the median over the iterations of one fit (the time
between the starts of successive iterations: for ours the fused tensor pass
plus the small updates, for tensorly the three MTTKRPs plus its updates),
and each fit runs ``--repeats`` times (median of the medians).  Bytes read per
iteration are counted from the passes each makes: ours reads the tensor once
(and its boolean mask once when entries are missing); tensorly makes one
MTTKRP per mode, at least three reads.  The machine's copy bandwidth (numpy
``copyto`` of the tensor, read + write bytes per second) is measured in the
same run, and the fraction of it (and of the 25 GB/s reference figure) that
our pass reaches is printed.  Memory is the peak of Python-tracked
allocations (numpy included) during each call, measured with tracemalloc.
Run from the repository root:

    PYTHONPATH=$PWD python benchmarks/bench_connectome.py [--iters 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import xarray as xr

from neurodata.connectome import _hals, build_affinity_tensor, ntf
from neurodata.connectome._kernels import _TILE, tile_full

REFERENCE_BANDWIDTH = 25e9  # bytes/s, numpy copy (read + write), shared/BENCHMARKS.md


def _measure(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, peak / 2**30


class _IterationClock:
    """Timestamps of the start of every iteration, recorded by wrapping a per-iteration call."""

    def __init__(self, module, name, first=lambda *a, **k: True):
        self.module, self.name, self.first = module, name, first
        self.stamps: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self):
        self.orig = getattr(self.module, self.name)

        def wrapped(*args, **kwargs):
            if self.first(*args, **kwargs):
                self.stamps.append(time.perf_counter())
                self.cpu.append(time.process_time())
            return self.orig(*args, **kwargs)

        setattr(self.module, self.name, wrapped)
        return self

    def __exit__(self, *exc):
        setattr(self.module, self.name, self.orig)
        self.stamps.append(time.perf_counter())   # the end of the last iteration
        self.cpu.append(time.process_time())

    def per_iteration(self) -> tuple[float, float]:
        """Median wall and CPU (all threads) seconds per iteration."""
        if len(self.stamps) < 2:
            return np.nan, np.nan
        return float(np.median(np.diff(self.stamps))), float(np.median(np.diff(self.cpu)))


def _traces(rng, n_animals=21, n_time=1000, n_neurons=100):
    x = rng.standard_normal((n_animals, n_time, n_neurons)).cumsum(axis=1).astype(np.float32)
    return xr.DataArray(x, dims=("animal", "time", "roi"),
                        coords={"time": np.arange(n_time) / 4.0,
                                "roi": [f"n{i:03d}" for i in range(n_neurons)]})


def _rel_error(x, weights, factors, observed=None):
    """||W*(X - M)|| / ||W*X|| computed slice by slice (no dense copy of M)."""
    a, b, c = factors
    num = den = 0.0
    for k in range(x.shape[2]):
        m = (a * (weights * c[k])) @ b.T
        d = x[:, :, k] - m
        xk = x[:, :, k]
        if observed is not None:
            d, xk = np.where(observed[:, :, k], d, 0), np.where(observed[:, :, k], xk, 0)
        num += float(np.einsum("ij,ij->", d, d, dtype=np.float64))
        den += float(np.einsum("ij,ij->", xk, xk, dtype=np.float64))
    return np.sqrt(num / den)


def _copy_bandwidth(x, repeats=5) -> float:
    y = np.empty_like(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(y, x)
        times.append(time.perf_counter() - t0)
    return 2 * x.nbytes / float(np.median(times))


def _fit_ours(tensor, rank, init, n, mask=None):
    with _IterationClock(_hals, "_sweep") as clock:
        fit, dt, peak = _measure(lambda: ntf(tensor, rank, init=init, mask=mask, max_iter=n,
                                             tol=0, progress=False))
    return fit, dt, peak, clock.per_iteration()


def _fit_tensorly(dense, rank, init, n):
    import tensorly.decomposition._nn_cp as nn_cp
    from tensorly.cp_tensor import CPTensor

    cp0 = CPTensor((np.ones(rank, np.float32), [f.copy() for f in init]))
    with _IterationClock(nn_cp, "unfolding_dot_khatri_rao",
                         first=lambda tensor, cp, mode: mode == 0) as clock:
        cp, dt, peak = _measure(lambda: nn_cp.non_negative_parafac_hals(
            dense, rank, n_iter_max=n, init=cp0, tol=0))
    return cp, dt, peak, clock.per_iteration()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--rank", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=2, help="fits of each (median reported)")
    ap.add_argument("--threads", type=int, default=None,
                    help="numba and BLAS threads for both (default: all cores)")
    ap.add_argument("--missing", type=float, default=0.1,
                    help="fraction of (neuron, animal) traces missing in the masked run")
    args = ap.parse_args()
    import numba
    from threadpoolctl import threadpool_limits

    if args.threads is not None:
        numba.set_num_threads(args.threads)
        threadpool_limits(args.threads)
    rng = np.random.default_rng(0)
    traces = _traces(rng)
    tensor, t_aff, m_aff = _measure(lambda: build_affinity_tensor(traces, window=2.0))
    nbytes = tensor.data.nbytes
    print(f"affinities: tensor {tensor.shape} {tensor.dtype}, {nbytes / 1e9:.3f} GB; "
          f"{t_aff:.1f} s, peak {m_aff:.2f} GB")
    print(f"threads: numba {numba.get_num_threads()}; rank {args.rank}, {args.iters} iterations,"
          f" {args.repeats} fits each")
    init = [rng.random((n, args.rank)).astype(np.float32) for n in tensor.shape]
    n = args.iters
    ntf(tensor, args.rank, init=init, max_iter=1, tol=0, progress=False)   # compile numba
    dense = np.ascontiguousarray(tensor.values)            # (pair, time, animal) C order
    bandwidth = _copy_bandwidth(dense)
    ours = [_fit_ours(tensor, args.rank, init, n) for _ in range(args.repeats)]
    theirs = [_fit_tensorly(dense, args.rank, init, n) for _ in range(args.repeats)]
    bandwidth = float(np.median([bandwidth, _copy_bandwidth(dense)]))
    fit, _, m_ours, _ = ours[0]
    cp, _, m_tl, _ = theirs[0]
    it_ours = float(np.median([o[3][0] for o in ours]))
    it_tl = float(np.median([t[3][0] for t in theirs]))
    cpu_ours = float(np.median([o[3][1] for o in ours]))
    cpu_tl = float(np.median([t[3][1] for t in theirs]))
    tot_ours = float(np.median([o[1] for o in ours])) / n
    tot_tl = float(np.median([t[1] for t in theirs])) / n
    factors = [fit[f"{d}_factor"].values for d in ("pair", "time", "animal")]
    err_ours = _rel_error(dense, fit.weights.values, factors)
    err_tl = _rel_error(dense, cp.weights, cp.factors)
    read_ours = nbytes                                     # one pass per iteration
    flops = 4 * nbytes // 4 * args.rank                    # 2 multiply-adds per entry per rank
    print(f"copy bandwidth (numpy copyto, read + write): {bandwidth / 1e9:.1f} GB/s "
          f"(reference figure {REFERENCE_BANDWIDTH / 1e9:.0f} GB/s)")
    print(f"ours     : {it_ours:.3f} s/iter (median; CPU {cpu_ours:.3f} s; whole call "
          f"{tot_ours:.3f} s/iter), "
          f"peak {m_ours:.2f} GB, rel. error {err_ours:.6f} (free loss "
          f"{fit.attrs['relative_error']:.6f})")
    print(f"           reads {read_ours / 1e9:.3f} GB/iter (1 pass) = "
          f"{read_ours / it_ours / 1e9:.1f} GB/s: {read_ours / it_ours / bandwidth:.0%} of the "
          f"measured copy bandwidth, {read_ours / it_ours / REFERENCE_BANDWIDTH:.0%} of 25 GB/s;"
          f" {flops / it_ours / 1e9:.0f} GFLOP/s")
    print(f"tensorly : {it_tl:.3f} s/iter (median; CPU {cpu_tl:.3f} s; whole call "
          f"{tot_tl:.3f} s/iter), "
          f"peak {m_tl:.2f} GB, rel. error {err_tl:.6f}; reads >= {3 * nbytes / 1e9:.3f} GB/iter"
          f" (one MTTKRP per mode)")
    print(f"ratio tensorly/ours: time {it_tl / it_ours:.2f}x, memory "
          f"{m_tl / max(m_ours, 1e-9):.1f}x; relative error difference "
          f"{(err_ours - err_tl) / err_tl:+.2e}")
    if args.missing > 0:
        _masked(tensor, traces, args, init, n, bandwidth)
    _tensortools(dense, args, init, n, it_ours)


def _masked(tensor, traces, args, init, n, bandwidth):
    """Ours on the same tensor with whole (pair, animal) fibres missing (no reference)."""
    rng = np.random.default_rng(1)
    gone = rng.random((tensor.sizes["animal"], traces.sizes["roi"])) < args.missing
    i, j = (np.asarray(v) for v in np.triu_indices(traces.sizes["roi"], 1))
    pair_gone = (gone[:, i] | gone[:, j]).T                     # (pair, animal)
    mask = np.broadcast_to(~pair_gone[:, None, :], tensor.shape)
    runs = [_fit_ours(tensor, args.rank, init, n, mask=mask) for _ in range(args.repeats)]
    it = float(np.median([r[3][0] for r in runs]))
    cpu = float(np.median([r[3][1] for r in runs]))
    # the mask is read only on tiles of a row that hold a missing entry
    obs0 = np.ascontiguousarray(np.transpose(mask, (0, 2, 1))).reshape(mask.shape[0], -1)
    full = tile_full(obs0)
    widths = np.diff(np.append(np.arange(0, obs0.shape[1], _TILE), obs0.shape[1]))
    mask_read = float(np.sum((full == 0) * widths))
    read = tensor.data.nbytes + mask_read
    print(f"ours, {pair_gone.mean():.0%} of entries missing: {it:.3f} s/iter (CPU {cpu:.3f} s),"
          f" reads {read / 1e9:.3f} GB/iter (tensor + {mask_read / 1e9:.3f} GB of mask, 1 pass)"
          f" = {read / it / bandwidth:.0%} of the measured copy bandwidth; peak "
          f"{runs[0][2]:.2f} GB, masked rel. error {runs[0][0].attrs['relative_error']:.6f}")


def _tensortools(dense, args, init, n, it_ours):
    try:
        import tensortools as tt
    except ImportError:
        print("tensortools: not installed, skipped")
        return
    res, t_tt, m_tt = _measure(lambda: tt.ncp_hals(dense, args.rank, max_iter=n - 1, tol=-1.0,
                                                   init=tt.KTensor([f.copy() for f in init]),
                                                   verbose=False))
    n_tt = max(len(res.obj_hist), 1)
    err_tt = _rel_error(dense, np.ones(args.rank, np.float32), list(res.factors))
    print(f"tensortools: {t_tt / n_tt:.3f} s/iter ({n_tt} iters), peak {m_tt:.2f} GB, "
          f"rel. error {err_tt:.5f}; ratio tensortools/ours {t_tt / n_tt / it_ours:.2f}x")


if __name__ == "__main__":
    main()
