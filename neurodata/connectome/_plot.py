"""Figures for dynamic connectomes: time factors, animal loadings, community graphs."""

from __future__ import annotations

import networkx as nx
import numpy as np
import xarray as xr

from neurodata._utils import get_axes
from neurodata.errors import NeurodataError

__all__ = ["plot_affinities", "plot_animal_loadings", "plot_community_graph",
           "plot_hierarchy", "plot_rank_selection", "plot_time_factors"]


def _panels(axes, n: int, figsize, **kwargs):
    """(figure, flat array of n Axes): those given, or a new figure's."""
    fig, axes = get_axes(axes, figsize=figsize, squeeze=False, **kwargs)
    flat = np.ravel(np.asarray(axes, dtype=object))
    return fig, flat[:n]


def _factors(factors):
    return factors.factors_ if hasattr(factors, "factors_") else factors


def _time_factor(factors) -> xr.DataArray:
    factors = _factors(factors)
    if isinstance(factors, dict):
        return factors["time"]
    if isinstance(factors, xr.Dataset):
        return factors["time_factor"]
    return factors


def _shade(ax, intervals, labels=None) -> None:
    for q, (start, stop) in enumerate(intervals or []):
        ax.axvspan(start, stop, color=f"C{q % 10}", alpha=0.15, lw=0)
        if labels is not None:
            ax.text(start, 1.02, str(labels[q]), transform=ax.get_xaxis_transform(), fontsize=7)


def plot_affinities(affinities: xr.DataArray, pairs, *, intervals=None, ax=None):
    """Affinity time courses of chosen neuron pairs.

    Parameters
    ----------
    affinities : xarray.DataArray
        ``(pair, time)`` from :func:`compute_affinities` (one animal).
    pairs : sequence of (str, str)
        Neuron labels of the pairs to draw, in either order.
    intervals : sequence of (start, stop), optional
        Shaded (seconds).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> aff = xr.DataArray(np.ones((1, 4)), dims=("pair", "time"),
    ...                    coords={"neuron_i": ("pair", ["a"]), "neuron_j": ("pair", ["b"]),
    ...                            "time": np.arange(4.0)})
    >>> len(plot_affinities(aff, [("b", "a")]).lines)
    1
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    _, ax = get_axes(ax, figsize=(7, 2.2))
    ni, nj = affinities["neuron_i"].values, affinities["neuron_j"].values
    for a, b in pairs:
        hit = np.flatnonzero(((ni == a) & (nj == b)) | ((ni == b) & (nj == a)))
        if hit.size == 0:
            raise NeurodataError(f"no pair ({a!r}, {b!r}) in the affinities; the neurons "
                                 f"are: {sorted(set(ni) | set(nj))[:10]}...")
        ax.plot(affinities["time"].values, affinities.isel(pair=int(hit[0])).values, lw=0.8,
                label=f"{a} - {b}")
    _shade(ax, intervals)
    ax.set(xlabel="time (s)", ylabel="affinity")
    ax.legend(fontsize=7)
    return ax


def plot_time_factors(factors, intervals=None, *, axes=None, labels=None):
    """Each component's time course, with shaded stimulus (or planted) intervals.

    Parameters
    ----------
    factors : DynamicConnectome, its ``factors_``, an :func:`ntf` Dataset or a DataArray
        The (time, component) factor.
    intervals : sequence of (start, stop), optional
        Shaded in every panel (seconds), e.g. stimulus times.
    axes : array of Axes, optional
        One per component; by default a new figure.
    labels : sequence of str, optional
        One per interval, written at the top of the first panel.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> f = xr.DataArray(np.random.default_rng(0).random((50, 2)), dims=("time", "component"),
    ...                  coords={"time": np.arange(50.0)})
    >>> len(plot_time_factors(f, [(10, 20)]).axes)
    2
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    tf = _time_factor(factors)
    n = tf.sizes["component"]
    fig, axes = _panels(axes, n, (7, 1.3 * n + 0.6), nrows=n, sharex=True)
    t = tf["time"].values if "time" in tf.coords else np.arange(tf.sizes["time"])
    for k, ax in enumerate(axes):
        _shade(ax, intervals, labels if k == 0 else None)
        ax.plot(t, tf.isel(component=k).values, color="k", lw=0.8)
        ax.set_ylabel(f"#{k}", rotation=0, ha="right")
        ax.set_yticks([])
    axes[-1].set_xlabel("time (s)")
    return fig


