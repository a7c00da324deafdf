"""MDS clustering from a recording: NWB in, types out, as the array path does it."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from sklearn.metrics import adjusted_rand_score

import neurodata as nd
from neurodata._utils import spawn_seed
from neurodata.clustering import MDSClustering, fit_predictive_model, mds_clustering
from neurodata.datasets import make_retina_population
from neurodata.errors import NeurodataError, NoNeuralDataError
from neurodata.io._h5 import file_sha256

RETINA = dict(n_neurons=48, n_types=6, n_frames=1200, stimulus_shape=(8, 7, 7), random_state=0)
SETTINGS = dict(n_clusters_init=3, n_epochs=12, random_state=0, progress=False)


@pytest.fixture(scope="module")
def retina_nwb(tmp_path_factory):
    rec = make_retina_population(**RETINA)
    path = nd.save_nwb(rec.drop_vars("true_rate"), tmp_path_factory.mktemp("mds") / "retina.nwb")
    return rec, path


def test_mds_clustering_fits_an_nwb_recording_as_well_as_arrays(retina_nwb):
    """Must show (issue 12): save_nwb -> open_nwb -> MDSClustering.fit(recording) recovers the
    planted types (the units table's 'type' column) as the array path does: the same
    predictive model and the same clusters."""
    rec, path = retina_nwb
    before = file_sha256(path)
    back = nd.open_nwb(path)
    mds = MDSClustering(**SETTINGS).fit(back, stimulus="movie", lags=8)
    assert file_sha256(path) == before
    assert mds.labels_.dims == ("unit",)
    np.testing.assert_array_equal(mds.labels_.unit, rec.unit)
    ari = adjusted_rand_score(back.type.values, mds.labels_.values)
    # the array path: the movie as an array, spikes counted per frame, the same seeds
    step = 1 / 30
    counts = nd.bin_spikes(rec, step, start=float(rec.time_movie[0]),
                           stop=float(rec.time_movie[-1]) + step).values[:1200]
    rng = np.random.default_rng(0)
    mds_seed, model_seed = spawn_seed(rng), spawn_seed(rng)
    model = fit_predictive_model(rec.movie.values, counts, clip_frames=8, n_epochs=12,
                                 random_state=model_seed, progress=False)
    arrays = mds_clustering(model.centered(), n_clusters_init=3, random_state=mds_seed,
                            progress=False)
    assert adjusted_rand_score(rec.type.values, arrays.labels.values) == pytest.approx(ari)
    np.testing.assert_array_equal(arrays.labels.values, mds.labels_.values)
    assert ari >= 0.95 and mds.n_clusters_ == 6
    # the fitted recording is scored through its own predictive model, consistently
    assert mds.score(back) == pytest.approx(float(mds.result_.cluster_objective.mean()),
                                            rel=1e-5)
    assert mds.predictive_model_.history_.sizes["iteration"] >= 1


def test_a_recording_lacking_what_the_fit_needs_is_named(retina_nwb):
    _, path = retina_nwb
    before = file_sha256(path)
    back = nd.open_nwb(path)
    est = MDSClustering(n_clusters_init=2, n_epochs=1, progress=False)
    with pytest.raises(NoNeuralDataError, match="stimulus movie.*none.*ImageSeries"):
        est.fit(back.drop_vars("movie"))
    with pytest.raises(NoNeuralDataError, match="no series 'film'.*movie"):
        est.fit(back, stimulus="film")
    with pytest.raises(NoNeuralDataError, match="no .time, unit|roi. signal|has none"):
        est.fit(back.drop_vars(["spike_times", "spike_unit"]))
    with pytest.raises(NeurodataError, match="stimulus= and variable= select from a recording"):
        est.fit(lambda x: x, stimulus="movie")
    with pytest.raises(NeurodataError, match="got int"):
        est.fit(3)
    assert file_sha256(path) == before


def test_traces_of_rois_cluster_on_roi_labels():
    """Calcium-like ROI traces (the noise-free rates) give labels on 'roi'."""
    rec = make_retina_population(16, 2, n_frames=800, stimulus_shape=(6, 5, 5), random_state=1)
    imaging = rec.drop_vars(["spike_times", "spike_unit"]).rename(unit="roi")
    imaging = imaging.assign_coords(roi=[f"roi{i}" for i in range(16)])
    mds = MDSClustering(n_clusters_init=2, split=False, n_epochs=6, random_state=0,
                        progress=False).fit(imaging, variable="true_rate", lags=6)
    assert mds.labels_.dims == ("roi",) and mds.labels_.roi.values[0] == "roi0"
    assert mds.transform().dims == ("roi", "cluster")
    assert adjusted_rand_score(imaging.type.values, mds.labels_.values) == 1.0
    assert isinstance(mds.to_dataset(), xr.Dataset)
