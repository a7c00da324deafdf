"""The nested SBM: a planted two-level hierarchy, and its description length term by term."""

import itertools

import numpy as np
import pytest
from scipy.special import gammaln
from sklearn.metrics import normalized_mutual_info_score as nmi

from neurodata.connectome import (
    fit_nested_sbm,
    fit_sbm,
    nested_description_length,
    sbm_description_length,
)
from neurodata.errors import NeurodataError


def _hierarchy(seed, n_groups=2, n_blocks=3, size=20, p=(0.6, 0.1, 0.005)):
    rng = np.random.default_rng(seed)
    blocks = np.repeat(np.arange(n_groups * n_blocks), size)
    groups = blocks // n_blocks
    prob = np.where(blocks[:, None] == blocks, p[0],
                    np.where(groups[:, None] == groups, p[1], p[2]))
    adj = np.triu(rng.random(prob.shape) < prob, 1)
    w = adj * rng.exponential(1.0, adj.shape)
    return w + w.T, blocks, groups


@pytest.mark.parametrize("seed", [0, 1])
def test_planted_two_level_hierarchy_is_recovered(seed):
    w, blocks, groups = _hierarchy(seed)
    fit = fit_nested_sbm(w, random_state=seed)
    assert nmi(blocks, fit.community.sel(level=0).values) >= 0.9
    assert nmi(groups, fit.community.sel(level=1).values) >= 0.9
    assert fit.n_blocks.values[-1] == 1
    # every level groups whole blocks of the level below
    for lv in range(1, fit.sizes["level"]):
        fine, coarse = fit.community.values[lv - 1], fit.community.values[lv]
        assert all(np.unique(coarse[fine == b]).size == 1 for b in np.unique(fine))
    assert fit.attrs["description_length"] == pytest.approx(
        float(fit.level_description_length.sum()))
    # the flat model on the same graph merges the hierarchy's levels into one choice
    assert fit.attrs["description_length"] <= nested_description_length(
        w, [blocks], deg_corr=fit.attrs["deg_corr"]) + 1e-6


def _lnmulti(n, k):
    return 0.0 if k == 0 else gammaln(n + k) - gammaln(k + 1) - gammaln(n)


def _direct_dl(adj, w, levels):
    """Non-degree-corrected nested DL with exponential weights, written out term by term."""
    n_nodes = adj.shape[0]
    iu = np.triu_indices(n_nodes, 1)
    edges = [(i, j) for i, j in zip(*iu) if adj[i, j]]
    b = levels[0]
    big_b = b.max() + 1
    n = np.bincount(b)
    e = np.zeros((big_b, big_b), dtype=int)
    x = np.zeros((big_b, big_b))
    for i, j in edges:
        e[b[i], b[j]] += 1
        e[b[j], b[i]] += 1
        r, s = sorted((b[i], b[j]))
        x[r, s] += w[i, j]
    beta = np.mean([w[i, j] for i, j in edges])
    dl = 0.0
    for r in range(big_b):                                  # edges given the blocks
        dl += e[r].sum() * np.log(n[r])
        dl -= (e[r, r] // 2) * np.log(2) + gammaln(e[r, r] // 2 + 1)
        for s in range(r + 1, big_b):
            dl -= gammaln(e[r, s] + 1)
    for r in range(big_b):                                  # exponential weights
        for s in range(r, big_b):
            m = e[r, s] // 2 if r == s else e[r, s]
            if m:
                dl += -np.log(beta) - gammaln(m + 1) + (m + 1) * np.log(x[r, s] + beta)

    def partition(sizes, total):
        sizes = sizes[sizes > 0]
        return (np.log(total) + gammaln(total) - gammaln(sizes.size) - gammaln(total - sizes.size + 1)
                + gammaln(total + 1) - gammaln(sizes + 1).sum())

    dl += partition(n, n_nodes)
    for fine, coarse in itertools.pairwise(levels):        # the levels above
        c = np.array([coarse[fine == k][0] for k in range(fine.max() + 1)])
        g = c.max() + 1
        ng = np.bincount(c)
        m = np.zeros((g, g), dtype=int)
        for r in range(e.shape[0]):
            for s in range(e.shape[0]):
                m[c[r], c[s]] += e[r, s]
        for r in range(g):
            dl += _lnmulti(ng[r] * (ng[r] + 1) / 2, m[r, r] // 2)
            for s in range(r + 1, g):
                dl += _lnmulti(ng[r] * ng[s], m[r, s])
        dl += partition(ng, e.shape[0])
        e = m
    return dl


def test_description_length_matches_a_direct_computation():
    w, blocks, groups = _hierarchy(3, size=12, p=(0.5, 0.15, 0.02))
    adj = w > 0
    top = np.zeros_like(blocks)
    for levels in ([blocks, groups, top], [blocks, top], [groups, top],
                   [np.arange(blocks.size) % 5, top]):
        ours = nested_description_length(w, levels, deg_corr=False)
        assert ours == pytest.approx(_direct_dl(adj, w, levels), rel=1e-10)
    # the top level with one group is added when missing
    assert nested_description_length(w, [blocks, groups], deg_corr=False) == pytest.approx(
        _direct_dl(adj, w, [blocks, groups, top]))
    # a hierarchy whose only upper level is one group: the flat DL plus ln B
    flat = sbm_description_length(w, blocks, deg_corr=True, weights="exponential")
    assert nested_description_length(w, [blocks], deg_corr=True) == pytest.approx(
        flat + np.log(6))
    # what the fit reports is the DL of the hierarchy it returns
    fit = fit_nested_sbm(w, deg_corr=False, random_state=0)
    assert fit.attrs["description_length"] == pytest.approx(
        _direct_dl(adj, w, list(fit.community.values)), rel=1e-10)


def test_partitions_that_do_not_nest_are_refused():
    w, blocks, _ = _hierarchy(0, size=8)
    with pytest.raises(NeurodataError, match="do not nest"):
        nested_description_length(w, [blocks, np.arange(blocks.size) % 2])
    with pytest.raises(NeurodataError, match="weights"):
        fit_nested_sbm(w, weights="gaussian")


def test_single_block_graph_and_node_dims():
    rng = np.random.default_rng(0)
    w = np.triu(rng.random((12, 12)) < 0.3, 1).astype(float)
    fit = fit_nested_sbm(w + w.T, weights="none", random_state=0)
    assert fit.community.dims == ("level", "node")
    flat = fit_sbm(w + w.T, weights="none", random_state=0)
    assert fit.n_blocks.values[0] >= 1 and flat.dims == ("node",)
