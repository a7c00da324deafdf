"""
Scoring a neuron segmentation with the FISBe metrics
====================================================

FISBe (Mais et al., CVPR 2024) is a benchmark of light-microscopy volumes in
which single neurons of the fruit fly brain are labelled.  The neurons are
long and thin, they cross and overlap, and they are often broken by dim
stretches, so the usual overlap scores (IoU) say little.  The benchmark scores
a segmentation by its *centerlines* instead:

* **clPrecision(g, p)**: the fraction of prediction p's skeleton inside the
  ground-truth (GT) mask g; **clRecall(g, p)**: the fraction of g's skeleton
  inside p; **clDice** their harmonic mean.
* **avF1**: F1 of a greedy one-to-one matching on clDice, averaged over the
  thresholds 0.1, 0.2, ..., 0.9.
* **C**: how much of each GT centerline the predictions assigned to it cover.
* **S = (avF1 + C) / 2**, the leaderboard score, plus counts of **false
  splits** (FS) and **false merges** (FM).

This tutorial plants splits, merges and false positives in a synthetic
segmentation, scores it with :func:`neurodata.segmentation.fisbe_metrics`, and
reads the localization matrices and coverage that explain the scores.
"""

# %%
# A synthetic segmentation with known errors
# ------------------------------------------
# :func:`~neurodata.datasets.make_filament_segmentation` draws tubes along
# random smooth curves: one binary channel per GT neuron (channels may
# overlap where neurons cross), and a predicted label image in which one
# neuron is split in two, two neurons are merged by a bridge, one tube is a
# false positive and one tiny blob falls under the 800-voxel size filter.
import os

import matplotlib.pyplot as plt
import numpy as np

from neurodata.datasets import fetch_reference, make_filament_segmentation
from neurodata.errors import FileFormatError
from neurodata.segmentation import (
    aggregate_fisbe,
    fisbe_metrics,
    plot_coverage,
    plot_localization,
    read_volume,
)

FAST = bool(os.environ.get("NEURODATA_FAST"))
shape = (32, 96, 96) if FAST else (48, 160, 160)
ds = make_filament_segmentation(shape, n_neurons=5, n_splits=1, n_merges=1,
                                n_false_positives=1, n_small=1, random_state=1)
print(ds.pred_kind.to_series())


def label_projection(labels: np.ndarray) -> np.ndarray:
    """Maximum projection along z of a label image, for display."""
    return labels.max(axis=0)


gt_image = (ds.gt.values * (np.arange(ds.sizes["neuron"]) + 1)[:, None, None, None]).max(0)
fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
axes[0].imshow(label_projection(gt_image), cmap="tab10", interpolation="nearest")
axes[0].set_title("ground truth (one channel per neuron)")
pred_rank = np.searchsorted(np.unique(ds.pred.values), ds.pred.values)
axes[1].imshow(label_projection(pred_rank), cmap="tab10", interpolation="nearest")
axes[1].set_title("prediction (label image)")
for ax in axes:
    ax.set_axis_off()
fig.tight_layout()

# %%
# Scores
# ------
# One call computes everything; it never modifies its inputs.
res = fisbe_metrics(ds.gt, ds.pred)
for name in ("S", "avF1", "C", "clDiceTP", "tp", "FS", "FM", "num_gt", "num_pred"):
    print(f"{name:>9}: {getattr(res, name):.4g}")
print(f"small predicted instances removed: {res.removed_small}")

# %%
# The split neuron is one false split (FS = 1), the merged pair one false
# merge (FM = 1).  The false positive and the unmatched half of the split are
# false positives in the one-to-one matching, so F1 drops below 1 at every
# threshold; the halves of the split and the merged label also fall below
# the higher clDice thresholds:
ax = res.per_threshold.F1.plot(marker="o", figsize=(5, 3))[0].axes
ax.set_ylim(0, 1.05)
ax.set_ylabel("F1")
ax.set_title(f"avF1 = {res.avF1:.3f}")
ax.figure.tight_layout()
print(res.per_threshold[["TP", "FP", "FN", "F1"]].to_dataframe())

# %%
# Localization matrices
# ---------------------
# Rows are GT instances, columns predicted labels (tick labels show the
# original label values).  A split shows as one GT row with two columns that
# each have high clPrecision but partial clRecall; a merge as one column with
# high clRecall on two rows but clPrecision shared between them.
fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
for ax, which in zip(axes, ("cl_precision", "cl_recall", "cldice")):
    plot_localization(res, which, ax=ax)
fig.tight_layout()

# %%
# Coverage
# --------
# Each prediction is assigned to the GT neuron holding most of its
# centerline; a neuron's coverage is the fraction of its centerline inside
# its predictions.  The two halves of the split neuron together cover it
# fully, whereas of the merged pair only one neuron gets the merged label,
# and the other is left uncovered.
ax = plot_coverage(res)
ax.set_title("per-GT centerline coverage")
ax.figure.tight_layout()
print(res.gt_coverage.to_series())

# %%
# The small-component filter
# --------------------------
# FISBe removes predicted instances of at most 800 voxels before matching.
# Without it, the tiny blob is one more false positive:
raw = fisbe_metrics(ds.gt, ds.pred, remove_small_components=None)
print(f"with the filter: avF1 {res.avF1:.3f} ({res.num_pred} predictions); "
      f"without: avF1 {raw.avF1:.3f} ({raw.num_pred} predictions)")

# %%
# A dataset
# ---------
# The leaderboard pools TP, FP and FN over all volumes per threshold before
# computing F1, and averages coverage over all GT neurons of all volumes.
volumes = [make_filament_segmentation(shape, n_neurons=4, random_state=seed)
           for seed in range(2 if FAST else 6)]
results = [fisbe_metrics(v.gt, v.pred) for v in volumes]
summary = aggregate_fisbe(results)
print(f"{summary.n_volumes} volumes, {summary.num_gt} GT neurons: S = {summary.S:.3f}, "
      f"avF1 = {summary.avF1:.3f}, C = {summary.C:.3f}, FS = {summary.FS}, FM = {summary.FM}")
# From the command line the same is ``neurodata fisbe GT_FOLDER PRED_FOLDER -o scores.csv``.

# %%
# A real FISBe prediction
# -----------------------
# The FISBe authors ship a real prediction (385 x 685 x 686 voxels) with their
# evaluation code.  Scored against a ground truth made from it (each of five
# neurons shifted by one voxel, two of them overlapping), it takes seconds,
# where the reference evaluation needs minutes and many gigabytes.
# :func:`~neurodata.datasets.fetch_reference` finds the file in the reference
# data folder, or says how to download it.
try:
    hdf = fetch_reference("fisbe_volume")
except FileFormatError as err:
    hdf = None
    print(err)
if FAST and hdf is not None:
    print("fast mode: the full volume is not scored")
elif hdf is not None:
    pred = read_volume(hdf, "volumes/gmm_label_cleaned")
    gt = np.zeros((5, *pred.shape), np.uint8)
    for k in range(5):
        gt[k, :, :, 1:] = pred[:, :, :-1] == k + 1
    gt[4, :150] |= gt[2, :150]
    real = fisbe_metrics(gt, pred)
    print(f"S = {real.S:.3f}, avF1 = {real.avF1:.3f}, C = {real.C:.3f}, "
          f"FS = {real.FS}, FM = {real.FM}, {real.num_pred} predictions")
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(label_projection(np.searchsorted(np.unique(pred), pred)), cmap="tab20",
              interpolation="nearest")
    ax.set_title("R14A02-20180905_65_A6 prediction (max projection)")
    ax.set_axis_off()

plt.show()
