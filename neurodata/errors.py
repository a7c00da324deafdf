"""Exceptions and warnings raised by neurodata.

Every error that neurodata raises on bad input is a :class:`NeurodataError`,
so that a batch job can catch one class and report the message, which always
says what is wrong and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "FileFormatError",
    "InvalidRecordingError",
    "NeurodataDeprecationWarning",
    "NeurodataError",
    "NeurodataWarning",
    "NoNeuralDataError",
    "NotFittedError",
    "OutputExistsError",
    "RemoteError",
    "ShapeError",
    "UnstableDynamicsError",
]


class NeurodataError(Exception):
    """Base class of every error neurodata raises on bad input.

    Examples
    --------
    >>> try:
    ...     raise NeurodataError("bin_size must be positive; got -1. Pass a bin size in seconds.")
    ... except NeurodataError as err:
    ...     print(err)
    bin_size must be positive; got -1. Pass a bin size in seconds.
    """


class InvalidRecordingError(NeurodataError, ValueError):
    """A Dataset breaks the recording conventions of :mod:`neurodata.schema`."""


class FileFormatError(NeurodataError, OSError):
    """A file is missing, unreadable, truncated, or not in the expected format."""


class RemoteError(NeurodataError, OSError):
    """A remote file or store could not be read: not found, refused, or timed out after retries.

    ``status`` is the HTTP status when the server answered with an error (404, ...), else None.
    """

    status: int | None = None


class NoNeuralDataError(NeurodataError, ValueError):
    """A file or recording holds none of the neural data an operation needs."""


class ShapeError(NeurodataError, ValueError):
    """An array has the wrong dimensions, shape or dtype for an operation."""


class NotFittedError(NeurodataError, ValueError, AttributeError):
    """A method that needs a fitted estimator was called before ``fit``.

    Like scikit-learn's ``NotFittedError``, it is also a ``ValueError`` and an
    ``AttributeError``, so code written for scikit-learn estimators catches it.
    """


class OutputExistsError(NeurodataError, FileExistsError):
    """An output file exists and replacing it was not asked for (pass ``overwrite=True``)."""


class UnstableDynamicsError(NeurodataError, ValueError):
    """A dynamical system (a network, a solver time step) is unstable."""


class NeurodataWarning(UserWarning):
    """Something was fixed or guessed on the user's behalf; the message says what.

    The test suite turns these warnings into errors, so every warning a test
    expects must be asserted with :func:`pytest.warns`.
    """


class NeurodataDeprecationWarning(NeurodataWarning, FutureWarning):
    """A deprecated spelling was used; the message names the one to use instead.

    Old spellings keep working for one release.
    """
