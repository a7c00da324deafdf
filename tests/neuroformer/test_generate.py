"""Closed-loop generation: sampling, seeding, the true past only at the start, the output."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from neurodata import validate
from neurodata.errors import NeurodataError
from neurodata.neuroformer import Neuroformer, sample_logits
from neurodata.neuroformer._generate import _pack, _past_tokens
from neurodata.neuroformer._tokenizer import spikes_from_recording

from .conftest import TINY_PARAMS


def test_top_p_keeps_the_nucleus_with_renormalised_probabilities():
    p = torch.tensor([0.5, 0.3, 0.15, 0.05])
    g = torch.Generator().manual_seed(0)
    draws = sample_logits(p.log().repeat(20000, 1), 1.0, 0.75, g)
    freq = torch.bincount(draws, minlength=4).double() / 20000
    # the nucleus is {0, 1} (0.5 < 0.75 <= 0.8); renormalised: 0.625, 0.375
    torch.testing.assert_close(freq, torch.tensor([0.625, 0.375, 0.0, 0.0], dtype=torch.float64),
                               atol=0.015, rtol=0)
    freq_t = torch.bincount(sample_logits(p.log().repeat(20000, 1), 2.0, 1.0, g),
                            minlength=4).double() / 20000
    hot = p.sqrt() / p.sqrt().sum()                                  # temperature 2
    torch.testing.assert_close(freq_t, hot.double(), atol=0.015, rtol=0)
    assert sample_logits(p.log()[None], 0.0).item() == 0              # greedy


@pytest.fixture(scope="module")
def model(small_hub):
    torch.manual_seed(0)
    return Neuroformer(**dict(TINY_PARAMS, n_epochs=2)).fit(small_hub, stimulus="stimulus")


def _gen(model, ds, **kw):
    kw.setdefault("intervals", [(1.0, 1.4), (2.0, 2.6)])
    return model.generate(ds, stimulus="stimulus", random_state=kw.pop("seed", 3), **kw)


def test_generation_is_a_seeded_recording(model, small_hub):
    a, b = _gen(model, small_hub), _gen(model, small_hub)
    validate(a)
    xr.testing.assert_identical(a, b)
    c = _gen(model, small_hub, seed=4)
    assert not np.array_equal(a.spike_times.values, c.spike_times.values)
    assert a.trial_stop_time.values.tolist() == pytest.approx([1.4, 2.6])
    assert set(a.spike_unit.values) <= set(small_hub.unit.values)
    # every spike lies inside its own trial
    tr = a.spike_trial.values
    assert ((a.spike_times.values >= a.trial_start_time.values[tr])
            & (a.spike_times.values < a.trial_stop_time.values[tr])).all()


def test_only_the_past_before_the_first_window_is_real(model, small_hub):
    """Closed loop: changing real spikes after the start cannot change what is generated."""
    ds = small_hub
    t = ds.spike_times.values
    ref = _gen(model, ds)
    inside = ((t >= 1.0) & (t < 1.4)) | ((t >= 2.0) & (t < 2.6))
    erased = ds.isel(spike=np.flatnonzero(~inside))   # erase the real activity being simulated
    xr.testing.assert_identical(ref.drop_attrs(), _gen(model, erased).drop_attrs())


def test_past_state_built_during_generation_matches_the_tokenizer(model, small_hub):
    """The past state generation builds from a spike buffer is the tokenizer's past state."""
    tok = model.tokenizer_
    times, uidx, _ = spikes_from_recording(small_hub, tok.units_)
    starts = np.arange(0.2, 3.0, 0.05)
    w = tok.tokenize(times, uidx, starts)
    lo = np.searchsorted(times, starts - tok.window_prev - 0.1)      # a wider buffer
    hi = np.searchsorted(times, starts + 0.1)
    bt, bi = _pack(times, uidx, lo, hi)
    prev_id, prev_dt = _past_tokens(tok, torch.as_tensor(bt), torch.as_tensor(bi),
                                    torch.as_tensor(starts), "cpu")
    T = prev_id.shape[1]
    np.testing.assert_array_equal(prev_id.numpy(), w.prev_id[:, :T])
    np.testing.assert_array_equal(prev_dt.numpy(), w.prev_dt[:, :T])
    assert (w.prev_id[:, T:] == tok.pad_).all()


def test_samples_per_interval_and_sampling_settings(model, small_hub):
    g = _gen(model, small_hub, intervals=[(1.0, 1.5)], n_samples=3)
    assert g.sizes["trial"] == 3 and g.trial_source.values.tolist() == [0, 0, 0]
    greedy = _gen(model, small_hub, intervals=[(1.0, 1.5)], n_samples=2, temperature=0.0,
                  temperature_dt=0.0)
    t, tr = greedy.spike_times.values, greedy.spike_trial.values
    np.testing.assert_array_equal(np.sort(t[tr == 0] - 1.0).round(2),
                                  np.sort(t[tr == 1] - 1.0).round(2))
    with pytest.raises(NeurodataError, match="top_p"):
        _gen(model, small_hub, top_p=0.0)


