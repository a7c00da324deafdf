"""Model comparison, its confusion matrix in miniature, cross-validation over sessions."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodata.errors import NeurodataError
from neurodata.gain_control import (
    compare_models,
    cross_validate_sessions,
    model_confusion,
    rival_model,
    rival_models,
    simulate_benucci,
)


def test_simulated_data_are_the_published_layout_and_seeded():
    a = simulate_benucci("equalize", n_sessions=3, random_state=4)
    b = simulate_benucci("equalize", n_sessions=3, random_state=4)
    xr.testing.assert_identical(a, b)
    assert a.responses.shape == (3, 13, 21, 2)
    np.testing.assert_array_equal(a.responses.isel(stimulus_orientation=0),
                                  a.responses.isel(stimulus_orientation=-1))
    assert str(a.normalization.values) == "none"
    clean = simulate_benucci("equalize", n_sessions=3, noise=0.0, random_state=4)
    assert float(clean.responses.min()) >= 2.0 - 1e-12  # rates, each row above its floor
    assert a.true_params.parameter.values.tolist() == list(rival_model("equalize").parameters)
    np.testing.assert_allclose(a.p_adapter, [0.5, 0.35, 0.35])


@pytest.mark.parametrize("truth", ["no_recurrence", "normalization", "gain/total/log_gain"])
def test_the_comparison_picks_the_generating_model(truth):
    models = ["gain/total/log_gain", "no_recurrence", "normalization"]
    data = simulate_benucci(truth, n_sessions=3, p_adapter=[0.3, 0.4, 0.5], noise=0.03,
                            random_state=7)
    table = compare_models(data, models, n_init=1, random_state=0)
    assert table.attrs["best"] == truth
    assert float(table.delta_bic.sel(model=truth)) == 0.0
    assert float(table.delta_bic.drop_sel(model=truth).min()) > 10
    # every model saw the same data under the same likelihood
    n = table.n_params.values
    assert np.all(n > 2 * 36)  # model parameters, 2 per row (affine), the variance


def test_a_tiny_confusion_matrix():
    cm = model_confusion(["no_recurrence", "gain/total/log_gain"], n_datasets=2, n_sessions=2,
                         noise=0.02, n_init=1, random_state=0)
    np.testing.assert_array_equal(cm.counts.values, [[2, 0], [0, 2]])
    # recovery with free adapter probabilities
    err = abs(cm.recovered_p - cm.true_p)
    assert float(err.max()) < 0.1
    base = cm.sel(parameter="baseline")
    assert float(abs(base.recovered - base.true_params).max()) < 0.05


def test_leave_one_session_out():
    data = simulate_benucci("gain/total/log_gain", n_sessions=3, p_adapter=[0.3, 0.4, 0.5],
                            noise=0.03, random_state=3)
    right = cross_validate_sessions(data, "gain", n_init=1, random_state=0)
    wrong = cross_validate_sessions(data, "no_recurrence", n_init=1, random_state=0)
    assert right.sizes["session"] == 3
    assert float(right.mean_rmse) < float(wrong.mean_rmse)
    assert float(right.mean_rmse) < 0.05
    with pytest.raises(NeurodataError, match="at least 2 sessions"):
        cross_validate_sessions(data.isel(session=[0]), "gain")


def test_the_default_comparison_set():
    names = [m.name for m in rival_models()]
    assert names[:4] == ["gain/total/log_gain", "gain/total/fisher_gaussian",
                         "gain/input/log_gain", "gain/input/fisher_gaussian"]
    assert names[4:] == ["no_recurrence", "equalize", "normalization"]
