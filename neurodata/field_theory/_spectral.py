"""Spectral solver of the damped, driven Klein-Gordon field, exact in time.

The field is expanded in the eigenmodes of the Laplacian under the boundary condition
(FFT for periodic, type-I DST for Dirichlet, type-II DCT for Neumann; see :mod:`._grid`).
Each mode is a damped oscillator ``phi_k'' + gamma_k phi_k' + omega_k^2 phi_k = sigma xi_k``
with ``omega_k^2 = m^2 + c^2 mu_k`` and ``gamma_k = gamma + eta mu_k``, where ``mu_k`` is
``|k|^2`` (``laplacian="spectral"``: the continuum equation, spectrally accurate in space)
or the five-point stencil's ``(4/a^2) sum sin^2(k a/2)`` (``laplacian="lattice"``: the
exact solution of the lattice equations, the reference for the leapfrog solver).

Without noise each mode is advanced by its closed-form propagator to every requested time
(no time stepping at all).  With noise (``sigma`` white noise per site, independent in
time) the modes are advanced between recorded times by the exact transition of the
linear SDE: ``x_{n+1} = Phi(h) x_n + chol(Q(h)) z`` with ``Q(h)`` from Van Loan's matrix
exponential.  The noise is drawn on the sites and transformed with the same orthonormal
transform, so the output is exactly distributed as the continuous-time process sampled
at the recorded times.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as sla
import xarray as xr

from neurodata._utils import check_random_state, progress_bar
from neurodata.errors import NeurodataError
from neurodata.field_theory import _kernels as K
from neurodata.field_theory._forcing import noise_intensity, source_function
from neurodata.field_theory._grid import (
    check_boundary,
    check_shape,
    field_array,
    from_modes,
    laplacian_eigenvalues,
    sheet_coords,
    spacing_from_coords,
    to_modes,
)

_CHUNK = 1024


def propagator(w2, g, t):
    """``(e^{-g t/2} C, e^{-g t/2} S)`` of the damped oscillator, all damping regimes.

    ``phi(t) = EC phi0 + ES (pi0 + g phi0 / 2)`` and
    ``pi(t) = EC pi0 - ES (w2 phi0 + g pi0 / 2)``, where ``C = cos(W t)``,
    ``S = sin(W t) / W`` and ``W^2 = w2 - g^2/4`` (hyperbolic when negative).

    Examples
    --------
    >>> ec, es = propagator(np.array([4.0]), np.array([0.0]), np.pi / 2)
    >>> np.round(ec, 12), np.round(es, 12)
    (array([-1.]), array([0.]))
    """
    w2, g, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (w2, g, t)))
    big2 = w2 - g**2 / 4
    out_c, out_s = np.empty_like(t), np.empty_like(t)
    under = big2 > 0
    omega = np.sqrt(np.where(under, big2, 1.0))
    decay = np.exp(-0.5 * g * t)
    out_c[under] = (decay * np.cos(omega * t))[under]
    out_s[under] = (decay * np.sin(omega * t) / omega)[under]
    over = ~under
    beta = np.sqrt(np.where(over, -big2, 0.0))
    slow = np.exp((beta - 0.5 * g) * t)
    fast = np.exp(-(beta + 0.5 * g) * t)
    safe = np.where(beta > 0, beta, 1.0)
    hyper_s = np.where(beta > 0, fast * np.expm1(2 * beta * t) / (2 * safe), t * decay)
    out_c[over] = (0.5 * (slow + fast))[over]
    out_s[over] = hyper_s[over]
    return out_c, out_s


def transition(w2, g, h):
    """The 2x2 transition matrices ``Phi(h)`` of ``(phi, pi)`` for every mode: shape (..., 2, 2)."""
    ec, es = propagator(w2, g, h)
    g = np.broadcast_to(g, ec.shape)
    w2 = np.broadcast_to(w2, ec.shape)
    return np.stack([np.stack([ec + 0.5 * g * es, es], -1),
                     np.stack([-w2 * es, ec - 0.5 * g * es], -1)], -2)


def _van_loan(w2, g, h, sigma):
    """``Q(h)`` by Van Loan's matrix exponential, for arrays of distinct ``(w2, g)``."""
    n = w2.size
    big = np.zeros((n, 4, 4))
    big[:, 0, 1] = -1.0
    big[:, 1, 0] = w2
    big[:, 1, 1] = g
    big[:, 1, 3] = sigma**2
    big[:, 2, 3] = -w2
    big[:, 3, 2] = 1.0
    big[:, 3, 3] = -g
    e = sla.expm(big * h)
    q = np.swapaxes(e[:, 2:, 2:], -1, -2) @ e[:, :2, 2:]
    return 0.5 * (q + np.swapaxes(q, -1, -2))


