"""The array-level decoding baselines hold to the estimator contract where it applies."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from sklearn.base import clone

from neurodata._utils import NeurodataEstimator
from neurodata.errors import NotFittedError
from neurodata.io import read_results
from neurodata.neuroformer import PoissonGLMDecoder, RidgeDecoder


def _tuned(n=400, seed=0):
    """Counts of 8 von Mises-tuned units for random head directions."""
    rng = np.random.default_rng(seed)
    theta = rng.uniform(0, 2 * np.pi, n)
    pref = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    return rng.poisson(5 * np.exp(2 * np.cos(theta[:, None] - pref))).astype(float), theta


CASES = [
    (lambda **kw: RidgeDecoder(**kw), {"alphas": [1e6]}),       # a crushing penalty
    (lambda **kw: PoissonGLMDecoder(circular=True, **kw), {"n_grid": 4}),   # a 90-degree grid
]


@pytest.mark.parametrize("make, worse", CASES, ids=["ridge", "glm"])
def test_array_baseline_contract(make, worse, tmp_path):
    X, theta = _tuned()
    y = np.c_[np.sin(theta), np.cos(theta)]
    target = y if isinstance(make(), RidgeDecoder) else theta
    est = make()
    assert isinstance(est, NeurodataEstimator) and " object at 0x" not in repr(est)
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    with pytest.raises(NotFittedError):
        est.predict(X)
    with pytest.raises(NotFittedError):
        est.to_dataset()
    X0 = X.copy()
    assert est.fit(X, target) is est
    np.testing.assert_array_equal(X, X0)
    good = est.score(X, target)
    assert isinstance(good, float) and 0.5 < good <= 1.0
    assert good > make(**worse).fit(X, target).score(X, target)
    xr.testing.assert_identical(est.to_dataset(), make().fit(X, target).to_dataset())
    back = next(iter(read_results(est.write_nwb(tmp_path / "fit.nwb")).values()))
    xr.testing.assert_identical(back, est.to_dataset())


def test_r2_score_is_exact_on_a_noiseless_linear_target():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = X @ [1.0, -2.0, 0.0, 0.5] + 3.0
    assert RidgeDecoder(alphas=[1e-8]).fit(X, y).score(X, y) == pytest.approx(1.0, abs=1e-9)
