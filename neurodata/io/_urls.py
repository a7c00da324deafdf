"""Many remote recordings at once: ``open_urls`` is ``open_folder`` for a list of URLs."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable

import xarray as xr

from neurodata._utils import check_option
from neurodata.errors import NeurodataError, NeurodataWarning
from neurodata.io._registry import open_recording

__all__ = ["open_urls"]


def open_urls(urls: Iterable[str | os.PathLike], *, on_error: str = "raise",
              **kwargs) -> dict[str, xr.Dataset]:
    """Open recordings from a list of URLs (or paths, or both), lazily.

    Each is opened with the reader that claims it (:func:`open_recording`),
    streaming over HTTP for URLs: only metadata is fetched until a
    computation needs data.

    Parameters
    ----------
    urls : iterable of str or path-like
        ``http(s)://`` URLs of NWB files or NWB Zarr stores, or local paths.
    on_error : {"raise", "skip"}
        On one that cannot be opened, raise, or skip it with a
        :class:`NeurodataWarning` naming it and the problem.
    **kwargs
        Passed to the reader (``cache=``, ``retries=``, ``timeout=``, ...).

    Returns
    -------
    dict
        URL (as given) -> Dataset, in the order given.

    Examples
    --------
    >>> from neurodata.datasets import sample_path
    >>> from neurodata.io._http_server import RangeServer
    >>> with RangeServer(sample_path().parent) as server:
    ...     urls = [server.url("sample_session.nwb"), server.url("sample_imaging.nwb")]
    ...     found = open_urls(urls)
    ...     print([ds.sizes.get("unit", 0) for ds in found.values()])
    ...     for ds in found.values():
    ...         ds.close()
    [24, 0]
    """
    check_option("on_error", on_error, ("raise", "skip"))
    out: dict[str, xr.Dataset] = {}
    for url in urls:
        key = str(url) if isinstance(url, str) else os.fspath(url)
        try:
            out[str(key)] = open_recording(url, **kwargs)
        except NeurodataError as err:
            if on_error == "raise":
                raise
            warnings.warn(f"skipped {key}: {err}", NeurodataWarning, stacklevel=2)
    return out
