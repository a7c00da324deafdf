"""Recurrent networks fitted to sparse recordings (Salatiello & Giese 2020) and
data-constrained multi-region RNNs with current-based decomposition (CURBD,
Perich et al. 2020).

Both take a recording: its units (traces, or spike trains as firing rates),
its behaviour or EMG series (targets) and stimulus or task series (inputs),
cut into the trials of its trial table.

>>> from neurodata.rnn import SparseRNN, fit_curbd
"""

from __future__ import annotations

from neurodata.rnn._bptt import BPTTResult, fit_bptt
from neurodata.rnn._curbd import decompose_currents, fit_curbd, region_currents
from neurodata.rnn._estimator import SparseRNN
from neurodata.rnn._force import ForceResult, fit_force, rls_update
from neurodata.rnn._metrics import (
    cca_similarity,
    normalized_error,
    percent_variance_explained,
    procrustes_distance,
)
from neurodata.rnn._plot import (
    aligned_trajectories,
    plot_current_traces,
    plot_currents,
    plot_trajectories,
)
from neurodata.rnn._simulate import simulate_rate_network, soc_nonlinearity

__all__ = [
    "BPTTResult",
    "ForceResult",
    "SparseRNN",
    "aligned_trajectories",
    "cca_similarity",
    "decompose_currents",
    "fit_bptt",
    "fit_curbd",
    "fit_force",
    "normalized_error",
    "percent_variance_explained",
    "plot_current_traces",
    "plot_currents",
    "plot_trajectories",
    "procrustes_distance",
    "region_currents",
    "rls_update",
    "simulate_rate_network",
    "soc_nonlinearity",
]
