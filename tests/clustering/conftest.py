"""Shared, module-cached fits for the clustering tests (kept small: the suite has a time budget)."""

from __future__ import annotations

import pytest
import torch

from neurodata.datasets import RetinaLNModel, make_retina_population

#: The test population: 96 cells of 6 types on 8 x 7 x 7 clips (the benchmark uses 240 on 12 x 9 x 9).
SMALL = {"n_neurons": 96, "n_types": 6, "stimulus_shape": (8, 7, 7)}


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def retina(*args, n_frames: int = 20, **kwargs):
    """A synthetic retina's ground-truth model and its recording (units table: the types)."""
    rec = make_retina_population(*args, n_frames=n_frames, **kwargs)
    return RetinaLNModel.from_recording(rec), rec


def small_retina(seed: int):
    """The small synthetic retina of the tests, seeded: (ground-truth model, recording)."""
    return retina(**SMALL, random_state=seed)
