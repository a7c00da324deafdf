"""Rate-network dynamics shared by teachers and students.

Every network in :mod:`neurodata.rnn` is a continuous-time rate network

.. math:: \\tau \\dot x = -x + W f(x) + h(t),

simulated for a batch of trials at once (the time loop is the only Python
loop; all trials and units move together as arrays).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neurodata._utils import check_option
from neurodata.errors import ShapeError, UnstableDynamicsError

__all__ = ["simulate_rate_network", "soc_nonlinearity"]

Nonlinearity = Callable[[np.ndarray], np.ndarray]


def soc_nonlinearity(x: np.ndarray, r0: float = 20.0, rmax: float = 100.0) -> np.ndarray:
    """Asymmetric saturating rate function of stability-optimised circuits.

    ``f(x) = r0 tanh(x / r0)`` for ``x < 0`` and
    ``(rmax - r0) tanh(x / (rmax - r0))`` for ``x >= 0``: the deviation of the
    firing rate from its baseline ``r0``, so that the rate ``r0 + f(x)`` stays in
    ``[0, rmax]`` (Hennequin et al. 2014; Stroud et al. 2018).  Its slope at 0 is 1.

    Parameters
    ----------
    x : ndarray
        Membrane potentials (any shape).
    r0, rmax : float
        Baseline and maximal firing rates (Hz).

    Returns
    -------
    ndarray
        Rate deviations, same shape as ``x``.

    Examples
    --------
    >>> soc_nonlinearity(np.array([-1e3, 0.0, 1e3]))
    array([-20.,   0.,  80.])
    """
    x = np.asarray(x, dtype=float)
    neg = r0 * np.tanh(x / r0)
    pos = (rmax - r0) * np.tanh(x / (rmax - r0))
    return np.where(x < 0, neg, pos)


def _resolve(nonlinearity: str | Nonlinearity) -> Nonlinearity:
    if callable(nonlinearity):
        return nonlinearity
    check_option("nonlinearity", nonlinearity, ("tanh", "soc"))  # or a callable
    return np.tanh if nonlinearity == "tanh" else soc_nonlinearity


def simulate_rate_network(
    weights: np.ndarray,
    initial_state: np.ndarray,
    n_steps: int,
    *,
    dt: float,
    tau: float,
    inputs: np.ndarray | None = None,
    nonlinearity: str | Nonlinearity = "tanh",
    method: str = "euler",
    substeps: int = 1,
) -> np.ndarray:
    """Integrate ``tau dx/dt = -x + W f(x) + h(t)`` for a batch of trials.

    Parameters
    ----------
    weights : ndarray, shape (n_units, n_units)
        Recurrent weights ``W`` (row: postsynaptic unit).
    initial_state : ndarray, shape (n_units,) or (n_trials, n_units)
        ``x`` at the first sample.
    n_steps : int
        Number of samples to return (the first is the initial state).
    dt : float
        Sampling interval of the returned trajectory (same unit as ``tau``).
    tau : float
        Time constant.
    inputs : ndarray, shape (n_trials, n_steps, n_units), optional
        External drive ``h``, held constant over each sample interval.
    nonlinearity : {"tanh", "soc"} or callable
        ``f``; ``"soc"`` is :func:`soc_nonlinearity` with its defaults.
    method : {"euler", "rk4"}
        Forward Euler (the discrete-time model the students are trained as) or
        classical Runge-Kutta (for accurate teachers).
    substeps : int
        Integration steps per sample interval.

    Returns
    -------
    ndarray, shape (n_trials, n_steps, n_units)
        The states ``x`` (apply ``f`` for the rates).  A 1-D ``initial_state``
        gives ``n_trials = 1``.

    Raises
    ------
    UnstableDynamicsError
        If the state diverges (non-finite or above 1e6), with the remedy.

    Examples
    --------
    A decaying linear unit follows ``exp(-t / tau)``:

    >>> x = simulate_rate_network(np.zeros((1, 1)), np.ones(1), 3, dt=0.1, tau=0.1,
    ...                           method="rk4", substeps=20)
    >>> np.round(x[0, :, 0], 4)
    array([1.    , 0.3679, 0.1353])
    """
    w = np.asarray(weights, dtype=float)
    x = np.array(initial_state, dtype=float, ndmin=2)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or x.shape[-1] != w.shape[0]:
        raise ShapeError(f"weights must be square (n_units, n_units) and initial_state end in "
                         f"n_units; got {w.shape} and {x.shape}.")
    if inputs is not None:
        inputs = np.asarray(inputs, dtype=float)
        if inputs.shape != (x.shape[0], n_steps, w.shape[0]):
            raise ShapeError(f"inputs must have shape (n_trials, n_steps, n_units) = "
                             f"{(x.shape[0], n_steps, w.shape[0])}; got {inputs.shape}.")
    check_option("method", method, ("euler", "rk4"))
    f = _resolve(nonlinearity)
    h = dt / substeps
    wt = w.T

    def deriv(state: np.ndarray, drive: np.ndarray | float) -> np.ndarray:
        return (-state + f(state) @ wt + drive) / tau

    out = np.empty((x.shape[0], n_steps, w.shape[0]))
    for i in range(n_steps):
        out[:, i] = x
        drive = 0.0 if inputs is None else inputs[:, i]
        for _ in range(substeps):
            if method == "euler":
                x = x + h * deriv(x, drive)
            else:
                k1 = deriv(x, drive)
                k2 = deriv(x + 0.5 * h * k1, drive)
                k3 = deriv(x + 0.5 * h * k2, drive)
                k4 = deriv(x + h * k3, drive)
                x = x + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
        if not np.all(np.abs(x) < 1e6):
            raise UnstableDynamicsError(
                f"the network state diverged at step {i + 1} of {n_steps}; the weights are "
                f"unstable for this input or the step dt/tau = {dt / tau:.3g} is too large. "
                f"Scale the weights down or integrate with more substeps.")
    return out
