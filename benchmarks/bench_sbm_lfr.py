"""Our weighted SBM against networkx Louvain on weighted LFR-style graphs.

The settings follow the paper's benchmark notebook (N = 125, average degree
25, maximum degree 100, degree exponent 2, community-size exponent 1, weight
exponent beta = 2): the topological mixing mu_t in {0.25, 0.5, 0.75} with
weight mixing mu_w = 0.5, and mu_w in {0.25, 0.75} with mu_t = 0.5; 10
seeds each.  Prints an RST table of mean (sd) NMI against the planted
communities.  Run from the repository root:

    PYTHONPATH=$PWD python benchmarks/bench_sbm_lfr.py [--seeds 10]
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np
from sklearn.metrics import normalized_mutual_info_score as nmi

from neurodata.connectome import fit_sbm
from neurodata.datasets import make_weighted_lfr

SETTINGS = [(0.25, 0.5), (0.5, 0.5), (0.75, 0.5), (0.5, 0.25), (0.5, 0.75)]


def louvain(g, seed):
    lab = np.empty(g.number_of_nodes(), dtype=int)
    for k, c in enumerate(nx.community.louvain_communities(g, weight="weight", seed=seed)):
        lab[list(c)] = k
    return lab


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    args = ap.parse_args()
    rows, t_sbm = [], []
    for mu_t, mu_w in SETTINGS:
        res = {"lognormal": [], "exponential": [], "louvain": []}
        for seed in range(args.seeds):
            g, truth = make_weighted_lfr(125, 25, 100, mu_t=mu_t, mu_w=mu_w, beta=2.0,
                                         tau1=2.0, tau2=1.0, random_state=seed)
            for wm in ("lognormal", "exponential"):
                t0 = time.perf_counter()
                lab = fit_sbm(g, weights=wm, n_init=1, random_state=seed)
                t_sbm.append(time.perf_counter() - t0)
                res[wm].append(nmi(truth, lab.values))
            res["louvain"].append(nmi(truth, louvain(g, seed)))
        rows.append((mu_t, mu_w, {k: (np.mean(v), np.std(v)) for k, v in res.items()}))
    line = "=====  =====  ===================  =====================  ==============="
    print(line)
    print("mu_t   mu_w   SBM, lognormal (ours)  SBM, exponential (ours)  Louvain (networkx)")
    print(line)
    for mu_t, mu_w, r in rows:
        cells = [f"{r[k][0]:.2f} ({r[k][1]:.2f})" for k in ("lognormal", "exponential", "louvain")]
        print(f"{mu_t:<5}  {mu_w:<5}  {cells[0]:<19}  {cells[1]:<21}  {cells[2]}")
    means = {k: np.mean([r[k][0] for _, _, r in rows]) for k in ("lognormal", "exponential",
                                                                   "louvain")}
    print(f"mean   -      {means['lognormal']:.2f}                 {means['exponential']:.2f}"
          f"                   {means['louvain']:.2f}")
    print(line)
    print(f"SBM time per graph (both degree variants): median {np.median(t_sbm):.2f} s")


if __name__ == "__main__":
    main()
