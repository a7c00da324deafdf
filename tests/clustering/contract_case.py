"""MDSClustering in the estimator contract: a small synthetic retina recording."""

from __future__ import annotations

from neurodata.clustering import MDSClustering
from neurodata.datasets import make_retina_population
from tests.contract import ContractCase

SELECT = {"stimulus": "movie", "lags": 6}


def _make(**params):
    return MDSClustering(**{"n_clusters_init": 2, "split": False, "max_iter": 3, "n_steps": 10,
                            "n_noise": 64, "n_epochs": 2, "random_state": 0, "progress": False,
                            **params})


CASES = [ContractCase(make=_make,
                      data=lambda: make_retina_population(16, 2, n_frames=300,
                                                          stimulus_shape=(6, 5, 5),
                                                          random_state=0),
                      fit_kwargs=SELECT, worse={"n_steps": 1, "max_iter": 1},
                      unfitted_calls=[lambda est, rec: est.score(rec, **SELECT),
                                      lambda est, rec: est.transform(),
                                      lambda est, rec: est.stimuli_tensor()])]
