"""Fitting models of adaptation to Benucci-format data recovers the generating parameters."""

from __future__ import annotations

import numpy as np
import pytest

from neurodata.datasets import make_adaptation_experiment, make_adaptation_trials
from neurodata.errors import NeurodataDeprecationWarning, NeurodataError, NotFittedError
from neurodata.gain_control import (
    BENUCCI_DIMS,
    AdaptiveGainModel,
    fit_adaptation_model,
    predict_adaptation,
    simulate_benucci,
)

# Stated tolerances for 6 sessions x 100 units, 400 presentations per condition,
# 10 spikes at the peak (the generator's defaults), fitted at the total-input site with
# a free baseline and the units' estimated preferences: tuning width within 5 %,
# recurrent strength within 0.08, recurrent width within 20 %, baseline within 0.03.
# Over 4 seeds the largest errors were 3.4 %, 0.066, 17 % and 0.015 for
# (1.5, 0.6, 3.0, 0.2), and 2.2 %, 0.036, 10 % and 0.001 for (2.0, 0.4, 4.0, 0.0).
RTOL_KAPPA, ATOL_STRENGTH, RTOL_KAPPA_W, ATOL_BASELINE = 0.05, 0.08, 0.2, 0.03


def _assert_recovered(est, truth):
    kappa, strength, kappa_w, baseline = est
    assert abs(kappa / truth[0] - 1) < RTOL_KAPPA, est
    assert abs(strength - truth[1]) < ATOL_STRENGTH, est
    assert abs(kappa_w / truth[2] - 1) < RTOL_KAPPA_W, est
    assert abs(baseline - truth[3]) < ATOL_BASELINE, est


@pytest.mark.parametrize("site", ["total", "input"])
def test_noise_free_data_are_fitted_exactly(site):
    truth = (1.8, 0.5, 3.0, 0.2)
    data = predict_adaptation(*truth[:3], baseline=truth[3], gain_site=site).expand_dims(
        session=1)
    fit = fit_adaptation_model(data, p_adapter=0.3, gain_site=site, n_init=1)
    np.testing.assert_allclose(fit.estimate, truth, rtol=1e-4, atol=1e-5)
    assert float(fit.rmse) < 1e-6
    # the certificate: the warm-started gains of every ensemble were the best of 4 cold starts
    assert fit.attrs["n_matched"] == fit.attrs["n_ensembles"] == 2
    assert fit.attrs["hessian_min_eigenvalue"] > 0


@pytest.mark.parametrize("kind", ["no_recurrence", "equalize", "normalization"])
def test_rival_models_are_fitted_exactly_from_noise_free_data(kind):
    data = simulate_benucci(kind, n_sessions=2, noise=0.0, random_state=3)
    fit = fit_adaptation_model(data, model=kind, n_init=2, random_state=0)
    assert float(fit.rmse) < 1e-5
    if kind != "equalize":  # (the equalising rule's recurrent parameters trade off)
        np.testing.assert_allclose(fit.estimate, data.true_params, rtol=1e-3, atol=1e-4)


def test_adapter_probabilities_and_baseline_are_recovered_when_free():
    data = simulate_benucci("gain", {"tuning_kappa": 2.0, "recurrent_strength": 0.5,
                                     "recurrent_kappa": 4.0, "baseline": 0.3},
                            n_sessions=3, p_adapter=[0.3, 0.4, 0.5], noise=0.0,
                            random_state=0)
    fit = fit_adaptation_model(data, fit_p_adapter=True, p_adapter=[0.4, 0.4, 0.4], n_init=1,
                               certify=False)
    np.testing.assert_allclose(fit.p_adapter, [0.3, 0.4, 0.5], atol=1e-4)
    np.testing.assert_allclose(fit.estimate, data.true_params, rtol=1e-3, atol=1e-4)
    assert fit.attrs["p_adapter_fitted"] == 1 and np.all(np.isfinite(fit.p_adapter_stderr))
    # a BIC that counts them: 4 model + 3 p + 2 x 36 row offsets/scales + the variance
    assert int(fit.n_params) == 4 + 3 + 2 * 36 + 1


def test_parameters_are_recovered_from_the_synthetic_experiment():
    truth = (1.5, 0.6, 3.0, 0.2)
    ds = make_adaptation_experiment(tuning_kappa=truth[0], recurrent_strength=truth[1],
                                    recurrent_kappa=truth[2], baseline=truth[3], random_state=1)
    # one start, away from the truth
    fit = fit_adaptation_model(ds, n_init=1, init=(1.0, 0.2, 8.0, 0.5), certify=False)
    assert fit.attrs["unit_preferences_used"] == 1 and fit.attrs["row_affine"] == 0
    _assert_recovered(fit.estimate.values, truth)
    assert float(fit.r2) > 0.98
    assert np.all(np.isfinite(fit.stderr)) and np.all(fit.stderr > 0)
    # the Benucci array alone (no unit preferences) still fits, less precisely
    coarse = fit_adaptation_model(ds.responses, p_adapter=0.3, n_init=1, certify=False)
    assert coarse.attrs["unit_preferences_used"] == 0
    assert abs(float(coarse.estimate.sel(parameter="tuning_kappa")) / truth[0] - 1) < 0.1


