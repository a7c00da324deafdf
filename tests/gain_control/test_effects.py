"""The qualitative results of Benucci et al. (2013) in the model, per site and objective,
and the naive rule that misses one."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodata.errors import ShapeError
from neurodata.gain_control import (
    adaptation_effects,
    preferred_orientation,
    preferred_orientation_shift,
    response_covariance,
    ring_network,
    steady_state,
    stimulus_ensemble,
)


def _checks(fx):
    """The three results of Benucci et al. (2013) that the model must reproduce."""
    d = abs(fx.distance_to_adapter)
    near, band = d <= 15, (d >= 15) & (d <= 45)
    return {
        "maxima_drop_near_adapter": bool((fx.max_ratio.where(near, drop=True) < 0.95).all()),
        "repulsion_15_45": bool((fx.repulsion.where(band, drop=True) > 0.1).all()),
        "decorrelation": bool(fx.covariance_distance.sel(ensemble="biased_adapted")
                              < 0.9 * fx.covariance_distance.sel(ensemble="biased_unadapted")),
    }


@pytest.fixture(scope="module")
def model_effects():
    return adaptation_effects(ring_network(60), adapter=0.0, p_adapter=0.3)


def test_benucci_results_with_the_default_parameters(model_effects):
    assert _checks(model_effects) == dict.fromkeys(_checks(model_effects), True)
    fx = model_effects
    near = abs(fx.distance_to_adapter) <= 15
    # minima drop too, and the effects fade far from the adapter
    assert float(fx.min_ratio.where(near, drop=True).max()) < 0.95
    far = abs(fx.distance_to_adapter) >= 75
    assert float(abs(fx.repulsion.where(far, drop=True)).max()) < 0.1
    # the time-averaged responses are partly equalised (homeostasis)
    cv = fx.response_cv
    assert float(cv.sel(ensemble="biased_adapted")) < 0.5 * float(cv.sel(ensemble="biased_unadapted"))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_benucci_results_hold_in_heterogeneous_networks(seed):
    net = ring_network(60, weight_noise=0.05, random_state=seed)
    assert all(_checks(adaptation_effects(net, p_adapter=0.3)).values())


@pytest.mark.parametrize("adapter", [-36.0, 45.0])
def test_results_follow_the_adapter(adapter):
    fx = adaptation_effects(ring_network(60), adapter=adapter, p_adapter=0.3)
    assert all(_checks(fx).values())
    lowest = float(fx.gains.sel(condition="biased").idxmin("model_unit"))
    assert float(fx.preferred_orientation.sel(model_unit=lowest)) == pytest.approx(adapter)


def test_gains_and_repulsion_are_symmetric_about_the_adapter(model_effects):
    g = model_effects.gains.sel(condition="biased").values
    # unit 30 prefers the adapter (0 deg); unit 30 + k mirrors unit 30 - k
    np.testing.assert_allclose(g[31:], g[29:0:-1], rtol=1e-7)
    rep = model_effects.repulsion.values
    np.testing.assert_allclose(rep[31:], rep[29:0:-1], rtol=1e-5, atol=1e-8)


def test_the_naive_equalizing_rule_fails_decorrelation():
    fx = adaptation_effects(ring_network(60), p_adapter=0.3, rule="equalize")
    checks = _checks(fx)
    assert not checks["decorrelation"]
    # it over-corrects: the covariance moves *further* from the uniform one
    dist = fx.covariance_distance
    assert float(dist.sel(ensemble="biased_adapted")) > float(dist.sel(ensemble="biased_unadapted"))
    assert float(fx.response_cv.sel(ensemble="biased_adapted")) < 1e-12


@pytest.mark.parametrize("objective", ["log_gain", "fisher_gaussian", "fisher_poisson"])
def test_effects_need_recurrence_for_repulsion(objective):
    fx = adaptation_effects(ring_network(60, recurrent_strength=0.0), p_adapter=0.3,
                            objective=objective)
    # a gain change alone rescales each tuning curve without moving its peak
    assert float(abs(fx.repulsion).max()) < 1e-9
    np.testing.assert_allclose(fx.max_ratio, fx.min_ratio, rtol=1e-9)


def test_both_sites_reproduce_the_results_with_the_log_gain_objective():
    for site in ("total", "input"):
        fx = adaptation_effects(ring_network(60), p_adapter=0.3, gain_site=site)
        assert all(_checks(fx).values()), site
        assert fx.attrs["gain_site"] == site


@pytest.mark.parametrize("site", ["total", "input"])
def test_which_objective_reproduces_which_effect(site):
    """The table of the documentation page, asserted."""
    net = ring_network(60)
    gauss = adaptation_effects(net, p_adapter=0.3, gain_site=site, objective="fisher_gaussian")
    d = abs(gauss.distance_to_adapter)
    # Gaussian Fisher information: the maximum at the adapter drops and the population
    # decorrelates, but neighbours 10-15 deg away gain, and some units 15-45 deg away
    # are attracted: repulsion only in part of the band
    assert float(gauss.max_ratio.sel(model_unit=30)) < 0.7
    assert float(gauss.max_ratio.where(d <= 15).max()) > 1.0
    assert float(gauss.repulsion.where((d >= 15) & (d <= 45)).min()) < 0
    assert not _checks(gauss)["repulsion_15_45"] and _checks(gauss)["decorrelation"]
    # Poisson Fisher information: neurons at the adapter are switched off and the
    # covariance moves far from the uniform one (no decorrelation)
    pois = adaptation_effects(net, p_adapter=0.3, gain_site=site, objective="fisher_poisson")
    assert pois.attrs["n_at_bound"] >= 3
    assert not _checks(pois)["decorrelation"]


def test_preferred_orientation_recovers_planted_peaks():
    theta = np.arange(-90.0, 90.0, 5.0)
    peaks = np.array([-80.0, -12.5, 0.0, 33.3, 89.0])
    curves = np.exp(1.5 * (np.cos(np.deg2rad(2 * (theta[None] - peaks[:, None]))) - 1)) + 0.2
    da = xr.DataArray(curves, dims=("model_unit", "stimulus_orientation"),
                      coords={"stimulus_orientation": theta})
    np.testing.assert_allclose(preferred_orientation(da), peaks, atol=1e-9)
    # a closed grid (-90 and +90 both present) gives the same answer
    closed = xr.concat([da, da.isel(stimulus_orientation=[0]).assign_coords(
        stimulus_orientation=[90.0])], dim="stimulus_orientation")
    np.testing.assert_allclose(preferred_orientation(closed), peaks, atol=1e-9)
    with pytest.raises(ShapeError, match="evenly around the whole"):
        preferred_orientation(da.isel(stimulus_orientation=slice(0, 20)))


def test_shift_sign_convention():
    theta = np.arange(-90.0, 90.0, 10.0)
    make = lambda mus: xr.DataArray(  # noqa: E731
        np.exp(2 * (np.cos(np.deg2rad(2 * (theta[None] - np.array(mus)[:, None]))) - 1)),
        dims=("model_unit", "stimulus_orientation"), coords={"stimulus_orientation": theta})
    shift = preferred_orientation_shift(make([50.0, 50.0]), make([52.0, 48.0]), adapter=40.0)
    np.testing.assert_allclose(shift, [2.0, -2.0], atol=1e-9)
    np.testing.assert_allclose(shift.distance_to_adapter, [10.0, 10.0], atol=1e-9)


def test_covariance_is_a_psd_signal_covariance():
    net, ens = ring_network(20), stimulus_ensemble(20, p_adapter=0.3)
    c = response_covariance(steady_state(net, ens), ens)
    assert np.linalg.eigvalsh(c.values).min() > -1e-12
    assert c.dims == ("model_unit", "other_model_unit")
    with pytest.raises(ShapeError, match="ensemble's stimulus orientations"):
        response_covariance(steady_state(net, [0.0, 10.0]), ens)
