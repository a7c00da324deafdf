"""Shared fixtures: one small Neuroformer trained on the hub network, reused by all tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodata.datasets import make_hub_network
from neurodata.neuroformer import Neuroformer

N_TEST = 20

#: A model small enough to train on one CPU core in well under a minute.
HUB_PARAMS = dict(n_embd=48, n_head=4, n_state_layers=1, n_history_layers=1, n_stimulus_layers=1,
                  n_self_layers=1, dropout=0.0, window_prev=0.05, frame_window=0.1,
                  frame_kernel=(2, 1, 1), contrastive=True, clip_embd=32, n_epochs=8,
                  batch_size=16, learning_rate=2e-3, progress=False, random_state=0)

TINY_PARAMS = dict(n_embd=16, n_head=2, n_state_layers=1, n_history_layers=1, n_stimulus_layers=1,
                   n_self_layers=1, dropout=0.0, window_prev=0.05, frame_window=0.1,
                   frame_kernel=(2, 1, 1), n_epochs=1, batch_size=16, progress=False,
                   random_state=0)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def hub():
    """The simulated hub network (60 one-second trials) and its train/test intervals."""
    ds = make_hub_network(n_trials=60, random_state=0)
    iv = np.c_[ds.trial_start_time.values, ds.trial_stop_time.values]
    return ds, iv[:-N_TEST], iv[-N_TEST:]


@pytest.fixture(scope="session")
def hub_model(hub):
    torch.set_num_threads(1)
    ds, train_iv, _ = hub
    return Neuroformer(**HUB_PARAMS).fit(ds, intervals=train_iv, stimulus="stimulus")


@pytest.fixture(scope="session")
def small_hub():
    return make_hub_network(n_trials=4, random_state=1)