def plot_animal_loadings(factors, *, axes=None):
    """Bar plot of each component's animal loadings.

    Parameters
    ----------
    factors : DynamicConnectome, its ``factors_``, an :func:`ntf` Dataset or a DataArray
        The (animal, component) factor.
    axes : array of Axes, optional
        One per component; by default a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> f = {"animal": xr.DataArray(np.eye(3), dims=("animal", "component"))}
    >>> len(plot_animal_loadings(f).axes)
    3
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    factors = _factors(factors)
    af = factors["animal"] if isinstance(factors, dict) else factors
    if isinstance(af, xr.Dataset):
        af = af["animal_factor"]
    n = af.sizes["component"]
    fig, axes = _panels(axes, n, (1.6 * n + 1, 2.2), ncols=n, sharey=True)
    names = af["animal"].values if "animal" in af.coords else np.arange(af.sizes["animal"])
    for k, ax in enumerate(axes):
        ax.bar(np.arange(names.size), af.isel(component=k).values, color="0.4")
        ax.set_title(f"#{k}", fontsize=9)
        ax.set_xticks(np.arange(names.size), [str(v) for v in names], rotation=90, fontsize=6)
    return fig


def plot_community_graph(graph, communities, *, ax=None, threshold: float = 0.2):
    """Draw a weighted graph with nodes coloured by community.

    Nodes sit on a circle, ordered by community so that each community is an
    arc; edges lighter than ``threshold`` times the heaviest are not drawn,
    and width and opacity grow with weight.

    Parameters
    ----------
    graph : (N, N) array or DataArray
        Symmetric weights, e.g. ``DynamicConnectome.graph(k)``.
    communities : sequence or DataArray of int
        The community of each node, e.g. ``model.communities_.isel(component=k)``.
    ax : matplotlib Axes, optional
    threshold : float
        Edges lighter than this fraction of the heaviest are not drawn.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> w = np.kron(np.eye(2), np.ones((3, 3))) - np.eye(6)
    >>> ax = plot_community_graph(w, [0, 0, 0, 1, 1, 1])
    >>> len(ax.collections) > 0
    True
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    w = np.asarray(graph.values if isinstance(graph, xr.DataArray) else graph, dtype=float)
    lab = np.asarray(communities.values if isinstance(communities, xr.DataArray)
                     else communities)
    names = (graph[graph.dims[0]].values if isinstance(graph, xr.DataArray)
             and graph.dims[0] in graph.coords else np.arange(w.shape[0]))
    _, ax = get_axes(ax, figsize=(4, 4))
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

    Parameters
    ----------
    ensemble : xarray.Dataset
        From :func:`ntf_ensemble`.
    axes : two Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> ens = xr.Dataset({"error": (("rank", "restart"), [[0.5, 0.6], [0.2, 0.3]]),
    ...                   "similarity": (("rank", "restart"), [[1, 0.9], [1, 0.5]])},
    ...                  coords={"rank": [1, 2]})
    >>> len(plot_rank_selection(ens).axes)
    2
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    fig, axes = _panels(axes, 2, (7, 2.6), ncols=2)
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
    return fig


def plot_hierarchy(hierarchy, *, component: int | None = None, ax=None, max_labels: int = 60):
    """The groups of every level of a nested SBM, nodes ordered by the hierarchy.

    Each row is a level (level 0, the finest, at the bottom), each column a
    node, coloured by its group at that level; nodes are sorted by their
    groups from the top level down, so that every group is a contiguous run.

    Parameters
    ----------
    hierarchy : Dataset from :func:`fit_nested_sbm`, DynamicConnectome, or DataArray
        ``(level, node)`` labels; a fitted ``DynamicConnectome(nested=True)``
        (its ``hierarchy_``) needs ``component``.
    component : int, optional
        The component of a ``(component, level, node)`` hierarchy.
    ax : matplotlib Axes, optional
    max_labels : int
        Node names are written when there are at most this many.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> h = xr.DataArray([[0, 0, 1, 2], [0, 0, 1, 1], [0, 0, 0, 0]], dims=("level", "roi"),
    ...                  coords={"roi": list("abcd")})
    >>> ax = plot_hierarchy(h)
    >>> ax.get_ylabel()
    'level'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    h = hierarchy
    if hasattr(h, "hierarchy_"):
        h = h.hierarchy_
    if isinstance(h, xr.Dataset):
        h = h["community"]
    if "component" in h.dims:
        if component is None:
            raise NeurodataError("this hierarchy has one level stack per component; pass "
                                 "component=k.")
        h = h.isel(component=component)
    node_dim = next(d for d in h.dims if d != "level")
    labels = np.asarray(h.transpose("level", node_dim).values)
    order = np.lexsort(labels)            # sort by the top level first, level 0 last
    _, ax = get_axes(ax, figsize=(7, 0.5 * labels.shape[0] + 1.2))
    ax.imshow(labels[:, order] % 20, aspect="auto", cmap="tab20", vmin=0, vmax=19,
              interpolation="nearest", origin="lower")
    ax.set_yticks(np.arange(labels.shape[0]))
    ax.set_ylabel("level")
    names = h[node_dim].values if node_dim in h.coords else np.arange(labels.shape[1])
    if labels.shape[1] <= max_labels:
        ax.set_xticks(np.arange(labels.shape[1]), [str(v) for v in np.asarray(names)[order]],
                      rotation=90, fontsize=6)
    else:
        ax.set_xticks([])
    ax.set_xlabel(str(node_dim))
    return ax