def noise_covariance(w2, g, h, sigma: float) -> np.ndarray:
    """Covariance ``Q(h)`` of the noise accumulated over a step, shape (..., 2, 2).

    Where the mode has a stationary state (``g > 0``, ``w2 > 0``) it is
    ``P - Phi(h) P Phi(h)^T`` with the stationary covariance ``P = diag(sigma^2 / (2 g w2),
    sigma^2 / (2 g))``, in closed form; where that difference would lose more than about
    ``1e-9`` of its value to cancellation (``2 g w2 h^3 < 1e-6``), and for undamped or
    massless modes, Van Loan's matrix exponential is used.

    Examples
    --------
    >>> q = noise_covariance(np.array([4.0, 4.0]), np.array([1.0, 1e-9]), 0.1, 2.0)
    >>> bool(np.allclose(q[0], noise_covariance(4.0, 1.0, 0.1, 2.0)))
    True
    >>> round(float(q[1, 1, 1]), 6)  # undamped: ~ sigma^2 h for a short step
    0.394709
    """
    w2, g = np.broadcast_arrays(np.asarray(w2, dtype=float), np.asarray(g, dtype=float))
    flat_w2, flat_g = w2.ravel(), g.ravel()
    uniq, inv = np.unique(np.stack([flat_w2, flat_g]), axis=1, return_inverse=True)
    uw2, ug = uniq
    q = np.empty((uw2.size, 2, 2))
    closed = (ug > 0) & (uw2 > 0) & (2 * ug * uw2 * h**3 > 1e-6)
    if closed.any():
        cw2, cg = uw2[closed], ug[closed]
        p = np.zeros((cw2.size, 2, 2))
        p[:, 0, 0] = sigma**2 / (2 * cg * cw2)
        p[:, 1, 1] = sigma**2 / (2 * cg)
        tr = transition(cw2, cg, h)
        q[closed] = p - tr @ p @ np.swapaxes(tr, -1, -2)
    if (~closed).any():
        q[~closed] = _van_loan(uw2[~closed], ug[~closed], h, sigma)
    return q[np.ravel(inv)].reshape(*w2.shape, 2, 2)


def _cholesky2(q):
    l11 = np.sqrt(np.maximum(q[..., 0, 0], 0.0))
    l21 = np.where(l11 > 0, q[..., 1, 0] / np.where(l11 > 0, l11, 1.0), 0.0)
    l22 = np.sqrt(np.maximum(q[..., 1, 1] - l21**2, 0.0))
    return l11, l21, l22


def _times(times, dt, n_steps) -> np.ndarray:
    if times is None:
        if dt is None or n_steps is None:
            raise NeurodataError("give either times= or both dt= and n_steps=.")
        times = np.arange(int(n_steps) + 1) * float(dt)
    t = np.asarray(times, dtype=float).ravel()
    if t.size == 0 or not np.all(np.isfinite(t)) or t[0] < 0 or np.any(np.diff(t) <= 0):
        raise NeurodataError("times must be finite, >= 0 and strictly increasing.")
    return t


