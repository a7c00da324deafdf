"""The real recordings the tutorials and benchmarks use: found locally, or downloaded on request.

Each reference file is listed in ``registry.json`` ("references") with its
public origin, download address and sha256.  :func:`fetch_reference` looks for
it in the reference data folder (``$NEURODATA_SHARED_DATA`` or ``shared/data``
beside the working folder), then in the download cache, and downloads it only
when asked (``download=True`` or ``NEURODATA_DOWNLOAD=1``), so that a tutorial
run offline says how to get a file instead of silently skipping it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from neurodata.datasets._samples import _registry, cache_dir, fetch_file, reference_file
from neurodata.errors import FileFormatError, NeurodataError
from neurodata.io._h5 import file_sha256

__all__ = ["fetch_reference", "list_references"]


def list_references() -> dict[str, str]:
    """Names of the reference recordings with one-line descriptions.

    Examples
    --------
    >>> "neurosuite" in list_references()
    True
    """
    return {k: v["description"] for k, v in _registry()["references"].items()}


def _entry(name: str) -> dict:
    refs = _registry()["references"]
    if name not in refs:
        raise NeurodataError(f"no reference recording named {name!r}; available: "
                             f"{', '.join(sorted(refs))}.")
    return refs[name]


def _members(archive: Path, kind: str) -> Iterator[tuple[str, Callable[[], IO[bytes]]]]:
    """(name, opener) of every file in a zip or tar archive."""
    if kind == "zip":
        with zipfile.ZipFile(archive) as z:
            names = [i.filename for i in z.infolist() if not i.is_dir()]
        for name in names:
            yield name, functools.partial(_open_zip_member, archive, name)
    else:
        with tarfile.open(archive) as t:
            names = [m.name for m in t.getmembers() if m.isfile()]
        for name in names:
            yield name, functools.partial(_open_tar_member, archive, name)


def _open_zip_member(archive: Path, name: str) -> IO[bytes]:
    return io.BytesIO(zipfile.ZipFile(archive).read(name))


def _open_tar_member(archive: Path, name: str) -> IO[bytes]:
    with tarfile.open(archive) as t:
        f = t.extractfile(name)
        if f is None:
            raise FileFormatError(f"{name} in {archive} is not a regular file.")
        return io.BytesIO(f.read())


def _extract(archive: Path, kind: str, member: str | None, sha256: str, size: int,
             target: Path) -> None:
    """Copy the archive member with the right sha256 (named, or found by size and hash)."""
    for name, opener in _members(archive, kind):
        if member is not None and name != member:
            continue
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, opener() as src:
            for block in iter(functools.partial(src.read, 1 << 20), b""):
                out.write(block)
                h.update(block)
        if h.hexdigest() == sha256:
            shutil.move(tmp, target)
            return
        os.unlink(tmp)
    raise FileFormatError(f"the archive {archive} holds no file with sha256 {sha256} "
                          f"({size} bytes); it may have changed at its source.")


def fetch_reference(name: str, *, download: bool | None = None) -> Path:
    """Path of a reference recording: local if present, downloaded if asked.

    Parameters
    ----------
    name : str
        One of :func:`list_references` ("neurosuite", "suite2p", "scholz_worm",
        "alm", "allen_vc2p_skinny", "stroud_soc", "fisbe_volume").
    download : bool, optional
        Download the file (checksummed, atomically, into
        :func:`~neurodata.datasets.cache_dir`) when it is not found locally.
        Default: only when the environment variable ``NEURODATA_DOWNLOAD`` is 1.

    Raises
    ------
    FileFormatError
        The file is not available and was not downloaded; the message says
        where it comes from and the command that fetches it.

    Examples
    --------
    >>> try:
    ...     path = fetch_reference("alm")
    ... except FileFormatError as err:
    ...     print(str(err)[:38])
    ... else:
    ...     print(path.name)
    sub-anm369963_ses-20170228.nwb
    """
    entry = _entry(name)
    local = reference_file(entry["file"])
    if local is not None:
        return local
    target = cache_dir() / "references" / Path(entry["file"]).name
    if target.is_file() and file_sha256(target) == entry["sha256"]:
        return target
    if download is None:
        download = os.environ.get("NEURODATA_DOWNLOAD", "") == "1"
    mb = entry.get("archive_size", entry["size"]) / 1e6
    if not download:
        raise FileFormatError(
            f"the reference recording {name!r} ({entry['description']}) is not on this "
            f"machine. It comes from {entry['origin']}. Get it with "
            f"neurodata.datasets.fetch_reference({name!r}, download=True) (downloads "
            f"{mb:.3g} MB from {entry['url']}), or point NEURODATA_SHARED_DATA at a folder "
            f"holding {entry['file']}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    if "archive" in entry or "member" in entry:
        kind = entry.get("archive", "tar")
        archive = fetch_file(entry["url"], sha256=entry.get("archive_sha256"),
                             dest=target.parent / f"{name}.{kind}.download")
        _extract(archive, kind, entry.get("member"), entry["sha256"], entry["size"], target)
        return target
    return fetch_file(entry["url"], sha256=entry["sha256"], dest=target)
