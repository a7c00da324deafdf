"""Synthetic generators with known ground truth (``make_*``) and sample data."""

from __future__ import annotations

from neurodata.datasets._rnn import (
    make_motor_teacher,
    make_rnn_teacher,
    make_soc_network,
    make_three_region_network,
)

__all__ = [
    "make_motor_teacher",
    "make_rnn_teacher",
    "make_soc_network",
    "make_three_region_network",
]
