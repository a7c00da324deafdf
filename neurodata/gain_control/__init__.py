"""Adaptive gain control in a recurrent V1 ring network (Duong et al. 2023).

A recurrent population of orientation-tuned neurons adapts to the statistics
of its stimuli by changing only single-neuron gains, chosen to optimise an
efficient-coding trade-off between fidelity and total activity.  Propagated
through the fixed recurrent weights, these gain changes reproduce the
population adaptation effects of Benucci, Saleem & Carandini (2013).

>>> from neurodata.gain_control import ring_network, stimulus_ensemble, optimal_gains
>>> net = ring_network(60)
>>> gains = optimal_gains(net, stimulus_ensemble(20, p_adapter=0.3))
>>> gains.dims
('model_unit',)
"""

from __future__ import annotations

from neurodata.gain_control._benucci import BENUCCI_DIMS, benucci_format, check_benucci
from neurodata.gain_control._compare import (
    compare_models,
    cross_validate_sessions,
    model_confusion,
    simulate_benucci,
)
from neurodata.gain_control._conventions import (
    BENUCCI_P_ADAPTER,
    benucci_prior,
    load_benucci_mat,
    normalize_benucci,
    write_benucci_mat,
)
from neurodata.gain_control._effects import (
    adaptation_effects,
    preferred_orientation,
    preferred_orientation_shift,
    response_covariance,
    response_equalization,
    response_extrema,
)
from neurodata.gain_control._estimator import AdaptiveGainModel
from neurodata.gain_control._fit import fit_adaptation_model, predict_adaptation
from neurodata.gain_control._metrics import benucci_effects, bootstrap_benucci, separable_fit
from neurodata.gain_control._models import RivalModel, rival_model, rival_models
from neurodata.gain_control._network import (
    check_stability,
    feedforward_drive,
    ring_network,
    simulate,
    steady_state,
    stimulus_ensemble,
)
from neurodata.gain_control._objective import (
    calibrate_alpha,
    coding_objective,
    equalizing_gains,
    objective_gradient,
    optimal_gains,
    optimize_gains,
    single_neuron_gains,
)
from neurodata.gain_control._plot import (
    plot_benucci,
    plot_benucci_effects,
    plot_confusion,
    plot_covariances,
    plot_dynamics,
    plot_extrema,
    plot_gains,
    plot_model_comparison,
    plot_network,
    plot_preferred_shift,
    plot_separable,
    plot_tuning_curves,
)

__all__ = [
    "BENUCCI_DIMS",
    "BENUCCI_P_ADAPTER",
    "AdaptiveGainModel",
    "RivalModel",
    "adaptation_effects",
    "benucci_effects",
    "benucci_format",
    "benucci_prior",
    "bootstrap_benucci",
    "calibrate_alpha",
    "check_benucci",
    "check_stability",
    "coding_objective",
    "compare_models",
    "cross_validate_sessions",
    "equalizing_gains",
    "feedforward_drive",
    "fit_adaptation_model",
    "load_benucci_mat",
    "model_confusion",
    "normalize_benucci",
    "objective_gradient",
    "optimal_gains",
    "optimize_gains",
    "plot_benucci",
    "plot_benucci_effects",
    "plot_confusion",
    "plot_covariances",
    "plot_dynamics",
    "plot_extrema",
    "plot_gains",
    "plot_model_comparison",
    "plot_network",
    "plot_preferred_shift",
    "plot_separable",
    "plot_tuning_curves",
    "predict_adaptation",
    "preferred_orientation",
    "preferred_orientation_shift",
    "response_covariance",
    "response_equalization",
    "response_extrema",
    "ring_network",
    "rival_model",
    "rival_models",
    "separable_fit",
    "simulate",
    "simulate_benucci",
    "single_neuron_gains",
    "steady_state",
    "stimulus_ensemble",
    "write_benucci_mat",
]
