"""Figures of the gain-control model: one function per result, each returning its Axes.

The panels follow the main figure of Duong et al. (2023): the optimal gains,
tuning curves before and after adaptation, the preferred-orientation shifts,
changes of response maxima and minima, the population covariance matrices,
and the model against Benucci-format data.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from neurodata.gain_control._benucci import check_benucci

__all__ = [
    "plot_benucci",
    "plot_covariances",
    "plot_extrema",
    "plot_gains",
    "plot_preferred_shift",
    "plot_tuning_curves",
]


def _ax(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    return ax


def _mark_adapter(ax, effects):
    ax.axvline(float(effects.attrs.get("adapter", 0.0)), color="0.6", ls=":", lw=1)


def plot_gains(effects: xr.Dataset, ax=None):
    """Optimal gains against preferred orientation, uniform vs biased ensemble.

    Examples
    --------
    >>> from neurodata.gain_control import adaptation_effects, ring_network
    >>> ax = plot_gains(adaptation_effects(ring_network(30)))
    >>> [line.get_label() for line in ax.get_lines()[:2]]
    ['uniform', 'biased']
    """
    ax = _ax(ax)
    pref = effects["preferred_orientation"].values
    order = np.argsort(pref)
    for cond, color in zip(effects["condition"].values, ("0.3", "C3")):
        ax.plot(pref[order], effects["gains"].sel(condition=cond).values[order], color=color,
                label=str(cond))
    ax.set(xlabel="preferred orientation (deg)", ylabel="gain")
    _mark_adapter(ax, effects)
    ax.legend(frameon=False)
    return ax


def plot_tuning_curves(effects: xr.Dataset, units=None, ax=None):
    """Tuning curves before (solid) and after (dashed) adaptation for a few units.

    Parameters
    ----------
    units : sequence of int, optional
        Unit ids; default eight units evenly spread over preferred orientation.

    Examples
    --------
    >>> from neurodata.gain_control import adaptation_effects, ring_network
    >>> ax = plot_tuning_curves(adaptation_effects(ring_network(30)), units=[10, 15])
    >>> len(ax.get_lines())
    5
    """
    ax = _ax(ax)
    ids = effects["unit"].values
    if units is None:
        units = ids[:: max(len(ids) // 8, 1)]
    theta = effects["stimulus_orientation"].values
    cmap = plt.get_cmap("twilight")
    for u in units:
        pref = float(effects["preferred_orientation"].sel(unit=u))
        color = cmap((pref + 90.0) / 180.0)
        ax.plot(theta, effects["tuning"].sel(condition="uniform", unit=u), color=color)
        ax.plot(theta, effects["tuning"].sel(condition="biased", unit=u), color=color, ls="--")
    ax.set(xlabel="stimulus orientation (deg)", ylabel="response")
    _mark_adapter(ax, effects)
    return ax


def plot_preferred_shift(effects: xr.Dataset, ax=None, label: str | None = None, **kwargs):
    """Shift of preferred orientation (positive = away from the adapter) vs distance.

    Examples
    --------
    >>> from neurodata.gain_control import adaptation_effects, ring_network
    >>> fx = adaptation_effects(ring_network(30))
    >>> ax = plot_preferred_shift(fx)
    >>> bool(np.allclose(ax.get_lines()[0].get_ydata(), fx.repulsion.sortby(
    ...     fx.distance_to_adapter).values))
    True
    """
    ax = _ax(ax)
    fx = effects.sortby("distance_to_adapter")
    ax.plot(fx["distance_to_adapter"].values, fx["repulsion"].values, marker=".",
            label=label or str(effects.attrs.get("rule", "")), **kwargs)
    ax.axhline(0.0, color="0.6", lw=1)
    ax.set(xlabel="preferred orientation - adapter (deg)",
           ylabel="shift away from adapter (deg)")
    return ax


def plot_extrema(effects: xr.Dataset, ax=None):
    """Ratio of response maxima and minima (biased / uniform) vs distance to adapter.

    Examples
    --------
    >>> from neurodata.gain_control import adaptation_effects, ring_network
    >>> ax = plot_extrema(adaptation_effects(ring_network(30)))
    >>> [line.get_label() for line in ax.get_lines()[:2]]
    ['maximum', 'minimum']
    """
    ax = _ax(ax)
    fx = effects.sortby("distance_to_adapter")
    d = fx["distance_to_adapter"].values
    ax.plot(d, fx["max_ratio"].values, color="C0", label="maximum")
    ax.plot(d, fx["min_ratio"].values, color="C1", label="minimum")
    ax.axhline(1.0, color="0.6", lw=1)
    ax.set(xlabel="preferred orientation - adapter (deg)", ylabel="adapted / unadapted")
    ax.legend(frameon=False)
    return ax


def plot_covariances(effects: xr.Dataset, axes=None):
    """Population covariance matrices: uniform, biased unadapted, biased adapted.

    All three share one colour scale; the title of each gives its relative
    distance to the uniform-ensemble covariance.

    Examples
    --------
    >>> from neurodata.gain_control import adaptation_effects, ring_network
    >>> axes = plot_covariances(adaptation_effects(ring_network(30)))
    >>> [ax.get_title().split("\\n")[0] for ax in axes]
    ['uniform', 'biased unadapted', 'biased adapted']
    """
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(9, 3), constrained_layout=True)
    cov = effects["covariance"].sortby("preferred_orientation").sortby(
        "other_preferred_orientation")
    vmax = float(abs(cov).max())
    pref = cov["preferred_orientation"].values
    extent = (pref[0], pref[-1], pref[-1], pref[0])
    for ax, ens in zip(axes, cov["ensemble"].values):
        im = ax.imshow(cov.sel(ensemble=ens).values, cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                       extent=extent)
        dist = float(effects["covariance_distance"].sel(ensemble=ens))
        ax.set_title(f"{str(ens).replace('_', ' ')}\ndistance {dist:.3f}")
        ax.set(xlabel="preferred orientation (deg)")
    axes[0].set_ylabel("preferred orientation (deg)")
    plt.colorbar(im, ax=list(axes), shrink=0.8, label="covariance")
    return axes


def plot_benucci(data, prediction: xr.DataArray | None = None, axes=None):
    """Benucci-format responses (session mean) per condition, and the model's if given.

    One row of images (preferred orientation x stimulus orientation) for the
    data: uniform, biased and their ratio; a second row for ``prediction``.

    Examples
    --------
    >>> from neurodata.gain_control import predict_adaptation
    >>> pred = predict_adaptation()
    >>> axes = plot_benucci(pred.expand_dims(session=1), pred)
    >>> axes.shape
    (2, 3)
    """
    mean = check_benucci(data).mean("session")
    rows = [("data", mean)] + ([("model", prediction)] if prediction is not None else [])
    if axes is None:
        _, axes = plt.subplots(len(rows), 3, figsize=(9, 3 * len(rows)), squeeze=False,
                               constrained_layout=True)
    axes = np.atleast_2d(axes)
    vmax = float(max(np.nanmax(r.values) for _, r in rows))
    for row, (name, resp) in zip(axes, rows):
        pref, stim = resp["preferred_orientation"].values, resp["stimulus_orientation"].values
        extent = (stim[0], stim[-1], pref[-1], pref[0])
        for ax, cond in zip(row[:2], ("uniform", "biased")):
            ax.imshow(resp.sel(condition=cond).values, vmin=0, vmax=vmax, extent=extent,
                      aspect="auto", cmap="magma")
            ax.set_title(f"{name}: {cond}")
        ratio = (resp.sel(condition="biased") / resp.sel(condition="uniform")).values
        im = row[2].imshow(np.log2(ratio), cmap="RdBu_r", vmin=-1, vmax=1, extent=extent,
                           aspect="auto")
        row[2].set_title(f"{name}: log2 biased / uniform")
        row[0].set_ylabel("preferred orientation (deg)")
        for ax in row:
            ax.set_xlabel("stimulus orientation (deg)")
    plt.colorbar(im, ax=list(axes[:, 2]), shrink=0.8)
    return axes
