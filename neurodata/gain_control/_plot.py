"""Figures of the gain-control model: one function per result, each returning its Axes.

The panels show the quantities Benucci, Saleem & Carandini (2013) measured and
Duong et al. (2023) modelled: the optimal gains, tuning curves before and after
adaptation, the preferred-orientation shifts, changes of response maxima and
minima, the population covariance matrices, and the model against
Benucci-format data.  Single panels take ``ax=`` and return the Axes;
multi-panel figures take ``axes=`` and return the Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from neurodata._utils import get_axes
from neurodata.gain_control._benucci import check_benucci

__all__ = [
    "plot_benucci",
    "plot_benucci_effects",
    "plot_confusion",
    "plot_covariances",
    "plot_dynamics",
    "plot_extrema",
    "plot_gains",
    "plot_model_comparison",
    "plot_network",
    "plot_preferred_shift",
    "plot_separable",
    "plot_tuning_curves",
]


def _ax(ax):
    return get_axes(ax, figsize=(4, 3))[1]


def _mark_adapter(ax, effects):
    ax.axvline(float(effects.attrs.get("adapter", 0.0)), color="0.6", ls=":", lw=1)


def plot_network(network: xr.Dataset, model_unit: int | None = None, axes=None):
    """The ring network: one neuron's feedforward drive and steady-state response, and W.

    ``model_unit`` defaults to the neuron preferring 0 degrees; ``axes``: two
    Axes (default a new figure); returns the Figure.

    Examples
    --------
    >>> from neurodata.gain_control import ring_network
    >>> fig = plot_network(ring_network(30))
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['feedforward drive', 'network response']
    """
    from neurodata.gain_control._network import feedforward_drive, steady_state

    fig, axes = get_axes(axes, ncols=2, figsize=(8, 3))
    pref = network["preferred_orientation"].values
    unit = int(np.argmin(abs(pref))) if model_unit is None else int(model_unit)
    theta = np.arange(-90.0, 90.0, 2.5)
    axes[0].plot(theta, feedforward_drive(network, theta).isel(model_unit=unit),
                 label="feedforward drive")
    axes[0].plot(theta, steady_state(network, theta).isel(model_unit=unit),
                 label="network response")
    axes[0].set(xlabel="stimulus orientation (deg)",
                title=f"model unit preferring {pref[unit]:g} deg")
    axes[0].legend(frameon=False)
    extent = (pref[0], pref[-1], pref[-1], pref[0])
    im = axes[1].imshow(network["weights"].values, cmap="viridis", extent=extent)
    axes[1].set(title="recurrent weights W", xlabel="presynaptic preferred orientation (deg)",
                ylabel="preferred orientation (deg)")
    fig.colorbar(im, ax=axes[1], shrink=0.8)
    return fig


def plot_dynamics(trajectory: xr.DataArray, model_units=None, ax=None):
    """Rates of a few model neurons relaxing to their steady state (:func:`simulate`).

    Examples
    --------
    >>> from neurodata.gain_control import ring_network, simulate
    >>> traj = simulate(ring_network(12), [0.0], np.linspace(0, 5, 20))
    >>> ax = plot_dynamics(traj, model_units=[6])
    >>> bool(np.allclose(ax.get_lines()[0].get_ydata(), traj.sel(model_unit=6).squeeze()))
    True
    """
    ax = _ax(ax)
    traj = trajectory.isel(stimulus_orientation=0) if "stimulus_orientation" in \
        trajectory.dims else trajectory
    units = traj["model_unit"].values[:: max(traj.sizes["model_unit"] // 4, 1)] \
        if model_units is None else model_units
    for u in units:
        ax.plot(traj["time"].values, traj.sel(model_unit=u).values, label=f"model unit {u}")
    ax.set(xlabel="time (tau)", ylabel="rate", title="relaxation to the steady state")
    ax.legend(frameon=False, fontsize="small")
    return ax


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
    ids = effects["model_unit"].values
    if units is None:
        units = ids[:: max(len(ids) // 8, 1)]
    theta = effects["stimulus_orientation"].values
    cmap = plt.get_cmap("twilight")
    for u in units:
        pref = float(effects["preferred_orientation"].sel(model_unit=u))
        color = cmap((pref + 90.0) / 180.0)
        ax.plot(theta, effects["tuning"].sel(condition="uniform", model_unit=u), color=color)
        ax.plot(theta, effects["tuning"].sel(condition="biased", model_unit=u), color=color, ls="--")
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
    distance to the uniform-ensemble covariance.  ``axes``: three Axes to draw
    into (default a new figure); returns the Figure.

    Examples
    --------
    >>> from neurodata.gain_control import adaptation_effects, ring_network
    >>> fig = plot_covariances(adaptation_effects(ring_network(30)))
    >>> [ax.get_title().split("\\n")[0] for ax in fig.axes[:3]]
    ['uniform', 'biased unadapted', 'biased adapted']
    """
    fig, axes = get_axes(axes, ncols=3, figsize=(9, 3))
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
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="covariance")
    return fig


