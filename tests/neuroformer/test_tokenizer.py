"""The spike tokenizer: layout, rounding, overflow, binned counts, vocabulary."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodata.errors import NeurodataError, NoNeuralDataError
from neurodata.neuroformer import SpikeTokenizer
from neurodata.neuroformer._tokenizer import window_starts


def _rec(times, units, unit_ids=(0, 1, 2)):
    return xr.Dataset({"spike_times": ("spike", np.asarray(times, float)),
                       "spike_unit": ("spike", np.asarray(units))},
                      coords={"unit": list(unit_ids)})


def test_layout_of_current_and_past_windows():
    ds = _rec([0.004, 0.017, 0.031, 0.052, 0.099], [2, 0, 2, 1, 0])
    tok = SpikeTokenizer(window=0.05, window_prev=0.05, dt=0.01).fit(ds)
    w = tok.transform(ds, intervals=[(0.0, 0.1)])
    S, E, P = tok.sos_, tok.eos_, tok.pad_
    assert (S, E, P) == (3, 4, 5)
    assert w.x_id[0, :5].tolist() == [S, 2, 0, 2, E]
    assert w.y_id[0, :4].tolist() == [2, 0, 2, E]
    # dt tokens: round((t - start) / dt): 0.004 -> 0, 0.017 -> 2, 0.031 -> 3
    assert w.y_dt[0, :4].tolist() == [0, 2, 3, tok.dt_eos_]
    assert w.x_dt[0, 0] == 0 and (w.x_dt[0, 5:] == tok.dt_pad_).all()
    # window 2: 0.052 -> dt 0, 0.099 -> dt round(4.9) = 5 (= window / dt)
    assert w.y_id[1, :3].tolist() == [1, 0, E] and w.y_dt[1, :2].tolist() == [0, 5]
    # its past state is window 1, dt from the past window's start
    assert w.prev_id[1, :5].tolist() == [S, 2, 0, 2, E]
    assert w.prev_dt[1, :4].tolist() == [0, 0, 2, 3]
    assert w.n_current.tolist() == [3, 2] and w.n_prev.tolist() == [0, 3]


def test_decode_inverts_tokenize_within_half_a_bin():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 2, 300))
    u = rng.integers(0, 3, 300)
    ds = _rec(t, u)
    tok = SpikeTokenizer(window=0.05, window_prev=0.1, dt=0.01).fit(ds)
    w = tok.transform(ds, intervals=[(0.0, 2.0)])
    tt, uu = tok.decode(w.y_id, w.y_dt, w.start, random_state=1)
    assert len(tt) == len(t)
    np.testing.assert_array_equal(np.sort(uu), np.sort(u))
    # each decoded time lies in the rounding bin of a true spike of the same unit
    for unit in range(3):
        a, b = np.sort(t[u == unit]), np.sort(tt[uu == unit])
        assert np.abs(a - b).max() <= 0.01 + 1e-9


def test_overflow_truncates_to_the_latest_spikes_or_raises():
    ds = _rec(np.linspace(0.001, 0.045, 10), np.arange(10) % 3)
    tok = SpikeTokenizer(0.05, 0.05, 0.01, block_size=5, block_size_prev=4).fit(
        ds, intervals=[(0.0, 0.1)])
    w = tok.transform(ds, intervals=[(0.0, 0.1)])
    assert w.n_current[0] == 4 and tok.n_truncated_ == 6 + 8
    assert w.y_id[0, :4].tolist() == (np.arange(6, 10) % 3).tolist()     # the latest 4
    assert w.prev_id[1, :4].tolist() == [tok.sos_, 8 % 3, 9 % 3, tok.eos_]
    strict = SpikeTokenizer(0.05, 0.05, 0.01, block_size=5, overflow="raise").fit(
        ds, intervals=[(0.0, 0.1)])
    with pytest.raises(NeurodataError, match="more spikes than the block"):
        strict.transform(ds, intervals=[(0.0, 0.1)])


def test_fitted_block_sizes_hold_the_busiest_window():
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 5, 800))
    ds = _rec(t, rng.integers(0, 3, 800))
    tok = SpikeTokenizer(0.05, 0.15, 0.01).fit(ds)
    w = tok.transform(ds)
    assert tok.n_truncated_ == 0
    assert tok.block_size_ % 8 == 0 and tok.block_size_ >= w.n_current.max() + 1
    assert tok.block_size_prev_ >= w.n_prev.max() + 2


def test_binned_counts_tokenize_like_spikes_at_bin_starts():
    counts = xr.DataArray([[1, 0, 2], [0, 3, 0], [1, 1, 0], [0, 0, 0], [2, 0, 1]],
                          dims=("time", "unit"),
                          coords={"time": 0.005 + 0.01 * np.arange(5), "unit": [0, 1, 2]},
                          attrs={"bin_size": 0.01})
    times = np.repeat(0.01 * np.arange(5), counts.values.sum(1))
    units = np.concatenate([np.repeat([0, 1, 2], row) for row in counts.values])
    a = SpikeTokenizer(0.05, 0.05, 0.01).fit(counts, intervals=[(0, 0.05)])
    b = SpikeTokenizer(0.05, 0.05, 0.01).fit(_rec(times, units), intervals=[(0, 0.05)])
    wa, wb = a.transform(counts, intervals=[(0, 0.05)]), b.transform(_rec(times, units),
                                                                       intervals=[(0, 0.05)])
    np.testing.assert_array_equal(np.sort(wa.y_id[0]), np.sort(wb.y_id[0]))
    np.testing.assert_array_equal(wa.y_dt[0], wb.y_dt[0])


def test_window_starts_tile_each_interval():
    starts, which = window_starts(np.array([[0.0, 1.0], [5.0, 5.26]]), 0.05)
    assert len(starts) == 20 + 5
    np.testing.assert_allclose(np.diff(starts[:20]), 0.05)
    assert which.tolist() == [0] * 20 + [1] * 5


def test_vocabulary_is_fixed_at_fit():
    ds = _rec([0.01, 0.02], [0, 1], unit_ids=(0, 1))
    tok = SpikeTokenizer(0.05, 0.05, 0.01).fit(ds, intervals=[(0, 0.1)])
    with pytest.raises(NeurodataError, match="not in the tokenizer's vocabulary"):
        tok.transform(_rec([0.01, 0.02], [0, 7], unit_ids=(0, 7)))
    with pytest.raises(NeurodataError, match="vocabulary holds 2"):
        SpikeTokenizer().fit(_rec([0.01, 0.02, 0.03], [0, 1, 2]), n_units=2)
    # units restricts and orders the vocabulary
    tok = SpikeTokenizer(0.05, 0.05, 0.01).fit(ds, intervals=[(0, 0.1)], units=[1, 0])
    assert tok.units_.tolist() == [1, 0]
    assert tok.transform(ds, intervals=[(0, 0.05)]).y_id[0, :2].tolist() == [1, 0]


def test_bad_parameters_and_empty_input():
    ds = _rec([0.01, 0.02], [0, 1])
    with pytest.raises(NeurodataError, match="overflow"):
        SpikeTokenizer(overflow="drop").fit(ds)
    with pytest.raises(NeurodataError, match="longer than a window"):
        SpikeTokenizer(window=0.05, dt=0.1).fit(ds)
    with pytest.raises(NeurodataError, match="no complete"):
        SpikeTokenizer().fit(ds, intervals=[(0.0, 0.01)])
    with pytest.raises(NeurodataError, match="no complete"):
        SpikeTokenizer().fit(ds)                    # the spikes span only 0.01 s
    tok = SpikeTokenizer().fit(ds, intervals=[(0.0, 0.1)])
    with pytest.raises(NoNeuralDataError, match="all 2 windows are empty"):
        tok.transform(ds, intervals=[(5.0, 5.1)])
    with pytest.raises(NeurodataError, match="not fitted"):
        SpikeTokenizer().transform(ds)
