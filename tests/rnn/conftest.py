"""Shared, session-cached teachers for the rnn tests (they are the slow part)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodata.datasets import make_motor_teacher, make_rnn_teacher


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    try:
        import torch
    except ImportError:  # the torch tests skip themselves
        return
    torch.set_num_threads(1)


def teacher_trials(rec: xr.Dataset) -> xr.Dataset:
    """The array path: a teacher recording's trials as ``(trial, time, ...)`` arrays.

    The generator lays equal trials back to back, so a reshape recovers them
    (independently of the recording entry point under test); ``time`` runs
    from movement onset.
    """
    n = rec.sizes["trial"]
    steps = rec.sizes["time"] // n
    dt = float(rec.attrs["dt"])
    time = np.arange(steps) * dt - float(rec.attrs.get("prep_duration", 0.0))

    def cut(name: str, dim: str) -> tuple:
        return ("trial", "time", dim), rec[name].values.reshape(n, steps, -1)

    return xr.Dataset(
        {"rates": cut("rates", "unit"), "outputs": cut("emg", "output"),
         "inputs": cut("cue", "input")},
        coords={"time": time, "unit": rec.unit.values,
                "output": rec.emg_channel.values, "input": rec.cue_channel.values,
                "condition_angle": ("trial", rec.trial_angle.values),
                **{k: v.variable for k, v in rec.coords.items() if v.dims == ("unit",)}},
        attrs=dict(rec.attrs))


@pytest.fixture(scope="session")
def motor_recording():
    """A 100-unit SOC teacher, 16 reach conditions, 2.5 ms samples (a recording)."""
    return make_motor_teacher(100, n_conditions=16, random_state=0)


@pytest.fixture(scope="session")
def motor_teacher(motor_recording):
    """The same teacher's trials as arrays."""
    return teacher_trials(motor_recording)


@pytest.fixture(scope="session")
def small_motor_recording():
    """A 40-unit SOC teacher with short trials, for API tests (a recording)."""
    return make_motor_teacher(40, n_conditions=4, dt=0.005, duration=0.2, prep_duration=0.1,
                              random_state=1)


@pytest.fixture(scope="session")
def small_motor_teacher(small_motor_recording):
    """The same teacher's trials as arrays."""
    return teacher_trials(small_motor_recording)


@pytest.fixture(scope="session")
def rnn_recording():
    """A 20-unit teacher of the students' own class (a recording)."""
    return make_rnn_teacher(20, g=1.2, random_state=0)


@pytest.fixture(scope="session")
def rnn_teacher(rnn_recording):
    """The same teacher's trials as arrays."""
    return teacher_trials(rnn_recording)
