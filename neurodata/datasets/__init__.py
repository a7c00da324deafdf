"""Synthetic generators with known ground truth (``make_*``) and sample data (``load_*``)."""

from __future__ import annotations

from typing import Any

# Generators that need torch are imported on first use, so that importing
# neurodata.datasets stays light.
_LAZY = {
    "RetinaLNModel": "neurodata.datasets._clustering",
    "make_retina_population": "neurodata.datasets._clustering",
    "simulate_retina_recording": "neurodata.datasets._clustering",
}

__all__ = [
    "RetinaLNModel",
    "make_retina_population",
    "simulate_retina_recording",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'neurodata.datasets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
