"""Fit the field parameters to a power spectrum (a recorded LFP/ECoG-like signal).

The equipartition spectrum (:func:`equipartition_spectrum`) is fitted to a measured
spectrum by least squares on ``log P`` over a frequency band, with parameters
``log m, log c, log gamma`` (and ``log floor`` for a white sensor-noise floor); the noise
intensity ``sigma`` enters as a factor ``sigma^2`` and is profiled out in closed form.

What a single-site spectrum can tell: ``m`` sets the mass gap (the rise of ``f P(f)`` at
``f0``), ``gamma`` its sharpness, and the ratio ``sigma^2 / (c^2 gamma)`` the level of the
1/f band.  The speed enters only as ``c / a`` (speed in lattice spacings per second),
identified by the high-frequency cutoff of the lattice (the shortest waves,
``f_max = sqrt(m^2 + c^2 max mu) / 2 pi``): the signal must be sampled above ``2 f_max``,
and ``c`` itself needs the spacing ``a`` (otherwise only ``c / a`` is reported).  A
single-site spectrum of a field without a lattice (a real cortex) does not identify the
speed at all; the cross-spectra of an electrode array do (:mod:`._cross_spectrum`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodata.errors import NeurodataError
from neurodata.field_theory._continuum import FieldParameters
from neurodata.field_theory._grid import check_spacing, laplacian_eigenvalues
from neurodata.field_theory._optim import least_squares_history
from neurodata.field_theory._spectra import equipartition_psd


def _initial_guess(f: np.ndarray, p: np.ndarray, mu_max: float) -> tuple[float, float, float]:
    """Mass gap from the rise of ``f P``, cutoff from its fall, damping a tenth of ``m``."""
    fp = f * p
    plateau = np.median(fp[fp > 0.2 * fp.max()])
    above = np.flatnonzero(fp > 0.5 * plateau)
    f0 = f[above[0]] if above.size else f[np.argmax(fp)]
    f_cut = f[above[-1]] if above.size else f[-1]
    m = 2 * np.pi * max(f0, f[0])
    c = np.sqrt(max((2 * np.pi * f_cut) ** 2 - m**2, m**2)) / np.sqrt(mu_max)
    return m, c, 0.1 * m


def _model(theta, f, kw, floor):
    m, c, gamma = np.exp(theta[:3])
    psd = equipartition_psd(f, m=m, c=c, gamma=gamma, noise=1.0, **kw)
    return psd, (np.exp(theta[3]) if floor else 0.0)


def _residuals(theta, f, logp, kw, floor):
    try:
        with np.errstate(all="ignore"):
            base, fl = _model(theta, f, kw, floor)
    except (ZeroDivisionError, NeurodataError):
        return np.full(f.size, 1e3)
    if not np.all(np.isfinite(base)) or np.any(base <= 0):
        return np.full(f.size, 1e3)
    if floor:
        # with a floor, sigma^2 is not separable: theta[4] is log sigma^2
        return np.log(np.exp(theta[4]) * base + fl) - logp
    log_sigma2 = np.mean(logp - np.log(base))
    return np.log(base) + log_sigma2 - logp


def _grid_starts(f, logp, kw, m0, c0, g0, floor, n_best=2):
    """The best few (c, gamma) of a coarse grid around the initial guess, as fit starts."""
    scored = []
    for cs in np.geomspace(0.2, 5.0, 9):
        for gs in (0.3, 1.0, 3.0):
            theta = [np.log(m0), np.log(c0 * cs), np.log(g0 * gs)]
            r = _residuals(np.array(theta), f, logp, kw, False)
            scored.append((float(r @ r), theta))
    scored.sort(key=lambda item: item[0])
    starts = []
    for _, theta in scored[:n_best]:
        if floor:
            base0, _ = _model(np.array(theta), f, kw, False)
            theta = [*theta, np.log(np.exp(logp).min() * 0.5), float(np.mean(logp - np.log(base0)))]
        starts.append(theta)
    return starts


def _band(spectrum, fs, fmin, fmax):
    f = np.asarray(spectrum["frequency"].values, dtype=float)
    p = np.asarray(spectrum.values, dtype=float)
    hi = 0.9 * (fs / 2 if fs else f.max())
    sel = (f >= (fmin if fmin is not None else f[1])) & (f <= (fmax if fmax is not None else hi))
    sel &= p > 0
    if sel.sum() < 8:
        raise NeurodataError("fewer than 8 positive spectral bins in the fit band; widen fmin/fmax "
                             "or record longer.")
    return f[sel], p[sel]


def spectrum_fit(spectrum: xr.DataArray, *, spacing: float | None = None,
                 shape: tuple[int, int] | None = None, boundary: str = "periodic",
                 laplacian: str = "lattice", sites: Any = None, fs: float | None = None,
                 fmin: float | None = None, fmax: float | None = None, floor: bool = False,
                 max_iter: int = 100, observation: Any = None) -> tuple[FieldParameters, dict]:
    """:func:`fit_field_spectrum` and what the estimator needs: history, Jacobian, band.

    Returns ``(params, info)``; ``info`` holds ``history`` (records of the best start),
    ``theta`` (log parameters), ``jac``, ``residuals``, ``names``, ``floor_level``,
    ``frequency`` (the fitted band).
    """
    a = 1.0 if spacing is None else check_spacing(spacing)
    fs = fs if fs is not None else spectrum.attrs.get("fs")
    f, p = _band(spectrum, fs, fmin, fmax)
    kw = dict(spacing=a, shape=shape, boundary=boundary, fs=fs if shape is not None else None,
              observation=observation)
    if shape is not None:
        kw.update(laplacian=laplacian, sites=sites)
    mu_max = (float(laplacian_eigenvalues(shape, a, boundary, laplacian).max())
              if shape is not None else 4 * np.pi / a**2)
    m0, c0, g0 = _initial_guess(f, p, mu_max)
    logp = np.log(p)
    lower = [np.log(m0 / 100), np.log(c0 / 1e3), np.log(m0 / 1e4)]
    upper = [np.log(m0 * 100), np.log(c0 * 1e3), np.log(m0 * 100)]
    if floor:
        lower += [np.log(p.min() * 1e-6), -np.inf]
        upper += [np.log(p.max()), np.inf]
    best = None
    for i, theta in enumerate(_grid_starts(f, logp, kw, m0, c0, g0, floor)):
        res = least_squares_history(lambda th: _residuals(th, f, logp, kw, floor), theta,
                                    lower=lower, upper=upper, max_iter=max_iter, start=i)
        if np.all(np.isfinite(res.fun)) and (best is None or res.cost < best.cost):
            best = res
    if best is None:
        raise NeurodataError("the spectrum fit did not converge from any start; check the band.")
    m, c, gamma = np.exp(best.x[:3])
    base, fl = _model(best.x, f, kw, floor)
    sigma2 = np.exp(best.x[4]) if floor else np.exp(np.mean(logp - np.log(base)))
    if spacing is None:
        params = FieldParameters(m=float(m), c=float("nan"), gamma=float(gamma),
                                 noise=float(np.sqrt(sigma2)), c_over_a=float(c))
    else:
        params = FieldParameters(m=float(m), c=float(c), gamma=float(gamma),
                                 noise=float(np.sqrt(sigma2)), spacing=a)
    info = {"history": best.history, "theta": best.x, "jac": best.jac, "residuals": best.fun,
            "names": ["m", "c", "gamma", "floor", "noise2"][: best.x.size],
            "floor_level": float(fl), "frequency": f}
    return params, info


def fit_field_spectrum(
    spectrum: xr.DataArray,
    *,
    spacing: float | None = None,
    shape: tuple[int, int] | None = None,
    boundary: str = "periodic",
    laplacian: str = "lattice",
    sites: Any = None,
    fs: float | None = None,
    fmin: float | None = None,
    fmax: float | None = None,
    floor: bool = False,
    max_iter: int = 100,
) -> FieldParameters:
    """Fit ``m``, ``c``, ``gamma`` and ``sigma`` to a measured power spectrum.

    A single-site (or site-averaged) spectrum depends on the speed only through ``c / a``,
    the speed in lattice spacings per second: ``c^2 mu_k = (c/a)^2 (a^2 mu_k)`` with
    ``a^2 mu_k`` dimensionless.  Without ``spacing`` the fit therefore reports
    ``c_over_a`` and leaves ``c`` NaN; give the lattice spacing to get ``c``.  To identify
    ``c`` from a recording without a lattice, fit the cross-spectra of an electrode array
    against the distances between its electrodes.

    Parameters
    ----------
    spectrum : DataArray on dim ``frequency``
        One-sided PSD, e.g. from :func:`measure_spectrum` (its ``fs`` attr is used).
    spacing : float or None
        Lattice spacing ``a``; None: report ``c / a`` only.
    shape, boundary, laplacian, sites
        The lattice the signal comes from (see :func:`equipartition_spectrum`); with
        ``shape=None`` the continuum closed form is fitted.
    fs : float or None
        Sampling rate (default ``spectrum.attrs["fs"]``); used for the exact sampled model.
    fmin, fmax : float or None
        Band of the fit (default: from the second bin to 0.9 of Nyquist).
    floor : bool
        Also fit an additive white-noise floor.
    max_iter : int
        Most trial steps of the optimiser from each start.

    Returns
    -------
    FieldParameters
        With ``noise`` (``sigma``) and ``c_over_a`` filled in (``c`` NaN without spacing).

    Examples
    --------
    >>> from neurodata.field_theory import equipartition_spectrum
    >>> f = np.linspace(1, 500, 500)
    >>> true = equipartition_spectrum(f, m=60.0, c=20.0, gamma=6.0, noise=2.0, shape=(16, 16),
    ...                               fs=1000.0).assign_attrs(fs=1000.0)
    >>> p = fit_field_spectrum(true, shape=(16, 16), spacing=1.0)
    >>> round(p.m, 3), round(p.c, 3), round(p.gamma, 3), round(p.noise, 3)
    (60.0, 20.0, 6.0, 2.0)
    >>> p = fit_field_spectrum(true, shape=(16, 16))  # no spacing: only c / a
    >>> p.c, round(p.c_over_a, 3)
    (nan, 20.0)
    """
    params, _ = spectrum_fit(spectrum, spacing=spacing, shape=shape, boundary=boundary,
                             laplacian=laplacian, sites=sites, fs=fs, fmin=fmin, fmax=fmax,
                             floor=floor, max_iter=max_iter)
    return params
