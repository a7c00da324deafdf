"""
An Allen Neuropixels session: from opening to tuning curves per brain area
==========================================================================

The Allen Brain Observatory's Visual Coding Neuropixels sessions record
hundreds of units on six probes that cross visual cortex, hippocampus and
thalamus while the mouse sees drifting gratings, natural scenes and movies.
:func:`neurodata.open_allen` opens such a session file (or, with the
``allen`` extra, a session id through allensdk's cache) as a recording:
units with every quality metric as a coordinate, channels and probes with
their brain areas, one interval table per stimulus.

No real session can be shipped with the package, so this tutorial writes one
in the exact Allen layout with :func:`neurodata.datasets.make_allen_like`,
whose units have known preferred orientations and area-dependent tuning
depth, and recovers them.
"""

# %%
# Open the session
# ----------------
# ``open_allen`` looks at the file, picks the reader for its session type and
# reads tables and time axes only: spike trains, waveforms and series stay
# lazy until used.
import os

import matplotlib.pyplot as plt
import numpy as np

import neurodata as nd
from neurodata.datasets import make_allen_like
from neurodata.plotting import plot_psth, plot_raster

FAST = bool(os.environ.get("NEURODATA_FAST"))
path, truth = make_allen_like("neuropixels", n_units=60 if FAST else 240,
                              duration=300.0 if FAST else 1200.0, n_probes=3, n_channels=64,
                              random_state=0, return_truth=True)
ds = nd.open_allen(path)
print(ds.attrs["allen_session_type"], "-", ds.sizes["unit"], "units,", ds.sizes["spike"],
      "spikes on", ds.sizes["probe"], "probes")
print("stimulus tables:", nd.schema.stimulus_dims(ds))

# %%
# Units, brain areas and quality metrics
# --------------------------------------
# Every column of the Units table is a coordinate of ``unit``, including the
# quality metrics; ``location`` is the brain area of each unit's peak
# channel.  Nothing is filtered unless asked for: allensdk's default
# filters are explicit arguments here, and ``attrs["unit_filters"]`` says
# which were applied.
areas, n_per_area = np.unique(ds.location.values.astype(str), return_counts=True)
print({str(a): int(n) for a, n in zip(areas, n_per_area)})
strict = nd.open_allen(path, amplitude_cutoff_maximum=0.1, presence_ratio_minimum=0.95,
                       isi_violations_maximum=0.5)
print(f"{strict.sizes['unit']} of {ds.sizes['unit']} units pass allensdk's default filters "
      f"({strict.attrs['unit_filters']})")
strict.close()

fig, axes = plt.subplots(1, 3, figsize=(10, 3))
for ax, metric in zip(axes, ("amplitude_cutoff", "presence_ratio", "isi_violations")):
    ax.hist(ds[metric].values, bins=20, color="0.5")
    ax.set(xlabel=metric, ylabel="units")
fig.tight_layout()

# %%
# A raster during the drifting gratings
# -------------------------------------
start = float(ds.drifting_gratings_start_time[0])
ax = plot_raster(ds, start=start, stop=start + 12)
for s, e in zip(ds.drifting_gratings_start_time.values, ds.drifting_gratings_stop_time.values):
    if s < start + 12:
        ax.axvspan(s, e, color="tab:orange", alpha=0.15, lw=0)
ax.set_title("spikes around the first gratings (gratings on: orange)")

# %%
# Align to every grating presentation
# -----------------------------------
# ``align`` with the name of a stimulus table gives a
# ``(presentation, time_rel, unit)`` array of spike counts, the stimulus
# parameters as ``presentation_*`` coordinates: allensdk's
# presentation-wise spike counts, labelled.
aligned = nd.align(ds, "drifting_gratings", (-0.5, 2.5), bin_size=0.05)
print(aligned.dims, aligned.shape)
visual = ds.unit.values[[str(a).startswith("VIS") for a in ds.location.values]]
plot_psth(aligned, units=list(visual[:4]))
plt.title("PSTH of four visual-cortex units around grating onset")

# %%
# Orientation tuning curves per brain area
# ----------------------------------------
# The rate during the 2 s of each grating, averaged per orientation
# (direction modulo 180 degrees), gives each unit's tuning curve; the
# circular mean of the doubled angle gives its preferred orientation.
rates = aligned.sel(time_rel=slice(0.0, 2.0)).mean("time_rel") / 0.05
rates = rates.assign_coords(orientation=("presentation",
                                         aligned.presentation_orientation.values % 180))
tuning = rates.groupby("orientation").mean("presentation")
theta = np.deg2rad(2 * tuning.orientation.values)
z = (tuning * np.exp(1j * theta)[:, None]).sum("orientation").values
preferred = np.rad2deg(np.angle(z) / 2) % 180
selectivity = np.abs(z) / tuning.sum("orientation").values

fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
groups = {"visual cortex": "VIS", "thalamus": ("LGd", "LP", "APN", "PO"),
          "hippocampus": ("CA", "DG", "SUB")}
offsets = np.arange(-90, 91, 45)
for label, prefix in groups.items():
    members = np.array([str(a).startswith(prefix) for a in ds.location.values])
    if not members.any():
        continue
    curves = []
    for k in np.flatnonzero(members):
        shift = (tuning.orientation.values - preferred[k] + 90) % 180 - 90
        order = np.argsort(shift)
        r = tuning.isel(unit=k).values[order]
        curves.append(np.interp(offsets, shift[order], r, period=180) / max(r.mean(), 1e-9))
    axes[0].plot(offsets, np.mean(curves, axis=0), marker="o", label=f"{label} ({members.sum()})")
    axes[1].hist(selectivity[members], bins=np.linspace(0, 1, 21), alpha=0.5, label=label)
axes[0].set(xlabel="orientation - preferred (deg)", ylabel="rate / mean rate",
            title="mean tuning curve per area")
axes[1].set(xlabel="orientation selectivity |z| / sum r", ylabel="units")
axes[0].legend()
axes[1].legend()
fig.tight_layout()

# %%
# The planted preferred orientations are recovered
# ------------------------------------------------
# The generator knows each unit's preferred orientation; strongly tuned
# (visual-cortex) units give it back within a few degrees.
strong = truth["units"]["peak_rate"] > 8.0
err = np.abs((preferred - truth["units"]["preferred_orientation"] + 90) % 180 - 90)
print(f"median error over {strong.sum()} strongly tuned units: {np.median(err[strong]):.1f} deg")
plt.figure(figsize=(4, 4))
plt.scatter(truth["units"]["preferred_orientation"][strong], preferred[strong], s=12)
plt.plot([0, 180], [0, 180], color="0.6", lw=1)
plt.xlabel("planted preferred orientation (deg)")
plt.ylabel("estimated (deg)")
ds.close()
