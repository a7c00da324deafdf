"""Least squares with a recorded history, and the Laplace approximation of its fit.

:func:`least_squares_history` runs :func:`scipy.optimize.least_squares` with a
finite-difference Jacobian computed here, so that every call of the residual function
made by the optimiser itself (not by the Jacobian) is a trial step: its cost is one
entry of the training history.  :func:`laplace_covariance` turns the Jacobian at the
optimum into the covariance of the parameters (Gauss-Newton Hessian, scaled by the
residual variance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

__all__ = ["LSQResult", "laplace_covariance", "least_squares_history"]


@dataclass
class LSQResult:
    """The optimum ``x``, residuals ``fun``, Jacobian ``jac``, ``cost`` and the history."""

    x: np.ndarray
    fun: np.ndarray
    jac: np.ndarray
    cost: float
    history: list[dict] = field(default_factory=list)
    n_evaluations: int = 0


def _jacobian(fun: Callable, x: np.ndarray, f0: np.ndarray, lower, upper) -> np.ndarray:
    jac = np.empty((f0.size, x.size))
    for j in range(x.size):
        h = 1e-6 * max(1.0, abs(x[j]))
        step = h if x[j] + h <= upper[j] else -h
        xh = x.copy()
        xh[j] += step
        jac[:, j] = (fun(xh) - f0) / step
    return jac


def least_squares_history(fun: Callable[[np.ndarray], np.ndarray], x0, *, lower, upper,
                          max_iter: int = 100, start: int = 0) -> LSQResult:
    """Minimise ``0.5 |fun(x)|^2`` within bounds; record the cost of each trial step.

    Parameters
    ----------
    fun : callable
        Residuals of the parameter vector.
    x0, lower, upper : array
        Start and bounds.
    max_iter : int
        Most trial steps (residual evaluations by the optimiser, Jacobians not counted).
    start : int
        Index of this start (multi-start fits), recorded in the history.

    Examples
    --------
    >>> res = least_squares_history(lambda x: x - 3.0, np.array([0.0]), lower=[-10.0],
    ...                             upper=[10.0])
    >>> round(float(res.x[0]), 6), res.history[0]["cost"], res.history[-1]["cost"] < 1e-12
    (3.0, 4.5, True)
    """
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    history: list[dict] = []
    best = [np.inf]

    def traced(x):
        r = np.asarray(fun(x), dtype=float)
        cost = 0.5 * float(r @ r)
        best[0] = min(best[0], cost)
        history.append({"cost": cost, "best_cost": best[0], "start": float(start)})
        return r

    res = least_squares(traced, np.clip(np.asarray(x0, dtype=float), lower, upper),
                        jac=lambda x: _jacobian(fun, x, fun(x), lower, upper),
                        bounds=(lower, upper), method="trf", max_nfev=max(1, int(max_iter)))
    jac = _jacobian(fun, res.x, res.fun, lower, upper)
    return LSQResult(x=res.x, fun=res.fun, jac=jac, cost=float(res.cost), history=history,
                     n_evaluations=len(history))


def laplace_covariance(jac: np.ndarray, residuals: np.ndarray, *, scale: bool = True
                       ) -> np.ndarray:
    """Covariance of least-squares parameters: ``s^2 (J^T J)^{-1}`` (pseudo-inverse).

    With ``scale`` the residual variance ``s^2 = |r|^2 / (n - p)`` is estimated from the fit
    (residuals whose variance is not known); else the residuals are taken as standardised.

    Examples
    --------
    >>> x = np.linspace(0, 1, 50)
    >>> jac = np.stack([np.ones_like(x), x], axis=1)
    >>> cov = laplace_covariance(jac, np.full(50, 0.1) * (-1) ** np.arange(50))
    >>> bool(np.allclose(cov, 0.01 * 50 / 48 * np.linalg.inv(jac.T @ jac)))
    True
    """
    n, p = jac.shape
    s2 = float(residuals @ residuals) / max(n - p, 1) if scale else 1.0
    return s2 * np.linalg.pinv(jac.T @ jac)
