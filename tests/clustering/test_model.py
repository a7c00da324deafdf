"""The learned predictive model: exact conv equivalences, training on white noise, MDS on it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from neurodata.clustering import (
    ConvGaussianModel,
    fit_predictive_model,
    mds_clustering,
    prediction_correlation,
)
from neurodata.datasets import simulate_retina_recording
from neurodata.errors import NeurodataDeprecationWarning, NeurodataError, ShapeError
from neurodata.signals import align_movie
from tests.clustering.conftest import retina, small_retina


def test_core_equals_separable_conv3d_and_readout_equals_bilinear_sampling():
    torch.manual_seed(0)
    model = ConvGaussianModel(9, (2, 5, 7, 7), n_features=4, n_hidden=3, spatial_kernel=5)
    with torch.no_grad():
        model.mu.uniform_(-0.9, 0.9)
    model.eval()
    movie = torch.randn(2, 2, 11, 7, 7)
    kernel = torch.einsum("fcyx,tf->fctyx", model.spatial, model.temporal)
    lin = torch.nn.functional.conv3d(movie, kernel, padding=(0, 2, 2))  # (b, f, t, y, x)
    mixed = torch.einsum("bftyx,gf->btgyx", lin, model.mix) + model.mix_bias[:, None, None]
    ref = torch.nn.functional.softplus(mixed)
    assert torch.allclose(model.core(movie).reshape(ref.shape), ref, atol=1e-5)
    feats = ref.flatten(0, 1)  # (b * t, g, y, x)
    grid = model.mu[None, None].expand(len(feats), 1, -1, 2)
    sampled = torch.nn.functional.grid_sample(feats, grid, align_corners=True)[:, :, 0]
    out = torch.nn.functional.softplus(torch.einsum("bgn,ng->bn", sampled, model.weights)
                                       + model.bias)
    assert torch.allclose(model.traces(movie).flatten(0, 1), out, atol=1e-5)
    # a clip's response is the last frame of the traces
    assert torch.allclose(model(movie[:, :, -5:]), model.traces(movie)[:, -1], atol=1e-5)


def test_centered_copy_moves_every_readout_to_the_centre():
    model = ConvGaussianModel(3, (1, 4, 5, 5))
    with torch.no_grad():
        model.mu.fill_(0.5)
    c = model.centered()
    assert torch.equal(c.mu, torch.zeros(3, 2)) and torch.equal(model.mu, torch.full((3, 2), 0.5))


@pytest.fixture(scope="module")
def learned():
    torch.set_num_threads(1)
    truth, cells = small_retina(0)
    rec = simulate_retina_recording(truth, 2000, random_state=1)
    test = simulate_retina_recording(truth, 800, random_state=2)
    model = fit_predictive_model(align_movie(rec, lags=8), n_epochs=6, random_state=0,
                                 progress=False)
    return truth, cells, model, test


def test_learned_model_predicts_held_out_responses(learned):
    """Stated figure: on held-out white noise the learned model reaches a mean correlation of at
    least 0.55 with single-trial Poisson responses (the ground truth itself reaches about 0.67)
    and at least 0.85 with the noise-free rates."""
    truth, _, model, test = learned
    counts = align_movie(test, lags=8)
    noisy = float(prediction_correlation(model, counts).mean())
    clean = float(prediction_correlation(model, align_movie(test, lags=8, variable="true_rate"))
                  .mean())
    oracle = float(prediction_correlation(truth, counts).mean())
    assert noisy >= 0.55 and clean >= 0.85
    assert noisy >= 0.85 * oracle
    h = model.history_
    assert h.val_correlation.dims == ("iteration",)
    assert h.val_correlation.max() > h.val_correlation[0]
    assert model.response_dim == "unit" and model.n_neurons == 96


def test_mds_on_the_learned_model_recovers_the_types(learned):
    _, cells, model, _ = learned
    res = mds_clustering(model.centered(), n_clusters_init=6, random_state=0)
    assert adjusted_rand_score(cells.type, res.labels) >= 0.6


def test_training_input_errors():
    stim = np.zeros((100, 5, 5))
    with pytest.raises(ShapeError, match="aligned"):
        fit_predictive_model(stim, np.zeros((90, 3)))
    with pytest.raises(NeurodataError, match="NaN"):
        fit_predictive_model(stim, np.full((100, 3), np.nan))
    with pytest.raises(NeurodataError, match="clip_frames"):
        fit_predictive_model(stim, np.zeros((100, 3)), clip_frames=200)
    with pytest.raises(NeurodataError, match="too few frames"):
        fit_predictive_model(stim, np.zeros((100, 3)), clip_frames=10, chunk_frames=80)
    with pytest.raises(ShapeError, match="movie must have shape"):
        ConvGaussianModel(2, (1, 4, 5, 5)).traces(torch.zeros(1, 1, 3, 5, 5))


def test_an_aligned_recording_trains_as_its_arrays_do():
    """fit_predictive_model(align_movie(rec)) is the movie-and-counts array path, exactly."""
    truth, _ = retina(6, 2, stimulus_shape=(6, 5, 5), random_state=0)
    rec = simulate_retina_recording(truth, 400, random_state=0)
    aligned = align_movie(rec, lags=6)
    movie = rec.movie.values[..., None]  # (time, y, x, channel), every frame
    counts = np.concatenate([np.zeros((5, 6)), aligned.responses.values])  # first 5: unused
    a = fit_predictive_model(aligned, n_epochs=1, random_state=0, progress=False)
    b = fit_predictive_model(movie, counts, clip_frames=6, n_epochs=1, random_state=0,
                             progress=False)
    assert a.n_neurons == 6
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    corr = prediction_correlation(a, aligned)
    assert corr.dims == ("unit",) and list(corr.unit.values) == list(range(6))
    np.testing.assert_allclose(corr, prediction_correlation(b, movie, counts), rtol=1e-6)
    with pytest.raises(NeurodataError, match="lag window"):
        fit_predictive_model(aligned, clip_frames=4)
    with pytest.warns(NeurodataDeprecationWarning, match="'lr' is now called 'learning_rate'"):
        fit_predictive_model(aligned, n_epochs=1, lr=0.01, random_state=0, progress=False)
