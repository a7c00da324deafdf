"""Synthetic generators with known ground truth (``make_*``) and sample data."""

from __future__ import annotations

from neurodata.datasets._gain_control import make_adaptation_experiment, make_adaptation_trials

__all__ = ["make_adaptation_experiment", "make_adaptation_trials"]
