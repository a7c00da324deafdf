"""Benchmark: batched MDS clustering against a straightforward per-cluster implementation.

Both run the same algorithm on the same model from the same initial state:
the same objective, the same monotone normalised-gradient M-step (same step
rule, step budget and projection), the same E-step and the same split search
(sub-cluster every cluster, evaluate every candidate partition, keep the best
if it pays).  The reference does it the straightforward way, as the authors'
code does: one stimulus at a time (a model call per cluster and step, cluster
means by a loop over clusters), one sub-clustering and one candidate
partition after another.  neurodata stacks all of them into one batch.

Run:  PYTHONPATH=. python benchmarks/bench_mds.py  [--quick]
      PYTHONPATH=. python benchmarks/bench_mds.py --accuracy   (the accuracy table of the docs)
Prints wall times and the ratio reference / neurodata, side by side in one
process (robust to machine load), and the ARI of both against the planted types.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
from sklearn.metrics import adjusted_rand_score

from neurodata._utils import torch_generator
from neurodata.clustering import make_constraint, mds_clustering
from neurodata.clustering._engine import Problems, m_step
from neurodata.clustering._mds import _initial_state
from neurodata.clustering._objective import ResponseNormalizer
from neurodata.datasets import RetinaLNModel, make_retina_population

# ----------------------------------------------------------------------------------------------
# The straightforward reference: per-cluster loops, batch of one stimulus.
# ----------------------------------------------------------------------------------------------


def ref_objective(model, norm, x, c, labels, clusters, tau):
    """J_c of one stimulus: cluster means by a loop over the clusters."""
    r = norm(model(x))[0]
    means = torch.stack([r[labels == k].mean() for k in clusters])
    z = means / tau
    return z[clusters.index(c)] - torch.logsumexp(z, 0) + math.log(len(clusters))


def ref_optimise_one(model, norm, x0, c, labels, clusters, tau, con, n_steps, lr, tol=1e-4):
    """The same monotone normalised-gradient ascent as neurodata, for one stimulus."""
    x, best_x, best_j, best_g, step = x0.clone(), x0.clone(), -math.inf, None, lr
    checkpoint = best_j
    for it in range(n_steps + 1):
        x.requires_grad_(True)
        j = ref_objective(model, norm, x, c, labels, clusters, tau)
        (g,) = torch.autograd.grad(j, x)
        j = float(j.detach())
        if it > 0:
            step = step * 1.2 if j > best_j else step * 0.5
        if j > best_j:
            best_j, best_x, best_g = j, x.detach(), g
        if it % 5 == 0:
            if it > 0 and best_j - checkpoint <= tol:
                break
            checkpoint = best_j
        if it == n_steps:
            break
        move = step * con.norm * best_g / best_g.norm().clamp_min(1e-30)
        x = con.project(con.smooth(best_x + move))
    return best_x, best_j


def ref_m_step(model, norm, stimuli, labels, tau, con, n_steps, lr, tol=1e-4):
    clusters = sorted(stimuli)
    out = {}
    for c in clusters:
        out[c] = ref_optimise_one(model, norm, stimuli[c], c, labels, clusters, tau, con, n_steps,
                                  lr, tol)
    return {c: x for c, (x, _) in out.items()}, {c: j for c, (_, j) in out.items()}


def ref_e_step(model, norm, stimuli, labels, member):
    """Each member neuron goes to the stimulus it responds to most (one model call per cluster)."""
    clusters = sorted(stimuli)
    with torch.no_grad():
        resp = torch.cat([model(stimuli[c]) for c in clusters])
    new = labels.clone()
    new[member] = torch.tensor(clusters)[resp[:, member].argmax(0)]
    return new


def ref_spread_tau(model, norm, stimuli, labels, member, tau):
    with torch.no_grad():
        r = norm(torch.cat([model(stimuli[c]) for c in sorted(stimuli)]))[:, member]
    return tau * float(r.std(unbiased=False).clamp_min(1e-6))


def ref_em(model, norm, stimuli, labels, member, con, tau, max_iter, n_steps, lr):
    for _ in range(max_iter):
        t = ref_spread_tau(model, norm, stimuli, labels, member, tau)
        stimuli, _ = ref_m_step(model, norm, stimuli, labels, t, con, n_steps, lr)
        new = ref_e_step(model, norm, stimuli, labels, member)
        moved = int((new != labels).sum())
        labels = new
        stimuli = {c: x for c, x in stimuli.items() if bool((labels[member] == c).any())}
        if moved == 0:
            break
    return stimuli, labels


def ref_mean_j(model, norm, stimuli, labels, tau, con, n_steps, lr):
    _, js = ref_m_step(model, norm, stimuli, labels, tau, con, n_steps, lr)
    return float(np.mean(list(js.values())))


def ref_split_round(model, norm, stimuli, labels, con, gen, o):
    """Try every split, one after the other; keep the best if it pays (same rule as neurodata)."""
    everyone = torch.ones(len(labels), dtype=torch.bool)
    sizes = {c: int((labels == c).sum()) for c in stimuli}
    if len(stimuli) >= o["max_clusters"]:
        return None
    eligible = [c for c in sorted(stimuli) if sizes[c] >= 2 * o["min_cluster_size"]]
    proposals = []
    for c in eligible:  # one sub-clustering after another
        members = torch.nonzero(labels == c).flatten()
        order = members[torch.randperm(len(members), generator=gen)]
        sub = torch.full_like(labels, -1)
        sub[order[: len(order) // 2]], sub[order[len(order) // 2:]] = 0, 1
        init = con.random(2, gen)
        sub_stim = {0: init[0:1], 1: init[1:2]}
        sub_stim, sub = ref_em(model, norm, sub_stim, sub, labels == c, con, o["tau"],
                               o["split_max_iter"], o["n_steps"], o["lr"])
        if len(sub_stim) == 2:
            proposals.append((c, sub_stim, sub))
    if not proposals:
        return None
    worlds = [(dict(stimuli), labels.clone())]
    new_id = max(stimuli) + 1
    for c, sub_stim, sub in proposals:
        st = dict(stimuli)
        st[c], st[new_id] = sub_stim[0], sub_stim[1]
        lab = labels.clone()
        lab[sub == 1] = new_id
        worlds.append((st, lab))
    refined = [ref_em(model, norm, st, lab, everyone, con, o["tau"], o["split_refine_iter"],
                      o["n_steps"], o["lr"]) for st, lab in worlds]
    with torch.no_grad():
        spreads = [ref_spread_tau(model, norm, st, lab, everyone, 1.0) for st, lab in refined]
    tau_c = o["tau"] * max(spreads)
    js = [ref_mean_j(model, norm, st, lab, tau_c, con, o["n_steps"], o["lr"]) for st, lab in refined]
    gains = [(j - js[0]) / max(abs(js[0]), math.log(2)) for j in js]
    best = None
    for w in range(1, len(refined)):
        st, lab = refined[w]
        ok = len(st) == len(stimuli) + 1 and min(int((lab == c).sum()) for c in st) >= \
            o["min_cluster_size"]
        if ok and gains[w] > o["split_margin"] and (best is None or gains[w] > gains[best]):
            best = w
    return None if best is None else refined[best]


def ref_cluster(model, n_neurons, o, seed):
    """The whole run, straightforwardly, from the same initial state as neurodata."""
    con = make_constraint(model.stimulus_shape)
    gen = torch_generator(seed)
    with torch.no_grad():
        norm = ResponseNormalizer.from_responses(model(con.random(256, gen)))
    state = _initial_state(n_neurons, o["n_clusters_init"], con, gen, torch.device("cpu"))
    stimuli = {c: state.stimuli[c:c + 1] for c in range(o["n_clusters_init"])}
    labels = state.labels[0].clone()
    everyone = torch.ones(n_neurons, dtype=torch.bool)
    stimuli, labels = ref_em(model, norm, stimuli, labels, everyone, con, o["tau"], o["max_iter"],
                             o["n_steps"], o["lr"])
    while True:
        new = ref_split_round(model, norm, stimuli, labels, con, gen, o)
        if new is None:
            break
        stimuli, labels = ref_em(model, norm, new[0], new[1], everyone, con, o["tau"],
                                 o["max_iter"], o["n_steps"], o["lr"])
    return labels, len(stimuli)


# ----------------------------------------------------------------------------------------------


def bench_m_step(model, n_neurons, k, n_steps, repeats):
    con = make_constraint(model.stimulus_shape)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        norm = ResponseNormalizer.from_responses(model(con.random(256, gen)))
    labels = torch.randint(0, k, (n_neurons,), generator=gen)
    x0 = con.random(k, gen)
    tau = 5.0

    def ours():
        prob = Problems(x0.clone(), torch.zeros(k, dtype=torch.long), torch.ones(k, dtype=torch.bool),
                        labels[None].clone())
        return m_step(model, norm, prob, con, torch.tensor([tau]), n_neurons, n_steps, 0.2,
                      tol=-1.0)

    def ref():
        stim = {c: x0[c:c + 1] for c in range(k)}
        return ref_m_step(model, norm, stim, labels, tau, con, n_steps, 0.2, tol=-1.0)

    t_ours, t_ref = [], []
    for _ in range(repeats):  # interleaved, so that load changes hit both
        t = time.perf_counter()
        j_ours = ours()
        t_ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        _, j_ref = ref()
        t_ref.append(time.perf_counter() - t)
    j_ref = torch.tensor([j_ref[c] for c in range(k)])
    return min(t_ours), min(t_ref), float((j_ours - j_ref).abs().max())


def _retina(*args, **kwargs):
    """A synthetic retina's ground-truth model and its cells (a short recording)."""
    rec = make_retina_population(*args, n_frames=10, **kwargs)
    return RetinaLNModel.from_recording(rec), rec