def _deterministic(phik, pik, w2, g, t):
    tt = t[:, None, None]
    ec, es = propagator(w2[None], g[None], tt)
    phi = ec * phik + es * (pik + 0.5 * g * phik)
    vel = ec * pik - es * (w2 * phik + 0.5 * g * pik)
    return phi, vel


def stochastic_chunks(phik, pik, w2, g, t, sigma, boundary, rng, progress):
    """Exact transitions between the times ``t``, yielded ``(start, stop, phi, vel)`` in chunks.

    ``phi`` and ``vel`` are the modes at ``t[start:stop]`` (shape ``(stop - start, n_modes)``);
    frame 0 is the initial state.  Chunks keep memory bounded for long runs.
    """
    nt, shape = t.size, phik.shape
    steps = np.diff(t)
    uniform = bool(np.ptp(steps) <= 1e-9 * steps.mean()) if steps.size else True
    phi, vel = phik.ravel().copy(), pik.ravel().copy()
    yield 0, 1, phi[None].copy(), vel[None].copy()
    coef = None
    for start in progress_bar(range(1, nt, _CHUNK), progress=progress, desc="spectral"):
        stop = min(nt, start + _CHUNK)
        out_phi = np.empty((stop - start, phi.size), dtype=phi.dtype)
        out_vel = np.empty_like(out_phi)
        z = to_modes(rng.standard_normal((stop - start, 2, *shape)), boundary)
        z = z.reshape(stop - start, 2, -1)
        if uniform:
            if coef is None:
                coef = _step_coefficients(w2, g, float(steps.mean()), sigma).astype(phi.dtype)
            K.ou_modes(phi, vel, coef, z, out_phi, out_vel)
        else:
            for n in range(start, stop):
                c_n = _step_coefficients(w2, g, float(steps[n - 1]), sigma).astype(phi.dtype)
                K.ou_modes(phi, vel, c_n, z[n - start:n - start + 1], out_phi[n - start:n - start + 1],
                           out_vel[n - start:n - start + 1])
        yield start, stop, out_phi, out_vel


def _stochastic(phik, pik, w2, g, t, sigma, boundary, rng, progress):
    """All recorded frames of :func:`stochastic_chunks`, shape ``(nt, *shape)`` each."""
    out_phi = np.empty((t.size, phik.size), dtype=phik.dtype)
    out_vel = np.empty_like(out_phi)
    for start, stop, phi, vel in stochastic_chunks(phik, pik, w2, g, t, sigma, boundary, rng,
                                                   progress):
        out_phi[start:stop], out_vel[start:stop] = phi, vel
    return out_phi.reshape(t.size, *phik.shape), out_vel.reshape(t.size, *phik.shape)


def input_coefficients(w2, g, h):
    """``F1, F2`` (each ``(..., 2)``): the step's response to an input linear in time.

    Over a step of length ``h`` with input ``u(t) = u_0 + v t`` on the acceleration,
    ``x(h) = Phi(h) x(0) + F1 u_0 + F2 v`` exactly, with ``F1 = int_0^h Phi(h - s) b ds`` and
    ``F2 = int_0^h Phi(h - s) b s ds``, ``b = (0, 1)``: read off the matrix exponential of the
    system augmented with the input and its slope.

    Examples
    --------
    >>> f1, f2 = input_coefficients(np.array([4.0]), np.array([0.0]), np.pi / 2)
    >>> np.round(f1, 12)  # a constant unit force on phi'' = -4 phi for half a period
    array([[0.5, 0. ]])
    """
    w2, g = np.broadcast_arrays(np.asarray(w2, dtype=float), np.asarray(g, dtype=float))
    uniq, inv = np.unique(np.stack([w2.ravel(), g.ravel()]), axis=1, return_inverse=True)
    n = uniq.shape[1]
    big = np.zeros((n, 4, 4))
    big[:, 0, 1] = 1.0
    big[:, 1, 0] = -uniq[0]
    big[:, 1, 1] = -uniq[1]
    big[:, 1, 2] = 1.0
    big[:, 2, 3] = 1.0
    e = sla.expm(big * h)
    f1, f2 = e[:, :2, 2][np.ravel(inv)], e[:, :2, 3][np.ravel(inv)]
    return f1.reshape(*w2.shape, 2), f2.reshape(*w2.shape, 2)


