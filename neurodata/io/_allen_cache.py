"""Allen Brain Observatory sessions by id, located or downloaded through allensdk's caches.

With the ``allen`` extra installed, a session id is resolved by the cache of
its project: ``EcephysProjectCache`` (Visual Coding Neuropixels, and its
probes' LFP files), ``BrainObservatoryCache`` (Visual Coding 2P),
``VisualBehaviorOphysProjectCache`` and
``VisualBehaviorNeuropixelsProjectCache``.  allensdk decides where a file
lives in the cache and how it is fetched; the file is then opened by our
readers.  Downloads we trigger are written to a temporary file beside their
place in the cache and moved into place only once complete and readable as
HDF5, so an interrupted download never leaves a file that looks complete.
"""

from __future__ import annotations

import os
import tempfile  # noqa: F401  (used in the doctest)
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

import h5py

from neurodata._utils import atomic_path, check_option, soft_import
from neurodata.errors import FileFormatError, NeurodataError

__all__ = ["CACHE_KINDS", "locate_allen_file"]

#: Session kinds a cache can locate, and the allensdk cache used for each.
CACHE_KINDS = {
    "neuropixels": "EcephysProjectCache",
    "lfp": "EcephysProjectCache",
    "vc2p": "BrainObservatoryCache",
    "vbo": "VisualBehaviorOphysProjectCache",
    "vbn": "VisualBehaviorNeuropixelsProjectCache",
}


class UnknownSessionError(NeurodataError, LookupError):
    """No session, experiment or probe with this id in the Allen project's cache."""


