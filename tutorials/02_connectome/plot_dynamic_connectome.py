"""
Dynamic functional connectomes: which neurons work together, when, and in which animals
=======================================================================================

Dyballa et al. (ICLR 2024) turn brain-wide calcium imaging of several animals
into a *dynamic functional connectome* in three steps:

1. a **differential affinity** for every pair of neurons at every time point,
   comparing how steeply both traces change while both are rising or falling;
2. a **non-negative tensor factorisation** (NTF) of the pairs x time x
   animals affinity tensor: each component is a pattern of neuron pairs, a
   time course and a loading per animal;
3. **communities** of each component's pair pattern, seen as a weighted
   graph, found with a weighted stochastic block model (SBM).

We start from recordings as a user has them: a folder of NWB files, one per
animal, whose neurons carry names.  Then we run the pipeline on a real freely
moving *C. elegans* recording.
"""

# %%
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from sklearn.metrics import normalized_mutual_info_score

import neurodata as nd
from neurodata.connectome import (
    DynamicConnectome,
    build_affinity_tensor,
    compute_affinities,
    ntf_ensemble,
    plot_affinities,
    plot_animal_loadings,
    plot_community_graph,
    plot_hierarchy,
    plot_rank_selection,
    plot_time_factors,
)
from neurodata.datasets import fetch_reference
from neurodata.errors import FileFormatError
from neurodata.plotting import plot_traces

FAST = bool(os.environ.get("NEURODATA_FAST"))

# %%
# Four animals, one NWB file each
# -------------------------------
# The sample ``sample_worms`` is a folder of four imaging sessions, opened as
# :func:`~neurodata.open_folder` does: ``{file name: recording}``.  Each file
# numbers its ROIs on its own; the coordinate ``roi_name`` says which neuron
# each ROI is (as NeuroPAL identities do in real worms), and a few neurons
# were not identified in some animals.  The files also hold the planted truth
# (made by :func:`~neurodata.datasets.make_connectome_recordings`): three
# groups of neurons (``roi_group``) that co-activate during their own
# interval (the ``group`` table), each in three of the four animals.
recs = nd.load_sample("sample_worms", lazy=False)
rec = recs["animal0.nwb"]
print(list(recs), rec.traces.dims, rec.sizes["roi"], "ROIs in animal0")
print("participation (group x animal):\n",
      np.stack([r.group_participates.values for r in recs.values()], 1).astype(int))
intervals = list(zip(rec.group_start_time.values, rec.group_stop_time.values))

members = [int(np.flatnonzero(rec.roi_group.values == g)[k]) for g in (0, 1) for k in (0, 1)]
ax = plot_traces(rec.traces.isel(roi=members).assign_coords(roi=rec.roi_name.values[members]))
for q, (a, b) in enumerate(intervals):
    ax.axvspan(a, b, color=f"C{q}", alpha=0.12)
ax.set_title("animal0: two neurons of group 0, two of group 1", fontsize=9)

# %%
# Differential affinities
# -----------------------
# Each trace is smoothed and differentiated (a derivative of a Gaussian, 1 s
# by default) and divided by its root-mean-square rate.  Its *monotonic runs*
# are the intervals in which it keeps rising or keeps falling.  Where a run
# of one neuron overlaps a run of the other, their affinity is the ratio of
# the smaller to the larger amount of change across the overlap, in
# ``[0, 1]``; elsewhere it is 0.  ``sign="same"`` (default) scores only
# overlaps where both move the same way, ``sign="absolute"`` also a rise
# against a fall.  A running mean over ``window`` seconds reduces noise.
traces = rec.traces.assign_coords(roi=rec.roi_name.values)
aff = compute_affinities(traces, window=10.0)
names = rec.roi_name.values
g0 = names[rec.roi_group.values == 0]
other = names[rec.roi_group.values == -1][0]
plot_affinities(aff, [(g0[0], g0[1]), (g0[0], other)], intervals=intervals[:1])

# %%
# The tensor holds every pair, time point and animal (float32, pair-major in
# memory, so that the factorisation streams it without copies).  Neurons are
# matched across the files by ``identity="roi_name"``; pairs with a neuron
# missing in an animal are NaN, which the NTF treats as missing entries.
tensor = build_affinity_tensor(recs, variable="traces", identity="roi_name", window=10.0)
print(tensor.dims, tensor.shape, f"{float(np.isnan(tensor).mean()):.1%} missing")

# %%
# Choosing the rank
# -----------------
# As with tensortools: fit several restarts per rank; a good rank has low
# error and restarts that agree with each other (similarity near 1).
ens = ntf_ensemble(tensor, range(1, 7), n_init=2 if FAST else 4, random_state=0,
                   max_iter=60 if FAST else 200)
plot_rank_selection(ens)

# %%
# The dynamic connectome
# ----------------------
# ``fit`` takes the recordings themselves.  Four components: the three
# planted groups and the shared background of chance co-fluctuations.
model = DynamicConnectome(rank=4, window=10.0, n_init=2 if FAST else 5, random_state=0)
model.fit(recs, variable="traces", identity="roi_name")
plot_time_factors(model, intervals, labels=["group 0", "group 1", "group 2"])
plot_animal_loadings(model)

