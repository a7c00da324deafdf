"""Benucci-format data: conversion from trial recordings, validation, generator."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodata import validate
from neurodata.datasets import make_adaptation_experiment, make_adaptation_trials
from neurodata.errors import NeurodataError, NeurodataWarning, NoNeuralDataError, ShapeError
from neurodata.gain_control import (
    BENUCCI_DIMS,
    benucci_format,
    check_benucci,
    optimal_gains,
    predict_adaptation,
    ring_network,
    steady_state,
    stimulus_ensemble,
)
from neurodata.signals import trial_responses


@pytest.fixture(scope="module")
def experiment():
    return make_adaptation_experiment(3, n_units=80, n_trials=300, random_state=0)


def test_generator_produces_the_benucci_shape(experiment):
    r = experiment.responses
    assert r.dims == BENUCCI_DIMS
    assert r.shape == (3, 13, 21, 2)
    np.testing.assert_allclose(r.preferred_orientation, np.arange(-90, 91, 15))
    np.testing.assert_allclose(r.stimulus_orientation, np.arange(-90, 91, 9))
    assert list(r.condition.values) == ["uniform", "biased"]
    # the circle is closed: +90 repeats -90 along both orientation axes
    np.testing.assert_array_equal(r.isel(preferred_orientation=0), r.isel(preferred_orientation=-1))
    np.testing.assert_array_equal(r.isel(stimulus_orientation=0), r.isel(stimulus_orientation=-1))
    assert float(experiment.true_recurrent_strength) == 0.4
    assert int(experiment.n_units.isel(preferred_orientation=slice(0, -1)).sum()) == 3 * 80


def test_units_are_normalised_by_their_uniform_mean(experiment):
    uniform = experiment.responses.sel(condition="uniform").isel(stimulus_orientation=slice(0, -1))
    np.testing.assert_allclose(uniform.mean("stimulus_orientation"), 1.0, rtol=1e-12)
    # max normalisation instead makes every unit peak at 1, so bins peak at or below 1
    rec = make_adaptation_trials(40, n_trials=300, random_state=2)
    peak = benucci_format(rec, normalization="max").responses.sel(condition="uniform").max(
        "stimulus_orientation")
    assert float(peak.max()) <= 1.0 + 1e-12 and float(peak.min()) > 0.5


def _noise_free(n_units, n_trials, seed):
    """A (trial, unit) array of expected counts (no Poisson noise), with the truth."""
    from neurodata.datasets._gain_control import _expected_counts

    lam, theta, c, pref, _ = _expected_counts(n_units, n_trials, 10.0, 0.3, 0.3,
                                              (60, 2.0, 0.4, 4.0, 0.0), (20, "input", "log_gain"),
                                              np.random.default_rng(seed))
    return xr.DataArray(lam, dims=("trial", "unit"), coords={
        "stimulus_orientation": ("trial", theta),
        "condition": ("trial", np.array(["uniform", "biased"])[c]),
        "true_preferred_orientation": ("unit", pref)})


def test_conversion_matches_the_model_without_noise():
    rec = _noise_free(200, 1000, 0)
    ds = benucci_format(rec)
    data = ds.responses.isel(session=0)
    # expected: each unit's model tuning curve, normalised by its uniform mean,
    # averaged over the units whose true preferred orientation falls in the bin
    net = ring_network(60)
    closed = np.linspace(-90, 90, 21)
    curves = np.stack([steady_state(net, closed, optimal_gains(net, ens, gain_site="input"),
                                    gain_site="input").values
                       for ens in (stimulus_ensemble(20), stimulus_ensemble(20, p_adapter=0.3))],
                      axis=-1)
    curves /= curves[:, :-1, 0].mean(axis=1)[:, None, None]
    idx = np.searchsorted(net.preferred_orientation.values, rec.true_preferred_orientation.values)
    bins = np.round((rec.true_preferred_orientation.values + 90) / 15).astype(int) % 12
    expected = np.stack([curves[idx[bins == b]].mean(axis=0) for b in range(12)])
    np.testing.assert_allclose(data.values[:-1], expected, rtol=1e-10)
    np.testing.assert_array_equal(ds.n_units.values[0, :-1], np.bincount(bins, minlength=12))
    # the estimated unit preferences are the true ones (noise-free)
    diff = ds.unit_preference.isel(session=0).values - rec.true_preferred_orientation.values
    assert np.abs((diff + 90) % 180 - 90).max() < 1e-9
    # the design's adapter and its probability are read from the trials
    assert float(ds.adapter[0]) == 0.0 and float(ds.p_adapter[0]) == pytest.approx(0.3)
    # and with every model neuron equally represented it is the model prediction
    pred = predict_adaptation(2.0, 0.4, 4.0, p_adapter=0.3, gain_site="input")
    equal = np.stack([curves[(np.round((net.preferred_orientation.values + 90) / 15) % 12) == b]
                      .mean(axis=0) for b in range(12)])
    np.testing.assert_allclose(pred.values[:-1], equal, rtol=1e-10)


def _counts(rec):
    """The (trial, unit) spike counts of a recording: the lower-level path."""
    return trial_responses(rec, kind="count")


def test_recordings_and_their_counts_give_the_same_format():
    rec = make_adaptation_trials(30, n_trials=300, random_state=5)
    from_rec = benucci_format(rec)
    from_counts = benucci_format(_counts(rec))
    xr.testing.assert_allclose(from_rec.drop_vars("session"), from_counts.drop_vars("session"))
    assert from_rec.session.values.tolist() == [rec.attrs["nwb_identifier"]]
    # a response window inside each 250 ms presentation changes the rates, not the design
    early = benucci_format(rec, window=(0.0, 0.1))
    assert float(early.p_adapter[0]) == pytest.approx(0.3)
    assert not np.allclose(early.responses, from_rec.responses)


def test_orientations_are_taken_relative_to_the_adapter():
    a = benucci_format(make_adaptation_trials(30, n_trials=300, random_state=5))
    b = make_adaptation_trials(30, n_trials=300, adapter=36.0, random_state=5)
    for adapter in (None, 36.0):  # found as the most frequent biased orientation, or given
        got = benucci_format(b, adapter=adapter)
        xr.testing.assert_allclose(a.drop_vars(["adapter", "session"]),
                                   got.drop_vars(["adapter", "session"]), rtol=1e-12)
        assert float(got.adapter[0]) == 36.0


def test_aligned_recordings_are_averaged_over_the_response_window():
    rec = _counts(make_adaptation_trials(30, n_trials=300, random_state=5))
    # an aligned recording: baseline (before onset) of 100 and the response after it
    aligned = xr.concat([rec * 0 + 100.0, rec, rec], dim="time_rel").assign_coords(
        time_rel=[-0.05, 0.0, 0.05]).transpose("trial", "time_rel", "unit")
    expected = benucci_format(rec)
    xr.testing.assert_allclose(benucci_format(aligned), expected)
    xr.testing.assert_allclose(benucci_format(aligned, response_window=(0.0, 0.1)), expected)
    with pytest.raises(NeurodataError, match="no samples of time_rel"):
        benucci_format(aligned, response_window=(1.0, 2.0))


def test_sessions_stack():
    recs = [make_adaptation_trials(30, n_trials=300, random_state=s) for s in range(2)]
    data = benucci_format(recs)
    assert data.sizes["session"] == 2
    one = benucci_format(recs[1]).isel(session=0)
    np.testing.assert_allclose(data.responses.isel(session=1), one.responses)
    n = int(one.unit_preference.notnull().sum())
    np.testing.assert_allclose(data.unit_preference.isel(session=1, unit=slice(0, n)),
                               one.unit_preference.isel(unit=slice(0, n)))
    # the dict of open_folder names the sessions
    named = benucci_format({"cat1": recs[0], "cat2": recs[1]})
    assert named.session.values.tolist() == ["cat1", "cat2"]
    np.testing.assert_allclose(named.responses, data.responses)


def test_bad_recordings_raise_clear_errors():
    rec = _counts(make_adaptation_trials(10, n_trials=300, random_state=0))
    with pytest.raises(NeurodataError, match="non-negative rates"):
        benucci_format(rec - 5.0)
    with pytest.raises(NoNeuralDataError, match="no 'condition' column"):
        benucci_format(rec.drop_vars("trial_condition"))
    with pytest.raises(ShapeError, match=r"dims \('trial', 'unit'\)"):
        benucci_format(rec.expand_dims(time=2))
    # orientations in radians are not a periodic grid in degrees
    rad = rec.assign_coords(trial_stimulus_orientation=np.deg2rad(
        rec.trial_stimulus_orientation + 90.0))
    with pytest.raises(ShapeError, match="degrees on an even grid"):
        benucci_format(rad, adapter=0.0)
    # half the circle only
    half = rec.isel(trial=np.flatnonzero(abs(rec.trial_stimulus_orientation.values) < 45))
    with pytest.raises(ShapeError, match=r"evenly spaced|span one orientation period"):
        benucci_format(half)
    typo = rec.assign_coords(trial_condition=("trial", np.where(
        rec.trial_condition == "biased", "biassed", "uniform")))
    with pytest.raises(NeurodataError, match="biassed"):
        benucci_format(typo)
    with pytest.raises(NoNeuralDataError, match="no trial of the 'biased' condition"):
        benucci_format(rec.isel(trial=np.flatnonzero(rec.trial_condition == "uniform")))
    # other column names are named with stimulus= / condition=
    renamed = rec.rename(trial_condition="trial_ensemble", trial_stimulus_orientation="trial_ori")
    xr.testing.assert_allclose(benucci_format(renamed, stimulus="ori", condition="ensemble"),
                               benucci_format(rec))


def test_silent_units_are_dropped_with_a_warning():
    rec = _counts(make_adaptation_trials(10, n_trials=300, random_state=0)).copy()
    rec[:, 3] = 0.0
    with pytest.warns(NeurodataWarning, match="dropped 1 unit"):
        data = benucci_format(rec)
    assert int(data.n_units.isel(session=0, preferred_orientation=slice(0, -1)).sum()) == 9
    assert data.sizes["unit"] == 9


def test_check_benucci_validates_the_format(experiment):
    good = experiment.responses
    assert check_benucci(experiment).dims == BENUCCI_DIMS
    assert check_benucci(good.transpose("condition", ...)).dims == BENUCCI_DIMS
    with pytest.raises(ShapeError, match="must have dims"):
        check_benucci(good.isel(session=0))
    with pytest.raises(ShapeError, match="span one orientation period"):
        check_benucci(good.assign_coords(preferred_orientation=np.linspace(0, 90, 13)))
    with pytest.raises(ShapeError, match="condition"):
        check_benucci(good.assign_coords(condition=["a", "b"]))
    with pytest.raises(NeurodataError, match="non-negative"):
        check_benucci(-good)
    with pytest.raises(ShapeError, match="DataArray"):
        check_benucci(np.zeros((1, 13, 21, 2)))
    bad = xr.Dataset({"rates": good})
    with pytest.raises(ShapeError, match="'responses'"):
        check_benucci(bad)


def test_generator_is_seeded_and_valid():
    a = make_adaptation_experiment(2, n_units=30, n_trials=300, random_state=7)
    b = make_adaptation_experiment(2, n_units=30, n_trials=300, random_state=7)
    c = make_adaptation_experiment(2, n_units=30, n_trials=300, random_state=8)
    xr.testing.assert_identical(a, b)
    assert not np.allclose(a.responses, c.responses, equal_nan=True)
    rec = make_adaptation_trials(12, n_trials=100, random_state=1)
    validate(rec)
    # every orientation equally often in the uniform block, the adapter 30 % of the biased
    cond, ori = rec.trial_condition.values, rec.trial_stimulus_orientation.values
    assert set(np.unique(ori[cond == "uniform"], return_counts=True)[1]) == {5}
    assert np.mean(ori[cond == "biased"] == 0.0) == pytest.approx(0.3)
    # spikes fall in their trial at the expected rate
    counts = trial_responses(rec, kind="count").values
    assert counts.sum() == rec.sizes["spike"]


def test_a_spike_recording_aligned_with_signals_align():
    """From spike trains and a trial table, through align, to the Benucci format."""
    from neurodata.signals import align

    rec = make_adaptation_trials(20, n_trials=300, random_state=3)
    aligned = align(rec, "trial", (-0.05, 0.25), bin_size=0.05)
    assert aligned.dims == ("trial", "time_rel", "unit")
    data = benucci_format(aligned, response_window=(0.0, 0.25))
    xr.testing.assert_allclose(data.drop_vars("session"),
                               benucci_format(rec).drop_vars("session"))
