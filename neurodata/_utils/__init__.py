"""The private toolbox every module uses, so that each boundary problem is solved once.

* randomness: :func:`check_random_state`, :func:`spawn_seed`,
  :func:`torch_generator`, :func:`torch_seeded`;
* checks that raise named :class:`~neurodata.errors.NeurodataError`\\ s:
  :func:`check_option`, :func:`check_positive`, :func:`check_integer`,
  :func:`check_fraction`, :func:`check_array`, :func:`check_is_fitted`;
* recordings: :func:`sampling_step` (one tolerance), :func:`neuron_dim`,
  :func:`interval_array` (NaN stop times handled once),
  :func:`select_variable`, :func:`select_series`, :func:`as_recordings`;
* the rest: :func:`soft_import`, :func:`progress_bar`, :func:`get_axes`,
  :func:`renamed_kwargs`, :func:`make_history`, :class:`NeurodataEstimator`.

Nothing here is public API; the names may change between releases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurodata._utils._axes import get_axes
from neurodata._utils._checks import (
    check_array,
    check_fraction,
    check_integer,
    check_is_fitted,
    check_option,
    check_positive,
)
from neurodata._utils._deprecate import renamed_kwargs, renamed_params
from neurodata._utils._files import atomic_path
from neurodata._utils._imports import soft_import
from neurodata._utils._intervals import interval_array, recording_span
from neurodata._utils._progress import progress_bar, show_progress
from neurodata._utils._random import check_random_state, spawn_seed, torch_generator, torch_seeded
from neurodata._utils._recording import (
    as_recordings,
    neuron_dim,
    sampling_step,
    select_series,
    select_variable,
)

__all__ = [
    "NeurodataEstimator",
    "as_recordings",
    "atomic_path",
    "check_array",
    "check_fraction",
    "check_integer",
    "check_is_fitted",
    "check_option",
    "check_positive",
    "check_random_state",
    "get_axes",
    "interval_array",
    "make_history",
    "neuron_dim",
    "progress_bar",
    "recording_span",
    "renamed_kwargs",
    "renamed_params",
    "sampling_step",
    "select_series",
    "select_variable",
    "show_progress",
    "soft_import",
    "spawn_seed",
    "torch_generator",
    "torch_seeded",
]

if TYPE_CHECKING:
    from neurodata._utils._estimator import NeurodataEstimator, make_history

# The estimator base imports scikit-learn; it loads on first use so that
# ``import neurodata`` stays light.
_LAZY = {"NeurodataEstimator": "neurodata._utils._estimator",
         "make_history": "neurodata._utils._estimator"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'neurodata._utils' has no attribute {name!r}")
