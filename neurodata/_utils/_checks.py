"""Checks of parameters and arrays that raise named errors saying what is wrong and the fix."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from neurodata.errors import NeurodataError, NotFittedError, ShapeError

__all__ = ["check_array", "check_fraction", "check_integer", "check_is_fitted", "check_option",
           "check_positive"]


def check_option(name: str, value: Any, options: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``options``, else raise naming them.

    Examples
    --------
    >>> check_option("method", "force", ("force", "bptt"))
    'force'
    >>> check_option("method", "sgd", ("force", "bptt"))
    Traceback (most recent call last):
    ...
    neurodata.errors.NeurodataError: method must be one of 'force', 'bptt'; got 'sgd'.
    """
    opts = tuple(options)
    if not any(value is o or (type(value) is type(o) and value == o) for o in opts):
        listed = ", ".join(repr(o) for o in opts)
        raise NeurodataError(f"{name} must be one of {listed}; got {value!r}.")
    return value


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_positive(name: str, value: Any, *, strict: bool = True, allow_none: bool = False,
                   allow_inf: bool = False) -> Any:
    """Return ``value`` as a float if it is a positive (``strict``) or non-negative number.

    Examples
    --------
    >>> check_positive("tau", 0.05)
    0.05
    >>> check_positive("noise", 0, strict=False)
    0.0
    >>> check_positive("tau", -1)
    Traceback (most recent call last):
    ...
    neurodata.errors.NeurodataError: tau must be a positive number; got -1.
    """
    if value is None and allow_none:
        return None
    kind = "positive" if strict else "non-negative"
    ok = _is_real(value) and not np.isnan(value) and (allow_inf or np.isfinite(value))
    if not ok or (value <= 0 if strict else value < 0):
        raise NeurodataError(f"{name} must be a {kind} number; got {value!r}.")
    return float(value)


def check_integer(name: str, value: Any, *, minimum: int | None = 1,
                  maximum: int | None = None, allow_none: bool = False) -> Any:
    """Return ``value`` as an int if it is a whole number within ``[minimum, maximum]``.

    Examples
    --------
    >>> check_integer("rank", 3)
    3
    >>> check_integer("rank", 0)
    Traceback (most recent call last):
    ...
    neurodata.errors.NeurodataError: rank must be an integer >= 1; got 0.
    """
    if value is None and allow_none:
        return None
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and minimum is not None and value < minimum:
        ok = False
    if ok and maximum is not None and value > maximum:
        ok = False
    if not ok:
        lo = f" >= {minimum}" if minimum is not None else ""
        hi = f" <= {maximum}" if maximum is not None else ""
        bounds = f"{lo}{' and' if lo and hi else ''}{hi}"
        raise NeurodataError(f"{name} must be an integer{bounds}; got {value!r}.")
    return int(value)


def check_fraction(name: str, value: Any, *, low: float = 0.0, high: float = 1.0,
                   closed: str = "both") -> float:
    """Return ``value`` as a float if it lies in the interval from ``low`` to ``high``.

    ``closed`` is ``"both"``, ``"left"``, ``"right"`` or ``"neither"``.

    Examples
    --------
    >>> check_fraction("sampled_fraction", 0.1)
    0.1
    >>> check_fraction("p_adapter", 1.0, closed="neither")
    Traceback (most recent call last):
    ...
    neurodata.errors.NeurodataError: p_adapter must lie in (0.0, 1.0); got 1.0.
    """
    check_option("closed", closed, ("both", "left", "right", "neither"))
    left, right = closed in ("both", "left"), closed in ("both", "right")
    ok = _is_real(value) and np.isfinite(value)
    if ok:
        ok = (value >= low if left else value > low) and (value <= high if right else value < high)
    if not ok:
        interval = f"{'[' if left else '('}{low}, {high}{']' if right else ')'}"
        raise NeurodataError(f"{name} must lie in {interval}; got {value!r}.")
    return float(value)


def check_array(name: str, value: Any, *, ndim: int | Sequence[int] | None = None,
                dtype: Any = float, finite: bool = True, copy: bool = False) -> np.ndarray:
    """Return ``value`` as a numpy array of ``dtype``, checking its rank and finiteness.

    The caller's array is never modified: with ``copy=True`` (or when a
    conversion is needed) a new array is returned.

    Examples
    --------
    >>> check_array("weights", [[1, 2], [3, 4]], ndim=2).dtype
    dtype('float64')
    >>> check_array("weights", [1.0, float("nan")])
    Traceback (most recent call last):
    ...
    neurodata.errors.NeurodataError: weights has 1 NaN or infinite value(s); ...
    """
    try:
        arr = np.array(value, dtype=dtype, copy=True) if copy else np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise ShapeError(f"{name} must be a numeric array; got {type(value).__name__} ({err}).") \
            from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(n) for n in allowed)
            raise ShapeError(f"{name} must be {want}-dimensional; got shape {arr.shape}.")
    if finite and arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise NeurodataError(f"{name} has {bad} NaN or infinite value(s); drop or interpolate "
                             f"them first.")
    return arr


def check_is_fitted(estimator: Any, attributes: str | Sequence[str] | None = None) -> None:
    """Raise :class:`~neurodata.errors.NotFittedError` unless ``estimator`` has been fitted.

    Fitted means: it has the named ``attributes``, or, when none are named, any
    public attribute ending in ``_`` (scikit-learn's convention).

    Examples
    --------
    >>> class Model:
    ...     pass
    >>> check_is_fitted(Model())
    Traceback (most recent call last):
    ...
    neurodata.errors.NotFittedError: this Model is not fitted yet; call fit() first.
    """
    if attributes is None:
        fitted = any(k.endswith("_") and not k.startswith("_") for k in vars(estimator))
    else:
        names = [attributes] if isinstance(attributes, str) else list(attributes)
        fitted = all(hasattr(estimator, a) for a in names)
    if not fitted:
        raise NotFittedError(f"this {type(estimator).__name__} is not fitted yet; call fit() "
                             f"first.")
