"""Functional cell-type clustering with most discriminative stimuli (Burg et al., ICLR 2024).

An expectation-maximisation-like alternation on a predictive model of a
neural population: optimise one stimulus per cluster that drives that
cluster's neurons more than any other (M-step), move every neuron to the
stimulus that drives it most (E-step), split clusters while that improves
the objective.  The stimuli then type new cells on the fly.
"""

from __future__ import annotations

from neurodata.clustering._constraint import StimulusConstraint, make_constraint
from neurodata.clustering._mds import MDSClustering, mds_clustering
from neurodata.clustering._objective import ResponseNormalizer, mds_objective

__all__ = [
    "MDSClustering",
    "ResponseNormalizer",
    "StimulusConstraint",
    "make_constraint",
    "mds_clustering",
    "mds_objective",
]
