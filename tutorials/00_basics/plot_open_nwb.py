"""
Open an NWB file, bin spikes, align to trials
=============================================

A recording in neurodata is a plain :class:`xarray.Dataset` whose layout
follows a few conventions (:mod:`neurodata.schema`): units on a ``unit``
dimension with their table columns as coordinates, exact spike trains as
``spike_times`` / ``spike_unit``, interval tables such as trials on their own
dimension, and every other series on its own time axis.

This tutorial opens the shipped sample session (24 orientation-tuned units
recorded over 40 trials), looks at its units, bins the spikes, aligns them to
stimulus onsets, and draws a raster, a PSTH and tuning curves.
"""

# %%
# Open the file
# -------------
# ``open_nwb`` reads the file's tables and time axes and keeps every bulky
# array lazy (a dask array) until it is used.  The Dataset holds the file
# open; use it as a context manager, or call ``ds.close()``.
import matplotlib.pyplot as plt
import numpy as np

import neurodata as nd
from neurodata.datasets import fetch_reference, sample_path
from neurodata.plotting import plot_psth, plot_raster

path = sample_path("sample_session")
ds = nd.open_nwb(path)
print(ds)

# %%
# The units and the trial table
# -----------------------------
# Every column of the NWB Units table is a coordinate of ``unit``; each
# interval table is a dimension whose columns are prefixed with its name.
# This sample was generated with known tuning, so the ``preferred_orientation``
# column is the ground truth we will try to recover.
print(ds.unit.values)
print(ds.nd.interval_table("trial").to_dataframe().head())
nd.validate(ds)  # raises a precise error if a convention is broken

# %%
# Bin the spikes
# --------------
# Spike trains stay exact; binned counts are derived on demand and carry
# their bin size.
counts = nd.bin_spikes(ds, 0.01)
print(counts.dims, counts.shape, counts.attrs["bin_size"])
print("mean rate per unit (Hz):", np.round(counts.mean("time").values / 0.01, 1))

# %%
# A raster
# --------
ax = plot_raster(ds, start=0, stop=10)
for start in ds.trial_stimulus_on.values[ds.trial_stimulus_on.values < 10]:
    ax.axvspan(start, start + 1.0, color="tab:orange", alpha=0.15, lw=0)
ax.set_title("spikes in the first 10 s (stimulus on: orange)")

# %%
# Align to stimulus onsets and plot a PSTH
# ----------------------------------------
# ``align`` cuts the spike trains around events into a
# ``(trial, time_rel, unit)`` array; events can be named by a column of an
# interval table, and the table's columns come along as coordinates.
aligned = nd.align(ds, "trial_stimulus_on", (-0.5, 1.5), bin_size=0.05)
print(aligned.dims, aligned.shape)
best = ds.unit.values[np.argsort(ds.peak_rate.values)[-3:]]
plot_psth(aligned, units=list(best))
plt.title("PSTH around stimulus onset (mean and s.e.m. over trials)")

# %%
# Tuning curves and preferred orientations
# ----------------------------------------
# Average the rate in the stimulus window per orientation, then take the
# circular mean of the doubled angle (orientation is periodic over 180 deg).
from neurodata._demo import preferred_orientation

rates = aligned.sel(time_rel=slice(0.0, 1.0)).mean("time_rel") / 0.05
tuning = rates.groupby("trial_stimulus_orientation").mean().rename(
    trial_stimulus_orientation="orientation")
estimate = preferred_orientation(tuning)
error = np.abs((estimate.values - ds.preferred_orientation.values + 90) % 180 - 90)
print(f"median error of the preferred orientation: {np.median(error):.1f} deg")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
for uid in best:
    ax1.plot(tuning.orientation, tuning.sel(unit=uid), "o-", label=f"unit {uid}")
ax1.set(xlabel="orientation (deg)", ylabel="rate (Hz)", title="tuning curves")
ax1.legend(frameon=False)
ax2.plot(ds.preferred_orientation, estimate, "o")
ax2.plot([0, 180], [0, 180], "k--", lw=0.8)
ax2.set(xlabel="true preferred orientation (deg)", ylabel="estimate (deg)",
        title="planted ground truth recovered")

# %%
# Save results to NWB
# -------------------
# ``write_nwb`` adds any xarray result to a copy of the source file as a
# processing module; ``read_results`` restores it exactly.  The source file
# is never modified.
import tempfile
from pathlib import Path

out = nd.write_nwb({"tuning": tuning.rename("tuning")}, Path(tempfile.mkdtemp()) / "res.nwb",
                   source=path)
print(nd.read_results(out)["tuning"].identical(tuning.rename("tuning")))
ds.close()

# %%
# A real recording
# ----------------
# The same calls work on any NWB 2 file.  Open a real head-direction recording
# from the anterodorsal thalamus (Peyrache lab) and look at its epochs and
# head direction.  :func:`~neurodata.datasets.fetch_reference` finds it in the
# reference data folder, or says how to download it
# (``fetch_reference("neurosuite", download=True)``).
try:
    real = fetch_reference("neurosuite")
except nd.FileFormatError as err:
    real = None
    print(err)
if real is not None:
    with nd.open_nwb(real) as rec:
        print(rec.sizes["unit"], "units,", rec.sizes["spike"], "spikes")
        print(rec.nd.interval_table("epoch").to_dataframe())
        hd = rec.compass_direction_ry.isel(time_compass_direction=slice(0, 6000))
        fig, ax = plt.subplots(figsize=(8, 2.5))
        ax.plot(hd.time_compass_direction, hd, lw=0.6)
        ax.set(xlabel="time (s)", ylabel="head direction (rad)", title="start of the wake epoch")
