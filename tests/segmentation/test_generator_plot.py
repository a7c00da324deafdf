"""The synthetic filament generator and the figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from neurodata.datasets import make_filament_segmentation
from neurodata.errors import NeurodataError
from neurodata.segmentation import fisbe_metrics, plot_coverage, plot_localization


def test_generator_is_seeded_and_plants_what_it_says() -> None:
    a = make_filament_segmentation(random_state=11)
    b = make_filament_segmentation(random_state=11)
    np.testing.assert_array_equal(a.pred.values, b.pred.values)
    assert not np.array_equal(a.pred.values, make_filament_segmentation(random_state=12).pred)
    kinds = a.pred_kind.values.tolist()
    assert sorted(set(kinds)) == ["false_positive", "merge", "neuron", "small", "split"]
    present = np.unique(a.pred.values)[1:]
    np.testing.assert_array_equal(np.sort(a.pred_label.values), present)
    assert a.gt.dtype == np.uint8 and set(np.unique(a.gt.values)) == {0, 1}
    small = a.pred_label.values[a.pred_kind.values == "small"][0]
    assert (a.pred.values == small).sum() < 800
    assert int(a.neuron_split.sum()) == 1 and int(a.neuron_merged.sum()) == 2


def test_generator_rejects_impossible_plans() -> None:
    with pytest.raises(NeurodataError, match="n_splits"):
        make_filament_segmentation(n_neurons=2, n_splits=1, n_merges=1)
    with pytest.raises(NeurodataError, match="shape"):
        make_filament_segmentation((4, 40, 40))


def test_plots_show_the_result() -> None:
    ds = make_filament_segmentation(random_state=0)
    res = fisbe_metrics(ds.gt, ds.pred)
    ax = plot_localization(res, "cl_recall")
    np.testing.assert_allclose(ax.images[0].get_array(),
                               res.localization.cl_recall.values[1:, 1:])
    ax = plot_coverage(res)
    np.testing.assert_allclose([p.get_height() for p in ax.patches], res.gt_coverage.values)
    with pytest.raises(NeurodataError, match="which"):
        plot_localization(res, "iou")
    plt.close("all")
