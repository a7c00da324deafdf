"""Low-level HDF5 access for the NWB readers: safe opening, attributes, tables."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neurodata.errors import FileFormatError
from neurodata.io._nodes import is_dataset

__all__ = [
    "attr_str",
    "file_sha256",
    "neurodata_type",
    "open_h5",
    "read_scalar",
    "snake",
]

#: Files above this size get no checksum at open time (it would read the whole file).
CHECKSUM_LIMIT_BYTES = 2 * 1024**3


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """Return the hex sha256 of a file, read in chunks.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(delete=False) as f:
    ...     _ = f.write(b"abc")
    >>> file_sha256(f.name)[:16]
    'ba7816bf8f01cfea'
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def open_h5(path: str | os.PathLike) -> tuple[h5py.File, Path]:
    """Open an HDF5 file read-only, turning every failure into a clear FileFormatError.

    Examples
    --------
    >>> open_h5("/no/such/file.nwb")
    Traceback (most recent call last):
    ...
    neurodata.errors.FileFormatError: no file at /no/such/file.nwb; check the path ...
    """
    p = Path(os.fspath(path)).expanduser()
    if not p.exists():
        raise FileFormatError(f"no file at {p}; check the path (relative paths are resolved "
                              f"from {Path.cwd()}).")
    if p.is_dir():
        raise FileFormatError(f"{p} is a directory, not an NWB file; to open every NWB file "
                              f"in it use neurodata.open_folder({str(p)!r}).")
    try:
        is_h5 = h5py.is_hdf5(p)
    except OSError as err:  # permission problems and the like
        raise FileFormatError(f"cannot read {p}: {err}.") from None
    if not is_h5:
        raise FileFormatError(f"{p} is not an HDF5 file, so it cannot be an NWB file (NWB 2 "
                              f"zarr stores and other formats are not supported here).")
    try:
        return h5py.File(p, "r"), p
    except OSError as err:
        raise FileFormatError(f"{p} looks like HDF5 but cannot be opened ({err}); the file is "
                              f"probably truncated or corrupt: download or copy it again.") from None


def nwb_header(path: str | os.PathLike, *groups: str) -> tuple[str | None, list[bool]]:
    """The NWB version of an HDF5 file (None if it has none) and whether each group exists.

    Reads the file's header only; any failure (no file, not HDF5, truncated)
    gives ``(None, [False, ...])``.  Readers use it in their ``can_open``.

    Examples
    --------
    >>> from neurodata.datasets import sample_path
    >>> version, found = nwb_header(sample_path(), "units", "no/such/group")
    >>> version[0], found
    ('2', [True, False])
    >>> nwb_header("/no/such/file.nwb")
    (None, [])
    """
    try:
        p = Path(os.fspath(path)).expanduser()
        if not p.is_file() or not h5py.is_hdf5(p):
            return None, [False] * len(groups)
        with h5py.File(p, "r") as f:
            version = attr_str(f, "nwb_version")
            if version is None and "nwb_version" in f:
                version = str(read_scalar(f, "nwb_version"))
            return version, [g in f for g in groups]
    except Exception:  # a header check never raises
        return None, [False] * len(groups)


def _decode(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    if isinstance(v, np.ndarray) and v.dtype.kind in "OS":
        return np.array([_decode(x) for x in v.ravel()], dtype=object).reshape(v.shape)
    return v


def attr_str(obj: h5py.HLObject, name: str, default: str | None = None) -> str | None:
    """Return an attribute as ``str`` (decoding bytes), or ``default``.

    Examples
    --------
    >>> import io
    >>> f = h5py.File(io.BytesIO(), "w"); f.attrs["x"] = b"abc"
    >>> attr_str(f, "x"), attr_str(f, "missing", "none")
    ('abc', 'none')
    """
    if name not in obj.attrs:
        return default
    v = _decode(obj.attrs[name])
    if isinstance(v, np.ndarray):
        return ", ".join(map(str, v.ravel()))
    return str(v)


def neurodata_type(obj: h5py.HLObject) -> str | None:
    """The NWB ``neurodata_type`` of a group or dataset (None if untyped)."""
    return attr_str(obj, "neurodata_type")


def read_scalar(obj: h5py.Group, name: str, default: Any = None) -> Any:
    """Read a scalar dataset (decoding strings), or return ``default``."""
    if name not in obj or not is_dataset(obj[name]):
        return default
    v = obj[name][()]
    v = _decode(v)
    if isinstance(v, np.ndarray) and v.size == 1:
        v = _decode(v.ravel()[0])
    return v


def snake(name: str) -> str:
    """Turn an NWB object name into a snake_case variable name.

    Examples
    --------
    >>> snake("CompassDirection"), snake("Tracked 2D position"), snake("DfOverF")
    ('compass_direction', 'tracked_2d_position', 'df_over_f')
    """
    s = re.sub(r"[^0-9A-Za-z]+", "_", name)
    s = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", s)
    s = re.sub(r"_+", "_", s).strip("_").lower()
    if not s or s[0].isdigit():
        s = "v_" + s
    return s
