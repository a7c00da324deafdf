"""Property tests: the projection and the objective bound hold for arbitrary valid inputs."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neurodata.clustering import make_constraint, mds_objective


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 5), st.integers(1, 4), st.integers(1, 4)),
    half=st.floats(0.1, 2.0),
    shift=st.floats(-0.9, 0.9),
    fraction=st.floats(0.05, 0.9),
    seed=st.integers(0, 2**16),
)
def test_projection_lands_on_the_constraint_set(shape, half, shift, fraction, seed):
    lo, hi = half * (shift - 1), half * (shift + 1)  # contains 0: every direction can reach
    reach = min(abs(lo), abs(hi)) * np.sqrt(np.prod(shape))
    con = make_constraint(shape, fraction * reach, (lo, hi))
    x = torch.randn((3, *shape), generator=torch.Generator().manual_seed(seed)) * 3
    y = con.project(x)
    norms = torch.linalg.vector_norm(y.reshape(3, -1).double(), dim=1)
    assert torch.allclose(norms, torch.full((3,), con.norm, dtype=torch.float64), rtol=2e-4)
    assert float(y.min()) >= lo - 1e-6 and float(y.max()) <= hi + 1e-6


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 8), scale=st.floats(1e-3, 1e3), tau=st.floats(1e-2, 1e2),
       seed=st.integers(0, 2**16))
def test_objective_never_exceeds_log_k(k, scale, tau, seed):
    m = np.random.default_rng(seed).normal(scale=scale, size=(k, k))
    j = mds_objective(m, tau)
    assert np.all(np.isfinite(j)) and np.all(j <= np.log(k) + 1e-9)
