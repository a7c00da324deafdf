"""Adaptation effects measured directly on Benucci-format data, and their uncertainty.

* :func:`benucci_effects`: the three effects of Benucci et al. (2013) on data
  arrays (or on a model's prediction in the same format): changes of each
  bin's response maximum and minimum, the shift of its preferred orientation
  away from the adapter, and the population covariance over each ensemble,
  normalised by the unadapted variances (the convention of published
  analyses), with its distance to the uniform-ensemble covariance;
* :func:`separable_fit`: Benucci's separable multiplicative description
  ``R_biased(theta, phi) = R_uniform(theta, phi) a(phi) b(theta)`` (stimulus
  ``phi``, preferred orientation ``theta``): the ratio is a rank-1 matrix, so
  its logarithm is fitted by row and column effects, with the explained
  variance;
* :func:`bootstrap_benucci`: percentile intervals of any statistic by
  resampling sessions, or units within sessions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

from neurodata._utils import check_fraction, check_integer, check_option, check_random_state
from neurodata.errors import NeurodataError, ShapeError
from neurodata.gain_control._benucci import check_benucci
from neurodata.gain_control._fit import _biased, _close_circle, _open_circle
from neurodata.gain_control._validation import wrap_orientation

__all__ = ["benucci_effects", "bootstrap_benucci", "separable_fit"]


def _open_array(data, session_mean: bool):
    """The data as an open-circle array (sessions or their mean, bins, stimuli, condition)."""
    from neurodata.gain_control._fit import _as_normalized

    arr = check_benucci(_as_normalized(data, None))
    y = _open_circle(arr.values)
    if session_mean:
        with np.errstate(invalid="ignore"):
            y = np.nanmean(y, axis=0, keepdims=True)
    return (arr, arr["preferred_orientation"].values[:-1],
            arr["stimulus_orientation"].values[:-1], y)


def _p_of(data, p_adapter, session_mean) -> np.ndarray:
    from neurodata.gain_control._fit import session_p_adapter

    p = session_p_adapter(data, p_adapter)
    return np.array([p.mean()]) if session_mean else p


def _shift(u: np.ndarray, b: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Change of the circular mean of the doubled angle, each curve less its minimum."""
    e = np.exp(2j * np.deg2rad(theta))

    def pref(x):
        x = x - np.nanmin(x, axis=-1, keepdims=True)
        return np.rad2deg(np.angle(np.nansum(x * e, axis=-1))) / 2.0

    return wrap_orientation(pref(b) - pref(u))


def _weighted_cov(x: np.ndarray, prob: np.ndarray) -> np.ndarray:
    dev = x - (x @ prob)[..., None]
    return np.einsum("...ik,k,...jk->...ij", dev, prob, dev)


