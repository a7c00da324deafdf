"""Fitting the field to sheets, and invariance across topologically equivalent masses."""

from __future__ import annotations

import numpy as np
import pytest

from neurodata.datasets import make_cortical_sheet
from neurodata.field_theory import (
    CorticalFieldModel,
    LinearOscillator,
    StuartLandau,
    WilsonCowan,
    continuum_limit,
    estimate_mode_dispersion,
    fit_field,
    lattice_eigenvalues,
    linearise,
    simulate_lattice,
)


def _equivalent_stuart_landau(wc: WilsonCowan, kappa_wc: float):
    """A Stuart-Landau mass with the Wilson-Cowan focus's eigenvalues and field speed."""
    lin = linearise(wc)
    s0 = lin.eigenvalues[0]
    j_ie = lin.jacobian[1, 0]  # dI/dE at the fixed point: c^2 = kappa J_IE a^2
    return StuartLandau(lam=s0.real, omega=s0.imag), kappa_wc * j_ie / s0.imag


def test_equivalent_masses_have_identical_linear_lattices():
    wc, kappa_wc = WilsonCowan(), 150.0
    sl, kappa_sl = _equivalent_stuart_landau(wc, kappa_wc)
    p_wc, p_sl = continuum_limit(wc, kappa_wc), continuum_limit(sl, kappa_sl)
    assert (p_wc.m, p_wc.c, p_wc.gamma) == pytest.approx((p_sl.m, p_sl.c, p_sl.gamma), rel=1e-12)
    for boundary in ("periodic", "neumann"):
        ev_wc = lattice_eigenvalues(wc, (8, 8), kappa_wc, boundary=boundary).values
        ev_sl = lattice_eigenvalues(sl, (8, 8), kappa_sl, boundary=boundary).values
        assert np.allclose(ev_wc, ev_sl, rtol=1e-10, atol=0)


@pytest.fixture(scope="module")
def fitted_pair():
    wc, kappa_wc = WilsonCowan(), 150.0
    sl, kappa_sl = _equivalent_stuart_landau(wc, kappa_wc)
    fits = {}
    for mass, kappa in ((sl, kappa_sl), (wc, kappa_wc)):
        ds = simulate_lattice(mass, (12, 12), coupling=kappa, dt=5e-4, duration=10.0, noise=0.02,
                              record_every=2, random_state=0, progress=False)
        fits[type(mass).__name__] = fit_field(ds.isel(time=slice(200, None)))
    return continuum_limit(wc, kappa_wc), fits


def test_topologically_equivalent_masses_give_the_same_field(fitted_pair):
    predicted, fits = fitted_pair
    sl, wc = fits["StuartLandau"], fits["WilsonCowan"]
    # the same field from both masses (seeded noise, nonlinear simulations)
    assert wc.m == pytest.approx(sl.m, rel=0.01)
    assert wc.c == pytest.approx(sl.c, rel=0.01)
    assert wc.gamma == pytest.approx(sl.gamma, rel=0.05)
    # and it is the continuum limit of the linearised lattice
    for fit in (sl, wc):
        assert fit.m == pytest.approx(predicted.m, rel=0.02)
        assert fit.c == pytest.approx(predicted.c, rel=0.02)
        assert fit.gamma == pytest.approx(predicted.gamma, rel=0.05)


def test_fit_recovers_planted_field_from_a_sheet():
    sheet = make_cortical_sheet((24, 24), m=2 * np.pi * 8, c=200.0, gamma=12.0, noise=1.0,
                                duration=15.0, dt=2e-3, random_state=5)
    p = fit_field(sheet)
    assert p.m == pytest.approx(2 * np.pi * 8, rel=0.02)
    assert p.c == pytest.approx(200.0, rel=0.01)
    assert p.gamma == pytest.approx(12.0, rel=0.05)


@pytest.mark.parametrize("boundary", ["dirichlet", "neumann"])
def test_fit_works_under_every_boundary(boundary):
    sheet = make_cortical_sheet((16, 16), m=50.0, c=80.0, gamma=10.0, boundary=boundary,
                                duration=15.0, dt=2e-3, random_state=6)
    p = fit_field(sheet)
    assert (p.m, p.c, p.gamma) == pytest.approx((50.0, 80.0, 10.0), rel=0.05)


def test_lattice_of_linear_oscillators_fits_its_continuum_limit():
    mass, kappa = LinearOscillator(omega0=60.0, gamma=8.0), 3000.0
    ds = simulate_lattice(mass, (10, 10), coupling=kappa, dt=2e-4, duration=6.0, noise=1.0,
                          record_every=5, random_state=2, progress=False)
    p = fit_field(ds.isel(time=slice(100, None)))
    expected = continuum_limit(mass, kappa)
    assert (p.m, p.c, p.gamma) == pytest.approx((expected.m, expected.c, expected.gamma), rel=0.03)


def test_mode_estimates_follow_the_lattice_dispersion():
    sheet = make_cortical_sheet((12, 12), m=60.0, c=10.0, gamma=8.0, duration=20.0,
                                random_state=1)
    modes = estimate_mode_dispersion(sheet)
    expected = 60.0**2 + 10.0**2 * modes.mu.values
    assert modes.valid.all()
    assert np.median(np.abs(modes.omega2.values / expected - 1)) < 0.01


def test_estimator_fits_sheets_and_recordings_and_is_reproducible():
    sheet = make_cortical_sheet((12, 12), m=60.0, c=10.0, gamma=8.0, duration=20.0,
                                random_state=1)
    model = CorticalFieldModel().fit(sheet)
    assert model.m_ == pytest.approx(60.0, rel=0.02) and model.c_ == pytest.approx(10.0, rel=0.02)
    assert model.modes_.sizes["mode"] == 144
    again = CorticalFieldModel().fit(sheet)
    assert again.params_ == model.params_
    sim = model.simulate((12, 12), duration=1.0, dt=1e-3, random_state=0, progress=False)
    assert sim.phi.dims == ("time", "x", "y")
    rec = sheet.phi.isel(y=0).rename(x="channel")
    spectral = CorticalFieldModel(shape=(12, 12)).fit(rec)
    assert spectral.m_ == pytest.approx(60.0, rel=0.1)
    assert spectral.spectrum_.dims == ("frequency",)