def plot_benucci(data, prediction: xr.DataArray | None = None, axes=None):
    """Benucci-format responses (session mean) per condition, and the model's if given.

    One row of images (preferred orientation x stimulus orientation) for the
    data: uniform, biased and their ratio; a second row for ``prediction``.
    ``axes``: a (rows, 3) array of Axes to draw into (default a new figure);
    returns the Figure.

    Examples
    --------
    >>> from neurodata.gain_control import predict_adaptation
    >>> pred = predict_adaptation()
    >>> fig = plot_benucci(pred.expand_dims(session=1), pred)
    >>> len(fig.axes)   # 2 rows of 3 panels and a colour bar
    7
    """
    mean = check_benucci(data).mean("session")
    rows = [("data", mean)] + ([("model", prediction)] if prediction is not None else [])
    fig, axes = get_axes(axes, nrows=len(rows), ncols=3, figsize=(9, 3 * len(rows)),
                         squeeze=False)
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
    fig.colorbar(im, ax=list(axes[:, 2]), shrink=0.8)
    return fig


def plot_benucci_effects(effects: xr.Dataset, axes=None, label: str | None = None, **kwargs):
    """The effects measured on Benucci-format data (:func:`benucci_effects`), three panels.

    Changes of each bin's maximum and minimum, the shift of its preferred
    orientation away from the adapter, and the distance of each ensemble's
    normalised covariance to the uniform one.  Draw a model's effects into the
    same ``axes`` (with another ``label``) to compare.  Returns the Figure.

    Examples
    --------
    >>> from neurodata.gain_control import benucci_effects, simulate_benucci
    >>> fx = benucci_effects(simulate_benucci("gain", n_sessions=2, random_state=0))
    >>> fig = plot_benucci_effects(fx, label="data")
    >>> bool(np.allclose(fig.axes[1].get_lines()[0].get_ydata(), fx.repulsion))
    True
    """
    fig, axes = get_axes(axes, ncols=3, figsize=(11, 3))
    pref = effects["preferred_orientation"].values
    name = label or "data"
    axes[0].plot(pref, effects["max_change"].values, marker="o", label=f"{name}: maximum",
                 **kwargs)
    axes[0].plot(pref, effects["min_change"].values, marker="s", ls="--",
                 label=f"{name}: minimum", **kwargs)
    axes[0].set(xlabel="preferred orientation - adapter (deg)",
                ylabel="biased - uniform (normalised)")
    axes[1].plot(pref, effects["repulsion"].values, marker="o", label=name, **kwargs)
    axes[1].set(xlabel="preferred orientation - adapter (deg)",
                ylabel="shift away from adapter (deg)")
    ens = [str(e).replace("_", " ") for e in effects["ensemble"].values]
    axes[2].plot(ens, effects["covariance_distance"].values, marker="o", label=name, **kwargs)
    axes[2].set(ylabel="distance to uniform covariance")
    for ax in axes[:2]:
        ax.axhline(0.0, color="0.6", lw=1)
    for ax in axes:
        ax.legend(frameon=False, fontsize="small")
    return fig


