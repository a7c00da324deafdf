"""Evoked responses to a known input: planted m, c and gamma recovered, honest error bars."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodata.errors import NeurodataError, ShapeError
from neurodata.field_theory import fit_evoked, solve_spectral

N, SPACING = 12, 0.5
TRUE = {"m": 50.0, "c": 6.0, "gamma": 10.0}
TIMES = np.arange(0.0, 0.25, 0.0025)


def _pulse(t):
    """A Gaussian blob at one corner, on for 15 ms: the evoked wave must travel."""
    x = np.arange(N) * SPACING
    blob = np.exp(-((x[:, None] - 1.0) ** 2 + (x[None, :] - 1.0) ** 2) / 0.5)
    return blob * (0.0 <= t < 0.015) * 2e3


def _response(noise=0.0, seed=0, scale=1.0):
    phi = solve_spectral(np.zeros((N, N)), spacing=SPACING, source=_pulse, times=TIMES,
                         progress=False, **TRUE).phi
    rng = np.random.default_rng(seed)
    out = scale * phi + noise * float(phi.std()) * rng.standard_normal(phi.shape)
    return out.assign_coords(x=np.arange(N) * SPACING, y=np.arange(N) * SPACING)


def test_noise_free_response_gives_the_parameters_exactly():
    fit = fit_evoked(_response(), _pulse, n_init=2, random_state=0)
    est = fit.estimate.to_series()
    for name, value in TRUE.items():
        assert est[name] == pytest.approx(value, rel=1e-6), name
    assert fit.attrs["r2"] == pytest.approx(1.0, abs=1e-10)
    assert fit.attrs["spacing"] == SPACING                        # read from the coordinates


def test_noisy_response_within_stated_errors_and_a_few_percent():
    errors = []
    for seed in range(3):
        fit = fit_evoked(_response(noise=0.3, seed=seed), _pulse, n_init=2, random_state=seed)
        est, se = fit.estimate.to_series(), fit.stderr.to_series()
        for name, value in TRUE.items():
            assert abs(est[name] / value - 1) < 0.03, (seed, name, est[name])
            errors.append((est[name] - value) / se[name])
    z = np.asarray(errors)
    assert np.all(np.abs(z) < 4) and 0.2 < np.sqrt(np.mean(z ** 2)) < 2.5   # calibrated


def test_unknown_gain_is_profiled_out():
    fit = fit_evoked(_response(scale=3.7), _pulse, gain=True, n_init=2, random_state=0)
    est = fit.estimate.to_series()
    assert est["gain"] == pytest.approx(3.7, rel=1e-6)
    assert est["c"] == pytest.approx(TRUE["c"], rel=1e-6)
    wrong = fit_evoked(_response(scale=3.7), _pulse, n_init=1, random_state=0)
    assert wrong.attrs["r2"] < fit.attrs["r2"]


def test_bad_inputs_are_named():
    resp = _response()
    with pytest.raises(ShapeError, match="time, x, y"):
        fit_evoked(resp.isel(y=0), _pulse)
    with pytest.raises(NeurodataError, match="bounds are for"):
        fit_evoked(resp, _pulse, bounds={"speed": (1, 2)})
    with pytest.raises(NeurodataError, match="positive"):
        fit_evoked(resp, _pulse, bounds={"m": (0.0, 10.0)})
    with pytest.raises(NeurodataError, match="NaN"):
        fit_evoked(resp.where(resp.time > 0.01), _pulse)
    with pytest.raises(ShapeError, match="time, x, y"):
        fit_evoked(xr.DataArray(np.zeros((5, 3)), dims=("time", "channel")), _pulse)
