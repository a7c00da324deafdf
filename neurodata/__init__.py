"""neurodata: open neural recordings as labelled xarray objects and analyse them.

The top-level namespace holds the recording tools (readers, writers, schema,
shared preprocessing).  Each analysis lives in its own subpackage, imported
explicitly so that importing :mod:`neurodata` stays light (no torch):

>>> import neurodata as nd
>>> nd.__version__
'0.1.0'
"""

from __future__ import annotations

from neurodata._version import __version__
from neurodata.errors import (
    FileFormatError,
    InvalidRecordingError,
    NeurodataError,
    NeurodataWarning,
    NoNeuralDataError,
    ShapeError,
    UnstableDynamicsError,
)
from neurodata.schema import validate

__all__ = [
    "FileFormatError",
    "InvalidRecordingError",
    "NeurodataError",
    "NeurodataWarning",
    "NoNeuralDataError",
    "ShapeError",
    "UnstableDynamicsError",
    "__version__",
    "validate",
]
