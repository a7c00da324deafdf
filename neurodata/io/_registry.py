"""Readers say what they can open; :func:`open_recording` asks them in turn.

Each reader is a :class:`Reader`: a name, a cheap ``can_open(path) -> bool``
that looks at the file's header only and never raises, the function that
opens the file, and a priority.  This follows xarray's backend entry points
(``guess_can_open``): the dispatcher asks the readers, it never parses the
text of an error message.  Readers with a higher priority are asked first, so
a specialised reader (Allen, ...) claims a file before the generic NWB one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import xarray as xr

__all__ = ["READERS", "Reader", "guess_reader", "open_recording", "register_reader"]


@dataclass(frozen=True)
class Reader:
    """One file reader: its name, a header check, and the function that opens files.

    Examples
    --------
    >>> r = Reader("text", lambda p: str(p).endswith(".txt"), lambda p, **kw: None)
    >>> r.can_open("notes.txt"), r.can_open("session.nwb")
    (True, False)
    """

    name: str
    can_open: Callable[[Any], bool]
    open: Callable[..., xr.Dataset]
    description: str = ""
    priority: int = 0


#: The registered readers, highest priority (most specialised) first.
READERS: list[Reader] = []


def register_reader(reader: Reader) -> Reader:
    """Add ``reader``, replacing one of the same name; keep READERS by priority.

    Examples
    --------
    >>> _load_builtin_readers()
    >>> [r.name for r in READERS][-1]    # the generic reader is asked last
    'nwb'
    """
    kept = [r for r in READERS if r.name != reader.name] + [reader]
    READERS[:] = sorted(kept, key=lambda r: -r.priority)  # stable: ties keep their order
    return reader


def _safe_can_open(reader: Reader, path: Any) -> bool:
    try:
        return bool(reader.can_open(path))
    except Exception:  # a header check must never decide by crashing
        return False


def guess_reader(path: str | os.PathLike) -> Reader | None:
    """The first registered reader whose ``can_open`` claims ``path``, or None.

    Examples
    --------
    >>> from neurodata.datasets import sample_path
    >>> guess_reader(sample_path()).name
    'nwb'
    >>> guess_reader("/no/such/file.nwb") is None
    True
    """
    _load_builtin_readers()
    return next((r for r in READERS if _safe_can_open(r, path)), None)


def open_recording(path: str | os.PathLike, **kwargs) -> xr.Dataset:
    """Open any recording file with the reader that says it can open it.

    When no reader claims the file, the generic NWB reader opens it anyway, so
    that its precise error (missing file, not HDF5, truncated, NWB 1, ...)
    reaches the user.

    Parameters
    ----------
    path : path-like
        A recording file.
    **kwargs
        Passed to the chosen reader (``lazy=``, ``checksum=``, ...).

    Examples
    --------
    >>> from neurodata.datasets import sample_path
    >>> open_recording(sample_path()).sizes["unit"]
    24
    """
    reader = guess_reader(path)
    if reader is None:
        from neurodata.io._nwb_read import open_nwb

        return open_nwb(path, **kwargs)
    return reader.open(path, **kwargs)


def _load_builtin_readers() -> None:
    # Importing the reader modules registers them (each calls register_reader).
    import neurodata.io._allen
    import neurodata.io._nwb_read  # noqa: F401  (generic: registered first, asked last)
