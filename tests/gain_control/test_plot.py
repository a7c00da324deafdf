"""Figures draw exactly the numbers of the results they show."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from neurodata.gain_control import (
    adaptation_effects,
    plot_benucci,
    plot_covariances,
    plot_extrema,
    plot_gains,
    plot_preferred_shift,
    plot_tuning_curves,
    predict_adaptation,
    ring_network,
)


@pytest.fixture(scope="module")
def fx():
    return adaptation_effects(ring_network(30), p_adapter=0.3)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_gain_and_tuning_panels(fx):
    ax = plot_gains(fx)
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), fx.gains.sel(condition="biased"))
    ax = plot_tuning_curves(fx, units=[12])
    solid, dashed = ax.get_lines()[:2]
    np.testing.assert_allclose(solid.get_ydata(), fx.tuning.sel(condition="uniform", model_unit=12))
    np.testing.assert_allclose(dashed.get_ydata(), fx.tuning.sel(condition="biased", model_unit=12))
    assert dashed.get_linestyle() == "--"


def test_shift_and_extrema_panels(fx):
    ax = plot_preferred_shift(fx)
    x, y = ax.get_lines()[0].get_data()
    assert np.all(np.diff(x) > 0)
    np.testing.assert_allclose(y, fx.repulsion.sortby(fx.distance_to_adapter))
    ax = plot_extrema(fx)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(),
                               fx.max_ratio.sortby(fx.distance_to_adapter))


def test_covariance_panels_share_a_scale(fx):
    axes = plot_covariances(fx).axes[:3]
    images = [ax.get_images()[0] for ax in axes]
    assert len({im.get_clim() for im in images}) == 1
    np.testing.assert_allclose(images[2].get_array(),
                               fx.covariance.sel(ensemble="biased_adapted").values)
    assert "distance" in axes[1].get_title()


def test_benucci_panels():
    pred = predict_adaptation()
    fig, axes = plt.subplots(2, 3)
    assert plot_benucci(pred.expand_dims(session=2), pred, axes=axes) is fig
    np.testing.assert_allclose(axes[0, 0].get_images()[0].get_array(),
                               pred.sel(condition="uniform").values)
    ratio = np.log2(pred.sel(condition="biased") / pred.sel(condition="uniform")).values
    np.testing.assert_allclose(axes[1, 2].get_images()[0].get_array(), ratio)
    assert len(plot_benucci(pred.expand_dims(session=1)).axes) == 4  # 3 panels, colour bar


def test_network_and_dynamics_panels():
    from neurodata.gain_control import (
        feedforward_drive,
        plot_dynamics,
        plot_network,
        simulate,
        steady_state,
    )

    net = ring_network(24)
    fig = plot_network(net, model_unit=5)
    drive, resp = fig.axes[0].get_lines()
    theta = drive.get_xdata()
    np.testing.assert_allclose(drive.get_ydata(), feedforward_drive(net, theta).isel(model_unit=5))
    np.testing.assert_allclose(resp.get_ydata(), steady_state(net, theta).isel(model_unit=5))
    np.testing.assert_allclose(fig.axes[1].get_images()[0].get_array(), net.weights.values)
    traj = simulate(net, [0.0], np.linspace(0, 4, 9))
    ax = plot_dynamics(traj)
    assert len(ax.get_lines()) == 4


def test_data_effect_separable_comparison_and_confusion_panels():
    import xarray as xr

    from neurodata.gain_control import (
        benucci_effects,
        plot_benucci_effects,
        plot_confusion,
        plot_model_comparison,
        plot_separable,
        separable_fit,
        simulate_benucci,
    )

    data = simulate_benucci("gain", n_sessions=2, random_state=0)
    fx = benucci_effects(data)
    fig = plot_benucci_effects(fx)
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), fx.max_change)
    np.testing.assert_allclose(fig.axes[2].get_lines()[0].get_ydata(), fx.covariance_distance)
    sep = separable_fit(data)
    fig = plot_separable(sep)
    np.testing.assert_allclose(fig.axes[2].get_lines()[0].get_ydata(), sep.a)
    np.testing.assert_allclose(fig.axes[1].get_images()[0].get_array(), sep.fitted_log_ratio)
    table = xr.Dataset({"delta_bic": ("model", [0.0, 30.0, 4.0])},
                       coords={"model": ["a", "b", "c"]})
    widths = [p.get_width() for p in plot_model_comparison(table).patches]
    np.testing.assert_allclose(widths, [0.5, 30.0, 4.0])
    cm = xr.Dataset({"counts": (("true_model", "chosen_model"), [[3, 1], [0, 4]])},
                    coords={"true_model": ["a", "b"], "chosen_model": ["a", "b"]})
    ax = plot_confusion(cm)
    assert [t.get_text() for t in ax.texts] == ["3", "1", "0", "4"]
