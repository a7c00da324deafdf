"""Running a pipeline over many files on dask.distributed, and gathering the results.

One task per file (:func:`~neurodata.batch._task.process_file`) on Dask's own
distributed scheduler: a :class:`distributed.LocalCluster` bound to
127.0.0.1 by default (one thread per worker, so a worker holds one file at a
time), or an existing cluster given by its address.  ``scheduler="serial"``
runs the same tasks one after the other in this process.
"""

from __future__ import annotations

import glob
import os
import sys
import uuid
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neurodata._utils import check_integer, progress_bar, show_progress, soft_import
from neurodata.batch._pipeline import Pipeline, load_pipeline
from neurodata.batch._task import _atomic_json, file_id, is_url, process_file, read_manifest
from neurodata.errors import NeurodataError

__all__ = ["collect", "count_spikes", "expand_inputs", "read_summary", "report", "run"]

_COLUMNS = ["file", "file_id", "status", "error", "seconds", "peak_memory_mb", "input_sha256",
            "input_size", "config_hash", "pipeline", "worker", "outputs", "traceback"]


def expand_inputs(inputs: str | os.PathLike | Iterable[str | os.PathLike]) -> list[str]:
    """Files from paths, glob patterns (``**`` recurses) and URLs, sorted per pattern, unique.

    Examples
    --------
    >>> from neurodata.datasets import sample_path
    >>> names = [Path(p).name for p in expand_inputs(str(sample_path().parent / "sample_*.nwb"))]
    >>> names == sorted(names) and {"sample_imaging.nwb", "sample_session.nwb"} <= set(names)
    True
    """
    items = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    files: list[str] = []
    for item in items:
        text = os.fspath(item)
        if is_url(text):
            files.append(text)
        elif any(c in text for c in "*?["):
            matches = sorted(glob.glob(os.path.expanduser(text), recursive=True))
            if not matches:
                raise NeurodataError(f"the pattern {text!r} matches no file.")
            files.extend(matches)
        else:
            files.append(text)
    seen: set[str] = set()
    unique = [f for f in files if not (f in seen or seen.add(f))]  # type: ignore[func-returns-value]
    if not unique:
        raise NeurodataError("no input files were given.")
    return unique


def _as_pipeline(pipeline: Pipeline | str | os.PathLike) -> Pipeline:
    if isinstance(pipeline, Pipeline):
        return pipeline.validate()
    if isinstance(pipeline, (str, os.PathLike)):
        return load_pipeline(pipeline).validate()
    raise NeurodataError(f"pipeline must be a Pipeline or the path of a TOML file; got "
                         f"{type(pipeline).__name__}.")


def _summary(records: Sequence[dict]) -> pd.DataFrame:
    rows = []
    for rec in records:
        row = {k: rec.get(k) for k in _COLUMNS}
        row["outputs"] = ";".join(sorted(o["path"] for o in rec.get("outputs", {}).values()))
        row.update(rec.get("scalars", {}))
        rows.append(row)
    df = pd.DataFrame(rows)
    return df[_COLUMNS + [c for c in df.columns if c not in _COLUMNS]]


def _write_summary(df: pd.DataFrame, out: Path) -> None:
    for name, writer in (("summary.csv", lambda p: df.to_csv(p, index=False)),
                         ("summary.parquet", lambda p: df.to_parquet(p, index=False))):
        tmp = out / f".{name}.{os.getpid()}.tmp"
        writer(tmp)
        os.replace(tmp, out / name)


def read_summary(out: str | os.PathLike) -> pd.DataFrame:
    """The summary table of a batch run (one row per file: status, timing, results).

    Examples
    --------
    >>> read_summary("/no/such/run")
    Traceback (most recent call last):
    ...
    neurodata.errors.NeurodataError: no batch summary in /no/such/run; run a pipeline there first.
    """
    path = Path(os.fspath(out)) / "summary.parquet"
    if not path.exists():
        raise NeurodataError(f"no batch summary in {out}; run a pipeline there first.")
    return pd.read_parquet(path)


def _client(scheduler: Any, n_workers: int | None, memory_limit: str | float | None,
            stack: ExitStack, n_files: int, processes: bool) -> Any:
    soft_import("distributed", "batch", "batch processing on dask.distributed")
    from distributed import Client, LocalCluster

    if scheduler is None:
        n = n_workers or max(1, min(os.cpu_count() or 1, n_files))
        # Processes talk over TCP on the loopback interface only; threads in memory.
        where = {"host": "127.0.0.1"} if processes else {}
        cluster = stack.enter_context(LocalCluster(
            n_workers=n, threads_per_worker=1, processes=processes,
            dashboard_address="127.0.0.1:0", memory_limit=memory_limit or "auto", **where))
        return stack.enter_context(Client(cluster))
    if isinstance(scheduler, str):
        return stack.enter_context(Client(scheduler, timeout="20s"))
    if isinstance(scheduler, Client):
        return scheduler
    raise NeurodataError(f"scheduler must be None (a local cluster), 'serial', a scheduler "
                         f"address such as 'tcp://127.0.0.1:8786', or a distributed.Client; got "
                         f"{scheduler!r}.")


