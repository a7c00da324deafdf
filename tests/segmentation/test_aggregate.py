"""Dataset-level pooling."""

from __future__ import annotations

import numpy as np
import pytest

from neurodata.datasets import make_filament_segmentation
from neurodata.errors import NeurodataError
from neurodata.segmentation import aggregate_fisbe, fisbe_metrics


@pytest.fixture(scope="module")
def results():
    out = []
    for seed in range(3):
        ds = make_filament_segmentation((24, 64, 64), n_neurons=3, n_merges=seed % 2,
                                        random_state=seed)
        out.append(fisbe_metrics(ds.gt, ds.pred))
    return out


def test_counts_are_pooled_before_f1(results) -> None:
    summary = aggregate_fisbe(results)
    tp = sum(r.per_threshold.TP.values for r in results)
    fp = sum(r.per_threshold.FP.values for r in results)
    fn = sum(r.per_threshold.FN.values for r in results)
    np.testing.assert_allclose(summary.per_threshold.F1.values, 2 * tp / (2 * tp + fp + fn))
    assert summary.avF1 == pytest.approx(np.mean(2 * tp / (2 * tp + fp + fn)))
    covs = np.concatenate([r.gt_coverage.values for r in results])
    assert summary.C == pytest.approx(covs.mean(), abs=1e-7)
    assert summary.gt_coverage.sizes["instance"] == covs.size == summary.num_gt
    assert summary.FS == sum(r.FS for r in results) and summary.FM == sum(r.FM for r in results)
    assert summary.tp == sum(r.TP_05 for r in results) / summary.num_gt
    assert summary.n_volumes == 3 and summary.complete is None


def test_one_volume_pools_to_itself(results) -> None:
    one = aggregate_fisbe(results[:1])
    for name in ("S", "avF1", "C", "clDiceTP", "tp", "FS", "FM"):
        assert getattr(one, name) == pytest.approx(getattr(results[0], name), abs=1e-9), name


def test_mixed_partly_volumes_average_the_two_pools() -> None:
    runs = []
    for seed, partly in ((0, False), (1, True), (2, False)):
        ds = make_filament_segmentation((24, 64, 64), n_neurons=3, random_state=seed)
        runs.append(fisbe_metrics(ds.gt, ds.pred, partly=partly))
    mixed = aggregate_fisbe(runs)
    assert mixed.complete.n_volumes == 2 and mixed.partly.n_volumes == 1
    assert mixed.avF1 == pytest.approx((mixed.complete.avF1 + mixed.partly.avF1) / 2)
    assert mixed.C == pytest.approx((mixed.complete.C + mixed.partly.C) / 2)
    assert mixed.num_gt == 9


def test_no_results_is_an_error() -> None:
    with pytest.raises(NeurodataError, match="at least one"):
        aggregate_fisbe([])
