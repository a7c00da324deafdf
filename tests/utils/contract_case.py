"""A toy estimator that keeps the contract test itself honest."""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata._utils import NeurodataEstimator, check_random_state, make_history, select_variable
from neurodata.datasets import load_sample
from tests.contract import ContractCase


class ToyMeans(NeurodataEstimator):
    """Mean of each ROI's trace plus seeded noise; score is minus the squared error."""

    def __init__(self, noise: float = 0.0, random_state=None, progress=None):
        self.noise = noise
        self.random_state = random_state
        self.progress = progress

    def fit(self, recording, *, variable=None):
        x = select_variable(recording, variable).values
        rng = check_random_state(self.random_state)
        self.means_ = x.mean(0) + self.noise * rng.normal(size=x.shape[1])
        self.history_ = make_history({"loss": [1.0, 0.5]})
        return self

    def score(self, recording, *, variable=None):
        self._check_fitted()
        x = select_variable(recording, variable).values
        return -float(np.mean((x - self.means_) ** 2))

    def to_dataset(self):
        self._check_fitted()
        return xr.Dataset({"means": ("roi", self.means_)})


CASES = [ContractCase(make=lambda **kw: ToyMeans(**{"noise": 0.1, "random_state": 0, **kw}),
                      data=lambda: load_sample("sample_imaging"),
                      fit_kwargs={"variable": "fluorescence"},
                      worse={"noise": 50.0},
                      unfitted_calls=[lambda est, rec: est.score(rec, variable="fluorescence")])]
