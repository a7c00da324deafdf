"""Figures of the rnn results: CURBD currents and student-versus-circuit trajectories.

One rule for all: ``ax=`` in (optional), the Axes out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodata._utils import check_integer, get_axes
from neurodata.errors import NeurodataError, ShapeError
from neurodata.rnn._curbd import region_currents

__all__ = ["aligned_trajectories", "plot_current_traces", "plot_currents",
           "plot_trajectories"]


def _check_fit(fit: Any) -> xr.Dataset:
    if not isinstance(fit, xr.Dataset) or "currents" not in fit:
        raise NeurodataError(f"expected the result of fit_curbd (a Dataset with 'currents'); "
                             f"got {type(fit).__name__}.")
    return fit


def plot_currents(fit: xr.Dataset, *, ax: Any = None, cmap: str = "viridis") -> Any:
    """Heatmap of the RMS current from every source region into every target region.

    Parameters
    ----------
    fit : Dataset
        The result of :func:`fit_curbd`.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    cmap : str
        Colour map.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from neurodata.rnn import decompose_currents
    >>> r = xr.DataArray(np.ones((2, 3)), dims=("time", "unit"))
    >>> cur = decompose_currents(r, np.arange(9.0).reshape(3, 3), ["A", "A", "B"])
    >>> plot_currents(xr.Dataset({"currents": cur})).get_xlabel()
    'target region'
    """
    rms = region_currents(_check_fit(fit))
    _, ax = get_axes(ax, figsize=(4, 3.4))
    im = ax.imshow(rms.values, cmap=cmap)
    ax.set(xticks=range(rms.sizes["target"]), xticklabels=[str(v) for v in rms.target.values],
           yticks=range(rms.sizes["source"]), yticklabels=[str(v) for v in rms.source.values],
           xlabel="target region", ylabel="source region", title="CURBD currents (RMS)")
    for (i, j), v in np.ndenumerate(rms.values):
        ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=7,
                color="w" if v < 0.5 * rms.values.max() else "k")
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    return ax


def plot_current_traces(fit: xr.Dataset, target: Any, *, unit: Any = None, trial: int = 0,
                        ax: Any = None) -> Any:
    """Time courses of the currents from each source region into a target region (or unit).

    Parameters
    ----------
    fit : Dataset
        The result of :func:`fit_curbd`.
    target : str
        The target region; the currents are averaged over its units, unless
        ``unit`` names one of them.
    unit : label, optional
        One unit of the target region (its label on the unit dimension).
    trial : int
        Trial shown, when the fit has several.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from neurodata.rnn import decompose_currents
    >>> r = xr.DataArray(np.ones((4, 3)), dims=("time", "unit"), coords={"time": np.arange(4.0)})
    >>> cur = decompose_currents(r, np.eye(3), ["A", "A", "B"])
    >>> ax = plot_current_traces(xr.Dataset({"currents": cur}), "B")
    >>> [line.get_label() for line in ax.lines[:2]]
    ['from A', 'from B']
    """
    cur = _check_fit(fit)["currents"]
    if "trial" in cur.dims:
        cur = cur.isel(trial=check_integer("trial", trial, minimum=0,
                                           maximum=cur.sizes["trial"] - 1))
    unit_dim = str(cur.dims[-1])
    region = np.asarray(cur["region"].values)
    if target not in region:
        raise NeurodataError(f"no region {target!r}; the regions are "
                             f"{sorted(set(region.tolist()))}.")
    block = cur.isel({unit_dim: region == target})
    if unit is not None:
        if unit_dim not in block.coords or unit not in block[unit_dim].values:
            raise NeurodataError(f"unit {unit!r} is not in region {target!r}.")
        trace, what = block.sel({unit_dim: unit}), f"{unit_dim} {unit}"
    else:
        trace, what = block.mean(unit_dim), f"mean over region {target}"
    _, ax = get_axes(ax, figsize=(6, 3))
    time = trace["time"].values if "time" in trace.coords else np.arange(trace.sizes["time"])
    for src in trace["source"].values:
        ax.plot(time, trace.sel(source=src).values, label=f"from {src}")
    ax.axhline(0, color="0.7", lw=0.5)
    ax.set(xlabel="time (s)", ylabel="current", title=f"currents into {what}")
    ax.legend(fontsize=7)
    return ax


def _trials_major(x: Any, name: str) -> np.ndarray:
    if isinstance(x, xr.DataArray):
        x = x.values
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ShapeError(f"{name} must be (trial, time, unit) or (time, unit); got shape "
                         f"{arr.shape}.")
    return arr


def aligned_trajectories(model: Any, circuit: Any, n_components: int = 6
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Leading principal components of two populations, aligned by CCA.

    Each population (``(trial, time, unit)``, units may differ in number) is
    reduced to its top ``n_components`` principal components; canonical
    correlation analysis then rotates both sets so that their first
    components are maximally correlated (as :func:`cca_similarity` measures).

    Returns
    -------
    (ndarray, ndarray)
        Both ``(trial, time, k)`` with ``k = min(n_components, ranks)``; the
        circuit's trajectories first.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> latent = rng.standard_normal((2, 50, 3))
    >>> a, b = aligned_trajectories(latent @ rng.standard_normal((3, 8)),
    ...                             latent @ rng.standard_normal((3, 5)), 3)
    >>> bool(np.allclose(np.abs(a), np.abs(b)))
    True
    """
    k = check_integer("n_components", n_components)
    a, b = _trials_major(circuit, "circuit"), _trials_major(model, "model")
    if a.shape[:2] != b.shape[:2]:
        raise ShapeError(f"circuit and model must share trials and time; got {a.shape[:2]} and "
                         f"{b.shape[:2]}.")
    flat = []
    for x in (a, b):
        x = x.reshape(-1, x.shape[-1])
        q = np.linalg.svd(x - x.mean(0), full_matrices=False)[0]
        flat.append(q[:, :k])
    u, _, vt = np.linalg.svd(flat[0].T @ flat[1])
    m = min(flat[0].shape[1], flat[1].shape[1])
    ta, tb = flat[0] @ u[:, :m], flat[1] @ vt.T[:, :m]
    scale = np.sqrt(ta.shape[0])
    return (ta * scale).reshape(*a.shape[:2], m), (tb * scale).reshape(*a.shape[:2], m)


