"""Symplectic leapfrog finite-difference solver of the damped Klein-Gordon field.

Scheme (centred in time and space, second order in both):

    (phi^{n+1} - 2 phi^n + phi^{n-1}) / dt^2 + gamma (phi^{n+1} - phi^{n-1}) / (2 dt)
        = c^2 Lh phi^n - m^2 phi^n + sigma xi^n / sqrt(dt),

with ``Lh`` the five-point Laplacian divided by ``a^2``.  Without damping and noise it is
the Stormer-Verlet method, symplectic, and it conserves exactly (up to round-off) the
discrete energy

    E^{n+1/2} = a^2 sum_sites [ (phi^{n+1} - phi^n)^2 / (2 dt^2) + phi^{n+1} (A phi^n) / 2 ],

``A = m^2 - c^2 Lh`` (symmetric under all three boundary conditions).  It is stable iff
``dt < 2 / sqrt(m^2 + c^2 max mu_k)`` (the CFL condition; ``max mu_k`` is just below
``8 / a^2``).  The start uses ``phi^{-1} = phi^0 - dt pi^0 + dt^2/2 (c^2 Lh phi^0 - m^2 phi^0
- gamma pi^0)``, which keeps second order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodata._utils import check_random_state, progress_bar
from neurodata.errors import NeurodataError, UnstableDynamicsError
from neurodata.field_theory import _kernels as K
from neurodata.field_theory._grid import (
    BOUNDARY_CODE,
    check_boundary,
    check_shape,
    field_array,
    lattice_laplacian,
    sheet_coords,
    spacing_from_coords,
    wavenumbers,
)

#: Grids with more sites than this run the temporally blocked parallel kernel; smaller
#: ones (two levels of at most 4 MiB, which stay in the last-level cache) run the serial
#: kernel, which is faster there than a parallel sweep with a barrier every step.
BLOCKED_MIN_SITES = 512 * 512 + 1


def cfl_limit(m: float, c: float, shape: tuple[int, int], spacing: float, boundary: str) -> float:
    """The largest stable leapfrog step ``2 / sqrt(m^2 + c^2 max mu_k)``.

    Examples
    --------
    >>> round(float(cfl_limit(0.0, 1.0, (64, 64), 1.0, "periodic")), 6)
    0.707107
    """
    # the largest 1D eigenvalues of the two axes add up
    mu_max = sum(float(np.max(np.sin(wavenumbers(n, spacing, boundary) * spacing / 2) ** 2))
                 for n in shape) * 4 / spacing**2
    return float(2.0 / np.sqrt(m**2 + c**2 * mu_max))


def _coefficients(m, c, gamma, dt, a):
    w = (c * dt / a) ** 2
    d = 1.0 + 0.5 * gamma * dt
    return (2.0 - (m * dt) ** 2 - 4.0 * w) / d, (1.0 - 0.5 * gamma * dt) / d, w / d


def discrete_energy(phi_prev, phi_next, *, m, c, dt, spacing, boundary) -> float:
    """The leapfrog's conserved energy ``E^{n+1/2}`` from two consecutive levels.

    Examples
    --------
    >>> phi = np.zeros((8, 8)); phi[4, 4] = 1.0
    >>> discrete_energy(phi, phi, m=1.0, c=1.0, dt=0.1, spacing=1.0, boundary="periodic")
    2.5
    """
    a = float(spacing)
    aphi = m**2 * phi_prev - (c / a) ** 2 * lattice_laplacian(phi_prev, boundary)
    kinetic = 0.5 * np.sum((phi_next - phi_prev) ** 2) / dt**2
    return float(a**2 * (kinetic + 0.5 * np.sum(phi_next * aphi)))


def _validate(m, c, gamma, dt, shape, a, boundary, noise):
    for name, v in (("m", m), ("c", c), ("gamma", gamma), ("noise", noise)):
        if not np.isfinite(v) or v < 0:
            raise NeurodataError(f"{name} must be a finite number >= 0; got {v}.")
    limit = cfl_limit(m, c, shape, a, boundary)
    if not dt > 0 or dt >= limit:
        raise UnstableDynamicsError(
            f"dt={dt} violates the CFL condition of the leapfrog scheme: it needs "
            f"0 < dt < 2/sqrt(m^2 + c^2 max mu_k) = {limit:.6g} s for m={m}, c={c}, "
            f"spacing={a}. Reduce dt (or coarsen the grid)."
        )


def _start(phi0, pi0, m, c, gamma, dt, a, boundary):
    acc = (c / a) ** 2 * lattice_laplacian(phi0, boundary) - m**2 * phi0 - gamma * pi0
    return phi0 - dt * pi0 + 0.5 * dt**2 * acc


class _Stepper:
    """Holds the two levels and advances them with the fastest kernel for the grid."""

    def __init__(self, cur, old, coef, boundary, time_block):
        self.cur, self.old = np.ascontiguousarray(cur), np.ascontiguousarray(old)
        self.coef = coef
        self.bc = BOUNDARY_CODE[boundary]
        self.time_block = int(time_block)
        self.blocked = self.cur.size >= BLOCKED_MIN_SITES and self.time_block > 1
        if self.blocked:
            self.spare = (np.empty_like(self.cur), np.empty_like(self.old))

    def advance(self, n):
        a, b, w = self.coef
        if not self.blocked:
            if K.leapfrog_serial(self.cur, self.old, a, b, w, n, self.bc, self.bc):
                self.cur, self.old = self.old, self.cur
            return
        block = 64 if self.cur.shape[0] >= 256 else 32
        while n > 0:
            t = min(self.time_block, n)
            out_cur, out_old = self.spare
            K.leapfrog_blocked(self.cur, self.old, out_cur, out_old, a, b, w, t, self.bc, self.bc,
                               block)
            self.spare = (self.cur, self.old)
            self.cur, self.old = out_cur, out_old
            n -= t

    def forced(self, force):
        a, b, w = self.coef
        K.leapfrog_forced_step(self.cur, self.old, a, b, w, force, self.bc, self.bc)
        self.cur, self.old = self.old, self.cur


def solve_leapfrog(
    initial: Any,
    velocity: Any = None,
    *,
    m: float,
    c: float,
    gamma: float = 0.0,
    spacing: float | None = None,
    boundary: str = "periodic",
    dt: float,
    n_steps: int,
    record_every: int = 1,
    noise: float = 0.0,
    random_state: int | np.random.Generator | None = None,
    time_block: int = 16,
    progress: bool | None = None,
) -> xr.Dataset:
    """Integrate ``phi_tt + gamma phi_t = c^2 lap phi - m^2 phi (+ sigma xi)`` by leapfrog.

    Parameters
    ----------
    initial : array (nx, ny) or DataArray (x, y)
        ``phi`` at ``t = 0``.
    velocity : array (nx, ny), DataArray or None
        ``dphi/dt`` at ``t = 0`` (zero when None).
    m, c, gamma : float
        Mass (rad/s), wave speed, damping (1/s).
    spacing : float or None
        Grid spacing ``a``; taken from the DataArray's coordinates when None (else 1).
    boundary : {"periodic", "dirichlet", "neumann"}
    dt : float
        Time step; must satisfy the CFL condition (checked before the run).
    n_steps, record_every : int
        Number of steps; keep every ``record_every``-th level (``t = 0`` is always kept).
    noise : float
        ``sigma``: independent white noise on every site, added to the acceleration.
    random_state : int, Generator or None
    time_block : int
        Steps per sweep of the temporally blocked parallel kernel (grids larger than
        512 x 512, without noise); results do not depend on it, bit for bit.
    progress : bool or None
        Show a progress bar (None: automatically, where someone is watching).

    Returns
    -------
    xarray.Dataset
        ``phi (time, x, y)`` and ``energy (time)``, the conserved discrete energy
        ``E^{n-1/2}`` of the two levels ending at each recorded time (NaN at ``t = 0``).

    Raises
    ------
    UnstableDynamicsError
        If ``dt`` violates the CFL condition.

    Examples
    --------
    >>> x = np.arange(32)
    >>> phi0 = np.cos(2 * np.pi * x / 32)[:, None] * np.ones(32)
    >>> ds = solve_leapfrog(phi0, m=1.0, c=1.0, dt=0.1, n_steps=100, record_every=50,
    ...                     progress=False)
    >>> ds.phi.dims, ds.sizes["time"]
    (('time', 'x', 'y'), 3)
    >>> abs(float(ds.energy[2] / ds.energy[1]) - 1) < 1e-12
    True
    """
    boundary = check_boundary(boundary)
    phi0 = field_array(initial, None, "initial")
    shape = phi0.shape
    check_shape(shape)
    a = spacing_from_coords(initial, spacing)
    pi0 = np.zeros(shape) if velocity is None else field_array(velocity, shape, "velocity")
    m, c, gamma, dt, noise = float(m), float(c), float(gamma), float(dt), float(noise)
    _validate(m, c, gamma, dt, shape, a, boundary, noise)
    n_steps, record_every = int(n_steps), int(record_every)
    if n_steps < 0 or record_every < 1:
        raise NeurodataError(f"n_steps must be >= 0 and record_every >= 1; got {n_steps}, "
                             f"{record_every}.")
    coef = _coefficients(m, c, gamma, dt, a)
    stepper = _Stepper(phi0, _start(phi0, pi0, m, c, gamma, dt, a, boundary), coef, boundary,
                       time_block)
    rng = check_random_state(random_state)
    force_amp = noise * dt**1.5 / (1.0 + 0.5 * gamma * dt)
    frames, energy = [phi0.copy()], [np.nan]
    done = 0
    with progress_bar(total=n_steps, progress=progress, desc="leapfrog") as bar:
        while done < n_steps:
            chunk = min(record_every - done % record_every, n_steps - done)
            if force_amp:
                for _ in range(chunk):
                    stepper.forced(force_amp * rng.standard_normal(shape))
            else:
                stepper.advance(chunk)
            done += chunk
            bar.update(chunk)
            if done % record_every == 0:
                frames.append(stepper.cur.copy())
                energy.append(discrete_energy(stepper.old, stepper.cur, m=m, c=c, dt=dt,
                                              spacing=a, boundary=boundary))
    times = np.arange(len(frames)) * dt * record_every
    return xr.Dataset(
        {"phi": (("time", "x", "y"), np.stack(frames)), "energy": ("time", np.array(energy))},
        coords={"time": times, **sheet_coords(shape, a, boundary)},
        attrs={"solver": "leapfrog", "m": m, "c": c, "gamma": gamma, "dt": dt, "noise": noise,
               "spacing": a, "boundary": boundary, "record_every": record_every},
    )
