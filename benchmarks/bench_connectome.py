"""Benchmark: affinities + NTF on a tensor the size of the paper's, against tensorly.

4,950 pairs (100 neurons) x 1,000 time points x 21 animals, float32 (0.42 GB),
rank 10.  Both factorisations start from the same random factors and run the
same number of HALS iterations; tensorly's ``non_negative_parafac_hals`` runs
with its default settings otherwise.  tensortools' ``ncp_hals`` runs too when
it is importable.  Times are wall-clock per iteration, memory is the peak of
Python-tracked allocations (numpy included) during each call, measured with
tracemalloc.  Run from the repository root:

    PYTHONPATH=$PWD python benchmarks/bench_connectome.py [--iters 10]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import xarray as xr

from neurodata.connectome import build_affinity_tensor, ntf


def _measure(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, peak / 2**30


def _traces(rng, n_animals=21, n_time=1000, n_neurons=100):
    x = rng.standard_normal((n_animals, n_time, n_neurons)).cumsum(axis=1).astype(np.float32)
    missing = rng.random((n_animals, n_neurons)) < 0.0      # complete data: fair vs tensorly
    x[np.broadcast_to(missing[:, None, :], x.shape)] = np.nan
    return xr.DataArray(x, dims=("animal", "time", "roi"),
                        coords={"time": np.arange(n_time) / 4.0,
                                "roi": [f"n{i:03d}" for i in range(n_neurons)]})


def _rel_error(x, weights, factors):
    """||X - M|| / ||X|| computed slice by slice (no dense copy of M)."""
    a, b, c = factors
    num = den = 0.0
    for k in range(x.shape[2]):
        m = (a * (weights * c[k])) @ b.T
        d = x[:, :, k] - m
        num += float(np.einsum("ij,ij->", d, d, dtype=np.float64))
        den += float(np.einsum("ij,ij->", x[:, :, k], x[:, :, k], dtype=np.float64))
    return np.sqrt(num / den)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--rank", type=int, default=10)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    traces = _traces(rng)
    tensor, t_aff, m_aff = _measure(lambda: build_affinity_tensor(traces, window=2.0))
    print(f"affinities: tensor {tensor.shape} {tensor.dtype}, "
          f"{tensor.data.nbytes / 2**30:.2f} GB; {t_aff:.1f} s, peak {m_aff:.2f} GB")
    init = [rng.random((n, args.rank)).astype(np.float32) for n in tensor.shape]
    n = args.iters
    # ours: the DataArray straight from build_affinity_tensor (pair-major memory)
    fit, t_ours, m_ours = _measure(lambda: ntf(tensor, args.rank, init=init, n_iter_max=n, tol=0))
    err_ours = fit.attrs["relative_error"]
    dense = np.ascontiguousarray(tensor.values)            # (pair, time, animal) C order
    from tensorly.cp_tensor import CPTensor
    from tensorly.decomposition import non_negative_parafac_hals

    cp0 = CPTensor((np.ones(args.rank, np.float32), [f.copy() for f in init]))
    cp, t_tl, m_tl = _measure(lambda: non_negative_parafac_hals(dense, args.rank, n_iter_max=n,
                                                                 init=cp0, tol=0))
    err_tl = _rel_error(dense, cp.weights, cp.factors)
    print(f"ours     : {t_ours / n:.3f} s/iter, peak {m_ours:.2f} GB, rel. error {err_ours:.5f}")
    print(f"tensorly : {t_tl / n:.3f} s/iter, peak {m_tl:.2f} GB, rel. error {err_tl:.5f}")
    print(f"ratio tensorly/ours: time {t_tl / t_ours:.2f}x, memory {m_tl / max(m_ours, 1e-9):.1f}x;"
          f" error difference {err_ours - err_tl:+.2e}")
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
          f"rel. error {err_tt:.5f}; ratio tensortools/ours {t_tt / n_tt / (t_ours / n):.2f}x")


if __name__ == "__main__":
    main()
