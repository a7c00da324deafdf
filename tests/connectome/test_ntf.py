import numba
import numpy as np
import pytest
import xarray as xr

from neurodata.connectome import factor_similarity, ntf, ntf_ensemble
from neurodata.connectome._hals import _balance, _normalise, fit_hals, khatri_rao, reconstruct
from neurodata.connectome._kernels import fused_pass, tile_full
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


def _hals_rows_reference(f, m, g, n_inner):
    """Row-wise HALS in numpy: each row sweeps until its change falls below 1e-6 of its first."""
    active = np.ones(f.shape[0], bool)
    first = None
    for _ in range(n_inner):
        change = np.zeros(f.shape[0])
        for r in range(f.shape[1]):
            if g[r, r] <= 0:
                continue
            old = f[:, r].astype(np.float64)
            new = np.maximum(old + (m[:, r] - f.astype(np.float64) @ g[:, r]) / g[r, r], 0)
            f[:, r] = np.where(active, new, old)
            change += (f[:, r] - old) ** 2
        first = change if first is None else first
        active &= ~((change <= 1e-6 * first) | (first == 0))
        if not active.any():
            break


def _two_pass_reference(x, obs, init, n_iter, n_inner=5, b_first=True):
    """The HALS iteration as two plain passes over the tensor (and an EM working copy)."""
    i, j, k = x.shape
    x0 = x.reshape(i, -1)
    a, b, c = (np.array(f, dtype=x.dtype) for f in init)
    work = None if obs is None else np.where(obs.reshape(i, -1), x0, 0)
    losses = []
    for _ in range(n_iter):
        kr = khatri_rao(b, c)
        if work is not None:
            miss = ~obs.reshape(i, -1)
            work[miss] = (a @ kr.T)[miss]
        data = x0 if work is None else work
        _hals_rows_reference(a, data @ kr, (b.T @ b) * (c.T @ c), n_inner)
        w = (data.T @ a).reshape(j, k, -1)                     # second pass
        for mode in (1, 2) if b_first else (2, 1):
            if mode == 1:
                _hals_rows_reference(b, np.einsum("jkr,kr->jr", w, c), (a.T @ a) * (c.T @ c),
                                     n_inner)
            else:
                _hals_rows_reference(c, np.einsum("jkr,jr->kr", w, b), (a.T @ a) * (b.T @ b),
                                     n_inner)
        _balance([a, b, c])
        resid = x - reconstruct(np.ones(a.shape[1]), [a, b, c])
        weight = np.ones(x.shape, bool) if obs is None else obs
        losses.append(np.linalg.norm(resid[weight]) / np.linalg.norm(x[weight]))
    return _normalise([a, b, c], losses)


@pytest.mark.parametrize(("masked", "b_first"), [(False, True), (True, True), (False, False)])
def test_fused_pass_is_the_two_pass_iteration_reordered(masked, b_first):
    # float64: the fused single pass gives the same iterates as two plain passes;
    # 37 rows (not a multiple of 8) and 600 columns (not a multiple of the tile)
    x, _ = _low_rank((37, 40, 15), 3, seed=4, noise=0.5)
    x = x.astype(np.float64)
    rng = np.random.default_rng(2)
    obs = rng.random(x.shape) > 0.25 if masked else None
    init = [rng.random((n, 4)) for n in x.shape]
    ref = _two_pass_reference(x, obs, init, 12, b_first=b_first)
    fit = fit_hals(x.reshape(37, -1), x.shape, 4, factors=init, n_iter_max=12, tol=0,
                   observed=None if obs is None else obs.reshape(37, -1), b_first=b_first)
    np.testing.assert_allclose(fit.loss_curve, ref.loss_curve, rtol=1e-9)
    np.testing.assert_allclose(fit.weights, ref.weights, rtol=1e-9)
    for f, g in zip(fit.factors, ref.factors):
        np.testing.assert_allclose(f, g, rtol=1e-8, atol=1e-12)
    # float32 (the benchmark's type) follows the same iterates to float32 accuracy
    fit32 = fit_hals(x.reshape(37, -1).astype(np.float32), x.shape, 4,
                     factors=[f.astype(np.float32) for f in init], n_iter_max=12, tol=0,
                     observed=None if obs is None else obs.reshape(37, -1), b_first=b_first)
    np.testing.assert_allclose(fit32.loss_curve, ref.loss_curve, rtol=1e-4)
    for f, g in zip(fit32.factors, ref.factors):
        np.testing.assert_allclose(f, g, atol=1e-4)


