"""Simulate a 2D lattice of neural masses with nearest-neighbour coupling and noise.

The lattice equations are ``dx_i/dt = f(x_i) + kappa B (L x)_i + sigma e_noise xi_i(t)``,
with ``L`` the five-point Laplacian under the chosen boundary condition (see
:mod:`._grid`) and ``xi_i`` independent unit white noises, one per site.  They are
integrated by the stochastic Heun method (predictor-corrector with one noise increment
per step): second order for the deterministic part, exact in distribution for additive
noise on linear masses to first order.  Every step is a handful of array operations
over the whole lattice.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodata._utils import check_random_state, progress_bar
from neurodata.errors import NeurodataError, ShapeError, UnstableDynamicsError
from neurodata.field_theory._coupling import kernel_moment
from neurodata.field_theory._forcing import source_function
from neurodata.field_theory._grid import (
    check_boundary,
    check_shape,
    check_spacing,
    kernel_laplacian,
    laplacian_eigenvalues,
    sheet_coords,
)
from neurodata.field_theory._masses import NeuralMass, linearise


def lattice_rhs(mass: NeuralMass, x, coupling: float, boundary: str, *, kernel: Any = None,
                pathway: Any = None):
    """Time derivative of the whole lattice state ``x`` (shape ``(n_states, nx, ny)``).

    The coupling adds ``kappa sum_j w_j (s_{i+r_j} - s_i)`` to the target state's equation
    (``pathway``, default the mass's own), summed over the kernel's offsets (``kernel``:
    nearest neighbours by default, or a :class:`DiscKernel`).  Accepts complex states, so
    that the lattice Jacobian can be taken by complex step.

    Examples
    --------
    >>> from neurodata.field_theory import LinearOscillator
    >>> x = np.zeros((2, 3, 3)); x[0, 1, 1] = 1.0
    >>> lattice_rhs(LinearOscillator(omega0=1.0, gamma=0.0), x, 1.0, "dirichlet")[1]
    array([[ 0.,  1.,  0.],
           [ 1., -5.,  1.],
           [ 0.,  1.,  0.]])
    """
    dx = mass.rhs(x)
    bmat = mass.coupling_matrix(pathway)
    for t in np.flatnonzero(np.any(bmat != 0, axis=1)):
        w = bmat[t]
        nz = np.flatnonzero(w)
        src = w[nz[0]] * x[nz[0]] if nz.size == 1 else np.tensordot(w, x, axes=(0, 0))
        dx[t] = dx[t] + coupling * kernel_laplacian(np.ascontiguousarray(src), boundary, kernel)
    return dx


def lattice_jacobian(mass: NeuralMass, shape, coupling: float, boundary: str = "periodic",
                     state=None, *, kernel: Any = None, pathway: Any = None) -> np.ndarray:
    """The full ``(n_states nx ny)^2`` Jacobian of :func:`lattice_rhs`, exact by complex step.

    ``state`` defaults to the homogeneous fixed point.  Meant for small lattices (tests,
    checks of :func:`lattice_eigenvalues`).

    Examples
    --------
    >>> from neurodata.field_theory import LinearOscillator
    >>> lattice_jacobian(LinearOscillator(omega0=1.0, gamma=0.5), (3, 3), 1.0).shape
    (18, 18)
    """
    shape = check_shape(shape)
    boundary = check_boundary(boundary)
    if state is None:
        x0 = linearise(mass).fixed_point
        state = np.broadcast_to(x0[:, None, None], (mass.n_states, *shape))
    base = np.asarray(state, dtype=complex).ravel()
    n = base.size
    h = 1e-30
    jac = np.empty((n, n))
    for j in range(n):
        xc = base.copy()
        xc[j] += 1j * h
        jac[:, j] = np.imag(lattice_rhs(mass, xc.reshape(mass.n_states, *shape), coupling,
                                        boundary, kernel=kernel, pathway=pathway)).ravel() / h
    return jac


def _check_step(mass: NeuralMass, shape, coupling: float, spacing: float, boundary: str,
                dt: float, kernel: Any = None, pathway: Any = None) -> np.ndarray:
    """Raise unless the linearised lattice is stable and Heun is stable at this ``dt``."""
    lin = linearise(mass)
    sigma = laplacian_eigenvalues(shape, spacing, boundary, kernel or "lattice") * spacing**2 \
        * kernel_moment(kernel)
    bmat = mass.coupling_matrix(pathway)
    eig = np.linalg.eigvals(lin.jacobian[None, None] - (coupling * sigma)[..., None, None] * bmat)
    if np.max(eig.real) > 1e-12 * np.max(np.abs(eig)):
        raise UnstableDynamicsError(
            f"with coupling {coupling} the linearised {type(mass).__name__} lattice has growing "
            f"modes (max real eigenvalue {np.max(eig.real):.4g}); reduce or flip the coupling."
        )
    z = eig * dt
    growth = np.abs(1 + z + z**2 / 2)
    undamped = eig.real > -1e-12 * np.abs(eig)
    if np.any(growth[undamped] > 1.0):
        raise UnstableDynamicsError(
            f"the {type(mass).__name__} lattice has undamped modes, which the Heun integrator "
            f"amplifies at any dt; add damping, or integrate the field with solve_leapfrog or "
            f"solve_spectral."
        )
    if np.max(growth) > 1.0:
        raise UnstableDynamicsError(
            f"dt={dt} is too large for the Heun integrator: the fastest lattice mode "
            f"(|s| = {np.max(np.abs(eig)):.4g} 1/s) grows by {np.max(growth):.6f} per step. "
            f"Use dt < {_heun_dt_limit(eig.ravel(), dt):.4g} s."
        )
    return lin.fixed_point


def _heun_dt_limit(eig: np.ndarray, dt: float) -> float:
    """The largest step at which no mode grows under Heun (bisection below ``dt``)."""
    lo, hi = 0.0, dt
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        z = eig * mid
        if np.max(np.abs(1 + z + z**2 / 2)) > 1.0:
            hi = mid
        else:
            lo = mid
    return lo


def _initial_state(mass: NeuralMass, initial: Any, shape, x0: np.ndarray) -> np.ndarray:
    state = np.broadcast_to(x0[:, None, None], (mass.n_states, *shape)).copy()
    if initial is None:
        return state
    if isinstance(initial, dict):
        for name, values in initial.items():
            if name not in mass.state_names:
                raise NeurodataError(f"unknown state {name!r}; the states are {mass.state_names}.")
            arr = np.asarray(values, dtype=float)
            state[mass.state_names.index(name)] = np.broadcast_to(arr, shape)
        return state
    arr = np.asarray(initial, dtype=float)
    if arr.shape != state.shape:
        raise ShapeError(f"initial state must have shape {state.shape} (n_states, nx, ny); "
                         f"got {arr.shape}.")
    return arr.copy()


def simulate_lattice(
    mass: NeuralMass,
    shape: tuple[int, int] = (32, 32),
    *,
    coupling: float,
    spacing: float = 1.0,
    boundary: str = "periodic",
    dt: float = 1e-3,
    duration: float = 1.0,
    noise: float = 0.0,
    initial: Any = None,
    record_every: int = 1,
    kernel: Any = None,
    pathway: Any = None,
    source: Any = None,
    random_state: int | np.random.Generator | None = None,
    progress: bool | None = None,
) -> xr.Dataset:
    """Simulate a lattice of neural masses.

    Parameters
    ----------
    mass : NeuralMass
        The unit on every site.
    shape : (int, int)
        ``(nx, ny)`` sites, each at least 3.
    coupling : float
        ``kappa``: gain of the coupling term ``kappa sum_j w_j (s_j - s_i)`` (per connection).
        With the default pathway of a Wilson-Cowan mass (``I -> E``) and ``kappa > 0``,
        more inhibitory activity at the neighbours *raises* a site's excitatory drive:
        neighbouring inhibition excites (the sign that gives ``c^2 > 0``).
    spacing : float
        Lattice spacing ``a`` (sets the ``x``/``y`` coordinates).
    boundary : {"periodic", "dirichlet", "neumann"}
    dt, duration : float
        Step and length of the run (seconds).
    noise : float
        ``sigma``: intensity of independent white noise on each site's ``mass.noise_target``.
    initial : array (n_states, nx, ny), dict of state name -> field, or None
        Initial state; None starts at the homogeneous fixed point.
    record_every : int
        Keep every ``record_every``-th step.
    kernel : None, "lattice" or DiscKernel
        Which neighbours are coupled: the four nearest (default) or a disc of set radius.
    pathway : None, str or (source, target)
        Which state of the neighbours drives which state (default: the mass's own, e.g.
        ``"I->E"`` for Wilson-Cowan; ``"E->E"`` couples excitation to excitation).  See
        :meth:`NeuralMass.pathway`.
    source : callable, DataArray (time, x, y), array (nx, ny) or None
        Afferent input added to the equation of ``mass.noise_target`` (see
        :mod:`._forcing`), evaluated at the start and end of every Heun step.
    random_state : int, Generator or None
    progress : bool or None
        Show a progress bar (None: automatically, where someone is watching).

    Returns
    -------
    xarray.Dataset
        One variable per state (and the observable, if it is not a state), dims
        ``(time, x, y)``; attrs record the mass, its parameters and the run settings.

    Raises
    ------
    UnstableDynamicsError
        Before the run, if the mass has no stable fixed point, the coupled lattice has
        growing modes, or ``dt`` is beyond the integrator's stability limit.

    Examples
    --------
    >>> from neurodata.field_theory import StuartLandau
    >>> ds = simulate_lattice(StuartLandau(lam=-5.0, omega=60.0), (8, 8), coupling=100.0,
    ...                       dt=1e-3, duration=0.1, noise=0.1, random_state=0, progress=False)
    >>> ds.re.dims, ds.sizes["time"]
    (('time', 'x', 'y'), 101)
    """
    shape = check_shape(shape)
    a = check_spacing(spacing)
    boundary = check_boundary(boundary)
    dt, duration = float(dt), float(duration)
    if not dt > 0 or not duration > 0 or int(record_every) < 1:
        raise NeurodataError("dt and duration must be positive and record_every >= 1; "
                             f"got dt={dt}, duration={duration}, record_every={record_every}.")
    x0 = _check_step(mass, shape, float(coupling), a, boundary, dt, kernel, pathway)
    state = _initial_state(mass, initial, shape, x0)
    n_steps = round(duration / dt)
    record_every = int(record_every)
    rng = check_random_state(random_state)
    inp = source_function(source, shape)
    frames = [state.copy()]
    noise_idx = mass.state_names.index(mass.noise_target)
    amp = float(noise) * np.sqrt(dt)
    kw = {"kernel": kernel, "pathway": pathway}

    def rhs(x, t):
        dx = lattice_rhs(mass, x, coupling, boundary, **kw)
        if inp is not None:
            dx[noise_idx] += inp(t)
        return dx

    for step in progress_bar(range(1, n_steps + 1), progress=progress, desc="lattice"):
        t = (step - 1) * dt
        f0 = rhs(state, t)
        pred = state + dt * f0
        if amp:
            kick = amp * rng.standard_normal(shape)
            pred[noise_idx] += kick
        f1 = rhs(pred, t + dt)
        state = state + 0.5 * dt * (f0 + f1)
        if amp:
            state[noise_idx] += kick
        if step % record_every == 0:
            frames.append(state.copy())
    return _lattice_dataset(mass, np.stack(frames), dt * record_every, a, boundary,
                            dict(coupling=float(coupling), dt=dt, noise=float(noise),
                                 record_every=record_every,
                                 kernel=str(kernel or "lattice"), pathway=str(pathway or "")))


def _lattice_dataset(mass, frames, t_step, spacing, boundary, settings) -> xr.Dataset:
    coords = {"time": np.arange(frames.shape[0]) * t_step,
              **sheet_coords(frames.shape[2:], spacing, boundary)}
    data = {name: (("time", "x", "y"), frames[:, i]) for i, name in enumerate(mass.state_names)}
    if mass.observable not in mass.state_names:
        data[mass.observable] = (("time", "x", "y"), mass.observe(np.moveaxis(frames, 1, 0)))
    attrs = {"mass": type(mass).__name__, "observable": mass.observable,
             "spacing": spacing, "boundary": boundary, **settings,
             **{f"mass_{k}": (float(v) if np.ndim(v) == 0 else np.asarray(v, dtype=float).tolist())
                for k, v in mass.params().items()}}
    return xr.Dataset(data, coords=coords, attrs=attrs)
