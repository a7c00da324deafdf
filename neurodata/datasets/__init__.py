"""Synthetic recordings with known ground truth (``make_*``) and sample data (``load_*``)."""

from __future__ import annotations

from typing import Any

from neurodata.datasets._population import make_calcium_imaging, make_poisson_population
from neurodata.datasets._references import fetch_reference, list_references
from neurodata.datasets._samples import (
    cache_dir,
    fetch_file,
    list_samples,
    load_sample,
    reference_file,
    sample_path,
)

# The generators of the analysis modules are imported on first use, so that importing
# neurodata (and neurodata.datasets) loads neither torch, numba nor scikit-learn.
_LAZY = {
    "make_connectome_recordings": "neurodata.datasets._connectome",
    "make_dynamic_communities": "neurodata.datasets._connectome",
    "make_weighted_lfr": "neurodata.datasets._connectome",
    "make_adaptation_experiment": "neurodata.datasets._gain_control",
    "make_allen_like": "neurodata.datasets._allen",
    "make_adaptation_trials": "neurodata.datasets._gain_control",
    "make_hub_network": "neurodata.datasets._neuroformer",
    "hub_connectivity": "neurodata.datasets._neuroformer",
    "make_motor_teacher": "neurodata.datasets._rnn",
    "make_rnn_teacher": "neurodata.datasets._rnn",
    "make_soc_network": "neurodata.datasets._rnn",
    "make_three_region_network": "neurodata.datasets._rnn",
    "make_filament_segmentation": "neurodata.datasets._segmentation",
    "make_cortical_sheet": "neurodata.datasets._field_theory",  # numba, via field_theory
    "make_field_recording": "neurodata.datasets._field_theory",
    "RetinaLNModel": "neurodata.datasets._clustering",
    "make_retina_population": "neurodata.datasets._clustering",
    "simulate_retina_recording": "neurodata.datasets._clustering",
}

__all__ = [
    "RetinaLNModel",
    "cache_dir",
    "fetch_file",
    "fetch_reference",
    "hub_connectivity",
    "list_references",
    "list_samples",
    "load_sample",
    "make_adaptation_experiment",
    "make_adaptation_trials",
    "make_allen_like",
    "make_calcium_imaging",
    "make_connectome_recordings",
    "make_cortical_sheet",
    "make_dynamic_communities",
    "make_field_recording",
    "make_filament_segmentation",
    "make_hub_network",
    "make_motor_teacher",
    "make_poisson_population",
    "make_retina_population",
    "make_rnn_teacher",
    "make_soc_network",
    "make_three_region_network",
    "make_weighted_lfr",
    "reference_file",
    "sample_path",
    "simulate_retina_recording",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'neurodata.datasets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
