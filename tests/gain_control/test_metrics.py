"""Effects measured on data arrays, Benucci's separable description, the bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from neurodata.datasets import make_adaptation_experiment
from neurodata.errors import NeurodataError
from neurodata.gain_control import (
    benucci_effects,
    bootstrap_benucci,
    normalize_benucci,
    predict_adaptation,
    separable_fit,
    simulate_benucci,
)

GAIN = {"tuning_kappa": 2.0, "recurrent_strength": 0.5, "recurrent_kappa": 4.0, "baseline": 0.2}


@pytest.fixture(scope="module")
def noise_free():
    return simulate_benucci("gain", GAIN, n_sessions=3, p_adapter=[0.4] * 3, noise=0.0,
                            random_state=0)


def test_effects_on_data_arrays(noise_free):
    fx = benucci_effects(noise_free)
    near = abs(fx.preferred_orientation) <= 15
    band = (abs(fx.preferred_orientation) >= 15) & (abs(fx.preferred_orientation) <= 45)
    # maxima and minima drop near the adapter (minmax data: the minimum goes below 0)
    assert bool((fx.max_change.where(near, drop=True) < -0.05).all())
    assert bool((fx.min_change.where(near, drop=True) < 0).all())
    # preferred orientations 15-45 deg from the adapter are repelled
    assert bool((fx.repulsion.where(band, drop=True) > 0).all())
    # covariance normalised by the unadapted variances: unit diagonal under the uniform
    # ensemble, and adaptation brings the biased covariance back towards it
    np.testing.assert_allclose(np.diag(fx.covariance.sel(ensemble="uniform")), 1.0, rtol=1e-12)
    dist = fx.covariance_distance
    assert float(dist.sel(ensemble="biased_adapted")) < float(dist.sel(ensemble="biased_unadapted"))
    # per session the same numbers (equal sessions here)
    per = benucci_effects(noise_free, session_mean=False)
    np.testing.assert_allclose(per.max_change.isel(session=1), fx.max_change, rtol=1e-10)


def test_without_recurrence_there_is_no_repulsion_and_the_ratio_is_separable():
    # one model neuron per bin, so that a bin is exactly one neuron's curve
    data = predict_adaptation(2.0, 0.0, 4.0, baseline=0.2, n_model_units=12).expand_dims(
        session=1)
    assert float(abs(benucci_effects(data, p_adapter=0.3).repulsion).max()) < 1e-9
    # a gain change scales every row: a(phi) = 1, b(theta) = the gain ratio of the bin
    fit = separable_fit(data)
    assert float(fit.explained_variance) > 1 - 1e-10
    np.testing.assert_allclose(fit.a, 1.0, rtol=1e-8)
    ratio = (data.sel(condition="biased") / data.sel(condition="uniform")).isel(
        session=0, preferred_orientation=slice(0, -1), stimulus_orientation=0)
    np.testing.assert_allclose(fit.b, ratio, rtol=1e-8)
    # binned neurons with different gains, and recurrence, are less separable and repel
    binned = simulate_benucci("no_recurrence", {"tuning_kappa": 2.0, "baseline": 0.2},
                              n_sessions=2, noise=0.0, random_state=1)
    rec = simulate_benucci("gain", GAIN, n_sessions=2, noise=0.0, random_state=1)
    ev = [float(separable_fit(d).explained_variance) for d in (binned, rec)]
    rep = [float(benucci_effects(d).repulsion.max()) for d in (binned, rec)]
    assert ev[1] < ev[0] < 1 and rep[1] > 4 * rep[0]


def test_recurrence_makes_the_ratio_less_separable(noise_free):
    ev = float(separable_fit(noise_free).explained_variance)
    assert 0.3 < ev < 0.999  # rows and columns explain much, not all
    # the log ratio is fitted by row plus column effects, by least squares
    fit = separable_fit(noise_free)
    used = fit.log_ratio.notnull()
    resid = (fit.log_ratio - fit.fitted_log_ratio).where(used)
    np.testing.assert_allclose(resid.mean("stimulus_orientation").dropna("preferred_orientation"),
                               0.0, atol=1e-10)
    assert int(fit.n_used) + int(fit.n_excluded) == 12 * 20


def test_the_bootstrap_over_sessions_and_units():
    data = simulate_benucci("gain", GAIN, n_sessions=5, noise=0.05, random_state=2)
    stat = lambda d: benucci_effects(d).covariance_distance  # noqa: E731
    boot = bootstrap_benucci(data, stat, n_boot=30, random_state=0)
    assert boot.replicates.sizes["replicate"] == 30
    assert bool((boot.ci_low <= boot.ci_high).all())
    again = bootstrap_benucci(data, stat, n_boot=30, random_state=0)
    np.testing.assert_array_equal(boot.replicates, again.replicates)
    # noiseless sessions that are all equal give no spread
    same = simulate_benucci("gain", GAIN, n_sessions=3, p_adapter=[0.4] * 3, noise=0.0,
                            random_state=0)
    flat = bootstrap_benucci(same, stat, n_boot=10, random_state=0)
    np.testing.assert_allclose(flat.ci_high - flat.ci_low, 0.0, atol=1e-12)
    # units are resampled within sessions of recordings converted by benucci_format
    exp = make_adaptation_experiment(2, n_units=60, n_trials=200, random_state=0)
    units = bootstrap_benucci(exp, lambda d: benucci_effects(d).response_cv, over="unit",
                              n_boot=20, random_state=0)
    assert float((units.ci_high - units.ci_low).sel(ensemble="biased_adapted")) > 0
    with pytest.raises(NeurodataError, match="unit-level curves"):
        bootstrap_benucci(normalize_benucci(data), stat, over="unit", n_boot=5)
