"""Bad input: clear errors that name the problem, never silent garbage."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodata.errors import InvalidRecordingError, NeurodataError, NoNeuralDataError
from neurodata.neuroformer import Neuroformer

from .conftest import TINY_PARAMS


def _model(**kw):
    return Neuroformer(**dict(TINY_PARAMS, **kw))


def test_a_recording_without_spikes(small_hub):
    traces = xr.Dataset({"dff": (("time", "roi"), np.zeros((10, 2)))},
                        coords={"time": np.arange(10.0), "roi": [0, 1]})
    with pytest.raises(NoNeuralDataError, match="no spikes"):
        _model().fit(traces)
    empty = small_hub.isel(spike=slice(0, 0))
    with pytest.raises(NoNeuralDataError, match="spike_times is empty"):
        _model().fit(empty)
    with pytest.raises(InvalidRecordingError, match="got ndarray"):
        _model().fit(np.zeros((5, 2)))


def test_more_neurons_than_the_vocabulary(small_hub):
    with pytest.raises(NeurodataError, match="24 units but the vocabulary holds 10"):
        _model().fit(small_hub, stimulus="stimulus", n_units=10)
    m = _model().fit(small_hub.sel(unit=small_hub.unit < 20).isel(
        spike=np.flatnonzero(small_hub.spike_unit.values < 20)), stimulus="stimulus")
    with pytest.raises(NeurodataError, match="not in the tokenizer's vocabulary"):
        m.generate(small_hub, stimulus="stimulus", intervals=[(1.0, 1.2)])


def test_empty_windows(small_hub):
    with pytest.raises(NoNeuralDataError, match="windows are empty"):
        _model().fit(small_hub, stimulus="stimulus", intervals=[(50.0, 51.0)])
    with pytest.raises(NeurodataError, match="no complete 0.05 s window"):
        _model().fit(small_hub, stimulus="stimulus", intervals=[(1.0, 1.01)])


def test_nan_behaviour_samples(small_hub):
    t = np.arange(0.0, 4.0, 0.01)
    speed = np.abs(np.sin(t))
    speed[37] = np.nan
    da = xr.DataArray(speed, dims="time_speed", coords={"time_speed": t}, name="speed")
    with pytest.raises(NeurodataError, match=r"'speed' has 1 NaN or infinite samples \(first at 0.370 s\)"):
        _model().fit(small_hub, behaviour=da)
    two_d = xr.DataArray(np.zeros((5, 2)), dims=("time_speed", "xy"),
                         coords={"time_speed": np.arange(5.0)}, name="pos")
    with pytest.raises(InvalidRecordingError, match="one-dimensional"):
        _model().fit(small_hub, behaviour=two_d)
    short = xr.DataArray(np.ones(100), dims="time_speed",
                         coords={"time_speed": np.arange(100) * 0.01}, name="speed")
    with pytest.raises(NeurodataError, match="covers 0.000-0.990 s"):
        _model().fit(small_hub, behaviour=short)


def test_bad_stimulus(small_hub):
    bad = small_hub.stimulus.copy()
    bad[3, 0, 0] = np.nan
    with pytest.raises(InvalidRecordingError, match="NaN or infinite pixels"):
        _model().fit(small_hub, stimulus=bad)
    with pytest.raises(NeurodataError, match="larger than the stimulus clip"):
        _model(frame_kernel=(3, 1, 1)).fit(small_hub, stimulus="stimulus")
    with pytest.raises(InvalidRecordingError, match="not a variable"):
        _model().fit(small_hub, stimulus="video")


def test_modalities_must_match_the_fitted_model(small_hub):
    m = _model().fit(small_hub, stimulus="stimulus")
    with pytest.raises(NeurodataError, match="fit with a stimulus"):
        m.generate(small_hub, intervals=[(1.0, 1.2)])
    with pytest.raises(NeurodataError, match="not fitted"):
        _model().generate(small_hub)


def test_checkpoint_from_a_different_configuration(small_hub, tmp_path):
    ckpt = tmp_path / "model.pt"
    _model(checkpoint=ckpt).fit(small_hub, stimulus="stimulus")
    with pytest.raises(NeurodataError, match="different config .*n_head: 2 in the checkpoint"):
        _model(checkpoint=ckpt, n_head=4).fit(small_hub, stimulus="stimulus")
    with pytest.raises(NeurodataError, match="different config.*n_units: 24 in the checkpoint vs 20"):
        _model(checkpoint=ckpt).fit(small_hub.sel(unit=small_hub.unit < 20).isel(
            spike=np.flatnonzero(small_hub.spike_unit.values < 20)), stimulus="stimulus")
