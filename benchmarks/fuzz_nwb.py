"""Fuzz the NWB reader: N random HDF5-level mutations of valid files, outcome counts.

Each mutation (delete a dataset or attribute, change a dtype or shape,
truncate, reverse or NaN timestamps, break a reference, break a ragged index,
swap two datasets) is applied to a copy of a sample file; ``open_nwb``,
``summarize`` and ``validate`` then run on it.  Only two outcomes are allowed:
a recording, or a named NeurodataError.  Anything else (a crash), a modified
input or an HDF5 handle left open is counted as a failure and listed.

Run:  python benchmarks/fuzz_nwb.py [--n 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import collections
import random
import tempfile
import time
from pathlib import Path

from neurodata.datasets import sample_path
from neurodata.io._fuzz import MUTATIONS, mutate, read_outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    outcomes: collections.Counter = collections.Counter()
    by_kind: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    failures = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for i in range(args.n):
            source = sample_path(rng.choice(["sample_session", "sample_imaging"]))
            kind, a, b = rng.choice(MUTATIONS), rng.randrange(10**6), rng.randrange(10**6)
            path = mutate(source, Path(folder) / "mutant.nwb", kind, a, b)
            try:
                outcome = read_outcome(path)
            except Exception as err:  # a crash, a modified input or a leaked handle
                outcome = "FAILURE"
                failures.append((source.name, kind, a, b, f"{type(err).__name__}: {err}"))
            outcomes[outcome] += 1
            by_kind[kind][outcome] += 1
            if (i + 1) % 1000 == 0:
                print(f"  {i + 1} mutations, {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"{args.n} mutations in {time.perf_counter() - t0:.0f} s (seed {args.seed})")
    for outcome, count in outcomes.most_common():
        print(f"  {outcome:<24}{count:>7}")
    print("by mutation:")
    for kind in MUTATIONS:
        print(f"  {kind:<18}" + ", ".join(f"{k} {v}" for k, v in by_kind[kind].most_common()))
    for f in failures[:20]:
        print("FAILURE", *f)


if __name__ == "__main__":
    main()
