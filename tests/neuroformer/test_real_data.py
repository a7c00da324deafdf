"""On the real recording (anterodorsal thalamus, head direction): tokenizing and decoding."""

from __future__ import annotations

import numpy as np
import pytest

import neurodata as nd
from neurodata.neuroformer import (
    BehaviourDecoder,
    Neuroformer,
    PoissonGLMDecoder,
    SpikeTokenizer,
    behaviour_scores,
    window_counts,
)
from tests.conftest import shared_file

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def session():
    ds = nd.open_nwb(shared_file("nwb/pynapple_neurosuite_A2929-200711.nwb"))
    ds = ds[["spike_times", "spike_unit", "compass_direction_ry"]].load()
    hd = ds["compass_direction_ry"]
    return ds, [np.sin(hd).rename("hd_sin"), np.cos(hd).rename("hd_cos")]


def test_tokenizing_the_wake_epoch(session):
    ds, _ = session
    tok = SpikeTokenizer().fit(ds, intervals=[(600.15, 1200.0)])
    w = tok.transform(ds, intervals=[(600.15, 1200.0)])
    assert tok.n_units_ == 15 and len(w) == 11997
    lo, hi = np.searchsorted(ds.spike_times.values, [600.15, w.start[-1] + 0.05])
    assert w.n_current.sum() + tok.n_truncated_ == hi - lo       # every spike, once


def test_ry_is_the_head_angle_and_decodes(session):
    """A Poisson GLM on 0.2 s of counts decodes ry to well under 20 degrees."""
    ds, targets = session
    train = np.arange(700.0, 1000.0, 0.05)
    test = np.arange(1100.0, 1199.9, 0.05)
    X_train, X_test = (window_counts(ds, s, window=0.05, window_prev=0.15, bin_size=0.2)
                       for s in (train, test))
    angle = lambda s: np.arctan2(*(t.interp({t.dims[0]: s + 0.025}).values  # noqa: E731
                                   for t in targets)) % (2 * np.pi)
    glm = PoissonGLMDecoder(circular=True).fit(X_train, angle(train))
    truth = np.c_[np.sin(angle(test)), np.cos(angle(test))]
    assert float(behaviour_scores(glm.predict(X_test), truth, circular=True).angle_error_deg) < 20


def test_neuroformer_decodes_head_direction_from_spikes(session):
    ds, targets = session
    m = Neuroformer(n_embd=32, n_head=2, n_state_layers=1, n_history_layers=1, n_self_layers=1,
                    dropout=0.0, n_epochs=1, learning_rate=1e-3, progress=False)
    m.fit(ds, intervals=[(700.0, 900.0)])
    dec = BehaviourDecoder(m, fraction=0.5, steps=120, learning_rate=2e-3, progress=False)
    dec.fit(ds, targets, intervals=[(700.0, 900.0)])
    pred = dec.predict(ds, intervals=[(1100.0, 1150.0)])
    t = pred.time.values
    truth = np.stack([tg.interp({tg.dims[0]: t}).values for tg in targets], 1)
    assert float(behaviour_scores(pred.values, truth).r.mean()) > 0.7
