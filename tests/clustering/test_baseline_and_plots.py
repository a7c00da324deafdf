"""GMM-by-BIC baseline, confusion matrices and figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from sklearn.metrics import adjusted_rand_score

from neurodata.clustering import (
    gmm_bic_clustering,
    noise_response_features,
    plot_mds,
    plot_response_confusion,
    plot_type_confusion,
    response_confusion_matrix,
    type_confusion_matrix,
)
from neurodata.errors import NeurodataError, ShapeError
from tests.clustering.conftest import retina


def test_gmm_bic_finds_the_number_of_blobs():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 8, (4, 6))
    truth = np.repeat(np.arange(4), 40)
    x = centres[truth] + rng.normal(0, 1, (160, 6))
    res = gmm_bic_clustering(xr.DataArray(x, dims=("unit", "feature")), range(1, 9), n_pcs=6,
                             random_state=0)
    assert res.attrs["n_clusters"] == 4
    assert int(np.argmin(res.bic.values)) == 3
    assert adjusted_rand_score(truth, res.labels) == 1.0


def test_noise_features_are_z_scored_and_separate_types():
    model, cells = retina(40, 2, stimulus_shape=(6, 5, 5), random_state=0)
    f = noise_response_features(model, 200, random_state=0)
    assert f.dims == ("unit", "stimulus") and f.shape == (40, 200)
    assert np.allclose(f.mean("stimulus"), 0, atol=1e-9) and np.allclose(f.std("stimulus"), 1)
    corr = np.corrcoef(f.values)
    same = cells.type.values[:, None] == cells.type.values[None, :]
    assert corr[same].mean() > corr[~same].mean() + 0.3


def test_baseline_input_errors():
    with pytest.raises(ShapeError):
        gmm_bic_clustering(np.zeros(5))
    with pytest.raises(NeurodataError, match="NaN"):
        gmm_bic_clustering(np.full((5, 2), np.nan))
    with pytest.raises(NeurodataError, match="no mixture size"):
        gmm_bic_clustering(np.zeros((3, 2)), [5, 6])


def test_confusion_matrices():
    responses = np.array([[5.0, 1.0, 0.0], [3.0, 0.0, 1.0], [1.0, 4.0, 0.0], [0.0, 1.0, 2.0]])
    labels = np.array([0, 0, 1, 2])
    raw = response_confusion_matrix(responses, labels, normalize=None)
    assert raw.dims == ("mds", "cluster")
    assert np.allclose(raw.values, [[4.0, 1.0, 0.0], [0.5, 4.0, 1.0], [0.5, 0.0, 2.0]])
    diag = response_confusion_matrix(responses, labels)
    assert np.allclose(np.diag(diag.values), 1.0)
    assert np.allclose(diag.values[:, 0], raw.values[:, 0] / 4.0)
    tc = type_confusion_matrix(labels, ["a", "a", "b", "b"])
    assert np.allclose(tc.sum("cluster"), 1.0)
    assert np.allclose(tc.sel(type="b").values, [0.0, 0.5, 0.5])
    counts = type_confusion_matrix(labels, ["a", "a", "b", "b"], normalize=None)
    assert counts.values.sum() == 4
    with pytest.raises(NeurodataError, match="labels must lie"):
        response_confusion_matrix(responses, [0, 0, 1, 3])


def test_plots_show_the_stimuli_and_matrices():
    rng = np.random.default_rng(0)
    stim = xr.DataArray(rng.normal(size=(3, 6, 4, 4, 2)), dims=("cluster", "time", "y", "x", "channel"),
                        coords={"cluster": [0, 1, 2]})
    fig = plot_mds(stim, n_frames=3)
    assert len(fig.axes) == 9
    assert np.allclose(fig.axes[0].images[0].get_array(), stim.values[0, 0, :, :, 0])
    assert np.allclose(fig.axes[2].images[0].get_array(), stim.values[0, 5, :, :, 0])
    fig2 = plot_mds(stim, "traces")
    line = fig2.axes[1].lines[0]
    assert np.allclose(line.get_ydata(), stim.values[0, :, 2, 2, 0])
    assert len(fig2.axes[1].lines) == 3  # two channels and the zero line
    ax = plot_response_confusion(response_confusion_matrix(rng.random((9, 3)), [0, 1, 2] * 3))
    assert ax.images[0].get_array().shape == (3, 3)
    ax2 = plot_type_confusion(type_confusion_matrix([0, 1, 1, 2], ["a", "b", "b", "c"]))
    assert [t.get_text() for t in ax2.get_yticklabels()] == ["a", "b", "c"]
    with pytest.raises(ShapeError, match="dims"):
        plot_mds(stim.isel(channel=0))
    with pytest.raises(NeurodataError, match="kind must be one of 'frames', 'traces'"):
        plot_mds(stim, "movie")
    fig, axes = plt.subplots(2, 2)
    assert plot_response_confusion(response_confusion_matrix(rng.random((9, 3)), [0, 1, 2] * 3),
                                   ax=axes[0, 1]) is axes[0, 1]
    plt.close("all")
