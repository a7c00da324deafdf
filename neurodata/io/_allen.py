"""``open_allen``: any Allen Brain Observatory file, or a session id through allensdk's caches.

Each session type has its own reader, registered with a header-only
``can_open`` above the generic NWB reader: ``allen-vc2p`` (Visual Coding 2P,
NWB 1, :func:`open_allen_vc2p`), ``allen-neuropixels`` (Visual Coding and
Visual Behavior Neuropixels sessions, :func:`open_allen_neuropixels`),
``allen-lfp`` (a probe's LFP file, :func:`open_allen_lfp`) and ``allen-vbo``
(Visual Behavior 2P experiments, :func:`open_allen_behavior_ophys`).
:func:`open_allen` asks them in turn, as :func:`neurodata.open_recording` does.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path
from typing import Any

import xarray as xr

from neurodata.errors import FileFormatError, NeurodataError

# importing the reader modules registers them
from neurodata.io._allen_ecephys import open_allen_lfp, open_allen_neuropixels
from neurodata.io._allen_ophys import open_allen_behavior_ophys
from neurodata.io._allen_vc2p import open_allen_vc2p
from neurodata.io._h5 import nwb_header, open_h5
from neurodata.io._registry import READERS, Reader

__all__ = ["allen_readers", "open_allen", "open_allen_behavior_ophys", "open_allen_lfp",
           "open_allen_neuropixels", "open_allen_vc2p"]

#: ``kind=`` of :func:`open_allen` -> the reader that opens it.
KIND_READER = {"vc2p": "allen-vc2p", "neuropixels": "allen-neuropixels",
               "vbn": "allen-neuropixels", "lfp": "allen-lfp", "vbo": "allen-vbo"}


def allen_readers() -> list[Reader]:
    """The registered Allen readers, highest priority first.

    Examples
    --------
    >>> sorted(r.name for r in allen_readers())
    ['allen-lfp', 'allen-neuropixels', 'allen-vbo', 'allen-vc2p']
    """
    return [r for r in READERS if r.name.startswith("allen-")]


def _is_session_id(value: Any) -> bool:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and value.isdigit() and not Path(value).exists()


def _no_reader(path: Path, kind: str | None) -> NeurodataError:
    f, p = open_h5(path)  # raises the precise error: missing, not HDF5, truncated
    f.close()
    other = next((r for r in allen_readers() if r.can_open(p)), None)
    if other is not None:
        right = next(k for k, v in KIND_READER.items() if v == other.name)
        return FileFormatError(f"{p} is not an Allen {kind} file but one for the {other.name} "
                               f"reader ({other.description}); open it with kind={right!r} "
                               f"or without kind.")
    version, _ = nwb_header(p)
    what = f"an NWB {version} file" if version else "an HDF5 file without NWB version"
    wanted = f"an Allen {kind} file" if kind else "an Allen Brain Observatory file"
    hint = ("open it with neurodata.open_nwb" if version and not version.startswith(("1", "NWB-1"))
            else "check that this is the file you meant")
    return FileFormatError(f"{p} is {what}, not {wanted} (none of the Allen readers "
                           f"{', '.join(r.name for r in allen_readers())} recognises it); {hint}.")


def open_allen(path_or_session_id: str | os.PathLike | int, *, kind: str | None = None,
               cache_dir: str | os.PathLike | None = None, probe_id: int | None = None,
               host: str | None = None, scheme: str = "http", local: bool = False,
               **kwargs: Any) -> xr.Dataset:
    """Open an Allen Brain Observatory session, from its file or by id through allensdk's caches.

    Parameters
    ----------
    path_or_session_id : path-like or int
        An Allen NWB file (any session type: the reader is chosen by looking
        at the file), or a session / experiment id (needs ``cache_dir`` and
        the ``allen`` extra).
    kind : {"neuropixels", "vbn", "lfp", "vc2p", "vbo"}, optional
        The session type.  For a file it is checked; for an id it chooses the
        allensdk cache (default ``"neuropixels"``).
    cache_dir : path-like, optional
        allensdk's cache folder, for an id.
    probe_id : int, optional
        For ``kind="lfp"`` and an id: the probe whose LFP file to open.
    host, scheme : str, optional
        The warehouse server of the Visual Coding caches (default allensdk's).
    local : bool
        Visual Behavior caches: use only files already in ``cache_dir``.
    **kwargs
        Passed to the reader: ``lazy``, ``checksum``, and for Neuropixels the
        unit filters (see :func:`open_allen_neuropixels`).

    Returns
    -------
    xarray.Dataset
        The recording; ``attrs["allen_session_type"]`` names the session type.

    Raises
    ------
    FileFormatError
        A missing, truncated or non-Allen file (the message says what it is).
    NeurodataError
        An unknown session id, or an id without ``cache_dir``.

    Examples
    --------
    >>> from neurodata.datasets import make_allen_like, sample_path
    >>> with open_allen(make_allen_like("vbo", n_rois=4, duration=60.0)) as ds:
    ...     print(ds.attrs["allen_session_type"], ds.sizes["roi"])
    Visual Behavior 2P 4
    >>> open_allen(sample_path())
    Traceback (most recent call last):
    ...
    neurodata.errors.FileFormatError: ... is an NWB 2... file, not an Allen Brain Observatory file ...
    """
    from neurodata._utils import check_option

    if kind is not None:
        check_option("kind", kind, tuple(KIND_READER))
    if _is_session_id(path_or_session_id):
        if cache_dir is None:
            raise NeurodataError(
                f"{path_or_session_id!r} is a session id: pass cache_dir=... (allensdk's cache "
                f"folder) to locate or download it, or pass the path of its NWB file.")
        from neurodata.io._allen_cache import locate_allen_file

        session_id = int(path_or_session_id)  # type: ignore[arg-type]
        path = locate_allen_file(session_id, cache_dir, kind=kind or "neuropixels",
                                 probe_id=probe_id, host=host, scheme=scheme, local=local)
    else:
        path = Path(os.fspath(path_or_session_id)).expanduser()  # type: ignore[arg-type]
    readers = allen_readers()
    if kind is not None:
        readers = [r for r in readers if r.name == KIND_READER[kind]]
    reader = next((r for r in readers if r.can_open(path)), None)
    if reader is None:
        raise _no_reader(path, kind)
    return reader.open(path, **kwargs)
