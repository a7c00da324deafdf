"""The estimator: a Klein-Gordon field model fitted to a sheet, a recording or a spectrum."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodata.errors import NeurodataError, ShapeError
from neurodata.field_theory._continuum import FieldParameters
from neurodata.field_theory._fit import estimate_mode_dispersion, fit_field
from neurodata.field_theory._fit_spectrum import fit_field_spectrum
from neurodata.field_theory._spectra import equipartition_spectrum, measure_spectrum
from neurodata.field_theory._spectral import solve_spectral


class CorticalFieldModel:
    """Canonical cortical field (damped Klein-Gordon) fitted to data.

    ``fit`` dispatches on what it is given: a sheet ``(time, x, y)`` is fitted mode by mode
    (:func:`fit_field`), a spectrum (dim ``frequency``) or a recording with a ``time`` dim
    (channels, any other dims) by the equipartition spectrum (:func:`fit_field_spectrum`).

    Parameters
    ----------
    spacing : float or None
        Lattice spacing (from the sheet's coordinates when None, else 1).
    boundary : str or None
        Boundary condition (from the data's attrs when None, else periodic).
    shape : (int, int) or None
        For spectra: the lattice the signal comes from (None: continuum closed form).
    laplacian : {"lattice", "spectral"}
    fmin, fmax : float or None
        Band of a spectrum fit.
    floor : bool
        Fit a white sensor-noise floor in a spectrum fit.
    fit_eta : bool
        Fit wavenumber-dependent damping in a sheet fit.

    Attributes
    ----------
    params_ : FieldParameters
    m_, c_, gamma_, noise_ : float
    modes_ : xarray.Dataset
        Per-mode dispersion estimates (sheet fits).
    spectrum_ : xarray.DataArray
        The measured spectrum (spectrum fits).

    Examples
    --------
    >>> from neurodata.datasets import make_cortical_sheet
    >>> sheet = make_cortical_sheet(shape=(12, 12), m=60.0, c=10.0, gamma=8.0,
    ...                             duration=20.0, random_state=1)
    >>> model = CorticalFieldModel().fit(sheet)
    >>> bool(abs(model.m_ / 60 - 1) < 0.05)
    True
    """

    def __init__(self, *, spacing: float | None = None, boundary: str | None = None,
                 shape: tuple[int, int] | None = None, laplacian: str = "lattice",
                 fmin: float | None = None, fmax: float | None = None, floor: bool = False,
                 fit_eta: bool = False) -> None:
        self.spacing = spacing
        self.boundary = boundary
        self.shape = shape
        self.laplacian = laplacian
        self.fmin = fmin
        self.fmax = fmax
        self.floor = floor
        self.fit_eta = fit_eta

    def fit(self, data: Any) -> CorticalFieldModel:
        """Fit to a sheet, a multichannel recording or a spectrum; returns self."""
        dims = set(getattr(data, "dims", ()))
        attrs = getattr(data, "attrs", {})
        boundary = self.boundary or attrs.get("boundary", "periodic")
        if {"time", "x", "y"} <= dims:
            self.modes_ = estimate_mode_dispersion(data, spacing=self.spacing, boundary=boundary,
                                                   laplacian=self.laplacian)
            params = fit_field(data, spacing=self.spacing, boundary=boundary,
                               laplacian=self.laplacian, fit_eta=self.fit_eta)
        elif "frequency" in dims or "time" in dims:
            if not isinstance(data, xr.DataArray):
                raise ShapeError("a recording or spectrum must be a DataArray.")
            spectrum = data if "frequency" in dims else measure_spectrum(data)
            self.spectrum_ = spectrum
            params = fit_field_spectrum(
                spectrum, spacing=self.spacing or attrs.get("spacing", 1.0), shape=self.shape,
                boundary=boundary, laplacian=self.laplacian, fmin=self.fmin, fmax=self.fmax,
                floor=self.floor)
        else:
            raise ShapeError(f"cannot fit data with dims {tuple(dims)}: give a sheet (time, x, y),"
                             f" a recording with a 'time' dim, or a spectrum on 'frequency'.")
        self.params_ = params
        self.m_, self.c_, self.gamma_, self.noise_ = params.m, params.c, params.gamma, params.noise
        return self

    def _check_fitted(self) -> FieldParameters:
        if not hasattr(self, "params_"):
            raise NeurodataError("this CorticalFieldModel is not fitted yet; call fit() first.")
        return self.params_

    def predict_spectrum(self, frequencies: Any, *, fs: float | None = None) -> xr.DataArray:
        """The equipartition spectrum of the fitted field (``noise`` 1 if it was not fitted)."""
        p = self._check_fitted()
        noise = p.noise if np.isfinite(p.noise) else 1.0
        kw: dict[str, Any] = {}
        if self.shape is not None:
            kw = dict(shape=self.shape, boundary=self.boundary or "periodic",
                      laplacian=self.laplacian, fs=fs)
        return equipartition_spectrum(frequencies, m=p.m, c=p.c, gamma=p.gamma, eta=p.eta,
                                      noise=noise, spacing=self.spacing or 1.0, **kw)

    def simulate(self, shape: tuple[int, int], *, duration: float, dt: float,
                 random_state: int | np.random.Generator | None = None,
                 progress: bool = True) -> xr.Dataset:
        """A noise-driven sheet of the fitted field (exact spectral solver), from rest."""
        p = self._check_fitted()
        noise = p.noise if np.isfinite(p.noise) else 1.0
        return solve_spectral(np.zeros(shape), m=p.m, c=p.c, gamma=p.gamma, eta=p.eta,
                              spacing=self.spacing or 1.0, boundary=self.boundary or "periodic",
                              dt=dt, n_steps=round(duration / dt), laplacian=self.laplacian,
                              noise=noise, random_state=random_state, progress=progress)
