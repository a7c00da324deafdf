"""Figures of Neuroformer results: training history, generated rasters, attention connectivity.

Each function follows the package rule: ``ax=`` in (optional), the Axes out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neurodata._utils import get_axes
from neurodata.errors import NeurodataError

__all__ = ["plot_attention_connectivity", "plot_generated_raster", "plot_history"]


def plot_history(history: xr.Dataset, *, ax: Any = None, parts=("train_id", "train_dt")) -> Any:
    """Training curves: the loss parts per epoch (and the validation loss when recorded).

    Parameters
    ----------
    history : xarray.Dataset
        ``history_`` of a fitted :class:`Neuroformer` (or :class:`BehaviourDecoder`).
    ax : matplotlib Axes, optional
    parts : sequence of str
        History variables to draw; those absent are skipped.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from neurodata._utils import make_history
    >>> h = make_history([{"train_id": 3.0, "train_dt": 2.0}, {"train_id": 2.5, "train_dt": 1.8}])
    >>> len(plot_history(h).lines)
    2
    """
    _, ax = get_axes(ax, figsize=(4, 2.5))
    epoch = history["iteration"].values + 1
    labels = {"train_id": "neuron ID", "train_dt": "dt", "train_loss": "training loss",
              "train_behaviour": "behaviour", "val_loss": "validation loss"}
    names = [p for p in parts if p in history] + (["val_loss"] if "val_loss" in history
                                                   and "val_loss" not in parts else [])
    if not names:
        raise NeurodataError(f"history has none of {list(parts)}; it holds "
                             f"{sorted(map(str, history.data_vars))}.")
    for name in names:
        ax.plot(epoch, history[name].values, "o-", label=labels.get(name, name))
    ax.set(xlabel="epoch", ylabel="cross-entropy (nats)")
    ax.legend(fontsize=8)
    return ax


def plot_generated_raster(generated: xr.Dataset, real: xr.Dataset | None = None, *,
                          trial: int = 0, ax: Any = None, markersize: float = 4.0) -> Any:
    """Raster of one generated trial, beside the real spikes of the interval it simulates.

    Parameters
    ----------
    generated : xarray.Dataset
        Output of :meth:`Neuroformer.generate` (``spike_trial``, trial table,
        ``trial_source``).
    real : xarray.Dataset, optional
        The recording it was generated from; its spikes in the same interval are
        drawn in a second panel.
    trial : int
        Which generated trial.
    ax : Axes or array of two Axes, optional
        One Axes without ``real``, two with it.
    markersize : float

    Returns
    -------
    matplotlib Axes, or an array of two

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> gen = xr.Dataset({"spike_times": ("spike", [0.1, 0.4]), "spike_unit": ("spike", [0, 1]),
    ...                   "spike_trial": ("spike", [0, 0])},
    ...                  coords={"unit": [0, 1], "trial_start_time": ("trial", [0.0]),
    ...                          "trial_stop_time": ("trial", [1.0])})
    >>> plot_generated_raster(gen).get_title()
    'generated, trial 0'
    """
    if "spike_trial" not in generated or "trial_start_time" not in generated.coords:
        raise NeurodataError("plot_generated_raster needs the output of Neuroformer.generate "
                             "(spike_trial and a trial table).")
    n = generated.sizes["trial"]
    if not 0 <= trial < n:
        raise NeurodataError(f"trial must be in [0, {n}); got {trial}.")
    start = float(generated.trial_start_time[trial])
    stop = float(generated.trial_stop_time[trial])
    panels = [("generated", generated, generated.spike_trial.values == trial)]
    if real is not None:
        t = real.spike_times.values
        panels.insert(0, ("real", real, (t >= start) & (t < stop)))
    _, axes = get_axes(ax, ncols=len(panels), figsize=(4.5 * len(panels), 3), sharey=True)
    axs = np.atleast_1d(axes)
    if axs.size != len(panels):
        raise NeurodataError(f"ax must hold {len(panels)} Axes; got {axs.size}.")
    units = np.asarray(generated.unit.values)
    for a, (title, rec, keep) in zip(axs, panels):
        row = pd.Index(units).get_indexer(rec.spike_unit.values[keep])
        a.plot(rec.spike_times.values[keep] - start, row, "|", color="k", ms=markersize,
               rasterized=True)
        a.set(title=f"{title}, trial {trial}" if title == "generated" else title,
              xlabel="time in trial (s)", xlim=(0, stop - start), ylim=(-0.5, units.size - 0.5))
    axs[0].set_ylabel("unit")
    return axs[0] if len(panels) == 1 else axs


def plot_attention_connectivity(connectivity: xr.DataArray, truth=None, *, ax: Any = None,
                                vmax: float = 1.0) -> Any:
    """Log ratio of attention to uniform attention, (target, source), beside a known truth.

    Parameters
    ----------
    connectivity : xarray.DataArray
        Output of :func:`attention_connectivity`.
    truth : array-like (target, source), optional
        A ground-truth connectivity matrix (e.g. a simulation's), drawn first.
    ax : Axes or array of two Axes, optional
    vmax : float
        Colour range of the log ratio, symmetric around 0 (uniform attention).

    Returns
    -------
    matplotlib Axes, or an array of two

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> c = xr.DataArray([[1.0, 2.0], [0.5, 1.0]], dims=("target", "source"))
    >>> plot_attention_connectivity(c).get_xlabel()
    'source'
    """
    if connectivity.dims != ("target", "source"):
        raise NeurodataError(f"connectivity must be (target, source); got {connectivity.dims}.")
    n = 1 if truth is None else 2
    fig, axes = get_axes(ax, ncols=n, figsize=(4 * n, 3.6))
    axs = np.atleast_1d(axes)
    if truth is not None:
        truth = np.asarray(truth)
        if truth.shape != connectivity.shape:
            raise NeurodataError(f"truth has shape {truth.shape}; connectivity "
                                 f"{connectivity.shape}.")
        axs[0].imshow(truth, cmap="Greys")
        axs[0].set(title="true connectivity", xlabel="source", ylabel="target")
    with np.errstate(divide="ignore"):
        log_ratio = np.log(connectivity.values)
    im = axs[-1].imshow(log_ratio, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    axs[-1].set(title="log attention / uniform", xlabel="source")
    if truth is None:
        axs[-1].set_ylabel("target")
    fig.colorbar(im, ax=axs[-1], shrink=0.8)
    return axs[0] if n == 1 else axs
