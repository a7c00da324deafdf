"""DynamicConnectome in the estimator contract: the four-animal sample, one file per animal."""

from __future__ import annotations

from neurodata.connectome import DynamicConnectome
from neurodata.datasets import load_sample
from tests.contract import ContractCase


def _make(**params):
    base = dict(rank=4, window=10.0, n_init=1, max_iter=60, sbm_n_init=1, random_state=0)
    return DynamicConnectome(**{**base, **params})


CASES = [ContractCase(
    make=_make,
    data=lambda: load_sample("sample_worms", lazy=False),
    fit_kwargs={"variable": "traces", "identity": "roi_name"},
    worse={"rank": 1},
    unfitted_calls=[lambda est, recs: est.score(recs, variable="traces"),
                    lambda est, recs: est.graph(0)],
)]
