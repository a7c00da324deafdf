"""MDS clustering recovers planted types; EM properties; the tau issue; typing; bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr
from sklearn.metrics import adjusted_rand_score

from neurodata.clustering import (
    MDSClustering,
    gmm_bic_clustering,
    make_constraint,
    mds_clustering,
    mds_objective,
    noise_response_features,
)
from neurodata.clustering._engine import Problems, m_step
from neurodata.clustering._objective import ResponseNormalizer
from neurodata.errors import NeurodataError, ShapeError
from tests.clustering.conftest import SMALL, retina, small_retina

SEEDS = range(5)


@pytest.fixture(scope="module")
def seeded_fits():
    """Five seeds, started from the true K with splitting on; and the GMM baseline on each."""
    torch.set_num_threads(1)
    out = []
    for seed in SEEDS:
        model, cells = small_retina(seed)
        res = mds_clustering(model, n_clusters_init=6, random_state=seed)
        feats = noise_response_features(model, 300, random_state=seed)
        gmm = [gmm_bic_clustering(feats, range(1, 13), n_init=1, covariance_type=cov,
                                  random_state=seed) for cov in ("diag", "full")]
        out.append((model, cells, res, gmm))
    return out


def test_ground_truth_recovered_over_seeds_and_not_worse_than_gmm(seeded_fits):
    aris, gmm_aris = [], []
    for _, cells, res, gmm in seeded_fits:
        ari = adjusted_rand_score(cells.type, res.labels)
        assert ari >= 0.8
        assert 6 <= res.sizes["cluster"] <= 12
        aris.append(ari)
        gmm_aris.append([adjusted_rand_score(cells.type, g.labels) for g in gmm])
    assert np.median(aris) >= 0.9
    # against the Baden-style diagonal mixture and the stronger full-covariance one
    assert np.median(aris) >= np.median(gmm_aris, axis=0).max() - 0.1


@pytest.mark.parametrize("seed", [0, 1])
def test_splitting_from_a_different_k_finds_the_types(seed):
    model, cells = small_retina(seed)
    res = mds_clustering(model, n_clusters_init=3, random_state=seed)
    assert adjusted_rand_score(cells.type, res.labels) >= 0.8
    assert 6 <= res.sizes["cluster"] <= 12
    assert res.attrs["n_splits"] >= 3
    assert res.split_accepted.values[:3].all()
    assert (res.split_objective_after > res.split_objective_before).values[:3].all()


def test_result_is_consistent(seeded_fits):
    model, _, res, _ = seeded_fits[0]
    con = make_constraint(model.stimulus_shape)
    stim = torch.from_numpy(res.stimuli.transpose("cluster", "channel", "time", "y", "x").values)
    norms = torch.linalg.vector_norm(stim.reshape(len(stim), -1), dim=1)
    assert torch.allclose(norms, torch.full_like(norms, con.norm), rtol=2e-4)
    assert stim.abs().max() <= 1 + 1e-6
    # labels are the E-step of the final stimuli: each neuron responds most to its own MDS
    with torch.no_grad():
        resp = model(stim).numpy()
    assert (resp.argmax(0) == res.labels.values).all()
    assert (np.bincount(res.labels.values) == res.cluster_size.values).all()
    # the reported objective is Eq. 1 of the reported response matrix
    j = mds_objective(res.response_matrix.values.astype(float), res.attrs["tau_effective"])
    assert np.allclose(j, res.cluster_objective.values, atol=1e-4)
    assert np.all(res.cluster_objective.values <= np.log(res.sizes["cluster"]) + 1e-6)
    # each MDS drives its own cluster most (a diagonal response matrix)
    rm = res.response_matrix.values
    assert (rm.argmax(axis=1) == np.arange(len(rm))).all()


def test_m_step_never_lowers_the_objective():
    model, _ = small_retina(0)
    con = make_constraint(model.stimulus_shape)
    gen = torch.Generator().manual_seed(0)
    norm = ResponseNormalizer.from_responses(model(con.random(128, gen)).detach())
    labels = torch.randint(0, 6, (1, 96), generator=gen)
    problems = Problems(con.random(6, gen), torch.zeros(6, dtype=torch.long),
                        torch.ones(6, dtype=torch.bool), labels)
    tau = torch.tensor([3.0])
    previous = None
    for n_steps in (0, 3, 10, 30):
        j = m_step(model, norm, problems, con, tau, 96, n_steps, 0.2)
        if previous is not None:
            assert (j >= previous - 1e-6).all()
        previous = j
    assert (previous > 0).all()


def test_seeded_runs_are_reproducible():
    model, _ = retina(30, 3, stimulus_shape=(6, 5, 5), random_state=0)
    kw = {"n_clusters_init": 3, "split": False, "max_iter": 3, "n_steps": 10}
    a = mds_clustering(model, random_state=7, **kw)
    b = mds_clustering(model, random_state=7, **kw)
    assert (a.labels == b.labels).all()
    assert np.array_equal(a.stimuli.values, b.stimuli.values)


def test_absolute_tau_on_z_scores_saturates_and_oversplits():
    """The tau issue, on the clustering: with tau = 1.6 in noise z-score units the optimised
    responses (tens of noise-sds) saturate the softmax, every J_c sits at log K and splitting is
    driven by within-type variation; tau relative to the response spread keeps the types."""
    model, cells = small_retina(0)
    rel = mds_clustering(model, n_clusters_init=6, max_clusters=9, random_state=0)
    ab = mds_clustering(model, n_clusters_init=6, tau_scale="absolute", max_clusters=9,
                        random_state=0)
    k_ab = ab.sizes["cluster"]
    assert np.all(np.abs(ab.cluster_objective.values - np.log(k_ab)) < 0.02)
    assert np.all(rel.cluster_objective.values < np.log(rel.sizes["cluster"]) - 0.3)
    assert k_ab > rel.sizes["cluster"]
    assert adjusted_rand_score(cells.type, ab.labels) < adjusted_rand_score(cells.type, rel.labels)


def test_typing_new_cells_on_the_fly(seeded_fits):
    """Held-out cells of known types, shown the final MDS once (Poisson counts), are typed by
    their strongest response."""
    _, cells, res, _ = seeded_fits[0]
    est = MDSClustering()
    est.result_, est.stimuli_, est.n_clusters_ = res, res.stimuli, res.sizes["cluster"]
    majority = {k: np.bincount(cells.type.values[res.labels.values == k]).argmax()
                for k in range(res.sizes["cluster"])}
    new_model, new_cells = retina(**SMALL, random_state=100)
    rate = est.transform(new_model)
    counts = np.random.default_rng(0).poisson(2.0 * rate.values)
    typed = est.predict(xr.DataArray(counts, dims=("unit", "cluster")))
    predicted_type = np.array([majority[k] for k in typed.values])
    accuracy = np.mean(predicted_type == new_cells.type.values)
    assert accuracy >= 0.8


def test_estimator_wraps_the_function():
    model, _ = retina(40, 2, stimulus_shape=(6, 5, 5), random_state=0)
    est = MDSClustering(n_clusters_init=2, split=False, progress=False, random_state=0)
    assert est.fit(model) is est
    direct = mds_clustering(model, n_clusters_init=2, split=False, random_state=0)
    assert (est.labels_ == direct.labels).all()
    assert est.stimuli_.dims == ("cluster", "time", "y", "x", "channel")
    assert est.objective_curve_.dims == ("iteration",)
    assert est.n_clusters_ == 2
    assert (est.predict(est.transform(model)) == est.labels_).all()
    with pytest.raises(ShapeError, match="one column per MDS"):
        est.predict(np.zeros((3, 5)))
    with pytest.raises(NeurodataError, match="not fitted"):
        MDSClustering().predict(np.zeros((3, 2)))


class _Wrong(torch.nn.Module):
    stimulus_shape = (1, 4, 3, 3)

    def __init__(self, out):
        super().__init__()
        self.out = out

    def forward(self, x):
        return self.out(x)


def test_bad_input_gives_clear_errors():
    def linear(x):
        return x.reshape(len(x), -1)[:, :5] * 3

    with pytest.raises(ShapeError, match="expected \\(batch, neuron\\)"):
        mds_clustering(_Wrong(linear), n_neurons=7, n_clusters_init=2)
    with pytest.raises(ShapeError, match="\\(batch, neuron\\)"):
        mds_clustering(_Wrong(lambda x: linear(x)[:, None]), n_clusters_init=2)
    with pytest.raises(NeurodataError, match=r"torch\.Tensor"):
        mds_clustering(_Wrong(lambda x: linear(x).numpy()), n_clusters_init=2)
    nan_model = _Wrong(lambda x: linear(x) * torch.nan)
    with pytest.raises(NeurodataError, match="NaN"):
        mds_clustering(nan_model, n_clusters_init=2)
    with pytest.raises(NeurodataError, match="larger than the number of neurons"):
        mds_clustering(_Wrong(linear), n_clusters_init=6)
    with pytest.raises(NeurodataError, match="achievable norms"):
        mds_clustering(_Wrong(linear), n_clusters_init=2, norm=100.0)
    with pytest.raises(NeurodataError, match="low < high"):
        mds_clustering(_Wrong(linear), n_clusters_init=2, value_range=(1, 0))
    with pytest.raises(NeurodataError, match="stimulus shape is unknown"):
        mds_clustering(linear, n_clusters_init=2)
    with pytest.raises(NeurodataError, match="tau_scale"):
        mds_clustering(_Wrong(linear), n_clusters_init=2, tau_scale="raw")
    meta = torch.nn.Linear(3, 3).to("meta")
    meta.stimulus_shape = (1, 4, 3, 3)
    with pytest.raises(NeurodataError, match=r"move it with model\.to"):
        mds_clustering(meta, n_clusters_init=2)


def test_nan_in_the_middle_of_optimisation_is_reported():
    """A model that is finite on noise but NaN on strong stimuli fails with a clear error."""
    def fragile(x):  # NaN once the stimulus energy concentrates on the six pixels it reads
        r = x.reshape(len(x), -1)[:, :6]
        return torch.where((r**2).sum(1, keepdim=True) > 2.5, r * torch.nan, r)

    # finite on the noise used for the z-scoring (norm 1.8 spread over 36 pixels) ...
    norm_noise = make_constraint((1, 4, 3, 3)).random(256, torch.Generator().manual_seed(0))
    assert torch.isfinite(fragile(norm_noise)).all()
    # ... but not on the optimised stimuli
    with pytest.raises(NeurodataError, match="NaN or infinite"):
        mds_clustering(_Wrong(fragile), n_clusters_init=2, split=False, max_iter=2, random_state=0)
