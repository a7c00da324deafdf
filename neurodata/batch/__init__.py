"""Many files at once: open folders lazily, and run pipelines over collections on Dask.

* :func:`open_folder`, :func:`open_recording`, :func:`map_files`: open many
  files lazily, map a function over them;
* :class:`Pipeline`, :class:`Step`, :func:`load_pipeline`: a sequence of named
  steps (opening, preprocessing, any analysis through its recording entry
  point, your own functions), in Python or TOML;
* :func:`run`: one task per file on dask.distributed (a local cluster on
  127.0.0.1, or an existing one), failures isolated, outputs written
  atomically, re-runs resumed; :func:`read_summary` and :func:`collect` bring
  the results back (the latter along a ``session`` dimension).

The command line runs the same: ``neurodata batch PIPELINE.toml FILES... --out DIR``.
"""

from __future__ import annotations

from neurodata.batch._folder import FileFailure, map_files, open_folder
from neurodata.batch._pipeline import Pipeline, Step, load_pipeline
from neurodata.batch._run import (
    collect,
    count_spikes,
    expand_inputs,
    read_summary,
    report,
    run,
)
from neurodata.batch._task import file_id, process_file
from neurodata.io._registry import open_recording

__all__ = [
    "FileFailure",
    "Pipeline",
    "Step",
    "collect",
    "count_spikes",
    "expand_inputs",
    "file_id",
    "load_pipeline",
    "map_files",
    "open_folder",
    "open_recording",
    "process_file",
    "read_summary",
    "report",
    "run",
]
