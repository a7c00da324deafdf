"""Several bilayers as a complex vector field; a canonical microcircuit with rhythm peaks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import argrelmax

from neurodata.field_theory import (
    CanonicalMicrocircuit,
    EIBilayers,
    complex_field,
    continuum_limits,
    lattice_eigenvalues,
    lattice_spectrum,
    linearise,
    measure_spectrum,
    simulate_lattice,
)


def test_each_bilayer_component_rotates_at_its_own_eigenvalue():
    mass = EIBilayers()
    lin = linearise(mass)
    rng = np.random.default_rng(0)
    kick = 1e-4 * rng.standard_normal(mass.n_states)  # uniform: every site the same
    initial = (lin.fixed_point + kick)[:, None, None] * np.ones((1, 4, 4))
    ds = simulate_lattice(mass, (4, 4), coupling=50.0, dt=2e-5, duration=0.03,
                          initial=initial, record_every=500, progress=False)
    psi = complex_field(ds, mass).mean(("x", "y"))
    ev = lin.eigenvalues[lin.eigenvalues.imag > 0]
    ev = ev[np.argsort(ev.imag)]
    for comp, s in enumerate(ev):
        ratio = psi.isel(component=comp).values / psi.isel(component=comp).values[0]
        expected = np.exp(s * psi.time.values)
        np.testing.assert_allclose(ratio, expected, rtol=2e-3, atol=2e-3)
    assert psi.sizes["component"] == 2
    fields = continuum_limits(mass, 50.0)
    assert [f.f0 for f in fields] == pytest.approx(sorted(ev.imag / (2 * np.pi)), rel=0.05)


def test_bilayer_lattice_eigenvalues_split_into_one_branch_per_bilayer():
    ev = lattice_eigenvalues(EIBilayers(), (8, 8), 50.0)
    assert ev.sizes["branch"] == 4
    upper = np.sort(ev.isel(kx=0, ky=0).values.imag)[2:]
    assert np.all(upper > 0) and upper[1] / upper[0] > 2  # two distinct rhythms


def test_microcircuit_spectrum_has_rhythm_peaks_and_an_aperiodic_tail():
    cmc = CanonicalMicrocircuit()
    f = np.linspace(1, 200, 400)
    p = lattice_spectrum(cmc, f, shape=(32, 32), coupling=300.0).values
    peaks = f[argrelmax(p)[0]]
    assert any(8 < q < 20 for q in peaks) and any(50 < q < 75 for q in peaks)
    tail = f > 100
    slope = np.polyfit(np.log(f[tail]), np.log(p[tail]), 1)[0]
    assert slope < -1.0  # the aperiodic part falls faster than 1/f above the gamma peak
    fields = continuum_limits(cmc, 300.0)
    assert 8 < fields[1].f0 < 15 and 55 < fields[0].f0 < 70


def test_microcircuit_lattice_spectrum_matches_a_simulation():
    cmc, kappa = CanonicalMicrocircuit(), 1e4
    ds = simulate_lattice(cmc, (6, 6), coupling=kappa, dt=2e-4, duration=4.0, noise=1.0,
                          record_every=5, random_state=0, progress=False)
    spec = measure_spectrum(ds.v_sp.isel(time=slice(500, None)), nperseg=500)
    f = spec.frequency.values[1:]
    pred = lattice_spectrum(cmc, f, shape=(6, 6), coupling=kappa).values
    err = np.log10(spec.values[1:] / pred)[f < 200]
    assert np.sqrt(np.mean(err**2)) < 0.05 and abs(err.mean()) < 0.02
