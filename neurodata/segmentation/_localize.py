"""Localization: clPrecision, clRecall and clDice for every (GT, prediction) pair.

clRecall(g, p) is the fraction of g's skeleton voxels that lie inside p's mask,
clPrecision(g, p) the fraction of p's skeleton inside g's mask; row and column
0 stand for the background (the skeleton voxels inside no instance of the other
side).  Overlaps are counted sparsely: the instance ids of the other volume are
looked up at each skeleton's voxel coordinates and counted with ``bincount``,
instead of one full-volume mask per pair.  The matrices are float32 and clDice
is computed in float32 as the reference does, so that threshold decisions
(``> 0.5``) fall on the same side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurodata.segmentation._labels import Instances

__all__ = ["Localization", "localize", "skeleton_counts"]


@dataclass
class Localization:
    """Localization matrices plus the sparse look-ups that matching needs.

    ``pred_on_gt[g-1]`` is the ``(C_pred, N_g)`` array of prediction ids at the
    skeleton voxels of GT instance ``g``; ``gt_on_gt[g-1]`` the GT ids there.
    """

    precision: np.ndarray
    recall: np.ndarray
    cldice: np.ndarray
    gt_skel_size: np.ndarray
    pred_skel_size: np.ndarray
    pred_on_gt: list[np.ndarray]
    gt_on_gt: list[np.ndarray]


def skeleton_counts(ids: np.ndarray, n: int) -> np.ndarray:
    """Count skeleton voxels per instance id; entry 0 counts voxels in no instance.

    ``ids`` is ``(C, N)``: the ids of each of C channels at N skeleton voxels.
    An instance lives in one channel, so a voxel is counted once per instance.

    Examples
    --------
    >>> skeleton_counts(np.array([[1, 1, 0, 2], [0, 3, 0, 0]]), 3).tolist()
    [1, 2, 1, 1]
    """
    if ids.shape[0] == 1:
        return np.bincount(ids[0], minlength=n + 1)
    fg = ids > 0
    counts = np.bincount(ids[fg], minlength=n + 1)
    counts[0] = np.count_nonzero(~fg.any(axis=0))
    return counts


def _fractions(counts: np.ndarray, size: int) -> np.ndarray:
    if size == 0:
        return np.zeros(counts.shape, np.float32)
    return (counts / float(size)).astype(np.float32)


def cldice_matrix(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """clDice = 2 P R / (P + R) in float32, 0 where both are 0.

    Examples
    --------
    >>> p = np.array([[0.5, 0.0]], np.float32); r = np.array([[1.0, 0.0]], np.float32)
    >>> cldice_matrix(p, r).round(4).tolist()
    [[0.6667, 0.0]]
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(2 * precision * recall / (precision + recall))


def localize(gt_vol: np.ndarray, gt: Instances, gt_skel: list,
             pred_vol: np.ndarray, pred: Instances, pred_skel: list) -> Localization:
    """Compute the localization matrices from the instances' skeleton coordinates.

    Examples
    --------
    >>> from neurodata.segmentation._labels import index_instances
    >>> from neurodata.segmentation._skeleton import instance_skeletons
    >>> gt = np.zeros((1, 3, 3, 12), np.uint8); gt[0, 1, 1, 1:11] = 1
    >>> pred = np.zeros((1, 3, 3, 12), np.uint8); pred[0, 1, 1, 1:6] = 1
    >>> gi, pi = index_instances(gt), index_instances(pred)
    >>> loc = localize(gt, gi, instance_skeletons(gt, gi), pred, pi, instance_skeletons(pred, pi))
    >>> loc.recall[1].tolist(), loc.precision[:, 1].tolist()
    ([0.5, 0.5], [0.0, 1.0])
    """
    n_gt, n_pred = gt.n, pred.n
    recall = np.zeros((n_gt + 1, n_pred + 1), np.float32)
    precision = np.zeros((n_gt + 1, n_pred + 1), np.float32)
    pred_on_gt, gt_on_gt = [], []
    for g, coords in enumerate(gt_skel, start=1):
        ids = pred.ids_at(pred_vol, coords)
        pred_on_gt.append(ids)
        gt_on_gt.append(gt.ids_at(gt_vol, coords))
        recall[g] = _fractions(skeleton_counts(ids, n_pred), coords[0].size)
    for p, coords in enumerate(pred_skel, start=1):
        ids = gt.ids_at(gt_vol, coords)
        precision[:, p] = _fractions(skeleton_counts(ids, n_gt), coords[0].size)
    return Localization(
        precision=precision, recall=recall, cldice=cldice_matrix(precision, recall),
        gt_skel_size=np.array([c[0].size for c in gt_skel], dtype=np.int64),
        pred_skel_size=np.array([c[0].size for c in pred_skel], dtype=np.int64),
        pred_on_gt=pred_on_gt, gt_on_gt=gt_on_gt)
