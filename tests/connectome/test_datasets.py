import networkx as nx
import numpy as np

from neurodata.datasets import make_dynamic_communities, make_weighted_lfr


def test_dynamic_communities_ground_truth_is_consistent():
    ds = make_dynamic_communities(n_neurons=20, n_time=800, n_animals=3, random_state=0)
    assert ds.traces.dtype == np.float32
    assert (ds.group >= 0).sum() == 12 and ds.sizes["group"] == 3
    d = np.gradient(ds.traces.values, axis=1)
    for g in range(3):
        members = np.flatnonzero(ds.group.values == g)
        inside = ds.active.values[g] > 0.99
        for a in range(3):
            c = np.corrcoef(d[a][:, members][inside].T)
            mean_c = c[np.triu_indices(members.size, 1)].mean()
            if ds.participation.values[g, a]:
                assert mean_c > 0.7
            else:
                assert abs(mean_c) < 0.4
    # group members are never missing; some background neurons are
    assert not np.isnan(ds.traces.values[:, :, ds.group.values >= 0]).any()
    assert ds.group_start_time.values[0] < ds.group_stop_time.values[0]


def test_weighted_lfr_mixing_and_strengths():
    g, labels = make_weighted_lfr(125, 25, 100, mu_t=0.3, mu_w=0.4, beta=1.5, random_state=0)
    internal = edges = 0
    w_in = w_all = 0.0
    for i, j, d in g.edges(data=True):
        edges += 1
        w_all += d["weight"]
        if labels[i] == labels[j]:
            internal += 1
            w_in += d["weight"]
    assert abs(internal / edges - 0.7) < 0.08
    assert abs(w_in / w_all - 0.6) < 0.08
    assert 18 < 2 * edges / 125 < 30
    assert nx.number_connected_components(g) == 1
