"""Sample data shipped with the package, and downloads of public recordings.

Shipped samples live in ``neurodata/datasets/data`` and are listed, with
their sha256 and how they were made, in ``registry.json`` beside them.  Public
recordings are downloaded by :func:`fetch_file` into a cache folder
(``$NEURODATA_DATA`` or ``~/.cache/neurodata``), checked against their sha256,
and written atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

import xarray as xr

from neurodata.errors import FileFormatError, NeurodataError
from neurodata.io._h5 import file_sha256

__all__ = ["cache_dir", "fetch_file", "list_samples", "load_sample", "reference_file",
           "sample_path"]

DATA_DIR = Path(__file__).resolve().parent / "data"


def _registry() -> dict:
    with open(DATA_DIR / "registry.json") as f:
        return json.load(f)


def list_samples() -> dict[str, str]:
    """Names of the shipped samples with one-line descriptions.

    Examples
    --------
    >>> {"sample_imaging", "sample_session"} <= set(list_samples())
    True
    """
    return {name: entry["description"] for name, entry in _registry()["samples"].items()}


def sample_path(name: str = "sample_session") -> Path:
    """Path of a shipped sample NWB file (or folder of files, for multi-animal samples).

    Examples
    --------
    >>> sample_path("sample_session").name
    'sample_session.nwb'
    """
    samples = _registry()["samples"]
    if name not in samples:
        raise NeurodataError(f"no sample named {name!r}; available: {', '.join(sorted(samples))}.")
    entry = samples[name]
    return DATA_DIR / (entry["folder"] if "folder" in entry else entry["file"])


def load_sample(name: str = "sample_session", *,
                lazy: bool = True) -> xr.Dataset | dict[str, xr.Dataset]:
    """Open a shipped sample session as a recording (a folder sample: a dict of them).

    ``sample_session``: 24 orientation-tuned Poisson units over 40 trials with
    running speed (made by :func:`make_poisson_population` with seed 0);
    ``sample_imaging``: 30 ROIs of two-photon fluorescence with neuropil and
    known calcium events (:func:`make_calcium_imaging`, seed 0);
    ``sample_worms``: four animals' imaging sessions, one file each, with
    named neurons that co-activate in planted groups
    (:func:`make_connectome_recordings`, seed 0), returned as
    :func:`~neurodata.open_folder` does: ``{file name: recording}``;
    ``sample_field``: a 6 x 6 ECoG-like electrode grid over a simulated cortical field
    with known parameters, electrode positions in the electrodes table
    (:func:`make_field_recording`, seed 0);
    ``sample_adaptation``: 48 units' spike trains and a trial table of 600
    gratings from a uniform and a biased ensemble
    (:func:`make_adaptation_trials`, seed 0).  :func:`list_samples` lists them all.

    Examples
    --------
    >>> ds = load_sample("sample_session", lazy=False)
    >>> ds.sizes["unit"], ds.sizes["trial"]
    (24, 40)
    >>> sorted(load_sample("sample_worms"))
    ['animal0.nwb', 'animal1.nwb', 'animal2.nwb', 'animal3.nwb']
    """
    path = sample_path(name)
    if path.is_dir():
        from neurodata.batch import open_folder

        return open_folder(path, lazy=lazy)
    from neurodata.io import open_nwb

    return open_nwb(path, lazy=lazy)


def cache_dir() -> Path:
    """Folder for downloaded data: ``$NEURODATA_DATA`` or ``~/.cache/neurodata``.

    Examples
    --------
    >>> isinstance(cache_dir(), Path)
    True
    """
    return Path(os.environ.get("NEURODATA_DATA", Path.home() / ".cache" / "neurodata"))


def fetch_file(url: str, *, sha256: str | None = None, dest: str | os.PathLike | None = None,
               progress: bool | None = None, timeout: float = 60.0) -> Path:
    """Download a file once into the cache, verify it, and return its path.

    A file already in place with the right checksum is not downloaded again.
    The download goes to a temporary file beside the destination and is moved
    into place only after its checksum matches, so an interrupted or corrupted
    download never leaves a file that looks complete.

    Parameters
    ----------
    url : str
        Where to download from (http, https or file URL).
    sha256 : str, optional
        Expected hex digest; a mismatch raises and keeps nothing.
    dest : path-like, optional
        Destination file; default: the URL's file name in :func:`cache_dir`.
    progress : bool or None
        Show a progress bar (None: in a terminal or notebook only).
    timeout : float
        Seconds to wait for the server.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile
    >>> src = Path(tempfile.mkdtemp()) / "x.bin"; _ = src.write_bytes(b"abc")
    >>> out = fetch_file(src.as_uri(), dest=src.with_name("y.bin"), progress=False,
    ...                  sha256="ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    >>> out.read_bytes()
    b'abc'
    """
    target = Path(dest) if dest is not None else cache_dir() / url.rstrip("/").rsplit("/", 1)[-1]
    if target.exists() and (sha256 is None or file_sha256(target) == sha256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            total = int(resp.headers.get("Content-Length") or 0) or None
            from neurodata._utils import progress_bar

            with progress_bar(total=total, unit="B", unit_scale=True, desc=target.name,
                              progress=progress) as bar:
                for block in iter(lambda: resp.read(1 << 20), b""):
                    out.write(block)
                    bar.update(len(block))
        if sha256 is not None and (got := file_sha256(tmp)) != sha256:
            raise FileFormatError(f"the download from {url} has sha256 {got}, expected {sha256}; "
                                  f"the file was not kept. Try again, or check the URL.")
        shutil.move(str(tmp), target)
    except OSError as err:
        if isinstance(err, FileFormatError):
            raise
        raise FileFormatError(f"could not download {url}: {err}. Check the address and your "
                              f"network connection.") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def reference_file(relpath: str) -> Path | None:
    """Find a file of the project's reference data folder, or return None.

    Tutorials and benchmarks use real recordings when they are available and
    fall back to synthetic data otherwise; the package itself never needs
    them.  Looked up in ``$NEURODATA_SHARED_DATA``, then in ``shared/data``
    beside the current folder or any folder above it.

    Examples
    --------
    >>> reference_file("no/such/file.nwb") is None
    True
    """
    roots = [Path(os.environ["NEURODATA_SHARED_DATA"])] if "NEURODATA_SHARED_DATA" in os.environ \
        else []
    here = Path.cwd().resolve()
    roots += [p / "shared" / "data" for p in (here, *here.parents)]
    roots += [p / "shared" / "data" for p in Path(__file__).resolve().parents]
    for root in roots:
        if (root / relpath).is_file():
            return root / relpath
    return None
