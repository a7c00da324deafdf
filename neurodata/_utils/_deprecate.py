"""Old spellings of renamed parameters, accepted with a warning for one release."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from neurodata.errors import NeurodataDeprecationWarning, NeurodataError

__all__ = ["renamed_kwargs", "renamed_params"]

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)


def _translate(owner: str, renames: dict[str, str], kwargs: dict[str, Any]) -> dict[str, Any]:
    for old, new in renames.items():
        if old not in kwargs:
            continue
        if new in kwargs:
            raise NeurodataError(f"{owner} got both {old!r} and {new!r}; {old!r} is the old "
                                 f"name of {new!r}: pass only {new!r}.")
        warnings.warn(f"{owner}: the parameter {old!r} is now called {new!r}; the old name "
                      f"will stop working in the next release.", NeurodataDeprecationWarning,
                      stacklevel=4)
        kwargs[new] = kwargs.pop(old)
    return kwargs


def renamed_kwargs(**renames: str) -> Callable[[F], F]:
    """Decorate a function so that old keyword names still work, with a deprecation warning.

    The function's signature (what :func:`inspect.signature` and the docs
    show) keeps only the new names.

    Examples
    --------
    >>> import warnings
    >>> @renamed_kwargs(lr="learning_rate")
    ... def train(*, learning_rate=0.1):
    ...     return learning_rate
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     train(lr=0.5), caught[0].category.__name__
    (0.5, 'NeurodataDeprecationWarning')
    """
    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **_translate(func.__qualname__, renames, kwargs))

        wrapper.__renamed_kwargs__ = dict(renames)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]
    return decorate


def renamed_params(**renames: str) -> Callable[[C], C]:
    """Class decorator: the estimator's ``__init__`` accepts the old parameter names too.

    scikit-learn's ``get_params`` and ``clone`` see only the new names, because
    they read the signature of the wrapped ``__init__``.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> @renamed_params(n_iter_max="max_iter")
    ... class Model(BaseEstimator):
    ...     def __init__(self, max_iter=10):
    ...         self.max_iter = max_iter
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     Model(n_iter_max=5).get_params()
    {'max_iter': 5}
    """
    def decorate(cls: C) -> C:
        init = cls.__init__  # type: ignore[misc]

        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **_translate(cls.__name__, renames, kwargs))

        cls.__init__ = __init__  # type: ignore[misc]
        cls.__renamed_params__ = dict(renames)  # type: ignore[attr-defined]
        return cls
    return decorate
