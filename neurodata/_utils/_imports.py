"""Optional dependencies: import them when needed, with a message that names the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from neurodata.errors import NeurodataError

__all__ = ["soft_import"]


class MissingDependencyError(NeurodataError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def soft_import(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise a :class:`NeurodataError` naming the extra that provides it.

    Parameters
    ----------
    module : str
        Module to import (``"torch"``, ``"zarr"``, ...).
    extra : str
        The ``neurodata`` extra that installs it (``"torch"``, ``"io"``, ...).
    purpose : str
        What needs it, for the message (``"method='bptt'"``).

    Examples
    --------
    >>> soft_import("json", "test", "this example").__name__
    'json'
    >>> soft_import("no_such_module", "io", "reading zarr stores")
    Traceback (most recent call last):
    ...
    neurodata._utils._imports.MissingDependencyError: reading zarr stores needs no_such_module, ...
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        pkg = module.split(".")[0]
        raise MissingDependencyError(
            f"{purpose} needs {pkg}, which is not installed ({err}); install it with "
            f"pip install 'neurodata[{extra}]'."
        ) from err