def benucci_effects(data, *, p_adapter=None, prior: str | None = None,
                    session_mean: bool = True) -> xr.Dataset:
    """The adaptation effects of Benucci-format data (or of a model's prediction).

    The repeated +90 row and column are merged with -90 first.  Raw data are
    normalised (``"minmax"``).

    Parameters
    ----------
    data : Benucci-format Dataset or DataArray
    p_adapter : float or array_like, optional
        The adapter probability (default: the data's ``p_adapter``).
    prior : {"single", "benucci"}, optional
        Shape of the biased ensemble (default: the data's ``prior`` coordinate,
        else ``"single"``).
    session_mean : bool
        Measure the mean over sessions (at the mean adapter probability), or
        every session.

    Returns
    -------
    xarray.Dataset
        Over ``preferred_orientation`` (and ``session`` unless averaged):
        ``max_change`` and ``min_change`` (biased minus uniform; negative:
        lowered), ``repulsion`` (shift of the preferred orientation, the
        circular mean of the doubled angle of each curve less its minimum,
        signed positive away from the adapter); ``covariance(ensemble,
        preferred_orientation, other_preferred_orientation)`` for the uniform
        responses under the uniform ensemble, the uniform responses under the
        biased ensemble ("biased_unadapted") and the biased responses under it
        ("biased_adapted"), each divided by ``sqrt(v_i v_j)`` with ``v`` the
        unadapted variances under the uniform ensemble; ``covariance_distance``
        (relative Frobenius distance to the uniform one), ``mean_response``
        and ``response_cv`` per ensemble.

    Examples
    --------
    >>> from neurodata.gain_control import simulate_benucci
    >>> fx = benucci_effects(simulate_benucci("gain", n_sessions=3, noise=0.0, random_state=0))
    >>> near = abs(fx.preferred_orientation) <= 15
    >>> bool((fx.max_change.where(near, drop=True) < 0).all())
    True
    """
    arr, centres, theta, y = _open_array(data, session_mean)
    prior = prior or (str(arr["prior"].values) if "prior" in arr.coords else "single")
    check_option("prior", prior, ("single", "benucci"))
    p = _p_of(data, p_adapter, session_mean)
    u, b = y[..., 0], y[..., 1]
    uniform = np.full(theta.size, 1.0 / theta.size)
    biased = np.stack(_biased(theta, p, prior))  # session, stimulus
    sign = np.where(np.isclose(centres, 0.0), 0.0, np.sign(wrap_orientation(centres)))
    cov_u = _weighted_cov(u, uniform)
    var = np.einsum("sii->si", cov_u)
    norm = np.sqrt(var[:, :, None] * var[:, None, :])
    covs = np.stack([cov_u, np.stack([_weighted_cov(u[s], biased[s]) for s in range(len(p))]),
                     np.stack([_weighted_cov(b[s], biased[s]) for s in range(len(p))])], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        covs = covs / norm[:, None]
    dist = np.sqrt(np.nansum((covs - covs[:, :1]) ** 2, axis=(2, 3)) /
                   np.nansum(covs[:, :1] ** 2, axis=(2, 3)))
    means = np.stack([u @ uniform, np.einsum("sik,sk->si", u, biased),
                      np.einsum("sik,sk->si", b, biased)], axis=1)
    with np.errstate(invalid="ignore"):
        cv = np.nanstd(means, axis=2) / np.nanmean(means, axis=2)
    ens = ["uniform", "biased_unadapted", "biased_adapted"]
    sdim = ("session",)
    out = xr.Dataset(
        {"max_change": (("session", "preferred_orientation"),
                        np.nanmax(b, axis=2) - np.nanmax(u, axis=2)),
         "min_change": (("session", "preferred_orientation"),
                        np.nanmin(b, axis=2) - np.nanmin(u, axis=2)),
         "repulsion": (("session", "preferred_orientation"), _shift(u, b, theta) * sign),
         "covariance": (("session", "ensemble", "preferred_orientation",
                         "other_preferred_orientation"), covs),
         "covariance_distance": (("session", "ensemble"), dist),
         "mean_response": (("session", "ensemble", "preferred_orientation"), means),
         "response_cv": (("session", "ensemble"), cv),
         "p_adapter": (sdim, p)},
        coords={"session": ["mean"] if session_mean else arr["session"].values,
                "preferred_orientation": centres, "other_preferred_orientation": centres,
                "ensemble": ens},
        attrs={"prior": prior, "normalization": str(arr["normalization"].values)})
    return out.isel(session=0, drop=True) if session_mean else out


def separable_fit(data, *, session_mean: bool = True, min_response: float = 0.1) -> xr.Dataset:
    """Benucci's separable description of adaptation: ``R_b = R_u a(phi) b(theta)``.

    The ratio ``R_biased / R_uniform`` over preferred orientation ``theta``
    (rows) and stimulus ``phi`` (columns) is modelled as a rank-1 matrix
    ``b a^T``; its logarithm is fitted by least squares as row plus column
    effects, ``log b(theta) + log a(phi)``.  Entries where the uniform response
    is below ``min_response`` times its row's peak (or either response is not
    positive) are left out: ratios of small responses are dominated by noise.
    With ``"minmax"`` data the row minima are 0 by construction, so raw or
    ``"mean"``-normalised data suit this description best.

    Returns
    -------
    xarray.Dataset
        ``a(stimulus_orientation)`` (geometric mean 1), ``b(preferred_orientation)``,
        ``log_ratio`` and ``fitted_log_ratio`` (NaN where left out),
        ``explained_variance`` (of the log ratio), ``n_used``, ``n_excluded``.

    Examples
    --------
    >>> from neurodata.gain_control import simulate_benucci
    >>> fit = separable_fit(simulate_benucci("no_recurrence", noise=0.0, random_state=0))
    >>> float(fit.explained_variance) > 0.99   # gains alone: exactly separable
    True
    """
    check_fraction("min_response", min_response)
    arr = check_benucci(data)
    y = _open_circle(arr.values)
    if session_mean:
        with np.errstate(invalid="ignore"):
            y = np.nanmean(y, axis=0, keepdims=True)
    u, b = y[..., 0], y[..., 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        peak = np.nanmax(u, axis=2, keepdims=True)
        ok = np.isfinite(u) & np.isfinite(b) & (u > min_response * peak) & (u > 0) & (b > 0)
        lr = np.where(ok, np.log(np.where(ok, b / u, 1.0)), np.nan)
    fitted = np.full_like(lr, np.nan)
    a_out = np.full((lr.shape[0], lr.shape[2]), np.nan)
    b_out = np.full((lr.shape[0], lr.shape[1]), np.nan)
    ev = np.full(lr.shape[0], np.nan)
    for s in range(lr.shape[0]):
        rows, cols = np.nonzero(ok[s])
        if rows.size < lr.shape[1] + lr.shape[2]:
            continue
        design = np.zeros((rows.size, lr.shape[1] + lr.shape[2]))
        design[np.arange(rows.size), rows] = 1.0
        design[np.arange(rows.size), lr.shape[1] + cols] = 1.0
        coef = np.linalg.lstsq(design, lr[s][ok[s]], rcond=None)[0]
        log_b, log_a = coef[: lr.shape[1]], coef[lr.shape[1]:]
        shift = log_a.mean()  # gauge: geometric mean of a is 1
        a_out[s], b_out[s] = np.exp(log_a - shift), np.exp(log_b + shift)
        fitted[s][ok[s]] = design @ coef
        resid = lr[s][ok[s]] - fitted[s][ok[s]]
        ev[s] = 1 - np.sum(resid**2) / np.sum((lr[s][ok[s]] - lr[s][ok[s]].mean()) ** 2)
    dims = ("session", "preferred_orientation", "stimulus_orientation")
    out = xr.Dataset(
        {"a": (("session", "stimulus_orientation"), a_out),
         "b": (("session", "preferred_orientation"), b_out),
         "log_ratio": (dims, lr), "fitted_log_ratio": (dims, fitted),
         "explained_variance": ("session", ev),
         "n_used": ("session", ok.sum(axis=(1, 2))),
         "n_excluded": ("session", (~ok).sum(axis=(1, 2)))},
        coords={"session": ["mean"] if session_mean else arr["session"].values,
                "preferred_orientation": arr["preferred_orientation"].values[:-1],
                "stimulus_orientation": arr["stimulus_orientation"].values[:-1]},
        attrs={"min_response": float(min_response)})
    return out.isel(session=0, drop=True) if session_mean else out


def _resample_units(ds: xr.Dataset, rng) -> xr.Dataset:
    """Units drawn with replacement within each session, binned again."""
    if "unit_responses" not in ds or "unit_preference" not in ds:
        raise NeurodataError("resampling units needs the unit-level curves of benucci_format "
                             "('unit_responses', 'unit_preference'); these data have none. "
                             "Resample sessions (over='session') instead.")
    arr = check_benucci(ds)
    centres = arr["preferred_orientation"].values
    units, prefs = ds["unit_responses"].values, ds["unit_preference"].values
    out = np.full((arr.sizes["session"], centres.size - 1, units.shape[2], 2), np.nan)
    step = centres[1] - centres[0]
    for s in range(units.shape[0]):
        have = np.flatnonzero(np.isfinite(prefs[s]))
        pick = rng.choice(have, size=have.size, replace=True)
        bins = np.round((wrap_orientation(prefs[s, pick]) - centres[0]) / step).astype(int) % (
            centres.size - 1)
        sums = np.zeros(out.shape[1:])
        np.add.at(sums, bins, units[s, pick])
        n = np.bincount(bins, minlength=centres.size - 1)[:, None, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s] = sums / n
    return ds.assign(responses=arr.copy(data=_close_circle(out)))


def bootstrap_benucci(data, statistic: Callable, *, over: str = "session", n_boot: int = 200,
                      ci: float = 0.95, random_state=None) -> xr.Dataset:
    """Bootstrap a statistic of Benucci-format data over sessions or units.

    Parameters
    ----------
    data : xarray.Dataset
        Benucci-format data; resampling units needs the unit-level curves that
        :func:`benucci_format` keeps.
    statistic : callable
        ``statistic(data) -> DataArray or Dataset`` of numbers (for example
        ``lambda d: benucci_effects(d).covariance_distance`` or
        ``lambda d: separable_fit(d).explained_variance``).
    over : {"session", "unit"}
        Resample sessions with replacement, or units within every session
        (re-binned by their preferred orientations).
    n_boot : int
        Replicates.
    ci : float
        Coverage of the percentile interval.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    xarray.Dataset
        ``estimate`` (the statistic of the data), ``replicates`` (on
        ``replicate``), ``ci_low`` and ``ci_high``, for every variable of the
        statistic (prefixed by its name when it returns a Dataset).

    Examples
    --------
    >>> from neurodata.gain_control import simulate_benucci
    >>> data = simulate_benucci("gain", n_sessions=4, random_state=0)
    >>> boot = bootstrap_benucci(data, lambda d: benucci_effects(d).response_cv,
    ...                          n_boot=20, random_state=0)
    >>> boot.replicates.sizes["replicate"], bool((boot.ci_low <= boot.ci_high).all())
    (20, True)
    """
    check_option("over", over, ("session", "unit"))
    n_boot = check_integer("n_boot", n_boot, minimum=2)
    check_fraction("ci", ci, closed="neither")
    ds = data if isinstance(data, xr.Dataset) else xr.Dataset({"responses": data})
    arr = check_benucci(ds)
    rng = check_random_state(random_state)
    n = arr.sizes["session"]
    reps = []
    for _ in range(n_boot):
        if over == "session":
            pick = rng.integers(0, n, size=n)
            sample = ds.isel(session=pick).assign_coords(session=np.arange(n))
        else:
            sample = _resample_units(ds, rng)
        reps.append(_as_dataset(statistic(sample)))
    stacked = xr.concat(reps, dim="replicate")
    alpha = (1 - ci) / 2
    out = xr.Dataset()
    for name, var in _as_dataset(statistic(ds)).data_vars.items():
        out[f"{name}_estimate" if len(stacked.data_vars) > 1 else "estimate"] = var
        rep = stacked[name]
        key = f"{name}_" if len(stacked.data_vars) > 1 else ""
        out[f"{key}replicates"] = rep
        out[f"{key}ci_low"] = rep.quantile(alpha, dim="replicate").drop_vars("quantile")
        out[f"{key}ci_high"] = rep.quantile(1 - alpha, dim="replicate").drop_vars("quantile")
    return out.assign_attrs(over=over, n_boot=n_boot, ci=float(ci))


def _as_dataset(x) -> xr.Dataset:
    if isinstance(x, xr.Dataset):
        return x
    if isinstance(x, xr.DataArray):
        return x.to_dataset(name=x.name or "statistic")
    if isinstance(x, int | float | np.number):
        return xr.Dataset({"statistic": float(x)})
    raise ShapeError("the statistic must return a number, a DataArray or a Dataset.")

