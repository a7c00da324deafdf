"""The MDS objective (Eq. 1 of Burg et al.): values, bounds, redundancy, batching, the tau scale."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodata.clustering import ResponseNormalizer, mds_objective
from neurodata.clustering._objective import (
    BatchObjective,
    cluster_means,
    group_objective,
    response_spread,
)
from neurodata.errors import NeurodataError


def test_reference_values_of_the_authors_unit_test():
    # three clusters, own cluster at 1, others at 0, tau = 1 (controversialstimuli's test)
    j = mds_objective(np.eye(3), 1.0)
    assert np.allclose(j, np.log(np.e / ((np.e + 2) / 3)))
    # log of the own exp over the mean exp, tau = 1.6, two clusters
    m = np.array([[0.75, 0.25], [0.1, 0.4]])
    expect = [np.log(np.exp(0.75 / 1.6) / np.mean(np.exp(m[0] / 1.6))),
              np.log(np.exp(0.4 / 1.6) / np.mean(np.exp(m[1] / 1.6)))]
    assert np.allclose(mds_objective(m, 1.6), expect)


def test_objective_is_bounded_by_log_k_and_reaches_it_in_the_limit():
    rng = np.random.default_rng(0)
    for k in (2, 3, 7):
        for _ in range(200):
            m = rng.normal(scale=rng.uniform(0.1, 20), size=(k, k))
            assert np.all(mds_objective(m, rng.uniform(0.1, 3)) <= np.log(k) + 1e-12)
        assert np.allclose(mds_objective(100 * np.eye(k), 1.0), np.log(k))
        # a stimulus that drives its cluster no more than the others scores 0
        assert np.allclose(mds_objective(np.ones((k, k)), 1.0), 0.0)


@pytest.mark.parametrize("k", [2, 3, 6, 12])
@pytest.mark.parametrize("a", [0.5, 1.0, 2.0, 5.0, 50.0])
def test_a_redundant_cluster_lowers_the_mean_objective(k, a):
    """Each stimulus drives its cluster at a, the others at 0; duplicating a cluster (two clusters
    with identical neurons and stimuli) lowers the mean objective."""
    m = a * np.eye(k)
    dup = np.zeros((k + 1, k + 1))
    dup[:k, :k] = m
    dup[k, :k], dup[:k, k], dup[k, k] = m[0], m[:, 0], m[0, 0]
    assert mds_objective(dup, 1.0).mean() < mds_objective(m, 1.0).mean()


def test_batch_objective_equals_the_composed_objective_and_per_problem_eq1():
    torch.manual_seed(0)
    n, s = 30, 7
    group = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    labels = torch.full((2, n), -1)
    labels[0, :20] = torch.randint(0, 3, (20,))
    labels[1, 10:] = torch.randint(3, 7, (20,))
    labels[0, :3] = torch.tensor([0, 1, 2])
    labels[1, 10:14] = torch.tensor([3, 4, 5, 6])
    alive = torch.ones(s, dtype=torch.bool)
    tau = torch.tensor([0.7, 2.0])
    norm = ResponseNormalizer(torch.randn(n), torch.rand(n) + 0.5)
    raw = torch.randn(s, n) * 3
    composed = group_objective(cluster_means(norm(raw), labels, group), group, alive, tau)
    batched = BatchObjective(norm, labels, group, alive, tau)(raw)
    assert torch.allclose(composed, batched, atol=1e-5)
    means = cluster_means(norm(raw), labels, group)
    for p, idx in ((0, [0, 1, 2]), (1, [3, 4, 5, 6])):
        block = means[idx][:, idx].double().numpy()
        assert np.allclose(batched[idx].numpy(), mds_objective(block, float(tau[p])), atol=1e-5)


def test_dead_clusters_score_zero_and_drop_out_of_the_softmax():
    means = torch.tensor([[3.0, 1.0, 9.0], [0.5, 2.0, 9.0], [9.0, 9.0, 9.0]])
    group = torch.zeros(3, dtype=torch.long)
    alive = torch.tensor([True, True, False])
    j = group_objective(means, group, alive, torch.tensor([1.0]))
    assert j[2] == 0
    assert torch.allclose(j[:2], torch.from_numpy(mds_objective(means[:2, :2].double().numpy(),
                                                                1.0)).float())
    x = torch.zeros(3, 3, requires_grad=True)
    norm = ResponseNormalizer(torch.zeros(3), torch.ones(3))
    obj = BatchObjective(norm, torch.tensor([[0, 1, 1]]), group, alive, torch.tensor([1.0]))
    obj(means + x).sum().backward()
    assert torch.isfinite(x.grad).all() and (x.grad[2] == 0).all()


def test_spread_relative_tau_is_invariant_to_response_units_and_absolute_tau_saturates():
    """The tau issue: with a fixed tau, scaling the responses (raw z-scores of optimised stimuli
    are tens of noise-sds) pushes every J to log K; with tau relative to the response spread the
    objective does not change."""
    rng = np.random.default_rng(1)
    k, n = 5, 60
    labels = torch.from_numpy(rng.integers(0, k, n))[None]
    labels[0, :k] = torch.arange(k)
    group = torch.zeros(k, dtype=torch.long)
    alive = torch.ones(k, dtype=torch.bool)
    resp = torch.from_numpy(rng.normal(size=(k, n))) + 2 * torch.nn.functional.one_hot(
        labels[0], k).T.double()
    rel = []
    for scale in (1.0, 10.0, 30.0, 100.0):
        r = scale * resp
        means = cluster_means(r, labels, group)
        spread = response_spread(r, labels, group, alive, 1)
        rel.append(group_objective(means, group, alive, 1.6 * spread).numpy())
        absolute = group_objective(means, group, alive, torch.tensor([1.6], dtype=r.dtype)).numpy()
        if scale >= 30:
            assert np.all(np.abs(absolute - np.log(k)) < 0.02)  # saturated: every J at log K
    assert np.allclose(rel, rel[0])
    assert np.all(rel[0] < np.log(k) - 0.3)  # not saturated


def test_normalizer_floors_the_scale_and_rejects_flat_models():
    r = torch.stack([torch.arange(5.0), 10 * torch.arange(5.0), 1e-6 * torch.arange(5.0)], 1)
    norm = ResponseNormalizer.from_responses(r, scale_floor=0.1)
    sd = r.std(0)
    assert torch.allclose(norm.scale[:2], sd[:2])
    assert torch.isclose(norm.scale[2], 0.1 * sd.median())
    assert torch.allclose(norm(r).mean(0), torch.zeros(3), atol=1e-5)
    with pytest.raises(NeurodataError, match="do not vary"):
        ResponseNormalizer.from_responses(torch.ones(5, 3))


def test_objective_input_errors():
    with pytest.raises(NeurodataError, match="square"):
        mds_objective(np.zeros((2, 3)), 1.0)
    with pytest.raises(NeurodataError, match="tau"):
        mds_objective(np.eye(2), 0.0)
