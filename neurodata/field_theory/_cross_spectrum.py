"""Cross-spectra of an electrode array or imaging sheet, and the field's prediction of them.

A single-site spectrum fixes the speed only in units of the lattice spacing (``c / a``).
The cross-spectrum between sites a known distance ``r`` apart fixes ``c`` itself: in the
continuum, a noise-driven damped Klein-Gordon field (noise density ``A`` per unit area and
time) has the spectrum ``P(k, f) = 2 A / (c^4 |k^2 - kappa^2|^2)`` with the complex
wavenumber ``kappa^2 = (omega^2 - m^2 + i gamma omega) / c^2``, and the recorded
cross-spectrum (:mod:`._observation`) is

    S(r, f) = |H(f)|^2 A / (pi c^4) I(r, kappa^2),
    I(r, kappa^2) = int_0^inf k J0(k r) |G~(k)|^2 / |k^2 - kappa^2|^2 dk.

For point sensors ``I = Im K0(q r) / Im kappa^2``, ``q = sqrt(-kappa^2)`` (``Re q > 0``; at
``r = 0``, ``Im K0 -> -arg q``), from ``1/|k^2 - kappa^2|^2 = [1/(k^2 - kappa^2) - c.c.] /
(2 i Im kappa^2)`` and ``int k J0(k r) / (k^2 + q^2) dk = K0(q r)``.  Above the mass gap
(``omega > m``) ``K0`` of a nearly imaginary argument is a Hankel function: the coherence
oscillates like ``J0(Re kappa r)`` and decays over ``1 / Im kappa`` (propagating waves);
below it ``q`` is nearly real and the coherence decays as ``K0(q r)`` (evanescent).  For a
spatial kernel the integral is done on ``k^2 = Re kappa^2 + Im kappa^2 tan theta``, which turns
the Lorentzian into the uniform measure ``d theta / (2 Im kappa^2)`` on
``(arctan(-Re kappa^2 / Im kappa^2), pi/2)`` (Gauss-Legendre, 128 nodes).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy import special

from neurodata.errors import NeurodataError, ShapeError

__all__ = ["field_cross_spectrum", "hankel_lorentz", "measure_cross_spectrum"]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(128)


def hankel_lorentz(r, kappa2, spatial=None) -> np.ndarray:
    """``I(r, kappa^2)`` for distances ``r`` (last axis) and wavenumbers ``kappa2`` (first axes).

    ``spatial`` is ``|G~(k)|^2`` (a callable) or None for point sensors (closed form).

    Examples
    --------
    >>> from scipy.integrate import quad
    >>> from scipy.special import j0
    >>> k2 = np.array([4.0 + 1.0j])
    >>> exact = quad(lambda k: k * j0(1.5 * k) / abs(k * k - k2[0]) ** 2, 0, 200, limit=400)[0]
    >>> bool(np.isclose(hankel_lorentz(np.array([1.5]), k2)[0, 0], exact, rtol=1e-5))
    True
    """
    r = np.asarray(r, dtype=float)
    kappa2 = np.asarray(kappa2, dtype=complex)
    b = kappa2.imag[..., None]
    if np.any(b <= 0):
        raise NeurodataError("the field needs damping (Im kappa^2 = gamma omega / c^2 > 0) for a "
                             "finite cross-spectrum.")
    if spatial is None:
        q = np.sqrt(-kappa2)[..., None]
        q = np.where(q.real < 0, -q, q)
        rr = np.broadcast_to(r, q.shape[:-1] + r.shape)
        with np.errstate(invalid="ignore"):
            val = np.where(rr > 0, np.imag(special.kv(0, q * np.where(rr > 0, rr, 1.0))),
                           -np.angle(q))
        return val / b
    a = kappa2.real[..., None]
    theta0 = np.arctan2(-a, b)
    half = (np.pi / 2 - theta0) / 2
    theta = theta0 + half * (_NODES + 1)  # (..., nodes)
    k = np.sqrt(np.maximum(a + b * np.tan(theta), 0.0))
    integrand = special.j0(k[..., :, None] * r) * np.asarray(spatial(k))[..., :, None]
    return np.einsum("...n,...nr->...r", _WEIGHTS * half, integrand) / (2 * b)


def field_cross_spectrum(distances, frequencies, *, m: float, c: float, gamma: float,
                         density: float = 1.0, observation: Any = None) -> np.ndarray:
    """Predicted cross-spectrum ``S(r, f)`` (one-sided) of the continuum field, ``(f, r)``.

    Parameters
    ----------
    distances, frequencies : array
        Sensor separations (length units of ``c``) and frequencies (Hz).
    m, c, gamma : float
        The field (``gamma > 0``).
    density : float
        ``A``, the noise intensity per unit area (``sigma^2 a^2`` of a lattice).
    observation : sensor model or None
        See :mod:`._observation` (None: point sensors).

    Examples
    --------
    >>> f = np.array([40.0])
    >>> s = field_cross_spectrum([0.0], f, m=10.0, c=1.0, gamma=2.0, density=0.01)
    >>> round(float(s[0, 0] * 2 * 1.0**2 * 2.0 * 2 * np.pi * 40 / 0.01), 3)  # ~ A / (2 c^2 g w)
    1.0
    """
    from neurodata.field_theory._observation import check_observation

    obs = check_observation(observation)
    f = np.asarray(frequencies, dtype=float).ravel()
    om = 2 * np.pi * f
    kappa2 = (om**2 - m**2 + 1j * gamma * om) / c**2
    spatial = None if obs.is_point else obs.spatial
    val = hankel_lorentz(np.asarray(distances, dtype=float).ravel(), kappa2, spatial)
    return obs.temporal(f)[:, None] * density * val / (np.pi * c**4)


def _segments(x: np.ndarray, nperseg: int) -> tuple[np.ndarray, float]:
    """Hann-windowed FFTs of half-overlapping segments: ``(segment, frequency, site)``."""
    step = nperseg // 2
    starts = np.arange(0, x.shape[0] - nperseg + 1, step)
    win = np.hanning(nperseg + 2)[1:-1]
    segs = np.stack([x[s:s + nperseg] for s in starts]) * win[None, :, None]
    return np.fft.rfft(segs, axis=1), float(np.sum(win**2))


def cross_spectral_matrix(values: np.ndarray, fs: float, nperseg: int
                          ) -> tuple[np.ndarray, np.ndarray, int]:
    """Welch cross-spectral matrices ``(frequency, site, site)`` (one-sided), and frequencies."""
    x = np.asarray(values, dtype=float)
    x = x - x.mean(axis=0)
    spec, wsum = _segments(x, nperseg)
    scale = np.full(spec.shape[1], 2.0 / (fs * wsum))
    scale[0] /= 2
    if nperseg % 2 == 0:
        scale[-1] /= 2
    mat = np.einsum("sfi,sfj->fij", spec, spec.conj()) / spec.shape[0]
    return mat * scale[:, None, None], np.fft.rfftfreq(nperseg, 1.0 / fs), spec.shape[0]


def _distance_bins(d: np.ndarray, max_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin index of every pair distance, and each bin's mean distance."""
    uniq, inv = np.unique(np.round(d, 9), return_inverse=True)
    if uniq.size <= max_bins:
        return np.ravel(inv), np.bincount(np.ravel(inv), weights=d) / np.bincount(np.ravel(inv))
    edges = np.quantile(d, np.linspace(0, 1, max_bins + 1))
    idx = np.clip(np.searchsorted(edges, d, side="right") - 1, 0, max_bins - 1)
    counts = np.bincount(idx, minlength=max_bins)
    keep = counts > 0
    remap = np.cumsum(keep) - 1
    idx = remap[idx]
    return idx, np.bincount(idx, weights=d) / np.bincount(idx)