def test_fused_pass_kernel_against_numpy():
    rng = np.random.default_rng(0)
    x = rng.random((21, 1100), dtype=np.float32)     # tail block of 5 rows, partial tile
    krt = rng.random((3, 1100), dtype=np.float32)
    a0 = rng.random((21, 3), dtype=np.float32)
    g = krt.T.astype(np.float64).T @ krt.T.astype(np.float64)
    n = numba.get_num_threads()                          # one W and one stats row per thread
    w_parts, stats = np.empty((n, 3, 1100), np.float32), np.zeros((n, 2))
    a = a0.copy()
    none = np.zeros((0, 0), np.uint8)
    w_parts[:] = 0
    fused_pass(x, none, none, a, krt, g, 5, True, w_parts, stats, np.empty((n, 8, 0), np.float32))
    m = x.astype(np.float64) @ krt.T.astype(np.float64)
    np.testing.assert_allclose(stats[:, 0].sum(), np.sum(a0 * m), rtol=1e-5)
    a_ref = a0.copy()
    _hals_rows_reference(a_ref, m, g, 5)
    np.testing.assert_allclose(a, a_ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(w_parts.sum(0), (x.T.astype(np.float64) @ a).T, rtol=1e-5)
    # a masked pass imputes a0 . krt at missing entries and reports their sum of squares
    obs = rng.random(x.shape) > 0.3
    a = a0.copy()
    obs[:8, 512:1024] = True                          # a tile with nothing missing
    stats[:] = 0
    fused_pass(x, obs.view(np.uint8), tile_full(obs), a, krt, g, 5, False, w_parts, stats,
               np.empty((n, 8, 1100), np.float32))
    model = a0.astype(np.float64) @ krt.astype(np.float64)
    filled = np.where(obs, x, model)
    np.testing.assert_array_equal(a, a0)                 # update=False leaves a alone
    np.testing.assert_allclose(stats[:, 0].sum(), np.sum(a0 * (filled @ krt.T)), rtol=1e-5)
    np.testing.assert_allclose(stats[:, 1].sum(), np.sum(model[~obs] ** 2), rtol=1e-5)


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


@pytest.mark.parametrize(("max_iter", "tol"), [(7, 0.0), (500, 1e-4)])
def test_masked_loss_is_the_loss_of_the_returned_model(max_iter, tol):
    # the masked loss of iteration t comes out of pass t + 1: on a stop (by
    # max_iter or by tol) the returned model must be the one the last loss is of
    x, _ = _low_rank((30, 25, 4), 3, noise=0.5, seed=8)
    mask = np.random.default_rng(3).random(x.shape) > 0.3
    fit = ntf(x, 3, mask=mask, random_state=0, max_iter=max_iter, tol=tol)
    model = reconstruct(fit.weights.values, [fit[f"{d}_factor"].values
                                             for d in ("pair", "time", "animal")])
    true = np.linalg.norm((x - model)[mask]) / np.linalg.norm(x[mask])
    assert abs(true - fit.attrs["relative_error"]) < 1e-5
    assert fit.attrs["n_iter"] == (max_iter if tol == 0 else len(fit.loss_curve)) < 500


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


def test_memory_layout_does_not_change_the_iterates():
    # (pair, animal, time) memory, as build_affinity_tensor gives: same fit as C order
    x = _low_rank((30, 20, 6), 2, noise=0.3, seed=6)[0].astype(np.float64)
    init = [np.random.default_rng(0).random((n, 2)) for n in x.shape]
    strided = np.ascontiguousarray(x.transpose(0, 2, 1)).transpose(0, 2, 1)
    f1 = ntf(x, 2, init=init, max_iter=20, tol=0)
    f2 = ntf(strided, 2, init=init, max_iter=20, tol=0)
    np.testing.assert_allclose(f2.loss_curve, f1.loss_curve, rtol=1e-10)
    np.testing.assert_allclose(f2.time_factor, f1.time_factor, atol=1e-10)


def test_mask_is_not_written_when_nan_is_merged_in():
    x, _ = _low_rank((20, 10, 3), 2)
    x[0, 0, 0] = np.nan
    mask = np.ones(x.shape, bool)
    ntf(x, 2, mask=mask, max_iter=3, random_state=0)
    assert mask.all()


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
