import numpy as np
import pytest
import xarray as xr

from neurodata.connectome import factor_similarity, ntf, ntf_ensemble
from neurodata.connectome._hals import fit_hals, reconstruct
from neurodata.connectome._kernels import fill_runs, left_mttkrp, right_mttkrp
from neurodata.errors import NeurodataError, ShapeError


def _low_rank(shape=(60, 40, 5), rank=3, seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    true = [rng.random((n, rank)) ** 2 for n in shape]
    x = reconstruct(np.ones(rank), true)
    x = x + noise * x.mean() * rng.random(shape)
    return x.astype(np.float32), true


def test_exact_low_rank_tensor_is_recovered():
    x, true = _low_rank()
    fit = ntf(x, 3, n_init=3, random_state=0, tol=1e-10, max_iter=2000)
    assert fit.attrs["relative_error"] < 1e-3
    score, _ = factor_similarity(fit, true)
    assert score > 0.99


def test_numba_kernels_match_blas_on_large_arrays():
    rng = np.random.default_rng(0)
    x = rng.random((1203, 1001), dtype=np.float32)             # > 1M: numba path
    k, a = rng.random((1001, 7), dtype=np.float32), rng.random((1203, 7), dtype=np.float32)
    np.testing.assert_allclose(left_mttkrp(x, k), x.astype(float) @ k, rtol=1e-4)
    np.testing.assert_allclose(right_mttkrp(x, a), x.T.astype(float) @ a, rtol=1e-4)


def test_fill_runs_writes_model_values_on_runs():
    work = np.zeros((2, 5), np.float32)
    a, kr = np.array([[1.0], [2.0]], np.float32), np.arange(5, dtype=np.float32)[:, None]
    gap, filled = fill_runs(work, a, kr, np.array([0, 1]), np.array([1, 3]), np.array([3, 5]))
    np.testing.assert_array_equal(work, [[0, 1, 2, 0, 0], [0, 0, 0, 6, 8]])
    assert gap == filled == 1 + 4 + 36 + 64


def test_same_error_as_tensorly_hals_from_the_same_start():
    from tensorly.cp_tensor import CPTensor
    from tensorly.decomposition import non_negative_parafac_hals

    x, _ = _low_rank((50, 30, 4), 4, seed=1, noise=0.5)
    rng = np.random.default_rng(3)
    init = [rng.random((n, 4)).astype(np.float32) for n in x.shape]
    ours = fit_hals(x.reshape(50, -1), x.shape, 4, factors=init, n_iter_max=30, tol=0)
    cp = non_negative_parafac_hals(x, 4, n_iter_max=30, tol=0,
                                   init=CPTensor((np.ones(4, np.float32), [f.copy() for f in init])))
    theirs = np.linalg.norm(x - cp.to_tensor()) / np.linalg.norm(x)
    mine = np.linalg.norm(x - reconstruct(ours.weights, ours.factors)) / np.linalg.norm(x)
    assert abs(mine - ours.loss_curve[-1]) < 1e-4          # the free loss is the true loss
    assert mine <= theirs + 1e-3


@pytest.mark.parametrize("masked", [False, True])
def test_loss_never_increases(masked):
    x, _ = _low_rank(noise=1.0, seed=2)
    mask = np.random.default_rng(0).random(x.shape) > 0.3 if masked else None
    fit = ntf(x, 3, mask=mask, random_state=1, tol=0, max_iter=150)
    assert np.all(np.diff(fit.loss_curve.values) <= 1e-5)


def test_missing_entries_are_imputed_not_zeroed():
    x, _ = _low_rank((40, 30, 6), 2, seed=3)
    rng = np.random.default_rng(1)
    xm = x.copy()
    xm[:8, :, 2] = np.nan                  # whole fibres, as missing neurons give
    xm[rng.random(x.shape) < 0.2] = np.nan
    before = xm.copy()
    fit = ntf(xm, 2, n_init=2, random_state=0, tol=1e-10, max_iter=3000)
    np.testing.assert_array_equal(np.isnan(xm), np.isnan(before))   # caller's array untouched
    model = reconstruct(fit.weights.values, [fit[f"{d}_factor"].values
                                             for d in ("pair", "time", "animal")])
    miss = np.isnan(xm)
    assert np.abs(model[miss] - x[miss]).max() < 1e-2 * x.max()
    # zero-filling instead would bias the fit on those entries
    zero = ntf(np.nan_to_num(xm), 2, n_init=2, random_state=0, tol=1e-10, max_iter=3000)
    model0 = reconstruct(zero.weights.values, [zero[f"{d}_factor"].values
                                               for d in ("pair", "time", "animal")])
    assert np.abs(model0[miss] - x[miss]).mean() > 10 * np.abs(model[miss] - x[miss]).mean()


def test_labelled_output_layout_and_reproducibility():
    x, _ = _low_rank((20, 15, 3), 2, noise=0.2)
    da = xr.DataArray(x, dims=("pair", "time", "animal"),
                      coords={"time": np.arange(15) * 0.5, "animal": ["a", "b", "c"]})
    f1 = ntf(da, 2, n_init=2, random_state=7)
    f2 = ntf(da, 2, n_init=2, random_state=7)
    xr.testing.assert_identical(f1, f2)
    assert f1.animal_factor.dims == ("animal", "component")
    assert list(f1.animal.values) == ["a", "b", "c"]
    np.testing.assert_allclose(np.linalg.norm(f1.time_factor, axis=0), 1, rtol=1e-5)
    assert np.all(np.diff(f1.weights.values) <= 0)
    assert f1.attrs["relative_error"] == min(f1.restart_error.values)


def test_single_animal_and_non_contiguous_layouts():
    x, _ = _low_rank((30, 20, 1), 2, noise=0.1)
    fit = ntf(x, 2, random_state=0)
    assert fit.animal_factor.shape == (1, 2)
    fit_t = ntf(np.transpose(np.asfortranarray(x), (0, 1, 2)), 2, random_state=0)
    np.testing.assert_allclose(fit_t.attrs["relative_error"], fit.attrs["relative_error"],
                               rtol=1e-3)


def test_bad_inputs():
    x, _ = _low_rank((10, 8, 2), 2)
    with pytest.raises(ShapeError, match="larger than every mode"):
        ntf(x, 11)
    with pytest.raises(ShapeError):
        ntf(x, 0)
    with pytest.raises(ShapeError, match="3-way"):
        ntf(x[..., 0], 2)
    with pytest.raises(NeurodataError, match="negative"):
        ntf(-x, 2)
    bad = x.copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(NeurodataError, match="infinite"):
        ntf(bad, 2)
    with pytest.raises(NeurodataError, match="missing"):
        ntf(np.full((3, 3, 3), np.nan, np.float32), 1)


def test_rank_selection_ensemble_finds_true_rank():
    x, _ = _low_rank((40, 30, 4), 3, seed=5)
    ens = ntf_ensemble(x, [1, 2, 3, 4], n_init=3, random_state=0, tol=1e-9,
                       max_iter=1500)
    best = ens.error.min("restart").values
    assert best[2] < 1e-2 < best[1] < best[0]
    assert ens.similarity.sel(rank=3).min() > 0.95