def _binned_segments(spec, iu, ju, idx, n_bins, scale) -> tuple[np.ndarray, np.ndarray]:
    """Per-segment distance-binned cross-spectra ``(segment, frequency, distance)`` and autos."""
    n_seg, n_f, _ = spec.shape
    counts = np.bincount(idx, minlength=n_bins)
    onehot = np.zeros((idx.size, n_bins))
    onehot[np.arange(idx.size), idx] = 1.0 / counts[idx]
    cross = np.empty((n_seg, n_f, n_bins))
    for lo in range(0, n_f, 32):
        x = spec[:, lo:lo + 32]
        re = np.real(x[..., iu] * x[..., ju].conj()) * scale[lo:lo + 32, None]
        cross[:, lo:lo + 32] = re @ onehot
    auto = (np.abs(spec) ** 2).mean(axis=2) * scale[None, :]
    return cross, auto


def measure_cross_spectrum(data: Any, positions: Any = None, *, fs: float | None = None,
                           nperseg: int | None = None, max_bins: int = 40,
                           keep_segments: bool = False) -> xr.Dataset:
    """Welch cross-spectra of all site pairs, averaged in bins of their distance.

    Parameters
    ----------
    data : DataArray (time, site) or array
        The samples (a recording's field signal: see :func:`field_samples`).
    positions : (n_site, 2) array
        Site positions (length units); required.
    fs : float or None
        Sampling rate (from ``data``'s time coordinate when None).
    nperseg : int or None
        Welch segment length (default: a sixteenth of the samples, at most 256: enough
        segments for their spread to estimate the errors).
    max_bins : int
        Distances are binned exactly when there are at most this many distinct ones (a
        regular grid), else in this many quantile bins.
    keep_segments : bool
        Also return every Welch segment's binned spectra (``cross_segments``,
        ``auto_segments`` on dim ``segment``), for the sandwich covariance and the bootstrap.

    Returns
    -------
    xarray.Dataset
        ``cross (frequency, distance)`` (mean real part of the cross-spectra of the pairs
        at that distance), ``coherence (frequency, distance)`` (mean real coherency),
        ``auto (frequency)`` (mean power spectrum), ``n_pairs (distance)``; attrs ``fs``,
        ``nperseg``, ``n_segments``, ``n_sites``.

    Examples
    --------
    >>> from neurodata.datasets import load_sample
    >>> from neurodata.field_theory import field_samples
    >>> s = field_samples(load_sample("sample_field"))
    >>> cs = measure_cross_spectrum(s.data, s.positions)
    >>> cs.cross.dims, int(cs.n_pairs.sum())
    (('frequency', 'distance'), 630)
    """
    if isinstance(data, xr.DataArray):
        if fs is None:
            from neurodata._utils import sampling_step

            fs = 1.0 / sampling_step(data, str(data.dims[0]), name="the samples")
        values = np.asarray(data.values, dtype=float)
    else:
        values = np.asarray(data, dtype=float)
    if values.ndim != 2 or fs is None:
        raise ShapeError("measure_cross_spectrum needs (time, site) samples and their rate fs.")
    if positions is None:
        raise NeurodataError("the cross-spectrum fit needs the sites' positions (electrode x/y in "
                             "the electrodes table, pixel positions with their spacing).")
    pos = np.asarray(positions, dtype=float)
    if pos.shape != (values.shape[1], 2):
        raise ShapeError(f"positions must be (n_site, 2) = ({values.shape[1]}, 2); got "
                         f"{pos.shape}.")
    nperseg = int(nperseg or min(256, values.shape[0] // 16))
    if nperseg < 16 or values.shape[0] < 2 * nperseg:
        raise ShapeError(f"{values.shape[0]} samples are too few for cross-spectra with "
                         f"segments of {nperseg}.")
    mat, f, n_seg = cross_spectral_matrix(values, float(fs), nperseg)
    auto = np.real(np.einsum("fii->fi", mat))
    n_sites = values.shape[1]
    iu, ju = np.triu_indices(values.shape[1], k=1)
    d = np.hypot(*(pos[iu] - pos[ju]).T)
    idx, centres = _distance_bins(d, max_bins)
    n_bins = centres.size
    counts = np.bincount(idx, minlength=n_bins)
    re = np.real(mat[:, iu, ju])
    coh = re / np.sqrt(auto[:, iu] * auto[:, ju])
    cross = np.stack([np.bincount(idx, weights=row, minlength=n_bins) for row in re]) / counts
    coher = np.stack([np.bincount(idx, weights=row, minlength=n_bins) for row in coh]) / counts
    out = xr.Dataset(
        {"cross": (("frequency", "distance"), cross),
         "coherence": (("frequency", "distance"), coher),
         "auto": ("frequency", auto.mean(axis=1)), "n_pairs": ("distance", counts)},
        coords={"frequency": f, "distance": centres},
        attrs={"fs": float(fs), "nperseg": nperseg, "n_segments": n_seg, "n_sites": n_sites})
    if keep_segments:
        spec, wsum = _segments(values - values.mean(axis=0), nperseg)
        scale = np.full(f.size, 2.0 / (float(fs) * wsum))
        scale[0] /= 2
        if nperseg % 2 == 0:
            scale[-1] /= 2
        seg_cross, seg_auto = _binned_segments(spec, iu, ju, idx, n_bins, scale)
        out["cross_segments"] = (("segment", "frequency", "distance"), seg_cross)
        out["auto_segments"] = (("segment", "frequency"), seg_auto)
    return out
