"""Equipartition: mode energies, the predicted spectrum, the 1/f slope, fits to spectra."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.integrate import trapezoid

from neurodata.datasets import make_cortical_sheet, make_field_recording
from neurodata.field_theory import (
    EMPIRICAL_EXPONENTS,
    GaussianPointSpread,
    equipartition_spectrum,
    field_cross_spectrum,
    fit_field_spectrum,
    measure_spectrum,
    spectral_slope,
)
from neurodata.field_theory._grid import laplacian_eigenvalues, to_modes

# a 32 x 32 sheet (spacing 1) with f0 = 5 Hz, c = 14 m: the lattice carries 5-198 Hz
M = 2 * np.pi * 5.0
C = 14 * M
GAMMA = 0.5 * M
SHAPE = (32, 32)
FS = 500.0


@pytest.fixture(scope="module")
def sheet():
    return make_cortical_sheet(SHAPE, m=M, c=C, gamma=GAMMA, noise=1.0, duration=30.0,
                               dt=1 / FS, store_velocity=True, random_state=0)


def _band():
    f_top = min(np.sqrt(M**2 + C**2 * laplacian_eigenvalues(SHAPE, 1.0, "periodic").max())
                / (2 * np.pi), FS / 2)
    return 3 * M / (2 * np.pi), f_top / 4


def test_every_mode_holds_the_same_energy(sheet):
    phik = to_modes(sheet.phi.values, "periodic")
    velk = to_modes(sheet.velocity.values, "periodic")
    w2 = M**2 + C**2 * laplacian_eigenvalues(SHAPE, 1.0, "periodic")
    energy = 0.5 * (np.abs(velk) ** 2 + w2 * np.abs(phik) ** 2).mean(axis=0)
    temperature = 1.0 / (2 * GAMMA)  # sigma^2 / (2 gamma)
    ratio = (energy / temperature).ravel()
    assert ratio.mean() == pytest.approx(1.0, abs=0.01)
    assert np.all(np.abs(ratio - 1) < 0.3)
    # no trend with frequency: equal energy from the mass gap to the lattice cutoff
    slope = np.polyfit(np.log(np.sqrt(w2.ravel())), ratio, 1)[0]
    assert abs(slope) < 0.02


def test_measured_spectrum_matches_equipartition_prediction(sheet):
    spec = measure_spectrum(sheet, nperseg=1000)
    f = spec.frequency.values
    pred = equipartition_spectrum(f, m=M, c=C, gamma=GAMMA, noise=1.0, shape=SHAPE, fs=FS)
    sel = (f >= 1.0) & (f <= 240.0)
    err = np.log10(spec.values[sel] / pred.values[sel])
    assert np.sqrt(np.mean(err**2)) < 0.04  # rms log-power error: < 10 %
    assert np.quantile(np.abs(err), 0.95) < 0.08
    assert abs(err.mean()) < 0.01
    lo, hi = _band()
    band = (f >= lo) & (f <= hi)
    assert np.sqrt(np.mean(np.log10(spec.values[band] / pred.values[band]) ** 2)) < 0.04


def test_welch_slope_of_a_simulation_matches_the_equipartition_prediction(sheet):
    lo, hi = _band()
    spec = measure_spectrum(sheet, nperseg=1000)
    measured = spectral_slope(spec, lo, hi)
    f = spec.frequency.values[1:]
    lattice = spectral_slope(equipartition_spectrum(f, m=M, c=C, gamma=GAMMA, shape=SHAPE,
                                                    fs=FS), lo, hi)
    continuum = spectral_slope(equipartition_spectrum(f, m=M, c=C, gamma=GAMMA), lo, hi)
    assert measured == pytest.approx(lattice, abs=0.05)
    # on this band, finite-band and lattice corrections move both a few 0.01 from -1
    assert lattice == pytest.approx(-1.0, abs=0.15) and continuum == pytest.approx(-1.0, abs=0.1)


def test_equipartition_slope_tends_to_minus_one_in_the_continuum_limit():
    om = 2 * np.pi * 100.0
    f = np.array([99.9, 100.1])
    for eps in (0.1, 0.03, 0.01, 0.003):
        # m / omega = gamma / omega = omega / omega_max = eps
        p = equipartition_spectrum(f, m=eps * om, c=om / (eps * 2 * np.sqrt(np.pi)),
                                   gamma=eps * om, spacing=1.0).values
        slope = np.log(p[1] / p[0]) / np.log(f[1] / f[0])
        assert abs(slope + 1) < 0.5 * eps


def test_empirical_exponents_are_cited_apart_and_a_sensor_kernel_steepens_the_slope():
    (chi, spread), = EMPIRICAL_EXPONENTS.values()
    assert (chi, spread) == (2.0, 0.4)
    assert not chi - spread <= 1.0 <= chi + spread  # white-noise equipartition lies outside
    f = np.geomspace(20, 60, 40)
    kw = dict(m=2 * np.pi * 5, c=200.0, gamma=10.0, density=1.0)
    slopes = [spectral_slope(xr.DataArray(field_cross_spectrum([0.0], f, observation=obs,
                                                                **kw)[:, 0],
                                          dims="frequency", coords={"frequency": f}), 20, 60)
              for obs in (None, GaussianPointSpread(width=0.6))]
    assert slopes[0] == pytest.approx(-1.0, abs=0.05)
    assert chi - spread <= -slopes[1] <= chi + spread  # ECoG point spread of 0.6 mm


def test_continuum_spectrum_is_one_over_f_between_gap_and_cutoff():
    f = np.geomspace(50, 400, 50)
    p = equipartition_spectrum(f, m=2 * np.pi * 2, c=1.0, gamma=1.0, spacing=1e-3)
    assert spectral_slope(p, 50, 400) == pytest.approx(-1.0, abs=0.01)
    # closed form equals the sum over the modes of a large lattice (weak lattice effects)
    lat = equipartition_spectrum(f, m=2 * np.pi * 2, c=1.0, gamma=20.0, spacing=1e-3,
                                 shape=(256, 256), laplacian="spectral")
    cont = equipartition_spectrum(f, m=2 * np.pi * 2, c=1.0, gamma=20.0, spacing=1e-3)
    assert np.abs(np.log10(lat.values / cont.values)).max() < 0.02


def test_sampled_prediction_integrates_to_the_variance():
    # one-sided PSD of the sampled signal integrates to <phi^2> = sum_k sigma^2/(2 gamma w_k^2)/N
    f = np.linspace(0, 250, 20001)
    p = equipartition_spectrum(f, m=M, c=C, gamma=GAMMA, noise=1.0, shape=(8, 8), fs=FS)
    w2 = M**2 + C**2 * laplacian_eigenvalues((8, 8), 1.0, "periodic")
    assert trapezoid(p.values, f) == pytest.approx(np.mean(1 / (2 * GAMMA * w2)), rel=1e-4)


def test_fit_to_an_exact_spectrum_recovers_parameters():
    f = np.linspace(0.5, 240, 480)
    true = equipartition_spectrum(f, m=40.0, c=300.0, gamma=12.0, noise=3.0, shape=(16, 16),
                                  fs=FS).assign_attrs(fs=FS)
    p = fit_field_spectrum(true, shape=(16, 16), spacing=1.0)
    assert (p.m, p.c, p.gamma, p.noise) == pytest.approx((40.0, 300.0, 12.0, 3.0), rel=1e-6)
    # the spectrum fixes only c / a: the same spectrum read with another spacing scales c
    for a in (0.5, 2.0):
        assert fit_field_spectrum(true, shape=(16, 16), spacing=a).c == pytest.approx(300 * a,
                                                                                      rel=1e-6)
    bare = fit_field_spectrum(true, shape=(16, 16))
    assert np.isnan(bare.c) and bare.c_over_a == pytest.approx(300.0, rel=1e-6)


@pytest.mark.parametrize("sensor_noise", [0.0, 2e-5])
def test_fit_to_a_recorded_like_signal_recovers_parameters(sensor_noise):
    shape = (16, 16)
    rec = make_field_recording(12, shape, m=M, c=C, gamma=GAMMA, noise=1.0, spacing=1.0,
                               duration=30.0, dt=1 / FS, sensor_noise=sensor_noise,
                               random_state=3)
    spec = measure_spectrum(rec, nperseg=1000)
    p = fit_field_spectrum(spec, shape=shape, spacing=1.0, floor=bool(sensor_noise))
    assert p.m == pytest.approx(M, rel=0.05)
    assert p.c == pytest.approx(C, rel=0.02)
    assert p.gamma == pytest.approx(GAMMA, rel=0.10)
    assert p.noise == pytest.approx(1.0, rel=0.05)


def test_measure_spectrum_keeps_channels_when_asked():
    t = np.arange(2048) / 1000.0
    x = np.stack([np.sin(2 * np.pi * 50 * t), np.sin(2 * np.pi * 120 * t)], axis=1)
    da = xr.DataArray(x, dims=("time", "channel"), coords={"time": t, "channel": [0, 1]})
    spec = measure_spectrum(da, nperseg=512, average=False)
    assert spec.dims == ("frequency", "channel")
    peaks = spec.idxmax("frequency").values
    assert np.allclose(peaks, [50.0, 120.0], atol=1.0)
