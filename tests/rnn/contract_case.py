"""SparseRNN in the estimator contract: a small same-class teacher recording."""

from __future__ import annotations

from neurodata.datasets import make_rnn_teacher
from neurodata.rnn import SparseRNN
from tests.contract import ContractCase

SELECT = {"variable": "rates", "behaviour": "emg", "stimulus": "cue", "trials": "trial"}


def _make(**params):
    return SparseRNN(**{"n_units": 30, "sampled_fraction": 0.2, "n_epochs": 5, "random_state": 0,
                        "progress": False, **params})


CASES = [ContractCase(make=_make, data=lambda: make_rnn_teacher(12, random_state=0),
                      fit_kwargs=SELECT, worse={"n_units": 2, "n_epochs": 1},
                      unfitted_calls=[lambda est, rec: est.predict(rec, **SELECT),
                                      lambda est, rec: est.score(rec, **SELECT),
                                      lambda est, rec: est.dynamics_similarity(rec, **SELECT)])]
