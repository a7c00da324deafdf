"""Lattice dispersion, lattice eigenvalues and the Klein-Gordon continuum limit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from neurodata.field_theory import (
    FieldParameters,
    JansenRit,
    LinearOscillator,
    StuartLandau,
    WilsonCowan,
    continuum_limit,
    coupled_field_operators,
    klein_gordon_dispersion,
    lattice_dispersion,
    lattice_eigenvalues,
    lattice_jacobian,
    linearise,
)
from neurodata.field_theory._grid import wavenumbers

BOUNDARIES = ["periodic", "dirichlet", "neumann"]


def _max_matched_relative_error(found: np.ndarray, expected: np.ndarray) -> float:
    """One-to-one matching of two eigenvalue sets; the worst relative mismatch."""
    assert found.shape == expected.shape
    cost = np.abs(found[:, None] - expected[None, :]) / np.abs(expected)[None, :]
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].max())


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_lattice_dispersion_matches_eigenvalues_of_simulated_lattice(boundary):
    # the Jacobian of the simulator's own right-hand side, exact by complex step,
    # on a non-square 6 x 5 lattice with spacing 0.5
    omega0, gamma, kappa, a, shape = 7.0, 0.8, 5.0, 0.5, (6, 5)
    jac = lattice_jacobian(LinearOscillator(omega0=omega0, gamma=gamma), shape, kappa, boundary)
    found = np.linalg.eigvals(jac)
    kx = wavenumbers(shape[0], a, boundary)[:, None]
    ky = wavenumbers(shape[1], a, boundary)[None, :]
    w2 = lattice_dispersion(kx, ky, omega0=omega0, coupling=kappa, spacing=a).ravel()
    # omega^2 = omega0^2 + 4 kappa [sin^2(kx a/2) + sin^2(ky a/2)], damped: s = -g/2 +- i sqrt(w2 - g^2/4)
    half = np.sqrt(w2 - gamma**2 / 4)
    expected = np.concatenate([-gamma / 2 + 1j * half, -gamma / 2 - 1j * half])
    assert _max_matched_relative_error(found, expected) < 1e-10


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize(
    ("mass", "kappa"),
    [(StuartLandau(lam=-3.0, omega=40.0), 50.0), (WilsonCowan(), 300.0), (JansenRit(), 1e4)],
    ids=["stuart-landau", "wilson-cowan", "jansen-rit"],
)
def test_mode_eigenvalues_match_full_lattice_jacobian(mass, kappa, boundary):
    shape = (5, 4)
    found = np.linalg.eigvals(lattice_jacobian(mass, shape, kappa, boundary))
    expected = lattice_eigenvalues(mass, shape, kappa, 1.0, boundary).values.ravel()
    assert _max_matched_relative_error(found, expected) < 1e-10


def test_continuum_limit_of_the_oscillator_lattice():
    p = continuum_limit(LinearOscillator(omega0=7.0, gamma=0.3), coupling=5.0, spacing=0.5)
    assert p.m == pytest.approx(7.0, rel=1e-12)
    assert p.c == pytest.approx(0.5 * np.sqrt(5.0), rel=1e-12)
    assert p.gamma == pytest.approx(0.3, rel=1e-12)
    assert abs(p.eta) < 1e-12


def test_lattice_dispersion_approaches_klein_gordon_at_second_order():
    # omega_lat^2 - (m^2 + c^2 k^2) = -c^2 a^2 (kx^4 + ky^4) / 12 + O(a^4)
    omega0, kappa_c2, kx, ky = 3.0, 4.0, 1.3, 0.7
    errs = []
    for a in (0.2, 0.1, 0.05, 0.025):
        kappa = kappa_c2 / a**2  # fixed c = a sqrt(kappa) = 2
        lat = lattice_dispersion(kx, ky, omega0=omega0, coupling=kappa, spacing=a)
        cont = omega0**2 + kappa_c2 * (kx**2 + ky**2)
        errs.append(lat - cont)
        assert (lat - cont) / (-kappa_c2 * a**2 * (kx**4 + ky**4) / 12) == pytest.approx(1, abs=0.02)
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert np.allclose(ratios, 4.0, rtol=0.01)


def test_stuart_landau_cross_coupling_is_klein_gordon():
    # m^2 = lam^2 + omega^2, gamma = -2 lam, c^2 = kappa omega a^2 (exact for the rank-one coupling)
    lam, omega, kappa, a = -2.0, 30.0, 8.0, 0.25
    p = continuum_limit(StuartLandau(lam=lam, omega=omega), coupling=kappa, spacing=a)
    assert p.m == pytest.approx(np.hypot(lam, omega), rel=1e-12)
    assert p.gamma == pytest.approx(-2 * lam, rel=1e-12)
    assert p.c**2 == pytest.approx(kappa * omega * a**2, rel=1e-12)
    ev = lattice_eigenvalues(StuartLandau(lam=lam, omega=omega), (8, 8), kappa, a)
    top = ev.isel(branch=0)
    s = klein_gordon_dispersion(top.mu.values, p)  # lattice mu_k in place of k^2: exact
    assert np.allclose(top.values, s, rtol=1e-12)


def test_jansen_rit_continuum_limit_is_first_order_accurate():
    # six-state mass: the field pair's |s|^2 = m^2 + c^2 mu + O(mu^2)
    mass, kappa = JansenRit(), 1e4
    p = continuum_limit(mass, kappa)
    lin = linearise(mass)
    assert p.m == pytest.approx(abs(lin.eigenvalues[0]), rel=1e-12)
    ev = lattice_eigenvalues(mass, (64, 64), kappa)
    low = ev.isel(kx=1, ky=0)
    pair = low.values[np.argmin(np.abs(low.values - lin.eigenvalues[0]))]
    mu = float(low.mu)
    assert abs(pair) ** 2 == pytest.approx(p.m**2 + p.c**2 * mu, rel=1e-6)


def test_field_parameters_dispersion_is_consistent():
    p = FieldParameters(m=5.0, c=2.0, gamma=6.0)
    s = klein_gordon_dispersion(np.array([0.0, 4.0]), p)
    assert np.allclose(np.abs(s) ** 2, [25.0, 41.0])
    assert np.allclose(-2 * s.real, 6.0)


def test_coupled_field_operators_give_the_klein_gordon_dispersion():
    # continuum plane waves of dx/dt = J x + D lap x have exactly the Klein-Gordon s(k)
    mass, kappa, a = WilsonCowan(), 150.0, 0.5
    jac, diff = coupled_field_operators(mass, kappa, a)
    p = continuum_limit(mass, kappa, a)
    for k2 in (0.0, 1.0, 30.0, 400.0):
        s = np.linalg.eigvals(jac - k2 * diff)
        kg = klein_gordon_dispersion(k2, p)
        assert np.min(np.abs(s - kg)) < 1e-10 * abs(kg)
