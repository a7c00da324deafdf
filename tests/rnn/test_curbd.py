"""CURBD: exact decomposition, agreement with a plain RLS loop, planted couplings."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodata.datasets import make_three_region_network
from neurodata.errors import InvalidRecordingError, NeurodataError
from neurodata.rnn import decompose_currents, fit_curbd, region_currents


@pytest.fixture(scope="module")
def small_net():
    return make_three_region_network(8, duration=1.0, g=(1.5, 1.2, 1.2), random_state=2)


def test_currents_sum_to_the_total_current(small_net):
    fit = fit_curbd(small_net.rates, "region", tau=0.1, n_epochs=3, random_state=0,
                    progress=False)
    total = fit.currents.sum("source").values
    direct = fit.model_rates.values @ fit.weights.values.T
    np.testing.assert_allclose(total, direct, rtol=1e-12, atol=1e-12)
    assert list(fit.currents.source.values) == ["A", "B", "C"]
    assert fit.currents.dims == ("source", "time", "unit")


def _plain_curbd(data, j, noise, *, leak, p0, n_epochs):
    """An independent, step-by-step implementation of the CURBD training rule."""
    j, p = j.copy(), p0 * np.eye(j.shape[0])
    for _ in range(n_epochs):
        h = np.arctanh(data[0])
        for k in range(data.shape[0]):
            r = np.tanh(h)
            current = j @ r
            err = r - data[k]
            kvec = p @ r
            c = 1.0 / (1.0 + r @ kvec)
            p = p - c * np.outer(kvec, kvec)
            j = j - c * np.outer(err, kvec)
            h = h + leak * (-h + current + noise[k])
    return j


def test_in_place_blas_training_matches_a_plain_loop(small_net):
    rates = small_net.rates
    n = rates.sizes["unit"]
    j0 = 1.5 * np.random.default_rng(0).standard_normal((n, n)) / np.sqrt(n)
    fit = fit_curbd(rates, "region", tau=0.1, n_epochs=2, initial_weights=j0,
                    noise_amplitude=0.0, progress=False)
    data = fit.data.values
    ref = _plain_curbd(data, j0, np.zeros_like(data), leak=0.1, p0=1.0, n_epochs=2)
    np.testing.assert_allclose(fit.weights.values, ref, rtol=1e-9, atol=1e-10)


def test_recovers_a_same_class_network(small_net):
    fit = fit_curbd(small_net.rates, "region", tau=0.1, n_epochs=15, random_state=0,
                    progress=False)
    assert fit.attrs["pvar"] > 0.95
    assert fit.pvar_curve.values[-1] > fit.pvar_curve.values[0]


def test_recovers_planted_inter_region_couplings():
    """A drives B, B drives C, nothing else; private noise decorrelates the regions.
    Every planted inter-region current must exceed every non-planted one by 1.5x."""
    net = make_three_region_network(20, {("A", "B"): 1.0, ("B", "C"): 1.0}, g=(1.5, 1.5, 1.5),
                                    duration=4.0, drive=0.0, noise=0.3, n_trials=4,
                                    random_state=0)
    fit = fit_curbd(net, "region", trials="trial", tau=0.1, g=0.0, p0=0.005, n_epochs=40,
                    random_state=0, progress=False)
    assert fit.currents.dims == ("source", "trial", "time", "unit")
    table = region_currents(fit)
    rms = {(s, t): float(table.sel(source=s, target=t)) for s in "ABC" for t in "ABC" if s != t}
    planted = [rms[("A", "B")], rms[("B", "C")]]
    others = [v for k, v in rms.items() if k not in {("A", "B"), ("B", "C")}]
    assert min(planted) > 1.5 * max(others)


def test_decompose_currents_regions_and_trials():
    rng = np.random.default_rng(0)
    r = xr.DataArray(rng.standard_normal((2, 5, 4)), dims=("trial", "time", "unit"))
    j = rng.standard_normal((4, 4))
    cur = decompose_currents(r, j, ["x", "y", "x", "y"])
    assert cur.dims == ("source", "trial", "time", "unit")
    np.testing.assert_allclose(cur.sum("source").values, r.values @ j.T)
    np.testing.assert_allclose(cur.sel(source="y").values, r.values[..., [1, 3]] @ j[:, [1, 3]].T)


def test_bad_inputs():
    t = np.arange(20) * 0.01
    rec = xr.DataArray(np.random.default_rng(0).random((20, 3)), dims=("time", "unit"),
                       coords={"time": t, "area": ("unit", ["a", "a", "b"])})
    with pytest.raises(InvalidRecordingError, match="coordinate"):
        fit_curbd(rec, "region", progress=False)
    with pytest.raises(InvalidRecordingError, match="one label per unit"):
        fit_curbd(rec, ["a", "b"], progress=False)
    bad = rec.copy()
    bad[3, 1] = np.nan
    with pytest.raises(InvalidRecordingError, match="NaN"):
        fit_curbd(bad, "area", progress=False)
    with pytest.raises(InvalidRecordingError, match="time points"):
        fit_curbd(rec.isel(time=slice(0, 2)), "area", progress=False)


def test_region_currents_and_their_figures(small_net):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurodata.rnn import plot_current_traces, plot_currents

    fit = fit_curbd(small_net, "region", tau=0.1, n_epochs=2, random_state=0, progress=False)
    rms = region_currents(fit)
    cur, reg = fit.currents, fit.region.values
    expected = np.sqrt((cur.sel(source="A").values[..., reg == "C"] ** 2).mean())
    assert rms.sel(source="A", target="C").item() == pytest.approx(expected)
    _, axes = plt.subplots(1, 2)
    assert plot_currents(fit, ax=axes[0]) is axes[0]
    np.testing.assert_allclose(axes[0].images[0].get_array(), rms.values)
    ax = plot_current_traces(fit, "B", unit=int(np.flatnonzero(reg == "B")[0]), ax=axes[1])
    np.testing.assert_allclose(ax.lines[0].get_ydata(),
                               cur.sel(source="A").values[:, np.flatnonzero(reg == "B")[0]])
    with pytest.raises(NeurodataError, match="no region 'D'"):
        plot_current_traces(fit, "D")
    plt.close("all")
