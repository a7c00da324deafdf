"""The stimulus set: exact norm, per-channel ranges, idempotent projection, smoothing, infeasibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodata.clustering import make_constraint
from neurodata.errors import NeurodataError, ShapeError

CASES = [
    ((1, 6, 5, 5), None, (-1.0, 1.0)),
    ((2, 6, 5, 5), 6.0, ((-1.0, 1.0), (-0.1, 0.5))),
    ((1, 4, 4, 4), 1.5, (-0.2, 0.3)),  # asymmetric: reachable in every direction
    ((1, 4, 4, 4), 6.0, (0.1, 1.0)),  # excludes 0: reachable for positive directions
]


def _norms(x):
    return torch.linalg.vector_norm(x.reshape(len(x), -1), dim=1)


@pytest.mark.parametrize(("shape", "norm", "value_range"), CASES)
def test_projection_meets_norm_and_ranges_and_is_idempotent(shape, norm, value_range):
    con = make_constraint(shape, norm, value_range)
    torch.manual_seed(0)
    x = torch.randn(20, *shape) * torch.rand(20, 1, 1, 1, 1) * 4
    if min(con.low) > 0:
        x = x.abs()
    y = con.project(x)
    assert torch.allclose(_norms(y), torch.full((20,), con.norm), rtol=2e-4)
    for c in range(shape[0]):
        assert y[:, c].min() >= con.low[c] - 1e-6 and y[:, c].max() <= con.high[c] + 1e-6
    assert torch.allclose(con.project(y), y, rtol=1e-3, atol=1e-6)
    # the torch path (used on GPUs) agrees with the numpy path used on CPU
    lo, hi = con._bounds(x)
    a = con._scale(x, lo, hi, _norms(x), 50, 2e-4)
    assert torch.allclose(torch.clamp(a.view(-1, 1, 1, 1, 1) * x, lo, hi), y, atol=1e-4)


def test_projection_is_a_positive_rescale_then_clip():
    con = make_constraint((1, 3, 3, 3), 2.0, (-0.5, 0.5))
    x = torch.randn(4, 1, 3, 3, 3)
    y = con.project(x)
    unclipped = y.abs() < 0.5 - 1e-6
    ratio = (y[unclipped] / x[unclipped]).reshape(-1)
    assert (ratio > 0).all()
    assert torch.sign(y).eq(torch.sign(x)).all()
    # a feasible stimulus is left as it is (to the norm tolerance, 1e-4)
    assert torch.allclose(con.project(y), y, rtol=1e-3, atol=1e-6)
    # a zero stimulus becomes a constant one
    z = con.project(torch.zeros(1, 1, 3, 3, 3))
    assert torch.allclose(z, torch.full_like(z, 2.0 / np.sqrt(27)), atol=1e-5)


def test_temporal_smoothing_keeps_constants_and_damps_flicker():
    con = make_constraint((1, 16, 2, 2), temporal_sigma=1.0)
    const = torch.full((1, 1, 16, 2, 2), 0.3)
    assert torch.allclose(con.smooth(const), const, atol=1e-6)
    flicker = torch.ones(1, 1, 16, 2, 2) * (torch.arange(16) % 2 * 2 - 1).view(1, 1, 16, 1, 1)
    assert con.smooth(flicker)[..., 3:-3, :, :].abs().max() < 0.05
    assert make_constraint((1, 16, 2, 2)).smooth(flicker) is flicker


def test_random_stimuli_are_on_the_set_and_seeded():
    con = make_constraint((1, 6, 5, 5), 3.0, (-0.4, 0.4), temporal_sigma=0.5)
    a = con.random(5, torch.Generator().manual_seed(1))
    b = con.random(5, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert torch.allclose(_norms(a), torch.full((5,), 3.0), rtol=2e-4)
    assert a.abs().max() <= 0.4 + 1e-6


def test_infeasible_norms_and_bad_ranges_are_refused():
    with pytest.raises(NeurodataError, match=r"achievable norms are \[0, 2\]"):
        make_constraint((1, 1, 2, 2), 2.5, (-1, 1))
    with pytest.raises(NeurodataError, match="achievable norms"):
        make_constraint((1, 1, 2, 2), 0.1, (0.5, 1))  # every value >= 0.5: norm >= 1
    with pytest.raises(NeurodataError, match="low < high"):
        make_constraint((1, 2, 2, 2), 1.0, (1, -1))
    with pytest.raises(ShapeError, match="per channel"):
        make_constraint((2, 2, 2, 2), 1.0, ((-1, 1), (-1, 1), (-1, 1)))
    with pytest.raises(ShapeError, match="channel, time, y, x"):
        make_constraint((2, 2, 2), 1.0)
    with pytest.raises(NeurodataError, match="positive"):
        make_constraint((1, 2, 2, 2), -1.0)
