"""FISBe instance-segmentation metrics of one volume pair (Mais et al., CVPR 2024)."""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from neurodata.errors import NeurodataError, NeurodataWarning, ShapeError
from neurodata.segmentation._labels import (
    Instances,
    as_label_volume,
    index_instances,
    instance_overlap,
)
from neurodata.segmentation._localize import Localization, localize
from neurodata.segmentation._match import (
    best_gt,
    greedy_one_to_one,
    gt_coverage,
    many_to_many,
    split_merge_counts,
)
from neurodata.segmentation._result import THRESHOLDS, FisbeResult, threshold_table
from neurodata.segmentation._skeleton import instance_skeletons

__all__ = ["FALSE_MERGE_THRESHOLD", "FALSE_SPLIT_THRESHOLD", "fisbe_metrics"]

FALSE_SPLIT_THRESHOLD = 0.05
FALSE_MERGE_THRESHOLD = 0.1


def _check_min_size(remove_small_components) -> int | None:
    if remove_small_components is None or remove_small_components is False:
        return None
    if isinstance(remove_small_components, bool) or not isinstance(
            remove_small_components, (int, np.integer)) or remove_small_components < 0:
        raise NeurodataError(f"remove_small_components must be a voxel count >= 0 or None; "
                             f"got {remove_small_components!r}.")
    return int(remove_small_components) or None


def _instance_coords(inst: Instances, side: str) -> dict:
    ids = np.arange(inst.n + 1)
    channel = np.concatenate([[-1], inst.channel])
    label = np.concatenate([[0], inst.label])
    return {side: ids, f"{side}_channel": (side, channel), f"{side}_label": (side, label)}


def _per_threshold(loc: Localization, n_gt: int, n_pred: int, partly: bool):
    """TP/FP/FN per threshold and the matches at 0.5."""
    tps, fps, fns = [], [], []
    match_05 = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    claims_gt = best_gt(loc.precision) > 0
    fg_max = loc.cldice.max() if loc.cldice.size else np.float32(0)
    for th in THRESHOLDS:
        if min(n_gt, n_pred) > 0 and fg_max > np.float32(th):
            g, p = greedy_one_to_one(loc.cldice, th)
        else:
            g, p = np.zeros(0, np.int64), np.zeros(0, np.int64)
        tp = int(g.size)
        if partly:
            unmatched = np.setdiff1d(np.arange(1, n_pred + 1), p)
            fp = int(np.count_nonzero(claims_gt[unmatched]))
        else:
            fp = n_pred - tp
        tps.append(tp)
        fps.append(fp)
        fns.append(n_gt - tp)
        if th == 0.5:
            match_05 = (g, p)
    return threshold_table(tps, fps, fns), match_05


def _matrices(loc: Localization, gt: Instances, pred: Instances) -> xr.Dataset:
    coords = {**_instance_coords(gt, "gt"), **_instance_coords(pred, "pred")}
    dims = ("gt", "pred")
    return xr.Dataset({"cldice": (dims, loc.cldice), "cl_precision": (dims, loc.precision),
                       "cl_recall": (dims, loc.recall)}, coords=coords)


