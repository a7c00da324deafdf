"""From recordings (spike trains, NWB) through the recording entry points to the rnn fits."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import neurodata as nd
from neurodata.datasets import make_motor_teacher, make_three_region_network
from neurodata.errors import NeurodataError, NoNeuralDataError
from neurodata.io._h5 import file_sha256
from neurodata.rnn import SparseRNN, fit_curbd, region_currents
from neurodata.signals import firing_rates
from tests.conftest import shared_file

DT = 0.005
TEACHER = dict(n_conditions=4, dt=DT, duration=0.2, prep_duration=0.1, random_state=1)
SELECT = dict(bin_size=DT, smooth=0.02, behaviour="emg", stimulus="cue", trials="trial",
              condition="condition")


@pytest.fixture(scope="module")
def spiking_nwb(tmp_path_factory):
    """The small motor teacher, 30 trials per condition of Poisson spikes, as an NWB file."""
    rec = make_motor_teacher(40, n_repeats=30, spikes=True, **TEACHER)
    path = nd.save_nwb(rec.drop_vars("rates"), tmp_path_factory.mktemp("rnn") / "motor.nwb")
    return rec, path


def _array_path(rec: xr.Dataset, trials: xr.Dataset
                ) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """The same preprocessing by hand: rates from spikes, trials by reshape, PSTH by
    condition; the cue and EMG of each condition from ``trials``."""
    start = float(rec.trial_start_time[0]) - DT / 2
    rates = firing_rates(rec, DT, smooth=0.02, start=start,
                         stop=float(rec.trial_stop_time[-1]) - DT / 2)
    n = rec.sizes["trial"]
    steps = rates.sizes["time"] // n
    cond = rec.trial_condition.values
    psth = rates.values[:n * steps].reshape(n, steps, -1)
    psth = np.stack([psth[cond == c].mean(0) for c in range(4)])
    recorded = xr.DataArray(psth, dims=("trial", "time", "unit"),
                            coords={"time": trials.time, "unit": rec.unit.values})
    return trials.inputs, trials.outputs, recorded


def test_sparse_rnn_fits_an_nwb_recording_as_well_as_arrays(spiking_nwb, small_motor_teacher):
    """Must show (issue 12): save_nwb -> open_nwb -> fit(recording) recovers the planted
    teacher (its outputs and its unsampled units, noise-free) as well as the array path,
    and is in fact the same computation."""
    rec, path = spiking_nwb
    before = file_sha256(path)
    back = nd.open_nwb(path)
    model = SparseRNN(40, sampled_fraction=0.25, n_epochs=30, random_state=0, progress=False)
    model.fit(back, **SELECT)
    assert file_sha256(path) == before
    u, z, recorded = _array_path(rec, small_motor_teacher)
    arrays = SparseRNN(40, sampled_fraction=0.25, n_epochs=30, random_state=0,
                       progress=False).fit(u, z, recorded)
    np.testing.assert_array_equal(model.sampled_units_, arrays.sampled_units_)
    np.testing.assert_allclose(model.weights_.values, arrays.weights_.values, atol=1e-8)
    truth = small_motor_teacher  # the noise-free teacher the spikes were drawn from
    score = model.score(truth.inputs, truth.outputs)
    sim = model.dynamics_similarity(truth.inputs, truth.rates)
    assert score == pytest.approx(arrays.score(truth.inputs, truth.outputs), abs=1e-8)
    assert score == pytest.approx(model.score(back, **SELECT), abs=0.02)
    # the noise-free rates themselves (the best any spike path can do)
    clean = SparseRNN(40, sampled_fraction=0.25, n_epochs=30, random_state=0,
                      progress=False).fit(truth.inputs, truth.outputs, truth.rates)
    clean_sim = clean.dynamics_similarity(truth.inputs, truth.rates)
    assert score > 0.95 and score > clean.score(truth.inputs, truth.outputs) - 0.02
    assert sim["cca"] > clean_sim["cca"] - 0.02


def test_predict_on_a_recording_reuses_the_fit_selectors(small_motor_recording,
                                                         small_motor_teacher):
    sel = dict(variable="rates", behaviour="emg", stimulus="cue", trials="trial")
    model = SparseRNN(30, sampled_fraction=0.2, n_epochs=3, random_state=0, progress=False)
    model.fit(small_motor_recording, **sel)
    out = model.predict(small_motor_recording)
    assert out.rates.dims == ("trial", "time", "model_unit")
    np.testing.assert_allclose(out.outputs.values,
                               model.predict(small_motor_teacher.inputs).outputs.values)
    assert model.score(small_motor_recording) == pytest.approx(
        model.score(small_motor_teacher.inputs, small_motor_teacher.outputs))
    sim = model.dynamics_similarity(small_motor_recording)
    assert sim == pytest.approx(model.dynamics_similarity(small_motor_teacher.inputs,
                                                          small_motor_teacher.rates))


def test_a_recording_lacking_what_the_fit_needs_is_named(spiking_nwb):
    _, path = spiking_nwb
    before = file_sha256(path)
    back = nd.open_nwb(path)
    model = SparseRNN(10, n_epochs=1, progress=False)
    with pytest.raises(NeurodataError, match="behaviour="):
        model.fit(back, bin_size=DT, stimulus="cue", trials="trial")
    with pytest.raises(NoNeuralDataError, match="no series 'hand'.*emg"):
        model.fit(back, bin_size=DT, behaviour="hand", stimulus="cue", trials="trial")
    with pytest.raises(NoNeuralDataError, match="pass bin_size="):
        model.fit(back, behaviour="emg", stimulus="cue", trials="trial")
    with pytest.raises(NoNeuralDataError, match="no 'epoch' interval table"):
        model.fit(back, bin_size=DT, behaviour="emg", stimulus="cue", trials="epoch")
    with pytest.raises(NoNeuralDataError, match="no column 'reach'.*condition"):
        model.fit(back, bin_size=DT, behaviour="emg", stimulus="cue", trials="trial",
                  condition="reach")
    with pytest.raises(NeurodataError, match="extend beyond"):
        model.fit(back, bin_size=DT, behaviour="emg", stimulus="cue", trials="trial",
                  window=(-5.0, 0.1))
    with pytest.raises(NoNeuralDataError, match="spike trains"):
        model.fit(back.drop_vars(["spike_times", "spike_unit"]), bin_size=DT,
                  behaviour="emg", trials="trial")
    with pytest.raises(NeurodataError, match="unknown selector"):
        model.fit(back, bin_size=DT, behaviour="emg", regions="location")
    assert file_sha256(path) == before


def test_curbd_fits_an_nwb_recording_as_it_fits_arrays(tmp_path):
    net = make_three_region_network(8, duration=1.0, n_trials=2, spikes=True, max_rate=100.0,
                                    random_state=0)
    path = nd.save_nwb(net.drop_vars("rates"), tmp_path / "regions.nwb")
    before = file_sha256(path)
    kw = dict(tau=0.1, n_epochs=3, random_state=0, progress=False)
    fit = fit_curbd(nd.open_nwb(path), "region", trials="trial", bin_size=0.01, smooth=0.05,
                    **kw)
    assert file_sha256(path) == before
    rates = firing_rates(net, 0.01, smooth=0.05, start=1.0 - 0.005,
                         stop=float(net.trial_stop_time[-1]) - 0.005)
    steps = rates.sizes["time"] // 2
    trials = xr.DataArray(rates.values[:2 * steps].reshape(2, steps, -1),
                          dims=("trial", "time", "unit"),
                          coords={"time": np.arange(steps) * 0.01, "unit": net.unit.values,
                                  "region": ("unit", net.region.values)})
    arrays = fit_curbd(trials, "region", **kw)
    np.testing.assert_allclose(fit.weights.values, arrays.weights.values, atol=1e-10)
    np.testing.assert_array_equal(fit.currents.region.values, net.region.values)
    xr.testing.assert_allclose(region_currents(fit), region_currents(arrays))
    # one recording, no trials: the session's own time axis
    whole = fit_curbd(net, "region", **kw)
    assert whole.currents.dims == ("source", "time", "unit")
    np.testing.assert_allclose(whole.time.values, net.time.values)


@pytest.mark.shared_data
def test_curbd_on_a_real_two_region_recording():
    """Neurosuite session: 15 units in anterodorsal thalamus and CA1; CURBD on
    smoothed firing rates, with the NWB 'location' column as regions."""
    path = shared_file("nwb/pynapple_neurosuite_A2929-200711.nwb")
    ds = nd.open_nwb(path)
    fit = fit_curbd(ds, "location", bin_size=0.05, smooth=0.25, trials=[(600.0, 630.0)],
                    tau=0.1, n_epochs=20, random_state=0, progress=False)
    assert sorted(fit.currents.source.values) == ["adn", "ca1"]
    np.testing.assert_array_equal(fit.currents.unit.values, ds.unit.values)
    np.testing.assert_array_equal(fit.currents.region.values, ds.location.values)
    total = fit.currents.sum("source").values
    np.testing.assert_allclose(total, fit.model_rates.values @ fit.weights.values.T, atol=1e-12)
    assert fit.pvar_curve.values[-1] > fit.pvar_curve.values[0]
    assert fit.attrs["pvar"] > 0.2
