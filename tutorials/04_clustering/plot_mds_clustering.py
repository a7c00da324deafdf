"""
Functional cell types from most discriminative stimuli
======================================================

Burg et al. (ICLR 2024) cluster neurons into functional types with a
*predictive model* of their responses: an expectation-maximisation-like loop
optimises one stimulus per cluster that drives that cluster's neurons more
than any other cluster (the *most discriminative stimulus*, MDS), then moves
every neuron to the stimulus that drives it most, and splits clusters while
that improves the objective.  The MDS are interpretable, and they type new
cells on the fly: show them, see which one a cell answers most.

This tutorial starts from a recording: a synthetic retina's spike trains
during a white-noise movie, the cells' functional types known.  It fits a
predictive model to the recording and clusters its cells, looks at the MDS
and the confusion matrices, compares with the classic Gaussian-mixture
pipeline, repeats the clustering on the ground-truth model of a larger
retina, and types new cells on the fly.
"""

# %%
# The recording
# -------------
# ``sample_retina`` is an NWB file made by
# :func:`~neurodata.datasets.make_retina_population`: 48 linear-nonlinear
# ganglion cells of six types (OFF/ON sustained and transient, ON-OFF, ON
# slow), with centre-surround receptive fields centred on the canvas,
# within-type jitter and log-normal gains, shown 40 s of a 7 x 7 white-noise
# movie.  The movie is a series on its own time axis (``time_movie``), the
# responses are spike trains, and the units table holds each cell's known
# type.
import os

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.metrics import adjusted_rand_score

import neurodata as nd
from neurodata.clustering import (
    MDSClustering,
    gmm_bic_clustering,
    mds_objective,
    noise_response_features,
    plot_mds,
    plot_response_confusion,
    plot_type_confusion,
    prediction_correlation,
    response_confusion_matrix,
    type_confusion_matrix,
)
from neurodata.datasets import (
    RetinaLNModel,
    make_retina_population,
    simulate_retina_recording,
)
from neurodata.signals import align_movie

FAST = bool(os.environ.get("NEURODATA_FAST"))
torch.set_num_threads(1)
rec = nd.load_sample("sample_retina")
print(rec)
print(rec.type_name.to_series().value_counts())

# %%
# The movie aligned to the responses
# ----------------------------------
# :func:`~neurodata.signals.align_movie` counts each cell's spikes in every
# frame and pairs them with the frames of a lag window that led up to it
# (here 8 frames, 267 ms): a ``(time, lag, y, x, channel)`` view of the movie
# beside ``(time, unit)`` counts.  Their product, averaged over time, is each
# cell's spike-triggered average: ON cells answer bright flashes, OFF cells
# dark ones, slow cells late ones.
LAGS = 8
aligned = align_movie(rec, "movie", lags=LAGS)
print(aligned)
centre = aligned.stimulus.isel(y=3, x=3, channel=0)
counts = aligned.responses - aligned.responses.mean("time")
sta = (centre * counts).mean("time") / counts.std("time")
fig, ax = plt.subplots(figsize=(6, 3))
for k, name in enumerate(np.unique(rec.type_name.values)):
    cells_k = rec.type_name.values == name
    ax.plot(sta.lag * 1e3, sta.isel(unit=cells_k).mean("unit"), color=f"C{k}", label=name)
ax.axhline(0, color="0.7", lw=0.5)
ax.set(xlabel="lag (ms, 0 = response frame)", ylabel="centre-pixel STA",
       title="spike-triggered averages by known type")
ax.legend(fontsize=7)
fig.tight_layout()

# %%
# MDS clustering of the recording
# -------------------------------
# :class:`~neurodata.clustering.MDSClustering` takes the recording, aligns it
# as above, trains a small predictive model ("digital twin": a shared
# space-time separable convolutional core with a Gaussian readout per cell,
# :func:`~neurodata.clustering.fit_predictive_model`), moves every readout to
# the canvas centre (the paper does, so that all cells see the stimulus at
# the same place) and clusters its cells.  We start from a random partition
# into three clusters and let the split search find the number of clusters.
# ``tau`` is relative to the spread of the responses (see the last section
# for why).
mds = MDSClustering(n_clusters_init=3, n_epochs=15, random_state=0, progress=False)
mds.fit(rec, stimulus="movie", lags=LAGS)
print(f"{mds.n_clusters_} clusters, ARI against the known types: "
      f"{adjusted_rand_score(rec.type, mds.labels_):.3f}")
print(f"predictive model, held-out correlation per epoch: "
      f"{mds.predictive_model_.history_.val_correlation.values.round(2)}")

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(mds.history_.objective, "o-")
ax2 = ax.twinx()
ax2.step(mds.history_.iteration, mds.history_.n_clusters, "C1", where="mid")
ax.set_xlabel("EM iteration")
ax.set_ylabel("mean objective J")
ax2.set_ylabel("clusters", color="C1")
fig.tight_layout()

