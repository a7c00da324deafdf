"""Progress bars with one rule for the ``progress`` argument.

``progress=None`` (the default of every public function and estimator) shows a
bar where someone is watching, in a terminal or a Jupyter notebook, and hides
it when output goes to a pipe, a log file or a batch worker; ``True`` always
shows it and ``False`` never does.  This is tqdm's own ``disable=None`` rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from neurodata.errors import NeurodataError

__all__ = ["progress_bar", "show_progress"]


def show_progress(progress: bool | None) -> bool:
    """Resolve ``progress`` to True or False for code that draws its own progress display.

    None means: True when standard error is a terminal (the rule tqdm applies;
    notebooks get tqdm's widget through :func:`progress_bar` instead).

    Examples
    --------
    >>> show_progress(True), show_progress(False)
    (True, False)
    """
    import sys

    if progress is not None and not isinstance(progress, bool):
        raise NeurodataError(
            f"progress must be True, False or None (automatic); got {progress!r}.")
    if progress is None:
        isatty = getattr(sys.stderr, "isatty", None)
        return bool(isatty and isatty())
    return progress


def progress_bar(iterable: Iterable | None = None, *, progress: bool | None = None,
                 **kwargs: Any):
    """A :func:`tqdm.auto.tqdm` bar that follows the ``progress`` rule above.

    Examples
    --------
    >>> sum(progress_bar(range(3), progress=False, desc="adding"))
    3
    >>> progress_bar(range(3), progress="yes")
    Traceback (most recent call last):
    ...
    neurodata.errors.NeurodataError: progress must be True, False or None (automatic); got 'yes'.
    """
    from tqdm.auto import tqdm

    if progress is not None and not isinstance(progress, bool):
        raise NeurodataError(
            f"progress must be True, False or None (automatic); got {progress!r}.")
    disable = None if progress is None else not progress
    return tqdm(iterable, disable=disable, **kwargs)
