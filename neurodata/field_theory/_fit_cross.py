"""Fit the field to the cross-spectra of an array: ``m``, ``c``, ``gamma`` with uncertainty.

Residuals, at every frequency of the band: the measured mean auto-spectrum against
``S(0, f) + N`` (``N`` a white sensor-noise floor) and the distance-binned cross-spectra
against ``S(r, f)`` (:func:`field_cross_spectrum`), all divided by the measured
auto-spectrum so that every frequency counts alike.  Parameters (logarithms): ``m``, ``c``,
``gamma``, the noise density ``A``, ``N`` and the free parameters of the observation
model.  Starts: ``m`` and ``gamma`` from the auto-spectrum's mass gap, ``c`` from a grid
whose wavelengths span the array's distances (``A``, ``N`` profiled by linear least
squares), the best two refined by bounded least squares.

Residuals are standardised by their standard errors, estimated from the spread of the
Welch segments' binned spectra, so the objective is the composite log-likelihood
``-chi^2 / 2`` of independent Gaussian errors.  Model comparison uses its
composite-likelihood information criteria (Varin & Vidoni 2005):
``AIC = chi^2 + 2 p*``, ``BIC = chi^2 + log(n) p*`` with the effective number of parameters
``p* = tr(H^{-1} V)`` (``H`` the sensitivity, ``V`` the variability below; ``p* = p`` when
the residuals are independent) and ``n`` the number of independent spectral estimates.

Uncertainty (Laplace, in its robust "sandwich" form): the residuals of different
frequencies and distances are strongly correlated (every pair sees the same waves), so
their covariance is estimated from the Welch segments themselves.  With ``J`` the
Jacobian of the residuals at the optimum and ``g_s = J^T r_s`` the score of segment ``s``
(``r_s`` its residuals), ``Cov(theta) = (J^T J)^{-1} Cov(g) (J^T J)^{-1} (1 + 2 rho^2) / K``
for ``K`` segments, ``rho = 0.167`` the correlation of Hann windows overlapping by half
(Welch 1967).  Standard errors of the parameters follow by the delta method from their
logarithms.  A bootstrap over Welch segments is the alternative
(``uncertainty="bootstrap"`` of :class:`CorticalFieldModel`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import least_squares

from neurodata.errors import NeurodataError
from neurodata.field_theory._cross_spectrum import field_cross_spectrum
from neurodata.field_theory._observation import check_observation
from neurodata.field_theory._optim import laplace_covariance, least_squares_history

__all__ = ["cross_spectrum_fit", "fit_wavenumbers"]

#: Equivalent noise bandwidth of the Hann window, in frequency bins.
HANN_ENBW = 1.5
#: Variance factor of a Welch average of Hann segments overlapping by half (Welch 1967).
HANN_OVERLAP = 1 + 2 * 0.167**2


def _band(cs: xr.Dataset, fmin, fmax) -> np.ndarray:
    f = cs.frequency.values
    lo = fmin if fmin is not None else f[1]
    hi = fmax if fmax is not None else 0.9 * cs.attrs["fs"] / 2
    sel = (f >= lo) & (f <= hi) & (f > 0)
    if sel.sum() < 6:
        raise NeurodataError(f"fewer than 6 frequencies between {lo} and {hi} Hz; widen the band "
                             f"or use longer segments (nperseg).")
    return sel


class _Problem:
    """The residual function of one cross-spectrum fit."""

    def __init__(self, cs, sel, observation, floor):
        self.f = cs.frequency.values[sel]
        self.r = cs.distance.values
        self.auto = cs.auto.values[sel]
        self.cross = cs.cross.values[sel]
        self.obs = observation
        self.free = observation.free()
        self.floor = floor
        self.names = ["m", "c", "gamma", "density"] + (["floor"] if floor else []) + self.free
        self.sigma = np.ones(self.f.size * (1 + self.r.size))
        if "cross_segments" in cs:
            self.sigma = self._sigma(cs, sel)

    def _sigma(self, cs, sel):
        """Standard error of every normalised binned spectrum, from the Welch segments."""
        z = np.concatenate([cs.auto_segments.values[:, sel, None],
                            cs.cross_segments.values[:, sel]], axis=2) / self.auto[None, :, None]
        k = z.shape[0]
        sd = z.reshape(k, -1).std(axis=0, ddof=1) * np.sqrt(HANN_OVERLAP / k)
        return np.maximum(sd, 1e-6 * np.median(sd))

    def unpack(self, theta):
        v = dict(zip(self.names, np.exp(theta)))
        obs = self.obs.with_values(**{k: v[k] for k in self.free}) if self.free else self.obs
        return v, obs

    def model(self, theta):
        v, obs = self.unpack(theta)
        s = field_cross_spectrum(np.concatenate([[0.0], self.r]), self.f, m=v["m"], c=v["c"],
                                 gamma=v["gamma"], density=v["density"], observation=obs)
        return s[:, 0] + v.get("floor", 0.0), s[:, 1:]

    def residuals(self, theta, auto=None, cross=None):
        auto = self.auto if auto is None else auto
        cross = self.cross if cross is None else cross
        try:
            with np.errstate(all="ignore"):
                s0, sr = self.model(theta)
        except NeurodataError:
            return np.full(self.f.size * (1 + self.r.size), 1e3)
        res = np.concatenate([((auto - s0) / self.auto)[:, None],
                              (cross - sr) / self.auto[:, None]], axis=1).ravel() / self.sigma
        return np.where(np.isfinite(res), res, 1e3)


def sandwich(prob: _Problem, cs: xr.Dataset, sel, theta, jac) -> tuple[np.ndarray, float]:
    """``H^{-1} V H^{-1}`` and the effective number of parameters ``tr(H^{-1} V)``.

    ``H = J^T J`` (sensitivity) and ``V = Cov(J^T r_s) (1 + 2 rho^2) / K`` (variability of
    the score over the ``K`` Welch segments).
    """
    seg_auto = cs.auto_segments.values[:, sel]
    seg_cross = cs.cross_segments.values[:, sel]
    scores = np.stack([jac.T @ prob.residuals(theta, a, x) for a, x in zip(seg_auto, seg_cross)])
    hinv = np.linalg.pinv(jac.T @ jac)
    v = np.cov(scores, rowvar=False) * HANN_OVERLAP / scores.shape[0]
    return hinv @ v @ hinv, float(np.trace(hinv @ v))


def _mass_gap_guess(f, p):
    fp = f * p
    plateau = np.median(fp[fp > 0.2 * fp.max()])
    above = np.flatnonzero(fp > 0.5 * plateau)
    f0 = f[above[0]] if above.size else f[np.argmax(fp)]
    m = 2 * np.pi * max(f0, f[0])
    return m, 0.5 * m


def _profile(prob: _Problem, theta3, guess):
    """Best ``log A`` (and ``log N``) for given ``m, c, gamma``: linear least squares."""
    free = [np.log(guess[k]) for k in prob.free]
    base = np.concatenate([theta3, [0.0], [-700.0] if prob.floor else [], free])
    s0, sr = prob.model(base)  # density 1, no floor
    design = np.concatenate([s0[:, None], sr], axis=1) / prob.auto[:, None]
    target = np.concatenate([prob.auto[:, None], prob.cross], axis=1) / prob.auto[:, None]
    cols = [design.ravel()]
    if prob.floor:
        cols.append(np.concatenate([(1 / prob.auto)[:, None], np.zeros_like(sr)], axis=1).ravel())
    coef, *_ = np.linalg.lstsq(np.stack(cols, axis=1) / prob.sigma[:, None],
                               target.ravel() / prob.sigma, rcond=None)
    coef = np.maximum(coef, [1e-30] + [prob.auto.min() * 1e-6] * prob.floor)
    return np.concatenate([theta3, np.log(coef), free])


def _starts(prob: _Problem, guess, n_best=2):
    m0, g0 = _mass_gap_guess(prob.f, prob.auto)
    om = 2 * np.pi * np.median(prob.f)
    r = prob.r[prob.r > 0]
    scored = []
    for c in np.geomspace(om * r.min() / 8, om * r.max() / 0.5, 24):
        for gs in (0.3, 1.0):
            theta = _profile(prob, np.log([m0, c, g0 * gs]), guess)
            res = prob.residuals(theta)
            scored.append((float(res @ res), theta))
    scored.sort(key=lambda item: item[0])
    return [theta for _, theta in scored[:n_best]], m0


def cross_spectrum_fit(cs: xr.Dataset, *, observation: Any = None, fmin: float | None = None,
                       fmax: float | None = None, floor: bool = True, max_iter: int = 100,
                       start: Any = None) -> dict:
    """Fit the continuum field (and the sensor model) to distance-binned cross-spectra.

    Parameters
    ----------
    cs : Dataset
        From :func:`measure_cross_spectrum`.
    observation : sensor model or None
        Its None-valued parameters are fitted.
    fmin, fmax : float or None
        The band (Hz); default from the first nonzero bin to 0.9 of Nyquist.
    floor : bool
        Fit a white sensor-noise floor on the auto-spectrum.
    max_iter : int
        Most trial steps per start.
    start : array or None
        Log parameters to start from (skips the grid of starts; the bootstrap's refits).

    Returns
    -------
    dict
        ``values`` (name -> estimate), ``stderr`` (name -> Laplace standard error),
        ``cov`` (of the log parameters), ``names``, ``theta``, ``history``, ``observation``
        (with fitted values), ``frequency`` (the band), ``residuals``; ``loglik`` (the
        composite log-likelihood ``-chi^2 / 2`` of the standardised residuals), ``p_eff``
        (``tr(H^{-1} V)``), ``aic`` and ``bic`` (their composite-likelihood forms).

    Examples
    --------
    >>> from neurodata.datasets import load_sample
    >>> from neurodata.field_theory import field_samples, measure_cross_spectrum
    >>> s = field_samples(load_sample("sample_field"))
    >>> fit = cross_spectrum_fit(measure_cross_spectrum(s.data, s.positions, nperseg=250),
    ...                          fmax=60.0)
    >>> bool(abs(fit["values"]["c"] / 200 - 1) < 0.05)
    True
    """
    obs = check_observation(observation)
    guess = {k: obs.guess[k] for k in obs.free()}
    sel = _band(cs, fmin, fmax)
    prob = _Problem(cs, sel, obs, floor)
    if start is None:
        starts, m0 = _starts(prob, guess)
    else:
        starts, m0 = [np.asarray(start, dtype=float)], float(np.exp(start[0]))
    lower = np.full(len(prob.names), -np.inf)
    upper = np.full(len(prob.names), np.inf)
    lower[:3], upper[:3] = np.log([m0 / 100, 1e-9, m0 / 1e4]), np.log([m0 * 100, 1e12, m0 * 100])
    lower[len(prob.names) - len(prob.free):] = np.log(1e-6)  # sensor-model scales
    best = None
    for i, theta in enumerate(starts):
        res = least_squares_history(prob.residuals, theta, lower=lower, upper=upper,
                                    max_iter=max_iter, start=i)
        if best is None or res.cost < best.cost:
            best = res
    assert best is not None
    if "cross_segments" in cs:
        cov, p_eff = sandwich(prob, cs, sel, best.x, best.jac)
    else:  # no segments kept: independent residuals, a lower bound on the uncertainty
        cov, p_eff = HANN_ENBW * laplace_covariance(best.jac, best.fun), float(len(prob.names))
    n_obs = cs.attrs["n_segments"] * prob.f.size / HANN_ENBW
    values = dict(zip(prob.names, np.exp(best.x)))
    stderr = dict(zip(prob.names, np.exp(best.x) * np.sqrt(np.maximum(np.diag(cov), 0.0))))
    _, fitted_obs = prob.unpack(best.x)
    return {"values": values, "stderr": stderr, "cov": cov, "names": prob.names,
            "theta": best.x, "history": best.history, "observation": fitted_obs,
            "frequency": prob.f, "residuals": best.fun, "cost": best.cost,
            "loglik": -best.cost, "p_eff": p_eff, "aic": 2 * best.cost + 2 * p_eff,
            "bic": 2 * best.cost + np.log(n_obs) * p_eff}


def cross_misfit(cs: xr.Dataset, theta, names, observation: Any, band) -> float:
    """Mean squared standardised misfit of binned cross-spectra under fitted log parameters."""
    obs = check_observation(observation)
    free = [n for n in names if n not in ("m", "c", "gamma", "density", "floor")]
    base = obs.with_values(**dict.fromkeys(free, 1.0)) if free else obs
    prob = _Problem(cs, _band(cs, *band), base, "floor" in names)
    prob.free, prob.names = free, list(names)
    res = prob.residuals(np.asarray(theta, dtype=float))
    return float(np.mean(res**2))


def fit_wavenumbers(cs: xr.Dataset, values: dict, observation: Any, *, fmin=None, fmax=None,
                    n_bands: int = 12) -> tuple[xr.DataArray, xr.DataArray]:
    """The propagating wavenumber ``Re kappa`` measured in frequency bands, with its error.

    In each band the cross-spectra at ``r > 0`` are fitted with their own complex
    ``kappa^2`` and amplitude (the sensor model and mass fixed at the fitted values), so the
    measured dispersion can be set against the fitted field's.

    Returns
    -------
    (wavenumbers, stderr) : DataArrays on ``frequency`` (the bands' mean frequencies).
    """
    obs = check_observation(observation)
    sel = _band(cs, fmin, fmax)
    f, r = cs.frequency.values[sel], cs.distance.values
    cross, auto = cs.cross.values[sel], cs.auto.values[sel]
    groups = np.array_split(np.arange(f.size), min(n_bands, f.size // 2))
    c, m, g = values["c"], values["m"], values["gamma"]
    out, err, centres = [], [], []
    for idx in groups:
        om = 2 * np.pi * f[idx].mean()
        k2 = (om**2 - m**2 + 1j * g * om) / c**2
        kk0 = np.sqrt(k2)

        def resid(th, idx=idx):
            kap = th[0] + 1j * np.exp(th[1])
            shape = _shape(r, kap**2 * np.ones(idx.size), obs)
            s = np.exp(th[2]) * shape * (obs.temporal(f[idx]))[:, None]
            return ((cross[idx] - s) / auto[idx][:, None]).ravel()

        start = [kk0.real, np.log(max(kk0.imag, 1e-3 * kk0.real)), np.log(auto[idx].mean())]
        try:
            res = least_squares(resid, start, method="lm", max_nfev=400)
            cov = laplace_covariance(res.jac, res.fun)
            out.append(float(res.x[0]))
            err.append(float(np.sqrt(max(cov[0, 0], 0.0) * HANN_ENBW)))
        except (ValueError, np.linalg.LinAlgError, NeurodataError):
            out.append(np.nan)
            err.append(np.nan)
        centres.append(float(f[idx].mean()))
    coords = {"frequency": np.asarray(centres)}
    return (xr.DataArray(np.asarray(out), dims="frequency", coords=coords, name="wavenumber"),
            xr.DataArray(np.asarray(err), dims="frequency", coords=coords, name="stderr"))


def _shape(r, kappa2, obs):
    from neurodata.field_theory._cross_spectrum import hankel_lorentz

    return hankel_lorentz(r, kappa2, None if obs.is_point else obs.spatial)
