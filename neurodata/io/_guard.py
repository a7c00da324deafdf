"""Whatever a file holds, a reader returns a recording or raises a named NeurodataError.

The readers mark the NWB object they are reading with :func:`reading`; an
unexpected exception (a missing dataset, a wrong dtype or shape, a broken
reference, a truncated file) keeps that path, and :func:`malformed` turns it
into a :class:`~neurodata.errors.FileFormatError` that names the file, the
object and the problem.  Lazy arrays read after the open go through
:class:`GuardedArray`, so a failure at compute time is named the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import numpy as np

from neurodata.errors import FileFormatError, NeurodataError

__all__ = ["GuardedArray", "guarded_call", "malformed", "reading"]

#: The file (path or URL) being opened, for messages of arrays read later.
SOURCE: ContextVar[str] = ContextVar("nwb_source", default="")


@contextlib.contextmanager
def reading(path: str) -> Iterator[None]:
    """Mark the NWB object being read; an unexpected error inside remembers it."""
    try:
        yield
    except NeurodataError:
        raise
    except Exception as err:
        if not hasattr(err, "nwb_path"):
            with contextlib.suppress(AttributeError, TypeError):
                err.nwb_path = path  # type: ignore[attr-defined]
        raise


def malformed(label: str, err: BaseException) -> FileFormatError:
    """The named error for an unexpected failure while reading ``label``.

    Examples
    --------
    >>> try:
    ...     with reading("/units/spike_times_index"):
    ...         raise IndexError("index 7 is out of bounds")
    ... except IndexError as err:
    ...     print(malformed("s.nwb", err))
    s.nwb: cannot read /units/spike_times_index (IndexError: index 7 is out of bounds); the file is malformed there. Repair or re-export it (pynwb's validator, nwbinspector).
    """
    where = getattr(err, "nwb_path", "/")
    return FileFormatError(f"{label}: cannot read {where} ({type(err).__name__}: {err}); the file "
                           f"is malformed there. Repair or re-export it (pynwb's validator, "
                           f"nwbinspector).")


def guarded_call(func: Callable[..., Any], label: str, path: str) -> Callable[..., Any]:
    """``func`` with its unexpected failures turned into a named FileFormatError."""
    def call(*args, **kwargs):
        try:
            with reading(path):
                return func(*args, **kwargs)
        except NeurodataError:
            raise
        except Exception as err:
            raise malformed(label, err) from err

    return call


class GuardedArray:
    """An array-like over a dataset whose reads fail with a named FileFormatError.

    dask reads it chunk by chunk (``da.from_array``), long after the open.
    """

    def __init__(self, ds: Any, label: str) -> None:
        self.ds, self.label = ds, label
        self.shape = tuple(int(s) for s in ds.shape)
        self.dtype = np.dtype(ds.dtype)
        self.ndim = len(self.shape)
        self.name = str(ds.name)
        self.chunks = getattr(ds, "chunks", None)  # dask aligns its chunks with the stored ones
        self._read = guarded_call(ds.__getitem__, label, self.name)

    def __getitem__(self, key: Any) -> np.ndarray:
        out = np.asarray(self._read(key))
        if out.dtype != self.dtype:
            raise FileFormatError(f"{self.label}: {self.name} gave {out.dtype} values, not "
                                  f"{self.dtype}; the file is malformed there.")
        return out
