"""Dataset-level FISBe scores: pool many volumes as the leaderboard does."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import xarray as xr

from neurodata.errors import NeurodataError
from neurodata.segmentation._result import FisbeResult, FisbeSummary, threshold_table

__all__ = ["aggregate_fisbe"]


def _pool(results: list[FisbeResult]) -> FisbeSummary:
    tp = sum(r.per_threshold.TP.values for r in results)
    fp = sum(r.per_threshold.FP.values for r in results)
    fn = sum(r.per_threshold.FN.values for r in results)
    table = threshold_table(tp, fp, fn)
    denom = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    table["F1"] = ("threshold", f1)
    covs = [r.gt_coverage.values.astype(np.float32) for r in results]
    cov = np.concatenate(covs)
    volume = np.concatenate([np.full(c.size, i) for i, c in enumerate(covs)])
    gt_ids = np.concatenate([r.gt_coverage.gt.values for r in results])
    coverage = xr.DataArray(cov, dims="instance", name="gt_coverage",
                            coords={"volume": ("instance", volume), "gt": ("instance", gt_ids)})
    c = float(np.mean(cov)) if cov.size else float("nan")
    avf1 = float(np.mean(f1))
    tp05 = sum(r.TP_05 for r in results)
    num_gt = sum(r.num_gt for r in results)
    cldice = np.concatenate([r.matches.cldice.values for r in results])
    return FisbeSummary(
        S=0.5 * avf1 + 0.5 * c, avF1=avf1, C=c,
        clDiceTP=float(np.mean(cldice)) if tp05 > 0 else 0.0,
        tp=tp05 / num_gt if num_gt else float("nan"),
        FS=sum(r.FS for r in results), FM=sum(r.FM for r in results), num_gt=num_gt,
        num_pred=sum(r.num_pred for r in results), TP_05=tp05, n_volumes=len(results),
        per_threshold=table, gt_coverage=coverage)


def _combine(cpt: FisbeSummary, prt: FisbeSummary, results: list[FisbeResult]) -> FisbeSummary:
    """Average the complete and partly pools (the leaderboard's combined score)."""
    tp = cpt.per_threshold.TP.values + prt.per_threshold.TP.values
    fp = cpt.per_threshold.FP.values + prt.per_threshold.FP.values
    fn = cpt.per_threshold.FN.values + prt.per_threshold.FN.values
    table = threshold_table(tp, fp, fn)
    table["F1"] = ("threshold", (cpt.per_threshold.F1.values + prt.per_threshold.F1.values) / 2)
    coverage = xr.concat([cpt.gt_coverage, prt.gt_coverage], dim="instance")
    cldice = np.concatenate([r.matches.cldice.values for r in results])
    num_gt = cpt.num_gt + prt.num_gt
    tp05 = cpt.TP_05 + prt.TP_05
    return FisbeSummary(
        S=float(np.mean([cpt.S, prt.S])), avF1=float(np.mean([cpt.avF1, prt.avF1])),
        C=float(np.mean([cpt.C, prt.C])),
        clDiceTP=float(np.mean(cldice)) if cldice.size else 0.0,
        tp=tp05 / num_gt if num_gt else float("nan"), FS=cpt.FS + prt.FS, FM=cpt.FM + prt.FM,
        num_gt=num_gt, num_pred=cpt.num_pred + prt.num_pred, TP_05=tp05,
        n_volumes=cpt.n_volumes + prt.n_volumes, per_threshold=table, gt_coverage=coverage,
        complete=cpt, partly=prt)


def aggregate_fisbe(results: Iterable[FisbeResult]) -> FisbeSummary:
    """Pool per-volume FISBe results into dataset-level scores.

    TP, FP and FN are summed over volumes for each threshold before F1
    (F1 = 2TP / (2TP + FP + FN)); C is the mean coverage over every GT
    instance of every volume; clDiceTP the mean clDice over all matches at
    0.5; tp the pooled TP at 0.5 over the pooled GT count; FS, FM and counts
    are sums.  If the results mix completely and partly labelled volumes
    (``result.partly``), each group is pooled on its own and the scores are
    the mean of the two, as the FISBe leaderboard reports its combined score;
    the groups are kept in ``complete`` and ``partly``.

    Parameters
    ----------
    results : iterable of FisbeResult
        From :func:`fisbe_metrics`, one per volume.

    Returns
    -------
    FisbeSummary

    Examples
    --------
    >>> from neurodata.datasets import make_filament_segmentation
    >>> from neurodata.segmentation import fisbe_metrics
    >>> runs = [fisbe_metrics(ds.gt, ds.pred) for ds in (
    ...     make_filament_segmentation(n_neurons=2, n_splits=0, n_merges=0,
    ...                                n_false_positives=k, random_state=k) for k in (0, 1))]
    >>> summary = aggregate_fisbe(runs)
    >>> summary.num_gt, summary.num_pred, int(summary.per_threshold.FP.sel(threshold=0.5))
    (4, 5, 1)
    >>> round(summary.avF1, 4)   # 2*4 / (2*4 + 1 + 0)
    0.8889
    """
    results = list(results)
    if not results:
        raise NeurodataError("aggregate_fisbe needs at least one FisbeResult; got none.")
    flags = np.array([r.partly for r in results])
    if flags.all() or not flags.any():
        return _pool(results)
    cpt = _pool([r for r in results if not r.partly])
    prt = _pool([r for r in results if r.partly])
    return _combine(cpt, prt, results)
