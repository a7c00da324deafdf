"""Convergence table of the leapfrog solver (for docs/field_theory.rst).

Time: a fixed 32 x 32 lattice (domain 2 pi, m = c = 1, gamma = 0.3, T = 2), leapfrog
against the exact-in-time solution of the same lattice equations (``solve_spectral`` with
``laplacian="lattice"``).  Space: dt = dx / 4, leapfrog against the continuum equation
solved spectrally.  Max-norm errors at T and observed orders ``log2(e_h / e_{h/2})``.

Run: ``PYTHONPATH=. python benchmarks/field_convergence.py``
"""

from __future__ import annotations

import numpy as np

from neurodata.field_theory import solve_leapfrog, solve_spectral
from neurodata.field_theory._grid import site_coords

M, C, G, T, L = 1.0, 1.0, 0.3, 2.0, 2 * np.pi


def initial(n, boundary):
    a = L / (n + 1) if boundary == "dirichlet" else L / n
    x = site_coords(n, a, boundary)
    X, Y = np.meshgrid(x, x, indexing="ij")
    if boundary == "periodic":
        return np.exp(np.sin(X) + 0.5 * np.cos(Y)), a
    if boundary == "dirichlet":
        return np.sin(X / 2) ** 3 * np.sin(Y / 2) ** 3, a
    return np.cos(X / 2) ** 3 + np.cos(Y), a


def leapfrog_error(f, a, boundary, dt, laplacian):
    n = round(T / dt)
    ref = solve_spectral(f, m=M, c=C, gamma=G, spacing=a, boundary=boundary, times=[T],
                         laplacian=laplacian, progress=False).phi.values[-1]
    out = solve_leapfrog(f, m=M, c=C, gamma=G, spacing=a, boundary=boundary, dt=T / n,
                         n_steps=n, record_every=n, progress=False).phi.values[-1]
    return float(np.abs(out - ref).max())


def table(label, hs, errors):
    print(f"\n{label}")
    print(f"  {'h':>8s} {'max error':>11s} {'order':>6s}")
    for i, (h, e) in enumerate(zip(hs, errors)):
        order = f"{np.log2(errors[i - 1] / e):6.3f}" if i else "      "
        print(f"  {h:8.4f} {e:11.3e} {order}")


def main():
    for boundary in ("periodic", "dirichlet", "neumann"):
        f, a = initial(32, boundary)
        dts = [0.08, 0.04, 0.02, 0.01, 0.005]
        table(f"{boundary}: dt (32 x 32 lattice, dx = {a:.4f})", dts,
              [leapfrog_error(f, a, boundary, dt, "lattice") for dt in dts])
        ns = [16, 32, 64, 128]
        cases = [initial(n, boundary) for n in ns]
        table(f"{boundary}: dx (dt = dx/4, vs continuum)", [a for _, a in cases],
              [leapfrog_error(f, a, boundary, a / 4, "spectral") for f, a in cases])


if __name__ == "__main__":
    main()
