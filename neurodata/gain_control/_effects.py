"""Adaptation effects measured on tuning curves, as labelled results.

Each function compares the network adapted to the uniform ensemble (the
reference, "unadapted" state) with the network adapted to a biased ensemble,
following Benucci, Saleem & Carandini (2013):

* response maxima and minima per unit (:func:`response_extrema`),
* shift of preferred orientation, the circular mean of the doubled angle,
  signed positive *away* from the adapter (:func:`preferred_orientation_shift`),
* signal covariance of the population over the stimulus ensemble
  (:func:`response_covariance`), and
* equalisation of the time-averaged responses (:func:`response_equalization`).

:func:`adaptation_effects` computes all of them for a network and a gain rule.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata.errors import NeurodataError, ShapeError
from neurodata.gain_control._network import (
    _unpack_ensemble,
    steady_state,
    stimulus_ensemble,
)
from neurodata.gain_control._objective import equalizing_gains, optimal_gains
from neurodata.gain_control._validation import PERIOD, as_unit_vector, wrap_orientation

__all__ = [
    "adaptation_effects",
    "preferred_orientation",
    "preferred_orientation_shift",
    "response_covariance",
    "response_equalization",
    "response_extrema",
]


def _curves(responses: xr.DataArray, name: str = "responses") -> xr.DataArray:
    if not isinstance(responses, xr.DataArray) or "stimulus_orientation" not in responses.dims:
        raise ShapeError(f"{name} must be a DataArray with a 'stimulus_orientation' dimension.")
    return responses


def _circle_grid(responses: xr.DataArray) -> xr.DataArray:
    """Drop a repeated +90 column and check the grid samples the circle evenly."""
    theta = np.asarray(responses["stimulus_orientation"].values, dtype=float)
    if theta.size > 2 and np.isclose(wrap_orientation(theta[-1] - theta[0]), 0.0):
        responses, theta = responses.isel(stimulus_orientation=slice(0, -1)), theta[:-1]
    ordered = np.sort(wrap_orientation(theta))
    gaps = np.diff(np.append(ordered, ordered[0] + PERIOD))
    if theta.size < 3 or not np.allclose(gaps, PERIOD / theta.size, atol=1e-6):
        raise ShapeError(
            "preferred orientations need tuning curves sampled evenly around the whole "
            f"180-degree circle; got {theta.size} orientations with gaps "
            f"{np.unique(np.round(gaps, 3))[:4].tolist()} deg."
        )
    return responses


def preferred_orientation(responses: xr.DataArray) -> xr.DataArray:
    """Preferred orientation: half the angle of ``sum_k r_k exp(2 i theta_k)``, degrees.

    The circular mean over the doubled angle, which respects the 180-degree
    period.  A repeated end column (Benucci format, -90 and +90) is dropped.

    Examples
    --------
    >>> from neurodata.gain_control import ring_network, steady_state
    >>> net = ring_network(12)
    >>> r = steady_state(net, np.arange(-90, 90, 10.0))
    >>> bool(np.allclose(preferred_orientation(r), net.preferred_orientation, atol=1e-9))
    True
    """
    r = _circle_grid(_curves(responses))
    theta = np.deg2rad(2.0 * r["stimulus_orientation"])
    z = (r * np.exp(1j * theta)).sum("stimulus_orientation")
    pref = xr.DataArray(np.rad2deg(np.angle(z.values)) / 2.0, dims=z.dims, coords=z.coords)
    return pref.rename("preferred_orientation_estimate")


def preferred_orientation_shift(before: xr.DataArray, after: xr.DataArray, *,
                                adapter: float = 0.0) -> xr.DataArray:
    """Change of preferred orientation, positive when it moves away from the adapter.

    Returns ``repulsion`` (over the population dimension) with coordinate ``distance_to_adapter`` (signed
    preferred orientation of ``before`` relative to the adapter, in [-90, 90)).

    Examples
    --------
    >>> theta = np.arange(-90, 90, 10.0)
    >>> curve = lambda mu: np.exp(2 * (np.cos(np.deg2rad(2 * (theta - mu))) - 1))
    >>> da = lambda mus: xr.DataArray([curve(m) for m in mus],
    ...                               dims=("model_unit", "stimulus_orientation"),
    ...                               coords={"stimulus_orientation": theta})
    >>> preferred_orientation_shift(da([20, -30]), da([23, -32])).values.round(6)
    array([3., 2.])
    """
    p0, p1 = preferred_orientation(before), preferred_orientation(after)
    dist = wrap_orientation(p0.values - adapter)
    shift = wrap_orientation(p1.values - p0.values) * np.sign(dist)
    out = xr.DataArray(shift, dims=p0.dims, coords=p0.coords, name="repulsion")
    return out.assign_coords(distance_to_adapter=(p0.dims, dist))


def response_extrema(before: xr.DataArray, after: xr.DataArray) -> xr.Dataset:
    """Maxima and minima of each tuning curve, before and after, and their ratios.

    Examples
    --------
    >>> r = xr.DataArray([[1.0, 4.0, 2.0]], dims=("model_unit", "stimulus_orientation"))
    >>> response_extrema(r, 0.5 * r).max_ratio.values
    array([0.5])
    """
    b, a = _curves(before, "before"), _curves(after, "after")
    if b.shape != a.shape:
        raise ShapeError(
            f"before and after must have the same shape; got {b.shape} and {a.shape}.")
    out = xr.Dataset({
        "max_before": b.max("stimulus_orientation"), "max_after": a.max("stimulus_orientation"),
        "min_before": b.min("stimulus_orientation"), "min_after": a.min("stimulus_orientation"),
    })
    out["max_ratio"] = out.max_after / out.max_before
    out["min_ratio"] = out.min_after / out.min_before
    return out


def _neuron_dim(r: xr.DataArray) -> str:
    """The one dimension of a tuning-curve array besides ``stimulus_orientation``."""
    other = [str(d) for d in r.dims if d != "stimulus_orientation"]
    if len(other) != 1:
        raise ShapeError("responses must have one neuron dimension (model_unit, unit, roi or "
                         f"preferred_orientation bins) besides 'stimulus_orientation'; got "
                         f"{tuple(r.dims)}.")
    return other[0]


def response_covariance(responses: xr.DataArray, ensemble: xr.DataArray) -> xr.DataArray:
    """Signal covariance of the population over a stimulus ensemble.

    ``C = sum_k p_k (r_k - mu)(r_k - mu)^T`` with ``mu = sum_k p_k r_k``.  The
    population is the one dimension of ``responses`` besides
    ``stimulus_orientation`` (model units, recorded units, or preferred-orientation
    bins of Benucci-format data); the result has that dimension and its
    ``other_`` twin.

    Examples
    --------
    >>> from neurodata.gain_control import ring_network, stimulus_ensemble, steady_state
    >>> net, ens = ring_network(6), stimulus_ensemble(6)
    >>> c = response_covariance(steady_state(net, ens), ens)
    >>> c.dims, bool(np.allclose(c, c.T))
    (('model_unit', 'other_model_unit'), True)
    """
    r = _curves(responses)
    dim = _neuron_dim(r)
    theta, prob = _unpack_ensemble(ensemble)
    got = np.asarray(r["stimulus_orientation"].values, dtype=float)
    if got.shape != theta.shape or not np.allclose(got, theta):
        raise ShapeError("responses must be evaluated at the ensemble's stimulus orientations.")
    x = r.transpose(dim, "stimulus_orientation").values
    dev = x - (x @ prob)[:, None]
    cov = (dev * prob) @ dev.T
    other = f"other_{dim}"
    coords: dict[str, object] = {dim: r[dim].values, other: r[dim].values}
    if "preferred_orientation" in r.coords and dim != "preferred_orientation":
        pref = r["preferred_orientation"].values
        coords |= {"preferred_orientation": (dim, pref),
                   "other_preferred_orientation": (other, pref)}
    return xr.DataArray(cov, dims=(dim, other), coords=coords, name="covariance")


def response_equalization(responses: xr.DataArray, ensemble: xr.DataArray) -> xr.Dataset:
    """Time-averaged response of each unit over an ensemble, and their spread.

    Returns ``mean_response`` (over the population dimension) and ``cv``
    (coefficient of variation across it; 0 means perfectly equalised,
    Benucci's homeostasis).

    Examples
    --------
    >>> from neurodata.gain_control import ring_network, stimulus_ensemble, steady_state
    >>> net, ens = ring_network(12), stimulus_ensemble(12)
    >>> float(response_equalization(steady_state(net, ens), ens).cv) < 1e-12
    True
    """
    _, prob = _unpack_ensemble(ensemble)
    r = _curves(responses)
    dim = _neuron_dim(r)
    r = r.transpose(dim, "stimulus_orientation")
    mean = xr.DataArray(r.values @ prob, dims=(dim,),
                        coords={k: v for k, v in r.coords.items()
                                if "stimulus_orientation" not in v.dims})
    return xr.Dataset({"mean_response": mean, "cv": mean.std(dim) / mean.mean(dim)})


def _rule_gains(network, ensemble, rule, alpha, gain_site, solver):
    if rule == "optimal":
        return optimal_gains(network, ensemble, alpha=alpha, gain_site=gain_site, **solver)
    if rule == "equalize":
        return equalizing_gains(network, ensemble, gain_site=gain_site)
    raise NeurodataError(f"rule must be 'optimal' or 'equalize' (or gains); got {rule!r}.")


def adaptation_effects(network: xr.Dataset, *, adapter: float = 0.0, p_adapter: float = 0.3,
                       n_orientations: int = 20, rule="optimal", objective: str = "log_gain",
                       alpha: float | None = None, gain_site: str = "total",
                       input_noise: float = 1.0, shape: str = "single", n_init: int = 2,
                       random_state=None, test_orientations=None) -> xr.Dataset:
    """Every adaptation effect of a network adapted to a biased ensemble.

    The reference ("uniform") state has the gains the rule gives for the
    uniform ensemble; the adapted ("biased") state has the gains for the
    ensemble in which the adapter has probability ``p_adapter``.

    Parameters
    ----------
    network : xarray.Dataset
        From :func:`ring_network`.
    adapter, p_adapter, n_orientations
        The biased ensemble (:func:`stimulus_ensemble`).
    rule : {"optimal", "equalize"} or array_like
        Optimal efficient-coding gains, the naive mean-equalising rule, or
        explicit gains for the biased state (the reference then uses "optimal").
    objective : {"log_gain", "fisher_poisson", "fisher_gaussian"}
        What the optimal gains optimise (:func:`optimal_gains`).
    alpha : float, optional
        Trade-off weight (default: calibrated on the uniform ensemble).
    gain_site : {"total", "input"}
    input_noise : float
        For ``"fisher_gaussian"``.
    shape : {"single", "benucci"}
        Shape of the biased ensemble (:func:`stimulus_ensemble`).
    n_init, random_state
        Starts of the non-convex gain solver: unit gains, the convex input-site
        optimum, then random perturbations (so the default two starts are
        deterministic).
    test_orientations : array_like, optional
        Orientations of the tuning curves (default every 2.5 degrees).

    Returns
    -------
    xarray.Dataset
        ``gains(condition, model_unit)``, ``tuning(condition, model_unit,
        stimulus_orientation)``, ``max_ratio``, ``min_ratio``, ``repulsion``
        (model_unit), ``covariance(ensemble, model_unit, other_model_unit)``,
        ``covariance_distance(ensemble)`` (relative Frobenius distance to the
        uniform covariance), ``mean_response(ensemble, model_unit)``
        and ``response_cv(ensemble)``.  ``attrs`` name the rule, objective and
        site and carry the biased gains' certificate (``n_agree`` of ``n_init``
        starts, ``gradient_norm``, ``hessian_min_eigenvalue``).

    Examples
    --------
    >>> from neurodata.gain_control import ring_network
    >>> fx = adaptation_effects(ring_network(60))
    >>> near = abs(fx.distance_to_adapter) < 10
    >>> bool((fx.max_ratio.where(near, drop=True) < 1).all())
    True
    """
    uniform = stimulus_ensemble(n_orientations, adapter=adapter)
    biased = stimulus_ensemble(n_orientations, adapter=adapter, p_adapter=p_adapter, shape=shape)
    n = network.sizes["model_unit"]
    named = isinstance(rule, str)
    solver = {"objective": objective, "input_noise": input_noise, "n_init": n_init,
              "random_state": random_state}
    g_u = _rule_gains(network, uniform, rule if named else "optimal", alpha, gain_site, solver)
    g_b = (_rule_gains(network, biased, rule, alpha, gain_site, solver) if named
           else as_unit_vector(rule, n, "gains", positive=True))
    theta = (np.arange(-90.0, 90.0, 2.5) if test_orientations is None
             else np.asarray(test_orientations, dtype=float))
    r_u = steady_state(network, theta, g_u, gain_site=gain_site)
    r_b = steady_state(network, theta, g_b, gain_site=gain_site)
    ext = response_extrema(r_u, r_b)
    shift = preferred_orientation_shift(r_u, r_b, adapter=adapter)
    ens_r = {"uniform": steady_state(network, uniform, g_u, gain_site=gain_site),
             "biased_unadapted": steady_state(network, biased, g_u, gain_site=gain_site),
             "biased_adapted": steady_state(network, biased, g_b, gain_site=gain_site)}
    ens_p = {"uniform": uniform, "biased_unadapted": biased, "biased_adapted": biased}
    covs = xr.concat([response_covariance(ens_r[k], ens_p[k]) for k in ens_r], dim="ensemble")
    c_u = covs.isel(ensemble=0)
    dist = np.sqrt(((covs - c_u) ** 2).sum(("model_unit", "other_model_unit")) / (c_u**2).sum())
    eq = [response_equalization(ens_r[k], ens_p[k]) for k in ens_r]
    out = xr.Dataset({
        "gains": xr.concat([xr.DataArray(np.asarray(g_u)), xr.DataArray(np.asarray(g_b))],
                           dim="condition").rename({"dim_0": "model_unit"}),
        "tuning": xr.concat([r_u, r_b], dim="condition"),
        "max_ratio": ext.max_ratio, "min_ratio": ext.min_ratio,
        "repulsion": shift.drop_vars("distance_to_adapter"),
        "covariance": covs, "covariance_distance": dist,
        "mean_response": xr.concat([e.mean_response for e in eq], dim="ensemble"),
        "response_cv": xr.concat([e.cv for e in eq], dim="ensemble"),
    })
    out = out.assign_coords(condition=["uniform", "biased"], ensemble=list(ens_r),
                            distance_to_adapter=("model_unit", wrap_orientation(
                                network["preferred_orientation"].values - adapter)))
    cert = {k: g_b.attrs[k] for k in ("n_init", "n_agree", "gradient_norm",
                                      "hessian_min_eigenvalue", "n_at_bound")
            if isinstance(g_b, xr.DataArray) and k in g_b.attrs}
    out.attrs.update(adapter=float(adapter), p_adapter=float(p_adapter),
                     rule=rule if named else "custom", gain_site=gain_site,
                     objective=objective, shape=shape, **cert)
    return out
