"""Fit the field's parameters to an evoked response whose afferent input is known.

The paper's field equation with an input term (its afferent drive),

.. math:: \\phi_{tt} + \\gamma \\phi_t = c^2 \\nabla^2 \\phi - m^2 \\phi + s(x, t),

is solved exactly in time for the known input ``s`` (:func:`solve_spectral`,
linear interpolation of the input between samples), and ``m``, ``c`` and
``gamma`` are chosen to minimise the squared difference between that solution
and the recorded response on the sheet.  The fitting procedure is ours (the
paper simulates driven fields but does not say how it fits them): nonlinear
least squares (:func:`scipy.optimize.least_squares`, trust-region reflective,
in log parameters so that every parameter stays positive and the steps are
relative), from ``n_init`` starts drawn log-uniformly within ``bounds``; the
best fit is kept.  An unknown overall gain of the recording (``gain=True``,
e.g. a sensor's arbitrary units) is profiled out in closed form at every
evaluation.  Standard errors come from the Gauss-Newton covariance
``s^2 (J^T J)^{-1}`` at the optimum (``J`` by central differences of the solution,
the gain's column included), with ``s^2`` the residual variance: they
assume independent Gaussian errors of equal variance on every sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodata._utils import check_integer, check_random_state
from neurodata.errors import NeurodataError, ShapeError
from neurodata.field_theory._spectral import solve_spectral

__all__ = ["fit_evoked"]

_NAMES = ("m", "c", "gamma")
_DEFAULT_BOUNDS = {"m": (1.0, 1e3), "c": (1e-3, 1e3), "gamma": (0.1, 1e3)}


def _response(response: Any) -> xr.DataArray:
    if not isinstance(response, xr.DataArray) or set(response.dims) != {"time", "x", "y"}:
        dims = getattr(response, "dims", type(response).__name__)
        raise ShapeError(f"response must be a DataArray (time, x, y) of the field on the "
                         f"lattice; got {dims}. Sensor recordings: fit their spectra with "
                         f"CorticalFieldModel instead.")
    da = response.transpose("time", "x", "y")
    t = np.asarray(da["time"].values, dtype=float) if "time" in da.coords else None
    if t is None or t.size < 3 or np.any(np.diff(t) <= 0):
        raise NeurodataError("response needs increasing 'time' coordinates (3 samples at least).")
    if not np.all(np.isfinite(da.values)):
        raise NeurodataError("response holds NaN or infinite values; cut them out first.")
    return da


def fit_evoked(response: Any, source: Any, *, spacing: float | None = None,
               boundary: str = "periodic", gain: bool = False, bounds: dict | None = None,
               n_init: int = 4, max_iter: int = 200, random_state: Any = None) -> xr.Dataset:
    """Fit ``m``, ``c`` and ``gamma`` to a field's response to a known input.

    Parameters
    ----------
    response : xarray.DataArray (time, x, y)
        The field on the lattice (an imaging sheet, or a simulation), from rest
        at the first time.
    source : callable, DataArray (time, x, y) or array (x, y)
        The afferent input, as :func:`solve_spectral` takes it.
    spacing : float, optional
        Lattice spacing (default: from the ``x`` coordinate, else 1); ``c`` is
        in its units per second.
    boundary : {"periodic", "dirichlet", "neumann"}
    gain : bool
        Also fit an overall gain of the recording (closed form), for data in
        arbitrary units.
    bounds : dict, optional
        ``{"m": (lo, hi), "c": (lo, hi), "gamma": (lo, hi)}``, all positive:
        where starts are drawn and the fit is confined (defaults: m 1-1000
        rad/s, c 0.001-1000, gamma 0.1-1000 /s).
    n_init : int
        Starts drawn log-uniformly within ``bounds``; the best fit is kept.
    max_iter : int
        Function evaluations per start at most (``max_nfev`` of
        :func:`scipy.optimize.least_squares`); each is one exact solve.
    random_state : int, Generator or None
        Seed of the starts (None: fresh entropy).

    Returns
    -------
    xarray.Dataset
        ``estimate`` and ``stderr`` on ``parameter`` (m, c, gamma, and gain
        with ``gain=True``), the fitted response ``fitted (time, x, y)``,
        ``cost`` (half the residual sum of squares) of every start on
        ``start``, and attrs ``r2`` (variance explained), ``spacing``,
        ``boundary``.

    Examples
    --------
    >>> def pulse(t):  # a Gaussian blob switched on for 20 ms
    ...     x = np.arange(10) - 5.0
    ...     blob = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / 4.0)
    ...     return blob * (0.0 <= t < 0.02) * 1e3
    >>> true = solve_spectral(np.zeros((10, 10)), m=40.0, c=20.0, gamma=8.0, source=pulse,
    ...                       times=np.arange(0, 0.2, 0.004), progress=False).phi
    >>> fit = fit_evoked(true, pulse, n_init=1, random_state=0)
    >>> np.round(fit.estimate.sel(parameter=["m", "c", "gamma"]).values, 2).tolist()
    [40.0, 20.0, 8.0]
    """
    from scipy.optimize import least_squares

    da = _response(response)
    t = np.asarray(da["time"].values, dtype=float)
    y = np.asarray(da.values, dtype=float)
    shape = y.shape[1:]
    if spacing is None:
        x = da["x"].values if "x" in da.coords else None
        spacing = float(np.median(np.diff(x))) if x is not None and x.size > 1 else 1.0
    lims = dict(_DEFAULT_BOUNDS, **(bounds or {}))
    unknown = set(lims) - set(_NAMES)
    if unknown:
        raise NeurodataError(f"bounds are for {_NAMES}; got {sorted(unknown)}.")
    lo = np.array([float(lims[k][0]) for k in _NAMES])
    hi = np.array([float(lims[k][1]) for k in _NAMES])
    if np.any(lo <= 0) or np.any(hi <= lo):
        raise NeurodataError(f"bounds must be positive (lo, hi) with lo < hi; got {lims}.")
    n_init = check_integer("n_init", n_init)
    max_iter = check_integer("max_iter", max_iter)
    zero = np.zeros(shape)

    def simulate(theta: np.ndarray) -> np.ndarray:
        m, c, g = np.exp(theta)
        return solve_spectral(zero, m=m, c=c, gamma=g, spacing=spacing, boundary=boundary,
                              times=t, source=source, progress=False).phi.values

    def gain_of(phi: np.ndarray) -> float:
        """The least-squares gain of ``phi`` onto the data (1 unless fitted)."""
        return float(np.vdot(phi, y) / max(np.vdot(phi, phi), 1e-300)) if gain else 1.0

    def residual(theta: np.ndarray) -> np.ndarray:
        phi = simulate(theta)
        return (gain_of(phi) * phi - y).ravel()

    rng = check_random_state(random_state)
    starts = np.exp(rng.uniform(np.log(lo), np.log(hi), size=(n_init, 3)))
    fits = [least_squares(residual, np.log(s), bounds=(np.log(lo), np.log(hi)),
                          max_nfev=max_iter, x_scale=1.0, ftol=1e-12, xtol=1e-10, gtol=1e-12)
            for s in starts]
    best = min(fits, key=lambda f: f.cost)
    theta = best.x
    phi = simulate(theta)
    k = gain_of(phi)
    est = list(np.exp(theta))
    names = list(_NAMES)
    # Gauss-Newton covariance in the natural parameters, from the joint Jacobian of the
    # model k * phi(m, c, gamma): central differences in log p, then dr/dp = (dr/dlog p) / p
    step = 1e-5
    cols = [(simulate(theta + step * e) - simulate(theta - step * e)).ravel() / (2 * step)
            for e in np.eye(3)]
    jac = k * np.column_stack(cols) / np.exp(theta)[None, :]
    if gain:
        jac = np.column_stack([jac, phi.ravel()])
        est.append(k)
        names.append("gain")
    n, p = jac.shape
    s2 = 2.0 * best.cost / max(n - p, 1)
    try:
        cov = s2 * np.linalg.inv(jac.T @ jac)
        stderr = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    except np.linalg.LinAlgError:
        stderr = np.full(p, np.nan)
    fitted = k * phi
    r2 = 1.0 - float(np.sum((fitted - y) ** 2) / max(np.sum((y - y.mean()) ** 2), 1e-300))
    return xr.Dataset(
        {"estimate": ("parameter", np.asarray(est, dtype=float)),
         "stderr": ("parameter", stderr),
         "fitted": (("time", "x", "y"), fitted),
         "cost": ("start", np.array([f.cost for f in fits]))},
        coords={"parameter": names, "time": t,
                **{d: da[d].values for d in ("x", "y") if d in da.coords}},
        attrs={"r2": r2, "spacing": float(spacing), "boundary": boundary,
               "method": "least squares on the exact driven solution (fit_evoked)"})
