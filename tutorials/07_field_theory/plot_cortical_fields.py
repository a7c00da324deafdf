"""
Canonical cortical field theory: fitting a sensor recording, waves and spectra
==============================================================================

Cooray, Cooray & Friston (2023) place a neural mass on every site of a 2D lattice that
models the cortical sheet, couple neighbours, and take the continuum limit: the
linearised sheet becomes a damped Klein-Gordon field

.. math:: \\partial_t^2 \\phi + \\gamma \\partial_t \\phi = c^2 \\nabla^2 \\phi - m^2 \\phi
          + s(x, t),

whose mass :math:`m` is the frequency of the uniform mode, whose speed :math:`c` comes
from the coupling, and which afferent input :math:`s` drives. Driven by noise, every
eigenmode holds the same energy (equipartition), which predicts a :math:`1/f` spectrum
above the mass gap.

This tutorial starts from a recording: an ECoG-like electrode grid, shipped as an NWB
sample with the electrode positions in its electrodes table, over a simulated field with
known parameters, seen through electrodes that blur it over 0.4 mm. It fits the field and
the sensor model end to end, with uncertainty, and compares sensor models. Then it builds
the field from neural masses (coupling options), drives a wave packet with afferent
input, measures the dispersion, states the spectral slope honestly, and shows several
bilayers and a canonical microcircuit.
"""

# %%
# A sensor recording, from NWB to a fitted field
# ----------------------------------------------
# ``sample_field`` holds 10 s of a 6 x 6 grid of electrodes 1 mm apart, sampled at
# 500 Hz, over a noise-driven field with ``m = 2 pi 8 /s``, ``c = 200 mm/s`` and
# ``gamma = 40 /s`` (a 48 x 48 lattice of spacing 0.5 mm), recorded through a Gaussian
# point spread of 0.4 mm with white sensor noise. The cross-spectra of all electrode
# pairs, against their distances, identify the wave speed; the point spread's width is
# fitted with the field (``GaussianPointSpread()``: its width is left free).
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import neurodata as nd
from neurodata.datasets import make_cortical_sheet
from neurodata.field_theory import (
    EMPIRICAL_EXPONENTS,
    CanonicalMicrocircuit,
    CorticalFieldModel,
    DiscKernel,
    EIBilayers,
    GaussianPointSpread,
    PointSensor,
    StuartLandau,
    WilsonCowan,
    continuum_limit,
    continuum_limits,
    fit_field,
    lattice_eigenvalues,
    lattice_spectrum,
    linearise,
    plot_coherence,
    plot_dispersion,
    plot_spectrum,
    simulate_lattice,
    solve_leapfrog,
    solve_spectral,
    spectral_slope,
)

FAST = bool(os.environ.get("NEURODATA_FAST"))
plt.rcParams["figure.dpi"] = 80

rec = nd.load_sample("sample_field")
print(dict(rec.ecog.sizes), "electrode x (mm):", np.unique(rec.electrode_x.values))
model = CorticalFieldModel(observation=GaussianPointSpread(), fmax=60.0)
model.fit(rec, variable="ecog")
truth = {"m": 2 * np.pi * 8, "c": 200.0, "gamma": 40.0, "width": 0.4}
fitted = {"m": model.m_, "c": model.c_, "gamma": model.gamma_,
          "width": model.observation_.width}
for name, value in fitted.items():
    print(f"{name:6s} true {truth[name]:7.2f}   fitted {value:7.2f} +/- {model.stderr_[name]:.2f}")

# %%
# The cross-spectra oscillate with distance above the mass gap (propagating waves) and
# decay below it (evanescent); the wavenumber measured in each frequency band follows the
# fitted Klein-Gordon dispersion, and the site-averaged spectrum the fitted field seen
# through the electrodes. The lattice curves use the simulation's spacing (0.5 mm): at
# these wavenumbers they bend little below the continuum.
fig, axes = plt.subplots(1, 3, figsize=(15, 4), layout="constrained")
plot_coherence(model, ax=axes[0])
plot_dispersion(model, spacing=0.5, ax=axes[1])
plot_spectrum(model, ax=axes[2])
axes[0].set_title("cross-spectra vs distance")
axes[1].set_title("dispersion: measured, continuum, lattice")
axes[2].set_title("spectrum: measured vs fitted field")

