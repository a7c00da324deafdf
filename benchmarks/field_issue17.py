"""The figures of issue 17 (field theory on real electrophysiology) quoted in the docs.

Prints: cross-spectrum recovery of ``c`` on simulated ECoG grids (several seeds, with the
spread of the estimates against their Laplace standard errors); the speed of an
input-driven packet with ``m = gamma = 0``; leapfrog energy drift over 10,000 undamped
steps with and without a disc kernel; continuum against lattice dispersion at small ``k``
for each coupling option (largest deficit as a fraction of the stated bound); the
continuum limit of the spectral slope; the sensor-model comparison on the sample.

Run: ``PYTHONPATH=. python benchmarks/field_issue17.py [part ...]`` (parts: cross, packet,
energy, coupling, slope, sensors; default all; a few minutes).
"""

from __future__ import annotations

import sys

import numpy as np

import neurodata as nd
from neurodata.datasets import make_field_recording
from neurodata.field_theory import (
    CorticalFieldModel,
    DiscKernel,
    GaussianPointSpread,
    PointSensor,
    WilsonCowan,
    cfl_limit,
    continuum_limit,
    equipartition_spectrum,
    lattice_eigenvalues,
    solve_leapfrog,
    solve_spectral,
)
from neurodata.field_theory._coupling import kernel_offsets

M, C, GAMMA = 2 * np.pi * 8, 200.0, 40.0


def cross():
    for obs_true, fmax in ((None, 40.0), (GaussianPointSpread(width=0.4), 40.0)):
        rows = []
        for seed in range(8):
            rec = make_field_recording((6, 6), (48, 48), duration=10.0, dt=2e-3,
                                       sensor_noise=2e-5, observation=obs_true,
                                       random_state=100 + seed)
            obs = None if obs_true is None else GaussianPointSpread()
            m = CorticalFieldModel(observation=obs, fmax=fmax).fit(rec)
            rows.append([m.m_, m.stderr_["m"], m.c_, m.stderr_["c"], m.gamma_,
                         m.stderr_["gamma"]])
        r = np.array(rows)
        print(f"cross-spectrum fit, 6 x 6 grid 1 mm apart, 10 s, sensors {obs_true}, "
              f"band to {fmax} Hz, 8 seeds:")
        for i, (name, true) in enumerate((("m", M), ("c", C), ("gamma", GAMMA))):
            est, se = r[:, 2 * i], r[:, 2 * i + 1]
            print(f"  {name:5s} mean error {est.mean() / true - 1:+.2%}, worst "
                  f"{np.max(np.abs(est / true - 1)):.2%}; spread {est.std(ddof=1):.2f} vs "
                  f"mean Laplace stderr {se.mean():.2f}")


def packet():
    shape, c0 = (256, 4), 100.0
    xs = np.arange(shape[0])[:, None] * np.ones(shape[1])

    def pulse(t):
        return (np.exp(-((xs - 64) ** 2) / 32.0) * -(t - 0.07) / 1e-4
                * np.exp(-((t - 0.07) ** 2) / 2e-4))

    def speed(ds):
        cs = []
        for t in (0.3, 0.7):
            prof = ds.phi.mean("y").sel(time=t, method="nearest").values
            peak = 64 + np.argmax(prof[64:])
            win = slice(peak - 20, peak + 20)
            cs.append(np.sum(xs[win, 0] * prof[win]) / np.sum(prof[win]))
        return (cs[1] - cs[0]) / 0.4

    spec = solve_spectral(np.zeros(shape), m=0.0, c=c0, gamma=0.0, spacing=1.0,
                          times=np.arange(0, 801) * 1e-3, laplacian="spectral", source=pulse,
                          progress=False)
    lf = solve_leapfrog(np.zeros(shape), m=0.0, c=c0, gamma=0.0, spacing=1.0, dt=1e-3,
                        n_steps=800, record_every=100, source=pulse, progress=False)
    print(f"input-driven packet, m = gamma = 0, c = {c0}: spectral (continuum) "
          f"{speed(spec) / c0 - 1:+.2e}, leapfrog (lattice, dt = 1 ms) {speed(lf) / c0 - 1:+.2e}")


