"""
Dynamic functional connectomes: which neurons work together, when, and in which animals
=======================================================================================

Dyballa et al. (ICLR 2024) turn brain-wide calcium imaging of several animals
into a *dynamic functional connectome* in three steps:

1. a **differential affinity** for every pair of neurons at every time point,
   large when both traces rise (or fall) together, zero when they move in
   opposite directions;
2. a **non-negative tensor factorisation** (NTF) of the pairs x time x
   animals affinity tensor: each component is a pattern of neuron pairs, a
   time course and a loading per animal;
3. **communities** of each component's pair pattern, seen as a weighted
   graph, found with a weighted stochastic block model (SBM).

We first run the pipeline on synthetic data with planted ground truth, then
on a real freely moving *C. elegans* recording.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import normalized_mutual_info_score

import neurodata as nd
from neurodata.connectome import (
    DynamicConnectome,
    build_affinity_tensor,
    compute_affinities,
    ntf_ensemble,
    plot_animal_loadings,
    plot_community_graph,
    plot_rank_selection,
    plot_time_factors,
)
from neurodata.datasets import make_dynamic_communities, reference_file

FAST = bool(os.environ.get("NEURODATA_FAST"))

# %%
# Synthetic data with planted groups
# ----------------------------------
# Six animals, 30 neurons each.  Three groups of six neurons co-activate, each
# during its own interval and only in four of the six animals; outside, every
# neuron fluctuates on its own.  A few background neurons are not identified
# in some animals (NaN): they are *missing*, not silent.
ds = make_dynamic_communities(n_neurons=30, n_time=1200, n_animals=6, random_state=0)
intervals = list(zip(ds.group_start_time.values, ds.group_stop_time.values))
print(ds.traces.dims, ds.traces.shape)
print("participation (group x animal):\n", ds.participation.values.astype(int))

fig, ax = plt.subplots(figsize=(7, 3))
for k, n in enumerate([0, 1, 6, 7, 20]):
    ax.plot(ds.time, ds.traces.isel(animal=0, roi=n) + 3 * k, lw=0.6, label=str(ds.roi[n].values))
for q, (a, b) in enumerate(intervals):
    ax.axvspan(a, b, color=f"C{q}", alpha=0.12)
ax.set(xlabel="time (s)", yticks=[], title="animal 0: two neurons of group 0, two of group 1, one other")
ax.legend(fontsize=6, ncol=5)

# %%
# Differential affinities
# -----------------------
# Each trace is smoothed and differentiated (a derivative of a Gaussian, 1 s
# by default), divided by its root-mean-square rate, and two neurons' affinity
# is the rate they share: ``min(|z_i|, |z_j|)`` when the rates have the same
# sign, 0 otherwise.  A running mean over ``window`` seconds reduces noise.
aff = compute_affinities(ds.traces.isel(animal=0), window=10.0)
fig, ax = plt.subplots(figsize=(7, 2.2))
for pair, lab in [(0, "n00-n01 (group 0)"), (int(np.flatnonzero(
        (aff.neuron_i == "n00") & (aff.neuron_j == "n20"))[0]), "n00-n20 (unrelated)")]:
    ax.plot(aff.time, aff.isel(pair=pair), lw=0.8, label=lab)
ax.axvspan(*intervals[0], color="C0", alpha=0.12)
ax.set(xlabel="time (s)", ylabel="affinity")
ax.legend(fontsize=7)

# %%
# The tensor holds every pair, time point and animal (float32, pair-major in
# memory, so that the factorisation streams it without copies).  Pairs with a
# missing neuron are NaN, which the NTF treats as missing entries.
tensor = build_affinity_tensor(ds, window=10.0)
print(tensor.dims, tensor.shape, f"{float(np.isnan(tensor).mean()):.1%} missing")

# %%
# Choosing the rank
# -----------------
# As with tensortools: fit several restarts per rank; a good rank has low
# error and restarts that agree with each other (similarity near 1).
ens = ntf_ensemble(tensor, range(1, 7), n_restarts=2 if FAST else 4, random_state=0,
                   n_iter_max=60 if FAST else 200)
plot_rank_selection(ens)
plt.tight_layout()

# %%
# The dynamic connectome
# ----------------------
# Four components: the three planted groups and the shared background of
# chance co-fluctuations.
model = DynamicConnectome(rank=4, window=10.0, n_init=2 if FAST else 5, random_state=0)
model.fit(ds)
plot_time_factors(model.factors_, intervals, labels=["group 0", "group 1", "group 2"])
plot_animal_loadings(model.factors_)
plt.tight_layout()

# %%
# Each planted group is matched to the component whose time course follows
# its interval best; we check the interval, the animals and the community.
corr = np.corrcoef(np.vstack([ds.active.values, model.factors_["time"].values.T]))[:3, 3:]
for g in range(3):
    k = int(corr[g].argmax())
    truth = (ds.group.values == g).astype(int)
    found = model.communities_.isel(component=k).values
    print(f"group {g} -> component {k}: time correlation {corr[g, k]:.2f}, "
          f"community NMI {normalized_mutual_info_score(truth, found):.2f}, "
          f"animal loadings {np.round(model.factors_['animal'].values[:, k], 2)}")

fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
for g, ax in enumerate(axes):
    k = int(corr[g].argmax())
    plot_community_graph(model.graph(k), model.communities_.isel(component=k), ax=ax)
    ax.set_title(f"component {k} (group {g})", fontsize=9)

# %%
# A real recording: a freely moving *C. elegans*
# ----------------------------------------------
# Scholz et al. (2018) imaged 62 neurons of a crawling worm at about 6 Hz
# (the OpenSourceBrain NWB showcase file).  There is one animal and no neuron
# identities, so the animal mode has size 1 and the neurons keep their
# indices.  We relate the components' time courses to the worm's speed.
nwb = reference_file("nwb/ScholzEtAl2018.AML175_moving.BrainScanner20180223_141721.nwb")


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


if nwb is None:
    print("The real-data section is skipped: the reference data folder is absent "
          "(set NEURODATA_SHARED_DATA to the shared data folder).")
else:
    rec = read_scholz(nwb, n_time=900 if FAST else None)
    worm = DynamicConnectome(rank=4, window=5.0, n_init=2 if FAST else 5, random_state=0)
    worm.fit(rec.traces)
    axes = plot_time_factors(worm.factors_)
    for ax in axes:
        twin = ax.twinx()
        twin.plot(rec.time, rec.speed, color="C1", lw=0.5, alpha=0.6)
        twin.set_yticks([])
    axes[0].set_title("time factors (black) and the worm's speed (orange)", fontsize=9)
    speed = rec.speed.values
    for k in range(worm.rank):
        r = np.corrcoef(worm.factors_["time"].values[:, k], speed)[0, 1]
        print(f"component {k}: correlation with speed {r:+.2f}, "
              f"{int(worm.communities_.isel(component=k).max()) + 1} communities")
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
    for k, ax in enumerate(axes):
        plot_community_graph(worm.graph(k), worm.communities_.isel(component=k), ax=ax)
        ax.set_title(f"worm, component {k}", fontsize=9)

plt.show()