def plot_trajectories(model: Any, circuit: Any, *, n_components: int = 6, ax: Any = None,
                      cmap: str = "twilight") -> Any:
    """Student (model) versus circuit population trajectories in CCA-aligned PC space.

    Parameters
    ----------
    model : array or DataArray (trial, time, model_unit)
        The fitted network's rates (``SparseRNN.predict(...)["rates"]``).
    circuit : array or DataArray (trial, time, unit)
        The circuit's units (e.g. the unsampled recorded units).
    n_components : int
        Principal components aligned (see :func:`aligned_trajectories`).
    ax : matplotlib Axes, optional
    cmap : str
        Colour map over trials.

    Returns
    -------
    matplotlib.axes.Axes
        The circuit drawn thick and light, the model dashed, one colour per trial.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((3, 40, 4))
    >>> len(plot_trajectories(x @ rng.standard_normal((4, 6)), x).lines)
    6
    """
    import matplotlib

    a, b = aligned_trajectories(model, circuit, n_components)
    _, ax = get_axes(ax, figsize=(4.5, 4))
    colours = matplotlib.colormaps[cmap]
    n = a.shape[0]
    for i in range(n):
        c = colours((i + 0.5) / n)
        ax.plot(a[i, :, 0], a[i, :, 1], color=c, lw=3, alpha=0.35)
        ax.plot(b[i, :, 0], b[i, :, 1], color=c, ls="--", lw=1)
    ax.set(xlabel="aligned PC 1", ylabel="aligned PC 2",
           title="circuit (thick) vs model (dashed)")
    return ax
