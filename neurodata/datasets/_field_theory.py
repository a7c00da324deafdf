"""Synthetic cortical sheets and recordings with known field parameters."""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata.field_theory._continuum import FieldParameters
from neurodata.field_theory._spectral import solve_spectral

__all__ = ["make_cortical_sheet", "make_field_recording"]


def _stationary_start(shape, params: FieldParameters, spacing, boundary, laplacian, rng):
    """Draw ``(phi, dphi/dt)`` from the stationary distribution (equipartition) of every mode."""
    from neurodata.field_theory._grid import from_modes, laplacian_eigenvalues, to_modes

    mu = laplacian_eigenvalues(shape, spacing, boundary, laplacian)
    w2 = params.m**2 + params.c**2 * mu
    temp = params.noise**2 / (2 * (params.gamma + params.eta * mu))
    z = to_modes(rng.standard_normal((2, *shape)), boundary)
    return from_modes(z[0] * np.sqrt(temp / w2), boundary), from_modes(z[1] * np.sqrt(temp), boundary)


def make_cortical_sheet(
    shape: tuple[int, int] = (16, 16),
    *,
    m: float = 2 * np.pi * 10.0,
    c: float = 300.0,
    gamma: float = 10.0,
    noise: float = 1.0,
    spacing: float = 1.0,
    boundary: str = "periodic",
    duration: float = 10.0,
    dt: float = 1e-3,
    laplacian: str = "lattice",
    store_velocity: bool = False,
    random_state: int | np.random.Generator | None = None,
) -> xr.Dataset:
    """A noise-driven Klein-Gordon sheet in its stationary state, with known parameters.

    Simulated exactly in time by :func:`~neurodata.field_theory.solve_spectral`, starting
    from a draw of the stationary (equipartition) distribution so there is no transient.
    The defaults model a 16 x 16 mm patch (spacing 1 mm) with ``f0 = 10 Hz``, waves at
    0.3 m/s (300 mm/s) and damping 10/s, sampled at 1 kHz.

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
    rng = np.random.default_rng(random_state)
    params = FieldParameters(m=m, c=c, gamma=gamma, noise=noise)
    phi0, vel0 = _stationary_start(tuple(shape), params, spacing, boundary, laplacian, rng)
    return solve_spectral(phi0, vel0, m=m, c=c, gamma=gamma, spacing=spacing, boundary=boundary,
                          dt=dt, n_steps=round(duration / dt), laplacian=laplacian,
                          noise=noise, random_state=rng, store_velocity=store_velocity,
                          progress=False)


def make_field_recording(
    n_channels: int = 8,
    shape: tuple[int, int] = (16, 16),
    *,
    sensor_noise: float = 0.0,
    random_state: int | np.random.Generator | None = None,
    **sheet_kwargs,
) -> xr.DataArray:
    """An LFP/ECoG-like multichannel recording of a simulated sheet.

    ``n_channels`` electrodes at distinct random sites of a sheet from
    :func:`make_cortical_sheet` (``sheet_kwargs`` are passed on), plus independent white
    sensor noise of standard deviation ``sensor_noise`` per sample.

    Returns
    -------
    xarray.DataArray
        ``(time, channel)`` with coordinates ``site_i``, ``site_j`` (lattice indices),
        ``channel_x``, ``channel_y`` on ``channel``; attrs hold the sheet's parameters.

    Examples
    --------
    >>> rec = make_field_recording(4, shape=(8, 8), duration=0.2, random_state=0)
    >>> rec.dims, rec.sizes["channel"]
    (('time', 'channel'), 4)
    """
    rng = np.random.default_rng(random_state)
    sheet = make_cortical_sheet(shape, random_state=rng, **sheet_kwargs)
    flat = rng.choice(shape[0] * shape[1], size=n_channels, replace=False)
    ii, jj = np.unravel_index(flat, shape)
    values = sheet.phi.values[:, ii, jj]
    if sensor_noise:
        values = values + sensor_noise * rng.standard_normal(values.shape)
    return xr.DataArray(
        values, dims=("time", "channel"), name="lfp",
        coords={"time": sheet.time.values, "channel": np.arange(n_channels),
                "site_i": ("channel", ii), "site_j": ("channel", jj),
                "channel_x": ("channel", sheet.x.values[ii]),
                "channel_y": ("channel", sheet.y.values[jj])},
        attrs={**sheet.attrs, "sensor_noise": float(sensor_noise)},
    )