# %%
# Uncertainty and model comparison
# --------------------------------
# The standard errors above come from a sandwich Laplace approximation whose variability
# is measured over the Welch segments (the residuals of all pairs are correlated). A
# bootstrap over segments gives a second opinion. Ideal point sensors, the alternative
# sensor model, fit worse: the composite-likelihood AIC and BIC (smaller is better)
# prefer the point spread. A single electrode's spectrum, by contrast, fixes the speed
# only in lattice spacings per second (``c / a``).
boot = CorticalFieldModel(observation=GaussianPointSpread(), fmax=60.0,
                          uncertainty="bootstrap", n_bootstrap=8 if FAST else 50,
                          random_state=0, progress=False).fit(rec)
for name in ("m", "c", "gamma", "width"):
    print(f"{name:6s} Laplace +/- {model.stderr_[name]:.3f}   bootstrap +/- "
          f"{boot.stderr_[name]:.3f}")
point = CorticalFieldModel(observation=PointSensor(), fmax=60.0).fit(rec)
print(f"AIC: point spread {model.aic_:.0f}, ideal points {point.aic_:.0f};  "
      f"BIC: {model.bic_:.0f} vs {point.bic_:.0f}")
single = CorticalFieldModel(method="spectrum", shape=(48, 48), floor=True,
                            observation=GaussianPointSpread(width=0.4))
single.fit(rec.isel(ecog_channel=[0]))
print(f"one electrode: c = {single.c_} (not identified), c / a = {single.c_over_a_:.0f} "
      f"spacings/s")
out = model.write_nwb(os.path.join(tempfile.mkdtemp(), "field_fit.nwb"))
print("fitted result written to", os.path.basename(out), "and read back:",
      sorted(nd.read_results(out)))

# %%
# From neural masses to a field, and the coupling
# -----------------------------------------------
# A Wilson-Cowan excitatory/inhibitory mass has a stable focus near 15 Hz. On a lattice
# each site's excitatory population receives ``kappa * sum(I_neighbour - I_site)``: with
# ``kappa > 0`` more inhibition at the neighbours *raises* a site's excitation, so
# neighbouring inhibition excites (this sign is what gives ``c^2 > 0``). Alternatives:
# excitation coupled to excitation (``"E->E"``, whose damping then grows with ``k``), and
# coupling over a disc of several sites rather than the four nearest neighbours. Each has
# its continuum parameters (:func:`~neurodata.field_theory.continuum_limit`), checked
# against the lattice's eigenvalues at small ``k``.
wc, kappa = WilsonCowan(), 150.0
field = continuum_limit(wc, kappa, spacing=1.0)
for label, kw in (("nearest, I->E", {}), ("nearest, E->E", {"pathway": "E->E"}),
                  ("disc r = 2.5, I->E", {"kernel": DiscKernel(2.5)})):
    p = continuum_limit(wc, kappa, spacing=1.0, **kw)
    ev = lattice_eigenvalues(wc, (64, 64), kappa, **kw).isel(kx=1, ky=0)  # k a = 0.098
    k2 = float(ev.kx) ** 2
    w2 = float(np.real(ev[0] * ev[1]))
    print(f"{label:19s} f0 = {p.f0:5.1f} Hz, c = {p.c:6.1f} mm/s, eta = {p.eta:6.1f}; "
          f"lattice vs continuum omega^2 at k a = 0.1: "
          f"{w2 / (p.m**2 + p.c**2 * k2) - 1:+.1e}")

# %%
# An input-driven wave packet travels at c
# ----------------------------------------
# Without mass or damping the continuum field is non-dispersive: every wave moves at
# ``c``. A line of afferent input across a strip (a Gaussian in ``x``, the derivative of a
# Gaussian pulse in time, ``source=``) launches two packets that keep their shape.
strip, c0 = (256, 4), 100.0
xs = np.arange(strip[0])[:, None] * np.ones(strip[1])


def pulse(t):
    return np.exp(-((xs - 64) ** 2) / 32.0) * -(t - 0.07) / 1e-4 * np.exp(-((t - 0.07) ** 2) / 2e-4)


packet = solve_spectral(np.zeros(strip), m=0.0, c=c0, gamma=0.0, spacing=1.0,
                        times=np.arange(0, 801) * 1e-3, laplacian="spectral", source=pulse,
                        progress=False)
profile = packet.phi.mean("y")
centroid = []
for t in (0.3, 0.7):
    prof = profile.sel(time=t, method="nearest").values
    peak = 64 + np.argmax(prof[64:])
    win = slice(peak - 20, peak + 20)
    centroid.append(np.sum(xs[win, 0] * prof[win]) / np.sum(prof[win]))
print(f"packet speed {(centroid[1] - centroid[0]) / 0.4:.2f} mm/s for c = {c0} mm/s")
fig, ax = plt.subplots(figsize=(6, 3))
for t in (0.1, 0.3, 0.5, 0.7):
    ax.plot(profile.x, profile.sel(time=t, method="nearest"), label=f"t = {t:.1f} s")
