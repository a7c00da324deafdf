"""neurodata: open neural recordings as labelled xarray objects and analyse them.

The top-level namespace holds the recording tools (readers, writers, schema,
shared preprocessing).  Each analysis lives in its own subpackage, imported
explicitly so that importing :mod:`neurodata` stays light (no torch):

>>> import neurodata as nd
>>> ds = nd.load_sample()
>>> ds.nd.bin_spikes(0.01).sizes["unit"]
24
"""

from __future__ import annotations

from neurodata import accessor as _accessor  # noqa: F401  (registers ds.nd)
from neurodata._version import __version__
from neurodata.batch import map_files, open_folder, open_recording
from neurodata.datasets import load_sample
from neurodata.errors import (
    FileFormatError,
    InvalidRecordingError,
    NeurodataError,
    NeurodataWarning,
    NoNeuralDataError,
    ShapeError,
    UnstableDynamicsError,
)
from neurodata.io import open_allen, open_nwb, read_results, save_nwb, summarize, write_nwb
from neurodata.schema import validate
from neurodata.signals import align, bin_spikes, compute_dff, resample

__all__ = [
    "FileFormatError",
    "InvalidRecordingError",
    "NeurodataError",
    "NeurodataWarning",
    "NoNeuralDataError",
    "ShapeError",
    "UnstableDynamicsError",
    "__version__",
    "align",
    "bin_spikes",
    "compute_dff",
    "load_sample",
    "map_files",
    "open_allen",
    "open_folder",
    "open_nwb",
    "open_recording",
    "read_results",
    "resample",
    "save_nwb",
    "summarize",
    "validate",
    "write_nwb",
]
