"""FISBe instance-segmentation metrics for long thin filaments (Mais et al., CVPR 2024).

:func:`fisbe_metrics` scores one volume pair exactly as the FISBe authors'
evaluation does (avF1, C, S, clDiceTP, tp, false splits and merges), sparsely
and fast; :func:`aggregate_fisbe` pools many volumes as the leaderboard does;
:func:`read_volume` reads the zarr, HDF5 and TIFF files FISBe uses.
"""

from __future__ import annotations

from neurodata.segmentation._aggregate import aggregate_fisbe
from neurodata.segmentation._io import read_volume
from neurodata.segmentation._metrics import fisbe_metrics
from neurodata.segmentation._plot import plot_coverage, plot_localization
from neurodata.segmentation._result import THRESHOLDS, FisbeResult, FisbeSummary

__all__ = [
    "THRESHOLDS",
    "FisbeResult",
    "FisbeSummary",
    "aggregate_fisbe",
    "fisbe_metrics",
    "plot_coverage",
    "plot_localization",
    "read_volume",
]
