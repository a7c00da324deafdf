"""Synthetic generators with known ground truth (``make_*``) and sample data."""

from __future__ import annotations

from neurodata.datasets._connectome import make_dynamic_communities, make_weighted_lfr

__all__ = ["make_dynamic_communities", "make_weighted_lfr"]
