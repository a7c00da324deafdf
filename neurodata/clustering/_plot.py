"""Figures of an MDS clustering: the stimuli, and the two confusion matrices."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from neurodata._utils import check_option, get_axes
from neurodata.errors import ShapeError

__all__ = ["plot_mds", "plot_response_confusion", "plot_type_confusion"]


def _check_stimuli(stimuli: xr.DataArray) -> xr.DataArray:
    need = ("cluster", "time", "y", "x", "channel")
    if not isinstance(stimuli, xr.DataArray) or set(stimuli.dims) != set(need):
        got = stimuli.dims if isinstance(stimuli, xr.DataArray) else type(stimuli).__name__
        raise ShapeError(f"stimuli must be a DataArray with dims {need} (MDSClustering.stimuli_); "
                         f"got {got}.")
    return stimuli.transpose(*need)


def plot_mds(stimuli: xr.DataArray, kind: str = "frames", *, channel: int = 0,
             n_frames: int | None = None, fig: Figure | None = None) -> Figure:
    """Show every cluster's MDS, as movie frames or as a spatial map plus temporal traces.

    Parameters
    ----------
    stimuli : DataArray ``(cluster, time, y, x, channel)``
        ``MDSClustering.stimuli_``.
    kind : {"frames", "traces"}
        ``"frames"``: one row per cluster, one column per frame (of ``channel``).
        ``"traces"``: per cluster, the spatial map at the frame of largest
        contrast and the temporal trace of the centre pixel, one line per channel.
    channel : int
        Channel shown as frames / maps.
    n_frames : int, optional
        Frames shown (evenly spaced, ending at the last); default all.
    fig : Figure, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> stim = xr.DataArray(np.random.default_rng(0).normal(size=(2, 4, 3, 3, 1)),
    ...                     dims=("cluster", "time", "y", "x", "channel"))
    >>> len(plot_mds(stim).axes), len(plot_mds(stim, "traces").axes)
    (8, 4)
    """
    check_option("kind", kind, ("frames", "traces"))
    s = _check_stimuli(stimuli)
    k, t = s.sizes["cluster"], s.sizes["time"]
    vmax = float(np.abs(s.values).max()) or 1.0
    if kind == "frames":
        idx = np.arange(t) if not n_frames or n_frames >= t else \
            np.unique(np.linspace(0, t - 1, n_frames).round().astype(int))
        size = (1.0 * len(idx) + 0.5, 1.0 * k + 0.5)
        fig, axes = (get_axes(nrows=k, ncols=len(idx), figsize=size, squeeze=False) if fig is None
                     else (fig, fig.subplots(k, len(idx), squeeze=False)))
        for c in range(k):
            for j, f in enumerate(idx):
                ax = axes[c, j]
                ax.imshow(s.values[c, f, :, :, channel], cmap="RdBu_r", vmin=-vmax, vmax=vmax)
                ax.set_xticks([])
                ax.set_yticks([])
                if c == 0:
                    ax.set_title(f"t={f - t + 1}", fontsize=8)
            axes[c, 0].set_ylabel(f"cluster {int(s.cluster[c])}", fontsize=8)
        fig.suptitle("Most discriminative stimuli (frames; t=0 is the response frame)")
        return fig
    grid = {"width_ratios": [1, 2.5]}
    fig, axes = (get_axes(nrows=k, ncols=2, figsize=(6, 1.6 * k + 0.5), squeeze=False,
                          gridspec_kw=grid) if fig is None
                 else (fig, fig.subplots(k, 2, squeeze=False, gridspec_kw=grid)))
    cy, cx = s.sizes["y"] // 2, s.sizes["x"] // 2
    lag = np.arange(t) - t + 1
    for c in range(k):
        movie = s.values[c]
        peak = int(np.argmax(np.abs(movie[..., channel]).reshape(t, -1).max(1)))
        axes[c, 0].imshow(movie[peak, :, :, channel], cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        axes[c, 0].set_xticks([])
        axes[c, 0].set_yticks([])
        axes[c, 0].set_ylabel(f"cluster {int(s.cluster[c])}", fontsize=8)
        for ch in range(s.sizes["channel"]):
            axes[c, 1].plot(lag, movie[:, cy, cx, ch], label=f"channel {ch}")
        axes[c, 1].axhline(0, color="0.7", lw=0.5)
        axes[c, 1].set_ylim(-vmax, vmax)
    axes[-1, 1].set_xlabel("frame (0 = response)")
    axes[0, 0].set_title("spatial map at peak", fontsize=8)
    axes[0, 1].set_title("centre pixel over time", fontsize=8)
    if s.sizes["channel"] > 1:
        axes[0, 1].legend(fontsize=7)
    return fig


def _heatmap(ax: plt.Axes, mat: np.ndarray, xlabels: list, ylabels: list, cmap: str,
             vmin: float | None, vmax: float | None) -> None:
    im = ax.imshow(mat, cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_xticks(range(len(xlabels)), [str(v) for v in xlabels], rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(ylabels)), [str(v) for v in ylabels], fontsize=8)
    for (i, j), v in np.ndenumerate(mat):
        if np.isfinite(v):
            r, g, b, _ = im.cmap(im.norm(v))
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
            ax.text(j, i, f"{v:.2f}" if abs(v) < 10 else f"{v:.0f}", ha="center", va="center",
                    fontsize=6, color="w" if dark else "k")
    ax.figure.colorbar(im, ax=ax, shrink=0.8)


def plot_response_confusion(matrix: xr.DataArray, ax: plt.Axes | None = None) -> plt.Axes:
    """Heatmap of a response confusion matrix ``(mds, cluster)``.

    Examples
    --------
    >>> m = xr.DataArray(np.eye(3), dims=("mds", "cluster"))
    >>> plot_response_confusion(m).get_xlabel()
    'cluster (neurons)'
    """
    if not isinstance(matrix, xr.DataArray) or set(matrix.dims) != {"mds", "cluster"}:
        raise ShapeError("matrix must be a DataArray with dims ('mds', 'cluster'), e.g. from "
                         "response_confusion_matrix.")
    m = matrix.transpose("mds", "cluster")
    _, ax = get_axes(ax, figsize=(5, 4))
    vmax = float(np.nanmax(np.abs(m.values)))
    _heatmap(ax, m.values, list(m["cluster"].values) if "cluster" in m.coords else
             list(range(m.shape[1])), list(m["mds"].values) if "mds" in m.coords else
             list(range(m.shape[0])), "RdBu_r", -vmax, vmax)
    ax.set_xlabel("cluster (neurons)")
    ax.set_ylabel("MDS of cluster")
    ax.set_title("Response confusion matrix")
    return ax


def plot_type_confusion(matrix: xr.DataArray, ax: plt.Axes | None = None) -> plt.Axes:
    """Heatmap of a ground-truth confusion matrix ``(cluster, type)``.

    Examples
    --------
    >>> from neurodata.clustering import type_confusion_matrix
    >>> ax = plot_type_confusion(type_confusion_matrix([0, 1, 1], ["a", "b", "b"]))
    >>> ax.get_ylabel()
    'known type'
    """
    if not isinstance(matrix, xr.DataArray) or set(matrix.dims) != {"cluster", "type"}:
        raise ShapeError("matrix must be a DataArray with dims ('cluster', 'type'), e.g. from "
                         "type_confusion_matrix.")
    m = matrix.transpose("type", "cluster")
    _, ax = get_axes(ax, figsize=(5, 4))
    _heatmap(ax, m.values, list(m["cluster"].values), list(m["type"].values), "Greys", 0, None)
    ax.set_xlabel("cluster")
    ax.set_ylabel("known type")
    ax.set_title("Ground-truth confusion matrix")
    return ax
