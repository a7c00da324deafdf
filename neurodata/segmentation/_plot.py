"""Figures of FISBe results: localization matrix heatmaps and per-GT coverage bars."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from neurodata.errors import NeurodataError
from neurodata.segmentation._result import FisbeResult

__all__ = ["plot_coverage", "plot_localization"]

MATRICES = ("cldice", "cl_precision", "cl_recall")


def plot_localization(result: FisbeResult, which: str = "cldice", *, ax=None,
                      background: bool = False, annotate: bool = True):
    """Heatmap of a localization matrix (GT rows, predicted columns).

    Parameters
    ----------
    result : FisbeResult
    which : {'cldice', 'cl_precision', 'cl_recall'}
    ax : matplotlib Axes, optional
    background : bool
        Include the background row and column (index 0).
    annotate : bool
        Write the values into the cells (for small matrices).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from neurodata.datasets import make_filament_segmentation
    >>> from neurodata.segmentation import fisbe_metrics
    >>> ds = make_filament_segmentation(n_neurons=2, n_merges=0, random_state=0)
    >>> ax = plot_localization(fisbe_metrics(ds.gt, ds.pred))
    >>> ax.get_xlabel()
    'predicted instance'
    """
    if which not in MATRICES:
        raise NeurodataError(f"which must be one of {MATRICES}; got {which!r}.")
    mat = result.localization[which]
    if not background:
        mat = mat.isel(gt=slice(1, None), pred=slice(1, None))
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 + 0.5 * mat.sizes["pred"], 1 + 0.45 * mat.sizes["gt"]))
    im = ax.imshow(mat.values, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(mat.sizes["pred"]), [str(v) for v in mat.pred_label.values])
    ax.set_yticks(range(mat.sizes["gt"]),
                  [f"{g}" if c < 0 else f"{g} (ch {c})"
                   for g, c in zip(mat.gt.values, mat.gt_channel.values)])
    if annotate and mat.size <= 400:
        for (i, j), v in np.ndenumerate(mat.values):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if v < 0.5 else "black")
    ax.set_xlabel("predicted instance")
    ax.set_ylabel("GT instance")
    ax.set_title(which)
    ax.figure.colorbar(im, ax=ax, fraction=0.05)
    return ax


def plot_coverage(result: FisbeResult, *, ax=None):
    """Bar chart of each GT instance's skeleton coverage, with the mean C.

    Examples
    --------
    >>> from neurodata.datasets import make_filament_segmentation
    >>> from neurodata.segmentation import fisbe_metrics
    >>> ds = make_filament_segmentation(n_neurons=2, n_merges=0, random_state=0)
    >>> ax = plot_coverage(fisbe_metrics(ds.gt, ds.pred))
    >>> len(ax.patches)
    2
    """
    cov = result.gt_coverage
    if ax is None:
        _, ax = plt.subplots(figsize=(1.5 + 0.4 * cov.size, 3))
    ax.bar(np.arange(cov.size), cov.values, color="tab:blue")
    ax.axhline(result.C, color="k", ls="--", lw=1, label=f"C = {result.C:.3f}")
    ax.set_xticks(np.arange(cov.size), [str(g) for g in cov.gt.values])
    ax.set_ylim(0, max(1.05, float(cov.max()) + 0.05) if cov.size else 1.05)
    ax.set_xlabel("GT instance")
    ax.set_ylabel("skeleton coverage")
    ax.legend(loc="lower right")
    return ax