# %%
# Each planted group is matched to the component whose time course follows
# its interval best; we check the interval, the animals and the community
# against the truth stored in the files.
active = rec.group_active.values.T   # (group, time): the ramped planted intervals
corr = np.corrcoef(np.vstack([active, model.factors_["time"].values.T]))[:3, 3:]
group = xr.concat([r.roi_group.assign_coords(roi=r.roi_name.values) for r in recs.values()],
                  "roi").groupby("roi").first()
for g in range(3):
    k = int(corr[g].argmax())
    found = model.communities_.isel(component=k)
    truth = (group.sel(roi=found.roi.values).values == g).astype(int)
    print(f"group {g} -> component {k}: time correlation {corr[g, k]:.2f}, "
          f"community NMI {normalized_mutual_info_score(truth, found.values):.2f}, "
          f"animal loadings {np.round(model.factors_['animal'].values[:, k], 2)}")

fig, axes = plt.subplots(1, 3, figsize=(10, 3.4), layout="constrained")
for g, ax in enumerate(axes):
    k = int(corr[g].argmax())
    plot_community_graph(model.graph(k), model.communities_.isel(component=k), ax=ax)
    ax.set_title(f"component {k} (group {g})", fontsize=9)

# %%
# The settings closest to the paper
# ---------------------------------
# ``DynamicConnectome.paper()`` counts opposite-direction changes
# (``sign="absolute"``), models edge weights as exponential, keeps every pair
# in the graphs and infers a *nested* SBM: the blocks of level 0, then groups
# of blocks above them, up to one group, all chosen by the total description
# length.  On these data, whose groups rise and fall together, the
# absolute-sign affinity gives unrelated neurons a higher background (both
# move most of the time): the time courses are still found, but the graphs of
# two of the groups have no community structure left.  This is why
# ``sign="same"`` is the default.
paper = DynamicConnectome.paper(rank=4, window=10.0, n_init=2 if FAST else 5,
                                random_state=0).fit(recs, variable="traces",
                                                    identity="roi_name")
corr_p = np.corrcoef(np.vstack([active, paper.factors_["time"].values.T]))[:3, 3:]
for g in range(3):
    k = int(corr_p[g].argmax())
    found = paper.communities_.isel(component=k)
    truth = (group.sel(roi=found.roi.values).values == g).astype(int)
    blocks = [int(b) + 1 for b in paper.hierarchy_.isel(component=k).max(paper.neuron_dim_)]
    print(f"paper preset, group {g} -> component {k}: time correlation {corr_p[g, k]:.2f}, "
          f"community NMI {normalized_mutual_info_score(truth, found.values):.2f}, "
          f"blocks per level {blocks}")
k = int(corr_p[2].argmax())
plot_hierarchy(paper, component=k)

# %%
# The fitted connectome is one Dataset (factors, weights, communities), which
# can be stored in an NWB file beside the recordings and read back.
out = model.write_nwb(os.path.join(tempfile.mkdtemp(), "connectome.nwb"))
print(nd.read_results(out)["dynamic_connectome"])

# %%
# A real recording: a freely moving *C. elegans*
# ----------------------------------------------
# Scholz et al. (2018) imaged 62 neurons of a crawling worm at about 6 Hz
# (the OpenSourceBrain NWB showcase file).  There is one animal and no neuron
# identities, so the animal mode has size 1 and the neurons keep their
# indices.  We relate the components' time courses to the worm's speed.
try:
    nwb = fetch_reference("scholz_worm")
except FileFormatError as err:  # not on this machine: the message says how to get it
    print(err)
    nwb = None


def read_scholz(path, n_time=None):
    """Traces (time, roi) resampled onto a regular grid, and the centroid speed."""
    with nd.open_nwb(path) as ds:  # the 62 one-neuron series become one (time, roi) array
        act = ds.activity.load()
        pos = ds.tracked_2d_position_ss_2d.load()
    t = act.time.values
    n = t.size if n_time is None else n_time
    grid = np.linspace(t[0], t[n - 1], n)
    t_xy = pos.time_tracked_2d_position.values
    speed = np.interp(grid, t_xy, np.hypot(*np.gradient(pos.values, t_xy, axis=0).T))
    traces = nd.resample(act, grid).astype(np.float32).rename("traces")
    return traces.to_dataset().assign(speed=("time", speed))


if nwb is not None:
    worm_rec = read_scholz(nwb, n_time=900 if FAST else None)
    worm = DynamicConnectome(rank=4, window=5.0, n_init=2 if FAST else 5, random_state=0)
    worm.fit(worm_rec, variable="traces")
    fig = plot_time_factors(worm)
    for ax in fig.axes:
        twin = ax.twinx()
        twin.plot(worm_rec.time, worm_rec.speed, color="C1", lw=0.5, alpha=0.6)
        twin.set_yticks([])
    fig.axes[0].set_title("time factors (black) and the worm's speed (orange)", fontsize=9)
    speed = worm_rec.speed.values
    for k in range(worm.rank):
        r = np.corrcoef(worm.factors_["time"].values[:, k], speed)[0, 1]
        print(f"component {k}: correlation with speed {r:+.2f}, "
              f"{int(worm.communities_.isel(component=k).max()) + 1} communities")
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6), layout="constrained")
    for k, ax in enumerate(axes):
        plot_community_graph(worm.graph(k), worm.communities_.isel(component=k), ax=ax)
        ax.set_title(f"worm, component {k}", fontsize=9)

plt.show()
