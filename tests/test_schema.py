"""validate() catches each broken convention with a message naming the variable and fix."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import neurodata as nd
from neurodata.errors import InvalidRecordingError


def _good() -> xr.Dataset:
    return nd.datasets.make_poisson_population(n_units=3, n_trials=4, random_state=0)


def test_generated_recordings_are_valid():
    nd.validate(_good())
    nd.validate(nd.datasets.make_calcium_imaging(n_rois=3, duration=5, random_state=0))


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.assign(spike_times=d.spike_times[::-1].variable), "sorted by time"),
    (lambda d: d.assign(spike_unit=d.spike_unit + 100), "not in the 'unit' coordinate"),
    (lambda d: d.drop_vars("spike_unit"), "'spike_unit' is missing"),
    (lambda d: d.assign_coords(trial_stop_time=d.trial_start_time - 1), "stops .* before it starts"),
    (lambda d: d.assign_coords(trial_start_time=d.trial_start_time * np.nan), "every interval needs"),
    (lambda d: d.drop_vars("trial_stop_time"), "no 'trial_stop_time'"),
    (lambda d: d.assign_coords(time_running_speed=d.time_running_speed[::-1].values),
     "must not decrease"),
])
def test_each_violation_is_named(mutate, message):
    with pytest.raises(InvalidRecordingError, match=message):
        nd.validate(mutate(_good()))


def test_traces_must_be_time_first():
    ds = nd.datasets.make_calcium_imaging(n_rois=3, duration=5, random_state=0)
    bad = ds.assign(fluorescence=ds.fluorescence.T)
    with pytest.raises(InvalidRecordingError, match=r"'fluorescence' must have its time dimension"):
        nd.validate(bad)


def test_time_must_be_float_and_increasing():
    ds = xr.Dataset({"x": (("time", "roi"), np.zeros((3, 1)))}, coords={"time": [0, 1, 2]})
    with pytest.raises(InvalidRecordingError, match="float64 seconds"):
        nd.validate(ds)
    ds = ds.assign_coords(time=[0.0, 1.0, 1.0])
    with pytest.raises(InvalidRecordingError, match="strictly increasing"):
        nd.validate(ds)


def test_not_a_dataset():
    with pytest.raises(InvalidRecordingError, match="xarray.Dataset"):
        nd.validate(xr.DataArray([1.0]))
