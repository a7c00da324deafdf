"""Frequency spectra: the equipartition prediction, Welch estimates and the 1/f slope.

Equipartition (Cooray, Cooray & Friston 2023)
---------------------------------------------
Driven by white noise of intensity ``sigma`` on every site and damped at rate ``gamma_k``,
each eigenmode of the field is an Ornstein-Uhlenbeck oscillator whose stationary energy
``<(phi_k')^2 + omega_k^2 phi_k^2> / 2 = sigma^2 / (2 gamma)`` is the same for every mode
(equipartition over the eigenfunctions, "temperature" ``sigma^2 / 2 gamma``).  Mode ``k``
therefore holds ``<phi_k^2> = sigma^2 / (2 gamma_k omega_k^2)`` and contributes the one-sided
power spectral density (per Hz)

    P_k(f) = 2 sigma^2 / ((omega_k^2 - omega^2)^2 + gamma_k^2 omega^2),    omega = 2 pi f.

The spectrum at a site is the sum of ``P_k`` weighted by ``|e_k(x)|^2`` (``1/N`` on average
over the sheet).  In the continuum, with modes up to a circular cutoff ``k_max``
(``pi k_max^2 = (2 pi / a)^2``, the area of the Brillouin zone), the sum is an integral
with a closed form:

    P(f) = a^2 sigma^2 / (2 pi c^2 gamma omega)
           [arctan((u_max - omega^2) / (gamma omega)) + arctan((omega^2 - m^2) / (gamma omega))],

``u_max = m^2 + c^2 k_max^2``.  Between the mass gap and the cutoff, ``P(f) ~ a^2 sigma^2 /
(2 c^2 gamma omega)``: the 1/f spectrum, because in two dimensions the number of modes per
unit frequency grows like ``omega`` while the power per mode falls like ``1/omega^2``.

The prediction, stated exactly: the local log-log slope of the continuum spectrum tends to
``-1`` as ``m / omega``, ``gamma / omega`` and ``omega / omega_max`` tend to 0 (the deviation
is first order in them); on a finite band and lattice it is the slope of the closed form or
of the lattice sum, which the tests compare with Welch estimates of simulations.  It is
*not* a range of experimental exponents: those are listed apart in
:data:`EMPIRICAL_EXPONENTS`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy import signal

from neurodata._utils import sampling_step
from neurodata.errors import NeurodataError, ShapeError
from neurodata.field_theory._grid import (
    check_boundary,
    check_shape,
    check_spacing,
    laplacian_eigenvalues,
    mode_weights,
    wavenumbers,
)
from neurodata.schema import is_time_dim

#: Empirical exponents ``chi`` of cortical field-potential spectra (``P ~ f^-chi``), as
#: ``(chi, spread)``, cited apart from the model's prediction.  Human ECoG below the ~70 Hz
#: knee: 2.0 +/- 0.4 (Miller, Sorensen, Ojemann & den Nijs 2009, PLoS Comput Biol 5,
#: e1000609; the value as quoted in this project's issue 17, the paper was not re-read
#: here).  The white-noise equipartition prediction of a 2D field is ``chi = 1`` (see the
#: module docstring), outside this range; a sensor's spatial kernel steepens it.
EMPIRICAL_EXPONENTS = {"human ECoG below the ~70 Hz knee (Miller et al. 2009)": (2.0, 0.4)}


def _mode_psd(freqs, w2, g, sigma, fs):
    """One-sided PSD of each (w2, g) oscillator at ``freqs``: shape (n_modes, n_freqs)."""
    om = 2 * np.pi * np.asarray(freqs, dtype=float)[None, :]
    w2, g = w2[:, None], g[:, None]
    if fs is None:
        return 2 * sigma**2 / ((w2 - om**2) ** 2 + g**2 * om**2)
    h = 1.0 / fs
    disc = np.sqrt((g**2 / 4 - w2).astype(complex))
    disc = np.where(np.abs(disc) < 1e-7 * np.sqrt(w2 + g**2), 1e-7 * np.sqrt(w2 + g**2), disc)
    s1, s2 = -g / 2 + disc, -g / 2 - disc
    var = sigma**2 / (2 * g * w2)
    cos_t = np.cos(om * h)
    total = 0.0
    for s, r in ((s1, -s2 / (s1 - s2)), (s2, s1 / (s1 - s2))):
        z = np.exp(s * h)
        total = total + r * (1 - z**2) / (1 - 2 * z * cos_t + z**2)
    return 2 * h * var * np.real(total)


def _continuum_psd(freqs, m, c, gamma, sigma, a):
    om = 2 * np.pi * np.asarray(freqs, dtype=float)
    u_max = m**2 + c**2 * 4 * np.pi / a**2
    pref = a**2 * sigma**2 / (2 * np.pi * c**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        go = gamma * om
        val = (np.arctan((u_max - om**2) / go) + np.arctan((om**2 - m**2) / go)) / go
    zero = pref * (1 / m**2 - 1 / u_max) if m > 0 else np.inf
    return np.where(om > 0, pref * val, zero)


def equipartition_spectrum(
    frequencies: Any,
    *,
    m: float,
    c: float,
    gamma: float,
    noise: float = 1.0,
    eta: float = 0.0,
    spacing: float = 1.0,
    shape: tuple[int, int] | None = None,
    boundary: str = "periodic",
    laplacian: str = "lattice",
    fs: float | None = None,
    sites: Any = None,
) -> xr.DataArray:
    """The power spectrum predicted by equipartition of energy over the field's eigenmodes.

    Parameters
    ----------
    frequencies : array
        Frequencies (Hz).
    m, c, gamma, eta : float
        Field parameters (see :class:`FieldParameters`); ``gamma > 0``.
    noise : float
        ``sigma``, the white-noise intensity per site.
    spacing : float
        Lattice spacing ``a``.
    shape : (int, int) or None
        The lattice: sum over its eigenmodes.  None: the continuum closed form with the
        circular Brillouin-zone cutoff (``eta`` must be 0, ``fs`` None).
    boundary, laplacian : str
        Eigenmodes (see :func:`solve_spectral`).
    fs : float or None
        Sampling rate: give it to predict the spectrum of the *sampled* signal exactly
        (including aliasing), as a Welch estimate of the sampled data measures it.
    sites : (n, 2) int array or None
        Lattice indices of the recording sites; None averages over the whole sheet.

    Returns
    -------
    xarray.DataArray
        One-sided PSD (units^2 / Hz) on dim ``frequency``.

    Examples
    --------
    >>> f = np.array([20.0, 40.0])
    >>> p = equipartition_spectrum(f, m=2 * np.pi, c=1.0, gamma=1.0, spacing=0.01)
    >>> round(float(p[0] / p[1]), 2)  # 1/f between the mass gap and the cutoff
    2.0
    """
    f = np.asarray(frequencies, dtype=float).ravel()
    psd = equipartition_psd(f, m=m, c=c, gamma=gamma, noise=noise, eta=eta, spacing=spacing,
                            shape=shape, boundary=boundary, laplacian=laplacian, fs=fs, sites=sites)
    return xr.DataArray(psd, dims="frequency", coords={"frequency": f}, name="psd",
                        attrs={"units": "units^2/Hz", "model": "equipartition"})


def equipartition_psd(f, *, m, c, gamma, noise=1.0, eta=0.0, spacing=1.0, shape=None,
                      boundary="periodic", laplacian="lattice", fs=None, sites=None,
                      observation=None) -> np.ndarray:
    """:func:`equipartition_spectrum` as a plain array (no labels), for fitting loops.

    Examples
    --------
    >>> p = equipartition_psd(np.array([10.0]), m=1.0, c=1.0, gamma=1.0, shape=(4, 4))
    >>> p.shape
    (1,)
    """
    m, c, gamma, eta, sigma = (float(v) for v in (m, c, gamma, eta, noise))
    if not gamma > 0 or c <= 0 or m < 0 or sigma < 0:
        raise NeurodataError("the equipartition spectrum needs gamma > 0, c > 0, m >= 0 and "
                             f"noise >= 0; got gamma={gamma}, c={c}, m={m}, noise={sigma}.")
    a = check_spacing(spacing)
    if shape is None:
        if eta or fs is not None:
            raise NeurodataError("the continuum closed form needs eta=0 and fs=None; give the "
                                 "lattice shape= for the exact sum over modes.")
        if observation is not None and not observation.is_point:
            from neurodata.field_theory._cross_spectrum import field_cross_spectrum

            return field_cross_spectrum([0.0], f, m=m, c=c, gamma=gamma,
                                        density=sigma**2 * a**2, observation=observation)[:, 0]
        out = _continuum_psd(f, m, c, gamma, sigma, a)
        return out if observation is None else out * observation.temporal(f)
    mu_u, wsum = _mode_groups(check_shape(shape), a, check_boundary(boundary), laplacian, sites,
                              observation)
    out = wsum @ _mode_psd(f, m**2 + c**2 * mu_u, gamma + eta * mu_u, sigma, fs)
    return out if observation is None else out * observation.temporal(f)


def _mode_groups(shape, a, boundary, laplacian, sites, observation=None):
    """Distinct ``mu_k`` of the lattice and the summed weight of the modes sharing each.

    An observation model weighs each mode by its spatial transfer ``|G~(k)|^2``.
    """
    mu = laplacian_eigenvalues(shape, a, boundary, laplacian).ravel()
    weights = mode_weights(shape, boundary, sites).ravel()
    if observation is not None and not observation.is_point:
        kx = wavenumbers(shape[0], a, boundary)[:, None]
        ky = wavenumbers(shape[1], a, boundary)[None, :]
        weights = weights * observation.spatial(np.hypot(kx, ky)).ravel()
    keys, inv = np.unique(np.round(mu * a**2, 12), return_inverse=True)
    return keys / a**2, np.bincount(np.ravel(inv), weights=weights)


def _signal_array(data: Any, dim: str | None) -> tuple[xr.DataArray, str]:
    if isinstance(data, xr.Dataset):
        name = data.attrs.get("observable", "phi")
        if name in data:
            data = data[name]
        else:
            from neurodata.field_theory._recording import field_samples

            data = field_samples(data).data
    if not isinstance(data, xr.DataArray):
        raise ShapeError("measure_spectrum needs a DataArray with a time dimension, a recording "
                         "with a field signal, or a Dataset from a solver.")
    if dim is None:
        tdims = [d for d in map(str, data.dims) if is_time_dim(d)]
        dim = "time" if "time" in tdims else (tdims[0] if len(tdims) == 1 else "time")
    if dim not in data.dims or dim not in data.coords:
        raise ShapeError(f"the signal needs a {dim!r} dimension with a coordinate; got dims "
                         f"{data.dims}.")
    return data, dim


def measure_spectrum(
    data: Any,
    *,
    dim: str | None = None,
    nperseg: int | None = None,
    average: bool = True,
    window: str = "hann",
) -> xr.DataArray:
    """Welch power spectral density of a signal, averaged over its other dimensions.

    Parameters
    ----------
    data : DataArray or Dataset
        Any dims, one of them ``dim`` with a uniformly spaced coordinate (seconds).  A
        Dataset from a solver uses its observable (``phi``); a recording its field signal
        (an ElectricalSeries, an imaging sheet; see :class:`CorticalFieldModel`).
    dim : str or None
        The time dimension (None: ``time``, or the signal's only ``time_<name>`` dim).
    nperseg : int or None
        Welch segment length (default: a quarter of the samples, at most 1024).
    average : bool
        Average over all other dims (sites, channels); else keep them.
    window : str

    Returns
    -------
    xarray.DataArray
        One-sided PSD on dim ``frequency`` (Hz), attrs ``fs`` and ``nperseg``.

    Examples
    --------
    >>> t = np.arange(4096) / 1000.0
    >>> x = xr.DataArray(np.sin(2 * np.pi * 50 * t), dims="time", coords={"time": t})
    >>> float(measure_spectrum(x, nperseg=1000).idxmax())
    50.0
    """
    da, dim = _signal_array(data, dim)
    t = np.asarray(da[dim].values, dtype=float)
    if t.size < 8:
        raise ShapeError(f"{dim!r} must hold at least 8 samples; got {t.size}.")
    fs = 1.0 / sampling_step(da, dim, name="the signal")
    nperseg = int(nperseg or min(1024, t.size // 4))
    other = [d for d in da.dims if d != dim]
    values = da.transpose(dim, *other).values.reshape(t.size, -1)
    psd_sum: np.ndarray | None = None
    cols = []
    for start in range(0, values.shape[1], 64):
        freqs, p = signal.welch(values[:, start:start + 64], fs=fs, nperseg=nperseg,
                                window=window, axis=0)
        if average:
            psd_sum = p.sum(axis=1) if psd_sum is None else psd_sum + p.sum(axis=1)
        else:
            cols.append(p)
    attrs = {"fs": fs, "nperseg": nperseg, "units": "units^2/Hz"}
    if average:
        assert psd_sum is not None
        return xr.DataArray(psd_sum / values.shape[1], dims="frequency",
                            coords={"frequency": freqs}, name="psd", attrs=attrs)
    shape = [da.sizes[d] for d in other]
    arr = np.concatenate(cols, axis=1).reshape(freqs.size, *shape)
    coords = {d: da[d] for d in other if d in da.coords}
    return xr.DataArray(arr, dims=("frequency", *other), coords={"frequency": freqs, **coords},
                        name="psd", attrs=attrs)


def spectral_slope(spectrum: xr.DataArray, fmin: float, fmax: float) -> float:
    """Slope of ``log10 P`` against ``log10 f`` between ``fmin`` and ``fmax``.

    A weighted least-squares line with weights ``1/f``, i.e. equal weight per interval of
    ``log f`` (Welch bins are uniform in ``f``).

    Examples
    --------
    >>> f = np.linspace(1, 100, 100)
    >>> round(spectral_slope(xr.DataArray(3 / f, dims="frequency", coords={"frequency": f}), 2, 50), 6)
    -1.0
    """
    f = np.asarray(spectrum["frequency"].values, dtype=float)
    p = np.asarray(spectrum.values, dtype=float)
    sel = (f >= fmin) & (f <= fmax) & (p > 0)
    if sel.sum() < 3:
        raise NeurodataError(f"fewer than 3 positive spectral bins between {fmin} and {fmax} Hz.")
    x, y, w = np.log10(f[sel]), np.log10(p[sel]), 1.0 / f[sel]
    xm, ym = np.average(x, weights=w), np.average(y, weights=w)
    return float(np.sum(w * (x - xm) * (y - ym)) / np.sum(w * (x - xm) ** 2))
