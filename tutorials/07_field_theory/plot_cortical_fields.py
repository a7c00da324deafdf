"""
Canonical cortical field theory: waves, dispersion and the 1/f spectrum
=======================================================================

Cooray, Cooray & Friston (2023) place a neural mass on every site of a 2D lattice that
models the cortical sheet, couple neighbours, and take the continuum limit: the
linearised sheet becomes a damped Klein-Gordon field

.. math:: \\partial_t^2 \\phi + \\gamma \\partial_t \\phi = c^2 \\nabla^2 \\phi - m^2 \\phi,

whose mass :math:`m` is the frequency of the uniform mode and whose speed :math:`c`
comes from the coupling. Driven by noise, every eigenmode of the field holds the same
energy (equipartition), which predicts a :math:`1/f` power spectrum above the mass gap.

This tutorial starts from a recording: an ECoG-like electrode grid (shipped as an NWB
sample, electrode positions in its electrodes table) over a simulated field with known
parameters. It fits the field to it, then builds the field from a Wilson-Cowan lattice,
shows a travelling wave, the dispersion relation, the spectrum with its equipartition
prediction, and the invariance of the field to the choice of neural mass.
"""

# %%
# Fitting the field to a recording
# --------------------------------
# ``sample_field`` holds 10 s of a 6 x 6 grid of electrodes 1 mm apart (500 Hz) over a
# noise-driven field with ``m = 2 pi 8 /s``, ``c = 200 mm/s`` and ``gamma = 40 /s``,
# simulated on a 48 x 48 lattice of spacing 0.5 mm. The equipartition spectrum of that
# lattice, fitted to the recording's spectrum, recovers the field. A single spectrum
# fixes the speed only in lattice spacings per second (``c / a``): the spacing is needed
# to state ``c`` in mm/s.
import os

import matplotlib.pyplot as plt
import numpy as np

import neurodata as nd
from neurodata.datasets import make_cortical_sheet
from neurodata.field_theory import (
    CorticalFieldModel,
    StuartLandau,
    WilsonCowan,
    continuum_limit,
    fit_field,
    linearise,
    plot_dispersion,
    plot_spectrum,
    simulate_lattice,
    solve_leapfrog,
    spectral_slope,
)

FAST = bool(os.environ.get("NEURODATA_FAST"))
plt.rcParams["figure.dpi"] = 80

rec = nd.load_sample("sample_field")
print(rec.ecog.sizes, "electrode x (mm):", np.unique(rec.electrode_x.values))
model = CorticalFieldModel(method="spectrum", shape=(48, 48), spacing=0.5, floor=True)
model.fit(rec, variable="ecog")
print(f"true:   m = {2 * np.pi * 8:.1f} /s, c = 200 mm/s, gamma = 40.0 /s")
print(f"fitted: m = {model.m_:.1f} /s, c = {model.c_:.0f} mm/s, gamma = {model.gamma_:.1f} /s "
      f"(c / a = {model.c_over_a_:.0f} spacings/s)")
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
plot_spectrum(model, ax=ax1)
plot_dispersion(model, ax=ax2)
ax1.set_title("spectrum: measured vs equipartition")
ax2.set_title("dispersion of the fitted field")

# %%
# From neural masses to a field
# -----------------------------
# A Wilson-Cowan excitatory/inhibitory mass has a stable focus near 15 Hz. On a lattice
# with spacing ``a`` (here 1 mm) each site's excitatory population receives
# ``kappa * sum(I_neighbour - I_site)``. :func:`~neurodata.field_theory.continuum_limit`
# linearises the mass and returns the field's parameters.
wc, kappa = WilsonCowan(), 150.0
field = continuum_limit(wc, kappa, spacing=1.0)
print(f"Wilson-Cowan lattice -> Klein-Gordon field: f0 = m/2pi = {field.f0:.1f} Hz, "
      f"c = {field.c:.0f} mm/s, gamma = {field.gamma:.1f} /s")

# %%
# A travelling wave
# -----------------
# A wave packet with carrier wavenumber ``k0`` moves at the group velocity
# ``d omega / dk`` (and spreads, since the field is dispersive): ``c^2 k0 / omega(k0)``
# in the continuum, ``c^2 sin(k0 a) / (a omega_lattice(k0))`` on the lattice. We launch
# one on a periodic 128 x 64 mm sheet with the symplectic leapfrog solver (undamped here,
# so that the wave is easy to follow) and show frames.
n_x, n_y = 128, 64
x = np.arange(n_x)[:, None] * 1.0
y = np.arange(n_y)[None, :] * 1.0
k0 = 2 * np.pi / 10.0
omega0 = float(np.sqrt(field.m**2 + 4 * field.c**2 * np.sin(k0 / 2) ** 2))  # lattice, a = 1
envelope = np.exp(-((x - 20) ** 2 + (y - n_y / 2) ** 2) / (2 * 7.0**2))
phi0 = envelope * np.cos(k0 * x)
vel0 = omega0 * envelope * np.sin(k0 * x)  # moves towards +x
dt, frames_every = 1e-3, 150
waves = solve_leapfrog(phi0, vel0, m=field.m, c=field.c, gamma=0.0, spacing=1.0, dt=dt,
                       n_steps=5 * frames_every, record_every=frames_every, progress=False)
