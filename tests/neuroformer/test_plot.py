"""The Neuroformer figures draw what their inputs hold."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import xarray as xr

from neurodata.errors import NeurodataError
from neurodata.neuroformer import (
    Neuroformer,
    attention_connectivity,
    plot_attention_connectivity,
    plot_generated_raster,
    plot_history,
)

from .conftest import TINY_PARAMS

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def fitted(small_hub):
    model = Neuroformer(**dict(TINY_PARAMS, n_epochs=2)).fit(small_hub, stimulus="stimulus",
                                                            validation_intervals=[(3.0, 4.0)])
    gen = model.generate(small_hub, intervals=[(1.0, 2.0), (2.0, 3.0)], stimulus="stimulus",
                         random_state=0)
    return model, gen


def test_history_curves_hold_the_recorded_losses(fitted):
    model, _ = fitted
    ax = plot_history(model.history_)
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["neuron ID", "dt", "validation loss"]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), model.history_.train_id.values)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2])


def test_generated_raster_draws_every_spike_of_the_trial_once(fitted, small_hub):
    _, gen = fitted
    axes = plot_generated_raster(gen, small_hub, trial=1)
    n_gen = int((gen.spike_trial == 1).sum())
    t = small_hub.spike_times.values
    n_real = int(((t >= 2.0) & (t < 3.0)).sum())
    assert [len(a.lines[0].get_xdata()) for a in axes] == [n_real, n_gen]
    x = axes[1].lines[0].get_xdata()
    assert x.min() >= 0 and x.max() < 1.0                          # times within the trial
    rows = axes[1].lines[0].get_ydata()
    units = gen.unit.values.tolist()
    expect = [units.index(u) for u in gen.spike_unit.values[gen.spike_trial.values == 1]]
    np.testing.assert_array_equal(rows, expect)
    with pytest.raises(NeurodataError, match="trial must be"):
        plot_generated_raster(gen, trial=5)


def test_connectivity_image_is_the_log_ratio(fitted, small_hub):
    model, _ = fitted
    conn = attention_connectivity(model, small_hub, stimulus="stimulus")
    truth = small_hub.connectivity.values
    axes = plot_attention_connectivity(conn, truth)
    np.testing.assert_array_equal(axes[0].images[0].get_array(), truth)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(axes[1].images[0].get_array(), np.log(conn.values))
    with pytest.raises(NeurodataError, match="truth has shape"):
        plot_attention_connectivity(conn, truth[:2])
    with pytest.raises(NeurodataError, match="target, source"):
        plot_attention_connectivity(xr.DataArray(np.ones((2, 2)), dims=("a", "b")))
