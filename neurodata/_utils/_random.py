"""Randomness: one meaning of ``random_state`` everywhere, and torch generators derived from it.

``random_state`` is None (fresh entropy from the operating system: every run
differs), an int (a seed: runs are reproducible), or a
:class:`numpy.random.Generator` (used as it is, and advanced).  Torch code never
touches torch's global seed: it draws from a :class:`torch.Generator` derived
from the numpy generator, or builds modules inside :func:`torch_seeded`, which
restores the global state afterwards.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from neurodata.errors import NeurodataError

__all__ = ["check_random_state", "spawn_seed", "torch_generator", "torch_seeded"]


def check_random_state(random_state: Any = None) -> np.random.Generator:
    """Turn ``random_state`` into a :class:`numpy.random.Generator`.

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator or numpy.random.SeedSequence
        None draws fresh entropy; an int or SeedSequence seeds a new generator;
        a Generator is returned as it is (not copied), so that successive calls
        continue its stream.

    Raises
    ------
    NeurodataError
        For anything else (a float, a string, a legacy ``RandomState``), naming
        what is accepted.

    Examples
    --------
    >>> int(check_random_state(0).integers(100)) == int(check_random_state(0).integers(100))
    True
    >>> g = np.random.default_rng(1)
    >>> check_random_state(g) is g
    True
    >>> check_random_state(1.5)
    Traceback (most recent call last):
    ...
    neurodata.errors.NeurodataError: random_state must be None, an int or a numpy Generator; ...
    """
    if random_state is None or isinstance(random_state, np.random.SeedSequence):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if int(random_state) < 0:
            raise NeurodataError(f"random_state must be a non-negative int; got {random_state}.")
        return np.random.default_rng(int(random_state))
    raise NeurodataError(
        f"random_state must be None, an int or a numpy Generator; got {random_state!r} "
        f"({type(random_state).__name__}). Pass e.g. random_state=0 for a reproducible run."
    )


def spawn_seed(random_state: Any = None) -> int:
    """An int seed in ``[0, 2**63)`` drawn from ``random_state`` (for libraries that need ints).

    Examples
    --------
    >>> spawn_seed(0) == spawn_seed(0), 0 <= spawn_seed(None) < 2**63
    (True, True)
    """
    return int(check_random_state(random_state).integers(2**63 - 1))


def torch_generator(random_state: Any = None, device: Any = "cpu"):
    """A :class:`torch.Generator` on ``device`` seeded from ``random_state``.

    Never seeds torch's global generator.

    Examples
    --------
    >>> import torch
    >>> a = torch.rand(2, generator=torch_generator(0))
    >>> b = torch.rand(2, generator=torch_generator(0))
    >>> bool((a == b).all())
    True
    """
    import torch

    gen = torch.Generator(device=torch.device(device))
    gen.manual_seed(spawn_seed(random_state))
    return gen


@contextmanager
def torch_seeded(random_state: Any = None) -> Iterator[None]:
    """Run a block (building a torch module, a dropout pass) with torch's RNG seeded.

    torch initialises parameters from its global generator; inside this block
    that generator is seeded from ``random_state`` and, on exit, restored to
    what it was, so that the caller's own torch randomness is left alone.

    Examples
    --------
    >>> import torch
    >>> with torch_seeded(0):
    ...     a = torch.nn.Linear(2, 2).weight.detach().clone()
    >>> with torch_seeded(0):
    ...     b = torch.nn.Linear(2, 2).weight.detach().clone()
    >>> bool((a == b).all())
    True
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spawn_seed(random_state))
        yield
