"""Accuracy figures of neurodata.field_theory quoted in docs/field_theory.rst.

Prints: lattice dispersion vs eigenvalues of the simulated lattice; the spectral solver
against single-mode analytic solutions; leapfrog energy drift; equipartition of mode
energies and of the measured spectrum; the 1/f slope; invariance between Stuart-Landau
and Wilson-Cowan lattices; parameter recovery from a sheet and from a recording.

Run: ``PYTHONPATH=. python benchmarks/field_accuracy.py`` (about a minute).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from neurodata.datasets import make_cortical_sheet, make_field_recording
from neurodata.field_theory import (
    JansenRit,
    LinearOscillator,
    StuartLandau,
    WilsonCowan,
    cfl_limit,
    continuum_limit,
    equipartition_spectrum,
    fit_field,
    fit_field_spectrum,
    lattice_dispersion,
    lattice_eigenvalues,
    lattice_jacobian,
    linearise,
    measure_spectrum,
    simulate_lattice,
    solve_leapfrog,
    solve_spectral,
    spectral_slope,
)
from neurodata.field_theory._grid import laplacian_eigenvalues, site_coords, to_modes, wavenumbers

BOUNDARIES = ("periodic", "dirichlet", "neumann")


def matched_error(found, expected):
    cost = np.abs(found[:, None] - expected[None, :]) / np.abs(expected)[None, :]
    r, c = linear_sum_assignment(cost)
    return cost[r, c].max()


def dispersion():
    print("lattice eigenvalues, max relative error (6 x 5 / 5 x 4 lattices):")
    for b in BOUNDARIES:
        jac = lattice_jacobian(LinearOscillator(omega0=7.0, gamma=0.8), (6, 5), 5.0, b)
        kx, ky = wavenumbers(6, 0.5, b)[:, None], wavenumbers(5, 0.5, b)[None, :]
        half = np.sqrt(lattice_dispersion(kx, ky, omega0=7.0, coupling=5.0, spacing=0.5).ravel()
                       - 0.16)
        exp = np.concatenate([-0.4 + 1j * half, -0.4 - 1j * half])
        row = [f"oscillator vs dispersion {matched_error(np.linalg.eigvals(jac), exp):.1e}"]
        for mass, k in ((StuartLandau(lam=-3.0, omega=40.0), 50.0), (WilsonCowan(), 300.0),
                        (JansenRit(), 1e4)):
            found = np.linalg.eigvals(lattice_jacobian(mass, (5, 4), k, b))
            exp = lattice_eigenvalues(mass, (5, 4), k, 1.0, b).values.ravel()
            row.append(f"{type(mass).__name__} {matched_error(found, exp):.1e}")
        print(f"  {b:9s} " + ", ".join(row))


def single_mode():
    worst = 0.0
    for b in BOUNDARIES:
        x = site_coords(16, 0.3, b)
        k = {"periodic": 2 * np.pi * 2 / (16 * 0.3), "dirichlet": np.pi * 2 / (17 * 0.3),
             "neumann": np.pi * 2 / (16 * 0.3)}[b]
        f = (np.sin(k * x) if b == "dirichlet" else np.cos(k * x))[:, None] * np.ones(16)
        if b == "dirichlet":
            f = f * np.sin(np.pi / (17 * 0.3) * x)[None, :]
            k2 = k**2 + (np.pi / (17 * 0.3)) ** 2
        else:
            k2 = k**2
        for g in (0.0, 0.7, 9.0):
            t = np.linspace(0, 7, 15)
            w2 = 1.0 + 2.0 * k2
            om = np.sqrt((w2 - g**2 / 4) + 0j)
            amp = np.real(np.exp(-g * t / 2) * (np.cos(om * t) + (0.4 + g / 2) * np.sin(om * t) / om))
            ds = solve_spectral(f, 0.4 * f, m=1.0, c=np.sqrt(2.0), gamma=g, spacing=0.3,
                                boundary=b, times=t, progress=False)
            worst = max(worst, np.abs(ds.phi.values - amp[:, None, None] * f).max())
    print(f"spectral solver vs single-mode analytic solutions: max error {worst:.1e}")


def energy():
    rng = np.random.default_rng(0)
    out = []
    for b in BOUNDARIES:
        dt = 0.9 * cfl_limit(2.0, 1.0, (32, 32), 1.0, b)
        ds = solve_leapfrog(rng.standard_normal((32, 32)), rng.standard_normal((32, 32)), m=2.0,
                            c=1.0, boundary=b, dt=dt, n_steps=10_000, record_every=100,
                            progress=False)
        e = ds.energy.values[1:]
        out.append(f"{b} {np.abs(e / e[0] - 1).max():.1e}")
    print("leapfrog energy drift over 1e4 steps (32 x 32, dt = 0.9 CFL): " + ", ".join(out))


def equipartition():
    m, c, g, shape, fs = 2 * np.pi * 5, 14 * 2 * np.pi * 5, np.pi * 5, (32, 32), 500.0
    sheet = make_cortical_sheet(shape, m=m, c=c, gamma=g, duration=30.0, dt=1 / fs,
                                store_velocity=True, random_state=0)
    w2 = m**2 + c**2 * laplacian_eigenvalues(shape, 1.0, "periodic")
    energy = 0.5 * (np.abs(to_modes(sheet.velocity.values, "periodic")) ** 2
                    + w2 * np.abs(to_modes(sheet.phi.values, "periodic")) ** 2).mean(0)
    ratio = energy * 2 * g
    print(f"mode energies / (sigma^2 / 2 gamma): mean {ratio.mean():.4f}, "
          f"range {ratio.min():.3f}-{ratio.max():.3f} over {ratio.size} modes")
    spec = measure_spectrum(sheet, nperseg=1000)
    f = spec.frequency.values
    pred = equipartition_spectrum(f, m=m, c=c, gamma=g, shape=shape, fs=fs).values
    sel = (f >= 1) & (f <= 240)
    err = np.log10(spec.values[sel] / pred[sel])
    print(f"Welch vs equipartition, 1-240 Hz: rms log10 error {np.sqrt(np.mean(err**2)):.3f}, "
          f"mean {err.mean():+.4f}, 95th percentile |err| {np.quantile(np.abs(err), 0.95):.3f}")
    top = min(np.sqrt(m**2 + c**2 * laplacian_eigenvalues(shape, 1.0, "periodic").max())
              / (2 * np.pi), fs / 2)
    lo, hi = 3 * m / (2 * np.pi), top / 4
    cont = equipartition_spectrum(f[1:], m=m, c=c, gamma=g)
    print(f"slope {lo:.0f}-{hi:.1f} Hz: measured {spectral_slope(spec, lo, hi):.3f}, lattice "
          f"prediction {spectral_slope(spec.copy(data=pred).isel(frequency=slice(1, None)), lo, hi):.3f}, "
          f"continuum {spectral_slope(cont, lo, hi):.3f}")
    p = fit_field(sheet)
    print(f"fit_field on this sheet: m {p.m / m - 1:+.2%}, c {p.c / c - 1:+.3%}, "
          f"gamma {p.gamma / g - 1:+.2%}")
    rec = make_field_recording(12, (16, 16), m=m, c=c, gamma=g, spacing=1.0, duration=30.0,
                               dt=1 / fs, sensor_noise=2e-5, random_state=3)
    q = fit_field_spectrum(measure_spectrum(rec, nperseg=1000), shape=(16, 16), spacing=1.0,
                           floor=True)
    print(f"fit_field_spectrum on 12 channels + sensor noise: m {q.m / m - 1:+.2%}, "
          f"c {q.c / c - 1:+.3%}, gamma {q.gamma / g - 1:+.2%}, sigma {q.noise - 1:+.2%}")


def invariance():
    wc, kappa = WilsonCowan(), 150.0
    lin = linearise(wc)
    sl = StuartLandau(lam=lin.eigenvalues[0].real, omega=lin.eigenvalues[0].imag)
    pred = continuum_limit(wc, kappa)
    print(f"invariance: predicted m {pred.m:.2f}, c {pred.c:.2f}, gamma {pred.gamma:.2f}")
    for mass, k in ((sl, kappa * lin.jacobian[1, 0] / sl.omega), (wc, kappa)):
        ds = simulate_lattice(mass, (12, 12), coupling=k, dt=5e-4, duration=10.0, noise=0.02,
                              record_every=2, random_state=0, progress=False)
        p = fit_field(ds.isel(time=slice(200, None)))
        print(f"  {type(mass).__name__:13s} fitted m {p.m:.2f}, c {p.c:.2f}, gamma {p.gamma:.2f}")


if __name__ == "__main__":
    dispersion()
    single_mode()
    energy()
    equipartition()
    invariance()