def _lost(path: str, out: Path, pipeline: Pipeline, err: BaseException) -> dict:
    """The record of a file whose task itself was lost (its workers kept dying)."""
    return {"file": path, "file_id": file_id(path), "status": "failed", "pipeline": pipeline.name,
            "config_hash": pipeline.config_hash(), "error": f"{type(err).__name__}: {err}",
            "traceback": "", "seconds": float("nan"), "peak_memory_mb": float("nan"),
            "input_sha256": "", "outputs": {}, "scalars": {}, "worker": ""}


def run(pipeline: Pipeline | str | os.PathLike, files: Any, out: str | os.PathLike, *,
        scheduler: Any = None, n_workers: int | None = None,
        memory_limit: str | float | None = None, processes: bool = True,
        force: bool = False, progress: bool | None = None) -> pd.DataFrame:
    """Run a pipeline on every file, one task per file, and write the summary table.

    Parameters
    ----------
    pipeline : Pipeline or path-like
        The pipeline, or a TOML file describing it (:func:`load_pipeline`).
    files : path, glob pattern, URL, or a list of them
        The inputs (:func:`expand_inputs`).
    out : path-like
        Output folder: one subfolder per file (``<stem>-<hash>``) with its
        results and ``_manifest.json``, plus ``summary.csv``,
        ``summary.parquet`` and ``pipeline.json``.
    scheduler : None, "serial", str or distributed.Client
        None starts a :class:`distributed.LocalCluster` on 127.0.0.1 (closed
        afterwards); "serial" runs in this process, one file after the other;
        an address (``"tcp://host:8786"``) or a Client uses an existing cluster.
    n_workers : int, optional
        Workers of the local cluster (default: the cores, at most one per file).
        Each worker runs one file at a time.
    memory_limit : str or float, optional
        Memory limit per worker of the local cluster (``"2GB"``; default: the
        machine's memory shared between the workers).
    processes : bool
        Local workers are processes (True: parallel, HDF5 reading does not
        scale across threads) or threads of this process (False; what a plain
        script without an ``if __name__ == "__main__":`` guard needs, since
        worker processes re-import the script that starts them).
    force : bool
        Redo every file.  Otherwise a file is skipped when its outputs exist for
        the same pipeline configuration and the same input (same size and
        modification time, or else the same sha256).
    progress : bool or None
        Progress bar and the Dask dashboard link (None: automatic).

    Returns
    -------
    pandas.DataFrame
        The summary: one row per file with ``status`` ("done", "skipped",
        "failed"), ``error``, ``seconds``, ``peak_memory_mb``,
        ``input_sha256``, the outputs and every scalar result.

    Examples
    --------
    >>> import tempfile
    >>> from neurodata.datasets import sample_path
    >>> p = Pipeline([{"name": "n_spikes", "function": "neurodata.batch.count_spikes"}])
    >>> df = run(p, [sample_path()], tempfile.mkdtemp(), scheduler="serial", progress=False)
    >>> df[["status", "n_spikes"]].values.tolist()
    [['done', 20721]]
    """
    pipe = _as_pipeline(pipeline)
    inputs = expand_inputs(files)
    if n_workers is not None:
        check_integer("n_workers", n_workers)
    outdir = Path(os.fspath(out)).expanduser()
    outdir.mkdir(parents=True, exist_ok=True)
    _atomic_json(outdir / "pipeline.json", {"pipeline": pipe.to_dict(),
                                            "config_hash": pipe.config_hash()})
    show = show_progress(progress)
    run_id = uuid.uuid4().hex
    records: dict[str, dict] = {}
    if scheduler == "serial":
        for path in progress_bar(inputs, progress=progress, desc=pipe.name, unit="file"):
            records[path] = process_file(path, pipe, outdir, force=force, run_id=run_id)
    else:
        with ExitStack() as stack:
            records = _run_distributed(pipe, inputs, outdir, force, run_id, show, progress,
                                       _client(scheduler, n_workers, memory_limit, stack,
                                               len(inputs), processes))
    df = _summary([records[p] for p in inputs])
    _write_summary(df, outdir)
    return df