def test_fitting_from_trial_recordings_and_the_estimator():
    truth = (1.5, 0.6, 3.0, 0.0)
    recs = [make_adaptation_trials(100, tuning_kappa=truth[0], recurrent_strength=truth[1],
                                   recurrent_kappa=truth[2], random_state=20 + s)
            for s in range(6)]
    model = AdaptiveGainModel(n_init=1).fit(recs)
    _assert_recovered([model.params_[k] for k in ("tuning_kappa", "recurrent_strength",
                                                  "recurrent_kappa", "baseline")], truth)
    assert model.score(recs) > 0.98
    assert model.data_.sizes["session"] == 6
    np.testing.assert_allclose(model.result_.p_adapter, 0.3)
    # the fitted network shows the adaptation effects
    fx = model.effects()
    band = (abs(fx.distance_to_adapter) >= 15) & (abs(fx.distance_to_adapter) <= 45)
    assert bool((fx.repulsion.where(band, drop=True) > 0).all())
    # the first start is deterministic: the same fit twice gives identical parameters
    again = AdaptiveGainModel(n_init=1).fit(model.data_)
    assert again.params_ == model.params_
    # the history is the cost of every evaluation, ending at the optimum
    h = model.history_
    assert float(h.best_cost[-1]) == pytest.approx(float(h.cost.min()))
    assert float(h.best_cost[-1]) < 0.2 * float(h.cost[0])
    assert bool((h.best_cost.diff("iteration") <= 0).all())


def test_predict_takes_orientations_or_data():
    truth = (1.5, 0.6, 3.0)
    rec = make_adaptation_trials(100, tuning_kappa=truth[0], recurrent_strength=truth[1],
                                 recurrent_kappa=truth[2], random_state=3)
    model = AdaptiveGainModel(n_init=1).fit(rec)
    # for data: the model's values in Benucci format, those the fit compared
    pred = model.predict(rec)
    assert pred.dims == BENUCCI_DIMS
    np.testing.assert_allclose(pred.values, model.result_.fitted.values, rtol=1e-8)
    # for orientations: every model neuron's response in both conditions
    theta = np.arange(-90.0, 90.0, 9.0)
    tuning = model.predict(theta)
    assert tuning.dims == ("condition", "model_unit", "stimulus_orientation")
    np.testing.assert_allclose(tuning.sel(condition="uniform").mean("stimulus_orientation"), 1.0,
                               rtol=1e-10)  # normalised like the data: uniform curves average 1
    # adaptation lowers the response of the adapter-preferring neuron to the adapter
    at = tuning.sel(model_unit=30, stimulus_orientation=0.0)
    assert float(at.sel(condition="biased")) < 0.9 * float(at.sel(condition="uniform"))
    with pytest.raises(NotFittedError):
        AdaptiveGainModel().predict(theta)
    # old parameter names still work, with a warning
    with pytest.warns(NeurodataDeprecationWarning, match="n_starts"):
        assert AdaptiveGainModel(n_starts=2).n_init == 2
    with pytest.warns(NeurodataDeprecationWarning, match="n_starts"):
        fit_adaptation_model(model.data_, n_starts=1, max_iter=2, certify=False)


def test_fit_input_errors():
    data = predict_adaptation().expand_dims(session=1)
    with pytest.raises(NeurodataError, match="p_adapter"):
        fit_adaptation_model(data, p_adapter=1.2)
    with pytest.raises(NeurodataError, match="adapter probability of each session is unknown"):
        fit_adaptation_model(data)
    with pytest.raises(NeurodataError, match="one value per session"):
        fit_adaptation_model(data, p_adapter=[0.3, 0.4])
    with pytest.raises(NeurodataError, match="non-negative"):
        fit_adaptation_model(data - 2.0, p_adapter=0.3)
    with pytest.raises(NeurodataError, match="kind must be one of"):
        fit_adaptation_model(data, p_adapter=0.3, model="divisive")
    with pytest.raises(NeurodataError, match="n_model_units=12 leaves some"):
        predict_adaptation(n_model_units=12, n_bins=25)


def test_prediction_shows_adaptation_in_benucci_format():
    pred = predict_adaptation(p_adapter=0.3)
    uniform, biased = pred.sel(condition="uniform"), pred.sel(condition="biased")
    # units preferring the adapter respond less to it after adaptation ...
    assert float(biased.sel(preferred_orientation=0, stimulus_orientation=0)) < \
        0.9 * float(uniform.sel(preferred_orientation=0, stimulus_orientation=0))
    # ... the strongest suppression is there: adapter-preferring units, stimuli at the adapter
    ratio = (biased / uniform).isel(stimulus_orientation=slice(0, -1))
    assert float(ratio.min()) == float(ratio.sel(preferred_orientation=0).min())
    assert float(ratio.mean("stimulus_orientation").idxmin()) == 0.0
    # ... while for units preferring the orthogonal orientation adaptation is nearly a
    # pure change of gain (the same factor at every stimulus)
    far = ratio.sel(preferred_orientation=90)
    assert float(far.max() / far.min()) < 1.05
