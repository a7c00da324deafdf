"""Batch throughput: files per second with 1 and 2 Dask workers, and the overhead per file.

Generates ``--files`` small NWB sessions (Poisson units, a few seconds of data
each, like a folder of short recordings), then runs one pipeline (open lazily
-> smoothed firing rates -> mean rate; the rates written as netCDF) three ways,
side by side:

* a plain serial Python loop doing the same work (open, rates, write netCDF);
* ``neurodata.batch.run`` in this process (``scheduler="serial"``);
* ``neurodata.batch.run`` on a LocalCluster with 1 and with 2 workers (cluster start
  included, as a user experiences it; also reported without the start-up).

It prints files per second and the overhead per file of each against the loop.

    python benchmarks/bench_batch.py [--files 40] [--units 20] [--trials 40]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neurodata.batch import Pipeline, run  # noqa: E402
from neurodata.datasets import make_poisson_population  # noqa: E402
from neurodata.io import open_nwb, save_nwb  # noqa: E402
from neurodata.signals import firing_rates  # noqa: E402

PIPE = Pipeline([{"name": "rates", "function": "neurodata.signals.firing_rates",
                  "params": {"bin_size": 0.01, "smooth": 0.05}}], name="bench")


def make_files(folder: Path, n: int, units: int, trials: int) -> list[Path]:
    files = []
    for i in range(n):
        p = folder / f"s{i:03d}.nwb"
        save_nwb(make_poisson_population(n_units=units, n_trials=trials, random_state=i), p)
        files.append(p)
    return files


def plain_loop(files: list[Path], out: Path) -> float:
    out.mkdir()
    t0 = time.perf_counter()
    for f in files:
        with open_nwb(f) as rec:
            rates = firing_rates(rec, 0.01, smooth=0.05)
            rates.to_dataset().to_netcdf(out / f"{f.stem}.nc", engine="h5netcdf")
            float(rates.mean())
    return time.perf_counter() - t0


def batch(files: list[Path], out: Path, workers: int | None) -> tuple[float, float]:
    """(seconds including the cluster's start, seconds of the run alone)."""
    if workers is None:
        t0 = time.perf_counter()
        run(PIPE, files, out, scheduler="serial", progress=False)
        t = time.perf_counter() - t0
        return t, t
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as lc, Client(lc) as client:
        client.wait_for_workers(workers)
        t1 = time.perf_counter()
        run(PIPE, files, out, scheduler=client, progress=False)
        t2 = time.perf_counter()
    return t2 - t0, t2 - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--units", type=int, default=20)
    ap.add_argument("--trials", type=int, default=40)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nd-bench-batch-"))
    try:
        (tmp / "in").mkdir()
        files = make_files(tmp / "in", args.files, args.units, args.trials)
        size = sum(f.stat().st_size for f in files) / 1e6
        print(f"{len(files)} files, {size:.1f} MB in all\n")
        loop = plain_loop(files, tmp / "loop")
        rows = [("plain serial loop", loop, loop)]
        rows.append(("batch.run, serial", *batch(files, tmp / "serial", None)))
        for w in (1, 2):
            rows.append((f"batch.run, {w} worker{'s' * (w > 1)}", *batch(files, tmp / f"w{w}", w)))
        n = len(files)
        print(f"{'':24s} {'files/s':>9s} {'files/s*':>9s} {'overhead/file':>14s}")
        for name, total, alone in rows:
            over = (alone - loop) / n * 1e3
            print(f"{name:24s} {n / total:9.1f} {n / alone:9.1f} {over:11.1f} ms")
        print("\n* without starting the cluster; overhead: run time minus the loop's, per file")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
