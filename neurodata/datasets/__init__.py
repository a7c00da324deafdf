"""Synthetic recordings with known ground truth (``make_*``) and sample data (``load_*``)."""

from __future__ import annotations

from neurodata.datasets._connectome import make_dynamic_communities, make_weighted_lfr
from neurodata.datasets._gain_control import make_adaptation_experiment, make_adaptation_trials
from neurodata.datasets._population import make_calcium_imaging, make_poisson_population
from neurodata.datasets._rnn import (
    make_motor_teacher,
    make_rnn_teacher,
    make_soc_network,
    make_three_region_network,
)
from neurodata.datasets._samples import (
    cache_dir,
    fetch_file,
    list_samples,
    load_sample,
    reference_file,
    sample_path,
)
from neurodata.datasets._segmentation import make_filament_segmentation

__all__ = [
    "cache_dir",
    "fetch_file",
    "list_samples",
    "load_sample",
    "make_adaptation_experiment",
    "make_adaptation_trials",
    "make_calcium_imaging",
    "make_dynamic_communities",
    "make_filament_segmentation",
    "make_motor_teacher",
    "make_poisson_population",
    "make_rnn_teacher",
    "make_soc_network",
    "make_three_region_network",
    "make_weighted_lfr",
    "reference_file",
    "sample_path",
]
