"""The fused dropout kernels against the torch operations they replace."""

import numpy as np
import pytest
import torch

from neurodata.neuroformer._kernels import (
    dropout_add_backward,
    dropout_add_forward,
    keep_threshold,
    random_bits,
)
from neurodata.neuroformer._modules import dropout


@pytest.mark.parametrize("p", [0.1, 0.2, 0.5])
def test_keep_threshold_is_exact_to_2_to_the_minus_16(p):
    threshold, scale = keep_threshold(p)
    p_keep = (32768 - threshold) / 65536
    assert abs((1 - p_keep) - p) <= 2**-17
    assert scale * p_keep == pytest.approx(1.0, abs=1e-15)


def test_random_bits_are_uniform_in_every_lane():
    torch.manual_seed(1)
    r = random_bits(4_000_000, "cpu").reshape(-1, 4).to(torch.int32)
    # each of the four 16-bit lanes of a 64-bit draw: mean 0 (of -32768..32767 shifted) and
    # a sign bit that is set half the time
    assert (r.float().mean(0) + 0.5).abs().max() < 200
    assert ((r < 0).float().mean(0) - 0.5).abs().max() < 0.002


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("residual", [True, False])
def test_fused_dropout_equals_the_torch_expression(dtype, residual):
    torch.manual_seed(0)
    a = torch.randn(300, 257).to(dtype)
    res = torch.randn(300, 257) if residual else None
    out, keep = dropout_add_forward(a, res, 0.2)
    _, scale = keep_threshold(0.2)
    expected = a.float() * keep * scale + (res if residual else 0)
    assert torch.equal(out, expected)
    assert abs(float(keep.float().mean()) - 0.8) < 0.005
    g = torch.randn(300, 257)
    grad = dropout_add_backward(g, keep, 0.2, dtype)
    assert grad.dtype == dtype
    # bfloat16: round to nearest even, as torch's cast does
    assert torch.equal(grad, (g * keep * scale).to(dtype))


def test_dropout_keeps_expectations_and_its_gradient_is_the_mask():
    drop = torch.nn.Dropout(0.2).train()
    torch.manual_seed(3)
    a = torch.full((2000, 300), 2.0, requires_grad=True)
    res = torch.zeros(2000, 300, requires_grad=True)
    out = dropout(a, drop, res)
    assert float(out.detach().mean()) == pytest.approx(2.0, rel=2e-3)
    out.sum().backward()
    kept = out.detach() != 0
    assert torch.equal(a.grad, kept * keep_threshold(0.2)[1])
    assert torch.equal(res.grad, torch.ones_like(res))


def test_dropout_draws_follow_the_torch_seed():
    drop = torch.nn.Dropout(0.2).train()
    a = torch.ones(1000, dtype=torch.bfloat16)
    torch.manual_seed(5)
    first = dropout(a, drop)
    torch.manual_seed(5)
    assert torch.equal(first, dropout(a, drop))
    assert not torch.equal(first, dropout(a, drop))
    assert first.dtype == torch.bfloat16
    assert np.isclose(float(first.float().mean()), 1.0, atol=0.05)
