"""Synthetic cortical sheets and field recordings (ECoG-like arrays) with known parameters."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.signal import lfilter

from neurodata._utils import check_integer, check_positive, check_random_state
from neurodata.errors import NeurodataError
from neurodata.field_theory._continuum import FieldParameters
from neurodata.field_theory._forcing import noise_intensity
from neurodata.field_theory._grid import (
    check_boundary,
    check_shape,
    check_spacing,
    from_modes,
    laplacian_eigenvalues,
    site_coords,
    to_modes,
    wavenumbers,
)
from neurodata.field_theory._observation import CalciumIndicator, check_observation
from neurodata.field_theory._spectral import solve_spectral, stochastic_chunks

__all__ = ["make_cortical_sheet", "make_field_recording"]


def _stationary_modes(shape, params: FieldParameters, spacing, boundary, laplacian, rng,
                      temperature=None):
    """``(phi_k, dphi_k/dt)`` drawn from the stationary distribution (equipartition).

    Each mode's energy is ``sigma^2 / (2 gamma_k)`` (or ``temperature``): the Gibbs
    distribution ``<|dphi_k|^2> = T``, ``<|phi_k|^2> = T / omega_k^2``.
    """
    mu = laplacian_eigenvalues(shape, spacing, boundary, laplacian)
    w2 = params.m**2 + params.c**2 * mu
    if np.any(w2 <= 0):
        raise NeurodataError("a massless field (m = 0) has no stationary uniform mode; give "
                             "m > 0 or start from an initial state with the solvers.")
    if temperature is not None:
        temp = np.full(shape, float(temperature))
    else:
        g = params.gamma + params.eta * mu
        if np.any(g <= 0):
            raise NeurodataError("an undamped field driven by noise has no stationary state; "
                                 "give temperature= (the equilibrium at that temperature, "
                                 "evolved without noise) or gamma > 0.")
        temp = params.noise**2 / (2 * g)
    z = to_modes(rng.standard_normal((2, *shape)), boundary)
    return z[0] * np.sqrt(temp / w2), z[1] * np.sqrt(temp), w2, params.gamma + params.eta * mu


def make_cortical_sheet(
    shape: tuple[int, int] = (16, 16),
    *,
    m: float = 2 * np.pi * 10.0,
    c: float = 300.0,
    gamma: float = 10.0,
    noise: float = 1.0,
    temperature: float | None = None,
    spacing: float = 1.0,
    boundary: str = "periodic",
    duration: float = 10.0,
    dt: float = 1e-3,
    laplacian: Any = "lattice",
    store_velocity: bool = False,
    random_state: int | np.random.Generator | None = None,
) -> xr.Dataset:
    """A noise-driven Klein-Gordon sheet in its stationary state, with known parameters.

    Simulated exactly in time by :func:`~neurodata.field_theory.solve_spectral`, starting
    from a draw of the stationary (equipartition) distribution so there is no transient.
    The defaults model a 16 x 16 mm patch (spacing 1 mm) with ``f0 = 10 Hz``, waves at
    0.3 m/s (300 mm/s) and damping 10/s, sampled at 1 kHz.  With ``temperature=T`` the
    noise is ``sigma^2 = 2 gamma T``; with ``gamma = 0`` as well, the sheet is the
    equilibrium at ``T`` evolved conservatively (no noise, every mode keeps its energy).

    Returns
    -------
    xarray.Dataset
        ``phi (time, x, y)`` (and ``velocity`` with ``store_velocity=True``); the
        parameters are in its attrs (``m``, ``c``, ``gamma``, ``noise``, ``spacing``,
        ``boundary``, ``laplacian``).

    Examples
    --------
    >>> ds = make_cortical_sheet(shape=(8, 8), duration=0.5, random_state=0)
    >>> ds.phi.dims, ds.sizes["time"], ds.attrs["c"]
    (('time', 'x', 'y'), 501, 300.0)
    """
    rng = check_random_state(random_state)
    shape = check_shape(shape)
    sigma = noise_intensity(noise if temperature is None else None, temperature, gamma)
    params = FieldParameters(m=m, c=c, gamma=gamma, noise=sigma)
    phik, velk, _, _ = _stationary_modes(shape, params, spacing, boundary, laplacian, rng,
                                         temperature)
    ds = solve_spectral(from_modes(phik, boundary), from_modes(velk, boundary), m=m, c=c,
                        gamma=gamma, spacing=spacing, boundary=boundary, dt=dt,
                        n_steps=round(duration / dt), laplacian=laplacian, noise=sigma,
                        random_state=rng, store_velocity=store_velocity, progress=False)
    if temperature is not None:
        ds.attrs["temperature"] = float(temperature)
    return ds


def _electrode_sites(grid: Any, shape: tuple[int, int], pitch: int, rng) -> tuple[np.ndarray, ...]:
    """Lattice indices of the electrodes: a centred ``grid`` every ``pitch`` sites, or random."""
    if isinstance(grid, (int, np.integer)):
        n = check_integer("grid", int(grid))
        if n > shape[0] * shape[1]:
            raise NeurodataError(f"{n} electrodes do not fit on a {shape} lattice.")
        flat = rng.choice(shape[0] * shape[1], size=n, replace=False)
        return np.unravel_index(flat, shape)
    try:
        rows, cols = (check_integer("grid", int(g)) for g in grid)
    except TypeError:
        raise NeurodataError(f"grid is (rows, columns) of electrodes or a number of randomly "
                             f"placed ones; got {grid!r}.") from None
    span = ((rows - 1) * pitch, (cols - 1) * pitch)
    if span[0] >= shape[0] or span[1] >= shape[1]:
        raise NeurodataError(f"a {rows} x {cols} grid every {pitch} sites spans {span} sites; the "
                             f"lattice {shape} is too small. Enlarge shape or reduce pitch.")
    i0, j0 = (shape[0] - span[0]) // 2, (shape[1] - span[1]) // 2
    ii, jj = np.meshgrid(i0 + pitch * np.arange(rows), j0 + pitch * np.arange(cols), indexing="ij")
    return ii.ravel(), jj.ravel()


def site_basis(shape, boundary, sites) -> np.ndarray:
    """``E (n_modes, n_sites)`` with ``phi(x_s) = Re sum_k phi_k E[k, s]`` (orthonormal transforms).

    The transforms are unitary (FFT) or real orthogonal (DST-I, DCT-II), so the inverse is
    the adjoint: column ``s`` is the conjugated transform of a unit impulse at site ``s``.
    """
    delta = np.zeros((sites[0].size, *shape))
    delta[np.arange(sites[0].size), sites[0], sites[1]] = 1.0
    return np.conj(to_modes(delta, boundary)).reshape(sites[0].size, -1).T


def _simulate_sites(shape, params, spacing, boundary, laplacian, times, sites, rng,
                    weight=None) -> np.ndarray:
    """The stationary field at ``sites`` (lattice indices) and ``times``, in bounded memory.

    ``weight`` (same shape as the modes) multiplies every mode before sampling: the
    transfer function of a spatial observation kernel (a point spread), or None.
    """
    phik, velk, w2, g = _stationary_modes(shape, params, spacing, boundary, laplacian, rng)
    basis = site_basis(shape, boundary, sites)
    if weight is not None:
        basis = basis * np.ravel(weight)[:, None]
    out = np.empty((times.size, sites[0].size))
    for start, stop, phi, _ in stochastic_chunks(phik, velk, w2, g, times - times[0],
                                                 params.noise, boundary, rng, False):
        out[start:stop] = np.real(phi @ basis)
    return out


def make_field_recording(
    grid: Any = (6, 6),
    shape: tuple[int, int] = (48, 48),
    *,
    pitch: int = 2,
    spacing: float = 0.5,
    m: float = 2 * np.pi * 8.0,
    c: float = 200.0,
    gamma: float = 40.0,
    noise: float = 1.0,
    boundary: str = "periodic",
    laplacian: str = "lattice",
    duration: float = 20.0,
    dt: float = 2e-3,
    sensor_noise: float = 0.0,
    observation: Any = None,
    name: str = "ecog",
    dtype: Any = np.float64,
    random_state: int | np.random.Generator | None = None,
) -> xr.Dataset:
    """An ECoG-like recording of a simulated cortical field, as a recording Dataset.

    A noise-driven Klein-Gordon sheet (``shape`` sites, ``spacing`` mm apart, in its
    stationary state, simulated exactly in time) is sampled by electrodes on a regular
    ``grid`` of rows x columns every ``pitch`` sites (or at ``grid`` random sites), with
    independent white sensor noise of standard deviation ``sensor_noise``.  The layout is
    the one :func:`~neurodata.open_nwb` gives an ElectricalSeries, so the recording
    round-trips through :func:`~neurodata.save_nwb`.

    Parameters
    ----------
    grid : (int, int) or int
        Electrode rows and columns, or a number of electrodes at random distinct sites.
    shape : (int, int)
        The simulated lattice (periodic by default: make it large compared with the grid
        and with the field's correlation length, ``~2 c / gamma``).
    pitch : int
        Electrode spacing in lattice sites (the electrode spacing is ``pitch * spacing``).
    spacing : float
        Lattice spacing (mm).
    m, c, gamma, noise : float
        The field: mass (rad/s), speed (mm/s), damping (1/s), noise per site.
    boundary, laplacian : str
        See :func:`~neurodata.field_theory.solve_spectral`.
    duration, dt : float
        Length (s) and sampling step (s).
    sensor_noise : float
        Standard deviation of white noise added to every sample.
    observation : sensor model or None
        What the electrodes record (:mod:`neurodata.field_theory._observation`): a spatial
        kernel multiplies every mode by ``sqrt(spatial(|k|))`` before sampling; the kinetics
        of :class:`~neurodata.field_theory.CalciumIndicator` filter each series (two exact
        first-order low-pass stages).  None: the field at the electrode sites.
    name : str
        Name of the series (``ecog``, ``lfp``, ...).
    dtype : numpy dtype
        Of the stored samples (float32 halves the file size).
    random_state : int, Generator or None

    Returns
    -------
    xarray.Dataset
        ``<name> (time_<name>, <name>_channel)`` with coordinate ``<name>_electrode``
        (rows of the electrodes table); the electrodes table on ``electrode`` with
        ``electrode_x``, ``electrode_y``, ``electrode_z`` (mm) and ``electrode_location``;
        ``electrode_site_i``, ``electrode_site_j``: the lattice indices.  The field's
        parameters are in the attrs.

    Examples
    --------
    >>> import neurodata as nd
    >>> rec = make_field_recording((3, 3), (16, 16), duration=0.5, random_state=0)
    >>> rec.ecog.dims, rec.sizes["electrode"], float(rec.electrode_x[1] - rec.electrode_x[0])
    (('time_ecog', 'ecog_channel'), 9, 0.0)
    >>> nd.validate(rec) is rec
    True
    """
    rng = check_random_state(random_state)
    shape = check_shape(shape)
    a = check_spacing(spacing)
    boundary = check_boundary(boundary)
    pitch = check_integer("pitch", pitch)
    dt = check_positive("dt", dt)
    n_t = int(round(check_positive("duration", duration) / dt)) + 1
    params = FieldParameters(m=check_positive("m", m, strict=False), c=check_positive("c", c),
                             gamma=check_positive("gamma", gamma),
                             noise=check_positive("noise", noise))
    sites = _electrode_sites(grid, shape, pitch, rng)
    times = np.arange(n_t) * dt
    obs = check_observation(observation)
    if obs.free():
        raise NeurodataError(f"give every parameter of the observation model; {obs!r} has "
                             f"{obs.free()} unset.")
    weight = None
    if not obs.is_point:
        k = np.hypot(wavenumbers(shape[0], a, boundary)[:, None],
                     wavenumbers(shape[1], a, boundary)[None, :])
        weight = np.sqrt(obs.spatial(k))
    values = _simulate_sites(shape, params, a, boundary, laplacian, times, sites, rng, weight)
    if isinstance(obs, CalciumIndicator):
        for tau in (obs.tau_rise, obs.tau_decay):
            decay = np.exp(-dt / float(tau or 0.0))
            values = lfilter([1 - decay], [1, -decay], values, axis=0)
    if sensor_noise:
        values = values + check_positive("sensor_noise", sensor_noise) * rng.standard_normal(
            values.shape)
    n = sites[0].size
    tdim, cdim = f"time_{name}", f"{name}_channel"
    x, y = site_coords(shape[0], a, boundary)[sites[0]], site_coords(shape[1], a, boundary)[sites[1]]
    return xr.Dataset(
        {name: ((tdim, cdim), values.astype(dtype),
                {"units": "a.u.", "description": "simulated cortical field at the electrodes"})},
        coords={tdim: times, f"{name}_electrode": (cdim, np.arange(n)),
                "electrode": np.arange(n), "electrode_x": ("electrode", x),
                "electrode_y": ("electrode", y), "electrode_z": ("electrode", np.zeros(n)),
                "electrode_location": ("electrode", np.full(n, "cortex", dtype=object)),
                "electrode_site_i": ("electrode", sites[0].astype(np.int64)),
                "electrode_site_j": ("electrode", sites[1].astype(np.int64))},
        attrs={"m": params.m, "c": params.c, "gamma": params.gamma, "noise": params.noise,
               "spacing": a, "shape": list(shape), "boundary": boundary, "laplacian": laplacian,
               "sensor_noise": float(sensor_noise), "pitch": pitch,
               "observation": repr(obs),
               "session_description": "simulated cortical field recorded by an electrode grid",
               "nwb_identifier": f"neurodata-field-{name}"},
    )
