"""One entry point for every place an NWB file can live: a local HDF5 file, an HDF5
file over HTTP, a local NWB Zarr store, an NWB Zarr store over HTTP.

:func:`open_source` returns a :class:`Source` whose ``root`` the NWB reader
walks: an ``h5py.File`` (local, or over a :class:`~neurodata.io._remote.RemoteFile`)
or the root group of a :class:`~neurodata.io._zarr.ZarrStore`.  Every failure
becomes a :class:`~neurodata.errors.FileFormatError` or
:class:`~neurodata.errors.RemoteError` whose message names the file and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py

from neurodata.errors import FileFormatError, RemoteError
from neurodata.io._h5 import attr_str, nwb_header, open_h5, read_scalar
from neurodata.io._remote import RemoteFile, RemoteOptions, fetch_keys, is_url
from neurodata.io._zarr import ZarrStore, is_zarr_store

__all__ = ["Source", "nwb_version_of", "open_source", "probe_nwb_version"]

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclass
class Source:
    """An opened NWB container: its root group, a label for messages, how to close it."""

    root: Any
    label: str
    layout: str  # "hdf5" or "zarr"
    local: Path | None = None
    size: int | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Close the file (and its HTTP connection); safe to call twice."""
        while self._closers:
            self._closers.pop()()


def _open_remote_hdf5(url: str, opts: RemoteOptions) -> Source:
    fobj = RemoteFile(url, opts)
    try:
        head = fobj.read(8)
        if head != _HDF5_SIGNATURE:
            raise FileFormatError(f"{url} is not an HDF5 file, so it cannot be an NWB file "
                                  f"(an NWB Zarr store is opened by its folder URL).")
        fobj.seek(0)
        try:
            f = h5py.File(fobj, "r")
        except OSError as err:
            raise FileFormatError(f"{url} looks like HDF5 but cannot be opened ({err}); the "
                                  f"file is probably truncated or corrupt.") from None
    except BaseException:
        fobj.close()
        raise
    return Source(f, url, "hdf5", size=fobj.size, _closers=[fobj.close, f.close])


def _remote_is_zarr(url: str, opts: RemoteOptions) -> bool:
    got = fetch_keys(url, [".zgroup"], opts)
    return got.get(".zgroup") is not None


def open_source(path: str | os.PathLike, opts: RemoteOptions | None = None) -> Source:
    """Open an NWB HDF5 file or NWB Zarr store, local or over HTTP(S), read-only.

    Examples
    --------
    >>> from neurodata.datasets import sample_path
    >>> src = open_source(sample_path())
    >>> src.layout, "units" in src.root
    ('hdf5', True)
    >>> src.close()
    """
    opts = opts or RemoteOptions()
    if is_url(path):
        url = str(path)
        if url.rstrip("/").endswith(".zarr") or url.endswith("/"):
            return _open_zarr(url, opts)
        try:
            return _open_remote_hdf5(url, opts)
        except RemoteError as err:
            if err.status == 404 and _remote_is_zarr(url, opts):
                return _open_zarr(url, opts)
            raise
    if is_zarr_store(path):
        return _open_zarr(path, opts)
    f, p = open_h5(path)
    return Source(f, str(p), "hdf5", local=p, size=p.stat().st_size, _closers=[f.close])


def _open_zarr(location: str | os.PathLike, opts: RemoteOptions) -> Source:
    store = ZarrStore(location, opts)
    local = None if is_url(location) else Path(os.fspath(location)).expanduser()
    return Source(store.root, str(store), "zarr", local=local)


def nwb_version_of(root: Any) -> str | None:
    """The ``nwb_version`` of an opened root group (attribute or NWB 1 dataset), or None."""
    version = attr_str(root, "nwb_version")
    if version is None and "nwb_version" in root:
        version = str(read_scalar(root, "nwb_version"))
    return version


def probe_nwb_version(path: Any) -> str | None:
    """The NWB version of a local HDF5 file or Zarr store from its header; None if none.

    Never raises and never reads a URL (returns None for one).

    Examples
    --------
    >>> from neurodata.datasets import sample_path
    >>> probe_nwb_version(sample_path())[0], probe_nwb_version("/no/such.nwb")
    ('2', None)
    """
    if is_url(path):
        return None
    if is_zarr_store(path):
        try:
            return nwb_version_of(ZarrStore(path).root)
        except Exception:  # a header check never raises
            return None
    return nwb_header(path)[0]
