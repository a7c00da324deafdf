"""The estimator base under every neurodata estimator, and the one form of training history."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator

from neurodata._utils._checks import check_is_fitted
from neurodata.errors import NeurodataError

__all__ = ["NeurodataEstimator", "make_history"]


def make_history(records: Sequence[Mapping[str, Any]] | Mapping[str, Any],
                 *, attrs: Mapping[str, Any] | None = None) -> xr.Dataset:
    """Training history as an xarray Dataset on ``iteration``.

    Parameters
    ----------
    records : list of dict, or dict of 1-D arrays
        One record per iteration (optimiser step or training epoch), or one
        array per quantity.  Missing values of a record become NaN.
    attrs : dict, optional
        What an iteration is (``{"iteration": "training epoch"}``) and the like.

    Examples
    --------
    >>> h = make_history([{"loss": 1.0}, {"loss": 0.5, "val_loss": 0.7}])
    >>> h.loss.values.tolist(), h.val_loss.values.tolist(), h.sizes["iteration"]
    ([1.0, 0.5], [nan, 0.7], 2)
    """
    if isinstance(records, Mapping):
        cols = {str(k): np.asarray(v) for k, v in records.items()}
        lengths = {v.shape[0] if v.ndim else 1 for v in cols.values()}
        if len(lengths) > 1:
            raise NeurodataError(f"history columns must have one length; got {sorted(lengths)}.")
        n = lengths.pop() if lengths else 0
    else:
        names: list[str] = []
        for rec in records:
            names.extend(str(k) for k in rec if str(k) not in names)
        n = len(records)
        cols = {k: np.array([rec.get(k, np.nan) for rec in records], dtype=float) for k in names}
    return xr.Dataset({k: ("iteration", np.atleast_1d(v)) for k, v in cols.items()},
                      coords={"iteration": np.arange(n)}, attrs=dict(attrs or {}))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class NeurodataEstimator(BaseEstimator):
    """Base class of the neurodata estimators (scikit-learn's conventions).

    * ``__init__`` stores its keyword parameters and does nothing else, so
      :func:`sklearn.base.clone`, ``get_params``/``set_params`` and the repr
      work;
    * ``fit(recording, ...)`` takes a recording first (arrays are the
      lower-level path) and returns ``self``; fitted state ends in ``_``;
    * randomness comes from ``random_state`` (None: fresh entropy; int: a
      reproducible run); ``progress`` (None: automatic) and ``device`` (CPU by
      default) mean the same everywhere;
    * ``history_``, where there is iterative training, is an xarray Dataset on
      ``iteration`` (:func:`make_history`);
    * ``score`` is higher-is-better;
    * :meth:`to_dataset` gives the fitted result as one Dataset, which
      :meth:`write_nwb` stores in an NWB file (read back with
      :func:`neurodata.read_results`).

    Calling a method that needs a fitted model before ``fit`` raises
    :class:`~neurodata.errors.NotFittedError`.
    """

    def _check_fitted(self, attributes: str | Sequence[str] | None = None) -> None:
        check_is_fitted(self, attributes)

    def to_dataset(self) -> xr.Dataset:
        """The fitted result as one xarray Dataset (subclasses define its content)."""
        raise NotImplementedError(f"{type(self).__name__} does not define to_dataset().")

    def write_nwb(self, path: str | os.PathLike, *, name: str | None = None,
                  **kwargs: Any) -> Any:
        """Write :meth:`to_dataset` into an NWB file with :func:`neurodata.write_nwb`.

        ``name`` is the result's name in the file (default: the class name in
        snake case); other keywords go to :func:`~neurodata.write_nwb`
        (``source=`` to add the result to a copy of the recording's file,
        ``overwrite=``).
        """
        from neurodata.io import write_nwb

        self._check_fitted()
        return write_nwb({name or _snake(type(self).__name__): self.to_dataset()}, path,
                         **kwargs)
