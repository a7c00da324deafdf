"""Many files at once: open a folder of recordings lazily, map a function over files with Dask."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from neurodata._utils import show_progress
from neurodata.errors import FileFormatError, NeurodataError, NeurodataWarning
from neurodata.io._registry import open_recording
from neurodata.io._remote import is_url

__all__ = ["FileFailure", "map_files", "open_folder", "open_recording"]


class FileFailure:
    """What :func:`map_files` returns in place of a result for a file that failed."""

    def __init__(self, path: Path, error: BaseException) -> None:
        self.path, self.error = path, error

    def __repr__(self) -> str:
        return f"FileFailure({str(self.path)!r}, {type(self.error).__name__}: {self.error})"


def _files(folder: Path, pattern: str, recursive: bool) -> list[Path]:
    if not folder.exists():
        raise FileFormatError(f"no folder at {folder}; check the path.")
    if not folder.is_dir():
        raise FileFormatError(f"{folder} is a file; open it with neurodata.open_nwb.")
    return sorted(folder.rglob(pattern) if recursive else folder.glob(pattern))


def open_folder(path: str | os.PathLike, pattern: str = "*.nwb", *, recursive: bool = False,
                on_error: str = "raise", **kwargs) -> dict[str, xr.Dataset]:
    """Open every recording in a folder, lazily (no bulk data is read).

    Parameters
    ----------
    path : path-like
        The folder.
    pattern : str
        Glob pattern of the files to open.
    recursive : bool
        Search subfolders too.
    on_error : {"raise", "skip"}
        On a file that cannot be opened, raise, or skip it with a
        :class:`NeurodataWarning` that names the file and the problem.
    **kwargs
        Passed to :func:`open_recording`.

    Returns
    -------
    dict
        File path relative to ``path`` -> Dataset, in sorted order.

    Examples
    --------
    >>> from neurodata.datasets import sample_path
    >>> {'sample_imaging.nwb', 'sample_session.nwb'} <= set(open_folder(sample_path().parent))
    True
    """
    if on_error not in ("raise", "skip"):
        raise NeurodataError(f"on_error must be 'raise' or 'skip'; got {on_error!r}.")
    folder = Path(os.fspath(path)).expanduser()
    out: dict[str, xr.Dataset] = {}
    for file in _files(folder, pattern, recursive):
        try:
            out[str(file.relative_to(folder))] = open_recording(file, **kwargs)
        except NeurodataError as err:
            if on_error == "raise":
                raise
            warnings.warn(f"skipped {file}: {err}", NeurodataWarning, stacklevel=2)
    return out


def _guarded(func: Callable[[Path], Any], path: Path, keep_going: bool) -> Any:
    try:
        return func(path)
    except Exception as err:
        if not keep_going:
            raise
        return FileFailure(path, err)


def map_files(func: Callable[[Path], Any], paths: Iterable[str | os.PathLike], *,
              n_workers: int = 1, scheduler: str | None = None, keep_going: bool = True,
              progress: bool | None = None) -> list[Any]:
    """Apply ``func(path)`` to many files with Dask, in parallel, with progress.

    Parameters
    ----------
    func : callable
        Takes a :class:`pathlib.Path` (a URL stays a ``str``), returns anything (picklable for the
        process scheduler).
    paths : iterable of path-like
        The files.
    n_workers : int
        Parallel workers (1 runs in this process, in order).
    scheduler : {"threads", "processes", "synchronous"}, optional
        Dask scheduler; default ``"processes"`` when ``n_workers > 1``
        (HDF5 reading holds a global lock, so processes scale, threads do not).
    keep_going : bool
        Return a :class:`FileFailure` for a file that raises, instead of
        stopping the whole batch.
    progress : bool or None
        Show a progress bar (None: in a terminal or notebook only).

    Returns
    -------
    list
        One result per path, in the order given.

    Examples
    --------
    >>> from neurodata.datasets import sample_path
    >>> map_files(lambda p: p.suffix, [sample_path()], progress=False)
    ['.nwb']
    """
    import dask
    from dask.diagnostics import ProgressBar

    files: Sequence[Any] = [p if is_url(p) else Path(os.fspath(p)) for p in paths]  # URLs stay str
    scheduler = scheduler or ("processes" if n_workers > 1 else "synchronous")
    tasks = [dask.delayed(_guarded, pure=False)(func, p, keep_going) for p in files]
    if show_progress(progress):
        with ProgressBar():
            return list(dask.compute(*tasks, scheduler=scheduler, num_workers=n_workers))
    return list(dask.compute(*tasks, scheduler=scheduler, num_workers=n_workers))
