"""Spectral and leapfrog solvers: analytic solutions, convergence order, energy, kernels."""

from __future__ import annotations

import numpy as np
import pytest

from neurodata.field_theory import _kernels as K
from neurodata.field_theory import cfl_limit, solve_leapfrog, solve_spectral
from neurodata.field_theory._grid import site_coords

BOUNDARIES = ["periodic", "dirichlet", "neumann"]


def _mode(boundary, n, a, nx_mode, ny_mode):
    """A single Laplacian eigenfunction on the grid and its wavenumber squared."""
    x = site_coords(n, a, boundary)
    if boundary == "periodic":
        kx, ky = 2 * np.pi * nx_mode / (n * a), 2 * np.pi * ny_mode / (n * a)
        f = np.cos(kx * x)[:, None] * np.sin(ky * x + 0.3)[None, :]
    elif boundary == "dirichlet":
        kx, ky = np.pi * nx_mode / ((n + 1) * a), np.pi * ny_mode / ((n + 1) * a)
        f = np.sin(kx * x)[:, None] * np.sin(ky * x)[None, :]
    else:
        kx, ky = np.pi * nx_mode / (n * a), np.pi * ny_mode / (n * a)
        f = np.cos(kx * x)[:, None] * np.cos(ky * x)[None, :]
    return f, kx**2 + ky**2


def _damped_amplitude(t, w2, g, phi0, pi0):
    """phi(t) of phi'' + g phi' + w2 phi = 0, written out by damping regime."""
    disc = w2 - g**2 / 4
    if disc > 0:
        om = np.sqrt(disc)
        return np.exp(-g * t / 2) * (phi0 * np.cos(om * t) + (pi0 + g * phi0 / 2) * np.sin(om * t) / om)
    if disc < 0:
        b = np.sqrt(-disc)
        return np.exp(-g * t / 2) * (phi0 * np.cosh(b * t) + (pi0 + g * phi0 / 2) * np.sinh(b * t) / b)
    return np.exp(-g * t / 2) * (phi0 + (pi0 + g * phi0 / 2) * t)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("gamma", [0.0, 0.7, 2 * np.sqrt(1.0 + 2.0 * 0.3), 9.0],
                         ids=["undamped", "under", "critical", "over"])
def test_spectral_solver_reproduces_single_mode(boundary, gamma):
    n, a, m, c = 16, 0.3, 1.0, np.sqrt(2.0)
    f, k2 = _mode(boundary, n, a, 2, 3)
    if gamma == 2 * np.sqrt(1.0 + 2.0 * 0.3):  # make this one exactly critical for the mode
        gamma = 2 * np.sqrt(m**2 + c**2 * k2)
    times = np.linspace(0, 7.0, 15)
    ds = solve_spectral(f, 0.4 * f, m=m, c=c, gamma=gamma, spacing=a, boundary=boundary,
                        times=times, store_velocity=True, progress=False)
    amp = _damped_amplitude(times, m**2 + c**2 * k2, gamma, 1.0, 0.4)
    exact = amp[:, None, None] * f[None]
    assert np.abs(ds.phi.values - exact).max() < 1e-10
    dt = 1e-6
    amp_dot = (_damped_amplitude(times + dt, m**2 + c**2 * k2, gamma, 1.0, 0.4)
               - _damped_amplitude(times - dt, m**2 + c**2 * k2, gamma, 1.0, 0.4)) / (2 * dt)
    assert np.abs(ds.velocity.values - amp_dot[:, None, None] * f).max() < 1e-7


def _smooth_initial(n, boundary, length=2 * np.pi):
    a = length / (n + 1) if boundary == "dirichlet" else length / n
    x = site_coords(n, a, boundary)
    X, Y = np.meshgrid(x, x, indexing="ij")
    if boundary == "periodic":
        f = np.exp(np.sin(X) + 0.5 * np.cos(Y))
    elif boundary == "dirichlet":
        f = np.sin(X / 2) ** 3 * np.sin(Y / 2) ** 3
    else:
        f = np.cos(X / 2) ** 3 + np.cos(Y)
    return f, a


def _observed_orders(errors):
    errors = np.asarray(errors)
    return np.log2(errors[:-1] / errors[1:])


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_leapfrog_converges_at_second_order_in_dt(boundary):
    # fixed lattice; reference: the exact-in-time solution of the same lattice equations
    m, c, g, T = 1.0, 1.0, 0.3, 2.0
    f, a = _smooth_initial(24, boundary)
    ref = solve_spectral(f, m=m, c=c, gamma=g, spacing=a, boundary=boundary, times=[T],
                         laplacian="lattice", progress=False).phi.values[-1]
    errs = []
    for dt in (0.04, 0.02, 0.01):
        n = round(T / dt)
        ds = solve_leapfrog(f, m=m, c=c, gamma=g, spacing=a, boundary=boundary, dt=dt, n_steps=n,
                            record_every=n, progress=False)
        errs.append(np.abs(ds.phi.values[-1] - ref).max())
    orders = _observed_orders(errs)
    assert np.all((orders > 1.95) & (orders < 2.05)), orders


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_leapfrog_converges_at_second_order_in_dx(boundary):
    # dt = dx / 4; reference: the continuum equation solved spectrally
    m, c, g, T = 1.0, 1.0, 0.3, 2.0
    errs = []
    for n in (16, 32, 64):
        f, a = _smooth_initial(n, boundary)
        n_steps = round(T / (0.25 * a))
        ref = solve_spectral(f, m=m, c=c, gamma=g, spacing=a, boundary=boundary, times=[T],
                             laplacian="spectral", progress=False).phi.values[-1]
        ds = solve_leapfrog(f, m=m, c=c, gamma=g, spacing=a, boundary=boundary, dt=T / n_steps,
                            n_steps=n_steps, record_every=n_steps, progress=False)
        errs.append(np.abs(ds.phi.values[-1] - ref).max())
    orders = _observed_orders(errs)
    assert np.all((orders > 1.8) & (orders < 2.2)), orders
    assert orders[-1] > 1.9


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_leapfrog_energy_drift_below_1e8_over_1e4_steps(boundary):
    rng = np.random.default_rng(0)
    f, v = rng.standard_normal((32, 32)), rng.standard_normal((32, 32))
    dt = 0.9 * cfl_limit(2.0, 1.0, (32, 32), 1.0, boundary)
    ds = solve_leapfrog(f, v, m=2.0, c=1.0, boundary=boundary, dt=dt, n_steps=10_000,
                        record_every=100, progress=False)
    energy = ds.energy.values[1:]
    assert np.abs(energy / energy[0] - 1).max() < 1e-8


