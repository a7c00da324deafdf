"""Streaming a 1 GB NWB file over HTTP: neurodata against pynwb, same streaming method.

A generated 1 GB NWB file (100 units of 20,000 spikes, trials, a 1 GB
ElectricalSeries; sparse on disk) is served from 127.0.0.1 by a server that
honours Range requests and counts the bytes it sends, with an optional delay
per request to model a distant server.  Both readers open the URL through the
same fsspec HTTP file with the same 64 KiB mmap block cache:

* neurodata: ``open_nwb(url)`` (everything but bulk data), then
  ``open_nwb(url, units=[u]).spike_times.values``;
* pynwb: ``NWBHDF5IO(file=h5py.File(fsspec_file)).read()``, then
  ``nwbfile.units["spike_times"][row]``.

Run:  python benchmarks/bench_remote.py [--latency 0.03] [--repeats 3] [--size-gb 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import fsspec
import h5py
import numpy as np

import neurodata as nd
from neurodata.io._fixtures import write_large_nwb
from neurodata.io._http_server import RangeServer
from neurodata.io._remote import BLOCK_SIZE

UNIT = 41


def _measure(server: RangeServer, fn) -> tuple[float, int, int, object]:
    server.reset_counts()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, server.bytes_sent, server.requests, out


def ours(server: RangeServer, url: str) -> dict:
    t_open, b_open, r_open, ds = _measure(server, lambda: nd.open_nwb(url))
    ds.close()
    t_sel, b_sel, r_sel, one = _measure(server, lambda: nd.open_nwb(url, units=[UNIT]))
    t_read, b_read, r_read, spikes = _measure(server, lambda: one.spike_times.values)
    one.close()
    return {"open": (t_open, b_open, r_open), "open one unit": (t_sel, b_sel, r_sel),
            "read its spikes": (t_read, b_read, r_read), "spikes": spikes}


def pynwb_side(server: RangeServer, url: str) -> dict:
    from pynwb import NWBHDF5IO

    def open_():
        fobj = fsspec.filesystem("http", skip_instance_cache=True).open(
            url, "rb", block_size=BLOCK_SIZE, cache_type="mmap")
        io = NWBHDF5IO(file=h5py.File(fobj, "r"), mode="r", load_namespaces=True)
        return io, io.read()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_open, b_open, r_open, (io, nwbfile) = _measure(server, open_)
        row = int(np.flatnonzero(nwbfile.units.id[:] == UNIT)[0])
        t_read, b_read, r_read, spikes = _measure(
            server, lambda: np.asarray(nwbfile.units["spike_times"][row]))
        io.close()
    return {"open": (t_open, b_open, r_open), "open one unit": (0.0, 0, 0),
            "read its spikes": (t_read, b_read, r_read), "spikes": np.sort(spikes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.03, help="seconds per request")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size-gb", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = write_large_nwb(Path(folder) / "big.nwb", n_bytes=int(args.size_gb * 1e9))
        size = path.stat().st_size
        print(f"file: {size / 1e9:.2f} GB, {path.stat().st_blocks * 512 / 1e6:.0f} MB on disk; "
              f"latency {args.latency * 1e3:.0f} ms per request; best of {args.repeats}")
        with RangeServer(folder, latency_s=args.latency) as server:
            url = server.url("big.nwb")
            runs = {"neurodata": [ours(server, url) for _ in range(args.repeats)],
                    "pynwb": [pynwb_side(server, url) for _ in range(args.repeats)]}
    a, b = runs["neurodata"][0]["spikes"], runs["pynwb"][0]["spikes"]
    assert np.array_equal(a, b), "the two readers disagree on the unit's spikes"
    print(f"{'step':<18}{'neurodata s':>12}{'pynwb s':>10}{'ratio':>8}"
          f"{'ours MB':>10}{'pynwb MB':>10}{'ours req':>10}{'pynwb req':>10}")
    for step in ("open", "open one unit", "read its spikes"):
        t = {k: min(r[step][0] for r in v) for k, v in runs.items()}
        nb = {k: statistics.median(r[step][1] for r in v) for k, v in runs.items()}
        nr = {k: statistics.median(r[step][2] for r in v) for k, v in runs.items()}
        ratio = f"{t['pynwb'] / t['neurodata']:.1f}x" if t["neurodata"] and t["pynwb"] else "-"
        print(f"{step:<18}{t['neurodata']:>12.3f}{t['pynwb']:>10.3f}{ratio:>8}"
              f"{nb['neurodata'] / 1e6:>10.2f}{nb['pynwb'] / 1e6:>10.2f}"
              f"{nr['neurodata']:>10.0f}{nr['pynwb']:>10.0f}")
    opened = statistics.median(r["open"][1] for r in runs["neurodata"])
    print(f"neurodata's open transferred {100 * opened / size:.3f} % of the file; "
          f"one unit's spikes are {a.size * 8 / 1e3:.0f} kB.")


if __name__ == "__main__":
    main()
