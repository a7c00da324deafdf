"""firing_rates: counts over bin widths, smoothing that keeps the mean rate."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodata.datasets import make_poisson_population
from neurodata.errors import NeurodataError
from neurodata.signals import bin_spikes, firing_rates


def test_rates_are_counts_over_bin_size():
    ds = make_poisson_population(n_units=4, n_trials=5, random_state=0)
    counts = bin_spikes(ds, 0.05)
    rates = firing_rates(ds, 0.05)
    np.testing.assert_allclose(rates.values, counts.values / 0.05)
    assert rates.dims == ("time", "unit") and rates.attrs["units"] == "Hz"


# White-noise counts: a boxcar of n bins divides the variance by n, a Gaussian of
# sigma s bins by 2 sqrt(pi) s.
@pytest.mark.parametrize(("kernel", "std_ratio"), [("gaussian", 1 / np.sqrt(2 * np.sqrt(np.pi) * 10)),
                                                   ("boxcar", 1 / np.sqrt(10))])
def test_smoothing_keeps_the_total_and_reduces_variance(kernel, std_ratio):
    rng = np.random.default_rng(1)
    st = np.sort(rng.uniform(0, 100, 2000))
    ds = xr.Dataset({"spike_times": ("spike", st), "spike_unit": ("spike", np.zeros(st.size, int))},
                    coords={"unit": [0]})
    raw = firing_rates(ds, 0.1, start=0.0, stop=100.0)
    smooth = firing_rates(ds, 0.1, smooth=1.0, kernel=kernel, start=0.0, stop=100.0)
    assert float(smooth.mean()) == pytest.approx(float(raw.mean()), rel=0.01)
    assert float(raw.mean()) == pytest.approx(20.0, rel=1e-9)
    assert float(smooth.std()) / float(raw.std()) == pytest.approx(std_ratio, rel=0.15)


def test_bad_kernel_and_width():
    ds = make_poisson_population(n_units=2, n_trials=2, random_state=0)
    with pytest.raises(NeurodataError, match="kernel must be"):
        firing_rates(ds, 0.1, kernel="triangle")
    with pytest.raises(NeurodataError, match="smooth must be"):
        firing_rates(ds, 0.1, smooth=-1.0)
