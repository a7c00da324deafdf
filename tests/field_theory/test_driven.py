"""Afferent input in every solver, the non-dispersive wave packet, conservative fields."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodata.datasets import make_cortical_sheet
from neurodata.errors import NeurodataError, ShapeError
from neurodata.field_theory import (
    DiscKernel,
    LinearOscillator,
    cfl_limit,
    simulate_lattice,
    solve_leapfrog,
    solve_spectral,
)
from neurodata.field_theory._grid import laplacian_eigenvalues, to_modes

# a line source across a periodic 256 x 4 mm strip: plane packets moving along +-x
C, X0, WIDTH, TAU, T0 = 100.0, 64.0, 4.0, 0.01, 0.07
SHAPE = (256, 4)


def _pulse_source(t: float) -> np.ndarray:
    """Gaussian in x times the derivative of a Gaussian pulse in time."""
    x = np.arange(SHAPE[0])[:, None] * np.ones(SHAPE[1])
    g_dot = -(t - T0) / TAU**2 * np.exp(-((t - T0) ** 2) / (2 * TAU**2))
    return np.exp(-((x - X0) ** 2) / (2 * WIDTH**2)) * g_dot


def _packet_speed(ds: xr.Dataset, t1: float, t2: float) -> float:
    """Speed of the right-moving packet's centroid (within 20 mm of its peak) between two times."""
    x = ds.x.values

    def centroid(t):
        profile = ds.phi.sel(time=t, method="nearest").values.mean(axis=1)
        right = x > X0
        peak = x[right][np.argmax(profile[right])]
        window = np.abs(x - peak) < 20
        return float(np.sum(x[window] * profile[window]) / np.sum(profile[window]))

    return (centroid(t2) - centroid(t1)) / (t2 - t1)


def test_input_driven_wave_packet_travels_at_c_without_mass_or_damping():
    times = np.arange(0, 801) * 1e-3
    exact = solve_spectral(np.zeros(SHAPE), m=0.0, c=C, gamma=0.0, spacing=1.0, times=times,
                           laplacian="spectral", source=_pulse_source, progress=False)
    speed = _packet_speed(exact, 0.3, 0.7)
    assert speed == pytest.approx(C, rel=1e-3)  # continuum: no dispersion at all
    # the packet keeps its shape: same peak height at both times
    peaks = [float(exact.phi.sel(time=t, method="nearest").values.max()) for t in (0.3, 0.7)]
    assert peaks[1] == pytest.approx(peaks[0], rel=1e-3)
    lattice = solve_leapfrog(np.zeros(SHAPE), m=0.0, c=C, gamma=0.0, spacing=1.0, dt=1e-3,
                             n_steps=800, record_every=100, source=_pulse_source,
                             progress=False)
    assert _packet_speed(lattice, 0.3, 0.7) == pytest.approx(C, rel=0.01)


def test_spectral_and_leapfrog_agree_on_a_driven_damped_field():
    kw = dict(m=20.0, c=C, gamma=5.0, spacing=1.0)
    times = np.arange(0, 2401) * 2.5e-5  # the input is resolved: the reference is exact
    spec = solve_spectral(np.zeros(SHAPE), times=times, laplacian="lattice",
                          source=_pulse_source, progress=False, **kw)
    errs = []
    for dt in (4e-4, 2e-4):
        lf = solve_leapfrog(np.zeros(SHAPE), dt=dt, n_steps=round(0.06 / dt),
                            record_every=round(0.06 / dt), source=_pulse_source,
                            progress=False, **kw)
        ref = spec.phi.sel(time=0.06, method="nearest").values
        errs.append(np.abs(lf.phi.isel(time=-1).values - ref).max() / np.abs(ref).max())
    assert errs[0] < 0.05
    assert errs[0] / errs[1] == pytest.approx(4.0, rel=0.25)  # second order in dt


