"""The gain objectives as arrays: value, analytic gradient, multi-start solver, certificate.

Every objective has the form

.. math:: L(g) = -F(g) + \\alpha\\, \\mathbb{E}_{\\theta\\sim p}\\lVert r^*(\\theta; g)\\rVert^2

with a fidelity term ``F`` (named by ``objective``) and the mean squared
activity.  Steady states are ``r* = M G h`` with ``M = (I - G W)^-1`` (gains on
the total input, ``site="total"``) or ``M = (I - W)^-1`` (on the feedforward
drive, ``site="input"``).  Derivatives follow one adjoint rule: with ``u`` the
input each gain multiplies (``h + W r*`` at the total site, ``h`` at the input
site), ``dr*/dg_i = M e_i u_i``, so for any scalar ``Phi(R, R')`` of the
steady states ``R`` and their orientation derivatives ``R'`` (which obey the
same linear map with ``h'`` for ``h``),

.. math:: \\partial\\Phi/\\partial g_i = \\sum_k [M^\\top \\partial_R\\Phi]_{ik} u_{ik}
          + [M^\\top \\partial_{R'}\\Phi]_{ik} u'_{ik}.

Fidelity terms (``objective``):

``"log_gain"``
    ``F = sum_i log g_i``: each neuron's high-SNR information under output
    noise of fixed variance.  Depends on neither the ensemble nor ``W``.
``"fisher_poisson"``
    ``F = E_p[J(theta)]``, the prior-weighted Fisher information of the
    orientation carried by the population under independent Poisson noise,
    ``J = sum_i r_i'^2 / r_i``.  Without recurrence the optimum is the
    single-neuron rule ``g_i = E_p[h_i'^2/h_i] / (2 alpha E_p[h_i^2])``.
``"fisher_gaussian"``
    ``F = E_p[r'^T Sigma^-1 r']``, the prior-weighted Fisher information under
    additive Gaussian noise before the gains (standard deviation
    ``input_noise``, relative to the output noise) and after them (unit
    variance): ``Sigma = input_noise^2 B B^T + I`` with ``B = M G``, the map of
    the input noise to the responses.  Without recurrence the optimum is the
    single-neuron rule ``g_i^2 = (sqrt(a_i / (alpha c_i)) - 1) / input_noise^2``
    with ``a_i = E_p[h_i'^2]``, ``c_i = E_p[h_i^2]`` (0 when negative).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from neurodata._utils import check_option, check_random_state
from neurodata.errors import NeurodataError

__all__ = ["OBJECTIVES", "GainProblem", "SolveResult"]

OBJECTIVES = ("log_gain", "fisher_poisson", "fisher_gaussian")
LOG_BOUNDS = (float(np.log(1e-6)), float(np.log(1e3)))
UNSTABLE = 1e10


def drive_slope(phi: np.ndarray, theta: np.ndarray, kappa: float) -> np.ndarray:
    """``dh_i/dtheta`` (per radian of orientation) of the von Mises drive (units, stimuli)."""
    delta = np.deg2rad(2.0 * (theta[None, :] - phi[:, None]))
    return -2.0 * kappa * np.sin(delta) * np.exp(kappa * (np.cos(delta) - 1.0))


@dataclass
class SolveResult:
    """The best gains found, with what certifies them."""

    gains: np.ndarray
    value: float
    values: np.ndarray  # final objective of every start
    gradient_norm: float = np.nan  # max |dL/dlog g| over gains inside the bounds
    hessian_min_eigenvalue: float = np.nan  # of d2L/dlog g2 over them (finite differences)
    n_at_bound: int = 0  # gains at the bounds (switched off, or saturated)
    n_agree: int = 0  # starts that reached the best value (relative 1e-9)
    info: dict = field(default_factory=dict)


class GainProblem:
    """``L(g) = -F(g) + alpha E_p||r||^2`` for one network, ensemble, site and objective.

    Parameters
    ----------
    w : (N, N) recurrent weights; h, hp : (N, K) drive and its orientation
    slope at the ensemble's orientations; prob : (K,) probabilities; site :
    "total" or "input"; objective : one of :data:`OBJECTIVES`; input_noise :
    for "fisher_gaussian"; alpha : trade-off weight (None: calibrated, see
    :meth:`calibrated_alpha`, with ``uniform`` the reference probabilities).
    """

    def __init__(self, w, h, hp, prob, *, site="total", objective="log_gain",
                 input_noise=1.0, alpha=None, uniform=None):
        check_option("objective", objective, OBJECTIVES)
        check_option("gain_site", site, ("input", "total"))
        self.w, self.h, self.hp = np.asarray(w, float), np.asarray(h, float), np.asarray(hp, float)
        self.prob = np.asarray(prob, float)
        self.site, self.objective, self.rho2 = site, objective, float(input_noise) ** 2
        self.n = self.w.shape[0]
        self.eye = np.eye(self.n)
        self._m_input = np.linalg.inv(self.eye - self.w) if site == "input" else None
        nonneg = bool(np.all(self.w >= 0))
        # for W >= 0 the largest row sum bounds the spectral radius from above
        self._rho_w = float(self.w.sum(axis=1).max()) if nonneg else None
        self.alpha = self.calibrated_alpha(uniform) if alpha is None else float(alpha)

    # -- steady states and the fidelity terms ------------------------------------------
    def stable(self, g: np.ndarray) -> bool:
        """Whether the fixed point is an attractor (every eigenvalue of GW below 1)."""
        if self.site == "input":
            return True
        if self._rho_w is not None and float(g.max()) * self._rho_w < 1.0 - 1e-12:
            return True  # for W >= 0, rho(GW) <= max(g) rho(W) <= max(g) max row sum
        if np.array_equal(self.w, self.w.T) and np.all(g > 0):
            s = np.sqrt(g)
            return float(np.linalg.eigvalsh(s[:, None] * self.w * s[None, :])[-1]) < 1.0 - 1e-12
        return float(np.max(np.linalg.eigvals(g[:, None] * self.w).real)) < 1.0 - 1e-12

    def _m(self, g):
        """``M``: the inverse of ``I - G W`` (total site) or of ``I - W`` (input site)."""
        return self._m_input if self.site == "input" else \
            np.linalg.inv(self.eye - g[:, None] * self.w)

    def _gain_input(self, resp: np.ndarray, drive: np.ndarray) -> np.ndarray:
        return drive + self.w @ resp if self.site == "total" else drive

    def terms(self, g: np.ndarray, prob: np.ndarray | None = None):
        """``F, E||r||^2, dF/dg, dE||r||^2/dg`` (analytic) at gains ``g``."""
        p = self.prob if prob is None else prob
        m = self._m(g)
        r = m @ (g[:, None] * self.h)
        u = self._gain_input(r, self.h)
        act = float(np.sum(p * r**2))
        if self.objective == "log_gain":
            d_act = np.sum((m.T @ (2.0 * p * r)) * u, axis=1)
            return float(np.sum(np.log(g))), act, 1.0 / g, d_act
        rp = m @ (g[:, None] * self.hp)
        up = self._gain_input(rp, self.hp)
        if self.objective == "fisher_poisson":
            if np.any(r <= 0):
                raise NeurodataError("the Poisson Fisher information needs positive responses; "
                                     "this network gives a response <= 0.")
            fid = float(np.sum(p * rp**2 / r))
            adj_r = m.T @ np.concatenate([2.0 * p * r, -p * rp**2 / r**2, 2.0 * p * rp / r], 1)
            k = r.shape[1]
            d_act = np.sum(adj_r[:, :k] * u, axis=1)
            d_fid = np.sum(adj_r[:, k:2 * k] * u + adj_r[:, 2 * k:] * up, axis=1)
            return fid, act, d_fid, d_act
        d_act = np.sum((m.T @ (2.0 * p * r)) * u, axis=1)
        return self._gaussian_terms(g, m, rp, up, p, act, d_act)

    def _gaussian_terms(self, g, m, rp, up, p, act, d_act):
        b = m * g[None, :]  # M G: input noise -> responses
        s_rp = np.linalg.inv(self.rho2 * b @ b.T + self.eye) @ rp  # Sigma >= I: well conditioned
        fid = float(np.sum(p * rp * s_rp))
        g_rp = 2.0 * s_rp * p
        g_b = -2.0 * self.rho2 * ((s_rp * p) @ s_rp.T) @ b  # -2 rho2 S C S B
        y = self.eye + self.w @ b if self.site == "total" else self.eye
        d_fid = np.sum((m.T @ g_rp) * up, axis=1) + np.sum((m.T @ g_b) * y, axis=1)
        return fid, act, d_fid, d_act

    def calibrated_alpha(self, uniform=None) -> float:
        """The ``alpha`` at which unit gains are stationary, on average over units, for the
        reference (uniform) probabilities: ``sum dF/dg / sum dE||r||^2/dg`` at ``g = 1``."""
        p = np.full(self.prob.size, 1.0 / self.prob.size) if uniform is None else uniform
        _, _, d_fid, d_act = self.terms(np.ones(self.n), p)
        if not d_fid.sum() > 0 or not d_act.sum() > 0:
            raise NeurodataError("alpha cannot be calibrated: at unit gains neither term grows.")
        return float(d_fid.sum() / d_act.sum())

    def value_grad(self, g: np.ndarray) -> tuple[float, np.ndarray]:
        """``L(g)`` and ``dL/dg``."""
        fid, act, d_fid, d_act = self.terms(g)
        return -fid + self.alpha * act, -d_fid + self.alpha * d_act

    def hessian(self, g: np.ndarray) -> np.ndarray:
        """Analytic Hessian ``d2L/dg2`` of the ``"log_gain"`` objective.

        With ``Lambda = M^T R``, ``U`` the gained inputs and ``P = diag(p)``:
        ``d2E||r||^2/dg2 = 2 [(M^T M) o (U P U^T) + T + T^T]`` with
        ``T = (W M) o (Lambda P U^T)`` at the total site (``T = 0`` at the input
        site, where neither ``M`` nor ``U`` depends on the gains).
        """
        if self.objective != "log_gain":
            raise NeurodataError("the analytic Hessian is implemented for 'log_gain' only.")
        m = self._m(g)
        r = m @ (g[:, None] * self.h)
        u = self._gain_input(r, self.h)
        up = u * self.prob
        hess = (m.T @ m) * (up @ u.T)
        if self.site == "total":
            t = (self.w @ m) * ((m.T @ r) @ up.T)
            hess = hess + t + t.T
        return np.diag(1.0 / g**2) + 2.0 * self.alpha * hess

    def newton_from(self, x0: np.ndarray, *, tol: float = 1e-12, max_iter: int = 50):
        """Damped Newton over ``log g`` for ``"log_gain"`` (a warm start's polish).

        Returns (log gains, value), or None when it does not converge (the
        caller then falls back to L-BFGS-B).
        """
        x = np.array(x0, dtype=float)
        val, grad_x = self._log_fun(x)
        for _ in range(max_iter):
            if val >= UNSTABLE:
                return None
            if np.max(np.abs(grad_x)) < tol:
                return x, float(val)
            g = np.exp(x)
            hx = g[:, None] * self.hessian(g) * g[None, :] + np.diag(grad_x)
            lam = np.linalg.eigvalsh(hx)[0]
            shift = 0.0 if lam > 1e-8 else 1e-8 - lam + 1e-3 * abs(lam)
            step = -np.linalg.solve(hx + shift * self.eye, grad_x)
            t = 1.0
            while t > 1e-6:
                new_val, new_grad = self._log_fun(x + t * step)
                if new_val <= val + 1e-4 * t * float(grad_x @ step) or abs(new_val - val) < \
                        1e-14 * max(1.0, abs(val)):
                    break
                t *= 0.5
            else:
                return None
            x, val, grad_x = x + t * step, new_val, new_grad
        return None

    def _log_fun(self, x: np.ndarray):
        g = np.exp(x)
        if not self.stable(g):
            # beyond the stability boundary: a large finite value whose gradient points
            # back (lower gains); an infinite one stops scipy's line search for good
            return UNSTABLE, np.full_like(x, UNSTABLE)
        val, grad = self.value_grad(g)
        return val, grad * g

    # -- solving ------------------------------------------------------------------------
    def minimize_from(self, x0: np.ndarray, *, gtol=1e-10, max_iter=3000):
        """L-BFGS-B over ``log g`` (bounded to gains in [1e-6, 1e3]) from one start.

        Returns (log gains, value).  A gain at the lower bound is a neuron the
        objective switches off (the Fisher objectives can prefer that)."""
        res = minimize(self._log_fun, np.clip(x0, *LOG_BOUNDS), jac=True, method="L-BFGS-B",
                       bounds=[LOG_BOUNDS] * self.n,
                       options={"maxiter": max_iter, "maxfun": 4 * max_iter, "gtol": gtol,
                                "ftol": 1e-15, "maxcor": 30})
        return res.x, float(res.fun)

    def starts(self, n_init: int, random_state=None, x0=None) -> list[np.ndarray]:
        """Unit gains (or ``x0``), the convex input-site optimum, then random draws."""
        first = [np.zeros(self.n) if x0 is None else np.log(x0)]
        if n_init >= 2:
            first.append(self._input_site_start())
        rng = check_random_state(random_state)
        while len(first) < n_init:
            first.append(first[0] + rng.normal(0.0, 0.3, self.n))
        return first[:max(n_init, 1)]

    def _input_site_start(self) -> np.ndarray:
        a = np.linalg.inv(self.eye - self.w)
        q = (a.T @ a) * ((self.h * self.prob) @ self.h.T)
        from neurodata.gain_control._objective import _newton_balance

        alpha = self.n / (2.0 * float(np.sum(q @ np.ones(self.n))))
        return np.log(_newton_balance(q, alpha))

    def solve(self, n_init=4, *, random_state=None, x0=None, gtol=1e-10, max_iter=3000,
              certify=True) -> SolveResult:
        """Best of ``n_init`` L-BFGS-B runs, with a certificate of the best optimum found."""
        found = [self.minimize_from(s, gtol=gtol, max_iter=max_iter)
                 for s in self.starts(n_init, random_state, x0)]
        values = np.array([v for _, v in found])
        best = int(np.argmin(values))
        x = found[best][0]
        if values[best] >= UNSTABLE:
            raise NeurodataError("the gain optimiser found no stable gains from any start.")
        tol = 1e-9 * max(1.0, abs(values[best]))
        out = SolveResult(gains=np.exp(x), value=float(values[best]), values=values,
                          n_agree=int(np.sum(values - values[best] <= tol)))
        if certify:
            self.certify(out)
        return out

    def certify(self, out: SolveResult, step: float = 1e-5) -> SolveResult:
        """Fill in the certificate of a solution: first- and second-order conditions.

        Over the gains inside the bounds (in ``log g``): the largest gradient
        component and the smallest eigenvalue of the Hessian (central
        differences of the analytic gradient).  A positive eigenvalue with a
        vanishing gradient certifies a strict local minimum; with several starts
        that agree (``n_agree``) it is the best optimum found.
        """
        x = np.log(out.gains)
        free = np.flatnonzero((x > LOG_BOUNDS[0] + 1e-6) & (x < LOG_BOUNDS[1] - 1e-6))
        _, grad = self._log_fun(x)
        hess = np.empty((free.size, free.size))
        for col, i in enumerate(free):  # central differences of the analytic gradient
            e = np.zeros(self.n)
            e[i] = step
            hess[:, col] = (self._log_fun(x + e)[1][free] - self._log_fun(x - e)[1][free]) / (
                2 * step)
        out.gradient_norm = float(np.max(np.abs(grad[free]), initial=0.0))
        out.hessian_min_eigenvalue = float(np.linalg.eigvalsh(0.5 * (hess + hess.T))[0]) \
            if free.size else np.nan
        out.n_at_bound = int(self.n - free.size)
        return out
