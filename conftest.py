"""Doctest namespace: every docstring example may use ``np`` and ``xr``."""

import matplotlib
import numpy as np
import pytest
import xarray as xr

matplotlib.use("Agg")

# pytest -n 2 runs two workers on two cores: one BLAS thread each avoids oversubscription.
try:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
except ImportError:  # pragma: no cover
    pass


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    doctest_namespace["np"] = np
    doctest_namespace["xr"] = xr


@pytest.fixture(autouse=True)
def _close_figures():
    """Figures made by one test or example are closed after it (they would pile up)."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
