"""The network: incremental decoding, padding invariance, loss, and the three fixed defects."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from neurodata.errors import NeurodataError
from neurodata.neuroformer import Neuroformer, NeuroformerConfig, NeuroformerNet
from neurodata.neuroformer._model import make_batch
from neurodata.neuroformer._modules import SeriesEncoder, VideoEncoder, clip_loss

from .conftest import TINY_PARAMS


@pytest.fixture(scope="module")
def tiny(small_hub):
    torch.manual_seed(0)
    params = dict(TINY_PARAMS, n_history_layers=2, n_self_layers=2, contrastive=True,
                  clip_embd=24)
    m = Neuroformer(**params).fit(small_hub, stimulus="stimulus")
    w, video = m.windows(small_hub, stimulus="stimulus")
    return m, w, video


def test_incremental_decoding_equals_the_full_forward(tiny):
    m, w, video = tiny
    net = m.network_.eval()
    b = make_batch(w, np.arange(6), video=video)
    full = net(b)
    ctx = net.encode_contexts(b)
    caches = net.new_caches(b["x_id"].shape[1])
    steps = []
    with torch.no_grad():
        for i in range(b["x_id"].shape[1]):
            x = net.embed_current(b["x_id"][:, i:i + 1], b["x_dt"][:, i:i + 1], offset=i)
            h, _ = net.decode(x, ctx, caches=caches)
            steps.append(net.head_id(h))
    torch.testing.assert_close(torch.cat(steps, 1), full["id_logits"], atol=1e-5, rtol=1e-4)


def test_trimming_padding_changes_nothing(tiny):
    m, w, video = tiny
    net = m.network_.eval()
    idx = np.arange(len(w))[:10]
    trimmed, padded = make_batch(w, idx, video=video), make_batch(w, idx, video=video, trim=False)
    assert trimmed["x_id"].shape[1] < padded["x_id"].shape[1]
    with torch.no_grad():
        a, _pa = net.loss(trimmed)
        b, _pb = net.loss(padded)
    torch.testing.assert_close(a, b)
    T = trimmed["x_id"].shape[1]
    torch.testing.assert_close(net(trimmed)["id_logits"], net(padded)["id_logits"][:, :T],
                               atol=1e-5, rtol=1e-4)


def test_loss_is_the_documented_weighted_sum(tiny):
    m, w, video = tiny
    net = m.network_.eval()
    b = make_batch(w, np.arange(8), video=video)
    with torch.no_grad():
        total, parts = net.loss(b)
        out = net(b)
    ce_id = F.cross_entropy(out["id_logits"].flatten(0, 1), b["y_id"].flatten(),
                            ignore_index=m.tokenizer_.pad_)
    valid = b["y_dt"] != m.tokenizer_.dt_pad_
    ce_dt = F.cross_entropy(out["dt_logits"][valid], b["y_dt"][valid])
    torch.testing.assert_close(parts["id"], ce_id)
    torch.testing.assert_close(parts["dt"], ce_dt)
    # reference weights: 3/5 ID and 2/5 dt, scaled by 3/4 with a 1/4 contrastive term
    expected = 0.75 * (0.6 * ce_id + 0.4 * ce_dt) + 0.25 * parts["contrastive"]
    torch.testing.assert_close(total, expected)


def test_behaviour_values_reach_the_network():
    """Defect 1: the reference's LayerNorm over one scalar maps every value to the same vector."""
    torch.manual_seed(0)
    enc = SeriesEncoder(n_variables=2, n_samples=3, n_embd=16).eval()
    a = enc(torch.zeros(1, 2, 3))
    b = enc(torch.ones(1, 2, 3))
    assert (a - b).abs().max() > 1e-3
    ln = torch.nn.LayerNorm(1)
    assert torch.equal(ln(torch.zeros(1, 1)), ln(torch.ones(1, 1)))      # what the fix avoids


