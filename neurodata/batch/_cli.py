"""``neurodata batch``: run a pipeline over many NWB files on dask.distributed.

``neurodata batch PIPELINE.toml FILES_OR_GLOBS... --out DIR [--scheduler tcp://HOST:PORT]
[--workers N] [--memory-limit 2GB] [--force] [--serial]`` runs the pipeline
(:func:`neurodata.batch.load_pipeline`) on every file with
:func:`neurodata.batch.run`, shows a progress bar and the Dask dashboard link,
and ends with a report of the files done, skipped and failed (with reasons).
The exit status is 0 when no file failed, 1 otherwise.
"""

from __future__ import annotations

import argparse

__all__ = ["register"]


def _cmd_batch(args: argparse.Namespace) -> int:
    from neurodata.batch._run import report, run

    scheduler = "serial" if args.serial else args.scheduler
    progress = False if args.no_progress else None
    df = run(args.pipeline, args.files, args.out, scheduler=scheduler, n_workers=args.workers,
             memory_limit=args.memory_limit, force=args.force, progress=progress)
    print(report(df))
    print(f"summary: {args.out}/summary.csv (and summary.parquet)")
    return int((df["status"] == "failed").any())


def register(subparsers) -> None:
    """Add ``batch`` to the ``neurodata`` command.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="neurodata")
    >>> register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["batch", "p.toml", "a.nwb", "b/*.nwb", "--out", "res"])
    >>> args.files, args.workers, args.func.__name__
    (['a.nwb', 'b/*.nwb'], None, '_cmd_batch')
    """
    p = subparsers.add_parser("batch", help="run a pipeline over many files (dask.distributed)")
    p.add_argument("pipeline", help="pipeline TOML file")
    p.add_argument("files", nargs="+", help="input files, glob patterns (quote them) or URLs")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--scheduler", default=None,
                   help="address of an existing Dask scheduler (tcp://HOST:PORT); default: a "
                        "local cluster on 127.0.0.1")
    p.add_argument("--workers", type=int, default=None, help="local workers (default: cores)")
    p.add_argument("--memory-limit", default=None, help="memory limit per worker, e.g. 2GB")
    p.add_argument("--force", action="store_true", help="redo files whose outputs are current")
    p.add_argument("--serial", action="store_true", help="run in this process, one by one")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_batch)
