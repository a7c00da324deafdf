"""Fit the field parameters to a sheet: the dispersion relation measured mode by mode.

Every eigenmode ``a_k(t)`` of a linear, noise-driven field is a damped oscillator sampled
every ``dt``.  Its autocorrelation is a sum of two exponentials ``e^{s_1 tau}``,
``e^{s_2 tau}`` with ``s^2 + gamma_k s + omega_k^2 = 0``, so the autocorrelations at lags
``0, h, 2h, ...`` obey exactly the recursion ``rho_j = phi_1 rho_{j-1} + phi_2 rho_{j-2}``
whose characteristic roots are ``z = e^{s h dt}``.  For each mode we fit ``(phi_1, phi_2)``
by least squares over ``j = 2..n_lags`` with a lag unit ``h`` of about an eighth of the
mode's period (estimated from the lag-one correlation), and read off
``omega_k^2 = s_1 s_2`` and ``gamma_k = -(s_1 + s_2)``.  The field parameters follow by
weighted least squares of ``omega_k^2 = m^2 + c^2 mu_k`` (weights ``1/omega_k^2``: equal
relative errors) and ``gamma_k = gamma (+ eta mu_k)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodata._utils import sampling_step
from neurodata.errors import NeurodataError, ShapeError
from neurodata.field_theory._continuum import FieldParameters
from neurodata.field_theory._grid import (
    check_boundary,
    laplacian_eigenvalues,
    spacing_from_coords,
    to_modes,
    wavenumbers,
)


def _sheet_array(sheet: Any, variable: str | None) -> xr.DataArray:
    if isinstance(sheet, xr.Dataset):
        name = variable or sheet.attrs.get("observable", "phi")
        if name not in sheet:
            raise NeurodataError(f"the sheet has no variable {name!r}; pass variable=.")
        attrs = {**sheet.attrs, **sheet[name].attrs}
        sheet = sheet[name].assign_attrs(attrs)
    if not isinstance(sheet, xr.DataArray) or set(sheet.dims) != {"time", "x", "y"}:
        dims = getattr(sheet, "dims", None)
        raise ShapeError(f"a sheet is a DataArray with dims ('time', 'x', 'y'); got {dims}.")
    if sheet.sizes["time"] < 64:
        raise ShapeError("the sheet needs at least 64 time samples to estimate the dispersion.")
    return sheet.transpose("time", "x", "y")


def _lagged_autocorrelation(series: np.ndarray, lag_unit: np.ndarray, n_lags: int) -> np.ndarray:
    """Unbiased autocovariance of each row of ``series`` (mode, time) at lags ``j h_row``.

    Returns shape ``(n_lags + 1, n_modes)``; rows sharing a lag unit are done together.
    """
    nt = series.shape[1]
    out = np.empty((n_lags + 1, series.shape[0]))
    for h in np.unique(lag_unit):
        rows = np.flatnonzero(lag_unit == h)
        x = series[rows]
        for j in range(n_lags + 1):
            lag = int(j * h)
            out[j, rows] = np.einsum("ij,ij->i", x[:, lag:], x[:, : nt - lag]) / (nt - lag)
    return out


def _ar2_roots(rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares AR(2) recursion ``rho_j = p1 rho_{j-1} + p2 rho_{j-2}`` for every mode."""
    y, x1, x2 = rho[2:], rho[1:-1], rho[:-2]
    a11, a12, a22 = (x1 * x1).sum(0), (x1 * x2).sum(0), (x2 * x2).sum(0)
    b1, b2 = (x1 * y).sum(0), (x2 * y).sum(0)
    det = a11 * a22 - a12**2
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = (a22 * b1 - a12 * b2) / det, (a11 * b2 - a12 * b1) / det
        root = np.sqrt((p1**2 + 4 * p2).astype(complex))
        return (p1 + root) / 2, (p1 - root) / 2


def _pool(acf: np.ndarray, n: int) -> np.ndarray:
    """Sum the autocovariances of the real and imaginary parts of each periodic mode."""
    return acf if acf.shape[1] == n else acf[:, :n] + acf[:, n:]