def test_frame_positional_encoding_is_added():
    """Defect 2: identical patches at different places must give different tokens."""
    torch.manual_seed(0)
    enc = VideoEncoder(1, 24, kernel=(1, 1, 1), n_layers=0, n_head=2).eval()
    tokens = enc(torch.ones(1, 1, 2, 3, 3))                              # a uniform clip
    assert tokens.shape == (1, 18, 24)
    d = torch.cdist(tokens[0], tokens[0])
    assert d[~torch.eye(18, dtype=torch.bool)].min() > 1e-3


def test_contrastive_projection_width_follows_clip_embd(tiny):
    """Defect 3: the reference always projects to n_embd, whatever clip_embd says."""
    m, _, _ = tiny
    assert m.network_.clip_proj["neural"].out_features == 24
    assert m.network_.clip_proj["stimulus"].out_features == 24


def test_clip_loss_matches_its_definition():
    torch.manual_seed(0)
    a, b = torch.randn(5, 4), torch.randn(5, 4)
    an, bn = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    logits = an @ bn.t() / 0.5
    labels = torch.arange(5)
    expected = 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))
    torch.testing.assert_close(clip_loss(a, b, 0.5), expected)


def test_config_round_trip_and_contrastive_needs_a_partner():
    cfg = NeuroformerConfig(n_units=3, n_dt=6, block_size=8, block_size_prev=8,
                            frame_shape=(1, 2, 4, 4))
    assert NeuroformerConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(NeurodataError, match="contrastive"):
        NeuroformerNet(NeuroformerConfig(n_units=3, n_dt=6, block_size=8, block_size_prev=8,
                                         n_embd=8, n_head=2, contrastive=True))


def test_paper_default_configuration_size():
    """The reference's lateral configuration holds about 24 M parameters."""
    cfg = NeuroformerConfig(n_units=400, n_dt=6, block_size=100, block_size_prev=700,
                            frame_shape=(1, 3, 64, 112), contrastive=True)
    n = sum(p.numel() for p in NeuroformerNet(cfg).parameters())
    assert 23e6 < n < 26e6


def test_memory_saving_blocks_match_the_plain_computation():
    """Fused LayerNorm+Linear and Linear(GELU) recompute activations, with the same results."""
    from neurodata.neuroformer._modules import Block, _GeluLinear, _LayerNormLinear
    torch.manual_seed(0)
    a = torch.randn(2, 3, 8, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 8, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_GeluLinear.apply, (a, w, b))
    g = torch.randn(8, dtype=torch.float64, requires_grad=True)
    s = torch.randn(8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_LayerNormLinear.apply, (a, g, s, w, b, 1e-5))
    # a whole block: fused training path vs the plain path (the one used without grad)
    block = Block(16, 4).double()
    for p in block.parameters():
        torch.nn.init.normal_(p, 0.0, 0.3)
    x = torch.randn(2, 5, 16, dtype=torch.float64, requires_grad=True)
    ctx = torch.randn(2, 7, 16, dtype=torch.float64)
    for context in (None, ctx):
        y, _ = block(x, context, causal=context is None)
        grads = torch.autograd.grad(y.square().sum(), [x, *block.parameters()])
        with torch.no_grad():
            y_plain, _ = block(x, context, causal=context is None)
        torch.testing.assert_close(y, y_plain)
        # the plain path, differentiated by autograd op by op
        h = torch.nn.functional.layer_norm(x, (16,), block.ln1.weight, block.ln1.bias)
        att = block.attn
        q = att._heads(att.query(h))
        k, v = (att._heads(t) for t in att.key_value(h if context is None else ctx).chunk(2, -1))
        o = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=context is None)
        z = x + att.proj(o.transpose(1, 2).reshape(2, 5, 16))
        hid = block.mlp.fc(torch.nn.functional.layer_norm(z, (16,), block.ln2.weight,
                                                           block.ln2.bias))
        ref = z + block.mlp.proj(torch.nn.functional.gelu(hid))
        torch.testing.assert_close(y, ref)
        ref_grads = torch.autograd.grad(ref.square().sum(), [x, *block.parameters()],
                                        allow_unused=True)
        for u, r in zip(grads, ref_grads):
            torch.testing.assert_close(u, torch.zeros_like(u) if r is None else r)
