"""Figures of the field model: dispersion and spectra (``ax=`` in, Axes out)."""

from __future__ import annotations

from typing import Any

import numpy as np

from neurodata._utils import get_axes
from neurodata.errors import NeurodataError
from neurodata.field_theory._continuum import FieldParameters

__all__ = ["plot_coherence", "plot_dispersion", "plot_spectrum"]


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
    cross-spectra, the wavenumber fitted in each frequency band (with its standard error).

    Parameters
    ----------
    result : CorticalFieldModel or FieldParameters
    spacing : float or None
        Lattice spacing (default: the fitted one; 1 when unknown, in units of ``a``).  A
        cross-spectrum fit has no lattice: its lattice curves are drawn only when a spacing
        is given.
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
    waves = getattr(result, "wavenumbers_", None)
    lattice = spacing is not None or np.isfinite(p.spacing) or waves is None
    a = spacing or (p.spacing if np.isfinite(p.spacing) else 1.0)
    c = p.c if np.isfinite(p.c) else p.c_over_a * a
    _, ax = get_axes(ax, figsize=(5.0, 3.8))
    if kmax is None:
        kmax = (np.pi * np.sqrt(2) / a if waves is None
                else 1.5 * float(np.nanmax(waves.values)))
    k = np.linspace(0.0, kmax, 300)
    ax.plot(k, np.sqrt(p.m**2 + c**2 * k**2) / (2 * np.pi), "--", color="k", label="continuum")
    if lattice:
        _lattice_lines(ax, p.m, c, a, kmax)
    modes = getattr(result, "modes_", None) if getattr(result, "method_", "") == "modes" else None
    if modes is not None:
        ok = modes.valid.values
        kk = np.hypot(modes.kx.values, modes.ky.values)[ok]
        ax.plot(kk, np.sqrt(modes.omega2.values[ok]) / (2 * np.pi), ".", color="0.4", ms=4,
                label="measured modes")
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


def _lattice_lines(ax, m, c, a, kmax):
    kx = np.linspace(0.0, min(kmax, np.pi / a), 200)
    mu_axis = (4 / a**2) * np.sin(kx * a / 2) ** 2
    ax.plot(kx, np.sqrt(m**2 + c**2 * mu_axis) / (2 * np.pi), color="C0",
            label="lattice, along x")
    kd = np.linspace(0.0, min(kmax / np.sqrt(2), np.pi / a), 200)
    mu_diag = (8 / a**2) * np.sin(kd * a / 2) ** 2
    ax.plot(np.sqrt(2) * kd, np.sqrt(m**2 + c**2 * mu_diag) / (2 * np.pi), color="C1",
            label="lattice, diagonal")


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


def plot_coherence(model: Any, *, frequencies: Any = None, ax: Any = None):
    """Cross-spectra against distance at a few frequencies: measured (dots) and fitted (lines).

    Each cross-spectrum is divided by the mean auto-spectrum at its frequency, so the
    curves start near 1 (less the sensor-noise share) and oscillate like ``J0`` above the
    mass gap (propagating waves) or decay monotonically below it (evanescent).

    Parameters
    ----------
    model : CorticalFieldModel
        Fitted with ``method="cross_spectrum"``.
    frequencies : sequence of float, optional
        Default: four frequencies spread over the fitted band.
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
    >>> model = CorticalFieldModel(fmax=40.0).fit(load_sample("sample_field"))
    >>> len(plot_coherence(model).get_lines())  # 4 frequencies: dots and a line each, and 0
    9
    """
    from neurodata.field_theory._cross_spectrum import field_cross_spectrum

    cs = getattr(model, "cross_spectrum_", None)
    if cs is None or getattr(model, "method_", "") != "cross_spectrum":
        raise NeurodataError("plot_coherence needs a CorticalFieldModel fitted to cross-spectra "
                             "(method='cross_spectrum').")
    _, ax = get_axes(ax, figsize=(5.0, 3.8))
    lo, hi = model.band_
    f_all = cs.frequency.values
    if frequencies is None:
        frequencies = np.geomspace(max(lo, f_all[1]), hi, 4)
    r = cs.distance.values
    rr = np.linspace(0.0, r.max(), 200)
    v = model.fit_values_
    for i, f0 in enumerate(frequencies):
        j = int(np.argmin(np.abs(f_all - f0)))
        auto = float(cs.auto.values[j])
        color = f"C{i}"
        ax.plot(r, cs.cross.values[j] / auto, "o", color=color, ms=3)
        fit = field_cross_spectrum(rr, [f_all[j]], m=v["m"], c=v["c"], gamma=v["gamma"],
                                   density=v["density"], observation=model.observation_)[0]
        ax.plot(rr, fit / auto, color=color, label=f"{f_all[j]:.0f} Hz")
    ax.axhline(0.0, color="0.7", lw=0.8)
    ax.set_xlabel("distance between sites")
    ax.set_ylabel("cross-spectrum / auto-spectrum")
    ax.legend(fontsize=8, title="measured (dots), fitted", title_fontsize=8)
    return ax
