"""Run the FISBe authors' evaluation (evalinstseg) on .npz volume pairs; print JSON.

Runs in the reference's own environment (it needs toml, natsort, scikit-image);
``bench_fisbe.py`` and ``make_fisbe_reference_values.py`` call it as::

    REFPYTHON fisbe_reference_driver.py REFERENCE_CHECKOUT OUT.json RM CASE.npz ...

RM is a voxel count or 'none'.  Each .npz holds ``gt``, ``pred`` and optionally
``partly``.  Per case it records the FlyLight-preset metrics, the wall time and
the process's peak RSS so far; then the dataset-level pooling of all cases.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time

import numpy as np

THS = ["0_1", "0_2", "0_3", "0_4", "0_5", "0_6", "0_7", "0_8", "0_9"]
FLYLIGHT = ["avg_gt_skel_coverage", "avg_f1_cov_score", "false_merge", "false_split"]


def row(m: dict) -> dict:
    g, cm = m["general"], m["confusion_matrix"]
    return dict(
        S=float(g["avg_f1_cov_score"]), avF1=float(cm["avFscore19"]),
        C=float(g["avg_gt_skel_coverage"]), clDiceTP=float(g["avg_TP_05_cldice"]),
        tp=float(g["TP_05_rel"]), FS=int(g["FS"]), FM=int(g["FM"]), num_gt=int(g["Num GT"]),
        num_pred=int(g["Num Pred"]), TP_05=int(g["TP_05"]),
        gt_skel_coverage=[float(x) for x in g["gt_skel_coverage"]],
        F1_per_th={t: float(cm["th_" + t]["fscore"]) for t in THS},
        TP_FP_FN_per_th={t: [int(cm["th_" + t][k]) for k in ("AP_TP", "AP_FP", "AP_FN")]
                         for t in THS})


def main() -> None:
    ref, out_path, rm = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.insert(0, ref)
    from evalinstseg.evaluate import evaluate_volume
    from evalinstseg.summarize import aggregate_and_report

    rm_size = None if rm == "none" else int(rm)
    out: dict = {"cases": {}}
    dicts, names, flags = [], [], []
    for path in sys.argv[4:]:
        d = np.load(path)
        partly = bool(d["partly"]) if "partly" in d.files else False
        gt, pred = d["gt"].copy(), d["pred"].copy()
        t0, c0 = time.perf_counter(), time.process_time()
        m = evaluate_volume(gt, pred, 3, os.path.join(tempfile.gettempdir(), "fisbe_ref"),
                            localization_criterion="cldice", assignment_strategy="greedy",
                            add_general_metrics=FLYLIGHT, remove_small_components=rm_size,
                            partly=partly, fm_thresh=0.1, fs_thresh=0.05).metricsDict
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        name = os.path.splitext(os.path.basename(path))[0]
        out["cases"][name] = dict(row(m), partly=partly, seconds=seconds, cpu_seconds=cpu,
                                  maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        dicts.append(m)
        names.append(name)
        flags.append(partly)
    _, _, comb = aggregate_and_report(dicts, names, np.array(flags, dtype=bool))
    avs, inst = comb
    gen = inst["general"]
    out["dataset"] = dict(
        S=float(avs), avF1=float(gen["avFscore"]), C=float(gen["avg_gt_skel_coverage"]),
        clDiceTP=float(gen["avg_TP_05_cldice"]), tp=float(gen["TP_05_rel"]), FS=int(gen["FS"]),
        FM=int(gen["FM"]), num_gt=int(gen["Num GT"]), num_pred=int(gen["Num Pred"]),
        TP_05=int(gen["TP_05"]),
        F1_per_th={t: float(inst["confusion_matrix"]["th_" + t]["fscore"]) for t in THS})
    with open(out_path, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
