"""Open the neurosuite NWB file and bin all its spikes at 10 ms: neurodata vs pynapple.

Both run in this process, alternating, several times; the script prints the
median times side by side and their ratio.  Reference figures (this machine
class): pynapple ``load_file`` 0.56-0.62 s, ``count(0.01)`` 0.05 s.  Targets:
open and bin at most pynapple's time; a lazy open under 0.5 s.

    pip install pynapple        # the reference, not a neurodata dependency
    python benchmarks/bench_io.py [path/to/pynapple_neurosuite_A2929-200711.nwb]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import neurodata as nd  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "data" / "nwb" / "pynapple_neurosuite_A2929-200711.nwb"


def _time(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def ours(path: Path, repeat: int) -> dict:
    def open_lazy():
        ds = nd.open_nwb(path)
        ds.close()

    def open_and_load_units():
        with nd.open_nwb(path) as ds:
            ds[["spike_times", "spike_unit"]].load()
        return ds

    t_lazy, _ = _time(open_lazy, repeat)
    t_load, _ = _time(open_and_load_units, repeat)
    ds = nd.open_nwb(path, lazy=False)
    t_bin, counts = _time(lambda: nd.bin_spikes(ds, 0.01), repeat)
    return {"lazy open": t_lazy, "open + load units": t_load, "bin 10 ms": t_bin,
            "total": t_load + t_bin, "shape": counts.shape, "spikes": int(counts.sum())}


def pynapple(path: Path, repeat: int) -> dict | None:
    try:
        import pynapple as nap
    except ImportError:
        return None

    def load():
        data = nap.load_file(str(path))
        return data["units"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_load, units = _time(load, repeat)
        t_bin, counts = _time(lambda: units.count(0.01), repeat)
    return {"open + load units": t_load, "bin 10 ms": t_bin, "total": t_load + t_bin,
            "shape": counts.shape, "spikes": int(counts.values.sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT))
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    path = Path(args.path)
    if not path.exists():
        sys.exit(f"no file at {path}; pass the neurosuite NWB file's path")
    nd.open_nwb(path, lazy=False)  # warm caches and imports for both sides
    ref = pynapple(path, 1) and pynapple(path, args.repeat)
    res = ours(path, args.repeat)
    print(f"file: {path.name}   median of {args.repeat} runs")
    print(f"{'step':<20}{'neurodata':>12}{'pynapple':>12}{'ratio':>9}")
    for key in ("open + load units", "bin 10 ms", "total"):
        r = ref[key] if ref else float("nan")
        print(f"{key:<20}{res[key]:>11.4f}s{r:>11.4f}s{r / res[key]:>8.1f}x")
    print(f"{'lazy open':<20}{res['lazy open']:>11.4f}s   (target < 0.5 s)")
    print(f"counts: neurodata {res['shape']} {res['spikes']} spikes"
          + (f"; pynapple {ref['shape']} {ref['spikes']} spikes" if ref else ""))
    if not ref:
        print("pynapple is not installed: pip install pynapple to run the reference beside ours")


if __name__ == "__main__":
    main()
