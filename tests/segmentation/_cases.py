"""Synthetic volume pairs whose reference values are stored in data/reference_synthetic.json.

``benchmarks/make_fisbe_reference_values.py`` ran the FISBe authors' evaluation
on exactly these pairs; the tests rebuild them from the seeded generator.
"""

from __future__ import annotations

import numpy as np

from neurodata.datasets import make_filament_segmentation

CASES = ("label_s0", "label_s1", "label_s4", "stack_s0", "stack_s2", "partly_s0", "partly_s3",
         "nonbinary_s0")
COMPLETE = tuple(c for c in CASES if not c.startswith("partly"))


def _stack(seed: int) -> np.ndarray:
    ds = make_filament_segmentation(n_splits=0, n_merges=0, n_false_positives=0, n_small=0,
                                    random_state=seed)
    gt = ds.gt.values
    chans = [np.roll(g, 1, axis=2) for g in gt]
    first = chans[0].astype(bool)
    x = np.nonzero(first)[2]
    mid = int(np.median(x))
    xs = np.arange(first.shape[2])[None, None, :]
    chans[0] = (first & (xs < mid + 2)).astype(np.uint8)
    chans.append((first & (xs >= mid - 2)).astype(np.uint8))
    fp = make_filament_segmentation(n_neurons=1, n_splits=0, n_merges=0, n_false_positives=0,
                                    n_small=0, random_state=seed + 100).gt.values[0]
    chans.append(fp)
    return gt, np.stack(chans).astype(np.uint8)


def build_case(name: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Return (gt, pred, partly) for one named case."""
    kind, seed = name.rsplit("_s", 1)
    seed = int(seed)
    if kind == "label":
        ds = make_filament_segmentation(random_state=seed)
        return ds.gt.values, ds.pred.values, False
    if kind == "stack":
        gt, pred = _stack(seed)
        return gt, pred, False
    if kind == "partly":
        ds = make_filament_segmentation(random_state=seed)
        return ds.gt.values[:-1], ds.pred.values, True
    if kind == "nonbinary":
        ds = make_filament_segmentation(random_state=seed)
        gt = ds.gt.values.astype(np.uint8) * 255
        two = np.where(gt[3] > 0, 2, np.where(gt[2] > 0, 1, 0)).astype(np.uint8)
        return np.concatenate([gt[:2], two[None]]), ds.pred.values, False
    raise KeyError(name)
