import networkx as nx
import numpy as np
import pytest
import xarray as xr
from sklearn.metrics import normalized_mutual_info_score as nmi

from neurodata.connectome import _sbm as S
from neurodata.connectome import _sbm_core as core
from neurodata.connectome import fit_sbm, sbm_description_length
from neurodata.datasets import make_weighted_lfr
from neurodata.errors import NeurodataError, ShapeError


def _planted(sizes=(10, 8, 12), p_in=0.7, p_out=0.05, seed=0, w_in=3.0, w_out=1.0):
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    same = truth[:, None] == truth[None, :]
    adj = np.triu(rng.random(same.shape) < np.where(same, p_in, p_out), 1)
    w = adj * rng.exponential(np.where(same, w_in, w_out))
    return w + w.T, truth


@pytest.mark.parametrize("weights", ["lognormal", "exponential"])
def test_planted_partition_recovered(weights):
    w, truth = _planted()
    labels = fit_sbm(w, weights=weights, random_state=0)
    assert nmi(truth, labels.values) == pytest.approx(1.0)
    assert labels.attrs["n_blocks"] == 3
    # the planted partition is (near) the optimum of the description length
    assert labels.attrs["description_length"] <= sbm_description_length(
        w, truth, deg_corr=labels.attrs["deg_corr"], weights=weights) + 1e-6


def test_weights_alone_separate_blocks_of_a_complete_graph():
    rng = np.random.default_rng(1)
    truth = np.repeat([0, 1], 10)
    same = truth[:, None] == truth[None, :]
    w = np.triu(rng.exponential(np.where(same, 10.0, 0.5)), 1)
    labels = fit_sbm(w + w.T, random_state=0)
    assert nmi(truth, labels.values) == pytest.approx(1.0)
    # without weights a complete graph has no structure at all
    assert fit_sbm(w + w.T, weights="none", random_state=0).attrs["n_blocks"] == 1


@pytest.mark.parametrize("weights", ["lognormal", "exponential"])
def test_description_length_differences_do_not_depend_on_weight_units(weights):
    w, truth = _planted(seed=2)
    other = np.random.default_rng(0).integers(0, 3, truth.size)
    d1 = (sbm_description_length(w, truth, weights=weights)
          - sbm_description_length(w, other, weights=weights))
    d2 = (sbm_description_length(1e3 * w, truth, weights=weights)
          - sbm_description_length(1e3 * w, other, weights=weights))
    assert d1 == pytest.approx(d2, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("dc,wm", [(True, 0), (False, 1)])
def test_incremental_deltas_match_full_recomputation(dc, wm):
    w, _ = _planted(seed=3)
    model = S._Model(S._csr(w)[0], "exponential" if wm == 0 else "lognormal")
    a = model.a
    b = np.random.default_rng(0).integers(0, 4, a.shape[0]).astype(np.int64)
    st = model.state(b, a.shape[0])
    base = model.dl(st, dc)
    e, x, x2, n, er = st
    cap = a.shape[0]
    kt, wt, wt2 = np.zeros(cap, np.int64), np.zeros(cap), np.zeros(cap)
    nb = np.unique(b).size
    for i in range(0, a.shape[0], 3):
        core.node_links(i, b, a.indptr, a.indices, model.d1, model.d2, kt, wt, wt2)
        nbrs = np.flatnonzero(kt > 0).astype(np.int64)
        padded = np.pad(nbrs, (0, cap - nbrs.size))
        for s in range(4):
            fast = core.move_delta_fast(i, s, b, e, x, x2, n, er, kt, wt, wt2, padded, nbrs.size,
                                        model.deg[i], nb, cap, model.n_edges, dc, wm,
                                        model.p0, model.p1)
            b2 = b.copy()
            b2[i] = s
            full = model.dl(model.state(b2, cap), dc) - base
            assert fast == pytest.approx(full, abs=1e-7)
    merges = core.merge_deltas(e, x, x2, n, er, cap, model.n_edges, dc, wm, model.p0, model.p1)
    b2 = np.where(b == 1, 3, b)
    assert merges[1, 3] == pytest.approx(model.dl(model.state(b2, cap), dc) - base, abs=1e-7)


def test_accepts_graphs_pair_vectors_and_dataarrays():
    w, truth = _planted(seed=4)
    g = nx.from_numpy_array(w)
    from_graph = fit_sbm(g, random_state=0)
    from_da = fit_sbm(xr.DataArray(w, dims=("neuron", "neuron_j"),
                                   coords={"neuron": [f"c{i}" for i in range(w.shape[0])]}),
                      random_state=0)
    i, j = np.triu_indices(w.shape[0], 1)
    from_pairs = fit_sbm(xr.DataArray(w[i, j], dims=("pair",)), random_state=0)
    for lab in (from_graph, from_da, from_pairs):
        assert nmi(truth, lab.values) == pytest.approx(1.0)
    assert from_da.neuron.values[0] == "c0"


def test_bad_graphs():
    w, _ = _planted()
    with pytest.raises(NeurodataError, match="symmetric"):
        fit_sbm(np.triu(w))
    with pytest.raises(NeurodataError, match="non-negative"):
        fit_sbm(-w)
    bad = w.copy()
    bad[0, 1] = bad[1, 0] = np.nan
    with pytest.raises(NeurodataError, match="NaN"):
        fit_sbm(bad)
    with pytest.raises(ShapeError):
        fit_sbm(np.ones((3, 4)))
    with pytest.raises(NeurodataError, match="weights must be"):
        fit_sbm(w, weights="gaussian")


def test_sbm_at_least_as_good_as_louvain_on_weighted_lfr():
    """A fast version of the docs' comparison (3 settings x 3 seeds instead of 5 x 10)."""
    ours, louvain = [], []
    for mu_t, mu_w in [(0.25, 0.5), (0.5, 0.5), (0.5, 0.75)]:
        for seed in range(3):
            g, truth = make_weighted_lfr(125, 25, 100, mu_t=mu_t, mu_w=mu_w, beta=2.0,
                                         random_state=seed)
            ours.append(nmi(truth, fit_sbm(g, n_init=1, random_state=seed).values))
            comms = nx.community.louvain_communities(g, weight="weight", seed=seed)
            lab = np.empty(truth.size, dtype=int)
            for k, c in enumerate(comms):
                lab[list(c)] = k
            louvain.append(nmi(truth, lab))
    assert np.mean(ours) >= np.mean(louvain)