ax.set_xlabel("x (mm)")
ax.set_ylabel("phi")
ax.legend(fontsize=8)
lf = solve_leapfrog(np.random.default_rng(0).standard_normal((48, 48)), m=3.0, c=2.0,
                    gamma=0.0, spacing=0.5, dt=0.1, n_steps=2000 if FAST else 10_000,
                    record_every=1000, laplacian=DiscKernel(2.5), progress=False)
print(f"undamped leapfrog with a disc kernel: energy drift "
      f"{np.abs(lf.energy[1:] / lf.energy[1] - 1).max():.1e}")

# %%
# The dispersion relation, measured on a nonlinear lattice
# --------------------------------------------------------
# Each eigenmode of a noise-driven, nonlinear Wilson-Cowan lattice simulation is
# measured from its autocorrelation; ``omega_k`` follows the lattice dispersion, which
# bends below the continuum's ``sqrt(m^2 + c^2 k^2)`` as ``k a`` grows.
shape = (12, 12)
sim = simulate_lattice(wc, shape, coupling=kappa, dt=5e-4, duration=4.0 if FAST else 10.0,
                       noise=0.02, record_every=2, random_state=0, progress=False)
wc_model = CorticalFieldModel().fit(sim.E.isel(time=slice(200, None)))
plot_dispersion(wc_model)

# %%
# The spectral slope, stated honestly
# -----------------------------------
# With white noise the 2D field's spectrum falls as :math:`1/f` between the mass gap and
# the lattice cutoff: the number of modes per unit frequency grows like ``f`` while the
# power of each falls like ``1/f^2``. The slope tends to ``-1`` in the continuum limit and
# differs from it on a finite band and lattice; a Welch estimate of a simulation follows
# the lattice prediction. Recorded spectra are steeper (human ECoG below ~70 Hz:
# exponent 2.0 +/- 0.4, Miller et al. 2009, listed in ``EMPIRICAL_EXPONENTS``); an
# electrode's point spread, which removes short waves, is one way the field can give
# such a slope.
m, c, gamma, fs = 2 * np.pi * 5, 14 * 2 * np.pi * 5, np.pi * 5, 500.0
sheet = make_cortical_sheet((32, 32), m=m, c=c, gamma=gamma, duration=10.0 if FAST else 30.0,
                            dt=1 / fs, random_state=0)
sheet_model = CorticalFieldModel(nperseg=1000).fit(sheet.phi)
f_top = min(np.sqrt(m**2 + 8 * c**2) / (2 * np.pi), fs / 2)
band = (3 * m / (2 * np.pi), f_top / 4)
measured = spectral_slope(sheet_model.spectrum_, *band)
predicted = spectral_slope(sheet_model.predict_spectrum(sheet_model.spectrum_.frequency[1:],
                                                        fs=fs), *band)
ax = plot_spectrum(sheet_model)
ax.axvspan(*band, color="C3", alpha=0.1, label=f"slope {measured:.2f} in this band")
ax.legend(fontsize=8)
print(f"slope {band[0]:.0f}-{band[1]:.0f} Hz: Welch {measured:.3f}, lattice prediction "
      f"{predicted:.3f}; empirical: {EMPIRICAL_EXPONENTS}")

# %%
# Several bilayers and a canonical microcircuit
# ---------------------------------------------
# A mass with several oscillatory pairs carries one field per pair: two E-I bilayers with
# different time constants give two rhythms (a complex vector field with one component
# per bilayer, :func:`~neurodata.field_theory.complex_field`), and a four-population
# canonical microcircuit gives alpha and gamma peaks over an aperiodic part.
for f in continuum_limits(EIBilayers(), 150.0):
    print(f"bilayer field: f0 = {f.f0:5.1f} Hz, c = {f.c:5.1f} mm/s, gamma = {f.gamma:5.1f} /s")
freqs = np.linspace(1, 200, 400)
cmc_psd = lattice_spectrum(CanonicalMicrocircuit(), freqs, shape=(32, 32), coupling=300.0)
bl_psd = lattice_spectrum(EIBilayers(), freqs, shape=(32, 32), coupling=150.0)
fig, ax = plt.subplots(figsize=(5.5, 4))
ax.loglog(freqs, cmc_psd / cmc_psd[0], label="canonical microcircuit (v_sp)")
ax.loglog(freqs, bl_psd / bl_psd[0], label="two E-I bilayers (E)")
ax.set_xlabel("frequency (Hz)")
ax.set_ylabel("power (relative)")
ax.legend(fontsize=8)

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
