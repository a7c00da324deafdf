"""Readouts: attention connectivity normalisation and behaviour fine-tuning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodata.errors import NeurodataError
from neurodata.neuroformer import (
    BehaviourDecoder,
    Neuroformer,
    attention_connectivity,
    behaviour_scores,
)

from .conftest import TINY_PARAMS
from .contract_case import count_target


@pytest.fixture(scope="module")
def model(small_hub):
    return Neuroformer(**dict(TINY_PARAMS, n_epochs=1, n_history_layers=2)).fit(
        small_hub, stimulus="stimulus")


def test_uniform_attention_gives_a_ratio_of_one(model, small_hub):
    """With all attention scores equal, every observed pair scores exactly 1."""
    net = model.network_
    saved = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():
        for block in net.history_blocks:
            block.attn.query.weight.zero_()
            block.attn.query.bias.zero_()
    try:
        C = attention_connectivity(model, small_hub, stimulus="stimulus").values
    finally:
        net.load_state_dict(saved)
    seen = np.isfinite(C)
    assert seen.mean() > 0.9
    np.testing.assert_allclose(C[seen], 1.0, rtol=1e-6)   # float32 attention


def test_connectivity_layers_and_fit_checks(model, small_hub):
    one = attention_connectivity(model, small_hub, stimulus="stimulus", layers=[1])
    both = attention_connectivity(model, small_hub, stimulus="stimulus")
    assert not np.allclose(np.nan_to_num(one.values), np.nan_to_num(both.values))
    with pytest.raises(NeurodataError, match="history layers"):
        attention_connectivity(model, small_hub, stimulus="stimulus", layers=[5])
    with pytest.raises(NeurodataError, match="without a stimulus|with a stimulus"):
        attention_connectivity(model, small_hub)
    with pytest.raises(NeurodataError, match="not fitted"):
        attention_connectivity(Neuroformer(), small_hub)


def test_fine_tuning_learns_a_decodable_target(model, small_hub):
    target = count_target(small_hub)
    iv = [(0.05, 3.95)]
    dec = BehaviourDecoder(model, steps=150, learning_rate=3e-3, random_state=0, progress=False).fit(
        small_hub, target, intervals=iv, stimulus="stimulus")
    pred = dec.predict(small_hub, intervals=iv, stimulus="stimulus")
    assert pred.dims == ("time", "output") and pred.output.values.tolist() == ["count"]
    true = target.interp(time_count=pred.time.values).values
    assert float(behaviour_scores(pred.values[:, 0], true).r[0]) > 0.8
    assert dec.history_.train_behaviour[-1] < dec.history_.train_behaviour[0]


def test_label_fraction_and_initialisation(model, small_hub):
    target = count_target(small_hub)
    iv = [(0.05, 3.95)]
    kw = dict(steps=1, learning_rate=1e-9, random_state=0, progress=False)
    few = BehaviourDecoder(model, fraction=0.1, **kw).fit(small_hub, target, intervals=iv,
                                                          stimulus="stimulus")
    assert len(few.train_index_) == round(0.1 * 78)
    again = BehaviourDecoder(model, fraction=0.1, **kw).fit(small_hub, target, intervals=iv,
                                                            stimulus="stimulus")
    np.testing.assert_array_equal(few.train_index_, again.train_index_)
    w_pre = model.network_.tok_emb.weight
    torch.testing.assert_close(few.network_.tok_emb.weight, w_pre, atol=1e-6, rtol=0)
    scratch = BehaviourDecoder(model, from_scratch=True, **kw).fit(
        small_hub, target, intervals=iv, stimulus="stimulus")
    assert (scratch.network_.tok_emb.weight - w_pre).abs().max() > 1e-3
    with pytest.raises(NeurodataError, match="fraction"):
        BehaviourDecoder(model, fraction=0.0).fit(small_hub, target, intervals=iv,
                                                  stimulus="stimulus")
    with pytest.raises(NeurodataError, match="covers"):
        BehaviourDecoder(model, **kw).fit(small_hub, target.sel(time_count=slice(0, 2)),
                                          intervals=iv, stimulus="stimulus")
    with pytest.raises(NeurodataError, match="not fitted"):
        BehaviourDecoder(model).predict(small_hub, stimulus="stimulus")
