"""Fitting the model to Benucci-format data recovers the generating parameters."""

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
)

# Stated tolerances for 6 sessions x 100 units, 400 presentations per condition,
# 10 spikes at the peak (the generator's defaults), fitted with the units' estimated
# preferences: tuning width within 5 %, recurrent strength within 0.06, recurrent
# width within 15 %.  Over 8 seeds the largest errors were 2 %, 0.049 and 8 % for
# (2.0, 0.4, 4.0) and 1.3 %, 0.019 and 6 % for (1.5, 0.6, 3.0).
RTOL_KAPPA, ATOL_STRENGTH, RTOL_KAPPA_W = 0.05, 0.06, 0.15


def _assert_recovered(est, truth):
    kappa, strength, kappa_w = est
    assert abs(kappa / truth[0] - 1) < RTOL_KAPPA, est
    assert abs(strength - truth[1]) < ATOL_STRENGTH, est
    assert abs(kappa_w / truth[2] - 1) < RTOL_KAPPA_W, est


@pytest.mark.parametrize("truth", [(1.8, 0.5, 3.0), (2.5, 0.3, 6.0)])
def test_noise_free_data_are_fitted_exactly(truth):
    data = predict_adaptation(*truth, p_adapter=0.3).expand_dims(session=1)
    fit = fit_adaptation_model(data, p_adapter=0.3, n_init=1)
    np.testing.assert_allclose(fit.estimate, truth, rtol=1e-5)
    assert float(fit.rmse) < 1e-8


@pytest.mark.parametrize(("truth", "seed"), [((2.0, 0.4, 4.0), 0), ((1.5, 0.6, 3.0), 1)])
def test_parameters_are_recovered_from_the_synthetic_experiment(truth, seed):
    ds = make_adaptation_experiment(tuning_kappa=truth[0], recurrent_strength=truth[1],
                                    recurrent_kappa=truth[2], random_state=seed)
    # one start, away from the truth
    fit = fit_adaptation_model(ds, n_init=1, init=(1.0, 0.2, 8.0))
    assert fit.attrs["unit_preferences_used"] == 1
    _assert_recovered(fit.estimate.values, truth)
    assert float(fit.r2) > 0.98
    assert np.all(np.isfinite(fit.stderr)) and np.all(fit.stderr > 0)
    # the Benucci array alone (no unit preferences) still fits, less precisely
    coarse = fit_adaptation_model(ds.responses, p_adapter=0.3, n_init=1)
    assert coarse.attrs["unit_preferences_used"] == 0
    assert abs(float(coarse.estimate.sel(parameter="tuning_kappa")) / truth[0] - 1) < 0.1


def test_fitting_from_trial_recordings_and_the_estimator():
    truth = (1.5, 0.6, 3.0)
    recs = [make_adaptation_trials(100, tuning_kappa=truth[0], recurrent_strength=truth[1],
                                   recurrent_kappa=truth[2], random_state=20 + s)
            for s in range(6)]
    model = AdaptiveGainModel(n_init=1).fit(recs)
    _assert_recovered([model.params_[k] for k in ("tuning_kappa", "recurrent_strength",
                                                  "recurrent_kappa")], truth)
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
    assert float(h.best_cost[-1]) < 0.05 * float(h.cost[0])


def test_predict_takes_orientations_or_data():
    truth = (1.5, 0.6, 3.0)
    rec = make_adaptation_trials(100, tuning_kappa=truth[0], recurrent_strength=truth[1],
                                 recurrent_kappa=truth[2], random_state=3)
    model = AdaptiveGainModel(n_init=1).fit(rec)
    # for data: the model's values in Benucci format, those the fit compared
    pred = model.predict(rec)
    assert pred.dims == BENUCCI_DIMS
    np.testing.assert_allclose(pred.values, model.result_.fitted.values, rtol=1e-10)
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
        fit_adaptation_model(model.data_, n_starts=1, max_iter=2)


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
    with pytest.raises(NeurodataError, match="n_model_units=8 leaves some"):
        predict_adaptation(n_model_units=8)


def test_prediction_shows_adaptation_in_benucci_format():
    pred = predict_adaptation(p_adapter=0.3)
    uniform, biased = pred.sel(condition="uniform"), pred.sel(condition="biased")
    # units preferring the adapter respond less to it after adaptation ...
    assert float(biased.sel(preferred_orientation=0, stimulus_orientation=0)) < \
        0.9 * float(uniform.sel(preferred_orientation=0, stimulus_orientation=0))
    # ... the strongest suppression is there: adapter-preferring units, adapter stimulus
    ratio = (biased / uniform).isel(stimulus_orientation=slice(0, -1))
    assert float(ratio.min()) == float(ratio.sel(preferred_orientation=0, stimulus_orientation=0))
    # ... while for units preferring the orthogonal orientation adaptation is nearly a
    # pure change of gain (the same factor at every stimulus)
    far = ratio.sel(preferred_orientation=90)
    assert float(far.max() / far.min()) < 1.05
