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
from neurodata.field_theory._forcing import noise_intensity, source_function
from neurodata.field_theory._grid import (
    BOUNDARY_CODE,
    check_boundary,
    check_shape,
    field_array,
    from_modes,
    laplacian_eigenvalues,
    lattice_laplacian,
    sheet_coords,
    spacing_from_coords,
    to_modes,
    wavenumbers,
)

#: Grids with more sites than this run the temporally blocked parallel kernel; smaller
#: ones (two levels of at most 4 MiB, which stay in the last-level cache) run the serial
#: kernel, which is faster there than a parallel sweep with a barrier every step.
BLOCKED_MIN_SITES = 512 * 512 + 1


def cfl_limit(m: float, c: float, shape: tuple[int, int], spacing: float, boundary: str,
              laplacian: Any = "lattice") -> float:
    """The largest stable leapfrog step ``2 / sqrt(m^2 + c^2 max mu_k)``.

    Examples
    --------
    >>> round(float(cfl_limit(0.0, 1.0, (64, 64), 1.0, "periodic")), 6)
    0.707107
    """
    if isinstance(laplacian, str) and laplacian == "lattice":
        # the largest 1D eigenvalues of the two axes add up
        mu_max = sum(float(np.max(np.sin(wavenumbers(n, spacing, boundary) * spacing / 2) ** 2))
                     for n in shape) * 4 / spacing**2
    else:
        mu_max = float(laplacian_eigenvalues(shape, spacing, boundary, laplacian).max())
    return float(2.0 / np.sqrt(m**2 + c**2 * mu_max))


def _coefficients(m, c, gamma, dt, a):
    w = (c * dt / a) ** 2
    d = 1.0 + 0.5 * gamma * dt
    return (2.0 - (m * dt) ** 2 - 4.0 * w) / d, (1.0 - 0.5 * gamma * dt) / d, w / d


def _operator(phi, boundary, laplacian, spacing):
    """``Lh phi``: the (normalised) Laplacian of the scheme, in units of 1 / length^2."""
    if isinstance(laplacian, str) and laplacian == "lattice":
        return lattice_laplacian(phi, boundary) / spacing**2
    mu = laplacian_eigenvalues(phi.shape[-2:], spacing, boundary, laplacian)
    return from_modes(-mu * to_modes(phi, boundary), boundary)


def discrete_energy(phi_prev, phi_next, *, m, c, dt, spacing, boundary,
                    laplacian: Any = "lattice") -> float:
    """The leapfrog's conserved energy ``E^{n+1/2}`` from two consecutive levels.

    ``A = m^2 - c^2 Lh`` with ``Lh`` the scheme's Laplacian (five-point, or the normalised
    kernel or spectral Laplacian given as ``laplacian``).

    Examples
    --------
    >>> phi = np.zeros((8, 8)); phi[4, 4] = 1.0
    >>> discrete_energy(phi, phi, m=1.0, c=1.0, dt=0.1, spacing=1.0, boundary="periodic")
    2.5
    """
    a = float(spacing)
    aphi = m**2 * phi_prev - c**2 * _operator(phi_prev, boundary, laplacian, a)
    kinetic = 0.5 * np.sum((phi_next - phi_prev) ** 2) / dt**2
    return float(a**2 * (kinetic + 0.5 * np.sum(phi_next * aphi)))


def _validate(m, c, gamma, dt, shape, a, boundary, noise, laplacian):
    for name, v in (("m", m), ("c", c), ("gamma", gamma), ("noise", noise)):
        if not np.isfinite(v) or v < 0:
            raise NeurodataError(f"{name} must be a finite number >= 0; got {v}.")
    limit = cfl_limit(m, c, shape, a, boundary, laplacian)
    if not dt > 0 or dt >= limit:
        raise UnstableDynamicsError(
            f"dt={dt} violates the CFL condition of the leapfrog scheme: it needs "
            f"0 < dt < 2/sqrt(m^2 + c^2 max mu_k) = {limit:.6g} s for m={m}, c={c}, "
            f"spacing={a}. Reduce dt (or coarsen the grid)."
        )


def _start(phi0, pi0, m, c, gamma, dt, a, boundary, laplacian, force0):
    acc = c**2 * _operator(phi0, boundary, laplacian, a) - m**2 * phi0 - gamma * pi0 + force0
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

    def levels(self):
        """``(old, cur)``: the two newest levels on the sites."""
        return self.old, self.cur


