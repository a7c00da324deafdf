"""One file through a pipeline: open, run the steps, write every output atomically, record it.

:func:`process_file` is the one task a batch run gives a worker.  It never
raises for a problem with the file: it returns a record whose ``status`` is
``"done"``, ``"skipped"`` (outputs exist for the same configuration and input)
or ``"failed"`` (with the error and its traceback).  The record is also
written, last of all and atomically, as ``_manifest.json`` in the file's
output folder; a run that dies half-way leaves no manifest, so the file is
redone on the next run, and re-running a file replaces its outputs, never
duplicates them.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import socket
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from neurodata.batch._pipeline import Pipeline
from neurodata.errors import NeurodataError
from neurodata.io._remote import is_url

__all__ = ["MANIFEST", "file_id", "process_file", "read_manifest"]

MANIFEST = "_manifest.json"


def file_id(path: str | os.PathLike) -> str:
    """The name of a file's output folder: its stem and a hash of its full path.

    Examples
    --------
    >>> a, b = file_id("/data/a/s1.nwb"), file_id("/data/b/s1.nwb")
    >>> a.startswith("s1-"), a != b
    (True, True)
    """
    text = str(path) if is_url(path) else str(Path(os.fspath(path)).expanduser().resolve())
    stem = Path(text.rstrip("/").rsplit("/", 1)[-1]).stem or "file"
    return f"{stem}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def read_manifest(folder: str | os.PathLike) -> dict | None:
    """The manifest of one output folder, or None if there is none (or it is unreadable)."""
    try:
        with open(Path(folder) / MANIFEST) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _atomic_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, default=str)
    os.replace(tmp, path)


def _sha256(path: Path) -> str:
    from neurodata.io._h5 import file_sha256

    return file_sha256(path)


class _PeakMemory:
    """Samples this process's resident memory every few milliseconds while work runs."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        try:
            import psutil

            self._proc: Any = psutil.Process()
        except ImportError:  # pragma: no cover - psutil comes with distributed
            self._proc = None

    def _rss(self) -> int:
        return int(self._proc.memory_info().rss) if self._proc is not None else 0

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> _PeakMemory:
        self.peak = self._rss()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def _scalars(name: str, value: Any) -> dict | None:
    def number(v: Any) -> float | int | str | bool | None:
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, np.integer)):
            return int(v)
        if isinstance(v, (float, np.floating)):
            return float(v)
        if isinstance(v, str):
            return v
        if isinstance(v, (xr.DataArray, np.ndarray)) and np.ndim(v) == 0:
            return number(np.asarray(v).item())
        return None

    if isinstance(value, dict):
        out = {f"{name}.{k}": number(v) for k, v in value.items()}
        return out if all(v is not None for v in out.values()) else None
    v = number(value)
    return None if v is None else {name: v}


def _write_xarray(obj: xr.Dataset | xr.DataArray, folder: Path, name: str, fmt: str) -> dict:
    kind = "DataArray" if isinstance(obj, xr.DataArray) else "Dataset"
    ds = obj.to_dataset(name=obj.name or name) if isinstance(obj, xr.DataArray) else obj
    var = str(obj.name or name) if kind == "DataArray" else None
    if fmt == "zarr":
        final = folder / f"{name}.zarr"
        tmp = folder / f".{name}.zarr.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        ds.to_zarr(tmp, mode="w")
        old = folder / f".{name}.zarr.{os.getpid()}.tmp-old"
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        final = folder / f"{name}.nc"
        tmp = folder / f".{name}.nc.{os.getpid()}.tmp"
        ds.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=True)
        os.replace(tmp, final)
    return {"path": final.name, "kind": kind, "variable": var}


def _write_figure(fig: Any, folder: Path, name: str) -> dict:
    import matplotlib.pyplot as plt

    final = folder / f"{name}.png"
    tmp = folder / f".{name}.{os.getpid()}.tmp.png"
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, final)
    return {"path": final.name, "kind": "figure"}


def _keep(name: str, value: Any, folder: Path, pipeline: Pipeline, record: dict,
          arrays: dict) -> None:
    """Store one step's output by its type: xarray, numbers, a figure, or nothing."""
    if value is None:
        return
    if isinstance(value, (xr.Dataset, xr.DataArray)):
        record["outputs"][name] = _write_xarray(value, folder, name, pipeline.format)
        arrays[name] = value
        return
    fig = getattr(value, "figure", None) if hasattr(value, "get_figure") else None
    if hasattr(value, "savefig") or fig is not None:
        record["outputs"][name] = _write_figure(value if fig is None else fig, folder, name)
        return
    scalars = _scalars(name, value)
    if scalars is None:
        raise NeurodataError(f"step {name!r} returned a {type(value).__name__}; a step returns "
                             f"an xarray object, a number, a dict of numbers, a matplotlib "
                             f"figure or None.")
    record["scalars"].update(scalars)


