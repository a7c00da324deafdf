"""FISBe metrics on planted errors, invariances, and the reference bugs fixed."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodata.datasets import make_filament_segmentation
from neurodata.segmentation import fisbe_metrics
from neurodata.segmentation._labels import as_label_volume, index_instances
from neurodata.segmentation._localize import localize
from neurodata.segmentation._match import many_to_many, split_merge_counts
from neurodata.segmentation._skeleton import instance_skeletons


def tube_x(shape, z, y, x0, x1, r=1):
    m = np.zeros(shape, np.uint8)
    m[z - r:z + r + 1, y - r:y + r + 1, x0:x1] = 1
    return m


SHAPE = (12, 40, 60)


def test_perfect_prediction_scores_one() -> None:
    ds = make_filament_segmentation(n_splits=0, n_merges=0, n_false_positives=0, n_small=0,
                                    random_state=1)
    gt = ds.gt.values
    res = fisbe_metrics(gt, gt, remove_small_components=None)   # the GT stack as prediction
    assert (res.S, res.avF1, res.C, res.clDiceTP, res.tp) == (1.0, 1.0, 1.0, 1.0, 1.0)
    assert (res.FS, res.FM, res.num_gt, res.num_pred) == (0, 0, 4, 4)
    np.testing.assert_array_equal(res.per_threshold.TP.values, 4)


def test_planted_splits_and_merges_are_counted() -> None:
    split = make_filament_segmentation(n_splits=2, n_merges=0, n_false_positives=0, n_small=0,
                                       random_state=7)
    res = fisbe_metrics(split.gt, split.pred)
    assert (res.num_pred, res.FS, res.FM) == (6, 2, 0)
    merge = make_filament_segmentation(n_splits=0, n_merges=2, n_false_positives=0, n_small=0,
                                       random_state=7)
    res = fisbe_metrics(merge.gt, merge.pred)
    assert (res.num_pred, res.FS, res.FM) == (2, 0, 2)
    # one of each merged pair is left uncovered: coverage 0 there, 1 elsewhere
    assert sorted(np.round(res.gt_coverage.values, 6).tolist()) == [0, 0, 1, 1]


def test_small_components_are_removed_before_counting() -> None:
    ds = make_filament_segmentation(n_splits=0, n_merges=0, n_false_positives=0, n_small=3,
                                    random_state=2)
    kept = fisbe_metrics(ds.gt, ds.pred, remove_small_components=None)
    removed = fisbe_metrics(ds.gt, ds.pred)
    assert kept.num_pred - removed.num_pred == removed.removed_small == 3
    assert removed.avF1 == 1.0 and kept.avF1 < 1.0


def test_scores_do_not_depend_on_label_values() -> None:
    ds = make_filament_segmentation(random_state=4)
    pred = ds.pred.values
    labels = np.unique(pred)[1:]
    rng = np.random.default_rng(0)
    lut = np.zeros(int(pred.max()) + 1, np.int64)
    lut[labels] = rng.permutation(np.arange(1, labels.size + 1)) * 1000 + 7
    a, b = fisbe_metrics(ds.gt, pred), fisbe_metrics(ds.gt, lut[pred])
    for name in ("S", "avF1", "C", "clDiceTP", "tp", "FS", "FM", "num_pred"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), abs=1e-6), name


def test_coverage_never_double_counts_overlapping_predictions() -> None:
    """Reference bug: disjoint GT + overlapping predictions summed clRecall (coverage 2)."""
    a, b = tube_x(SHAPE, 4, 10, 2, 58), tube_x(SHAPE, 4, 30, 2, 58)
    gt = np.stack([a, b])
    pred = np.stack([a, a, b])                 # a duplicated prediction of neuron a
    res = fisbe_metrics(gt, pred, remove_small_components=None)
    np.testing.assert_allclose(res.gt_coverage.values, [1.0, 1.0])
    assert res.C == 1.0
    # what the reference's sum would give here
    rec = res.localization.cl_recall.values
    assert rec[1, 1] + rec[1, 2] == pytest.approx(2.0)


def consumption_case(predict_branch: bool):
    a = tube_x(SHAPE, 4, 10, 2, 58)
    b = tube_x(SHAPE, 4, 10, 2, 30) | np.pad(np.ones((3, 22, 3), np.uint8),
                                             ((3, 6), (9, 9), (27, 30)))
    gt = np.stack([a, b])                      # B runs inside A for half its length
    pred = np.where(a > 0, 1, np.where((b > 0) & predict_branch, 2, 0)).astype(np.uint8)
    gv, pv = as_label_volume(gt, "gt"), as_label_volume(pred, "pred")
    gi, pi = index_instances(gv), index_instances(pv)
    loc = localize(gv, gi, instance_skeletons(gv, gi), pv, pi, instance_skeletons(pv, pi))
    return fisbe_metrics(gt, pred, remove_small_components=None), loc


def test_many_to_many_consumes_overlapping_masks() -> None:
    """A prediction of neuron A is no false merge with B just where B overlaps A."""
    res, loc = consumption_case(predict_branch=False)
    assert loc.recall[2, 1] > 0.1                              # B's centerline runs inside A
    assert split_merge_counts(many_to_many(loc, 0.1, overlaps=False))[1] == 1
    assert res.FM == 0                                         # consumed once A took it


def test_many_to_many_rescoring_follows_the_reference() -> None:
    """When B is matched to another prediction, the reference re-scores B's other
    candidates on B's skeleton minus that prediction only, which brings (B, A's
    prediction) back above the threshold: a false merge, kept for parity."""
    res, loc = consumption_case(predict_branch=True)
    matches = many_to_many(loc, 0.1, overlaps=True)
    assert matches == {1: [1], 2: [2, 1]}
    assert (res.FM, res.FS) == (1, 1)


def test_partly_counts_only_predictions_claiming_a_gt() -> None:
    ds = make_filament_segmentation(n_neurons=4, n_splits=1, n_merges=0, n_false_positives=2,
                                    n_small=0, random_state=5)
    gt = ds.gt.values[:2]                                      # only two neurons labelled
    full = fisbe_metrics(gt, ds.pred)
    part = fisbe_metrics(gt, ds.pred, partly=True)
    best = full.localization.cl_precision.values.argmax(axis=0)
    matched = set(full.matches.pred.values.tolist())
    expected = sum(1 for p in range(1, full.num_pred + 1) if p not in matched and best[p] > 0)
    assert int(part.per_threshold.FP.sel(threshold=0.5)) == expected
    assert int(full.per_threshold.FP.sel(threshold=0.5)) == full.num_pred - full.TP_05
    assert expected < full.num_pred - full.TP_05
    assert part.avF1 > full.avF1 and part.C == full.C


def test_inputs_are_not_modified_and_dataarrays_are_accepted() -> None:
    ds = make_filament_segmentation(random_state=6)
    gt, pred = ds.gt.values.copy(), ds.pred.values.copy()
    res = fisbe_metrics(gt, pred)
    np.testing.assert_array_equal(gt, ds.gt.values)
    np.testing.assert_array_equal(pred, ds.pred.values)
    moved = fisbe_metrics(ds.gt.transpose("z", "y", "x", "neuron"),
                          ds.pred.transpose("x", "z", "y"))
    assert moved.S == res.S and moved.FS == res.FS


def test_result_structure() -> None:
    ds = make_filament_segmentation(random_state=0)
    res = fisbe_metrics(ds.gt, ds.pred)
    loc = res.localization
    assert loc.cldice.dims == ("gt", "pred") and loc.cldice.dtype == np.float32
    assert loc.sizes == {"gt": res.num_gt + 1, "pred": res.num_pred + 1}
    assert loc.gt_channel.values[0] == -1 and loc.pred_label.values[0] == 0
    assert isinstance(res.gt_coverage, xr.DataArray) and res.gt_coverage.sizes["gt"] == 4
    assert res.avF1 == pytest.approx(res.per_threshold.F1.mean().item())
    assert res.S == pytest.approx((res.avF1 + res.C) / 2)
    assert res.tp == res.TP_05 / res.num_gt
    row = res.to_dict()
    assert row["TP_0_5"] == res.TP_05 and set(row) >= {"S", "F1_0_9", "FN_0_1"}
