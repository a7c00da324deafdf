"""Model comparison and parameter recovery on simulated Benucci-format data (issue 16).

For each rival model (:func:`neurodata.gain_control.rival_models`), seeded
datasets in the published session-level layout are simulated with
:func:`~neurodata.gain_control.simulate_benucci` (parameters drawn at random,
3 sessions with adapter probabilities 0.3, 0.4 and 0.5, bin noise 5 % of each
row's amplitude), normalised as published (``"minmax"``), and every rival is
fitted (:func:`~neurodata.gain_control.compare_models`, BIC).  The generating
model is also refitted with the sessions' adapter probabilities free (the
recovery study).  One JSON line per dataset goes to ``--out``, so a long run
can be resumed; ``--summary`` prints the confusion matrix and the recovery
accuracy from such a file (the tables in ``docs/gain_control.rst``).

Run (about 5 minutes on one core: 140 comparisons at a median 1.3 s)::

    PYTHONPATH=. python benchmarks/gain_control_confusion.py --out confusion.jsonl
    PYTHONPATH=. python benchmarks/gain_control_confusion.py --out confusion.jsonl --summary
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import neurodata.gain_control as gc  # noqa: E402

P_ADAPTER = (0.3, 0.4, 0.5)


def _models(n_model_units: int):
    return gc.rival_models(n_model_units=n_model_units)


def run_one(models, i: int, seed: int, noise: float, n_init: int) -> dict:
    m = models[i]
    rng = np.random.default_rng(seed)
    data = gc.simulate_benucci(m, n_sessions=len(P_ADAPTER), p_adapter=P_ADAPTER, noise=noise,
                               random_state=rng)
    t0 = time.perf_counter()
    table = gc.compare_models(data, models, n_init=n_init, random_state=rng, progress=False)
    t1 = time.perf_counter()
    fit = gc.fit_adaptation_model(data, model=m, fit_p_adapter=True,
                                  p_adapter=np.full(len(P_ADAPTER), 0.4), n_init=n_init,
                                  certify=False, random_state=rng, progress=False)
    return {"true_model": m.name, "seed": seed, "chosen": table.attrs["best"],
            "delta_bic": dict(zip(map(str, table.model.values),
                                  map(float, table.delta_bic.values))),
            "parameters": list(m.parameters),
            "true_params": data.true_params.values.tolist(),
            "estimate": table.estimate.sel(model=m.name, parameter=list(m.parameters))
            .values.tolist(),
            "recovered": fit.estimate.values.tolist(), "true_p": list(P_ADAPTER),
            "recovered_p": fit.p_adapter.values.tolist(),
            "seconds_compare": t1 - t0, "seconds_recover": time.perf_counter() - t1}


def summary(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    names = list(dict.fromkeys(r["true_model"] for r in rows))
    chosen_names = sorted({c for r in rows for c in r["delta_bic"]}, key=lambda c: (
        names.index(c) if c in names else len(names), c))
    print(f"{len(rows)} datasets; rows: generating model, columns: model chosen by BIC")
    width = max(len(n) for n in chosen_names) + 2
    print(" " * width + "".join(f"{c[:12]:>13s}" for c in chosen_names) + "   correct")
    for n in names:
        mine = [r for r in rows if r["true_model"] == n]
        counts = [sum(r["chosen"] == c for r in mine) for c in chosen_names]
        print(f"{n:<{width}s}" + "".join(f"{c:>13d}" for c in counts) +
              f"   {sum(r['chosen'] == n for r in mine)}/{len(mine)}")
    for key, title in (("estimate", "adapter probabilities known"),
                       ("recovered", "adapter probabilities free")):
        print(f"\nparameter recovery ({title}): median absolute error (90th percentile) "
              f"over datasets")
        for n in names:
            mine = [r for r in rows if r["true_model"] == n]
            err = np.abs(np.array([r[key] for r in mine]) -
                         np.array([r["true_params"] for r in mine]))
            parts = [f"{p} {np.median(e):.3g} ({np.quantile(e, 0.9):.3g})"
                     for p, e in zip(mine[0]["parameters"], err.T)]
            if key == "recovered":
                perr = np.abs(np.array([r["recovered_p"] for r in mine]) -
                              np.array([r["true_p"] for r in mine])).ravel()
                parts.append(f"p_adapter {np.median(perr):.3g} ({np.quantile(perr, 0.9):.3g})")
            print(f"  {n}: " + ", ".join(parts))
    secs = [r["seconds_compare"] for r in rows]
    print(f"\nseconds per comparison (7 fits): median {np.median(secs):.1f}, "
          f"max {np.max(secs):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON-lines results file")
    parser.add_argument("--n-datasets", type=int, default=20)
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--n-init", type=int, default=1)
    parser.add_argument("--n-model-units", type=int, default=36)
    parser.add_argument("--models", type=int, nargs="*", default=None,
                        help="indices of the generating models to run (default all)")
    parser.add_argument("--summary", action="store_true", help="only summarise --out")
    args = parser.parse_args()
    if args.summary:
        summary(args.out)
        return
    models = _models(args.n_model_units)
    done = set()
    if args.out.exists():
        done = {(r["true_model"], r["seed"]) for r in map(json.loads,
                args.out.read_text().splitlines()) if r}
    for i in args.models if args.models is not None else range(len(models)):
        for d in range(args.n_datasets):
            seed = 1000 * i + d
            if (models[i].name, seed) in done:
                continue
            row = run_one(models, i, seed, args.noise, args.n_init)
            with args.out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"{row['true_model']:>28s} seed {seed}: chose {row['chosen']} "
                  f"({row['seconds_compare']:.0f} s)", flush=True)
    summary(args.out)


if __name__ == "__main__":
    main()
