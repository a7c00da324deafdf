"""Coupling options: nearest-neighbour or disc kernels, I->E or E->E; continuum vs lattice."""

from __future__ import annotations

import numpy as np
import pytest

from neurodata.errors import NeurodataError
from neurodata.field_theory import (
    DiscKernel,
    StuartLandau,
    WilsonCowan,
    continuum_limit,
    fit_field,
    lattice_eigenvalues,
    lattice_rhs,
    linearise,
    simulate_lattice,
)
from neurodata.field_theory._coupling import kernel_moment, kernel_offsets

OPTIONS = [("lattice", None), (DiscKernel(2.5), None), ("lattice", "E->E"),
           (DiscKernel(2.5), "E->E")]
IDS = ["nearest I->E", "disc I->E", "nearest E->E", "disc E->E"]


def _reach(kernel) -> float:
    off, _ = kernel_offsets(kernel)
    return float(np.sqrt((off**2).sum(axis=1).max()))


@pytest.mark.parametrize(("kernel", "pathway"), OPTIONS, ids=IDS)
def test_continuum_dispersion_matches_lattice_eigenvalues_at_small_k(kernel, pathway):
    mass, kappa, a = WilsonCowan(), 40.0, 0.5
    field = continuum_limit(mass, kappa, a, kernel=kernel, pathway=pathway)
    ev = lattice_eigenvalues(mass, (128, 128), kappa, a, kernel=kernel, pathway=pathway)
    kx, ky = np.meshgrid(ev.kx.values, ev.ky.values, indexing="ij")
    k2 = kx**2 + ky**2
    small = (np.sqrt(k2) * a <= 0.3) & (k2 > 0)
    s = ev.values[small]
    w2_lat = np.real(s[:, 0] * s[:, 1])
    g_lat = -np.real(s[:, 0] + s[:, 1])
    w2_cont = field.m**2 + field.c**2 * k2[small]
    g_cont = field.gamma + field.eta * k2[small]
    # the stated tolerance: 0 <= 1 - sigma(k) / (M2 (k a)^2) <= (k r_max a)^2 / 12
    bound = (np.sqrt(k2[small]) * _reach(kernel) * a) ** 2 / 12
    deficit_w = (w2_cont - w2_lat) / (field.c**2 * k2[small])
    assert np.all(deficit_w >= -1e-9) and np.all(deficit_w <= bound + 1e-9)
    assert np.median(deficit_w) > 0.05 * np.median(bound)  # the bound is not vacuous
    if abs(field.eta) > 1e-9:
        deficit_g = (g_cont - g_lat) / (field.eta * k2[small])
        assert np.all(deficit_g >= -1e-9) and np.all(deficit_g <= bound + 1e-9)
    else:
        np.testing.assert_allclose(g_lat, field.gamma, rtol=1e-10)  # I->E: no k-damping


def test_continuum_parameters_in_closed_form():
    wc, kappa, a = WilsonCowan(), 40.0, 0.5
    jac = linearise(wc).jacobian
    for kernel in ("lattice", DiscKernel(2.5)):
        m2 = kernel_moment(kernel)
        ie = continuum_limit(wc, kappa, a, kernel=kernel)
        ee = continuum_limit(wc, kappa, a, kernel=kernel, pathway="E->E")
        # I->E: det(J - qB) = det J + q J_IE;  E->E: det J - q J_II, tr J - q
        assert ie.c**2 == pytest.approx(kappa * a**2 * m2 * jac[1, 0], rel=1e-10)
        assert ie.eta == pytest.approx(0.0, abs=1e-12)
        assert ee.c**2 == pytest.approx(-kappa * a**2 * m2 * jac[1, 1], rel=1e-10)
        assert ee.eta == pytest.approx(kappa * a**2 * m2, rel=1e-10)
        assert (ie.m, ie.gamma) == pytest.approx((ee.m, ee.gamma), rel=1e-12)
    assert DiscKernel(2.5).moment == pytest.approx(sum(
        (dx * dx + dy * dy) for dx, dy in DiscKernel(2.5).offsets) / 4)


