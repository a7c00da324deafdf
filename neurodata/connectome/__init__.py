"""Dynamic functional connectomes (Dyballa et al., ICLR 2024).

Pairwise differential affinities between calcium traces, organised as a
pairs x time x animals tensor, factorised by non-negative CP (NTF), with
weighted stochastic-block-model communities (flat or nested) on each component.

>>> from neurodata.connectome import DynamicConnectome, ntf, fit_sbm
"""

from __future__ import annotations

from neurodata.connectome._affinity import (
    compute_affinities,
    pair_indices,
    pairs_to_matrix,
    shared_change,
)
from neurodata.connectome._ensemble import factor_similarity, ntf_ensemble
from neurodata.connectome._estimator import DynamicConnectome
from neurodata.connectome._nested import fit_nested_sbm, nested_description_length
from neurodata.connectome._neurons import celegans_neuron_classes, neuron_class, select_neurons
from neurodata.connectome._neuropal import read_neuropal_mat
from neurodata.connectome._ntf import ntf
from neurodata.connectome._plot import (
    plot_affinities,
    plot_animal_loadings,
    plot_community_graph,
    plot_hierarchy,
    plot_rank_selection,
    plot_time_factors,
)
from neurodata.connectome._sbm import fit_sbm, sbm_description_length
from neurodata.connectome._tensor import build_affinity_tensor, split_recordings

__all__ = [
    "DynamicConnectome",
    "build_affinity_tensor",
    "celegans_neuron_classes",
    "compute_affinities",
    "factor_similarity",
    "fit_nested_sbm",
    "fit_sbm",
    "nested_description_length",
    "neuron_class",
    "ntf",
    "ntf_ensemble",
    "pair_indices",
    "pairs_to_matrix",
    "plot_affinities",
    "plot_animal_loadings",
    "plot_community_graph",
    "plot_hierarchy",
    "plot_rank_selection",
    "plot_time_factors",
    "read_neuropal_mat",
    "sbm_description_length",
    "select_neurons",
    "shared_change",
    "split_recordings",
]
