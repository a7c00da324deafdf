"""Neuroformer and its behaviour decoder in the estimator contract (a small hub network)."""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr

from neurodata.datasets import make_hub_network
from neurodata.neuroformer import BehaviourDecoder, Neuroformer
from tests.contract import ContractCase

SMALL = dict(n_embd=16, n_head=2, n_state_layers=1, n_history_layers=1, n_stimulus_layers=1,
             n_self_layers=1, dropout=0.0, window_prev=0.05, frame_window=0.1,
             frame_kernel=(2, 1, 1), n_epochs=3, batch_size=16, learning_rate=3e-3,
             progress=False, random_state=0)
INTERVALS = [(0.05, 3.95)]


def _make(**params):
    return Neuroformer(**{**SMALL, **params})


def count_target(ds: xr.Dataset) -> xr.DataArray:
    """Spikes per 50 ms window over the first 4 s, at window centres: decodable from tokens."""
    starts = np.arange(0.0, 4.0, 0.05)
    t = ds.spike_times.values
    n = np.searchsorted(t, starts + 0.05) - np.searchsorted(t, starts)
    return xr.DataArray(n.astype(float), dims="time_count", name="count",
                        coords={"time_count": starts + 0.025})


def _recording() -> xr.Dataset:
    """Four trials of the hub network, with the spike count of every 50 ms window as a target."""
    ds = make_hub_network(n_trials=4, random_state=1)
    return ds.assign(count=count_target(ds))


@functools.lru_cache(maxsize=1)
def _pretrained() -> Neuroformer:
    return _make().fit(_recording(), stimulus="stimulus")


def _make_decoder(**params):
    base = {"steps": 40, "learning_rate": 3e-3, "random_state": 0, "progress": False}
    return BehaviourDecoder(_pretrained(), **{**base, **params})


DECODE = {"target": "count", "intervals": INTERVALS, "stimulus": "stimulus"}

CASES = [
    ContractCase(make=_make, data=_recording, fit_kwargs={"stimulus": "stimulus"},
                 # one epoch at a learning rate that barely moves the weights
                 worse={"n_epochs": 1, "learning_rate": 1e-6},
                 unfitted_calls=[lambda est, rec: est.score(rec, stimulus="stimulus"),
                                 lambda est, rec: est.generate(rec, stimulus="stimulus"),
                                 lambda est, rec: est.windows(rec, stimulus="stimulus")]),
    ContractCase(make=_make_decoder, data=_recording, fit_kwargs=DECODE,
                 worse={"steps": 1, "learning_rate": 1e-9},
                 unfitted_calls=[lambda est, rec: est.predict(rec, intervals=INTERVALS,
                                                              stimulus="stimulus")]),
]
