"""Neuroformer runs unchanged on an Allen Visual Coding Neuropixels session (natural movie).

The session is synthetic but in the exact Allen layout (``make_allen_like``),
opened by ``open_allen``; the model is pretrained on the spikes of the first
three quarters of the natural-movie block and generates the last quarter.  Its
units fire at known baseline rates there (the gratings drive them elsewhere),
which the generated activity must reproduce.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

import neurodata as nd
from neurodata.datasets import make_allen_like
from neurodata.neuroformer import Neuroformer


def test_pretrain_and_generate_on_the_natural_movie_block(tmp_path):
    path, truth = make_allen_like("neuropixels", tmp_path / "session.nwb", n_units=20,
                                  duration=300.0, random_state=0, return_truth=True)
    with nd.open_allen(path) as ds:
        start = float(ds.natural_movie_one_start_time.min())
        stop = float(ds.natural_movie_one_stop_time.max())
        split = start + 0.75 * (stop - start)
        model = Neuroformer(n_embd=32, n_head=2, n_state_layers=1, n_history_layers=1,
                            n_self_layers=1, window_prev=0.05, n_epochs=3, learning_rate=3e-3,
                            random_state=0, progress=False).fit(ds, intervals=[(start, split)])
        np.testing.assert_array_equal(model.units_, ds.unit.values)      # Allen unit ids
        gen = model.generate(ds, intervals=[(split, stop)], n_samples=4, random_state=0)
    assert model.history_.train_loss[-1] < model.history_.train_loss[0]
    seconds = 4 * (stop - split)
    rate = np.array([np.sum(gen.spike_unit.values == u) for u in model.units_]) / seconds
    base = np.asarray(truth["units"]["baseline_rate"])
    r = spearmanr(rate, base).statistic
    print(f"generated vs true baseline rates: Spearman {r:.2f}, ratio {rate.mean() / base.mean():.2f}")
    assert r > 0.7                   # who fires more, and less
    assert 0.6 < rate.mean() / base.mean() < 1.5                   # and how much in all