def accuracy_table(seeds: range, learned_seeds: range) -> None:
    """ARI over seeds (MDS from K and from 3 with splitting, GMM baselines), typing accuracy, and
    the learned model's held-out correlation and ARI: the table of docs/clustering.rst."""
    from neurodata.clustering import (
        MDSClustering,
        fit_predictive_model,
        gmm_bic_clustering,
        noise_response_features,
        prediction_correlation,
    )
    from neurodata.datasets import simulate_retina_recording
    from neurodata.signals import align_movie

    print("seed | MDS from 6 (ARI, K) | MDS from 3 (ARI, K) | GMM diag | GMM full | typing")
    for seed in seeds:
        model, cells = _retina(240, 6, random_state=seed)
        t = cells.type.values
        res = {k0: mds_clustering(model, n_clusters_init=k0, random_state=seed) for k0 in (6, 3)}
        feats = noise_response_features(model, 500, random_state=seed)
        gmm = [gmm_bic_clustering(feats, range(1, 13), covariance_type=cov, random_state=seed)
               for cov in ("diag", "full")]
        est = MDSClustering()
        r6 = res[6]
        est.result_, est.stimuli_, est.n_clusters_ = r6, r6.stimuli, r6.sizes["cluster"]
        majority = {k: np.bincount(t[r6.labels.values == k]).argmax() for k in range(est.n_clusters_)}
        new_model, new_cells = _retina(240, 6, random_state=100 + seed)
        counts = np.random.default_rng(seed).poisson(2.0 * est.transform(new_model).values)
        typed = np.array([majority[k] for k in est.predict(counts).values])
        cols = [f"{adjusted_rand_score(t, r.labels):.3f}, {r.sizes['cluster']}" for r in res.values()]
        cols += [f"{adjusted_rand_score(t, g.labels):.3f}, {g.attrs['n_clusters']}" for g in gmm]
        cols.append(f"{np.mean(typed == new_cells.type.values):.3f}")
        print(f"{seed} | " + " | ".join(cols), flush=True)
    for seed in learned_seeds:
        model, cells = _retina(240, 6, random_state=seed)
        rec = simulate_retina_recording(model, 6000, random_state=seed + 10)
        test = simulate_retina_recording(model, 1500, random_state=seed + 20)
        twin = fit_predictive_model(align_movie(rec, lags=12), n_epochs=25, random_state=seed,
                                    progress=False)
        counts, rate = align_movie(test, lags=12), align_movie(test, lags=12, variable="true_rate")
        corr = [float(prediction_correlation(m, a).mean())
                for m, a in ((twin, counts), (twin, rate), (model, counts))]
        res = mds_clustering(twin.centered(), n_clusters_init=6, random_state=seed)
        print(f"learned model, seed {seed}: held-out correlation {corr[0]:.3f} with responses "
              f"(ground truth {corr[2]:.3f}), {corr[1]:.3f} with rates; MDS ARI "
              f"{adjusted_rand_score(cells.type, res.labels):.3f}, K={res.sizes['cluster']}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller problem (a smoke test)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--accuracy", action="store_true",
                        help="instead: the ARI / typing / learned-model table over seeds (slow)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.accuracy:
        accuracy_table(range(5), range(3))
        return
    n, k_true, shape = (96, 6, (8, 7, 7)) if args.quick else (240, 6, (12, 9, 9))
    model, cells = _retina(n, k_true, stimulus_shape=shape, random_state=args.seed)
    print(f"population: {n} neurons, {k_true} types, stimuli {shape} (time, y, x); "
          f"torch threads: {args.threads}")

    t_ours, t_ref, diff = bench_m_step(model, n, k_true, 40, 3)
    print(f"one M-step (K={k_true}, 40 steps): neurodata {t_ours * 1e3:.0f} ms, per-cluster "
          f"reference {t_ref * 1e3:.0f} ms, ratio {t_ref / t_ours:.1f}x "
          f"(max |J difference| {diff:.1e})")

    opts = {"n_clusters_init": k_true, "tau": 1.6, "max_iter": 20, "n_steps": 40, "lr": 0.2,
            "split_max_iter": 6, "split_refine_iter": 2, "min_cluster_size": 5,
            "split_margin": 0.04, "max_clusters": n // 5}
    t = time.perf_counter()
    res = mds_clustering(model, n, random_state=args.seed)
    t_full = time.perf_counter() - t
    t = time.perf_counter()
    ref_labels, ref_k = ref_cluster(model, n, opts, args.seed)
    t_full_ref = time.perf_counter() - t
    ari = adjusted_rand_score(cells.type, res.labels)
    ari_ref = adjusted_rand_score(cells.type, ref_labels)
    print(f"full run with splitting: neurodata {t_full:.1f} s (K={res.sizes['cluster']}, "
          f"ARI {ari:.3f}), reference {t_full_ref:.1f} s (K={ref_k}, ARI {ari_ref:.3f}), "
          f"ratio {t_full_ref / t_full:.1f}x; agreement of the two partitions (ARI) "
          f"{adjusted_rand_score(res.labels, ref_labels):.3f}")
    print(f"full run under a minute: {'yes' if t_full < 60 else 'NO'}")


if __name__ == "__main__":
    main()
