"""The gain-control estimator in the package-wide estimator contract."""

from __future__ import annotations

from neurodata.datasets import load_sample
from neurodata.gain_control import AdaptiveGainModel
from tests.contract import ContractCase

CASES = [ContractCase(
    make=lambda **kw: AdaptiveGainModel(**{"n_init": 2, "random_state": 0, **kw}),
    data=lambda: load_sample("sample_adaptation"),
    # one evaluation from a start far from the sample's network is a clearly worse fit
    worse={"n_init": 1, "max_iter": 1},
    unfitted_calls=[lambda est, rec: est.predict([0.0, 45.0]),
                    lambda est, rec: est.score(rec),
                    lambda est, rec: est.effects()],
)]
