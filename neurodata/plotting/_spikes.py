"""Figures of spike trains and trial-aligned activity."""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata.errors import NeurodataError
from neurodata.signals import spike_unit_index

__all__ = ["plot_psth", "plot_raster", "plot_traces"]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 3.5))
    return ax


def plot_raster(ds: xr.Dataset, *, start: float | None = None, stop: float | None = None,
                ax=None, color: str = "k", markersize: float = 2.0):
    """Spike raster: one row per unit, one tick per spike.

    Parameters
    ----------
    ds : xarray.Dataset
        A recording with ``spike_times`` and ``spike_unit``.
    start, stop : float, optional
        Time window in seconds (default: all spikes).
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.
    color : str
        Tick colour.
    markersize : float
        Tick size.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from neurodata.datasets import make_poisson_population
    >>> ax = plot_raster(make_poisson_population(n_units=4, n_trials=3, random_state=0), stop=2.0)
    >>> ax.get_xlabel()
    'time (s)'
    """
    ax = _axes(ax)
    t = np.asarray(ds["spike_times"].values)
    row = spike_unit_index(ds)
    keep = np.ones(t.size, dtype=bool)
    if start is not None:
        keep &= t >= start
    if stop is not None:
        keep &= t <= stop
    ax.plot(t[keep], row[keep], "|", color=color, markersize=markersize * 3, rasterized=True)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("unit")
    ax.set_ylim(-0.5, ds.sizes["unit"] - 0.5)
    return ax


def plot_psth(aligned: xr.DataArray, *, units=None, ax=None, rate: bool = True):
    """Peri-stimulus time histogram: mean over trials with its standard error.

    Parameters
    ----------
    aligned : xarray.DataArray
        Output of :func:`neurodata.signals.align` (``(trial, time_rel, unit)``).
    units : list, optional
        Unit coordinate values to draw (default: the population mean).
    ax : matplotlib Axes, optional
    rate : bool
        Divide spike counts by ``attrs["bin_size"]`` to plot rates in Hz.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from neurodata.datasets import make_poisson_population
    >>> from neurodata.signals import align
    >>> ds = make_poisson_population(n_units=3, n_trials=6, random_state=0)
    >>> ax = plot_psth(align(ds, "trial", (0, 2), bin_size=0.1))
    >>> ax.get_ylabel()
    'rate (Hz)'
    """
    ax = _axes(ax)
    dims = list(aligned.dims)
    if "time_rel" not in dims or len(dims) < 2:
        raise NeurodataError(f"plot_psth needs an aligned array with dims (trial, time_rel, ...); "
                             f"got {tuple(dims)}.")
    trial_dim = str(dims[0])
    scale = 1.0 / aligned.attrs["bin_size"] if rate and "bin_size" in aligned.attrs else 1.0
    x = aligned["time_rel"].values
    neuron = [d for d in dims if d not in (trial_dim, "time_rel")]
    groups = [(None, aligned.mean(neuron) if neuron else aligned)] if units is None or not neuron \
        else [(u, aligned.sel({neuron[0]: u})) for u in units]
    for label, arr in groups:
        mean = arr.mean(trial_dim).values * scale
        sem = arr.std(trial_dim).values * scale / np.sqrt(max(arr.sizes[trial_dim], 1))
        line, = ax.plot(x, mean, label="population" if label is None else f"unit {label}")
        ax.fill_between(x, mean - sem, mean + sem, color=line.get_color(), alpha=0.25, lw=0)
    ax.axvline(0, color="0.5", lw=0.8, ls="--")
    ax.set_xlabel("time from event (s)")
    ax.set_ylabel("rate (Hz)" if scale != 1.0 else str(aligned.name or "value"))
    if units is not None:
        ax.legend(frameon=False, fontsize="small")
    return ax


def plot_traces(traces: xr.DataArray, *, rois=None, spacing: float | None = None, ax=None):
    """Stacked traces (one row per ROI), e.g. dF/F.

    Examples
    --------
    >>> from neurodata.datasets import make_calcium_imaging
    >>> ax = plot_traces(make_calcium_imaging(n_rois=3, duration=10, random_state=0).true_dff)
    >>> len(ax.lines)
    3
    """
    ax = _axes(ax)
    tdim = traces.dims[0]
    neuron = traces.dims[1]
    sel = traces if rois is None else traces.sel({neuron: rois})
    vals = np.asarray(sel.values, dtype=float)
    spacing = spacing or float(np.nanpercentile(vals, 99) - np.nanpercentile(vals, 1) or 1.0)
    t = sel[tdim].values
    for k in range(vals.shape[1]):
        ax.plot(t, vals[:, k] + k * spacing, lw=0.7)
    ax.set_xlabel("time (s)")
    ax.set_yticks(np.arange(vals.shape[1]) * spacing, [str(v) for v in sel[neuron].values])
    ax.set_ylabel(str(neuron))
    return ax
