"""From recordings (spike trains, NWB) through bin_spikes/align to the rnn fits."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import neurodata as nd
from neurodata.rnn import SparseRNN, fit_curbd
from neurodata.signals import align, bin_spikes
from tests.conftest import shared_file


def _spiking_recording(teacher: xr.Dataset, repeats: int, rng) -> xr.Dataset:
    """Poisson spike trains of the teacher's rates, ``repeats`` trials per condition."""
    rates = teacher.rates.values  # (condition, time, unit), Hz, piecewise constant per bin
    dt = float(teacher.attrs["dt"])
    n_cond, n_bins, n_units = rates.shape
    gap = n_bins * dt + 0.5
    cond = np.tile(np.arange(n_cond), repeats)
    onset = np.arange(cond.size) * gap + 1.0  # movement onset of every trial
    counts = rng.poisson(rates[cond] * dt)  # (trial, bin, unit)
    trial, b, unit = np.nonzero(counts)
    k = counts[trial, b, unit]
    trial, b, unit = (np.repeat(v, k) for v in (trial, b, unit))
    t0 = onset[trial] + teacher.time.values[b] - dt / 2
    times = t0 + dt * rng.random(t0.size)
    order = np.argsort(times, kind="stable")
    labels = np.array([f"n{i:03d}" for i in range(n_units)])
    return xr.Dataset(
        {"spike_times": ("spike", times[order]), "spike_unit": ("spike", labels[unit[order]])},
        coords={"unit": labels, "location": ("unit", teacher.unit_type.values),
                "trial_start_time": ("trial", onset + teacher.time.values[0] - dt / 2),
                "trial_stop_time": ("trial", onset + teacher.time.values[-1] + dt / 2),
                "trial_onset": ("trial", onset), "trial_condition": ("trial", cond)},
    )


def test_sparse_rnn_from_spike_trains(small_motor_teacher):
    teacher = small_motor_teacher
    rec = nd.validate(_spiking_recording(teacher, 150, np.random.default_rng(0)))
    dt = float(teacher.attrs["dt"])
    window = (float(teacher.time[0]) - dt / 2, float(teacher.time[-1]) + dt / 2)
    counts = align(rec, "trial_onset", window, bin_size=dt)
    assert counts.dims == ("trial", "time_rel", "unit")
    psth = (counts / dt).groupby("trial_condition").mean().rename(trial_condition="trial")
    psth = psth.transpose("trial", "time_rel", "unit")
    # the aligned, trial-averaged rates are the teacher's up to Poisson noise, whose
    # variance is rate / (dt * repeats): a bin's misalignment would add much more
    mse = np.mean((psth.values - teacher.rates.values) ** 2)
    assert mse / np.mean(teacher.rates.values / (dt * 150)) == pytest.approx(1.0, abs=0.08)
    sampled = ["n001", "n007", "n020", "n033"]
    model = SparseRNN(40, n_epochs=30, random_state=0, progress=False)
    model.fit(teacher.inputs, teacher.outputs, psth, sampled=sampled)
    assert list(model.sampled_units_) == sampled
    assert model.dt_ == pytest.approx(dt)
    assert model.score(teacher.inputs, teacher.outputs) > 0.8


@pytest.mark.shared_data
def test_curbd_on_a_real_two_region_recording():
    """Neurosuite session: 15 units in anterodorsal thalamus and CA1; CURBD on
    binned, smoothed spike counts, with the NWB 'location' column as regions."""
    ds = nd.open_nwb(shared_file("nwb/pynapple_neurosuite_A2929-200711.nwb"))
    counts = bin_spikes(ds, 0.05, start=600.0, stop=630.0)
    rates = counts.astype(float).rolling(time=10, center=True, min_periods=1).mean() / 0.05
    fit = fit_curbd(rates, "location", tau=0.1, n_epochs=20, random_state=0, progress=False)
    assert sorted(fit.currents.source.values) == ["adn", "ca1"]
    np.testing.assert_array_equal(fit.currents.unit.values, ds.unit.values)
    np.testing.assert_array_equal(fit.currents.region.values, ds.location.values)
    total = fit.currents.sum("source").values
    np.testing.assert_allclose(total, fit.model_rates.values @ fit.weights.values.T, atol=1e-12)
    assert fit.pvar_curve.values[-1] > fit.pvar_curve.values[0]
    assert fit.attrs["pvar"] > 0.2
