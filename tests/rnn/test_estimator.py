"""SparseRNN: the paper's claim, recovery of a same-class teacher, API and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodata.errors import (
    InvalidRecordingError,
    NeurodataDeprecationWarning,
    NotFittedError,
    ShapeError,
)
from neurodata.rnn import SparseRNN, percent_variance_explained


def test_sparse_sampling_beats_output_only(motor_teacher):
    """Salatiello & Giese (2020): constraining 10 % of the teacher's units makes the
    student's UNSAMPLED dynamics closer to the teacher's and its outputs on held-out
    reach conditions better.  Margins (this seed; see docs/rnn.rst for more seeds):
    CCA similarity +0.04 or more, held-out error halved or better."""
    train = motor_teacher.isel(trial=slice(0, None, 2))
    test = motor_teacher.isel(trial=slice(1, None, 2))
    result = {}
    for fraction in (0.0, 0.1):
        model = SparseRNN(100, sampled_fraction=fraction, n_epochs=15, random_state=0,
                          progress=False).fit(train.inputs, train.outputs, train.rates)
        sim = model.dynamics_similarity(test.inputs, test.rates)
        result[fraction] = (1 - model.score(test.inputs, test.outputs), sim["cca"])
    (err0, cca0), (err1, cca1) = result[0.0], result[0.1]
    assert cca1 > cca0 + 0.04
    assert err1 < 0.5 * err0


@pytest.mark.parametrize("method", ["force", "bptt"])
def test_sampled_units_are_reproduced(small_motor_teacher, method):
    if method == "bptt":
        pytest.importorskip("torch")
    t = small_motor_teacher
    model = SparseRNN(40, method=method, sampled_fraction=0.25, n_epochs=30, max_iter=150,
                      learning_rate=0.02, random_state=1, progress=False)
    model.fit(t.inputs, t.outputs, t.rates)
    assert model.sampled_units_.size == 10 and model.unsampled_units_.size == 30
    assert model.score(t.inputs, t.outputs) > 0.85
    if method == "bptt":  # the mapped student units follow the sampled teacher units
        rates = model.predict(t.inputs).rates.values[..., model.mapped_units_]
        target = t.rates.sel(unit=model.sampled_units_).values / model.recorded_scale_
        assert percent_variance_explained(rates, target) > 0.8


def test_recovers_a_same_class_teacher(rnn_teacher):
    """All units sampled, student of the teacher's class: pVar > 0.95 on every unit."""
    pytest.importorskip("torch")
    t = rnn_teacher
    model = SparseRNN(20, method="bptt", sampled_fraction=1.0, g=1.0, max_iter=300,
                      learning_rate=0.02, random_state=0, progress=False)
    model.fit(t.inputs, t.outputs, t.rates)
    rates = model.predict(t.inputs).rates.values * model.recorded_scale_
    order = np.argsort(model.sampled_units_)  # student unit i <-> sampled unit i
    assert percent_variance_explained(rates[..., order], t.rates.values) > 0.95
    assert model.score(t.inputs, t.outputs) > 0.95


def test_seeded_fit_is_reproducible(small_motor_teacher):
    t = small_motor_teacher
    kw = dict(sampled_fraction=0.2, n_epochs=2, random_state=7, progress=False)
    before = t.rates.copy(deep=True)
    a = SparseRNN(30, **kw).fit(t.inputs, t.outputs, t.rates)
    assert t.rates.identical(before)  # the caller's data are never modified
    b = SparseRNN(30, **kw).fit(t.inputs, t.outputs, t.rates)
    np.testing.assert_array_equal(a.weights_.values, b.weights_.values)
    np.testing.assert_array_equal(a.sampled_units_, b.sampled_units_)


def test_labels_select_the_sampled_units(small_motor_teacher):
    t = small_motor_teacher
    rec = t.rates.assign_coords(unit=[f"n{i}" for i in range(t.sizes["unit"])])
    model = SparseRNN(30, n_epochs=1, progress=False)
    model.fit(t.inputs, t.outputs, rec, sampled=["n3", "n17"])
    assert list(model.sampled_units_) == ["n3", "n17"]
    assert "n3" not in model.unsampled_units_ and model.unsampled_units_.size == 38
    out = model.predict(t.inputs)
    assert out.outputs.dims == ("trial", "time", "output")
    assert out.rates.dims == ("trial", "time", "model_unit")
    np.testing.assert_array_equal(out.time.values, t.time.values)
    assert model.get_params()["n_units"] == 30


def test_single_trial_time_by_unit_recording(small_motor_teacher):
    t = small_motor_teacher.isel(trial=0)
    model = SparseRNN(20, sampled_fraction=0.1, n_epochs=2, progress=False)
    model.fit(t.inputs, t.outputs, t.rates)
    assert model.predict(t.inputs).outputs.shape == (1, t.sizes["time"], 2)


def test_bad_input_is_named(small_motor_teacher):
    t = small_motor_teacher
    model = SparseRNN(20, n_epochs=1, progress=False)
    nan_rates = t.rates.copy()
    nan_rates[0, 5, 2] = np.nan
    with pytest.raises(InvalidRecordingError, match="NaN"):
        model.fit(t.inputs, t.outputs, nan_rates)
    with pytest.raises(InvalidRecordingError, match="not among"):
        model.fit(t.inputs, t.outputs, t.rates, sampled=[0, 999])
    with pytest.raises(InvalidRecordingError, match="time points"):
        short = t.isel(time=slice(0, 2))
        model.fit(short.inputs, short.outputs, short.rates)
    with pytest.raises(ShapeError, match="trial"):
        model.fit(t.inputs, t.outputs, t.rates.isel(trial=slice(0, 2)))
    with pytest.raises(InvalidRecordingError, match="unit"):
        model.fit(t.inputs, t.outputs, t.rates.rename(unit="neuron"))
    with pytest.raises(NotFittedError, match="not fitted"):
        SparseRNN().predict(t.inputs)
    with pytest.raises(ShapeError, match="n_units"):
        SparseRNN(5, method="bptt", sampled_fraction=0.5, progress=False).fit(
            t.inputs, t.outputs, t.rates)


def test_plain_arrays_with_dims(small_motor_teacher):
    t = small_motor_teacher
    u = xr.DataArray(t.inputs.values, dims=("trial", "time", "input"))
    model = SparseRNN(20, n_epochs=1, dt=0.005, progress=False)
    model.fit(u, t.outputs.values, t.rates.values)
    assert model.dt_ == 0.005


def test_old_parameter_names_still_work_with_a_warning():
    with pytest.warns(NeurodataDeprecationWarning, match="'n_iter' is now called 'max_iter'"):
        model = SparseRNN(10, method="bptt", n_iter=7)
    assert model.get_params()["max_iter"] == 7 and "n_iter" not in model.get_params()
