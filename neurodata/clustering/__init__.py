"""Functional cell-type clustering with most discriminative stimuli (Burg et al., ICLR 2024).

An expectation-maximisation-like alternation on a predictive model of a
neural population: optimise one stimulus per cluster that drives that
cluster's neurons more than any other (M-step), move every neuron to the
stimulus that drives it most (E-step), split clusters while that improves
the objective.  The stimuli then type new cells on the fly.

``MDSClustering().fit(recording, stimulus="movie")`` starts from a
recording with a stimulus movie and the responses to it: it trains a
predictive model (:class:`ConvGaussianModel`, :func:`fit_predictive_model`)
on the movie aligned to the responses (:func:`neurodata.signals.align_movie`)
and clusters its neurons.  Any differentiable callable mapping stimuli
``(batch, channel, time, y, x)`` to responses ``(batch, unit)`` can be
clustered too: a torch module of your own, or the ground-truth model of a
synthetic retina (:meth:`neurodata.datasets.RetinaLNModel.from_recording`).
"""

from __future__ import annotations

from neurodata.clustering._baseline import gmm_bic_clustering, noise_response_features
from neurodata.clustering._confusion import response_confusion_matrix, type_confusion_matrix
from neurodata.clustering._constraint import StimulusConstraint, make_constraint
from neurodata.clustering._estimator import MDSClustering
from neurodata.clustering._mds import mds_clustering
from neurodata.clustering._model import (
    ConvGaussianModel,
    fit_predictive_model,
    prediction_correlation,
)
from neurodata.clustering._objective import ResponseNormalizer, mds_objective
from neurodata.clustering._plot import plot_mds, plot_response_confusion, plot_type_confusion

__all__ = [
    "ConvGaussianModel",
    "MDSClustering",
    "ResponseNormalizer",
    "StimulusConstraint",
    "fit_predictive_model",
    "gmm_bic_clustering",
    "make_constraint",
    "mds_clustering",
    "mds_objective",
    "noise_response_features",
    "plot_mds",
    "plot_response_confusion",
    "plot_type_confusion",
    "prediction_correlation",
    "response_confusion_matrix",
    "type_confusion_matrix",
]
