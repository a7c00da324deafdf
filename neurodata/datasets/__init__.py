"""Synthetic generators with known ground truth (``make_*``) and sample data (``load_*``)."""

from __future__ import annotations

from neurodata.datasets._field_theory import make_cortical_sheet, make_field_recording

__all__ = ["make_cortical_sheet", "make_field_recording"]
