"""Shared fixtures: the real reference data in ../shared/data, skipped when absent."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]

def _find_shared() -> Path:
    """``$NEURODATA_SHARED_DATA``, else ``shared/data`` beside the repository (or above it)."""
    if "NEURODATA_SHARED_DATA" in os.environ:
        return Path(os.environ["NEURODATA_SHARED_DATA"])
    for parent in ROOT.parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return ROOT.parent / "shared" / "data"


SHARED_DATA = _find_shared()


def shared_file(relpath: str) -> Path:
    """Return a file of ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / relpath
    if not path.exists():
        pytest.skip(f"reference data {relpath} not found under {SHARED_DATA} "
                    f"(set NEURODATA_SHARED_DATA to its folder to run this test)")
    return path


@pytest.fixture
def shared_data():
    """The ../shared/data folder; the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent")
    return SHARED_DATA
