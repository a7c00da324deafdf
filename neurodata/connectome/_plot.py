"""Figures for dynamic connectomes: time factors, animal loadings, community graphs."""

from __future__ import annotations

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import xarray as xr

__all__ = ["plot_animal_loadings", "plot_community_graph", "plot_rank_selection",
           "plot_time_factors"]


def _time_factor(factors) -> xr.DataArray:
    if isinstance(factors, dict):
        return factors["time"]
    if isinstance(factors, xr.Dataset):
        return factors["time_factor"]
    return factors


def plot_time_factors(factors, intervals=None, *, axes=None, labels=None):
    """Each component's time course, with shaded stimulus (or planted) intervals.

    Parameters
    ----------
    factors : dict from ``DynamicConnectome.factors_``, :func:`ntf` Dataset or DataArray
        The (time, component) factor.
    intervals : sequence of (start, stop), optional
        Shaded in every panel (seconds), e.g. stimulus times.
    axes : array of Axes, optional
    labels : sequence of str, optional
        One per interval, written at the top of the first panel.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes

    Examples
    --------
    >>> f = xr.DataArray(np.random.default_rng(0).random((50, 2)), dims=("time", "component"),
    ...                  coords={"time": np.arange(50.0)})
    >>> plot_time_factors(f, [(10, 20)]).shape
    (2,)
    >>> plt.close("all")
    """
    tf = _time_factor(factors)
    n = tf.sizes["component"]
    if axes is None:
        _, axes = plt.subplots(n, 1, figsize=(7, 1.3 * n + 0.6), sharex=True, squeeze=False)
        axes = axes[:, 0]
    t = tf["time"].values if "time" in tf.coords else np.arange(tf.sizes["time"])
    for k, ax in enumerate(np.atleast_1d(axes)):
        for q, (start, stop) in enumerate(intervals or []):
            ax.axvspan(start, stop, color=f"C{q % 10}", alpha=0.15, lw=0)
            if labels is not None and k == 0:
                ax.text(start, 1.02, str(labels[q]), transform=ax.get_xaxis_transform(),
                        fontsize=7)
        ax.plot(t, tf.isel(component=k).values, color="k", lw=0.8)
        ax.set_ylabel(f"#{k}", rotation=0, ha="right")
        ax.set_yticks([])
    np.atleast_1d(axes)[-1].set_xlabel("time (s)")
    return np.atleast_1d(axes)


def plot_animal_loadings(factors, *, axes=None):
    """Bar plot of each component's animal loadings.

    Examples
    --------
    >>> f = {"animal": xr.DataArray(np.eye(3), dims=("animal", "component"))}
    >>> plot_animal_loadings(f).shape
    (3,)
    >>> plt.close("all")
    """
    af = factors["animal"] if isinstance(factors, dict) else factors
    if isinstance(af, xr.Dataset):
        af = af["animal_factor"]
    n = af.sizes["component"]
    if axes is None:
        _, axes = plt.subplots(1, n, figsize=(1.6 * n + 1, 2), sharey=True, squeeze=False)
        axes = axes[0]
    names = af["animal"].values if "animal" in af.coords else np.arange(af.sizes["animal"])
    for k, ax in enumerate(np.atleast_1d(axes)):
        ax.bar(np.arange(names.size), af.isel(component=k).values, color="0.4")
        ax.set_title(f"#{k}", fontsize=9)
        ax.set_xticks(np.arange(names.size), [str(v) for v in names], rotation=90, fontsize=6)
    return np.atleast_1d(axes)


def plot_community_graph(graph, communities, *, ax=None, threshold: float = 0.2):
    """Draw a weighted graph with nodes coloured by community.

    Nodes sit on a circle, ordered by community so that each community is an
    arc; edges lighter than ``threshold`` times the heaviest are not drawn,
    and width and opacity grow with weight.

    Examples
    --------
    >>> w = np.kron(np.eye(2), np.ones((3, 3))) - np.eye(6)
    >>> ax = plot_community_graph(w, [0, 0, 0, 1, 1, 1])
    >>> plt.close("all")
    """
    w = np.asarray(graph.values if isinstance(graph, xr.DataArray) else graph, dtype=float)
    lab = np.asarray(communities.values if isinstance(communities, xr.DataArray)
                     else communities)
    names = (graph[graph.dims[0]].values if isinstance(graph, xr.DataArray)
             and graph.dims[0] in graph.coords else np.arange(w.shape[0]))
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    top = w.max() if w.size and w.max() > 0 else 1.0
    g = nx.Graph()
    g.add_nodes_from(range(w.shape[0]))
    i, j = np.nonzero(np.triu(w, 1) >= threshold * top)
    g.add_weighted_edges_from((int(a), int(b), w[a, b] / top) for a, b in zip(i, j))
    order = np.lexsort((np.arange(lab.size), lab))
    angle = 2 * np.pi * np.arange(lab.size) / max(lab.size, 1)
    pos = {int(v): (np.cos(a), np.sin(a)) for v, a in zip(order, angle)}
    for a, b, d in g.edges(data=True):
        ax.plot(*zip(pos[a], pos[b]), color="0.3", lw=2.5 * d["weight"],
                alpha=0.15 + 0.6 * d["weight"], zorder=1)
    nx.draw_networkx_nodes(g, pos, ax=ax, node_size=90, cmap="tab10", vmin=0, vmax=9,
                           node_color=[lab[v] % 10 for v in g.nodes()])
    nx.draw_networkx_labels(g, pos, ax=ax, font_size=6,
                            labels={v: str(names[v]) for v in g.nodes()})
    ax.set_axis_off()
    return ax


def plot_rank_selection(ensemble: xr.Dataset, *, axes=None):
    """Error and restart similarity per rank (tensortools' rank-selection plot).

    Examples
    --------
    >>> ens = xr.Dataset({"error": (("rank", "restart"), [[0.5, 0.6], [0.2, 0.3]]),
    ...                   "similarity": (("rank", "restart"), [[1, 0.9], [1, 0.5]])},
    ...                  coords={"rank": [1, 2]})
    >>> plot_rank_selection(ens).shape
    (2,)
    >>> plt.close("all")
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(7, 2.6))
    ranks = ensemble["rank"].values
    for ax, name, label in zip(axes, ("error", "similarity"),
                               ("relative error", "similarity to best fit")):
        vals = ensemble[name].values
        for q, r in enumerate(ranks):
            ax.scatter(np.full(vals.shape[1], r), vals[q], s=12, color="0.5")
        ax.plot(ranks, np.nanmin(vals, axis=1) if name == "error" else np.nanmean(vals, axis=1),
                color="k")
        ax.set_xlabel("rank")
        ax.set_ylabel(label)
    return np.asarray(axes)