def _driven(phik, pik, w2, g, t, sigma, boundary, rng, progress, inp):
    """Step the modes between the times ``t`` with input ``inp`` (linear between them), and noise."""
    shape = phik.shape
    out_phi = np.empty((t.size, phik.size), dtype=complex if np.iscomplexobj(phik) or
                       boundary == "periodic" else float)
    out_vel = np.empty_like(out_phi)
    x = np.stack([phik.ravel(), pik.ravel()]).astype(out_phi.dtype)
    out_phi[0], out_vel[0] = x
    w2f, gf = w2.ravel(), g.ravel()
    cache: dict = {}
    s_prev = to_modes(inp(float(t[0])), boundary).ravel()
    for n in progress_bar(range(1, t.size), progress=progress, desc="spectral"):
        h = float(t[n] - t[n - 1])
        key = round(h, 15)
        if key not in cache:
            tr = transition(w2f, gf, h)
            f1, f2 = input_coefficients(w2f, gf, h)
            chol = _cholesky2(noise_covariance(w2f, gf, h, sigma)) if sigma else None
            cache[key] = (tr, f1, f2, chol)
        tr, f1, f2, chol = cache[key]
        s_next = to_modes(inp(float(t[n])), boundary).ravel()
        slope = (s_next - s_prev) / h
        new0 = tr[:, 0, 0] * x[0] + tr[:, 0, 1] * x[1] + f1[:, 0] * s_prev + f2[:, 0] * slope
        new1 = tr[:, 1, 0] * x[0] + tr[:, 1, 1] * x[1] + f1[:, 1] * s_prev + f2[:, 1] * slope
        if chol is not None:
            z = to_modes(rng.standard_normal((2, *shape)), boundary).reshape(2, -1)
            new0 = new0 + chol[0] * z[0]
            new1 = new1 + chol[1] * z[0] + chol[2] * z[1]
        x = np.stack([new0, new1])
        out_phi[n], out_vel[n] = x
        s_prev = s_next
    return out_phi.reshape(t.size, *shape), out_vel.reshape(t.size, *shape)


def _step_coefficients(w2, g, h, sigma) -> np.ndarray:
    """Rows ``Phi11, Phi12, Phi21, Phi22, L11, L21, L22`` for every mode (flattened)."""
    tr = transition(w2, g, h).reshape(-1, 2, 2)
    l11, l21, l22 = _cholesky2(noise_covariance(w2, g, h, sigma).reshape(-1, 2, 2))
    return np.stack([tr[:, 0, 0], tr[:, 0, 1], tr[:, 1, 0], tr[:, 1, 1], l11, l21, l22])


