"""
Batch-process a folder of sessions on Dask
==========================================

A lab archive holds many sessions recorded with the same protocol; the same
pipeline should run on each, in parallel, with a record of what was done, and
re-running it should only redo what changed.  :func:`neurodata.batch.run` does
that on Dask's distributed scheduler: one task per file, on a local cluster
(or on an existing one, given its address), every output written atomically,
failures isolated and reported, and a summary table at the end.

Here we make an archive of eight short sessions of orientation-tuned units
whose tuning sharpness differs from animal to animal (one file is corrupt, as
happens), measure every unit's tuning curve in each session, and compare the
sessions.
"""

# %%
# An archive of sessions
# ----------------------
# Each session is an NWB file.  The generator knows the tuning concentration
# ``kappa`` of each animal; the pipeline will not.
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

import neurodata as nd
from neurodata.batch import Pipeline, collect, load_pipeline, read_summary, report, run
from neurodata.datasets import make_poisson_population

FAST = os.environ.get("NEURODATA_FAST") == "1"
work = Path(tempfile.mkdtemp(prefix="neurodata-batch-"))
archive = work / "archive"
archive.mkdir()
kappas = np.linspace(0.5, 4.0, 8)
for i, kappa in enumerate(kappas):
    rec = make_poisson_population(n_units=16, n_trials=24 if FAST else 64, kappa=kappa,
                                  random_state=i)
    nd.save_nwb(rec, archive / f"mouse{i}_session.nwb")
(archive / "mouse8_session.nwb").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))  # corrupt
print(sorted(p.name for p in archive.iterdir()))

# %%
# A pipeline
# ----------
# Steps run in order on each file: a step is a function (of the recording, or
# of an earlier step's output) or an estimator of the package fitted through
# its recording entry point.  What a step returns decides what is kept: xarray
# results are written per file, numbers become columns of the summary.
# Functions defined here travel to the workers with the pipeline.


def tuning_curves(rec: xr.Dataset) -> xr.DataArray:
    """Each unit's mean rate (Hz) during the stimulus, per orientation."""
    counts = nd.align(rec, "trial", (0.5, 1.5), bin_size=1.0).isel(time_rel=0)
    rates = counts.groupby(counts.trial_stimulus_orientation).mean("trial")
    return rates.rename(trial_stimulus_orientation="orientation").rename("rate")


def selectivity(curves: xr.DataArray) -> dict:
    """Population orientation selectivity (1 - circular variance), and mean peak rate."""
    theta = np.deg2rad(2 * curves.orientation)
    resultant = np.abs((curves * np.exp(1j * theta)).sum("orientation")) / curves.sum("orientation")
    return {"osi": float(resultant.mean()), "peak_hz": float(curves.max("orientation").mean())}


pipeline = Pipeline([
    {"name": "tuning", "function": tuning_curves},
    {"name": "selectivity", "function": selectivity, "input": "tuning"},
], name="orientation-tuning")

# %%
# Run it on a local cluster
# -------------------------
# ``run`` starts a :class:`distributed.LocalCluster` bound to 127.0.0.1 with
# one worker per core, each holding one file at a time (``memory_limit=``
# caps each worker), and closes it at the end.  Pass
# ``scheduler="tcp://host:8786"`` to use a cluster that is already running.
#
# Worker processes re-import the script that starts them, so a plain Python
# script either guards its work with ``if __name__ == "__main__":`` or, as
# here, runs its workers as threads (``processes=False``).  In a notebook and
# on the command line the default worker processes just work.
results = work / "results"
summary = run(pipeline, archive / "*.nwb", results, n_workers=2, processes=False,
              progress=False)
print(report(summary))

# %%
# The summary is a table (also written as CSV and Parquet): per file its
# status, time, peak memory, input checksum and every scalar result.
print(summary[["file_id", "status", "seconds", "peak_memory_mb", "selectivity.osi"]])

# %%
# Run it again
# ------------
# A second run skips every file whose outputs exist for the same pipeline and
# the same input; the corrupt file is tried again (and fails again).
again = run(pipeline, archive / "*.nwb", results, n_workers=2, processes=False,
            progress=False)
print(report(again))

# %%
# Results across sessions
# -----------------------
# :func:`collect` gathers the per-file results into one xarray object along a
# ``session`` dimension; :func:`read_summary` reads the table back.
curves = collect(results, "tuning")
print(curves.dims, dict(curves.sizes))
table = read_summary(results).set_index("file_id")

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
osi = table.loc[curves.session.values, "selectivity.osi"].to_numpy()
axes[0].plot(kappas, osi, "o-")
axes[0].set(xlabel="generating tuning concentration kappa", ylabel="population selectivity",
            title="one point per session")
aligned = []
for s in curves.session.values:
    c = curves.sel(session=s).dropna("unit", how="all")
    peak = c.orientation.values[c.argmax("orientation").values]
    shift = np.round((c.orientation.values[:, None] - peak[None, :]) / 22.5).astype(int) % 8
    a = np.zeros((8, c.sizes["unit"]))
    a[shift, np.arange(c.sizes["unit"])] = c.values / c.max("orientation").values
    aligned.append(a.mean(1))
for k, a in zip(kappas, aligned):
    axes[1].plot((np.arange(8) - 3) * 22.5, np.roll(a, 3), color=plt.cm.viridis(k / 4),
                 label=f"{k:.1f}")
axes[1].set(xlabel="orientation - preferred orientation (deg)",
            ylabel="normalised rate", title="tuning aligned to each unit's peak")
axes[1].legend(title="kappa", fontsize=7, ncol=2)

# %%
# The same pipeline as a TOML file, for the command line
# -------------------------------------------------------
# Steps named by their import path work everywhere; run it with
# ``neurodata batch pipeline.toml "archive/*.nwb" --out results``.
toml = work / "pipeline.toml"
toml.write_text("""
[pipeline]
name = "rates"

[[steps]]
name = "rates"
function = "neurodata.signals.firing_rates"
params = { bin_size = 0.05, smooth = 0.1 }
""")
print(load_pipeline(toml))