def test_default_coupling_makes_neighbouring_inhibition_excite():
    wc = WilsonCowan()
    x0 = linearise(wc).fixed_point
    x = np.broadcast_to(x0[:, None, None], (2, 5, 5)).copy()
    base = lattice_rhs(wc, x, 10.0, "periodic")
    x[1, 2, 3] += 0.01  # more inhibition at a neighbour of site (2, 2)
    bumped = lattice_rhs(wc, x, 10.0, "periodic")
    assert bumped[0, 2, 2] - base[0, 2, 2] == pytest.approx(10.0 * 0.01 / 1, rel=1e-9)
    assert bumped[0, 2, 2] > base[0, 2, 2]


def _equivalent_stuart_landau(wc, kappa, pathway):
    """A Stuart-Landau mass and coupling with the same eigenvalues and d(det), d(tr) / dq."""
    jac = linearise(wc).jacobian
    bmat = kappa * wc.coupling_matrix(pathway)
    d_tr = -np.trace(bmat)
    adj = np.array([[jac[1, 1], -jac[0, 1]], [-jac[1, 0], jac[0, 0]]])
    d_det = -np.trace(adj @ bmat)
    s0 = linearise(wc).eigenvalues[0]
    lam, om = s0.real, s0.imag
    # B = e_re w^T: d tr = -w_re, d det = -(w_re lam - w_im om)
    w_re = -d_tr
    w_im = (d_det + w_re * lam) / om
    return StuartLandau(lam=lam, omega=om), ({"re": w_re, "im": w_im}, "re")


@pytest.mark.parametrize(("kernel", "pathway"), OPTIONS, ids=IDS)
def test_equivalent_masses_have_identical_lattices_under_every_coupling(kernel, pathway):
    wc, kappa = WilsonCowan(), 40.0
    sl, sl_pathway = _equivalent_stuart_landau(wc, kappa, pathway)
    for boundary in ("periodic", "neumann"):
        a = lattice_eigenvalues(wc, (10, 10), kappa, boundary=boundary, kernel=kernel,
                                pathway=pathway).values
        b = lattice_eigenvalues(sl, (10, 10), 1.0, boundary=boundary, kernel=kernel,
                                pathway=sl_pathway).values
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-9)
    p, q = (continuum_limit(wc, kappa, kernel=kernel, pathway=pathway),
            continuum_limit(sl, 1.0, kernel=kernel, pathway=sl_pathway))
    assert (p.m, p.c, p.gamma, p.eta) == pytest.approx((q.m, q.c, q.gamma, q.eta), rel=1e-9,
                                                       abs=1e-12)


def test_disc_kernel_lattice_simulation_fits_its_continuum_limit():
    wc, kappa, kernel = WilsonCowan(), 30.0, DiscKernel(2.0)
    ds = simulate_lattice(wc, (12, 12), coupling=kappa, kernel=kernel, dt=5e-4, duration=8.0,
                          noise=0.02, record_every=2, random_state=0, progress=False)
    p = fit_field(ds.isel(time=slice(200, None)), laplacian=kernel)
    expected = continuum_limit(wc, kappa, kernel=kernel)
    assert (p.m, p.c, p.gamma) == pytest.approx((expected.m, expected.c, expected.gamma),
                                                rel=0.03)


def test_bad_kernels_and_pathways_raise():
    with pytest.raises(NeurodataError, match="at least 1"):
        DiscKernel(0.5)
    with pytest.raises(NeurodataError, match="states"):
        WilsonCowan().coupling_matrix("X->E")
    with pytest.raises(NeurodataError, match="source->target"):
        WilsonCowan().coupling_matrix("E")
    with pytest.raises(NeurodataError, match="coupling kernel"):
        lattice_eigenvalues(WilsonCowan(), (8, 8), 1.0, kernel="gaussian")
