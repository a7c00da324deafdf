"""The estimator: a Klein-Gordon field model fitted to a recording, a sheet or a spectrum."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodata._utils import (
    NeurodataEstimator,
    check_integer,
    check_option,
    check_random_state,
    make_history,
)
from neurodata.errors import NeurodataError
from neurodata.field_theory._continuum import FieldParameters
from neurodata.field_theory._cross_spectrum import field_cross_spectrum
from neurodata.field_theory._fit import modes_fit
from neurodata.field_theory._fit_cross import cross_misfit, cross_spectrum_fit, fit_wavenumbers
from neurodata.field_theory._fit_spectrum import spectrum_fit
from neurodata.field_theory._grid import laplacian_eigenvalues, to_modes
from neurodata.field_theory._model_cross import bootstrap_fit, measure, physical_positions
from neurodata.field_theory._observation import CalciumIndicator, check_observation
from neurodata.field_theory._recording import FieldSamples, field_samples
from neurodata.field_theory._score import mode_spectra, whittle_score
from neurodata.field_theory._spectra import _mode_psd, equipartition_psd, measure_spectrum
from neurodata.field_theory._spectral import solve_spectral

METHODS = ("auto", "modes", "spectrum", "cross_spectrum")
UNCERTAINTY = ("laplace", "bootstrap", None)
PARAMETERS = ("m", "c", "gamma", "eta", "noise", "c_over_a", "spacing", "floor")


class CorticalFieldModel(NeurodataEstimator):
    """Canonical cortical field (damped Klein-Gordon) fitted to a recording.

    ``fit(recording)`` reads the field signal out of a recording (see
    :func:`~neurodata.field_theory.field_samples`: an LFP/ECoG ElectricalSeries with electrode
    positions, an imaging sheet, or a simulated sheet ``(time, x, y)``) and fits it:

    ``method="modes"`` (a whole simulated sheet)
        each eigenmode's ``omega_k^2`` and ``gamma_k`` from its autocorrelation, then
        ``omega_k^2 = m^2 + c^2 mu_k`` (:func:`fit_field`);
    ``method="cross_spectrum"`` (an array or imaging sheet with site positions)
        the continuum field, seen through a sensor ``observation`` model, fitted to the
        Welch cross-spectra of all pairs of sites binned by distance (propagating above
        the mass gap, evanescent below): identifies ``c`` from the known distances, with
        parameter uncertainty (a sandwich Laplace approximation or a bootstrap over
        segments) and a multivariate Whittle log-likelihood for model comparison
        (``aic_``, ``bic_``);
    ``method="spectrum"``
        the equipartition spectrum fitted to the site-averaged Welch spectrum
        (:func:`fit_field_spectrum`).  This fixes only ``c / a``: give ``spacing`` (the
        lattice spacing of the model) to get ``c``.

    Data that are not samples of a field on a sheet (spike trains, ROI traces without
    positions) raise :class:`~neurodata.errors.NoNeuralDataError`.

    Parameters
    ----------
    method : {"auto", "modes", "spectrum", "cross_spectrum"}
        ``auto``: ``modes`` for a sheet ``(time, x, y)``, ``cross_spectrum`` for sites with
        positions, else ``spectrum``.
    spacing : float or None
        Lattice spacing (a sheet's from its coordinates when None; a spectrum fit without it
        reports ``c_over_a_`` and leaves ``c_`` NaN); for cross-spectra of an imaging sheet
        or ROIs, the pixel size (without it the speed is in pixels per second).
    boundary : str or None
        Boundary condition of the lattice (a sheet's attrs, else periodic).
    shape : (int, int) or None
        Spectrum fits: the lattice the signal comes from (None: the continuum closed form).
    laplacian : {"lattice", "spectral"}
    fmin, fmax : float or None
        Band of a spectrum fit (Hz).
    floor : bool
        Fit a white sensor-noise floor in a spectrum fit.
    fit_eta : bool
        Fit wavenumber-dependent damping in a sheet fit.
    observation : sensor model or None
        :class:`PointSensor` (default), :class:`GaussianPointSpread` (ECoG),
        :class:`ExponentialLeadField` (EEG/MEG), :class:`CalciumIndicator` (imaging); its
        parameters given as None are fitted (cross-spectrum fits).
    uncertainty : {"laplace", "bootstrap", None}
        How ``stderr_`` is estimated (cross-spectrum fits).
    n_bootstrap : int
        Replicates of the bootstrap.
    nperseg : int or None
        Welch segment length (default: a quarter of the samples, at most 1024; a
        sixteenth, at most 256, for cross-spectra).
    max_iter : int
        Most trial steps of the optimiser (spectrum fits, per start) or reweighting passes
        (sheet fits).
    random_state : int, Generator or None
        For the bootstrap and :meth:`simulate` (None: fresh entropy).
    progress : bool or None
        Progress bars of long simulations (None: automatic).

    Attributes
    ----------
    params_ : FieldParameters
    m_, c_, gamma_, eta_, noise_, c_over_a_ : float
    method_ : str
    history_ : xarray.Dataset
        On ``iteration``: the cost of every trial step of the optimiser (``cost``,
        ``best_cost``, ``start``), or of every reweighting pass of a sheet fit.
    spectrum_ : xarray.DataArray
        The measured (site-averaged) spectrum.
    modes_ : xarray.Dataset
        Per-mode dispersion estimates (sheet fits).
    stderr_ : dict
        Standard errors of the fitted parameters (cross-spectrum fits; NaN otherwise).
    cross_spectrum_ : xarray.Dataset
        The binned cross-spectra (cross-spectrum fits).
    wavenumbers_, wavenumbers_stderr_ : xarray.DataArray
        ``Re kappa`` measured in frequency bands (cross-spectrum fits): the measured
        dispersion.
    observation_ : sensor model
        With its fitted parameters.
    loglik_, aic_, bic_, n_params_ : float
        Composite log-likelihood (``-chi^2 / 2`` of the standardised cross-spectral
        residuals), its information criteria and effective number of parameters
        (cross-spectrum fits; see :mod:`._fit_cross`), for comparing sensor models.

    Examples
    --------
    >>> from neurodata.datasets import make_cortical_sheet
    >>> sheet = make_cortical_sheet(shape=(12, 12), m=60.0, c=10.0, gamma=8.0,
    ...                             duration=20.0, random_state=1)
    >>> model = CorticalFieldModel().fit(sheet.phi)
    >>> bool(abs(model.m_ / 60 - 1) < 0.05), model.method_
    (True, 'modes')
    """

    def __init__(self, *, method: str = "auto", spacing: float | None = None,
                 boundary: str | None = None, shape: tuple[int, int] | None = None,
                 laplacian: str = "lattice", fmin: float | None = None,
                 fmax: float | None = None, floor: bool = False, fit_eta: bool = False,
                 observation: Any = None, uncertainty: str | None = "laplace",
                 n_bootstrap: int = 50, nperseg: int | None = None, max_iter: int = 100,
                 random_state: Any = None, progress: bool | None = None) -> None:
        self.method = method
        self.spacing = spacing
        self.boundary = boundary
        self.shape = shape
        self.laplacian = laplacian
        self.fmin = fmin
        self.fmax = fmax
        self.floor = floor
        self.fit_eta = fit_eta
        self.observation = observation
        self.uncertainty = uncertainty
        self.n_bootstrap = n_bootstrap
        self.nperseg = nperseg
        self.max_iter = max_iter
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ fitting
    def _method(self, samples: FieldSamples) -> str:
        method = check_option("method", self.method, METHODS)
        check_option("uncertainty", self.uncertainty, UNCERTAINTY)
        if isinstance(self.laplacian, str):
            check_option("laplacian", self.laplacian, ("lattice", "spectral"))
        if method == "auto":
            if samples.kind == "sheet":
                return "modes"
            return "cross_spectrum" if samples.positions is not None else "spectrum"
        if method == "modes" and samples.kind != "sheet":
            raise NeurodataError(f"method='modes' needs the whole simulated lattice, a sheet "
                                 f"(time, x, y); {samples.name!r} is a {samples.kind}. Use "
                                 f"method='spectrum'.")
        return method

    def fit(self, recording: Any, *, variable: str | None = None,
            window: Any = None) -> CorticalFieldModel:
        """Fit the field to a recording (or a sheet, a ``(time, channel)`` DataArray).

        Parameters
        ----------
        recording : Dataset or DataArray
            From :func:`~neurodata.open_nwb` / :func:`~neurodata.load_sample`, or a sheet.
        variable : str, optional
            The field signal, when the recording holds several.
        window : (float, float), optional
            Fit only the samples between these times (seconds).

        Returns
        -------
        self
        """
        self.observation_ = check_observation(self.observation)
        samples = field_samples(recording, variable=variable, window=window,
                                calcium_ok=isinstance(self.observation_, CalciumIndicator))
        self.method_ = self._method(samples)
        max_iter = check_integer("max_iter", self.max_iter)
        self.kind_, self.variable_, self.fs_ = samples.kind, samples.name, samples.fs
        self.n_sites_ = int(samples.data[0].size)
        self.floor_ = 0.0
        self.stderr_ = dict.fromkeys(PARAMETERS, float("nan"))
        self.loglik_ = self.aic_ = self.bic_ = float("nan")
        if self.method_ == "cross_spectrum":
            self._fit_cross(samples, max_iter)
            return self
        if self.method_ == "modes":
            da = samples.data
            self.boundary_ = self.boundary or da.attrs.get("boundary", "periodic")
            params, self.modes_, records = modes_fit(
                da, spacing=self.spacing, boundary=self.boundary_, laplacian=self.laplacian,
                fit_eta=self.fit_eta, max_iter=min(max_iter, 50))
            self.shape_: tuple[int, int] | None = (int(da.shape[1]), int(da.shape[2]))
            self.history_ = make_history(records, attrs={"iteration": "reweighting pass"})
            self.spectrum_ = measure_spectrum(da, nperseg=self.nperseg)
            self.band_ = (float(self.spectrum_.frequency[1]), 0.9 * self.fs_ / 2)
        else:
            self.boundary_ = self.boundary or "periodic"
            self.shape_ = None if self.shape is None else (int(self.shape[0]), int(self.shape[1]))
            self.spectrum_ = measure_spectrum(samples.data, nperseg=self.nperseg)
            if self.observation_.free():
                raise NeurodataError("a spectrum fit takes the sensor model as given; fit its "
                                     "parameters from cross-spectra (method='cross_spectrum').")
            params, info = spectrum_fit(
                self.spectrum_, spacing=self.spacing, shape=self.shape_, boundary=self.boundary_,
                laplacian=self.laplacian, fmin=self.fmin, fmax=self.fmax, floor=self.floor,
                max_iter=max_iter, observation=self.observation_)
            self.floor_ = info["floor_level"]
            self.history_ = make_history(info["history"],
                                         attrs={"iteration": "trial step of the optimiser"})
            self.band_ = (float(info["frequency"][0]), float(info["frequency"][-1]))
        self._set_params(params)
        return self

    def _fit_cross(self, samples: FieldSamples, max_iter: int) -> None:
        pos, physical = physical_positions(samples, self.spacing)
        cs = measure(samples, pos, self.nperseg)
        fit = cross_spectrum_fit(cs, observation=self.observation_, fmin=self.fmin,
                                 fmax=self.fmax, floor=True, max_iter=max_iter)
        v, err = fit["values"], dict(fit["stderr"])
        free = self.observation_.free()
        if self.uncertainty == "bootstrap":
            self.bootstrap_ = bootstrap_fit(
                cs, fit, observation=self.observation_, fmin=self.fmin, fmax=self.fmax,
                floor=True, max_iter=max(10, max_iter // 4),
                n_bootstrap=check_integer("n_bootstrap", self.n_bootstrap),
                random_state=self.random_state, progress=self.progress)
            err = dict(zip(fit["names"], np.nanstd(self.bootstrap_.estimate.values, axis=0,
                                                   ddof=1)))
        elif self.uncertainty is None:
            err = dict.fromkeys(err, float("nan"))
        self.observation_ = fit["observation"]
        self.cross_spectrum_ = cs.drop_vars(["cross_segments", "auto_segments"])
        self.spectrum_ = xr.DataArray(cs.auto.values, dims="frequency",
                                      coords={"frequency": cs.frequency.values}, name="psd",
                                      attrs={"fs": samples.fs})
        self.band_ = (float(fit["frequency"][0]), float(fit["frequency"][-1]))
        self.floor_ = float(v.get("floor", 0.0))
        self.history_ = make_history(fit["history"],
                                     attrs={"iteration": "trial step of the optimiser"})
        self.boundary_, self.shape_ = "continuum", None
        self.cov_ = xr.DataArray(fit["cov"], dims=("parameter", "parameter_"),
                                 coords={"parameter": fit["names"], "parameter_": fit["names"]},
                                 attrs={"of": "log parameters"})
        c = v["c"] if physical else float("nan")
        c_over_a = float("nan") if physical else v["c"]
        self._set_params(FieldParameters(m=v["m"], c=c, gamma=v["gamma"],
                                         noise=float(np.sqrt(v["density"])),
                                         c_over_a=c_over_a))
        self.stderr_ = {"m": err["m"], "c": err["c"] if physical else float("nan"),
                        "gamma": err["gamma"], "eta": float("nan"),
                        "noise": err["density"] / (2 * np.sqrt(v["density"])),
                        "c_over_a": float("nan") if physical else err["c"],
                        "spacing": float("nan"), "floor": err.get("floor", float("nan")),
                        **{k: err[k] for k in free}}
        self.fit_values_, self._theta, self._names = v, fit["theta"], fit["names"]
        self.wavenumbers_, self.wavenumbers_stderr_ = fit_wavenumbers(
            cs, v, self.observation_, fmin=self.fmin, fmax=self.fmax)
        self.loglik_, self.aic_, self.bic_ = fit["loglik"], fit["aic"], fit["bic"]
        self.n_params_ = fit["p_eff"]

    def _set_params(self, params: FieldParameters) -> None:
        self.params_ = params
        self.m_, self.c_, self.gamma_ = params.m, params.c, params.gamma
        self.eta_, self.noise_, self.c_over_a_ = params.eta, params.noise, params.c_over_a

    # ------------------------------------------------------------------ model spectra
    def _lattice_kw(self) -> dict:
        p = self.params_
        if np.isfinite(p.c):
            return {"c": p.c, "spacing": p.spacing if np.isfinite(p.spacing) else 1.0}
        return {"c": p.c_over_a, "spacing": 1.0}

    def _psd(self, f: np.ndarray, fs: float | None) -> np.ndarray:
        p = self.params_
        if self.method_ == "cross_spectrum":
            v = self.fit_values_
            return field_cross_spectrum([0.0], f, m=v["m"], c=v["c"], gamma=v["gamma"],
                                        density=v["density"],
                                        observation=self.observation_)[:, 0] + self.floor_
        kw = self._lattice_kw()
        shape = self.shape_
        if shape is None:
            out = equipartition_psd(f, m=p.m, c=kw["c"], gamma=p.gamma, noise=p.noise,
                                    spacing=kw["spacing"], observation=self.observation_)
        else:
            out = equipartition_psd(f, m=p.m, c=kw["c"], gamma=p.gamma, eta=p.eta,
                                    noise=p.noise, spacing=kw["spacing"], shape=shape,
                                    boundary=self.boundary_, laplacian=self.laplacian, fs=fs,
                                    observation=self.observation_)
        return out + self.floor_

    def predict_spectrum(self, frequencies: Any, *, fs: float | None = None) -> xr.DataArray:
        """The fitted model's site-averaged spectrum (with the sensor floor, if fitted).

        ``fs`` gives the spectrum of the signal sampled at that rate (aliasing included;
        lattice models only).
        """
        self._check_fitted()
        f = np.asarray(frequencies, dtype=float).ravel()
        return xr.DataArray(self._psd(f, fs), dims="frequency", coords={"frequency": f},
                            name="psd", attrs={"model": "equipartition"})

    # ------------------------------------------------------------------ scoring
    def _mode_score(self, samples: FieldSamples) -> float:
        da = samples.data
        if tuple(da.shape[1:]) != self.shape_:
            raise NeurodataError(f"the model was fitted to a {self.shape_} sheet; got "
                                 f"{tuple(da.shape[1:])}.")
        values = np.asarray(da.values, dtype=float)
        modes = to_modes(values - values.mean(axis=0), self.boundary_).reshape(values.shape[0], -1)
        nperseg = int(self.nperseg or min(1024, values.shape[0] // 4))
        f, psd = mode_spectra(modes, samples.fs, nperseg)
        p = self.params_
        assert self.shape_ is not None
        mu = laplacian_eigenvalues(self.shape_, p.spacing, self.boundary_, self.laplacian).ravel()
        model = _mode_psd(f, p.m**2 + p.c**2 * mu, p.gamma + p.eta * mu, p.noise, samples.fs)
        band = (f > 0) & (f <= 0.9 * samples.fs / 2)
        return whittle_score(psd[band], model.T[band])

    def score(self, recording: Any, *, variable: str | None = None, window: Any = None) -> float:
        """How well the fitted field explains a recording's spectra; higher is better.

        Cross-spectrum fits: minus the mean squared standardised misfit of its binned
        cross-spectra (the composite log-likelihood per residual, over the fitted band).
        Spectrum and sheet fits: the mean Whittle log-likelihood per site or per eigenmode
        (:mod:`~neurodata.field_theory._score`).
        """
        self._check_fitted()
        samples = field_samples(recording, variable=variable, window=window,
                                calcium_ok=isinstance(self.observation_, CalciumIndicator))
        if self.method_ == "cross_spectrum":
            pos, _ = physical_positions(samples, self.spacing)
            cs = measure(samples, pos, int(self.cross_spectrum_.attrs["nperseg"]))
            return -cross_misfit(cs, self._theta, self._names, self.observation_, self.band_)
        if self.method_ == "modes":
            if samples.kind != "sheet":
                raise NeurodataError("a sheet fit is scored on a sheet (time, x, y).")
            return self._mode_score(samples)
        spec = measure_spectrum(samples.data, nperseg=self.nperseg, average=False)
        f = spec.frequency.values
        band = (f >= self.band_[0]) & (f <= self.band_[1])
        model = self._psd(f[band], samples.fs if self.shape_ is not None else None)
        return whittle_score(spec.values[band], model[:, None])

    # ------------------------------------------------------------------ results
    def to_dataset(self) -> xr.Dataset:
        """Fitted parameters (on ``parameter``), measured and model spectra (``frequency``).

        Sheet fits add the per-mode estimates on ``mode``.
        """
        self._check_fitted()
        p = self.params_
        obs = {k: float("nan") if v is None else float(v)
               for k, v in self.observation_.parameters().items()}
        names = list(PARAMETERS) + list(obs)
        values = [p.m, p.c, p.gamma, p.eta, p.noise, p.c_over_a, p.spacing, self.floor_,
                  *obs.values()]
        f = np.asarray(self.spectrum_.frequency.values[1:])
        ds = xr.Dataset(
            {"value": ("parameter", np.asarray(values, dtype=float)),
             "stderr": ("parameter", np.asarray([self.stderr_.get(n, np.nan) for n in names],
                                                dtype=float)),
             "spectrum": ("frequency", np.asarray(self.spectrum_.values[1:], dtype=float)),
             "spectrum_model": ("frequency", self._psd(f, self.fs_ if self.shape_ else None))},
            coords={"parameter": names, "frequency": f},
            attrs={"method": self.method_, "kind": self.kind_, "variable": self.variable_,
                   "fs": float(self.fs_), "n_sites": self.n_sites_, "boundary": self.boundary_,
                   "band": list(self.band_), "observation": type(self.observation_).__name__,
                   "loglik": self.loglik_, "aic": self.aic_, "bic": self.bic_})
        if self.method_ == "cross_spectrum":
            cs = self.cross_spectrum_
            ds = ds.assign({"cross": (("frequency_cs", "distance"), cs.cross.values),
                            "coherence": (("frequency_cs", "distance"), cs.coherence.values),
                            "wavenumber": ("frequency_band", self.wavenumbers_.values),
                            "wavenumber_stderr": ("frequency_band",
                                                  self.wavenumbers_stderr_.values)})
            ds = ds.assign_coords(frequency_cs=cs.frequency.values, distance=cs.distance.values,
                                  frequency_band=self.wavenumbers_.frequency.values)
        if self.method_ == "modes":
            m = self.modes_
            ds = ds.assign({f"mode_{k}": ("mode", np.asarray(m[k].values)) for k in
                            ("omega2", "gamma", "variance", "valid")})
            ds = ds.assign_coords(mode=np.asarray(m.mode.values), mode_kx=("mode", m.kx.values),
                                  mode_ky=("mode", m.ky.values), mode_mu=("mode", m.mu.values))
        return ds

    def simulate(self, shape: tuple[int, int], *, duration: float, dt: float,
                 random_state: int | np.random.Generator | None = None,
                 progress: bool | None = None) -> xr.Dataset:
        """A noise-driven sheet of the fitted field (exact spectral solver), from rest.

        Without a known spacing the sheet is in lattice units (spacing 1, speed ``c / a``).
        ``random_state`` defaults to the model's.
        """
        self._check_fitted()
        p = self.params_
        kw = self._lattice_kw()
        boundary = self.boundary_ if self.boundary_ != "continuum" else "periodic"
        rng = check_random_state(self.random_state if random_state is None else random_state)
        return solve_spectral(np.zeros(shape), m=p.m, c=kw["c"], gamma=p.gamma, eta=p.eta,
                              spacing=kw["spacing"], boundary=boundary, dt=dt,
                              n_steps=round(duration / dt), laplacian=self.laplacian,
                              noise=p.noise, random_state=rng,
                              progress=self.progress if progress is None else progress)