def plot_separable(fit: xr.Dataset, axes=None):
    """Benucci's separable description (:func:`separable_fit`): log ratio, fit, a and b.

    Returns the Figure (four panels: the measured log ratio, its row-plus-column
    fit, ``a(stimulus)`` and ``b(preferred orientation)``).

    Examples
    --------
    >>> from neurodata.gain_control import separable_fit, simulate_benucci
    >>> fig = plot_separable(separable_fit(simulate_benucci("gain", random_state=0)))
    >>> fig.axes[0].get_title()
    'log(biased / uniform)'
    """
    fig, axes = get_axes(axes, ncols=4, figsize=(13, 3))
    stim, pref = fit["stimulus_orientation"].values, fit["preferred_orientation"].values
    extent = (stim[0], stim[-1], pref[-1], pref[0])
    lim = float(np.nanmax(np.abs(fit["log_ratio"].values)))
    for ax, var, title in zip(axes[:2], ("log_ratio", "fitted_log_ratio"),
                              ("log(biased / uniform)", "a(stimulus) b(preferred), in logs")):
        im = ax.imshow(fit[var].values, cmap="RdBu_r", vmin=-lim, vmax=lim, extent=extent,
                       aspect="auto")
        ax.set(title=title, xlabel="stimulus orientation (deg)",
               ylabel="preferred orientation (deg)")
    fig.colorbar(im, ax=list(axes[:2]), shrink=0.8)
    axes[2].plot(stim, fit["a"].values, marker="o")
    axes[2].set(xlabel="stimulus orientation (deg)", ylabel="a (stimulus factor)")
    axes[3].plot(pref, fit["b"].values, marker="o")
    axes[3].set(xlabel="preferred orientation (deg)", ylabel="b (neuron factor)",
                title=f"explained variance {float(fit['explained_variance']):.3f}")
    return fig


def plot_model_comparison(table: xr.Dataset, ax=None):
    """BIC of every rival model relative to the best (:func:`compare_models`).

    Examples
    --------
    >>> import xarray as xr
    >>> table = xr.Dataset({"delta_bic": ("model", [0.0, 12.0])},
    ...                    coords={"model": ["gain/total/log_gain", "no_recurrence"]})
    >>> ax = plot_model_comparison(table)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['gain/total/log_gain', 'no_recurrence']
    """
    ax = _ax(ax)
    names = [str(m) for m in table["model"].values]
    delta = table["delta_bic"].values
    ax.barh(np.arange(len(names)), np.maximum(delta, 0.5), color=["C2" if d == 0 else "0.6"
                                                                  for d in delta])
    ax.set_yticks(np.arange(len(names)), names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set(xlabel="BIC - best BIC (log scale; the best is drawn at 0.5)")
    return ax


def plot_confusion(confusion: xr.Dataset, ax=None):
    """Counts of the model chosen (columns) for data from each model (rows).

    Takes :func:`model_confusion`'s Dataset (its ``counts``).

    Examples
    --------
    >>> import xarray as xr
    >>> cm = xr.Dataset({"counts": (("true_model", "chosen_model"), [[2, 0], [1, 1]])},
    ...                 coords={"true_model": ["a", "b"], "chosen_model": ["a", "b"]})
    >>> ax = plot_confusion(cm)
    >>> ax.get_images()[0].get_array().tolist()
    [[2, 0], [1, 1]]
    """
    ax = _ax(ax)
    counts = confusion["counts"]
    im = ax.imshow(counts.values, cmap="Blues")
    for (i, j), v in np.ndenumerate(counts.values):
        ax.text(j, i, str(int(v)), ha="center", va="center", fontsize="small")
    ax.set_xticks(np.arange(counts.shape[1]), [str(c) for c in counts["chosen_model"].values],
                  rotation=45, ha="right")
    ax.set_yticks(np.arange(counts.shape[0]), [str(c) for c in counts["true_model"].values])
    ax.set(xlabel="model chosen (BIC)", ylabel="model that made the data")
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    return ax
