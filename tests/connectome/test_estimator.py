import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score as nmi

from neurodata.connectome import DynamicConnectome
from neurodata.datasets import make_dynamic_communities
from neurodata.errors import ShapeError
from tests.conftest import shared_file
from tests.connectome._helpers import read_scholz_nwb


@pytest.fixture(scope="module")
def planted():
    ds = make_dynamic_communities(n_neurons=30, n_time=1200, n_animals=6, random_state=0)
    model = DynamicConnectome(rank=4, window=10.0, n_init=3, random_state=0).fit(ds)
    return ds, model


def _match(ds, model):
    corr = np.corrcoef(np.vstack([ds.active.values, model.factors_["time"].values.T]))
    corr = corr[: ds.sizes["group"], ds.sizes["group"] :]
    return corr, corr.argmax(axis=1)


def test_planted_intervals_groups_and_animals_are_recovered(planted):
    ds, model = planted
    corr, best = _match(ds, model)
    assert len(set(best.tolist())) == ds.sizes["group"]        # one component per group
    assert corr[np.arange(3), best].min() > 0.9                 # the intervals
    for g, k in enumerate(best):
        truth = (ds.group.values == g).astype(int)
        assert nmi(truth, model.communities_.isel(component=k).values) > 0.9   # the groups
        load = model.factors_["animal"].isel(component=k).values
        part = ds.participation.values[g]
        assert load[part].min() > 3 * load[~part].max()          # the animals


def test_fitted_attributes_are_labelled(planted):
    ds, model = planted
    assert model.factors_["pair"].dims == ("pair", "component")
    assert model.factors_["pair"].sizes["pair"] == 30 * 29 // 2
    np.testing.assert_array_equal(model.factors_["time"].time, ds.time)
    assert list(model.factors_["animal"].animal.values) == list(ds.animal.values)
    assert list(model.communities_.roi.values) == list(ds.roi.values)
    assert model.communities_.dims == ("component", "roi")
    assert np.all(np.diff(model.loss_curve_) <= 1e-5)
    g = model.graph(0)
    np.testing.assert_array_equal(g.values, g.values.T)


def test_seeded_fit_is_reproducible():
    ds = make_dynamic_communities(n_neurons=10, n_time=200, n_animals=2, random_state=1)
    a = DynamicConnectome(rank=3, n_init=2, random_state=3).fit(ds)
    b = DynamicConnectome(rank=3, n_init=2, random_state=3).fit(ds)
    np.testing.assert_array_equal(a.factors_["time"].values, b.factors_["time"].values)
    np.testing.assert_array_equal(a.communities_.values, b.communities_.values)


def test_rank_larger_than_every_mode_is_refused():
    ds = make_dynamic_communities(n_neurons=4, n_time=30, n_animals=1,
                                  groups=[], random_state=0)
    with pytest.raises(ShapeError, match="larger than every mode"):
        DynamicConnectome(rank=40).fit(ds)


@pytest.mark.shared_data
def test_real_worm_recording_end_to_end():
    rec = read_scholz_nwb(shared_file(
        "nwb/ScholzEtAl2018.AML175_moving.BrainScanner20180223_141721.nwb"), n_time=900)
    assert rec.traces.shape == (900, 62)
    model = DynamicConnectome(rank=3, window=5.0, n_init=2, random_state=0).fit(rec.traces)
    assert model.factors_["animal"].shape == (1, 3)
    assert model.factors_["pair"].shape == (62 * 61 // 2, 3)
    assert model.communities_.shape == (3, 62)
    assert np.isfinite(model.factors_["time"].values).all()
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    # each component's graph has structure: more than one community
    assert (model.communities_.max("roi") >= 1).any()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_anticorrelated_pairs_join_a_community_only_with_absolute_sign(seed):
    from tests.connectome._helpers import make_antagonists

    traces, halves = make_antagonists(seed=seed)
    joined = {}
    for sign in ("absolute", "same"):
        model = DynamicConnectome.paper(rank=3, sign=sign, min_slope=0.3, window=5.0,
                                        n_init=3, random_state=0).fit(traces)
        corr = np.corrcoef(np.vstack([halves, model.factors_["time"].values.T]))[0, 2:]
        labels = model.communities_.isel(component=int(corr.argmax())).values
        up, down = labels[0:6], labels[6:12]
        assert np.unique(up).size == 1 and np.unique(down).size == 1   # each half is one block
        assert up[0] not in labels[12:]                                  # and not the rest
        joined[sign] = up[0] == down[0]
    assert joined == {"absolute": True, "same": False}