def fisbe_metrics(gt, pred, *, remove_small_components: int | None = 800,
                  partly: bool = False, progress: bool | None = None) -> FisbeResult:
    """Score an instance segmentation of thin filaments with the FISBe metrics.

    Reproduces the FISBe authors' evaluation (``evalinstseg``, FlyLight
    preset: clDice localization, greedy matching, false splits at clRecall
    0.05 and false merges at 0.1) value for value, with three reference bugs
    fixed (see Notes), and runs sparsely: each instance is skeletonized once,
    inside its bounding box, and overlaps are counted at skeleton voxels only.

    Parameters
    ----------
    gt : array-like or DataArray, shape (C, Z, Y, X) or (Z, Y, X)
        Ground truth: one binary mask per channel (one neuron per channel;
        channels may overlap), or label images.  Every distinct nonzero value
        in a channel is one instance, so masks stored as 0/255 and label
        images both work.  A DataArray needs dims ``z``, ``y``, ``x`` and at
        most one more (the channel).
    pred : array-like or DataArray, shape (Z, Y, X) or (C, Z, Y, X)
        Prediction: a label image (ids need not be sequential) or a stack of
        masks or label images, possibly overlapping.
    remove_small_components : int or None, default 800
        Predicted instances of at most this many voxels are removed first (800
        in the FISBe preset); None or 0 keeps all.
    partly : bool
        The GT labels only some neurons: an unmatched prediction counts as a
        false positive only if its highest clPrecision lies on a GT instance
        rather than the background.
    progress : bool or None
        Show progress over the skeletonizations (None: in a terminal or
        notebook only).

    Returns
    -------
    FisbeResult
        ``S``, ``avF1``, ``C``, ``clDiceTP``, ``tp``, ``FS``, ``FM``, counts,
        per-threshold TP/FP/FN/F1, per-GT coverage and the localization
        matrices.  The inputs are never modified.

    Raises
    ------
    ShapeError
        2D input, mismatched spatial shapes, negative or non-integer labels.

    Notes
    -----
    Differences from the reference, all where it is wrong:

    * Coverage uses the union of a GT's assigned predictions whenever
      predictions overlap; the reference sums their clRecall unless the GT
      overlaps too, which can give coverage above 1.
    * Empty ground truth is scored (every prediction a false positive) with
      ``C``, ``tp`` and ``S`` NaN and a :class:`NeurodataWarning`; the
      reference crashes.
    * The caller's arrays are left alone; the reference relabels a
      single-channel prediction in place.
    * Small predicted instances are removed per instance; the reference
      counts a label value over all channels of a stack together (for a stack
      of binary masks it removes all or none).
    * Mismatched shapes raise instead of being centre-cropped.

    Examples
    --------
    >>> from neurodata.datasets import make_filament_segmentation
    >>> ds = make_filament_segmentation(n_neurons=3, n_splits=1, n_merges=0,
    ...                                 n_false_positives=0, random_state=0)
    >>> res = fisbe_metrics(ds.gt, ds.pred)
    >>> res.num_gt, res.num_pred, res.FS, res.FM
    (3, 4, 1, 0)
    >>> round(res.C, 3)
    1.0
    """
    min_size = _check_min_size(remove_small_components)
    gt_vol = as_label_volume(gt, "gt")
    pred_vol = as_label_volume(pred, "pred")
    if gt_vol.shape[1:] != pred_vol.shape[1:]:
        raise ShapeError(f"gt and pred must cover the same volume; got spatial shapes "
                         f"{gt_vol.shape[1:]} and {pred_vol.shape[1:]}. Crop or pad one of "
                         f"them (the reference centre-crops the larger).")
    gt_inst = index_instances(gt_vol)
    pred_inst = index_instances(pred_vol, min_size)
    if gt_inst.n == 0:
        warnings.warn("the ground truth has no instance: every prediction is a false "
                      "positive, and C, tp and S are undefined (NaN).", NeurodataWarning,
                      stacklevel=2)
    overlaps_gt = instance_overlap(gt_vol, gt_inst)
    overlaps_pred = instance_overlap(pred_vol, pred_inst)
    gt_skel = instance_skeletons(gt_vol, gt_inst, progress=progress, desc="GT skeletons")
    pred_skel = instance_skeletons(pred_vol, pred_inst, progress=progress,
                                   desc="prediction skeletons")
    loc = localize(gt_vol, gt_inst, gt_skel, pred_vol, pred_inst, pred_skel)
    return _score(loc, gt_inst, pred_inst, overlaps_gt or overlaps_pred, overlaps_pred, partly)


def _score(loc: Localization, gt: Instances, pred: Instances, overlaps: bool,
           overlaps_pred: bool, partly: bool) -> FisbeResult:
    n_gt, n_pred = gt.n, pred.n
    table, (g05, p05) = _per_threshold(loc, n_gt, n_pred, partly)
    avf1 = float(np.mean(table.F1.values))
    cov = gt_coverage(loc, union=overlaps_pred)
    c = float(np.mean(cov)) if n_gt else float("nan")
    tp_cldice = loc.cldice[g05, p05]
    fs, _ = split_merge_counts(many_to_many(loc, FALSE_SPLIT_THRESHOLD, overlaps))
    _, fm = split_merge_counts(many_to_many(loc, FALSE_MERGE_THRESHOLD, overlaps))
    coverage = xr.DataArray(cov, dims="gt", name="gt_coverage", coords={
        "gt": np.arange(1, n_gt + 1), "gt_channel": ("gt", gt.channel),
        "gt_label": ("gt", gt.label)})
    matches = xr.Dataset({"gt": ("match", g05), "pred": ("match", p05),
                          "cldice": ("match", tp_cldice)})
    return FisbeResult(
        S=0.5 * avf1 + 0.5 * c, avF1=avf1, C=c,
        clDiceTP=float(np.mean(tp_cldice)) if tp_cldice.size else 0.0,
        tp=g05.size / n_gt if n_gt else float("nan"), FS=int(fs), FM=int(fm),
        num_gt=n_gt, num_pred=n_pred, TP_05=int(g05.size), per_threshold=table,
        gt_coverage=coverage, localization=_matrices(loc, gt, pred), matches=matches,
        partly=bool(partly), removed_small=pred.removed)
