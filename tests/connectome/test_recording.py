"""The recording entry point: NWB files of several animals in, the planted truth out."""

import numpy as np
import pytest
import xarray as xr
from sklearn.metrics import normalized_mutual_info_score as nmi

import neurodata as nd
from neurodata.connectome import DynamicConnectome, split_recordings
from neurodata.datasets import (
    make_connectome_recordings,
    make_dynamic_communities,
    make_poisson_population,
)
from neurodata.errors import (
    InvalidRecordingError,
    NeurodataError,
    NeurodataWarning,
    NoNeuralDataError,
)
from neurodata.io._h5 import file_sha256

ARGS = dict(n_neurons=30, n_time=1200, n_animals=6, random_state=0)


def _recovery(model, active, group, participation):
    """Per planted group: time correlation, community NMI, animal-loading separation."""
    corr = np.corrcoef(np.vstack([active, model.factors_["time"].values.T]))
    corr = corr[: active.shape[0], active.shape[0]:]
    best = corr.argmax(axis=1)
    out = []
    for g, k in enumerate(best):
        labels = model.communities_.isel(component=k)
        truth = (group.sel(roi=labels.roi.values).values == g).astype(int)
        load = model.factors_["animal"].isel(component=k)
        part = participation.sel(animal=load.animal.values).values[g]
        out.append((corr[g, k], nmi(truth, labels.values),
                    load.values[part].min() / load.values[~part].max()))
    assert len(set(best.tolist())) == active.shape[0]
    return np.array(out)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("worms")
    for name, rec in make_connectome_recordings(**ARGS).items():
        nd.validate(rec)
        nd.save_nwb(rec, path / f"{name}.nwb")
    return path


def test_nwb_folder_recovers_the_planted_truth_as_the_array_path_does(folder):
    before = {p.name: file_sha256(p) for p in folder.glob("*.nwb")}
    recs = nd.open_folder(folder)
    model = DynamicConnectome(rank=4, window=10.0, n_init=3, random_state=0)
    model.fit(recs, variable="traces", identity="roi_name")
    ds = make_dynamic_communities(**ARGS)
    array = DynamicConnectome(rank=4, window=10.0, n_init=3, random_state=0).fit(ds.traces)
    # the ground truth, read back from the files: groups by neuron name, participation
    names = np.concatenate([r.roi_name.values for r in recs.values()])
    groups = np.concatenate([r.roi_group.values for r in recs.values()])
    group = xr.DataArray(groups, dims="roi", coords={"roi": names}).groupby("roi").first()
    part = xr.DataArray(np.stack([r.group_participates.values for r in recs.values()], 1),
                        dims=("group", "animal"), coords={"animal": list(recs)})
    from_files = _recovery(model, ds.active.values, group, part)
    from_array = _recovery(array, ds.active.values, ds.group,
                           ds.participation.assign_coords(animal=ds.animal.values))
    assert from_files[:, 0].min() > 0.9 and from_files[:, 1].min() > 0.9
    assert from_files[:, 2].min() > 3
    np.testing.assert_allclose(from_files, from_array, rtol=0.02)
    # outputs on the recording's neuron dim, neurons by identity, animals by file
    assert model.communities_.dims == ("component", "roi")
    assert sorted(model.neurons_) == sorted(ds.roi.values)
    assert list(model.factors_["animal"].animal.values) == sorted(recs)
    assert model.score(recs, variable="traces") == pytest.approx(
        array.score(ds.traces), abs=1e-3)
    assert {p.name: file_sha256(p) for p in folder.glob("*.nwb")} == before


def test_missing_neurons_are_masked_not_zero(folder):
    recs = nd.open_folder(folder, lazy=False)
    items = dict(split_recordings(recs, variable="traces"))   # roi_name found by default
    x = DynamicConnectome()._tensor(recs, "traces", None, None)
    for animal, tr in items.items():
        absent = set(x.neuron_i.values) | set(x.neuron_j.values)
        absent -= set(tr.roi.values)
        gone = np.isin(x.neuron_i.values, list(absent)) | np.isin(x.neuron_j.values, list(absent))
        values = x.sel(animal=animal).values
        assert np.isnan(values[gone]).all() and not np.isnan(values[~gone]).any()
    assert sum(len(tr.roi) for tr in items.values()) < 30 * 6      # some were not identified


def test_score_is_higher_for_the_right_model_and_takes_new_animals(folder):
    recs = nd.open_folder(folder, lazy=False)
    train = {k: recs[k] for k in sorted(recs)[:4]}
    test = {k: recs[k] for k in sorted(recs)[4:]}
    kw = dict(window=10.0, n_init=2, random_state=0)
    good = DynamicConnectome(rank=4, **kw).fit(train, variable="traces")
    poor = DynamicConnectome(rank=1, **kw).fit(train, variable="traces")
    assert 0 < poor.score(test, variable="traces") < good.score(test, variable="traces") < 1


def test_spikes_need_an_explicit_bin_size(tmp_path):
    path = nd.save_nwb(make_poisson_population(n_units=6, n_trials=6, random_state=0),
                       tmp_path / "spikes.nwb")
    sha = file_sha256(path)
    rec = nd.open_nwb(path)
    with pytest.raises(NoNeuralDataError, match="bin_size="):
        DynamicConnectome(rank=2).fit(rec)
    model = DynamicConnectome(rank=2, n_init=1, max_iter=20, sbm_n_init=1,
                              random_state=0).fit(rec, bin_size=0.25)
    assert model.communities_.dims == ("component", "unit")
    assert list(model.neurons_) == list(rec.unit.values)
    step = np.diff(model.factors_["time"].time.values)
    np.testing.assert_allclose(step, 0.25)
    with pytest.raises(NeurodataError, match="not both"):
        DynamicConnectome(rank=2).fit(rec, variable="x", bin_size=0.25)
    rec.close()
    assert file_sha256(path) == sha


def test_recordings_that_cannot_be_matched_or_fitted_are_refused(folder):
    recs = nd.open_folder(folder, lazy=False)
    two = {k: recs[k].drop_vars("roi_name") for k in sorted(recs)[:2]}
    with pytest.raises(NeurodataError, match="identity="):
        split_recordings(two, variable="traces")
    assert len(split_recordings(two, variable="traces", identity="roi")) == 2   # ids, asked for
    with pytest.raises(NeurodataError, match="no coordinate 'name'"):
        split_recordings(recs, variable="traces", identity="name")
    dup = recs["animal0.nwb"].assign_coords(roi_name=("roi", ["a"] * recs["animal0.nwb"].sizes["roi"]))
    with pytest.raises(NeurodataError, match="more than once"):
        split_recordings([dup, recs["animal1.nwb"]], variable="traces")
    names = recs["animal0.nwb"].roi_name.values.copy()
    names[:2] = ""
    unnamed = recs["animal0.nwb"].assign_coords(roi_name=("roi", names))
    with pytest.warns(NeurodataWarning, match="2 roi"):
        items = split_recordings({"a": unnamed, "b": recs["animal1.nwb"]}, variable="traces")
    assert items[0][1].sizes["roi"] == names.size - 2
    with pytest.raises(NeurodataError, match="variable"):
        DynamicConnectome().fit(recs["animal0.nwb"], variable="dff")
    units = recs["animal1.nwb"].rename(roi="unit", roi_name="unit_name")
    with pytest.raises(InvalidRecordingError, match="mix"):
        DynamicConnectome().fit([recs["animal0.nwb"], units], variable="traces")
    with pytest.raises(NoNeuralDataError, match="has none"):
        DynamicConnectome().fit(recs["animal0.nwb"].drop_vars("traces"))
