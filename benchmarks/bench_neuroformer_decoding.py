"""Head-direction decoding on a real recording: Neuroformer (pretrained vs from scratch) vs baselines.

Recording: ``../shared/data/nwb/pynapple_neurosuite_A2929-200711.nwb`` (15 units of
mouse anterodorsal thalamus, head direction tracked at 120 Hz during wake,
670.6-1200 s; ``compass_direction_ry`` is the head angle: it carries by far the
most spatial information in the units' tuning).

Protocol
--------
* held-out time: the last 20 % of the tracked span (1094-1200 s); labels for
  training come from the first 80 % (670.7-1094 s);
* pretraining (self-supervised, spikes only) on 0.2-1094 s, sleep included, so
  that nothing of the held-out time is seen;
* fine-tuning a behaviour head that outputs (sin, cos) of head direction at the
  centre of each 0.05 s window, with 1 %, 10 % and 100 % of the labelled windows
  (drawn at random, seeded), from the pretrained weights and from scratch, each
  for the same number of optimiser steps;
* baselines on the same labelled windows: ridge regression and a Poisson GLM
  (encoding model + maximum-likelihood decoding) on the spike counts of the
  same 0.2 s span the model sees (4 bins of 0.05 s per unit).

Scores on the held-out windows: Pearson r and R^2 (mean of sin and cos) and
the median absolute angular error.

Run: ``PYTHONPATH=. python benchmarks/bench_neuroformer_decoding.py [--fast]``
(``NEURODATA_SHARED_DATA`` points to the shared data folder if it is not ``../shared/data``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import xarray as xr

import neurodata as nd
from neurodata.neuroformer import (
    BehaviourDecoder,
    Neuroformer,
    PoissonGLMDecoder,
    RidgeDecoder,
    behaviour_scores,
    window_counts,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEURODATA_SHARED_DATA", ROOT.parent / "shared" / "data"))
NWB = SHARED / "nwb" / "pynapple_neurosuite_A2929-200711.nwb"
TRAIN = (670.7, 1094.0)
TEST = (1094.0, 1199.95)
PRETRAIN = [(0.2, 600.0), (600.0, 1094.0)]
MODEL = dict(n_embd=64, n_head=4, n_state_layers=1, n_history_layers=2, n_self_layers=1,
             dropout=0.1, batch_size=32, learning_rate=1e-3)


def load(path=NWB) -> tuple[xr.Dataset, list[xr.DataArray]]:
    ds = nd.open_nwb(path)
    ds = ds[["spike_times", "spike_unit", "compass_direction_ry"]].load()
    hd = ds["compass_direction_ry"]
    targets = [np.sin(hd).rename("hd_sin"), np.cos(hd).rename("hd_cos")]
    return ds, targets


def _scores(pred, true) -> dict:
    s = behaviour_scores(pred, true, circular=True)
    return {"r": float(s.r.mean()), "r2": float(s.r2.mean()),
            "angle_error_deg": float(s.angle_error_deg)}


def run(*, epochs: int, steps: int, fractions, seeds=(0,), progress: bool = True) -> dict:
    torch.set_num_threads(1)
    ds, targets = load()
    t0 = time.process_time()
    model = Neuroformer(**MODEL, n_epochs=epochs, random_state=0, progress=progress)
    model.fit(ds, intervals=PRETRAIN)
    pretrain_s = time.process_time() - t0
    w_train, _ = model.windows(ds, intervals=[TRAIN])
    w_test, _ = model.windows(ds, intervals=[TEST])
    centre = lambda w: w.start + model.window / 2   # noqa: E731
    true_train = np.stack([t.interp({t.dims[0]: centre(w_train)}).values for t in targets], 1)
    true_test = np.stack([t.interp({t.dims[0]: centre(w_test)}).values for t in targets], 1)
    span = dict(window=model.window, window_prev=model.window_prev)
    X_train = window_counts(ds, w_train.start, **span)             # 4 bins of 0.05 s per unit
    X_test = window_counts(ds, w_test.start, **span)
    n_units = model.units_.size
    total = lambda X: X.reshape(len(X), n_units, -1).sum(2)         # noqa: E731  counts per unit
    angle_train = np.arctan2(true_train[:, 0], true_train[:, 1]) % (2 * np.pi)
    rows = []
    for fraction in fractions:
        for seed in seeds:
            entry = {"fraction": fraction, "seed": seed}
            for name, scratch in (("pretrained", False), ("scratch", True)):
                t0 = time.process_time()
                dec = BehaviourDecoder(model, from_scratch=scratch, fraction=fraction,
                                       steps=steps, learning_rate=1e-3, random_state=seed,
                                       progress=progress)
                dec.fit(ds, targets, intervals=[TRAIN])
                pred = dec.predict(ds, intervals=[TEST]).values
                entry[name] = _scores(pred, true_test) | {"cpu_s": time.process_time() - t0}
            idx = dec.train_index_                 # the same labelled windows for the baselines
            entry["n_labels"] = int(len(idx))
            ridge = RidgeDecoder().fit(X_train[idx], true_train[idx])
            entry["ridge"] = _scores(ridge.predict(X_test), true_test)
            glm = PoissonGLMDecoder(circular=True, alpha=1e-2).fit(total(X_train[idx]),
                                                                   angle_train[idx])
            entry["glm"] = _scores(glm.predict(total(X_test)), true_test)
            rows.append(entry)
            print(json.dumps(entry), flush=True)
    return {"pretrain_cpu_s": pretrain_s, "epochs": epochs, "steps": steps,
            "n_pretrain_windows": int(sum(round((b - a) / 0.05) for a, b in PRETRAIN)),
            "n_train_windows": len(w_train), "n_test_windows": len(w_test), "rows": rows,
            "history": model.history_.to_dataframe().to_dict("list")}


def table(result: dict) -> str:
    """Markdown table: mean (and sd over seeds) of r, R^2 and angular error per method."""
    lines = ["| labels | n | Neuroformer pretrained | Neuroformer from scratch | ridge | GLM |",
             "|---|---|---|---|---|---|"]
    fractions = sorted({row["fraction"] for row in result["rows"]})
    for fraction in fractions:
        rows = [r for r in result["rows"] if r["fraction"] == fraction]
        cells = []
        for method in ("pretrained", "scratch", "ridge", "glm"):
            r = np.array([row[method]["r"] for row in rows])
            r2 = np.array([row[method]["r2"] for row in rows])
            err = np.array([row[method]["angle_error_deg"] for row in rows])
            sd = f" ± {r.std():.2f}" if len(rows) > 1 else ""
            cells.append(f"r = {r.mean():.2f}{sd}, R² = {r2.mean():.2f}, {err.mean():.0f}°")
        lines.append(f"| {fraction:.1%} | {rows[0]['n_labels']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="label draws and head initialisations to average over")
    parser.add_argument("--fast", action="store_true", help="1 epoch, 50 steps (a smoke run)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    if not NWB.exists():
        raise SystemExit(f"{NWB} not found")
    epochs, steps = (1, 50) if args.fast else (args.epochs, args.steps)
    seeds = args.seeds[:1] if args.fast else args.seeds
    result = run(epochs=epochs, steps=steps, fractions=(0.001, 0.01, 0.1, 1.0), seeds=seeds,
                 progress=not args.no_progress)
    print(table(result))
    print(f"pretraining: {result['pretrain_cpu_s']:.0f} s CPU, {epochs} epochs over "
          f"{result['n_pretrain_windows']} windows")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
