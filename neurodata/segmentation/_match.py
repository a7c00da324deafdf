"""Matching GT and predicted instances: one-to-one, one-to-many, many-to-many.

* :func:`greedy_one_to_one` (avF1, clDiceTP, tp): pairs whose clDice is
  strictly above the threshold, taken in descending clDice (ties: lower GT id,
  then lower prediction id) while both are still free.
* :func:`gt_coverage` (C): each prediction goes to the GT instance with its
  highest clPrecision (the background row included; ties to the lower index);
  a GT's coverage is the fraction of its skeleton inside the union of its
  predictions.
* :func:`many_to_many` (FS, FM): greedy matching on clRecall with consumption;
  see its docstring.

Thresholds are compared the way the reference compares them: float32 matrix
entries against the threshold rounded to float32, and re-scored float64
fractions against the float64 threshold.
"""

from __future__ import annotations

import heapq
import itertools

import numpy as np

from neurodata.segmentation._localize import Localization

__all__ = ["greedy_one_to_one", "gt_coverage", "many_to_many", "split_merge_counts"]


def greedy_one_to_one(cldice: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy one-to-one matching on clDice; returns matched (gt, pred) ids, 1-based.

    Examples
    --------
    >>> m = np.array([[0, 0, 0], [0, 0.9, 0.8], [0, 0.95, 0.3]], np.float32)
    >>> g, p = greedy_one_to_one(m, 0.5)
    >>> g.tolist(), p.tolist()
    ([2, 1], [1, 2])
    """
    fg = cldice[1:, 1:]
    gs, ps = np.nonzero(fg > np.float32(threshold))
    if gs.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    locs = fg[gs, ps]
    order = np.lexsort((ps, gs, -locs))
    used_g, used_p, out_g, out_p = set(), set(), [], []
    for g, p in zip(gs[order].tolist(), ps[order].tolist()):
        if g not in used_g and p not in used_p:
            used_g.add(g)
            used_p.add(p)
            out_g.append(g + 1)
            out_p.append(p + 1)
    return np.array(out_g, np.int64), np.array(out_p, np.int64)


def best_gt(precision: np.ndarray) -> np.ndarray:
    """For each prediction (column, 0 = background) the row of its highest clPrecision."""
    return np.argmax(precision, axis=0)


def gt_coverage(loc: Localization, union: bool) -> np.ndarray:
    """Per-GT coverage (one entry per GT instance).

    With ``union=True`` (needed whenever predictions overlap) a GT's coverage
    is the fraction of its skeleton voxels inside any of its assigned
    predictions, in float64.  Otherwise it is the float32 sum of their
    clRecall values, which equals the union when predictions are disjoint and
    is how the reference computes it.

    Examples
    --------
    >>> from neurodata.segmentation._localize import Localization
    >>> prec = np.array([[0, 0.0, 0.0], [0, 1.0, 1.0]], np.float32)
    >>> rec = np.array([[0, 0, 0], [0, 0.75, 0.5]], np.float32)
    >>> on = [np.array([[1, 1, 1, 0], [2, 2, 0, 0]])]   # two overlapping predictions
    >>> loc = Localization(prec, rec, rec, np.array([4]), np.array([1, 1]), on, [])
    >>> gt_coverage(loc, union=False).tolist(), gt_coverage(loc, union=True).tolist()
    ([1.25], [0.75])
    """
    n_gt = loc.recall.shape[0] - 1
    assigned = best_gt(loc.precision)
    if not union:
        return np.array([np.sum(loc.recall[g, assigned == g]) for g in range(1, n_gt + 1)],
                        dtype=np.float32)
    cov = np.zeros(n_gt, dtype=np.float64)
    for g in range(1, n_gt + 1):
        preds = np.flatnonzero(assigned == g)
        size = loc.gt_skel_size[g - 1]
        if preds.size and size:
            cov[g - 1] = np.count_nonzero(np.isin(loc.pred_on_gt[g - 1], preds).any(0)) / size
    return cov


class _LazyQueue:
    """Max-priority queue whose entries can be re-scored or withdrawn lazily.

    Each key carries a version; pushing a key again supersedes its older
    entries, withdrawing it marks them stale, and popping skips stale entries.
    Ties in priority go to the entry pushed first.
    """

    def __init__(self) -> None:
        self._heap: list = []
        self._version: dict = {}
        self._order = itertools.count()

    def push(self, key, score: float) -> None:
        version = self._version.get(key, 0) + 1
        self._version[key] = version
        heapq.heappush(self._heap, (-score, next(self._order), version, key))

    def withdraw(self, key) -> None:
        if key in self._version:
            self._version[key] = -1

    def pop(self):
        while self._heap:
            _, _, version, key = heapq.heappop(self._heap)
            if self._version.get(key) == version:
                del self._version[key]
                return key
        return None


def _in(ids: np.ndarray, i: int) -> np.ndarray:
    return (ids == i).any(axis=0)


def many_to_many(loc: Localization, threshold: float, overlaps: bool) -> dict[int, list[int]]:
    """Greedy many-to-many matching on clRecall; returns {gt id: [pred ids]} (1-based).

    Candidates are pairs with clRecall strictly above ``threshold``.  Without
    overlapping instances every candidate is a match.  With overlaps, pairs are
    taken in descending score; a taken pair (g, p) *consumes* p's mask from g's
    available skeleton and g's mask from p's available mask, and the other
    candidates of g are re-scored as |avail(g) & mask(q)| / |skel(g)|, those of
    p as |skel(h) & avail(p)| / |skel(h)| (the latest score counts; a pair at or
    below the threshold is withdrawn).  All of it runs on skeleton voxel ids.

    As in the reference, re-scoring g's candidates removes only the
    predictions matched to g, not the GT masks already consumed from each
    candidate: a pair withdrawn after its prediction was matched elsewhere can
    come back when g is matched again.

    Examples
    --------
    >>> from neurodata.segmentation._localize import Localization
    >>> rec = np.array([[0, 0, 0], [0, 0.6, 0.4]], np.float32)
    >>> loc = Localization(rec, rec, rec, np.array([5]), np.array([3, 2]),
    ...                    [np.array([[1, 1, 1, 2, 2]])], [np.array([[1, 1, 1, 1, 1]])])
    >>> many_to_many(loc, 0.1, overlaps=False), many_to_many(loc, 0.1, overlaps=True)
    ({1: [1, 2]}, {1: [1, 2]})
    """
    fg = loc.recall[1:, 1:]
    cand = fg > np.float32(threshold)
    gs, ps = np.nonzero(cand)
    matches: dict[int, list[int]] = {}
    if not overlaps:
        for g, p in zip((gs + 1).tolist(), (ps + 1).tolist()):
            matches.setdefault(g, []).append(p)
        return matches
    queue = _LazyQueue()
    for g, p in zip(gs.tolist(), ps.tolist()):
        queue.push((g + 1, p + 1), float(fg[g, p]))
    avail = {g: np.ones(loc.gt_skel_size[g - 1], bool) for g in set((gs + 1).tolist())}
    taken_gts: dict[int, list[int]] = {}
    while (key := queue.pop()) is not None:
        g, p = key
        matches.setdefault(g, []).append(p)
        avail[g] &= ~_in(loc.pred_on_gt[g - 1], p)
        taken_gts.setdefault(p, []).append(g)
        denom = float(loc.gt_skel_size[g - 1]) or 1.0
        for q in (np.flatnonzero(cand[g - 1]) + 1).tolist():
            score = np.count_nonzero(avail[g] & _in(loc.pred_on_gt[g - 1], q)) / denom
            queue.push((g, q), score) if score > threshold else queue.withdraw((g, q))
        for h in (np.flatnonzero(cand[:, p - 1]) + 1).tolist():
            inside = _in(loc.pred_on_gt[h - 1], p)
            for t in taken_gts[p]:
                inside &= ~_in(loc.gt_on_gt[h - 1], t)
            score = np.count_nonzero(inside) / (float(loc.gt_skel_size[h - 1]) or 1.0)
            queue.push((h, p), score) if score > threshold else queue.withdraw((h, p))
    return matches


def split_merge_counts(matches: dict[int, list[int]]) -> tuple[int, int]:
    """(false splits, false merges) of a many-to-many matching.

    Examples
    --------
    >>> split_merge_counts({1: [1, 2, 3], 2: [3]})
    (2, 1)
    """
    splits = sum(max(0, len(v) - 1) for v in matches.values())
    per_pred: dict[int, int] = {}
    for preds in matches.values():
        for p in preds:
            per_pred[p] = per_pred.get(p, 0) + 1
    merges = sum(max(0, n - 1) for n in per_pred.values())
    return splits, merges