def write_atomically(path: str | os.PathLike, chunks: Iterable[bytes]) -> None:
    """Write streamed bytes to ``path`` through a temporary file; keep it only if it is HDF5.

    Examples
    --------
    >>> out = Path(tempfile.mkdtemp()) / "x.nwb"
    >>> write_atomically(out, [b"not ", b"hdf5"])
    Traceback (most recent call last):
    ...
    neurodata.errors.FileFormatError: the download of x.nwb is not a complete HDF5 file ...
    >>> out.exists()
    False
    """
    target = Path(path)
    with atomic_path(target, overwrite=True, suffix=target.suffix) as tmp:
        with open(tmp, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        try:
            with h5py.File(tmp, "r") as f:
                ok = "nwb_version" in f.attrs or "nwb_version" in f
        except OSError:
            ok = False
        if not ok:
            raise FileFormatError(f"the download of {target.name} is not a complete HDF5 file "
                                  f"(interrupted?); nothing was kept. Try again.")


def _cached_download(path: Path, fetch: Any, tries: int) -> Path:
    """Download once into ``path`` (atomically), retrying; unknown ids are reported at once."""
    if path.exists():
        return path
    last: Exception | None = None
    for _ in range(max(1, tries)):
        try:
            write_atomically(path, fetch())
            return path
        except UnknownSessionError:
            raise
        except Exception as err:  # requests' and h5py's errors alike: retry, then report
            last = err
    raise FileFormatError(f"could not download {path.name} into the allensdk cache ({last}); "
                          f"nothing was kept. Check the network connection and try again.")


def _stream(url: str, chunk: int = 1 << 20) -> Iterable[bytes]:
    requests = soft_import("requests", "allen", "downloading Allen files")
    with requests.get(url, stream=True, timeout=60) as resp:
        resp.raise_for_status()
        yield from resp.iter_content(chunk)


def _ecephys(session_id: int, cache_dir: Path, kind: str, host: str | None, scheme: str,
             probe_id: int | None) -> Path:
    mod = soft_import("allensdk.brain_observatory.ecephys.ecephys_project_cache", "allen",
                      "open_allen(session_id, ...)")
    kw = {"scheme": scheme, "host": host} if host else {}
    cache = mod.EcephysProjectCache.from_warehouse(manifest=str(cache_dir / "ecephys_manifest.json"),
                                                   fetch_tries=1, **kw)
    api = cache.fetch_api
    if kind == "lfp":
        if probe_id is None:
            raise NeurodataError("kind='lfp' needs probe_id=... (the probe whose LFP file to open).")
        path = Path(cache.get_cache_path(None, cache.PROBE_LFP_NWB_KEY, session_id, probe_id))
        fetch = partial(api.get_probe_lfp_data, probe_id)
    else:
        path = Path(cache.get_cache_path(None, cache.SESSION_NWB_KEY, session_id, session_id))
        fetch = partial(api.get_session_data, session_id)

    def checked():
        try:
            return fetch()
        except ValueError as err:  # allensdk: "expected exactly 1 nwb file for session ..."
            raise UnknownSessionError(
                f"the Allen Visual Coding Neuropixels project has no {kind} file for id "
                f"{probe_id if kind == 'lfp' else session_id} ({err}); check the id against "
                f"EcephysProjectCache.get_session_table().") from None

    return _cached_download(path, checked, 2)


def _brain_observatory(experiment_id: int, cache_dir: Path, base_uri: str | None) -> Path:
    mod = soft_import("allensdk.core.brain_observatory_cache", "allen",
                      "open_allen(experiment_id, kind='vc2p')")
    boc = mod.BrainObservatoryCache(manifest_file=str(cache_dir / "brain_observatory_manifest.json"),
                                    base_uri=base_uri)
    path = Path(boc.get_cache_path(None, boc.EXPERIMENT_DATA_KEY, experiment_id))

    def fetch() -> Iterable[bytes]:
        rows = boc.api.template_query("brain_observatory_queries", "ophys_experiment_data",
                                      ophys_experiment_id=experiment_id)
        if not rows:
            raise UnknownSessionError(
                f"the Allen Brain Observatory has no Visual Coding 2P experiment {experiment_id}; "
                f"check the id against BrainObservatoryCache.get_ophys_experiments().")
        return _stream(boc.api.api_url + rows[0]["download_link"])

    return _cached_download(path, fetch, 2)


def _visual_behavior(session_id: int, cache_dir: Path, kind: str, local: bool) -> Path:
    mod = soft_import("allensdk.brain_observatory.behavior.behavior_project_cache", "allen",
                      f"open_allen(id, kind={kind!r})")
    cls = getattr(mod, CACHE_KINDS[kind])
    cache = cls.from_local_cache(cache_dir=cache_dir) if local else \
        cls.from_s3_cache(cache_dir=cache_dir)
    api = cache.fetch_api
    table = api._ophys_experiment_table if kind == "vbo" else api._ecephys_session_table
    if session_id not in table.index:
        raise UnknownSessionError(
            f"the Allen {CACHE_KINDS[kind]} has no {'experiment' if kind == 'vbo' else 'session'} "
            f"{session_id}; check the id against the cache's "
            f"{'get_ophys_experiment_table' if kind == 'vbo' else 'get_ecephys_session_table'}().")
    file_id = str(int(table.loc[session_id][api.cache.file_id_column]))
    return Path(api._get_data_path(file_id=file_id))


def locate_allen_file(session_id: int, cache_dir: str | os.PathLike, *, kind: str = "neuropixels",
                      probe_id: int | None = None, host: str | None = None,
                      scheme: str = "http", local: bool = False) -> Path:
    """The local path of an Allen session's NWB file, downloaded by allensdk's cache if needed.

    Parameters
    ----------
    session_id : int
        Ecephys session id (``"neuropixels"``, ``"lfp"``, ``"vbn"``) or ophys
        experiment id (``"vc2p"``, ``"vbo"``).
    cache_dir : path-like
        The allensdk cache folder (its manifest lives there).
    kind : {"neuropixels", "lfp", "vc2p", "vbo", "vbn"}
        Which project, hence which allensdk cache.
    probe_id : int, optional
        The probe whose LFP file to locate (``kind="lfp"``).
    host, scheme : str, optional
        Another warehouse server for the Visual Coding caches (default:
        allensdk's own).
    local : bool
        Visual Behavior caches: use only files already in ``cache_dir``.

    Returns
    -------
    pathlib.Path
    """
    check_option("kind", kind, tuple(CACHE_KINDS))
    cache = Path(os.fspath(cache_dir)).expanduser()
    if kind in ("neuropixels", "lfp"):
        return _ecephys(int(session_id), cache, kind, host, scheme, probe_id)
    if kind == "vc2p":
        return _brain_observatory(int(session_id), cache, f"{scheme}://{host}" if host else None)
    return _visual_behavior(int(session_id), cache, kind, local)
