"""Recurrent networks fitted to sparse recordings (Salatiello & Giese 2020) and
data-constrained multi-region RNNs with current-based decomposition (CURBD,
Perich et al. 2020).

>>> from neurodata.rnn import SparseRNN, fit_curbd
"""

from __future__ import annotations

from neurodata.rnn._bptt import BPTTResult, fit_bptt
from neurodata.rnn._curbd import decompose_currents, fit_curbd
from neurodata.rnn._estimator import SparseRNN
from neurodata.rnn._force import ForceResult, fit_force, rls_update
from neurodata.rnn._metrics import (
    cca_similarity,
    normalized_error,
    percent_variance_explained,
    procrustes_distance,
)
from neurodata.rnn._simulate import simulate_rate_network, soc_nonlinearity

__all__ = [
    "BPTTResult",
    "ForceResult",
    "SparseRNN",
    "cca_similarity",
    "decompose_currents",
    "fit_bptt",
    "fit_curbd",
    "fit_force",
    "normalized_error",
    "percent_variance_explained",
    "procrustes_distance",
    "rls_update",
    "simulate_rate_network",
    "soc_nonlinearity",
]