def energy():
    rng = np.random.default_rng(1)
    shape, m, c, a = (48, 40), 3.0, 2.0, 0.5
    phi0, vel0 = rng.standard_normal(shape), rng.standard_normal(shape)
    for lap in ("lattice", DiscKernel(2.5)):
        out = []
        for b in ("periodic", "neumann", "dirichlet"):
            dt = 0.9 * cfl_limit(m, c, shape, a, b, lap)
            ds = solve_leapfrog(phi0, vel0, m=m, c=c, gamma=0.0, spacing=a, boundary=b, dt=dt,
                                n_steps=10_000, record_every=1000, laplacian=lap,
                                progress=False)
            e = ds.energy.values[1:]
            out.append(f"{b} {np.abs(e / e[0] - 1).max():.1e}")
        print(f"undamped leapfrog, 10,000 steps at 0.9 CFL, {lap}: " + ", ".join(out))


def coupling():
    wc, kappa, a = WilsonCowan(), 40.0, 0.5
    for kernel, pathway in (("lattice", None), (DiscKernel(2.5), None), ("lattice", "E->E"),
                            (DiscKernel(2.5), "E->E")):
        p = continuum_limit(wc, kappa, a, kernel=kernel, pathway=pathway)
        ev = lattice_eigenvalues(wc, (128, 128), kappa, a, kernel=kernel, pathway=pathway)
        kx, ky = np.meshgrid(ev.kx.values, ev.ky.values, indexing="ij")
        k2 = kx**2 + ky**2
        sel = (np.sqrt(k2) * a <= 0.3) & (k2 > 0)
        s = ev.values[sel]
        w2 = np.real(s[:, 0] * s[:, 1])
        reach = np.sqrt((kernel_offsets(kernel)[0] ** 2).sum(axis=1).max())
        bound = (np.sqrt(k2[sel]) * reach * a) ** 2 / 12
        deficit = (p.m**2 + p.c**2 * k2[sel] - w2) / (p.c**2 * k2[sel])
        print(f"coupling {kernel!s:22s} {pathway or 'I->E':5s}: c {p.c:7.2f}, eta {p.eta:6.2f}; "
              f"lattice deficit / bound at k a <= 0.3: max {np.max(deficit / bound):.3f}, "
              f"min {np.min(deficit / bound):.3f}")


def slope():
    om = 2 * np.pi * 100.0
    f = np.array([99.9, 100.1])
    out = []
    for eps in (0.1, 0.03, 0.01, 0.003):
        p = equipartition_spectrum(f, m=eps * om, c=om / (eps * 2 * np.sqrt(np.pi)),
                                   gamma=eps * om, spacing=1.0).values
        out.append(f"{eps}: {np.log(p[1] / p[0]) / np.log(f[1] / f[0]):+.4f}")
    print("continuum limit of the local slope (m/w = gamma/w = w/w_max = eps): " + ", ".join(out))


def sensors():
    rec = nd.load_sample("sample_field", lazy=False)
    for obs in (PointSensor(), GaussianPointSpread()):
        m = CorticalFieldModel(observation=obs, fmax=60.0).fit(rec)
        extra = (f", width {m.observation_.width:.3f} +/- {m.stderr_['width']:.3f}"
                 if isinstance(obs, GaussianPointSpread) else "")
        print(f"sample_field, {type(obs).__name__:19s}: c {m.c_:.1f} +/- {m.stderr_['c']:.1f}, "
              f"m {m.m_:.1f} +/- {m.stderr_['m']:.1f}, gamma {m.gamma_:.1f} +/- "
              f"{m.stderr_['gamma']:.1f}{extra}; AIC {m.aic_:.0f}, BIC {m.bic_:.0f}")


PARTS = {"cross": cross, "packet": packet, "energy": energy, "coupling": coupling,
         "slope": slope, "sensors": sensors}

if __name__ == "__main__":
    for name in sys.argv[1:] or PARTS:
        PARTS[name]()