def _run_steps(path: str, pipeline: Pipeline, folder: Path, record: dict) -> None:
    import dask

    from neurodata.io import write_nwb
    from neurodata.io._registry import open_recording

    options = {"lazy": True, **pipeline.open}
    # Lazy arrays are computed in this task's own thread: a worker holds one file at a time,
    # and a step never waits on the cluster that runs it.
    with dask.config.set(scheduler="synchronous"), open_recording(path, **options) as rec:
        outputs: dict[str, Any] = {}
        arrays: dict[str, Any] = {}
        for step in pipeline.steps:
            source = rec if step.input is None else outputs[step.input]
            outputs[step.name] = step.run(source)
            _keep(step.name, outputs[step.name], folder, pipeline, record, arrays)
        if pipeline.write_nwb and arrays:
            nwb = folder / f"{Path(str(path)).stem}_results.nwb"
            write_nwb(arrays, nwb, source=None if is_url(path) else path, overwrite=True)
            record["outputs"]["_nwb"] = {"path": nwb.name, "kind": "nwb"}


def _remove_stale(folder: Path) -> None:
    """Delete temporary outputs left by a task that was killed while writing this file's results.

    Only one task works on a file at a time, so whatever temporary file is
    here belongs to a dead one.
    """
    for p in folder.glob(".*.tmp*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def _unchanged(prev: dict | None, config: str, folder: Path) -> bool:
    if prev is None or prev.get("status") not in ("done", "skipped"):
        return False
    if prev.get("config_hash") != config:
        return False
    return all((folder / o["path"]).exists() for o in prev.get("outputs", {}).values())


def _stat(path: str) -> dict:
    if is_url(path):
        return {"input_size": None, "input_mtime_ns": None}
    st = Path(path).stat()
    return {"input_size": st.st_size, "input_mtime_ns": st.st_mtime_ns}


def _new_record(path: str, fid: str, pipeline: Pipeline, config: str) -> dict:
    return {"file": str(path), "file_id": fid, "pipeline": pipeline.name, "config_hash": config,
            "status": "failed", "error": "", "traceback": "", "seconds": 0.0,
            "peak_memory_mb": float("nan"), "input_sha256": "", "outputs": {}, "scalars": {},
            "worker": f"{socket.gethostname()}:{os.getpid()}"}


def process_file(path: str | os.PathLike, pipeline: Pipeline, out: str | os.PathLike, *,
                 force: bool = False, run_id: str | None = None) -> dict:
    """Run ``pipeline`` on one file; write its outputs under ``out/<file_id>/``; return the record.

    Parameters
    ----------
    path : path-like or URL
        The input file.
    pipeline : Pipeline
        What to run.
    out : path-like
        The run's output folder.
    force : bool
        Redo the file even if its outputs are up to date.
    run_id : str, optional
        The run this task belongs to.  When Dask reruns a task whose worker
        died after finishing the file, the file's record from this same run is
        returned as it is ("done"), not redone and not reported as skipped.

    Returns
    -------
    dict
        ``file``, ``file_id``, ``status`` ("done", "skipped" or "failed"),
        ``error``, ``traceback``, ``seconds``, ``peak_memory_mb``,
        ``input_sha256``, ``input_size``, ``config_hash``, ``outputs`` (step ->
        file) and ``scalars`` (summary columns).
    """
    path = str(path)
    fid = file_id(path)
    folder = Path(os.fspath(out)) / fid
    config = pipeline.config_hash()
    record = _new_record(path, fid, pipeline, config)
    record["run_id"] = run_id
    t0 = time.perf_counter()
    try:
        record.update(_stat(path))
        prev = read_manifest(folder)
        if run_id is not None and prev is not None and prev.get("run_id") == run_id \
                and _unchanged(prev, config, folder):
            return prev
        if not force and _unchanged(prev, config, folder):
            assert prev is not None
            same_stat = all(prev.get(k) == record[k] for k in ("input_size", "input_mtime_ns"))
            sha = prev.get("input_sha256", "") if same_stat or is_url(path) else _sha256(Path(path))
            if sha == prev.get("input_sha256", ""):
                record.update(status="skipped", input_sha256=sha, outputs=prev["outputs"],
                              scalars=prev.get("scalars", {}))
                record["seconds"] = time.perf_counter() - t0
                if not same_stat:
                    _atomic_json(folder / MANIFEST, {**prev, **_stat(path)})
                return record
            record["input_sha256"] = sha
        if not record["input_sha256"] and not is_url(path):
            record["input_sha256"] = _sha256(Path(path))
        folder.mkdir(parents=True, exist_ok=True)
        if prev is not None:  # the outputs are being replaced: the old record no longer holds
            (folder / MANIFEST).unlink(missing_ok=True)
        _remove_stale(folder)
        with _PeakMemory() as mem:
            _run_steps(path, pipeline, folder, record)
        record.update(status="done", peak_memory_mb=mem.peak / 2**20)
    except Exception as err:  # one file's failure never stops the run
        record.update(status="failed", error=f"{type(err).__name__}: {err}",
                      traceback=traceback.format_exc(), outputs={}, scalars={})
    record["seconds"] = time.perf_counter() - t0
    record["finished"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_json(folder / MANIFEST, record)
    return record
