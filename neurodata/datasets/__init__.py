"""Synthetic generators with known ground truth (``make_*``) and sample data (``load_*``)."""

from __future__ import annotations

from neurodata.datasets._segmentation import make_filament_segmentation

__all__ = [
    "make_filament_segmentation",
]
