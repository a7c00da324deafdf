"""Identifiable wave speed: cross-spectra of arrays, sensor models, uncertainty, comparison."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import j0

import neurodata as nd
from neurodata.datasets import make_field_recording
from neurodata.errors import NeurodataError
from neurodata.field_theory import (
    CalciumIndicator,
    CorticalFieldModel,
    ExponentialLeadField,
    GaussianPointSpread,
    PointSensor,
    equipartition_spectrum,
    field_cross_spectrum,
    field_samples,
    measure_cross_spectrum,
)
from neurodata.field_theory._cross_spectrum import hankel_lorentz

M, C, GAMMA = 2 * np.pi * 8.0, 200.0, 40.0


@pytest.fixture(scope="module")
def ecog():
    """A 6 x 6 grid, 1 mm apart, over a 48 x 48 lattice (0.5 mm), ECoG point spread 0.4 mm."""
    return make_field_recording((6, 6), (48, 48), duration=20.0, dt=2e-3, sensor_noise=2e-5,
                                observation=GaussianPointSpread(width=0.4), random_state=11)


def test_cross_spectrum_fit_recovers_c_given_the_electrode_spacing(ecog, tmp_path):
    path = nd.save_nwb(ecog, tmp_path / "ecog.nwb")
    model = CorticalFieldModel(observation=GaussianPointSpread(), fmax=40.0)
    model.fit(nd.open_nwb(path), variable="ecog")
    assert model.method_ == "cross_spectrum"
    assert model.c_ == pytest.approx(C, rel=0.05)  # the must-show bound
    assert abs(model.c_ - C) < 4 * model.stderr_["c"] + 0.02 * C
    assert model.m_ == pytest.approx(M, rel=0.15)
    assert model.gamma_ == pytest.approx(GAMMA, rel=0.3)
    # the same electrodes 2 mm apart (positions doubled) would mean waves twice as fast
    doubled = ecog.assign_coords(electrode_x=ecog.electrode_x * 2, electrode_y=ecog.electrode_y * 2)
    fast = CorticalFieldModel(observation=GaussianPointSpread(), fmax=40.0).fit(doubled)
    assert fast.c_ == pytest.approx(2 * model.c_, rel=1e-3)


def test_single_site_spectrum_reports_only_c_over_a(ecog):
    one = ecog.isel(ecog_channel=[0])
    model = CorticalFieldModel(method="spectrum", shape=(48, 48), floor=True).fit(one)
    assert np.isnan(model.c_) and np.isfinite(model.c_over_a_)
    with pytest.raises(NeurodataError, match="c / a"):
        CorticalFieldModel(method="cross_spectrum").fit(ecog.ecog.isel(ecog_channel=[0, 1])
                                                        .rename(time_ecog="time"))


def test_laplace_errors_agree_with_the_bootstrap():
    rec = nd.load_sample("sample_field", lazy=False)
    kw = dict(observation=GaussianPointSpread(width=0.4), fmax=40.0)
    laplace = CorticalFieldModel(**kw).fit(rec)
    boot = CorticalFieldModel(uncertainty="bootstrap", n_bootstrap=20, random_state=0,
                              **kw).fit(rec)
    for name in ("m", "c", "gamma"):
        # 20 replicates estimate a standard deviation to ~16 %: agreement within 2.5x
        ratio = boot.stderr_[name] / laplace.stderr_[name]
        assert 0.4 < ratio < 2.5, (name, ratio)
    assert boot.bootstrap_.sizes["replicate"] == 20
    assert np.isfinite(boot.bootstrap_.estimate.values).all()


def test_laplace_errors_match_the_spread_over_recordings():
    est, err = [], []
    for seed in range(5):
        rec = make_field_recording((5, 5), (40, 40), duration=8.0, dt=2e-3, sensor_noise=2e-5,
                                   random_state=20 + seed)
        model = CorticalFieldModel(fmax=40.0).fit(rec)
        est.append([model.m_, model.c_, model.gamma_])
        err.append([model.stderr_[k] for k in ("m", "c", "gamma")])
    spread, mean_err = np.std(est, axis=0, ddof=1), np.mean(err, axis=0)
    assert np.all(spread / mean_err > 0.3) and np.all(spread / mean_err < 3.0), spread / mean_err


def test_information_criteria_prefer_the_true_sensor_model(ecog):
    point = CorticalFieldModel(observation=PointSensor(), fmax=60.0).fit(ecog)
    spread = CorticalFieldModel(observation=GaussianPointSpread(), fmax=60.0).fit(ecog)
    assert spread.aic_ < point.aic_ and spread.bic_ < point.bic_
    assert spread.score(ecog) > point.score(ecog)
    assert spread.observation_.width == pytest.approx(0.4, rel=0.35)
    assert np.isfinite(spread.stderr_["width"])


def test_coherence_propagates_above_and_decays_below_the_mass_gap():
    r = np.linspace(0.0, 10.0, 200)
    below = field_cross_spectrum(r, [3.0], m=M, c=C, gamma=5.0)[0]
    above = field_cross_spectrum(r, [40.0], m=M, c=C, gamma=5.0)[0]
    assert np.all(np.diff(below) < 0) and below.min() > 0  # evanescent: monotone decay
    assert above.min() < 0  # propagating: the coherence changes sign (J0-like)
    k = np.sqrt((2 * np.pi * 40.0) ** 2 - M**2) / C
    first_zero = r[np.flatnonzero(np.diff(np.sign(above)))[0]]
    assert first_zero == pytest.approx(2.405 / k, rel=0.05)


@pytest.mark.parametrize("observation", [GaussianPointSpread(width=0.7),
                                         ExponentialLeadField(depth=0.5)])
def test_kernel_integral_matches_direct_quadrature(observation):
    k2 = np.array([1.5 + 0.4j, -0.8 + 0.3j])  # above and below the mass gap
    r = np.array([0.0, 0.7, 2.5])
    fast = hankel_lorentz(r, k2, observation.spatial)
    for i, kk in enumerate(k2):
        for j, rr in enumerate(r):
            ref = quad(lambda k, rr=rr, kk=kk: k * j0(k * rr) * observation.spatial(k)
                       / abs(k * k - kk) ** 2, 0, 60, limit=500)[0]
            assert fast[i, j] == pytest.approx(ref, rel=1e-4, abs=1e-10)


def test_point_sensor_cross_spectrum_at_zero_distance_is_the_continuum_spectrum():
    f = np.array([20.0, 40.0, 80.0])
    a, sigma = 0.01, 2.0
    cross = field_cross_spectrum([0.0], f, m=M, c=10.0, gamma=GAMMA, density=sigma**2 * a**2)
    # the equipartition closed form with a Brillouin-zone cutoff (560 Hz) far above these
    cont = equipartition_spectrum(f, m=M, c=10.0, gamma=GAMMA, noise=sigma, spacing=a)
    np.testing.assert_allclose(cross[:, 0], cont.values, rtol=1e-3)


def test_calcium_roi_traces_fit_through_the_indicator():
    rec = make_field_recording(40, (32, 32), spacing=20.0, m=2 * np.pi * 0.5, c=400.0,
                               gamma=3.0, duration=200.0, dt=0.05, sensor_noise=1e-6,
                               observation=CalciumIndicator(tau_rise=0.05, tau_decay=0.4),
                               random_state=3)
    pos = field_samples(rec).positions
    rois = nd.validate(rec.rename({"time_ecog": "time", "ecog_channel": "roi"})
                       .rename_vars(ecog="dff").drop_vars(["ecog_electrode"])
                       .assign_coords(roi=np.arange(40), roi_centroid_x=("roi", pos[:, 0] / 20),
                                      roi_centroid_y=("roi", pos[:, 1] / 20)))
    with pytest.warns(nd.errors.NeurodataWarning, match="calcium"):
        CorticalFieldModel(fmax=5.0).fit(rois)
    fitted = CorticalFieldModel(observation=CalciumIndicator(tau_rise=0.05, tau_decay=0.4),
                                spacing=20.0, fmax=5.0).fit(rois)
    assert fitted.c_ == pytest.approx(400.0, rel=0.1)
    pixels = CorticalFieldModel(observation=CalciumIndicator(tau_rise=0.05, tau_decay=0.4),
                                fmax=5.0).fit(rois)
    assert np.isnan(pixels.c_) and pixels.c_over_a_ == pytest.approx(fitted.c_ / 20, rel=1e-6)


def test_measure_cross_spectrum_bins_a_grid_exactly(ecog):
    s = field_samples(ecog)
    cs = measure_cross_spectrum(s.data, s.positions)
    assert int(cs.n_pairs.sum()) == 36 * 35 // 2
    assert cs.sizes["distance"] == 19  # distinct distances on a 6 x 6 grid
    np.testing.assert_allclose(cs.coherence.isel(frequency=slice(1, 60)).values[:, 0].mean(),
                               cs.coherence.isel(frequency=slice(1, 60)).values[:, 0].mean())
    with pytest.raises(NeurodataError, match="positions"):
        measure_cross_spectrum(s.data)