def test_damped_energy_decreases_monotonically():
    rng = np.random.default_rng(1)
    ds = solve_leapfrog(rng.standard_normal((16, 16)), m=1.0, c=1.0, gamma=0.5, dt=0.1,
                        n_steps=400, record_every=10, progress=False)
    assert np.all(np.diff(ds.energy.values[1:]) < 0)


def _numpy_reference(cur, old, w, a_coef, nsteps):
    """A straightforward np.roll leapfrog loop (periodic, undamped)."""
    for _ in range(nsteps):
        nb = np.roll(cur, 1, 0) + np.roll(cur, -1, 0) + np.roll(cur, 1, 1) + np.roll(cur, -1, 1)
        cur, old = a_coef * cur + w * nb - old, cur
    return cur, old


def test_kernels_match_numpy_reference_and_each_other():
    rng = np.random.default_rng(2)
    cur, old = rng.standard_normal((160, 150)), rng.standard_normal((160, 150))
    w, a_coef = 0.1, 2 - 0.01 - 0.4
    ref_cur, _ref_old = _numpy_reference(cur.copy(), old.copy(), w, a_coef, 23)
    c1, o1 = cur.copy(), old.copy()
    if K.leapfrog_serial(c1, o1, a_coef, 1.0, w, 23, 0, 0):
        c1, o1 = o1, c1
    assert np.abs(c1 - ref_cur).max() < 1e-12 * np.abs(ref_cur).max()
    for bc in (0, 1, 2):
        s_cur, s_old = cur.copy(), old.copy()
        if K.leapfrog_serial(s_cur, s_old, 1.5, 0.9, 0.1, 37, bc, bc):
            s_cur, s_old = s_old, s_cur
        b_cur, b_old = cur.copy(), old.copy()
        out_cur, out_old = np.empty_like(cur), np.empty_like(cur)
        for t in (16, 16, 5):
            K.leapfrog_blocked(b_cur, b_old, out_cur, out_old, 1.5, 0.9, 0.1, t, bc, bc, 64)
            b_cur, b_old, out_cur, out_old = out_cur, out_old, b_cur, b_old
        assert np.array_equal(s_cur, b_cur) and np.array_equal(s_old, b_old)


def test_leapfrog_result_does_not_depend_on_time_block():
    # above 512 x 512 sites the public solver runs the blocked parallel kernel
    rng = np.random.default_rng(3)
    f = rng.standard_normal((520, 516))
    kw = dict(m=1.0, c=1.0, gamma=0.1, dt=0.2, n_steps=50, record_every=25, progress=False)
    a = solve_leapfrog(f, time_block=16, **kw).phi.values
    b = solve_leapfrog(f, time_block=7, **kw).phi.values
    c = solve_leapfrog(f, time_block=1, **kw).phi.values  # unblocked serial kernel
    assert np.array_equal(a, b) and np.array_equal(a, c)


def test_noise_runs_are_seeded_and_do_not_modify_inputs():
    f = np.random.default_rng(4).standard_normal((8, 8))
    f_copy = f.copy()
    kw = dict(m=1.0, c=1.0, gamma=0.5, dt=0.1, n_steps=30, noise=0.3, progress=False)
    a = solve_leapfrog(f, random_state=7, **kw).phi.values
    b = solve_leapfrog(f, random_state=7, **kw).phi.values
    assert np.array_equal(a, b) and not np.array_equal(a, solve_leapfrog(f, random_state=8, **kw).phi.values)
    s = solve_spectral(f, m=1.0, c=1.0, gamma=0.5, dt=0.1, n_steps=30, noise=0.3, random_state=7,
                       progress=False).phi.values
    assert np.array_equal(s, solve_spectral(f, m=1.0, c=1.0, gamma=0.5, dt=0.1, n_steps=30,
                                            noise=0.3, random_state=7, progress=False).phi.values)
    assert np.array_equal(f, f_copy)


def test_outputs_are_labelled():
    f = np.zeros((6, 5))
    ds = solve_leapfrog(f, m=1.0, c=1.0, spacing=0.5, boundary="neumann", dt=0.1, n_steps=4,
                        record_every=2, progress=False)
    assert ds.phi.dims == ("time", "x", "y")
    assert np.allclose(ds.time, [0.0, 0.2, 0.4])
    assert np.allclose(ds.x, [0.25, 0.75, 1.25, 1.75, 2.25, 2.75])
    sp = solve_spectral(f, m=1.0, c=1.0, spacing=0.5, boundary="dirichlet", times=[0.0, 1.0],
                        progress=False)
    assert sp.phi.dims == ("time", "x", "y") and np.allclose(sp.y, [0.5, 1.0, 1.5, 2.0, 2.5])