def _run_distributed(pipe: Pipeline, inputs: list[str], outdir: Path, force: bool,
                     run_id: str, show: bool,
                     progress: bool | None, client: Any) -> dict[str, dict]:
    from distributed import as_completed

    if show and client.dashboard_link:
        print(f"Dask dashboard: {client.dashboard_link}", file=sys.stderr)
    futures = {client.submit(process_file, path, pipe, str(outdir), force=force, run_id=run_id,
                             key=f"neurodata-{file_id(path)}-{pipe.config_hash()[:12]}",
                             pure=False): path for path in inputs}
    records: dict[str, dict] = {}
    bar = progress_bar(total=len(inputs), progress=progress, desc=pipe.name, unit="file")
    for fut in as_completed(futures):
        path = futures[fut]
        try:
            records[path] = fut.result()
        except Exception as err:  # the task was lost: its worker kept dying
            records[path] = _lost(path, outdir, pipe, err)
        bar.update(1)
    bar.close()
    return records


def report(df: pd.DataFrame) -> str:
    """A plain-text report of a run: counts of done, skipped and failed, with reasons.

    Examples
    --------
    >>> print(report(pd.DataFrame({"file": ["a.nwb", "b.nwb"], "status": ["done", "failed"],
    ...                            "error": ["", "FileFormatError: truncated"]})))
    2 files: 1 done, 0 skipped, 1 failed
      failed  b.nwb: FileFormatError: truncated
    """
    counts = {s: int((df["status"] == s).sum()) for s in ("done", "skipped", "failed")}
    lines = [f"{len(df)} files: {counts['done']} done, {counts['skipped']} skipped, "
             f"{counts['failed']} failed"]
    for _, row in df[df["status"] == "failed"].iterrows():
        lines.append(f"  failed  {row['file']}: {row['error']}")
    return "\n".join(lines)


def _load(folder: Path, entry: dict) -> xr.Dataset | xr.DataArray:
    path = folder / entry["path"]
    ds = xr.open_zarr(path).load() if path.suffix == ".zarr" else \
        xr.load_dataset(path, engine="h5netcdf")
    return ds[entry["variable"]] if entry.get("kind") == "DataArray" else ds


def collect(out: str | os.PathLike, step: str | None = None) -> Any:
    """Load the per-file results of a run into one xarray object along ``session``.

    Parameters
    ----------
    out : path-like
        The run's output folder.
    step : str, optional
        The step whose results to gather; default: the only xarray step, or a
        dict of all of them when there are several.

    Returns
    -------
    xarray.Dataset or DataArray (or dict of them)
        The files' results concatenated along a new ``session`` dimension
        (coordinate: the file ids, with ``session_file`` holding the input
        paths), outer-joined on the other coordinates (missing values are NaN).

    Examples
    --------
    >>> import tempfile
    >>> from neurodata.datasets import sample_path
    >>> p = Pipeline([{"name": "counts", "function": "neurodata.signals.bin_spikes",
    ...                "params": {"bin_size": 1.0}}])
    >>> out = tempfile.mkdtemp()
    >>> _ = run(p, [sample_path()], out, scheduler="serial", progress=False)
    >>> collect(out).dims
    ('session', 'time', 'unit')
    """
    df = read_summary(out)
    folder = Path(os.fspath(out))
    done = [(row["file"], row["file_id"]) for _, row in df.iterrows()
            if row["status"] in ("done", "skipped")]
    manifests = [(f, fid, read_manifest(folder / fid) or {}) for f, fid in done]
    steps = sorted({name for *_, m in manifests for name, o in m.get("outputs", {}).items()
                    if o.get("kind") in ("Dataset", "DataArray")})
    if not steps:
        raise NeurodataError(f"the run in {out} has no xarray results to collect.")
    if step is None and len(steps) > 1:
        return {s: collect(out, s) for s in steps}
    step = step or steps[0]
    if step not in steps:
        raise NeurodataError(f"no results of step {step!r} in {out}; steps with results: "
                             f"{', '.join(steps)}.")
    parts: list[Any] = []
    ids, paths = [], []
    for f, fid, m in manifests:
        entry = m.get("outputs", {}).get(step)
        if entry is not None:
            parts.append(_load(folder / fid, entry))
            ids.append(fid)
            paths.append(f)
    index = pd.Index(ids, name="session")
    combined = xr.concat(parts, dim=index, join="outer", coords="minimal", compat="override",
                         combine_attrs="drop_conflicts")
    return combined.assign_coords(session_file=("session", np.asarray(paths, dtype=object)))


def count_spikes(recording: xr.Dataset) -> int:
    """Number of spikes of a recording (an example of a function step).

    Examples
    --------
    >>> from neurodata.datasets import load_sample
    >>> count_spikes(load_sample())
    20721
    """
    return int(recording.sizes.get("spike", 0))

