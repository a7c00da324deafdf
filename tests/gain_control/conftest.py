"""Run the gain-control tests with single-threaded BLAS.

The model's linear algebra is on small dense matrices (tens of units), for which
BLAS threads only add overhead, and on the shared test machine they oversubscribe
the cores (measured: the fitting tests ran 3x slower with threaded BLAS).
"""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _single_threaded_blas():
    with threadpool_limits(limits=1, user_api="blas"):
        yield
