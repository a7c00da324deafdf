"""Similarity metrics: invariances, reference values, bounds."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.spatial import procrustes

from neurodata.errors import ShapeError
from neurodata.rnn import (
    cca_similarity,
    normalized_error,
    percent_variance_explained,
    procrustes_distance,
)


@pytest.fixture
def latent():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 300)
    return np.stack([np.sin(2 * np.pi * t), np.cos(3 * np.pi * t), t**2], -1), rng


def test_cca_is_one_for_any_invertible_mixing(latent):
    z, rng = latent
    a = z @ rng.standard_normal((3, 40))
    b = z @ rng.standard_normal((3, 25)) + 5.0
    assert cca_similarity(a, b, n_components=3) == pytest.approx(1.0, abs=1e-10)


def test_cca_is_low_for_unrelated_activity(latent):
    z, rng = latent
    a = z @ rng.standard_normal((3, 20))
    b = rng.standard_normal((300, 20))
    assert cca_similarity(a, b, n_components=3) < 0.3


def test_cca_matches_sklearn_on_pc_scores(latent):
    z, rng = latent
    a = np.tanh(z @ rng.standard_normal((3, 10))) + 0.1 * rng.standard_normal((300, 10))
    b = z[:, :2] @ rng.standard_normal((2, 8)) + 0.3 * rng.standard_normal((300, 8))
    from sklearn.cross_decomposition import CCA
    from sklearn.decomposition import PCA

    pa, pb = PCA(3).fit_transform(a), PCA(3).fit_transform(b)
    u, v = CCA(3, max_iter=5000, tol=1e-12).fit_transform(pa, pb)
    ref = np.mean([np.corrcoef(u[:, i], v[:, i])[0, 1] for i in range(3)])
    assert cca_similarity(a, b, n_components=3) == pytest.approx(ref, abs=1e-4)


def test_procrustes_matches_scipy_on_pc_scores(latent):
    z, rng = latent
    a = z @ rng.standard_normal((3, 12))
    b = np.tanh(z @ rng.standard_normal((3, 9))) + 0.2 * rng.standard_normal((300, 9))

    def scores(x):
        x = x - x.mean(0)
        u, s, _ = np.linalg.svd(x, full_matrices=False)
        return u[:, :3] * s[:3]

    _, _, disparity = procrustes(scores(a), scores(b))
    assert procrustes_distance(a, b, n_components=3) == pytest.approx(disparity, abs=1e-10)
    rotated = a @ np.linalg.qr(rng.standard_normal((12, 12)))[0] * 7.0
    assert procrustes_distance(a, rotated, n_components=3) == pytest.approx(0.0, abs=1e-10)


def test_pvar_is_curbds_formula_and_bounded(latent):
    z, rng = latent
    d = z @ rng.standard_normal((3, 6))
    m = d + 0.1 * rng.standard_normal(d.shape)
    expected = 1 - (np.linalg.norm(d - m) / (np.sqrt(d.size) * np.std(d))) ** 2
    assert percent_variance_explained(m, d) == pytest.approx(expected)
    assert percent_variance_explained(d, d) == 1.0


def test_normalized_error_uses_per_channel_means():
    y = np.stack([np.arange(4.0), 100 + np.arange(4.0)], -1)
    # predicting each channel's mean gives exactly 1
    assert normalized_error(np.broadcast_to(y.mean(0), y.shape), y) == pytest.approx(1.0)
    da = xr.DataArray(y[None], dims=("trial", "time", "output"))
    assert normalized_error(da, da.transpose("output", "trial", "time")) == 0.0


def test_metric_shape_errors():
    with pytest.raises(ShapeError):
        cca_similarity(np.zeros((10, 3)), np.ones((11, 3)))
    with pytest.raises(ShapeError):
        normalized_error(np.zeros((10, 2)), np.ones((10, 3)))
    with pytest.raises(ShapeError, match="constant"):
        cca_similarity(np.ones((10, 3)), np.random.default_rng(0).random((10, 3)))
