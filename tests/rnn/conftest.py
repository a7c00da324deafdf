"""Shared, session-cached teachers for the rnn tests (they are the slow part)."""

from __future__ import annotations

import pytest

from neurodata.datasets import make_motor_teacher, make_rnn_teacher


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    try:
        import torch
    except ImportError:  # the torch tests skip themselves
        return
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def motor_teacher():
    """A 100-unit SOC teacher, 16 reach conditions, 2.5 ms samples."""
    return make_motor_teacher(100, n_conditions=16, random_state=0)


@pytest.fixture(scope="session")
def small_motor_teacher():
    """A 40-unit SOC teacher with short trials, for API tests."""
    return make_motor_teacher(40, n_conditions=4, dt=0.005, duration=0.2, prep_duration=0.1,
                              random_state=1)


@pytest.fixture(scope="session")
def rnn_teacher():
    """A 20-unit teacher of the students' own class."""
    return make_rnn_teacher(20, g=1.2, random_state=0)
