"""Conventions of the published analyses: the prior, the normalisation, the .mat layout."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import xarray as xr

from neurodata.errors import FileFormatError, NeurodataError, ShapeError
from neurodata.gain_control import (
    BENUCCI_P_ADAPTER,
    benucci_prior,
    check_benucci,
    fit_adaptation_model,
    load_benucci_mat,
    normalize_benucci,
    simulate_benucci,
    stimulus_ensemble,
    write_benucci_mat,
)
from neurodata.io._h5 import file_sha256


def test_the_published_prior_is_pinned():
    # the 11 published sessions: p from 30 to 50 %, mean 0.418 (460 / 11 %)
    assert len(BENUCCI_P_ADAPTER) == 11
    assert min(BENUCCI_P_ADAPTER) == 0.3 and max(BENUCCI_P_ADAPTER) == 0.5
    assert np.mean(BENUCCI_P_ADAPTER) == pytest.approx(0.418, abs=5e-4)
    prior = benucci_prior(np.mean(BENUCCI_P_ADAPTER))
    np.testing.assert_array_equal(prior.stimulus_orientation, np.linspace(-90, 90, 21))
    assert float(prior.sum()) == pytest.approx(1.0, abs=1e-15)
    # adapter bin, its two neighbours, every other entry of the closed grid
    at = prior.values
    assert [round(float(at[10]), 4), round(float(at[9]), 4), round(float(at[11]), 4)] == \
        [0.2091, 0.1045, 0.1045]
    others = np.delete(at, [9, 10, 11])
    assert others.size == 18 and set(np.round(others, 4)) == {0.0323}
    # at p = 0.418 itself the same values to the 4th decimal (0.2090 for the adapter bin)
    np.testing.assert_allclose(benucci_prior(0.418).values[[10, 9, 0]],
                               [0.2091, 0.1045, 0.0323], atol=1.5e-4)


def test_the_model_ensemble_merges_the_two_ends_of_the_closed_grid():
    p = 0.4
    closed = benucci_prior(p).values
    merged = stimulus_ensemble(20, p_adapter=p, shape="benucci").values  # -90 ... 81
    expected = closed[:-1].copy()
    expected[0] += closed[-1]
    np.testing.assert_allclose(merged, expected, rtol=1e-14)


def _raw(seed=0, n_sessions=2):
    return simulate_benucci("gain", n_sessions=n_sessions, random_state=seed)


def test_minmax_normalisation_is_the_published_one():
    raw = _raw()
    norm = normalize_benucci(raw).responses
    assert str(norm.normalization.values) == "minmax"
    assert str(norm.normalization_level.values) == "bin"
    x = raw.responses.values
    u = x[..., :-1, 0]
    expected = (x - u.min(axis=2)[..., None, None]) / (u.max(axis=2) - u.min(axis=2))[
        ..., None, None]
    np.testing.assert_allclose(norm.values, expected, rtol=1e-12)
    uniform = norm.sel(condition="uniform").isel(stimulus_orientation=slice(0, -1))
    np.testing.assert_allclose(uniform.min("stimulus_orientation"), 0.0, atol=1e-12)
    np.testing.assert_allclose(uniform.max("stimulus_orientation"), 1.0, rtol=1e-12)
    # adapted minima fall below the unadapted ones: negative values, accepted as declared
    assert float(norm.sel(condition="biased").min()) < 0
    check_benucci(norm)
    with pytest.raises(NeurodataError, match="normalization='minmax'"):
        check_benucci(norm.assign_coords(normalization="mean"))
    with pytest.raises(NeurodataError, match="already normalised"):
        normalize_benucci(normalize_benucci(raw))


def test_mat_file_round_trip_and_errors(tmp_path):
    raw = _raw(n_sessions=3)
    path = write_benucci_mat(raw, tmp_path / "BenucciTuningData.mat")
    # the published layout: resps, a sessions x 1 cell array of 13 x 21 x 2 arrays
    contents = scipy.io.loadmat(path)
    assert contents["resps"].shape == (3, 1)
    assert contents["resps"][1][0].shape == (13, 21, 2)
    before = file_sha256(path)
    back = load_benucci_mat(path)
    assert file_sha256(path) == before
    np.testing.assert_array_equal(back.responses.values, raw.responses.values)
    np.testing.assert_array_equal(back.p_adapter, raw.p_adapter)
    assert str(back.normalization.values) == "none"
    # a file without p_adapter: given by the caller, or left for the fit to ask for
    scipy.io.savemat(tmp_path / "plain.mat", {"resps": contents["resps"]})
    plain = load_benucci_mat(tmp_path / "plain.mat", p_adapter=BENUCCI_P_ADAPTER[:3])
    np.testing.assert_allclose(plain.p_adapter, [0.5, 0.35, 0.35])
    assert "p_adapter" not in load_benucci_mat(tmp_path / "plain.mat")
    with pytest.raises(FileFormatError, match="does not exist"):
        load_benucci_mat(tmp_path / "missing.mat")
    (tmp_path / "bad.mat").write_text("not a mat file")
    with pytest.raises(FileFormatError, match="not a MATLAB .mat file"):
        load_benucci_mat(tmp_path / "bad.mat")
    scipy.io.savemat(tmp_path / "other.mat", {"rates": np.zeros(3)})
    with pytest.raises(FileFormatError, match="no variable 'resps'; it has: rates"):
        load_benucci_mat(tmp_path / "other.mat")
    scipy.io.savemat(tmp_path / "shape.mat", {"resps": np.zeros((2, 13, 21, 3))})
    with pytest.raises(ShapeError, match="uniform, biased"):
        load_benucci_mat(tmp_path / "shape.mat")
    with pytest.raises(ShapeError, match="one value per session"):
        load_benucci_mat(path, p_adapter=[0.3, 0.4])


def test_a_mat_file_in_the_published_layout_loads_and_fits_end_to_end(tmp_path):
    truth = {"tuning_kappa": 2.2, "recurrent_strength": 0.5, "recurrent_kappa": 4.0,
             "baseline": 0.25}
    raw = simulate_benucci("gain", truth, n_sessions=4, noise=0.02, random_state=5)
    path = write_benucci_mat(raw.drop_vars("p_adapter"), tmp_path / "resps.mat")
    data = load_benucci_mat(path, p_adapter=raw.p_adapter.values)
    assert str(data.prior.values) == "benucci"  # the published ensemble shape, used by default
    fit = fit_adaptation_model(data, n_init=1, random_state=0)
    assert fit.attrs["prior"] == "benucci"
    assert str(fit.normalization.values) == "minmax" and fit.attrs["row_affine"] == 1
    np.testing.assert_allclose(fit.estimate, list(truth.values()), rtol=0.1, atol=0.02)
    assert fit.attrs["n_matched"] == fit.attrs["n_ensembles"]
    assert float(fit.rmse) < 0.03  # the noise was 2 % of each row's amplitude


def test_check_benucci_normalisations():
    raw = _raw()
    assert str(check_benucci(raw).normalization.values) == "none"
    with pytest.raises(NeurodataError, match="normalization"):
        check_benucci(raw.assign_coords(normalization="zscore"))
    assert isinstance(normalize_benucci(raw.responses), xr.Dataset)