def test_lattice_of_masses_settles_on_the_static_response_to_a_constant_input():
    mass, kappa, shape = LinearOscillator(omega0=30.0, gamma=25.0), 400.0, (8, 8)
    rng = np.random.default_rng(0)
    pattern = rng.standard_normal(shape)
    ds = simulate_lattice(mass, shape, coupling=kappa, dt=1e-3, duration=3.0, source=pattern,
                          record_every=3000, progress=False)
    # mode k: omega0^2 phi_k + kappa sigma_k phi_k = s_k
    sigma = laplacian_eigenvalues(shape, 1.0, "periodic")
    expected = np.real(np.fft.ifft2(np.fft.fft2(pattern) / (mass.omega0**2 + kappa * sigma)))
    np.testing.assert_allclose(ds.phi.isel(time=-1).values, expected, rtol=0, atol=1e-8)


@pytest.mark.parametrize("laplacian", ["lattice", DiscKernel(2.5)], ids=["nearest", "disc"])
def test_undamped_leapfrog_conserves_energy_over_10000_steps(laplacian):
    rng = np.random.default_rng(1)
    shape, m, c, a = (48, 40), 3.0, 2.0, 0.5
    phi0 = rng.standard_normal(shape)
    vel0 = rng.standard_normal(shape)
    dt = 0.9 * cfl_limit(m, c, shape, a, "periodic", laplacian)
    for boundary in ("periodic", "neumann", "dirichlet"):
        ds = solve_leapfrog(phi0, vel0, m=m, c=c, gamma=0.0, spacing=a, boundary=boundary,
                            dt=dt, n_steps=10_000, record_every=1000, laplacian=laplacian,
                            progress=False)
        e = ds.energy.values[1:]
        assert np.abs(e / e[0] - 1).max() < 1e-10, boundary


def test_temperature_sets_every_modes_energy():
    shape, m, c = (16, 16), 40.0, 300.0
    w2 = m**2 + c**2 * laplacian_eigenvalues(shape, 1.0, "periodic")
    for gamma in (12.0, 0.0):  # fluctuation-dissipation, then the conservative equilibrium
        sheet = make_cortical_sheet(shape, m=m, c=c, gamma=gamma, temperature=2.5,
                                    duration=2.0, dt=2e-3, store_velocity=True, random_state=3)
        phik = to_modes(sheet.phi.values, "periodic")
        velk = to_modes(sheet.velocity.values, "periodic")
        energy = 0.5 * (np.abs(velk) ** 2 + w2 * np.abs(phik) ** 2)
        assert energy.mean() == pytest.approx(2.5, rel=0.05)
        if gamma == 0.0:  # no noise, no damping: each mode keeps its energy exactly
            np.testing.assert_allclose(energy[-1], energy[0], rtol=1e-9)
    with pytest.raises(NeurodataError, match="temperature"):
        make_cortical_sheet(shape, gamma=0.0, duration=0.1)
    with pytest.raises(NeurodataError, match="not both"):
        solve_spectral(np.zeros(shape), m=1.0, c=1.0, gamma=1.0, noise=1.0, temperature=1.0,
                       times=[0.0, 1.0], progress=False)


def test_bad_sources_raise():
    with pytest.raises(ShapeError, match="shape"):
        solve_leapfrog(np.zeros((8, 8)), m=1.0, c=1.0, dt=0.1, n_steps=2,
                       source=np.zeros((8, 9)), progress=False)
    with pytest.raises(ShapeError, match="must return"):
        solve_spectral(np.zeros((8, 8)), m=1.0, c=1.0, times=[0.0, 0.1],
                       source=lambda t: np.zeros(3), progress=False)
    frames = xr.DataArray(np.ones((3, 8, 8)), dims=("time", "x", "y"),
                          coords={"time": [0.0, 0.2, 0.1]})
    with pytest.raises(ShapeError, match="increase"):
        solve_leapfrog(np.zeros((8, 8)), m=1.0, c=1.0, dt=0.1, n_steps=2, source=frames,
                       progress=False)
