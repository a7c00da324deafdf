"""Choosing the number of clusters: propose splits by sub-clustering, keep the best that pays.

One *split round* (all of it batched, see :mod:`neurodata.clustering._engine`):

1. Sub-cluster every cluster with at least ``2 * min_cluster_size`` neurons
   into two, with fresh random stimuli and a random halving of its neurons,
   by MDS clustering restricted to that cluster's neurons (the authors'
   ``spawn_for_subset`` local k-means, with two sub-clusters).
2. Build one candidate partition per proposal (the parent's stimulus
   replaced by the two sub-cluster stimuli, its neurons relabelled), plus the
   unchanged partition, and run ``split_refine_iter`` EM iterations on all of
   them.  Then optimise all their stimuli once more with one common
   temperature (``tau`` times the largest response spread among them, so
   that the comparison is fair and errs on the side of not splitting) and
   evaluate the mean objective of each.
3. Keep the candidate with the highest mean objective if it has ``K + 1``
   clusters of at least ``min_cluster_size`` neurons, ``K + 1 <=
   max_clusters``, and its mean objective exceeds the unchanged partition's
   (optimised with the same budget) by the relative margin
   ``split_margin * max(|J_old|, log 2)`` (the floor matters for ``K = 1``,
   where ``J`` is identically 0).

The authors try the clusters one after another and accept any split that
lowers the mean loss (their unfinished split-and-merge sketch adds the
relative threshold, 0.1); accepting the single best split per round makes
the result independent of the order in which clusters are tried and lets
every proposal be evaluated in one batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neurodata.clustering._constraint import StimulusConstraint
from neurodata.clustering._engine import Model, Problems, evaluate, m_step, problem_mean, run_em
from neurodata.clustering._objective import ResponseNormalizer, response_spread


@dataclass
class SplitOptions:
    """Parameters of the split search."""

    min_cluster_size: int
    max_clusters: int
    split_margin: float
    split_max_iter: int
    split_refine_iter: int


def compact(problems: Problems) -> Problems:
    """Drop dead stimuli and renumber the labels of a single problem."""
    keep = torch.nonzero(problems.alive).flatten()
    remap = torch.full((len(problems.alive),), -1, dtype=torch.long, device=keep.device)
    remap[keep] = torch.arange(len(keep), device=keep.device)
    labels = torch.where(problems.labels >= 0, remap[problems.labels.clamp_min(0)], problems.labels)
    return Problems(problems.stimuli[keep], problems.group[keep], problems.alive[keep], labels)


def _sub_clusterings(labels: torch.Tensor, eligible: list[int], constraint: StimulusConstraint,
                     generator: torch.Generator, device: torch.device) -> Problems:
    n = labels.shape[0]
    sub = torch.full((len(eligible), n), -1, dtype=torch.long)
    cpu_labels = labels.cpu()
    for p, c in enumerate(eligible):
        members = torch.nonzero(cpu_labels == c).flatten()
        order = members[torch.randperm(len(members), generator=generator)]
        sub[p, order[: len(order) // 2]] = 2 * p
        sub[p, order[len(order) // 2:]] = 2 * p + 1
    stimuli = constraint.random(2 * len(eligible), generator, device=device)
    group = torch.arange(len(eligible)).repeat_interleave(2)
    return Problems(stimuli, group.to(device), torch.ones(len(group), dtype=torch.bool, device=device),
                    sub.to(device))


def _candidates(state: Problems, local: Problems, eligible: list[int]) -> tuple[Problems, list[int]]:
    """World 0 is the unchanged partition, world w >= 1 splits ``parents[w - 1]``."""
    k = len(state.stimuli)
    labels0 = state.labels[0]
    stimuli, groups, labels = [state.stimuli], [torch.zeros(k, dtype=torch.long)], [labels0]
    parents: list[int] = []
    base = k
    for p, c in enumerate(eligible):
        a, b = 2 * p, 2 * p + 1
        if not (bool(local.alive[a]) and bool(local.alive[b])):
            continue
        w = len(parents) + 1
        stim = state.stimuli.clone()
        stim[c] = local.stimuli[a]
        stimuli.append(torch.cat([stim, local.stimuli[b:b + 1]]))
        groups.append(torch.full((k + 1,), w, dtype=torch.long))
        lab = labels0.clone()
        lab[local.labels[p] == b] = k
        labels.append(torch.where(lab >= 0, lab + base, lab))
        parents.append(c)
        base += k + 1
    device = state.stimuli.device
    world = Problems(torch.cat(stimuli), torch.cat(groups).to(device),
                     torch.ones(base, dtype=torch.bool, device=device), torch.stack(labels))
    return world, parents


def _sizes(world: Problems) -> torch.Tensor:
    counts = torch.zeros(len(world.stimuli), dtype=torch.long, device=world.labels.device)
    member = world.labels[world.labels >= 0]
    return counts.index_add_(0, member, torch.ones_like(member))


def _common_tau(model: Model, normalizer: ResponseNormalizer, world: Problems,
                em_kwargs: dict) -> torch.Tensor:
    """One temperature for all candidate partitions: ``tau`` times their largest spread."""
    tau = em_kwargs["tau"]
    if em_kwargs["tau_scale"] == "spread":
        r, _ = evaluate(model, normalizer, world, em_kwargs["n_neurons"])
        spread = response_spread(r, world.labels, world.group, world.alive, world.n_problems)
        tau = tau * float(spread.max().clamp_min(1e-6))
    return torch.full((world.n_problems,), tau, device=world.stimuli.device)


def split_round(model: Model, normalizer: ResponseNormalizer, state: Problems,
                constraint: StimulusConstraint, generator: torch.Generator,
                opts: SplitOptions, em_kwargs: dict) -> tuple[Problems | None, dict]:
    """Try one split of a single-problem ``state``; return the new state (or None) and a log."""
    k = len(state.stimuli)
    sizes = torch.bincount(state.labels[0], minlength=k)
    eligible = [c for c in range(k) if int(sizes[c]) >= 2 * opts.min_cluster_size]
    log: dict = {"n_clusters": k, "accepted": False, "j_old": float("nan"), "j_new": float("nan")}
    if not eligible or k >= opts.max_clusters:
        return None, log
    local = _sub_clusterings(state.labels[0], eligible, constraint, generator, state.stimuli.device)
    run_em(model, normalizer, local, constraint, max_iter=opts.split_max_iter, **em_kwargs)
    world, parents = _candidates(state, local, eligible)
    if not parents:
        return None, log
    run_em(model, normalizer, world, constraint, max_iter=opts.split_refine_iter, **em_kwargs)
    tau_w = _common_tau(model, normalizer, world, em_kwargs)
    j = m_step(model, normalizer, world, constraint, tau_w, em_kwargs["n_neurons"],
               em_kwargs["n_steps"], em_kwargs["lr"])
    j_world = problem_mean(j, world.group, world.alive, world.n_problems)
    n_alive = torch.zeros(world.n_problems, dtype=torch.long, device=j.device)
    n_alive.index_add_(0, world.group, world.alive.long())
    sizes_w = _sizes(world)
    small = torch.zeros(world.n_problems, dtype=torch.long, device=j.device)
    small.index_add_(0, world.group, (world.alive & (sizes_w < opts.min_cluster_size)).long())
    j_old = float(j_world[0])
    ok = (n_alive == k + 1) & (small == 0)
    ok[0] = False
    gain = (j_world - j_old) / max(abs(j_old), float(np.log(2)))
    gain = torch.where(ok, gain, torch.full_like(gain, float("-inf")))
    best = int(torch.argmax(gain))
    log.update(j_old=j_old, j_new=float(j_world[best]) if best else float("nan"))
    if best == 0 or not float(gain[best]) > opts.split_margin:
        return None, log
    log.update(accepted=True, parent=parents[best - 1])
    sel = world.group == best
    idx = torch.nonzero(sel).flatten()
    offset = int(idx[0])
    labels = world.labels[best:best + 1] - offset
    return Problems(world.stimuli[idx], torch.zeros(len(idx), dtype=torch.long, device=idx.device),
                    world.alive[idx], labels), log
