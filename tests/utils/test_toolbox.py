"""The private toolbox: each rule asserted once, here."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from sklearn.base import BaseEstimator, clone

from neurodata._utils import (
    NeurodataEstimator,
    as_recordings,
    check_fraction,
    check_integer,
    check_is_fitted,
    check_option,
    check_positive,
    check_random_state,
    interval_array,
    make_history,
    neuron_dim,
    renamed_kwargs,
    renamed_params,
    sampling_step,
    select_series,
    select_variable,
    soft_import,
    spawn_seed,
    torch_generator,
    torch_seeded,
)
from neurodata._utils._recording import SAMPLING_RTOL
from neurodata.errors import (
    InvalidRecordingError,
    NeurodataDeprecationWarning,
    NeurodataError,
    NoNeuralDataError,
    NotFittedError,
)


def test_random_state_none_is_fresh_entropy_and_int_reproducible():
    assert spawn_seed(None) != spawn_seed(None)
    assert spawn_seed(3) == spawn_seed(3)
    g = np.random.default_rng(0)
    a = check_random_state(g).integers(1 << 30)
    b = check_random_state(g).integers(1 << 30)
    assert a != b  # the same generator continues its stream
    for bad in (1.5, "0", True, np.random.RandomState(0), -1):
        with pytest.raises(NeurodataError):
            check_random_state(bad)


def test_torch_generator_never_touches_the_global_seed():
    torch = pytest.importorskip("torch")
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    torch.rand(3, generator=torch_generator(0))
    with torch_seeded(5):
        torch.nn.Linear(3, 3)
    assert torch.equal(torch.rand(3), expected)


def test_checks_accept_good_values_and_name_bad_ones():
    assert check_option("kind", "a", ("a", "b")) == "a"
    with pytest.raises(NeurodataError, match="kind must be one of 'a', 'b'; got 1"):
        check_option("kind", 1, ("a", "b"))
    with pytest.raises(NeurodataError, match="got True"):  # a bool is not the number 1
        check_option("n", True, (1, 2))
    assert check_positive("x", 2) == 2.0
    for bad in (0, -1, np.nan, np.inf, "1", None, True):
        with pytest.raises(NeurodataError, match="x must be a positive number"):
            check_positive("x", bad)
    assert check_positive("x", 0, strict=False) == 0.0
    assert check_positive("x", None, allow_none=True) is None
    assert check_integer("n", np.int64(4)) == 4
    for bad in (0, 2.0, "3", True):
        with pytest.raises(NeurodataError, match="n must be an integer"):
            check_integer("n", bad)
    with pytest.raises(NeurodataError, match="<= 3"):
        check_integer("n", 4, maximum=3)
    assert check_fraction("p", 0.0) == 0.0
    with pytest.raises(NeurodataError, match=r"\(0.0, 1.0\]"):
        check_fraction("p", 0.0, closed="right")


def test_sampling_step_has_one_tolerance():
    t = np.arange(100) * 0.01
    assert sampling_step(t) == pytest.approx(0.01)
    jitter = t + np.r_[0.0, np.full(99, 0.5 * SAMPLING_RTOL * 0.01)] * (np.arange(100) % 2)
    assert sampling_step(jitter) == pytest.approx(0.01, rel=1e-3)
    gap = np.delete(t, 50)
    with pytest.raises(InvalidRecordingError, match="not regularly sampled"):
        sampling_step(gap)
    with pytest.raises(InvalidRecordingError, match="strictly increasing"):
        sampling_step(t[::-1])
    da = xr.DataArray(np.zeros(3), dims="time_speed", coords={"time_speed": [0.0, 0.5, 1.0]})
    assert sampling_step(da, "time_speed") == 0.5


def test_neuron_dim_and_variable_selection():
    rec = xr.Dataset({"dff": (("time", "roi"), np.zeros((4, 2))),
                      "raw": (("time", "roi"), np.zeros((4, 2))),
                      "speed": ("time_speed", np.zeros(3))},
                     coords={"time": np.arange(4.0), "time_speed": np.arange(3.0)})
    assert neuron_dim(rec["dff"]) == "roi"
    with pytest.raises(NeurodataError, match="variable='dff'"):
        select_variable(rec)
    assert select_variable(rec, "raw").name == "raw"
    with pytest.raises(NeurodataError, match="signals are: dff, raw"):
        select_variable(rec, "nope")
    assert select_series(rec, "speed").dims == ("time_speed",)
    spikes = xr.Dataset({"spike_times": ("spike", [0.1]), "spike_unit": ("spike", [0])},
                        coords={"unit": [0]})
    with pytest.raises(NoNeuralDataError, match="firing_rates"):
        select_variable(spikes)


def test_interval_array_handles_nan_stops_once():
    rec = xr.Dataset(coords={"trial_start_time": ("trial", [2.0, 0.0, 4.0]),
                             "trial_stop_time": ("trial", [np.nan, 1.0, np.nan]),
                             "time": np.linspace(0, 6, 7)})
    with pytest.raises(NeurodataError, match="2 of the 3 'trial' intervals have no stop"):
        interval_array(rec)
    np.testing.assert_array_equal(interval_array(rec, nan_stop="next"),
                                  [[2.0, 4.0], [0.0, 1.0], [4.0, 6.0]])
    np.testing.assert_array_equal(interval_array(rec, nan_stop="drop"), [[0.0, 1.0]])
    np.testing.assert_array_equal(interval_array(rec, window=(0, 0.5))[:, 1], [2.5, 0.5, 4.5])
    np.testing.assert_array_equal(interval_array(xr.Dataset(coords={"time": [1.0, 3.0]}),
                                                 default="span"), [[1.0, 3.0]])
    with pytest.raises(NoNeuralDataError, match="no 'trial' interval table"):
        interval_array(xr.Dataset(coords={"time": [1.0, 3.0]}))
    with pytest.raises(NeurodataError, match="shape"):
        interval_array(rec, [1.0, 2.0, 3.0])


def test_as_recordings_names():
    a = xr.Dataset(attrs={"nwb_identifier": "w1"})
    assert list(as_recordings({"x": a, "y": a})) == ["x", "y"]
    with pytest.raises(NeurodataError, match="share the name"):
        as_recordings([a, a])
    with pytest.raises(NeurodataError, match="got no recordings"):
        as_recordings([])


def test_soft_import_names_the_extra():
    with pytest.raises(ImportError, match=r"pip install 'neurodata\[io\]'"):
        soft_import("no_such_module_xyz", "io", "reading zarr")
    with pytest.raises(NeurodataError):
        soft_import("no_such_module_xyz", "io", "reading zarr")


def test_renamed_kwargs_and_params_warn_and_forward():
    @renamed_kwargs(n_iter_max="max_iter")
    def fit(x, *, max_iter=10):
        return max_iter

    with pytest.warns(NeurodataDeprecationWarning, match="'n_iter_max' is now called 'max_iter'"):
        assert fit(1, n_iter_max=3) == 3
    with pytest.raises(NeurodataError, match="got both"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit(1, n_iter_max=3, max_iter=4)

    @renamed_params(lr="learning_rate")
    class Model(BaseEstimator):
        def __init__(self, learning_rate=0.1):
            self.learning_rate = learning_rate

    with pytest.warns(NeurodataDeprecationWarning):
        m = Model(lr=0.5)
    assert m.get_params() == {"learning_rate": 0.5}
    assert clone(m).learning_rate == 0.5


def test_estimator_base_contract_pieces(tmp_path):
    class Toy(NeurodataEstimator):
        def __init__(self, scale=1.0, random_state=None):
            self.scale = scale
            self.random_state = random_state

        def fit(self, x):
            self.coef_ = float(np.mean(x)) * self.scale
            self.history_ = make_history({"loss": [2.0, 1.0]})
            return self

        def to_dataset(self):
            self._check_fitted()
            return xr.Dataset({"coef": self.coef_})

    toy = Toy(scale=2.0)
    assert repr(toy) == "Toy(scale=2.0)"
    with pytest.raises(NotFittedError, match="Toy is not fitted"):
        toy.to_dataset()
    with pytest.raises(NotFittedError):
        check_is_fitted(toy, "coef_")
    toy.fit([1.0, 2.0])
    assert toy.history_.loss.dims == ("iteration",)
    path = toy.write_nwb(tmp_path / "toy.nwb")
    from neurodata import read_results

    assert float(read_results(path)["toy"]["coef"]) == 3.0