def solve_spectral(
    initial: Any,
    velocity: Any = None,
    *,
    m: float,
    c: float,
    gamma: float = 0.0,
    eta: float = 0.0,
    spacing: float | None = None,
    boundary: str = "periodic",
    times: Any = None,
    dt: float | None = None,
    n_steps: int | None = None,
    laplacian: Any = "spectral",
    noise: float = 0.0,
    temperature: float | None = None,
    source: Any = None,
    random_state: int | np.random.Generator | None = None,
    store_velocity: bool = False,
    progress: bool | None = None,
) -> xr.Dataset:
    """Solve ``phi_tt + (gamma - eta lap) phi_t = c^2 lap phi - m^2 phi + sigma xi`` exactly in time.

    Parameters
    ----------
    initial, velocity : array (nx, ny) or DataArray (x, y)
        ``phi`` and ``dphi/dt`` at ``t = 0`` (velocity zero when None).
    m, c, gamma, eta : float
        Mass (rad/s), wave speed, damping (1/s), wavenumber-dependent damping.
    spacing : float or None
        Grid spacing; from the DataArray coordinates when None (else 1).
    boundary : {"periodic", "dirichlet", "neumann"}
    times : array or None
        Output times (>= 0, increasing); or give ``dt`` and ``n_steps``.
    laplacian : "spectral", "lattice" or DiscKernel
        Continuum ``|k|^2``, the five-point stencil's eigenvalues, or a coupling kernel's
        normalised symbol.
    noise : float
        ``sigma``: white noise on every site (unit intensity per site and second).
    temperature : float or None
        Instead of ``noise``: ``sigma^2 = 2 gamma T``, so that every mode (of damping
        ``gamma``) holds the mean energy ``T``.
    source : callable, DataArray (time, x, y), array (nx, ny) or None
        Afferent input ``s(x, t)`` on the acceleration (see :mod:`._forcing`), taken at the
        output times and integrated exactly as linear between them (so the output times
        must resolve the input).
    random_state : int, Generator or None
    store_velocity : bool
        Also return ``velocity (time, x, y)``.
    progress : bool or None
        Show a progress bar (None: automatically, where someone is watching).

    Returns
    -------
    xarray.Dataset
        ``phi (time, x, y)`` (and ``velocity``).

    Examples
    --------
    >>> x = np.arange(16)
    >>> phi0 = np.sin(2 * np.pi * x / 16)[:, None] * np.ones(16)
    >>> ds = solve_spectral(phi0, m=0.0, c=1.0, times=[0.0, 16.0], progress=False)
    >>> bool(np.allclose(ds.phi.isel(time=1), phi0))  # one full period of a k = 2 pi / 16 wave
    True
    """
    boundary = check_boundary(boundary)
    phi0 = field_array(initial, None, "initial")
    shape = check_shape(phi0.shape)
    a = spacing_from_coords(initial, spacing)
    pi0 = np.zeros(shape) if velocity is None else field_array(velocity, shape, "velocity")
    params = {"m": float(m), "c": float(c), "gamma": float(gamma), "eta": float(eta),
              "noise": noise_intensity(noise, temperature, float(gamma))}
    if any(not np.isfinite(v) for v in params.values()) or min(params.values()) < 0:
        raise NeurodataError(f"m, c, gamma, eta and noise must be finite and >= 0; got {params}.")
    t = _times(times, dt, n_steps)
    mu = laplacian_eigenvalues(shape, a, boundary, laplacian)
    w2 = params["m"] ** 2 + params["c"] ** 2 * mu
    g = params["gamma"] + params["eta"] * mu
    phik, pik = to_modes(phi0, boundary), to_modes(pi0, boundary)
    if t[0] > 0:
        phik, pik = _deterministic(phik, pik, w2, g, t[:1])
        phik, pik = phik[0], pik[0]
    inp = source_function(source, shape)
    if inp is not None:
        phik_t, vel_t = _driven(phik, pik, w2, g, t - t[0], params["noise"], boundary,
                                check_random_state(random_state), progress,
                                lambda tt: inp(tt + t[0]))
    elif params["noise"] > 0:
        rng = check_random_state(random_state)
        phik_t, vel_t = _stochastic(phik, pik, w2, g, t - t[0], params["noise"], boundary, rng,
                                    progress)
    else:
        phik_t, vel_t = _deterministic(phik, pik, w2, g, t - t[0])
    data = {"phi": (("time", "x", "y"), from_modes(phik_t, boundary))}
    if store_velocity:
        data["velocity"] = (("time", "x", "y"), from_modes(vel_t, boundary))
    return xr.Dataset(data, coords={"time": t, **sheet_coords(shape, a, boundary)},
                      attrs={"solver": "spectral", "laplacian": str(laplacian), "spacing": a,
                             "boundary": boundary, "driven": inp is not None, **params})
