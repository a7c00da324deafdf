"""The result objects of the FISBe metrics: one volume, and a pooled dataset."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

__all__ = ["THRESHOLDS", "FisbeResult", "FisbeSummary", "threshold_table"]

#: clDice thresholds of avF1.
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

SCALARS = ("S", "avF1", "C", "clDiceTP", "tp", "FS", "FM", "num_gt", "num_pred", "TP_05")


def th_key(th: float) -> str:
    """'0_5' for 0.5, the reference's naming of thresholds."""
    return str(th).replace(".", "_")


def threshold_table(tp, fp, fn) -> xr.Dataset:
    """Per-threshold TP/FP/FN with the reference's precision, recall and F1.

    precision = TP / max(1, TP + FP), recall = TP / max(1, TP + FN) and
    F1 = 2 precision recall / (precision + recall), 0 when both are 0; this
    equals 2TP / (2TP + FP + FN) whenever that is defined.

    Examples
    --------
    >>> threshold_table([2] * 9, [1] * 9, [0] * 9).F1.values[0].round(4)
    np.float64(0.8)
    """
    tp, fp, fn = (np.asarray(a, dtype=np.int64) for a in (tp, fp, fn))
    precision = tp / np.maximum(1, tp + fp)
    recall = tp / np.maximum(1, tp + fn)
    denom = precision + recall
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2.0 * precision * recall / denom, 0.0)
    return xr.Dataset(
        {"TP": ("threshold", tp), "FP": ("threshold", fp), "FN": ("threshold", fn),
         "precision": ("threshold", precision), "recall": ("threshold", recall),
         "F1": ("threshold", f1)},
        coords={"threshold": list(THRESHOLDS)})


def _flat(obj) -> dict:
    row: dict = {name: getattr(obj, name) for name in SCALARS}
    table = obj.per_threshold
    for i, th in enumerate(THRESHOLDS):
        key = th_key(th)
        row[f"F1_{key}"] = float(table.F1.values[i])
        for var in ("TP", "FP", "FN"):
            row[f"{var}_{key}"] = int(table[var].values[i])
    return row


@dataclass(frozen=True, eq=False)
class FisbeResult:
    """FISBe metrics of one volume pair (see :func:`fisbe_metrics`).

    Attributes
    ----------
    S, avF1, C, clDiceTP, tp : float
        The leaderboard scores: S = (avF1 + C) / 2; avF1 the mean F1 over the
        clDice thresholds 0.1..0.9; C the mean GT coverage; clDiceTP the mean
        clDice of the matches at 0.5; tp = TP at 0.5 / number of GT instances.
    FS, FM : int
        False splits and false merges (many-to-many matching on clRecall at
        0.05 and 0.1).
    num_gt, num_pred, TP_05 : int
        Instance counts (predictions after small-component removal) and the
        number of matches at 0.5.
    per_threshold : xarray.Dataset
        ``TP``, ``FP``, ``FN``, ``precision``, ``recall``, ``F1`` along ``threshold``.
    gt_coverage : xarray.DataArray
        Coverage of each GT instance, dim ``gt`` (1-based ids) with coords
        ``gt_channel`` and ``gt_label`` (the input's channel and label value).
    localization : xarray.Dataset
        float32 ``cldice``, ``cl_precision``, ``cl_recall`` on dims (gt, pred),
        index 0 being the background, with channel and label coordinates.
    matches : xarray.Dataset
        The one-to-one matches at threshold 0.5: ``gt``, ``pred``, ``cldice``
        along ``match``.
    partly : bool
        Whether the GT was scored as partly labelled.
    removed_small : int
        How many predicted instances the small-component filter removed.
    """

    S: float
    avF1: float
    C: float
    clDiceTP: float
    tp: float
    FS: int
    FM: int
    num_gt: int
    num_pred: int
    TP_05: int
    per_threshold: xr.Dataset = field(repr=False)
    gt_coverage: xr.DataArray = field(repr=False)
    localization: xr.Dataset = field(repr=False)
    matches: xr.Dataset = field(repr=False)
    partly: bool = False
    removed_small: int = 0

    def to_dict(self) -> dict:
        """Flat dict of the scalar scores and per-threshold counts (for CSV/JSON)."""
        row = _flat(self)
        row["partly"] = self.partly
        row["removed_small"] = self.removed_small
        return row


@dataclass(frozen=True, eq=False)
class FisbeSummary:
    """FISBe metrics pooled over a dataset (see :func:`aggregate_fisbe`).

    Same scores as :class:`FisbeResult`; TP/FP/FN are summed per threshold
    before F1, C is the mean over every GT instance of every volume, FS/FM
    and instance counts are sums.  When the dataset mixes completely and
    partly labelled volumes, ``complete`` and ``partly`` hold the two pooled
    subsets and the scores here are their average, as the FISBe leaderboard
    combines them.
    """

    S: float
    avF1: float
    C: float
    clDiceTP: float
    tp: float
    FS: int
    FM: int
    num_gt: int
    num_pred: int
    TP_05: int
    n_volumes: int
    per_threshold: xr.Dataset = field(repr=False)
    gt_coverage: xr.DataArray = field(repr=False)
    complete: FisbeSummary | None = field(default=None, repr=False)
    partly: FisbeSummary | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """Flat dict of the scalar scores and per-threshold counts (for CSV/JSON)."""
        row = _flat(self)
        row["n_volumes"] = self.n_volumes
        return row
