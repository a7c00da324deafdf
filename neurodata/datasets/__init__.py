"""Synthetic generators with known ground truth, for tests, docstrings and tutorials."""

from __future__ import annotations

from neurodata.datasets._neuroformer import make_hub_network

__all__ = ["make_hub_network"]
