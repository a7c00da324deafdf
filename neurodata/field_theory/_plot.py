"""Figures of the field model: dispersion and spectra (``ax=`` in, Axes out)."""

from __future__ import annotations

from typing import Any

import numpy as np

from neurodata._utils import get_axes
from neurodata.errors import NeurodataError
from neurodata.field_theory._continuum import FieldParameters

__all__ = ["plot_dispersion", "plot_spectrum"]


def _params(result: Any) -> FieldParameters:
    if isinstance(result, FieldParameters):
        return result
    if hasattr(result, "params_"):
        return result.params_
    raise NeurodataError("plot a fitted CorticalFieldModel or FieldParameters; got "
                         f"{type(result).__name__} (call fit() first).")


def plot_dispersion(result: Any, *, spacing: float | None = None, kmax: float | None = None,
                    ax: Any = None):
    """Dispersion: measured modes, the Klein-Gordon continuum and the lattice.

    Frequency ``omega / 2 pi`` against wavenumber ``|k|``: the continuum
    ``sqrt(m^2 + c^2 k^2)``, the five-point lattice along an axis and along the diagonal
    (``sqrt(m^2 + c^2 mu_k)``), and, for a model fitted to a sheet, every measured
    eigenmode (``sqrt(omega_k^2)`` at ``|k|``); for a model fitted to an array's
    cross-spectra, the wavenumber fitted in each frequency band.

    Parameters
    ----------
    result : CorticalFieldModel or FieldParameters
    spacing : float or None
        Lattice spacing (default: the fitted one; 1 when unknown, in units of ``a``).
    kmax : float or None
        Largest wavenumber drawn (default: the lattice's ``pi sqrt 2 / a``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_dispersion(FieldParameters(m=50.0, c=200.0, gamma=10.0, spacing=0.5))
    >>> [line.get_label() for line in ax.get_lines()]
    ['continuum', 'lattice, along x', 'lattice, diagonal']
    """
    p = _params(result)
    a = spacing or (p.spacing if np.isfinite(p.spacing) else 1.0)
    c = p.c if np.isfinite(p.c) else p.c_over_a * a
    _, ax = get_axes(ax, figsize=(5.0, 3.8))
    kmax = kmax or np.pi * np.sqrt(2) / a
    k = np.linspace(0.0, kmax, 300)
    ax.plot(k, np.sqrt(p.m**2 + c**2 * k**2) / (2 * np.pi), "--", color="k", label="continuum")
    kx = np.linspace(0.0, min(kmax, np.pi / a), 200)
    mu_axis = (4 / a**2) * np.sin(kx * a / 2) ** 2
    ax.plot(kx, np.sqrt(p.m**2 + c**2 * mu_axis) / (2 * np.pi), color="C0",
            label="lattice, along x")
    kd = np.linspace(0.0, min(kmax / np.sqrt(2), np.pi / a), 200)
    mu_diag = (8 / a**2) * np.sin(kd * a / 2) ** 2
    ax.plot(np.sqrt(2) * kd, np.sqrt(p.m**2 + c**2 * mu_diag) / (2 * np.pi), color="C1",
            label="lattice, diagonal")
    modes = getattr(result, "modes_", None) if getattr(result, "method_", "") == "modes" else None
    if modes is not None:
        ok = modes.valid.values
        kk = np.hypot(modes.kx.values, modes.ky.values)[ok]
        ax.plot(kk, np.sqrt(modes.omega2.values[ok]) / (2 * np.pi), ".", color="0.4", ms=4,
                label="measured modes")
    waves = getattr(result, "wavenumbers_", None)
    if waves is not None:
        ok = np.isfinite(waves.values)
        err = getattr(result, "wavenumbers_stderr_", None)
        ax.errorbar(waves.values[ok], waves.frequency.values[ok],
                    xerr=None if err is None else err.values[ok], fmt="o", color="0.3", ms=3,
                    label="measured (cross-spectra)")
    ax.set_xlabel("wavenumber |k| (rad per unit length)")
    ax.set_ylabel("frequency (Hz)")
    ax.set_xlim(0, kmax)
    ax.legend(fontsize=8)
    return ax


def plot_spectrum(model: Any, *, continuum: bool = True, ax: Any = None):
    """Measured spectrum against the fitted equipartition spectrum (log-log).

    Parameters
    ----------
    model : CorticalFieldModel
        Fitted.
    continuum : bool
        Also draw the continuum closed form (when the speed and spacing are known).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from neurodata.datasets import load_sample
    >>> from neurodata.field_theory import CorticalFieldModel
    >>> model = CorticalFieldModel(method="spectrum", shape=(48, 48), spacing=0.5,
    ...                            floor=True).fit(load_sample("sample_field"))
    >>> ax = plot_spectrum(model)
    >>> [line.get_label() for line in ax.get_lines()][:2]
    ['measured (Welch)', 'equipartition (fitted)']
    """
    if not hasattr(model, "spectrum_"):
        raise NeurodataError("plot_spectrum needs a fitted CorticalFieldModel.")
    from neurodata.field_theory._spectra import equipartition_psd

    _, ax = get_axes(ax, figsize=(5.0, 3.8))
    spec = model.spectrum_
    f = np.asarray(spec.frequency.values)[1:]
    ax.loglog(f, np.asarray(spec.values)[1:], color="0.6", label="measured (Welch)")
    fit = model.predict_spectrum(f, fs=model.fs_ if model.shape_ is not None else None)
    ax.loglog(f, fit.values, color="C0", label="equipartition (fitted)")
    p = model.params_
    if continuum and model.shape_ is not None and np.isfinite(p.c) and p.eta == 0:
        cont = equipartition_psd(f, m=p.m, c=p.c, gamma=p.gamma, noise=p.noise,
                                 spacing=p.spacing) + model.floor_
        ax.loglog(f, cont, "--", color="C1", label="equipartition, continuum")
    ax.axvspan(*model.band_, color="C2", alpha=0.08, label="fitted band")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("power (units$^2$/Hz)")
    ax.legend(fontsize=8)
    return ax
