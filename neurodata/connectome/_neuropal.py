"""Reader for the NeuroPAL whole-brain activity .mat files used by the paper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from neurodata.errors import FileFormatError

__all__ = ["read_neuropal_mat"]


def _cells(value) -> list:
    """A MATLAB cell array as loaded by scipy, flattened to a list."""
    arr = np.asarray(value, dtype=object)
    return list(arr.reshape(-1)) if arr.size else []


def _scalar_str(value) -> str:
    arr = np.asarray(value)
    return str(arr.reshape(-1)[0]) if arr.size else ""


def _worm_traces(classes, is_left, traces, n_worms):
    """Per worm: {neuron name: trace} following the NeuroPAL file layout."""
    worms: list[dict[str, np.ndarray]] = [{} for _ in range(n_worms)]
    for cls, flags, cell in zip(classes, is_left, traces):
        flags = np.asarray(flags, dtype=float).reshape(-1)
        cell = _cells(cell)
        bilateral = len(cell) == 2 * n_worms
        if not bilateral and len(cell) != n_worms:
            raise FileFormatError(f"neuron {cls!r} has {len(cell)} traces for {n_worms} worms; "
                                  f"expected {n_worms} or {2 * n_worms}.")
        for slot, tr in enumerate(cell):
            tr = np.asarray(tr, dtype=float).reshape(-1)
            if tr.size == 0:
                continue
            worm = slot % n_worms
            name = cls
            if bilateral:
                flag = flags[slot] if slot < flags.size else np.nan
                if np.isnan(flag):
                    continue
                name = cls + ("L" if flag == 1 else "R")
            worms[worm][name] = tr
    return worms


def read_neuropal_mat(path) -> xr.Dataset:
    """Read a NeuroPAL whole-brain activity file (Yemini et al. 2021) as a recording.

    The layout (``Head_Activity_*.mat``): ``fps``; ``files`` (one entry per
    worm); ``neurons`` (neuron classes); ``is_L`` and ``norm_traces`` (cells
    per class: for a bilateral class ``2 x n_worms`` entries, whose ``is_L``
    flag is 1 for the left and 0 for the right neuron; otherwise ``n_worms``
    entries with NaN flags); ``stim_names`` and ``stim_times`` (n, 2) seconds.
    An empty trace means the neuron was not identified in that worm.

    Returns
    -------
    xarray.Dataset
        ``traces`` (animal, time, roi) float32, NaN where a neuron was not
        identified or a worm's recording is shorter; ``roi`` holds the neuron
        names (class + L/R), ``animal`` the file names, ``time`` seconds at
        ``fps``; the stimulus table as ``stimulus_start_time``,
        ``stimulus_stop_time`` and ``stimulus_name`` on dim ``stimulus``.

    Raises
    ------
    FileFormatError
        The file is missing or lacks the NeuroPAL variables.

    Examples
    --------
    >>> read_neuropal_mat("missing.mat")
    Traceback (most recent call last):
    ...
    neurodata.errors.FileFormatError: cannot read NeuroPAL file 'missing.mat': ...
    """
    from scipy.io import loadmat

    try:
        mat = loadmat(str(path))
    except (OSError, ValueError, NotImplementedError) as err:
        raise FileFormatError(f"cannot read NeuroPAL file {str(path)!r}: {err}") from err
    needed = {"fps", "files", "neurons", "is_L", "norm_traces", "stim_names", "stim_times"}
    if missing := sorted(needed - set(mat)):
        raise FileFormatError(f"{Path(path).name} is not a NeuroPAL activity file: missing "
                              f"{missing}.")
    fps = float(np.asarray(mat["fps"]).reshape(-1)[0])
    files = [_scalar_str(f) for f in _cells(mat["files"])]
    classes = [_scalar_str(c) for c in _cells(mat["neurons"])]
    worms = _worm_traces(classes, _cells(mat["is_L"]), _cells(mat["norm_traces"]), len(files))
    names = sorted({n for w in worms for n in w})
    n_time = max((tr.size for w in worms for tr in w.values()), default=0)
    data = np.full((len(files), n_time, len(names)), np.nan, dtype=np.float32)
    index = {n: k for k, n in enumerate(names)}
    for a, worm in enumerate(worms):
        for name, tr in worm.items():
            data[a, : tr.size, index[name]] = tr
    stim = np.asarray(mat["stim_times"], dtype=float).reshape(-1, 2)
    return xr.Dataset(
        {"traces": (("animal", "time", "roi"), data)},
        coords={"animal": files, "time": np.arange(n_time) / fps, "roi": names,
                "stimulus_start_time": ("stimulus", stim[:, 0]),
                "stimulus_stop_time": ("stimulus", stim[:, 1]),
                "stimulus_name": ("stimulus", [_scalar_str(s) for s in _cells(mat["stim_names"])])},
        attrs={"source_path": str(path), "fps": fps},
    )