class _ModeStepper:
    """The same scheme for any Laplacian diagonal in the boundary's eigenbasis, mode by mode.

    ``new_k = A_k cur_k - B old_k (+ force_k)`` with ``A_k = (2 - dt^2 (m^2 + c^2 mu_k)) / d``,
    ``B = (1 - gamma dt / 2) / d``, ``d = 1 + gamma dt / 2``: the site-space scheme with
    ``Lh`` diagonalised (the transform is orthonormal, so the discrete energy is the same).
    """

    def __init__(self, cur, old, m, c, gamma, dt, a, boundary, laplacian):
        self.boundary = boundary
        mu = laplacian_eigenvalues(cur.shape, a, boundary, laplacian)
        d = 1.0 + 0.5 * gamma * dt
        self.a_k = (2.0 - dt**2 * (m**2 + c**2 * mu)) / d
        self.b = (1.0 - 0.5 * gamma * dt) / d
        self.cur_k, self.old_k = to_modes(cur, boundary), to_modes(old, boundary)

    def advance(self, n):
        cur, old = self.cur_k, self.old_k
        for _ in range(n):
            old = self.a_k * cur - self.b * old
            cur, old = old, cur
        self.cur_k, self.old_k = cur, old

    def forced(self, force):
        new = self.a_k * self.cur_k - self.b * self.old_k + to_modes(force, self.boundary)
        self.cur_k, self.old_k = new, self.cur_k

    def levels(self):
        return from_modes(self.old_k, self.boundary), from_modes(self.cur_k, self.boundary)


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
    temperature: float | None = None,
    source: Any = None,
    laplacian: Any = "lattice",
    random_state: int | np.random.Generator | None = None,
    time_block: int = 16,
    progress: bool | None = None,
) -> xr.Dataset:
    """Integrate ``phi_tt + gamma phi_t = c^2 lap phi - m^2 phi + s + sigma xi`` by leapfrog.

    Parameters
    ----------
    initial : array (nx, ny) or DataArray (x, y)
        ``phi`` at ``t = 0``.
    velocity : array (nx, ny), DataArray or None
        ``dphi/dt`` at ``t = 0`` (zero when None).
    m, c, gamma : float
        Mass (rad/s), wave speed, damping (1/s); ``gamma = 0`` is the conservative field.
    spacing : float or None
        Grid spacing ``a``; taken from the DataArray's coordinates when None (else 1).
    boundary : {"periodic", "dirichlet", "neumann"}
    dt : float
        Time step; must satisfy the CFL condition (checked before the run).
    n_steps, record_every : int
        Number of steps; keep every ``record_every``-th level (``t = 0`` is always kept).
    noise : float
        ``sigma``: independent white noise on every site, added to the acceleration.
    temperature : float or None
        Instead of ``noise``: ``sigma^2 = 2 gamma T`` (each mode's mean energy ``T``).
    source : callable, DataArray (time, x, y), array (nx, ny) or None
        Afferent input ``s(x, t)`` added to the acceleration (see :mod:`._forcing`), taken
        at every step's time ``t_n``.
    laplacian : "lattice", "spectral" or DiscKernel
        The five-point stencil (numba kernels), the continuum ``|k|^2``, or a coupling kernel
        (its normalised Laplacian); the last two are stepped mode by mode.
    random_state : int, Generator or None
    time_block : int
        Steps per sweep of the temporally blocked parallel kernel (grids larger than
        512 x 512, without noise or input); results do not depend on it, bit for bit.
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
    m, c, gamma, dt = float(m), float(c), float(gamma), float(dt)
    noise = noise_intensity(noise, temperature, gamma)
    _validate(m, c, gamma, dt, shape, a, boundary, noise, laplacian)
    n_steps, record_every = int(n_steps), int(record_every)
    if n_steps < 0 or record_every < 1:
        raise NeurodataError(f"n_steps must be >= 0 and record_every >= 1; got {n_steps}, "
                             f"{record_every}.")
    inp = source_function(source, shape)
    start = _start(phi0, pi0, m, c, gamma, dt, a, boundary, laplacian,
                   inp(0.0) if inp is not None else 0.0)
    if isinstance(laplacian, str) and laplacian == "lattice":
        stepper: Any = _Stepper(phi0, start, _coefficients(m, c, gamma, dt, a), boundary,
                                time_block)
    else:
        stepper = _ModeStepper(phi0, start, m, c, gamma, dt, a, boundary, laplacian)
    rng = check_random_state(random_state)
    scale = dt**2 / (1.0 + 0.5 * gamma * dt)
    frames, energy = [phi0.copy()], [np.nan]
    done = 0
    with progress_bar(total=n_steps, progress=progress, desc="leapfrog") as bar:
        while done < n_steps:
            chunk = min(record_every - done % record_every, n_steps - done)
            if noise or inp is not None:
                for i in range(chunk):
                    force = np.zeros(shape) if inp is None else scale * inp((done + i) * dt)
                    if noise:
                        force += scale * noise / np.sqrt(dt) * rng.standard_normal(shape)
                    stepper.forced(force)
            else:
                stepper.advance(chunk)
            done += chunk
            bar.update(chunk)
            if done % record_every == 0:
                old, cur = stepper.levels()
                frames.append(cur.copy())
                energy.append(discrete_energy(old, cur, m=m, c=c, dt=dt, spacing=a,
                                              boundary=boundary, laplacian=laplacian))
    times = np.arange(len(frames)) * dt * record_every
    return xr.Dataset(
        {"phi": (("time", "x", "y"), np.stack(frames)), "energy": ("time", np.array(energy))},
        coords={"time": times, **sheet_coords(shape, a, boundary)},
        attrs={"solver": "leapfrog", "m": m, "c": c, "gamma": gamma, "dt": dt, "noise": noise,
               "spacing": a, "boundary": boundary, "record_every": record_every,
               "laplacian": str(laplacian), "driven": inp is not None},
    )
