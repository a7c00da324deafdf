"""The packed training path: same loss and gradients as the padded one, repeated clips
encoded once, the fused dropout, mixed precision and the GPU path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodata.errors import NeurodataError
from neurodata.neuroformer import NeuroformerConfig, NeuroformerNet
from neurodata.neuroformer._model import make_batch
from neurodata.neuroformer._modules import VideoEncoder, dropout
from neurodata.neuroformer._packing import Packing
from neurodata.neuroformer._train import autocast, configure_optimizer, train_step

from .conftest import TINY_PARAMS

N_UNITS, N_DT, T, TP = 7, 5, 9, 12


def _config(**kw) -> NeuroformerConfig:
    base = dict(n_units=N_UNITS, n_dt=N_DT, block_size=T, block_size_prev=TP, n_embd=16,
                n_head=2, n_state_layers=1, n_past_layers=1, n_history_layers=2,
                n_stimulus_layers=1, n_behaviour_layers=1, n_self_layers=1, dropout=0.0,
                frame_shape=(1, 2, 6, 6), frame_kernel=(2, 3, 3), n_behaviour=2,
                behaviour_samples=3, n_outputs=2, contrastive=True, clip_embd=8)
    return NeuroformerConfig(**{**base, **kw})


def _batch(seed: int, lengths, prev_lengths, clips=None) -> dict:
    """Windows of the given numbers of current and past spikes, trailing PAD."""
    g = torch.Generator().manual_seed(seed)
    B = len(lengths)
    sos, eos, pad, pad_dt = N_UNITS, N_UNITS + 1, N_UNITS + 2, N_DT + 1
    x_id = torch.full((B, T), pad)
    x_dt = torch.full((B, T), pad_dt)
    y_id, y_dt = x_id.clone(), x_dt.clone()
    prev_id, prev_dt = torch.full((B, TP), pad), torch.full((B, TP), pad_dt)
    for i, (n, m) in enumerate(zip(lengths, prev_lengths)):
        ids = torch.randint(0, N_UNITS, (n,), generator=g)
        dts = torch.randint(0, N_DT, (n,), generator=g).sort().values
        x_id[i, :n + 1] = torch.cat([torch.tensor([sos]), ids])
        x_dt[i, :n + 1] = torch.cat([torch.tensor([0]), dts])
        y_id[i, :n + 1] = torch.cat([ids, torch.tensor([eos])])
        y_dt[i, :n + 1] = torch.cat([dts, torch.tensor([N_DT])])
        prev_id[i, :m + 2] = torch.cat([torch.tensor([sos]),
                                        torch.randint(0, N_UNITS, (m,), generator=g),
                                        torch.tensor([eos])])
        prev_dt[i, :m + 2] = torch.cat([torch.tensor([0]),
                                        torch.randint(0, N_DT, (m,), generator=g).sort().values,
                                        torch.tensor([N_DT])])
    clips = list(range(B)) if clips is None else clips
    frames = torch.randn(max(clips) + 1, 1, 2, 6, 6, generator=g)
    return {"x_id": x_id, "x_dt": x_dt, "y_id": y_id, "y_dt": y_dt, "prev_id": prev_id,
            "prev_dt": prev_dt, "frames": frames[clips],
            "behaviour": torch.randn(B, 2, 3, generator=g),
            "target": torch.randn(B, 2, generator=g)}


def _loss_and_grads(net, fn, batch):
    net.zero_grad(set_to_none=True)
    loss, parts = fn(batch)
    loss.backward()
    grads = [torch.zeros_like(p) if p.grad is None else p.grad.clone()
             for p in net.parameters()]
    return loss.detach(), {k: v.detach() for k, v in parts.items()}, grads


def _assert_grads_close(a, b, rtol=1e-5):
    for u, v in zip(a, b):
        scale = float(v.norm()) + 1e-12
        assert float((u - v).norm()) <= rtol * scale + 1e-9


def test_packing_round_trip_and_segment_means():
    mask = torch.tensor([[True, True, True, False], [True, False, False, False],
                         [True, True, False, False]])
    p = Packing(mask)
    x = torch.randn(3, 4, 5)
    packed = p.pack(x)
    assert packed.shape == (6, 5)
    torch.testing.assert_close(p.pad(packed)[mask], x[mask])
    assert float(p.pad(packed)[~mask].abs().sum()) == 0.0
    w = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    expected = torch.stack([x[0, :2].mean(0), x[1, 0], x[2, :2].mean(0)])
    torch.testing.assert_close(p.segment_mean(packed, w), expected)
    xd = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(p.pad, (xd,))
    yd = torch.randn(3, 4, 3, 2, dtype=torch.float64).transpose(2, 3).requires_grad_()
    assert torch.autograd.gradcheck(p.pack, (yd,))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_packed_loss_and_gradients_equal_the_padded_ones(dtype):
    torch.manual_seed(0)
    net = NeuroformerNet(_config()).to(dtype).eval()     # eval: dropout off
    batch = _batch(1, lengths=[8, 3, 0, 5], prev_lengths=[10, 0, 4, 7])
    batch = {k: v.to(dtype) if v.is_floating_point() else v for k, v in batch.items()}
    la, pa, ga = _loss_and_grads(net, net._loss_padded, batch)
    lb, pb, gb = _loss_and_grads(net, net.loss, batch)
    assert set(pa) == set(pb) == {"id", "dt", "contrastive", "behaviour"}
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    for k in pa:
        torch.testing.assert_close(pb[k], pa[k], rtol=tol, atol=0)
    torch.testing.assert_close(lb, la, rtol=tol, atol=0)
    assert float(la) > 1.0                            # an untrained model's loss, not a zero
    _assert_grads_close(gb, ga, rtol=1e-5 if dtype == torch.float32 else 1e-10)
    # and the padded path's PAD slots really hold arbitrary values: changing them
    # (the dt of PAD tokens) changes nothing in either path
    other = dict(batch, x_dt=batch["x_dt"].masked_fill(batch["x_id"] == N_UNITS + 2, 0))
    torch.testing.assert_close(net.loss(other)[0], lb, rtol=tol, atol=0)


@pytest.mark.parametrize("lengths", [[8, 3, 0, 5], [8, 8, 8, 8]])
def test_filler_rows_change_nothing(monkeypatch, lengths):
    """Packed row counts rounded up with PAD fillers (bfloat16 on a CPU): the same
    loss and gradients as without them (float64, fillers forced)."""
    torch.manual_seed(0)
    net = NeuroformerNet(_config()).double().eval()
    batch = _batch(2, lengths=lengths, prev_lengths=[10, 0, 4, 7])
    batch = {k: v.double() if v.is_floating_point() else v for k, v in batch.items()}
    _, pa, ga = _loss_and_grads(net, net.loss, batch)
    monkeypatch.setattr(NeuroformerNet, "_bucketed", staticmethod(lambda device: True))
    cur = net.forward_packed(batch)["packing"]
    if lengths[1] == 3:                          # 20 real tokens -> 24 rows, 4 of them fillers
        assert (cur.n, int(cur.real.sum())) == (24, 20)
    else:                                        # 36 real tokens fill the block: no fillers
        assert (cur.n, cur.real) == (36, None)
    _, pb, gb = _loss_and_grads(net, net.loss, batch)
    for k in pa:
        torch.testing.assert_close(pb[k], pa[k], rtol=1e-12, atol=0)
    _assert_grads_close(gb, ga, rtol=1e-10)


def test_bucket_rows_bounds_the_waste_and_the_number_of_sizes():
    from neurodata.neuroformer._packing import bucket_rows
    sizes = {bucket_rows(n, 10**9) for n in range(512, 1024)}
    assert len(sizes) == 17                     # 512, 544, ..., 1024
    assert all(0 <= bucket_rows(n, 10**9) - n < max(8, n / 16) for n in range(1, 20_000))
    assert bucket_rows(100, 50) == 50


def test_frame_encoder_output_does_not_depend_on_the_batch():
    """The condition for encoding a repeated clip once: a clip's tokens are the same
    whatever else is in the batch."""
    torch.manual_seed(0)
    enc = VideoEncoder(1, 16, (2, 3, 3), n_layers=2, n_head=2).eval()
    frames = torch.randn(5, 1, 2, 6, 6)
    together = enc(frames)
    alone = torch.cat([enc(frames[i:i + 1]) for i in range(5)])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)


def test_repeated_clips_are_encoded_once_with_the_same_loss():
    torch.manual_seed(0)
    net = NeuroformerNet(_config()).eval()
    clips = [0, 1, 0, 2, 1]
    full = _batch(2, lengths=[4, 6, 2, 8, 5], prev_lengths=[3, 5, 9, 1, 2], clips=clips)
    dedup = dict(full, frames=full["frames"][[0, 1, 3]],
                 frame_inverse=torch.tensor([0, 1, 0, 2, 1]))
    calls = []
    net.video.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    la, _, ga = _loss_and_grads(net, net._loss_padded, full)
    lb, _, gb = _loss_and_grads(net, net.loss, dedup)
    lc, _, _ = _loss_and_grads(net, net._loss_padded, dedup)
    assert calls == [5, 3, 3]
    torch.testing.assert_close(lb, la, rtol=1e-6, atol=0)
    torch.testing.assert_close(lc, la, rtol=1e-6, atol=0)
    _assert_grads_close(gb, ga)


def test_make_batch_keeps_one_copy_of_each_clip(small_hub):
    from neurodata.neuroformer import Neuroformer
    m = Neuroformer(**TINY_PARAMS).fit(small_hub, stimulus="stimulus")
    w, video = m.windows(small_hub, stimulus="stimulus")
    idx = np.r_[0:6, 0:3]                                # windows 0-2 twice
    b = make_batch(w, idx, video=video, unique_frames=True)
    plain = make_batch(w, idx, video=video)
    assert len(b["frames"]) < len(idx)
    torch.testing.assert_close(b["frames"][b["frame_inverse"]], plain["frames"])
    net = m.network_.eval()
    with torch.no_grad():
        torch.testing.assert_close(net.loss(b)[0], net._loss_padded(plain)[0], rtol=1e-5,
                                   atol=0)


def test_fused_dropout_keeps_the_rate_and_scales():
    torch.manual_seed(0)
    drop = torch.nn.Dropout(0.2).train()
    a = torch.ones(1_000_000, requires_grad=True)
    res = torch.full((1_000_000,), 3.0, requires_grad=True)
    y = dropout(a, drop, res)
    kept = (y - 3.0) != 0
    # kept fraction 0.8 (binomial sd 4e-4), kept values scaled by 1 / 0.8
    assert abs(float(kept.float().mean()) - 0.8) < 2e-3
    torch.testing.assert_close(y[kept] - 3.0, torch.full((int(kept.sum()),), 1.25))
    y.sum().backward()
    torch.testing.assert_close(a.grad, kept.float() * 1.25)
    torch.testing.assert_close(res.grad, torch.ones_like(res))
    assert torch.equal(dropout(a, drop.eval(), res), a + res)


def test_bfloat16_mixed_precision_is_close_to_float32():
    torch.manual_seed(0)
    net = NeuroformerNet(_config())
    batch = _batch(3, lengths=[8, 3, 6, 5], prev_lengths=[10, 2, 4, 7])
    with torch.no_grad():
        ref, _ = net.eval().loss(batch)
        with autocast("cpu", "bfloat16"):
            low, _ = net.loss(batch)
    assert abs(float(low) - float(ref)) < 0.02 * float(ref)
    opt = configure_optimizer(net.train(), learning_rate=1e-3, weight_decay=0.1)
    before = [p.detach().clone() for p in net.parameters()]
    value, parts = train_step(net, opt, batch, precision="bfloat16")
    assert np.isfinite(value) and set(parts) >= {"id", "dt"}
    assert all(p.dtype == torch.float32 for p in net.parameters())
    assert any(not torch.equal(p, q) for p, q in zip(net.parameters(), before))
    with pytest.raises(NeurodataError, match="precision must be one of"):
        autocast("cpu", "half")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_gpu_training_step_matches_the_cpu_loss():
    torch.manual_seed(0)
    net = NeuroformerNet(_config()).eval()
    batch = _batch(4, lengths=[8, 3, 6, 5], prev_lengths=[10, 2, 4, 7])
    with torch.no_grad():
        ref, _ = net.loss(batch)
        gpu = net.to("cuda")
        cuda_batch = {k: v.to("cuda") for k, v in batch.items()}
        exact, _ = gpu.loss(cuda_batch)
        with autocast("cuda", "auto"):
            mixed, _ = gpu.loss(cuda_batch)
    assert abs(float(exact) - float(ref)) < 1e-4 * float(ref)
    assert abs(float(mixed) - float(ref)) < 0.02 * float(ref)
    opt = configure_optimizer(gpu.train(), learning_rate=1e-3, weight_decay=0.1)
    value, _ = train_step(gpu, opt, cuda_batch)
    assert np.isfinite(value)


@pytest.mark.parametrize(("causal", "masked"), [(True, False), (False, True), (False, False)])
def test_cpu_attention_equals_torch_sdpa(causal, masked):
    """attend() from the projections (qkv, or q and kv) equals torch's attention on
    head views, values and gradients; bfloat16 projections get float32 attention
    and bfloat16 gradients."""
    import torch.nn.functional as F

    from neurodata.neuroformer._modules import attend
    torch.manual_seed(0)
    B, T, H, d = 3, 5, 2, 4
    S = T if causal else 7
    C = H * d
    if causal:
        q_src = torch.randn(B, T, 3 * C, requires_grad=True)
        kv_src = None
        parts = q_src.split(C, -1)
    else:
        q_src = torch.randn(B, T, C, requires_grad=True)
        kv_src = torch.randn(B, S, 2 * C, requires_grad=True)
        parts = (q_src, *kv_src.split(C, -1))
    q, k, v = (p.reshape(B, -1, H, d).transpose(1, 2) for p in parts)
    mask = torch.rand(B, S) > 0.3
    mask[:, 0] = True
    m = mask[:, None, None, :] if masked else None
    srcs = [t for t in (q_src, kv_src) if t is not None]
    y = attend(q_src, kv_src, H, m, 0.0, causal)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=causal)
    torch.testing.assert_close(y, ref, rtol=1e-6, atol=1e-7)
    for a, b in zip(torch.autograd.grad(y.square().sum(), srcs),
                    torch.autograd.grad(ref.square().sum(), srcs)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    # bfloat16 projections: attention in float32, gradients back in bfloat16
    low = [t.detach().bfloat16().requires_grad_() for t in srcs]
    yb = attend(low[0], low[1] if len(low) > 1 else None, H, m, 0.0, causal)
    assert yb.dtype == torch.float32
    yb.square().sum().backward()
    assert all(t.grad.dtype == torch.bfloat16 and t.grad.is_contiguous() for t in low)
    torch.testing.assert_close(yb, ref.detach(), rtol=0.05, atol=0.05)
