"""The one rule for figures: ``ax=`` in (optional), the Axes (or Figure) out."""

from __future__ import annotations

from typing import Any

__all__ = ["get_axes"]


def get_axes(ax: Any = None, *, nrows: int = 1, ncols: int = 1, figsize=None, **kwargs: Any):
    """Return ``(figure, axes)``: those given, or a new figure's.

    With ``ax`` None a new figure is made with :func:`matplotlib.pyplot.subplots`
    (``nrows`` x ``ncols``, ``squeeze`` as matplotlib does); otherwise ``ax``
    (an Axes or an array of them) is used and its figure returned.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> fig, ax = get_axes(figsize=(2, 2))
    >>> get_axes(ax)[1] is ax, get_axes(ax)[0] is fig
    (True, True)
    """
    import matplotlib.pyplot as plt
    import numpy as np

    if ax is None:
        kwargs.setdefault("layout", "constrained")
        return plt.subplots(nrows, ncols, figsize=figsize, **kwargs)
    first = np.ravel(np.asarray(ax, dtype=object))[0] if isinstance(ax, (list, tuple, np.ndarray)) \
        else ax
    return first.figure, ax
