"""Training: optimiser groups, schedule, seeded reproducibility, resumable checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from neurodata.errors import NeurodataError
from neurodata.neuroformer import Neuroformer, train_network
from neurodata.neuroformer._train import _epoch_batches, configure_optimizer, lr_multiplier

from .conftest import TINY_PARAMS


def _fit(ds, **kw):
    params = dict(TINY_PARAMS, n_epochs=3, random_state=7)
    params.update(kw)
    callback = params.pop("callback", None)
    return Neuroformer(**params).fit(ds, stimulus="stimulus", callback=callback)


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.network_.parameters()])


def test_weight_decay_applies_to_weight_matrices_only(small_hub):
    m = _fit(small_hub, n_epochs=1)
    opt = configure_optimizer(m.network_, learning_rate=1e-3, weight_decay=0.1)
    decayed = {id(p) for p in opt.param_groups[0]["params"]}
    for name, module in m.network_.named_modules():
        for pname, p in module.named_parameters(recurse=False):
            is_matrix = pname == "weight" and isinstance(module, (nn.Linear, nn.Conv3d))
            assert (id(p) in decayed) == is_matrix, f"{name}.{pname}"
    assert opt.param_groups[1]["weight_decay"] == 0.0


def test_warmup_then_cosine_to_a_floor():
    total = 200
    lr = np.array([lr_multiplier(s, total, 0.05) for s in range(total)])
    assert lr[0] == pytest.approx(0.1) and lr[9] == pytest.approx(1.0)
    assert np.all(np.diff(lr[:10]) > 0) and np.all(np.diff(lr[10:]) <= 1e-12)
    assert lr[-1] == pytest.approx(0.1, abs=1e-3) and lr.min() >= 0.1


def test_batches_cover_every_window_once():
    class W:
        n_current = np.random.default_rng(0).integers(0, 30, 103)

        def __len__(self):
            return 103
    for group in (1, 4):
        batches = _epoch_batches(W(), 10, np.random.default_rng(1), group)
        assert sorted(np.concatenate(batches).tolist()) == list(range(103))


def test_seeded_training_is_reproducible(small_hub):
    a, b = _fit(small_hub), _fit(small_hub)
    torch.testing.assert_close(_weights(a), _weights(b), rtol=0, atol=0)
    c = _fit(small_hub, random_state=8)
    assert not torch.equal(_weights(a), _weights(c))
    assert a.history_.train_loss[-1] < a.history_.train_loss[0]


def test_resumed_training_matches_an_uninterrupted_run(small_hub, tmp_path):
    ckpt = tmp_path / "nf.pt"
    full = _fit(small_hub, dropout=0.1)
    stopped = _fit(small_hub, dropout=0.1, checkpoint=ckpt, callback=lambda r: r["epoch"] == 2)
    assert stopped.history_.sizes["iteration"] == 2 and ckpt.exists()
    resumed = _fit(small_hub, dropout=0.1, checkpoint=ckpt)
    assert resumed.history_.step.values.tolist() == full.history_.step.values.tolist()
    np.testing.assert_array_equal(resumed.history_.train_loss[:2], stopped.history_.train_loss)
    torch.testing.assert_close(_weights(resumed), _weights(full))
    assert not list(tmp_path.glob("*.tmp"))                     # written atomically


def test_checkpoint_from_another_configuration_is_refused(small_hub, tmp_path):
    ckpt = tmp_path / "nf.pt"
    _fit(small_hub, n_epochs=1, checkpoint=ckpt)
    with pytest.raises(NeurodataError, match="different config.*n_embd"):
        _fit(small_hub, n_epochs=1, checkpoint=ckpt, n_embd=32)
    with pytest.raises(NeurodataError, match="different training"):
        _fit(small_hub, n_epochs=1, checkpoint=ckpt, learning_rate=1e-2)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(NeurodataError, match="cannot read checkpoint"):
        _fit(small_hub, n_epochs=1, checkpoint=tmp_path / "junk.pt")
    fresh = _fit(small_hub, n_epochs=1, checkpoint=ckpt, n_embd=32, resume=False)
    assert fresh.config_.n_embd == 32


def test_bad_training_settings_and_divergence(small_hub):
    with pytest.raises(NeurodataError, match="learning_rate must be positive"):
        _fit(small_hub, n_epochs=1, learning_rate=float("nan"))
    with pytest.raises(NeurodataError, match="n_epochs and batch_size"):
        _fit(small_hub, n_epochs=0)
    m = _fit(small_hub, n_epochs=1)
    w, video = m.windows(small_hub, stimulus="stimulus")
    with torch.no_grad():
        m.network_.head_id.weight.fill_(float("inf"))
    with pytest.raises(NeurodataError, match="loss became"):
        train_network(m.network_, w, video=video, n_epochs=1, progress=False)


def test_validation_loss_is_the_score_on_the_held_out_intervals(small_hub):
    m = Neuroformer(**dict(TINY_PARAMS, n_epochs=2, random_state=3)).fit(
        small_hub, intervals=[(0.1, 3.0)], validation_intervals=[(3.0, 4.0)], stimulus="stimulus")
    assert np.isfinite(m.history_.val_loss).all()
    score = m.score(small_hub, intervals=[(3.0, 4.0)], stimulus="stimulus")
    assert score == pytest.approx(-float(m.history_.val_loss[-1]), rel=1e-6)


def test_max_steps_caps_training(small_hub):
    m = Neuroformer(**dict(TINY_PARAMS, n_epochs=1)).fit(small_hub, stimulus="stimulus")
    w, video = m.windows(small_hub, stimulus="stimulus")
    n_batches = -(-len(w) // 16)
    hist = train_network(m.network_, w, video=video, n_epochs=3, batch_size=16, max_steps=7,
                         progress=False)
    assert int(hist.step[-1]) == 7 and hist.sizes["iteration"] == -(-7 // n_batches)


def test_precision_reaches_training_and_scoring(small_hub):
    exact = _fit(small_hub, n_epochs=1)
    fast = _fit(small_hub, n_epochs=1, precision="bfloat16")
    a, b = float(exact.history_.train_loss[0]), float(fast.history_.train_loss[0])
    assert a != b and b == pytest.approx(a, rel=0.02)          # rounding, not another model
    s = exact.score(small_hub, stimulus="stimulus")
    assert fast.score(small_hub, stimulus="stimulus") == pytest.approx(s, rel=0.02)
    with pytest.raises(NeurodataError, match="precision must be one of"):
        _fit(small_hub, n_epochs=1, precision="half")


@pytest.mark.parametrize("max_norm", [1e-3, 1e3])
def test_clipping_inside_the_fused_update_equals_clip_grad_norm(max_norm):
    """The clipping factor passed to fused AdamW as its grad_scale gives the weights of
    clip_grad_norm_ then step (to rounding), whether or not clipping is active."""
    from neurodata.neuroformer._train import _clipped_step

    def make():
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(20, 30), nn.LayerNorm(30), nn.Linear(30, 5))

    a, b = make(), make()
    oa = configure_optimizer(a, learning_rate=1e-2, weight_decay=0.1)
    ob = configure_optimizer(b, learning_rate=1e-2, weight_decay=0.1)
    assert all(g["fused"] for g in ob.param_groups)
    x = torch.randn(64, 20, generator=torch.Generator().manual_seed(1))
    for _ in range(5):
        for net, opt in ((a, oa), (b, ob)):
            opt.zero_grad()
            net(x).square().mean().backward()
            if net is a:
                nn.utils.clip_grad_norm_(net.parameters(), max_norm)
                opt.step()
            else:
                _clipped_step(net, opt, max_norm)
    with torch.no_grad():
        moved = max(float((p - q).abs().max()) for p, q in zip(make().parameters(), a.parameters()))
        diff = max(float((p - q).abs().max()) for p, q in zip(a.parameters(), b.parameters()))
    assert moved > 1e-3 and diff < 1e-6
    assert not hasattr(ob, "grad_scale")