# %%
# The most discriminative stimuli
# -------------------------------
# Each row is one cluster's stimulus, frame by frame up to the frame of the
# response (t = 0): OFF clusters get dark flashes, ON clusters bright ones,
# transient clusters a change of sign, slow clusters an early flash.
plot_mds(mds.stimuli_, n_frames=LAGS)
plot_mds(mds.stimuli_, "traces")

# %%
# Confusion matrices
# ------------------
# The response confusion matrix holds every cluster's mean response to every
# MDS, normalised by its response to its own MDS: a clean diagonal means each
# stimulus drives its own cluster and no other.  The ground-truth confusion
# matrix shows where the cells of each known type ended up.
responses = mds.transform()
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
plot_response_confusion(response_confusion_matrix(responses, mds.labels_), ax=axes[0])
plot_type_confusion(type_confusion_matrix(mds.labels_, rec.type_name), ax=axes[1])
fig.tight_layout()

# %%
# The classic baseline
# --------------------
# Baden et al. (2016) typed retinal cells by a Gaussian mixture on PCA
# features of their responses, choosing the number of components by BIC.  We
# give it the same model: each cell's responses to 500 noise stimuli.
features = noise_response_features(mds.model_, 500, random_state=0)
for cov in ("diag", "full"):
    gmm = gmm_bic_clustering(features, range(1, 13), covariance_type=cov, n_init=2,
                             random_state=0)
    print(f"GMM ({cov} covariance): {gmm.attrs['n_clusters']} clusters, ARI "
          f"{adjusted_rand_score(rec.type, gmm.labels):.3f}")

# %%
# A larger retina and its ground-truth model
# ------------------------------------------
# The generator also keeps the cells' true filters, so
# :meth:`~neurodata.datasets.RetinaLNModel.from_recording` rebuilds the
# ground-truth model: what a perfect predictive model would be.  On a larger
# retina (240 cells on 12 x 9 x 9 clips; 96 on 8 x 7 x 7 in the fast mode),
# MDS clustering of that model recovers the types, and a twin trained on the
# recording predicts held-out responses nearly as well as the truth does.
n_cells, shape = (96, (8, 7, 7)) if FAST else (240, (12, 9, 9))
big = make_retina_population(n_cells, 6, n_frames=2000 if FAST else 6000,
                             stimulus_shape=shape, random_state=0)
truth = RetinaLNModel.from_recording(big)
mds_truth = MDSClustering(n_clusters_init=3, random_state=0, progress=False).fit(truth)
print(f"ground-truth model: {mds_truth.n_clusters_} clusters, ARI "
      f"{adjusted_rand_score(big.type, mds_truth.labels_):.3f}")
held_out = simulate_retina_recording(truth, 1000, random_state=2)  # same cells, new movie
twin = MDSClustering(n_clusters_init=6, n_epochs=5 if FAST else 25, random_state=0,
                     progress=False).fit(big, lags=shape[0])
test = align_movie(held_out, lags=shape[0])
print(f"held-out correlation with single-trial responses: twin "
      f"{float(prediction_correlation(twin.predictive_model_, test).mean()):.3f}, ground truth "
      f"{float(prediction_correlation(truth, test).mean()):.3f}")
print(f"on the twin: {twin.n_clusters_} clusters, ARI "
      f"{adjusted_rand_score(big.type, twin.labels_):.3f}")

# %%
# Typing new cells on the fly
# ---------------------------
# New cells of the same types (a fresh draw) are shown the MDS once; their
# Poisson spike counts are enough to type them: each goes to the MDS it
# answers most.  We name each cluster by the majority type of its cells.
new_rec = make_retina_population(n_cells, 6, n_frames=10, stimulus_shape=shape,
                                 random_state=1)
new, new_types = RetinaLNModel.from_recording(new_rec), new_rec.type_name.values
counts = np.random.default_rng(0).poisson(2.0 * mds_truth.transform(new).values)
typed = mds_truth.predict(counts)
name = {k: big.type_name.values[mds_truth.labels_.values == k]
        for k in range(mds_truth.n_clusters_)}
name = {k: max(set(v), key=list(v).count) for k, v in name.items()}
accuracy = np.mean([name[k] == t for k, t in zip(typed.values, new_types)])
print(f"on-the-fly typing accuracy of {n_cells} new cells: {accuracy:.3f}")

# %%
# Why the temperature is relative
# -------------------------------
# The objective compares cluster-mean responses through a softmax of
# temperature ``tau``.  Responses z-scored against noise are tens of noise-sds
# large for an optimised stimulus, so with ``tau`` of order one in those units
# every cluster's objective sits at its maximum ``log K``: the softmax is
# saturated, the gradient only sees the strongest competitor, and splitting a
# type into halves that differ a little already gains almost ``log 2``.
# Measured against the spread of the responses, the objective does not depend
# on the units.
rm = mds_truth.result_.response_matrix.values.astype(float)
k = len(rm)
print(f"log K = {np.log(k):.3f}")
print("absolute tau = 1.6 (z-score units):", mds_objective(rm, 1.6).round(3))
print(f"relative tau = 1.6 x spread ({mds_truth.result_.attrs['spread']:.1f}):",
      mds_objective(rm, mds_truth.result_.attrs["tau_effective"]).round(3))