def _lag_units(series: np.ndarray, n: int, dt: float, n_lags: int) -> np.ndarray:
    """A lag unit of about an eighth of each mode's period, from its lag-one correlation."""
    lag1 = _pool(_lagged_autocorrelation(series, np.ones(series.shape[0], dtype=int), 1), n)
    with np.errstate(divide="ignore", invalid="ignore"):
        omega = np.sqrt(np.clip(2 * (1 - lag1[1] / lag1[0]), 1e-12, 4.0)) / dt
        unit = np.round(np.pi / (4 * omega * dt))
    cap = max(1, (series.shape[1] // 4) // n_lags)
    unit = np.clip(np.where(np.isfinite(unit), unit, 1), 1, cap).astype(int)
    return np.tile(unit, series.shape[0] // n)


def estimate_mode_dispersion(
    sheet: Any,
    *,
    spacing: float | None = None,
    boundary: str | None = None,
    laplacian: str = "lattice",
    variable: str | None = None,
    n_lags: int = 8,
) -> xr.Dataset:
    """Measure ``omega_k^2`` and ``gamma_k`` of every eigenmode of a sheet.

    Parameters
    ----------
    sheet : Dataset or DataArray with dims (time, x, y)
        A simulated or recorded sheet; a Dataset uses its observable (or ``variable``).
    spacing : float or None
        From the ``x``/``y`` coordinates when None.
    boundary : str or None
        From ``sheet.attrs["boundary"]`` when None (else periodic).
    laplacian : {"lattice", "spectral"}
        Which ``mu_k`` to attach to each mode.
    n_lags : int
        Lags ``0..n_lags`` (in units of each mode's lag unit) used in the AR(2) fit.

    Returns
    -------
    xarray.Dataset
        On dim ``mode``: ``kx``, ``ky``, ``mu``, ``omega2``, ``gamma``, ``variance`` and
        ``valid`` (the estimate is finite and the mode resolved by the sampling).

    Examples
    --------
    >>> from neurodata.datasets import make_cortical_sheet
    >>> sheet = make_cortical_sheet(shape=(8, 8), duration=20.0, random_state=0)
    >>> modes = estimate_mode_dispersion(sheet)
    >>> int(modes.sizes["mode"]), bool(modes.valid.all())
    (64, True)
    """
    da = _sheet_array(sheet, variable)
    boundary = check_boundary(boundary or da.attrs.get("boundary", "periodic"))
    a = spacing_from_coords(da, spacing)
    t = np.asarray(da.time.values, dtype=float)
    dt = sampling_step(t, name="the sheet's samples")
    values = np.asarray(da.values, dtype=float)
    values = values - values.mean(axis=0)
    modes = to_modes(values, boundary).reshape(t.size, -1)
    if np.iscomplexobj(modes):
        modes = np.concatenate([modes.real, modes.imag], axis=1)
    series = np.ascontiguousarray(modes.T)
    n = da.sizes["x"] * da.sizes["y"]
    lag_unit = _lag_units(series, n, dt, n_lags)
    acf = _pool(_lagged_autocorrelation(series, lag_unit, n_lags), n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z1, z2 = _ar2_roots(acf / acf[0])
        step = lag_unit[:n] * dt
        s1, s2 = np.log(z1) / step, np.log(z2) / step
        omega2, gamma = np.real(s1 * s2), -np.real(s1 + s2)
    var = acf[0]
    valid = (np.isfinite(omega2) & np.isfinite(gamma) & (omega2 > 0) & (gamma > 0)
             & (np.sqrt(np.abs(omega2)) * dt < 1.5))
    kx = np.repeat(wavenumbers(da.sizes["x"], a, boundary), da.sizes["y"])
    ky = np.tile(wavenumbers(da.sizes["y"], a, boundary), da.sizes["x"])
    mu = laplacian_eigenvalues((da.sizes["x"], da.sizes["y"]), a, boundary, laplacian).ravel()
    return xr.Dataset(
        {"omega2": ("mode", omega2), "gamma": ("mode", gamma), "variance": ("mode", var),
         "valid": ("mode", valid)},
        coords={"mode": np.arange(n), "kx": ("mode", kx), "ky": ("mode", ky), "mu": ("mode", mu)},
        attrs={"boundary": boundary, "spacing": a, "dt": dt, "laplacian": laplacian},
    )


def _irls(mu, w2, max_iter: int) -> tuple[float, float, list[dict]]:
    """``omega_k^2 = m^2 + c^2 mu_k`` by least squares with relative weights ``1 / model^2``.

    The first pass weighs by the measured ``omega_k^2`` (``1 / omega_k^2``); each further
    pass by the model's prediction, which removes the bias of weights taken from noisy
    measurements.  One record per pass: the weighted cost.
    """
    design = np.stack([np.ones_like(mu), mu], axis=1)
    scale = w2
    history = []
    coef = np.zeros(2)
    for _ in range(max(1, int(max_iter))):
        sw = 1.0 / scale
        new, *_ = np.linalg.lstsq(design * sw[:, None], w2 * sw, rcond=None)
        resid = (w2 - design @ new) * sw
        history.append({"cost": 0.5 * float(resid @ resid)})
        done = np.allclose(new, coef, rtol=1e-10, atol=0.0)
        coef = new
        pred = design @ coef
        if done or np.any(pred <= 0):
            break
        scale = pred
    return float(coef[0]), float(coef[1]), history


def modes_fit(sheet: Any, *, spacing: float | None = None, boundary: str | None = None,
              laplacian: str = "lattice", variable: str | None = None, fit_eta: bool = False,
              max_iter: int = 20) -> tuple[FieldParameters, xr.Dataset, list[dict]]:
    """:func:`fit_field` plus the per-mode estimates and the fit history."""
    modes = estimate_mode_dispersion(sheet, spacing=spacing, boundary=boundary,
                                     laplacian=laplacian, variable=variable)
    ok = modes.valid.values
    if ok.sum() < 3:
        raise NeurodataError("fewer than 3 eigenmodes could be measured; record longer or "
                             "sample faster.")
    mu, w2, g = modes.mu.values[ok], modes.omega2.values[ok], modes.gamma.values[ok]
    m2, c2, history = _irls(mu, w2, max_iter)
    eta = 0.0
    if fit_eta:
        (gamma, eta), *_ = np.linalg.lstsq(np.stack([np.ones_like(mu), mu], axis=1), g, rcond=None)
    else:
        gamma = float(np.mean(g))
    if m2 < 0 or c2 <= 0:
        raise NeurodataError(f"the measured dispersion is not Klein-Gordon (m^2={m2:.4g}, "
                             f"c^2={c2:.4g}); is the sheet noise-driven and linear?")
    # equipartition: each mode holds <|phi_k|^2> = sigma^2 / (2 gamma_k omega_k^2)
    g_model = gamma + eta * mu
    sigma2 = float(np.mean(2 * g_model * (m2 + c2 * mu) * modes.variance.values[ok]))
    params = FieldParameters(m=float(np.sqrt(m2)), c=float(np.sqrt(c2)), gamma=float(gamma),
                             eta=float(eta), noise=float(np.sqrt(sigma2)),
                             spacing=float(modes.attrs["spacing"]))
    return params, modes, history


def fit_field(
    sheet: Any,
    *,
    spacing: float | None = None,
    boundary: str | None = None,
    laplacian: str = "lattice",
    variable: str | None = None,
    fit_eta: bool = False,
) -> FieldParameters:
    """Fit ``m``, ``c``, ``gamma`` and ``sigma`` of the Klein-Gordon field to a sheet ``(time, x, y)``.

    ``omega_k^2 = m^2 + c^2 mu_k`` is fitted to the modes' estimates by iteratively
    reweighted least squares (relative errors), ``gamma`` is the mean of the modes' damping
    rates (or ``gamma + eta mu_k`` by least squares), and ``sigma`` follows from
    equipartition, ``<|phi_k|^2> = sigma^2 / (2 gamma_k omega_k^2)``, averaged over modes.

    Parameters
    ----------
    sheet : Dataset or DataArray
        See :func:`estimate_mode_dispersion`.
    spacing, boundary, laplacian, variable
        See :func:`estimate_mode_dispersion`.
    fit_eta : bool
        Also fit the wavenumber-dependent damping ``gamma_k = gamma + eta mu_k``.

    Returns
    -------
    FieldParameters

    Examples
    --------
    >>> from neurodata.datasets import make_cortical_sheet
    >>> sheet = make_cortical_sheet(shape=(12, 12), m=60.0, c=10.0, gamma=8.0, spacing=1.0,
    ...                             noise=2.0, duration=20.0, random_state=1)
    >>> p = fit_field(sheet)
    >>> bool(abs(p.m / 60 - 1) < 0.05 and abs(p.c / 10 - 1) < 0.05 and abs(p.noise / 2 - 1) < 0.05)
    True
    """
    params, _, _ = modes_fit(sheet, spacing=spacing, boundary=boundary, laplacian=laplacian,
                             variable=variable, fit_eta=fit_eta)
    return params