v_group = field.c**2 * np.sin(k0) / omega0
v_continuum = field.c**2 * k0 / float(field.omega(k0**2))
fig, axes = plt.subplots(2, 3, figsize=(12, 4.6), sharex=True, sharey=True)
for ax, t in zip(axes.ravel(), waves.time.values):
    ax.imshow(waves.phi.sel(time=t).T, origin="lower", cmap="RdBu_r", vmin=-0.6, vmax=0.6,
              extent=(0, n_x, 0, n_y))
    ax.axvline(20 + v_group * t, color="k", lw=0.8, ls="--")
    ax.set_title(f"t = {1e3 * t:.0f} ms", fontsize=9)
for ax in axes[1]:
    ax.set_xlabel("x (mm)")
for ax in axes[:, 0]:
    ax.set_ylabel("y (mm)")
fig.suptitle(f"A wave packet travels at the lattice group velocity {v_group / 1e3:.3f} m/s "
             f"(dashed; continuum: {v_continuum / 1e3:.3f} m/s)")
rel = float(waves.energy[-1] / waves.energy[1] - 1)
print(f"relative change of the leapfrog's discrete energy: {rel:.1e}")

# %%
# The dispersion relation
# -----------------------
# On the lattice ``omega^2 = m^2 + c^2 mu_k`` with ``mu_k = (4/a^2)[sin^2(kx a/2) +
# sin^2(ky a/2)]``: along the axes and the diagonal (left) it bends below the
# continuum's ``m^2 + c^2 |k|^2`` as ``k a`` grows. Each eigenmode of a noise-driven,
# nonlinear Wilson-Cowan lattice simulation is measured from its autocorrelation
# (:func:`~neurodata.field_theory.estimate_mode_dispersion`, through
# :class:`~neurodata.field_theory.CorticalFieldModel`); ``omega_k^2`` falls on the
# predicted straight line against ``mu_k`` (right).
shape = (12, 12)
sim = simulate_lattice(wc, shape, coupling=kappa, dt=5e-4, duration=4.0 if FAST else 10.0,
                       noise=0.02, record_every=2, random_state=0, progress=False)
wc_model = CorticalFieldModel().fit(sim.E.isel(time=slice(200, None)))
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
plot_dispersion(wc_model, ax=ax1)
modes = wc_model.modes_
mu = np.linspace(0, 8, 50)
ax2.plot(mu, field.m**2 + field.c**2 * mu, label="m^2 + c^2 mu (continuum limit)")
ax2.plot(modes.mu, modes.omega2, ".", label="measured modes (simulation)")
ax2.set_xlabel("mu_k (1/mm^2)")
ax2.set_ylabel("omega_k^2 (1/s^2)")
ax2.legend(fontsize=8)

# %%
# The equipartition spectrum
# --------------------------
# Driven by white noise, each eigenmode holds the energy ``sigma^2 / 2 gamma``; the power
# at a site is the sum over modes of their Lorentzians. Between the mass gap ``f0`` and
# the lattice cutoff the spectrum falls as 1/f. We simulate a 32 x 32 sheet exactly in
# time and compare its Welch spectrum with the prediction.
m, c, gamma, fs = 2 * np.pi * 5, 14 * 2 * np.pi * 5, np.pi * 5, 500.0
sheet = make_cortical_sheet((32, 32), m=m, c=c, gamma=gamma, duration=10.0 if FAST else 30.0,
                            dt=1 / fs, random_state=0)
sheet_model = CorticalFieldModel(nperseg=1000).fit(sheet.phi)
f_top = min(np.sqrt(m**2 + 8 * c**2) / (2 * np.pi), fs / 2)
band = (3 * m / (2 * np.pi), f_top / 4)
slope = spectral_slope(sheet_model.spectrum_, *band)
ax = plot_spectrum(sheet_model)
ax.axvspan(*band, color="C3", alpha=0.1, label=f"slope {slope:.2f} in this band")
ax.legend(fontsize=8)
print(f"spectral slope between {band[0]:.0f} and {band[1]:.0f} Hz: {slope:.2f}")

# %%
# One field, whatever the neural mass
# -----------------------------------
# A Stuart-Landau oscillator with the Wilson-Cowan focus's eigenvalues, coupled so that
# its field has the same speed, is topologically equivalent: fitted to simulations of
# the two (nonlinear) lattices, the field parameters agree.
lin = linearise(wc)
sl = StuartLandau(lam=lin.eigenvalues[0].real, omega=lin.eigenvalues[0].imag)
kappa_sl = kappa * lin.jacobian[1, 0] / sl.omega
sl_sim = simulate_lattice(sl, shape, coupling=kappa_sl, dt=5e-4,
                          duration=4.0 if FAST else 10.0, noise=0.02, record_every=2,
                          random_state=0, progress=False)
for name, data in (("Wilson-Cowan", sim), ("Stuart-Landau", sl_sim)):
    p = fit_field(data.isel(time=slice(200, None)))
    print(f"{name:14s} fitted: m = {p.m:6.1f} /s, c = {p.c:6.1f} mm/s, gamma = {p.gamma:5.1f} /s")
print(f"{'predicted':14s}        m = {field.m:6.1f} /s, c = {field.c:6.1f} mm/s, "
      f"gamma = {field.gamma:5.1f} /s")
plt.show()
