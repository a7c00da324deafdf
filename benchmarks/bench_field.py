"""Leapfrog throughput of neurodata.field_theory against a straightforward numpy loop.

Prints lattice-site updates per second (Msites/s) on 512 x 512 and 2048 x 2048 float64
grids for

* the reference: the textbook numpy leapfrog with ``np.roll`` (run here, side by side),
* ``solve_leapfrog`` (temporally blocked numba kernel, all threads and one thread),
* the unblocked serial numba kernel (one thread, 24 bytes of memory traffic per site),

and the fraction of the machine's memory bandwidth, measured here as numpy copy
bandwidth (bytes read + written per second), that an unblocked sweep at that rate would
need (24 bytes per site and step).  Temporal blocking moves ~32/T bytes per site and step,
so it can exceed the "bandwidth limit" of an unblocked sweep.

Run: ``PYTHONPATH=. python benchmarks/bench_field.py`` (``--quick`` for fewer repeats).
"""

from __future__ import annotations

import os
import sys
import time

import numba
import numpy as np

from neurodata.field_theory import _kernels as K
from neurodata.field_theory import solve_leapfrog
from neurodata.field_theory._leapfrog import BLOCKED_MIN_SITES

M, C, DX = 1.0, 1.0, 1.0
DT = 0.5  # CFL limit is 2 / sqrt(1 + 8) = 0.67


def numpy_leapfrog(cur, old, n_steps):
    """The straightforward reference: np.roll Laplacian, then the leapfrog update."""
    for _ in range(n_steps):
        lap = (np.roll(cur, 1, 0) + np.roll(cur, -1, 0) + np.roll(cur, 1, 1)
               + np.roll(cur, -1, 1) - 4 * cur) / DX**2
        new = 2 * cur - old + DT**2 * (C**2 * lap - M**2 * cur)
        old, cur = cur, new
    return cur, old


def best_time(fn, repeats):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def copy_bandwidth(repeats):
    """numpy copy bandwidth in bytes/s (read + write) on 256 MB arrays."""
    src = np.random.default_rng(0).standard_normal(32 * 2**20)
    dst = np.empty_like(src)
    t = best_time(lambda: np.copyto(dst, src), repeats)
    return 2 * src.nbytes / t


def bench_grid(n, repeats, bandwidth):
    rng = np.random.default_rng(1)
    phi0 = rng.standard_normal((n, n))
    sites = n * n
    steps_np = 40 if n == 512 else 8
    steps = 512 if n == 512 else 256
    cur, old = phi0.copy(), phi0.copy()
    t_np = best_time(lambda: numpy_leapfrog(cur, old, steps_np), repeats)
    rates = {"numpy np.roll (reference)": sites * steps_np / t_np}

    def public(threads):
        numba.set_num_threads(threads)
        return lambda: solve_leapfrog(phi0, m=M, c=C, spacing=DX, dt=DT, n_steps=steps,
                                      record_every=steps, progress=False)

    public(numba.config.NUMBA_NUM_THREADS)()  # compile / load the cache
    for threads in sorted({numba.config.NUMBA_NUM_THREADS, 1}, reverse=True):
        t = best_time(public(threads), repeats)
        kind = "blocked T=16" if sites >= BLOCKED_MIN_SITES else "serial"
        rates[f"solve_leapfrog ({kind}), {threads} thread(s)"] = sites * steps / t
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    w = (C * DT / DX) ** 2
    a = 2 - (M * DT) ** 2 - 4 * w
    c1, o1 = phi0.copy(), phi0.copy()
    K.leapfrog_serial(c1, o1, a, 1.0, w, 2, 0, 0)
    t = best_time(lambda: K.leapfrog_serial(c1, o1, a, 1.0, w, steps, 0, 0), repeats)
    rates["kernel: unblocked serial, 1 thread"] = sites * steps / t
    outs = (np.empty_like(c1), np.empty_like(o1))
    for threads in sorted({numba.config.NUMBA_NUM_THREADS, 1}, reverse=True):
        numba.set_num_threads(threads)
        t = best_time(lambda: [K.leapfrog_blocked(c1, o1, *outs, a, 1.0, w, 16, 0, 0, 64)
                               for _ in range(steps // 16)], repeats)
        rates[f"kernel: blocked T=16, {threads} thread(s)"] = sites * (steps // 16) * 16 / t
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)

    # correctness side by side: our solver equals the numpy loop (same start)
    ref, _ = numpy_leapfrog(phi0.copy(), phi0 + 0.5 * DT**2 * (
        (np.roll(phi0, 1, 0) + np.roll(phi0, -1, 0) + np.roll(phi0, 1, 1) + np.roll(phi0, -1, 1)
         - 4 * phi0) * C**2 / DX**2 - M**2 * phi0), 8)
    ours = solve_leapfrog(phi0, m=M, c=C, spacing=DX, dt=DT, n_steps=8, record_every=8,
                          progress=False).phi.values[-1]
    diff = float(np.abs(ours - ref).max() / np.abs(ref).max())

    print(f"\n{n} x {n} float64 ({sites * 8 / 2**20:.0f} MiB per level), "
          f"max rel. difference to numpy after 8 steps: {diff:.1e}")
    print(f"  {'method':44s} {'Msites/s':>9s} {'x numpy':>8s} {'of BW*':>7s}")
    for name, rate in rates.items():
        print(f"  {name:44s} {rate / 1e6:9.1f} {rate / rates['numpy np.roll (reference)']:8.1f} "
              f"{rate * 24 / bandwidth:7.2f}")


def main():
    repeats = 2 if "--quick" in sys.argv else 5
    print(f"neurodata field_theory leapfrog benchmark; numba {numba.__version__}, "
          f"{numba.config.NUMBA_NUM_THREADS} threads, load average {os.getloadavg()}")
    bandwidth = copy_bandwidth(repeats)
    print(f"numpy copy bandwidth (read + write): {bandwidth / 1e9:.1f} GB/s -> an unblocked "
          f"sweep (24 B/site/step) is limited to {bandwidth / 24 / 1e6:.0f} Msites/s")
    for n in (512, 2048):
        bench_grid(n, repeats, bandwidth)
    print("\n* of BW: Msites/s x 24 B / measured copy bandwidth (above 1 is possible only "
          "with temporal blocking)")


if __name__ == "__main__":
    main()
