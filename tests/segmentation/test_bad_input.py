"""Bad or unusual input: each has a documented answer or a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from neurodata.datasets import make_filament_segmentation
from neurodata.errors import NeurodataError, NeurodataWarning, ShapeError
from neurodata.segmentation import fisbe_metrics


@pytest.fixture(scope="module")
def pair():
    ds = make_filament_segmentation((24, 64, 64), n_neurons=3, n_merges=0, random_state=3)
    return ds.gt.values, ds.pred.values


def test_empty_gt_warns_and_counts_every_prediction_false(pair) -> None:
    gt, pred = pair
    with pytest.warns(NeurodataWarning, match="no instance"):
        res = fisbe_metrics(np.zeros_like(gt), pred)
    assert res.num_gt == 0 and res.num_pred > 0
    np.testing.assert_array_equal(res.per_threshold.FP.values, res.num_pred)
    assert res.avF1 == 0.0 and res.FS == res.FM == 0
    assert np.isnan(res.C) and np.isnan(res.tp) and np.isnan(res.S)


def test_empty_prediction_scores_zero(pair) -> None:
    gt, pred = pair
    res = fisbe_metrics(gt, np.zeros_like(pred))
    assert (res.num_pred, res.avF1, res.C, res.S, res.tp, res.clDiceTP) == (0, 0, 0, 0, 0, 0)
    np.testing.assert_array_equal(res.per_threshold.FN.values, res.num_gt)
    # a prediction with only small pieces is empty after the 800-voxel filter
    tiny = np.zeros_like(pred)
    tiny[5, 5:8, 5:8] = 3
    assert fisbe_metrics(gt, tiny).num_pred == 0


def test_shape_mismatch_is_an_error(pair) -> None:
    gt, pred = pair
    with pytest.raises(ShapeError, match="same volume"):
        fisbe_metrics(gt, pred[:, :-1])


def test_two_dimensional_input_is_an_error(pair) -> None:
    gt, pred = pair
    with pytest.raises(ShapeError, match="3D volume"):
        fisbe_metrics(gt[:, 0], pred[0])
    with pytest.raises(ShapeError, match="5D"):
        fisbe_metrics(gt[None], pred)


def test_non_binary_gt_channels_are_label_images(pair) -> None:
    gt, pred = pair
    ref = fisbe_metrics(gt, pred)
    scaled = fisbe_metrics(gt * 255, pred)                 # masks stored as 0/255
    assert scaled.S == ref.S and scaled.FS == ref.FS
    # two neurons in one channel with values 1 and 2 are two instances
    two = np.where(gt[1] > 0, 2, gt[0]).astype(np.uint8)
    res = fisbe_metrics(np.stack([two, gt[2]]), pred)
    assert res.num_gt == 3
    assert res.gt_coverage.gt_label.values.tolist() == [1, 2, 1]


def test_float_labels(pair) -> None:
    gt, pred = pair
    ref = fisbe_metrics(gt, pred)
    res = fisbe_metrics(gt.astype(np.float32), pred.astype(np.float64))
    assert res.S == ref.S and res.num_pred == ref.num_pred
    bad = pred.astype(np.float64)
    bad[bad > 0] += 0.5
    with pytest.raises(ShapeError, match="non-integer"):
        fisbe_metrics(gt, bad)
    bad[0, 0, 0] = np.nan
    with pytest.raises(ShapeError, match="non-integer"):
        fisbe_metrics(gt, bad)


def test_negative_labels_and_bad_parameters(pair) -> None:
    gt, pred = pair
    with pytest.raises(ShapeError, match="negative"):
        fisbe_metrics(gt, pred.astype(np.int32) - 1)
    with pytest.raises(ShapeError, match="integer labels"):
        fisbe_metrics(gt, pred.astype(np.complex64))
    with pytest.raises(NeurodataError, match="remove_small_components"):
        fisbe_metrics(gt, pred, remove_small_components=-5)


def test_huge_and_boolean_labels_give_the_same_result(pair) -> None:
    gt, pred = pair
    ref = fisbe_metrics(gt, pred)
    huge = fisbe_metrics(gt.astype(bool), pred.astype(np.int64) * 10**9)
    assert huge.S == ref.S and huge.FS == ref.FS and huge.num_pred == ref.num_pred
    np.testing.assert_array_equal(huge.localization.cldice.values, ref.localization.cldice.values)
