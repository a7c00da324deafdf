"""The synthetic retina: planted types, centred receptive fields, polarity, Poisson responses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neurodata as nd
from neurodata.datasets import RetinaLNModel, make_retina_population, simulate_retina_recording
from neurodata.datasets._clustering import RETINA_TYPES
from neurodata.errors import NeurodataError, NoNeuralDataError, ShapeError
from neurodata.signals import align_movie
from tests.clustering.conftest import retina


def test_types_are_balanced_and_named_and_seeded():
    model, cells = retina(50, 5, random_state=3)
    assert np.bincount(cells.type.values).tolist() == [10, 10, 10, 10, 10]
    assert set(cells.type_name.values) == {t.name for t in RETINA_TYPES[:5]}
    again, cells2 = retina(50, 5, random_state=3)
    assert torch.equal(model.filters, again.filters)
    assert (cells.type == cells2.type).all()
    other, _ = retina(50, 5, random_state=4)
    assert not torch.equal(model.filters, other.filters)


def test_the_population_is_a_recording_that_survives_nwb(tmp_path):
    """A validate()-clean recording: the movie on its own axis, spike trains, the known types in
    the units table; through save_nwb/open_nwb (and read_results for the filters) the
    ground-truth model comes back exactly."""
    rec = make_retina_population(12, 3, n_frames=60, stimulus_shape=(6, 5, 5), random_state=0)
    nd.validate(rec)
    assert rec.movie.dims == ("time_movie", "y", "x") and rec.sizes["time_movie"] == 60
    np.testing.assert_allclose(np.diff(rec.time_movie), 1 / 30)
    path = nd.save_nwb(rec.drop_vars("true_rate"), tmp_path / "retina.nwb")
    back = nd.open_nwb(path, lazy=False)
    np.testing.assert_array_equal(back.spike_times, rec.spike_times)
    np.testing.assert_array_equal(back.type_name, rec.type_name)
    np.testing.assert_array_equal(back.movie.values, rec.movie.values)
    truth = back.assign(filters=nd.read_results(path)["filters"])
    a, b = RetinaLNModel.from_recording(rec), RetinaLNModel.from_recording(truth)
    clips = torch.randn(4, *a.stimulus_shape)
    assert torch.equal(a(clips), b(clips))
    with pytest.raises(NoNeuralDataError, match="filters"):
        RetinaLNModel.from_recording(back)


def test_filters_unit_norm_and_centred():
    model, _ = retina(64, 8, stimulus_shape=(10, 9, 9), random_state=0)
    flat = model.filters.reshape(64, -1)
    assert torch.allclose(flat.norm(dim=1), torch.ones(64), atol=1e-5)
    spatial = model.filters.abs().sum(dim=(1, 2)).numpy()  # (neuron, y, x)
    yy, xx = np.mgrid[:9, :9]
    w = spatial / spatial.sum(axis=(1, 2), keepdims=True)
    assert np.abs((w * yy).sum(axis=(1, 2)) - 4).max() < 0.5
    assert np.abs((w * xx).sum(axis=(1, 2)) - 4).max() < 0.5


def test_gains_are_lognormal_with_median_one():
    _, cells = retina(2000, 4, gain_sigma=0.4, n_frames=2, random_state=1)
    logg = np.log(cells.gain.values)
    assert abs(np.median(logg)) < 0.05
    assert abs(logg.std() - 0.4) < 0.03


def test_polarity_on_off_and_on_off_cells():
    """A bright spot stepped on during the response window drives ON cells, a dark one OFF cells,
    and ON-OFF cells respond to both."""
    model, cells = retina(40, 5, jitter=0.0, gain_sigma=0.0, random_state=0)
    c, t, h, w = model.stimulus_shape
    spot = torch.zeros(1, c, t, h, w)
    spot[:, :, t - 4:, h // 2 - 1:h // 2 + 2, w // 2 - 1:w // 2 + 2] = 1.0
    with torch.no_grad():
        base = model(torch.zeros_like(spot))[0]
        bright = model(spot)[0] - base
        dark = model(-spot)[0] - base
    name = cells.type_name.values
    on = np.isin(name, ["ON sustained", "ON transient"])
    off = np.isin(name, ["OFF sustained", "OFF transient"])
    onoff = name == "ON-OFF"
    assert (bright[on] > 5 * dark[on].clamp_min(1e-3)).all()
    assert (dark[off] > 5 * bright[off].clamp_min(1e-3)).all()
    stronger = torch.maximum(bright[onoff], dark[onoff])
    weaker = torch.minimum(bright[onoff], dark[onoff])
    assert (weaker > 0.2 * stronger).all() and (stronger > 0).all()


def test_traces_equal_the_clip_model_on_sliding_windows():
    model, rec = retina(7, 3, stimulus_shape=(5, 4, 4), n_channels=2, random_state=0)
    assert rec.movie.dims == ("time_movie", "y", "x", "channel")
    movie = torch.randn(2, 2, 12, 4, 4)
    traces = model.traces(movie)
    clips = torch.stack([movie[:, :, k:k + 5] for k in range(8)], 1).flatten(0, 1)
    assert torch.allclose(traces.flatten(0, 1), model(clips), atol=1e-5)


def test_recording_is_poisson_around_the_rate():
    model, _ = retina(30, 3, random_state=0)
    rec = simulate_retina_recording(model, 3000, rate_scale=2.0, random_state=0)
    nd.validate(rec)
    counts = align_movie(rec, lags=1).responses.values  # spikes per frame
    rate = rec.true_rate.values
    assert counts.sum() == rec.sizes["spike"]
    # Poisson: mean and variance of (counts - rate) match the rate
    resid = counts - rate
    assert abs(resid.mean()) < 0.02
    assert abs(resid.var() / rate.mean() - 1) < 0.05
    # the rate is the model's response to the clip that ends at each frame (grey before the movie)
    t = model.stimulus_shape[1]
    stim = torch.from_numpy(rec.movie.values)[None, None]
    clip = stim[:, :, 100 - t + 1:101]
    assert np.allclose(2.0 * model(clip)[0].detach().numpy(), rate[100], rtol=1e-4, atol=1e-5)
    assert np.allclose(rec.movie.values.std(), 0.3, rtol=0.02)


def test_bad_input():
    with pytest.raises(NeurodataError, match="n_types"):
        make_retina_population(10, 9)
    with pytest.raises(NeurodataError, match="at least n_types"):
        make_retina_population(3, 4)
    with pytest.raises(ShapeError, match="stimulus_shape"):
        make_retina_population(10, 2, stimulus_shape=(5, 5))
    with pytest.raises(NeurodataError, match="n_frames"):
        make_retina_population(10, 2, n_frames=0)
    model, _ = retina(10, 2, random_state=0)
    with pytest.raises(ShapeError, match="stimuli must have shape"):
        model(torch.zeros(2, 1, 5, 9, 9))
