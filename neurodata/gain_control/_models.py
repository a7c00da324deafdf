"""Rival models of population adaptation, each giving tuning curves for any ensemble.

Every model maps its parameters and a stimulus ensemble to the steady-state
tuning curves of ``N`` model neurons (preferred orientations evenly around the
circle) adapted to the uniform ensemble and to each biased one.  All share the
feedforward drive ``h_i(theta) = b + exp{kappa [cos 2(theta - phi_i) - 1]}``
with a free untuned baseline ``b``.

``"gain"``
    This module's model: a recurrent ring whose single-neuron gains optimise
    an efficient-coding objective (``gain_site`` and ``objective``, see
    :func:`optimal_gains`).  Parameters ``tuning_kappa``,
    ``recurrent_strength``, ``recurrent_kappa``, ``baseline``.
``"no_recurrence"``
    The same gains without recurrence (``W = 0``): the single-neuron rule of the
    objective.  A gain change only rescales a tuning curve, so it cannot repel.
    Parameters ``tuning_kappa``, ``baseline``.
``"equalize"``
    The naive homeostatic rule on the recurrent ring (total-input gains that
    make every neuron's mean response equal, :func:`equalizing_gains`).
    Parameters as ``"gain"``.
``"normalization"``
    Normalisation reweighting after Westrick, Heeger & Landy (2016, J Neurosci
    36:9805), *as we reconstruct it* (the paper was not read): divisive
    normalisation ``R_i = D_i / (sigma + sum_j V_ij D_j)`` with a von Mises pool
    ``V0`` over preferred orientation (rows summing to 1), whose weights
    adaptation raises with the co-activation of the two neurons under the
    ensemble: ``V_ij = V0_ij (E_p[D_i D_j] / E_u[D_i D_j])^gamma``.  Parameters
    ``tuning_kappa``, ``pool_kappa``, ``semisaturation``, ``reweighting``
    (gamma), ``baseline``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurodata._utils import check_option
from neurodata.errors import NeurodataError, UnstableDynamicsError
from neurodata.gain_control._gain_problem import OBJECTIVES, UNSTABLE, GainProblem, drive_slope
from neurodata.gain_control._network import _drive, _ring_weights, _von_mises, ring_preferred
from neurodata.gain_control._objective import _equalizing
from neurodata.gain_control._validation import GAIN_SITES

__all__ = ["MODEL_KINDS", "RivalModel", "rival_model", "rival_models"]

MODEL_KINDS = ("gain", "no_recurrence", "equalize", "normalization")

_GAIN = (("tuning_kappa", 2.0, 0.3, 12.0), ("recurrent_strength", 0.4, 0.0, 0.9),
         ("recurrent_kappa", 4.0, 0.2, 30.0), ("baseline", 0.1, 0.0, 3.0))
_SPECS = {
    "gain": _GAIN,
    "no_recurrence": (_GAIN[0], _GAIN[3]),
    "equalize": _GAIN,
    "normalization": (("tuning_kappa", 2.0, 0.3, 12.0), ("pool_kappa", 2.0, 0.2, 30.0),
                      ("semisaturation", 0.5, 0.01, 10.0), ("reweighting", 1.0, 0.0, 5.0),
                      ("baseline", 0.1, 0.0, 3.0)),
}


@dataclass
class RivalModel:
    """One model of adaptation: its parameters and its tuning curves.

    Use :func:`rival_model` to make one.  ``curves(params, closed, biased)``
    returns ``(len(biased), N, closed.size, 2)``: the curves of the ``N`` model
    neurons at the orientations ``closed`` (a grid from -90 to +90 inclusive),
    adapted to the uniform ensemble over the distinct orientations
    (``condition`` 0) and to each biased ensemble (1).
    """

    kind: str
    gain_site: str = "total"
    objective: str = "log_gain"
    n_model_units: int = 60
    _warm: dict = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        if self.kind == "gain":
            return f"gain/{self.gain_site}/{self.objective}"
        return self.kind

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(s[0] for s in _SPECS[self.kind])

    @property
    def init(self) -> np.ndarray:
        return np.array([s[1] for s in _SPECS[self.kind]])

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        spec = _SPECS[self.kind]
        return np.array([s[2] for s in spec]), np.array([s[3] for s in spec])

    @property
    def preferred(self) -> np.ndarray:
        return ring_preferred(self.n_model_units)

    def curves(self, params, closed: np.ndarray, biased: list[np.ndarray],
               at: np.ndarray | None = None) -> np.ndarray:
        """Tuning curves ``(ensemble, model_unit, stimulus, condition)``.

        The ensembles live on ``closed[:-1]`` (the distinct orientations); the
        curves are evaluated at ``closed``, or at the orientations ``at``.
        """
        x = dict(zip(self.parameters, (float(v) for v in params)))
        phi = self.preferred
        at = closed if at is None else np.asarray(at, dtype=float)
        h = _drive(phi, at, x["tuning_kappa"], x["baseline"])
        grid_h = _drive(phi, closed[:-1], x["tuning_kappa"], x["baseline"])
        uniform = np.full(grid_h.shape[1], 1.0 / grid_h.shape[1])
        out = np.empty((len(biased), phi.size, at.size, 2))
        if self.kind == "normalization":
            out[:, :, :, 0] = _normalized(h, grid_h, uniform, uniform, phi, x)
            for i, prob in enumerate(biased):
                out[i, :, :, 1] = _normalized(h, grid_h, prob, uniform, phi, x)
            return out
        strength = x.get("recurrent_strength", 0.0)
        if strength >= 1.0:
            raise UnstableDynamicsError(f"recurrent_strength {strength:g} >= 1 is unstable.")
        w = _ring_weights(phi, strength, x.get("recurrent_kappa", 1.0))
        site = "total" if self.kind == "equalize" else self.gain_site
        gains = self._gains(w, phi, grid_h, closed, x, [uniform, *biased])
        m_in = np.linalg.inv(np.eye(phi.size) - w) if site == "input" else None
        for j, g in enumerate(gains):
            m = m_in if m_in is not None else np.linalg.inv(np.eye(phi.size) - g[:, None] * w)
            r = m @ (g[:, None] * h)
            if j == 0:
                out[:, :, :, 0] = r
            else:
                out[j - 1, :, :, 1] = r
        return out

    def _gains(self, w, phi, grid_h, closed, x, probs) -> list[np.ndarray]:
        if self.kind == "equalize":
            return [_equalizing(w, grid_h, p, "total") for p in probs]
        hp = drive_slope(phi, closed[:-1], x["tuning_kappa"])
        site = "input" if self.kind == "no_recurrence" else self.gain_site
        ref = GainProblem(w, grid_h, hp, probs[0], site=site, objective=self.objective)
        out = []
        for j, p in enumerate(probs):
            prob = ref if j == 0 else GainProblem(w, grid_h, hp, p, site=site,
                                                  objective=self.objective, alpha=ref.alpha)
            out.append(self._solve(prob, key=(j == 0, tuple(np.round(p, 4)))))
        return out

    def _solve(self, prob: GainProblem, key) -> np.ndarray:
        """Optimal gains, warm-started from the last solution for the same ensemble."""
        if self.kind == "no_recurrence":
            return _single_neuron(prob)
        found = None
        if key in self._warm and prob.objective == "log_gain":
            found = prob.newton_from(self._warm[key])
        if found is None:
            starts = [self._warm[key]] if key in self._warm else prob.starts(2)
            runs = [prob.minimize_from(s, gtol=1e-11) for s in starts]
            found = min(runs, key=lambda f: f[1])
            if prob.objective == "log_gain":
                found = prob.newton_from(found[0]) or found
        x, value = found
        if not value < UNSTABLE:
            raise UnstableDynamicsError("no stable gains for these parameters.")
        self._warm[key] = x
        return np.exp(x)

    def reset(self) -> None:
        """Forget the warm starts (call before fitting new data)."""
        self._warm.clear()

    def certify(self, params, closed, biased, n_init: int = 4, random_state=None) -> dict:
        """Re-solve every ensemble from ``n_init`` cold starts at ``params``.

        Returns the number of ensembles, how many of them the warm-started
        solution matched (objective within 1e-9 relative of the best of the
        cold starts), the worst first-order residual and the smallest Hessian
        eigenvalue over the ensembles (gain models only).
        """
        if self.kind != "gain":
            return {"n_ensembles": len(biased) + 1, "n_matched": len(biased) + 1,
                    "gradient_norm": 0.0, "hessian_min_eigenvalue": np.nan}
        x = dict(zip(self.parameters, (float(v) for v in params)))
        phi = self.preferred
        grid_h = _drive(phi, closed[:-1], x["tuning_kappa"], x["baseline"])
        hp = drive_slope(phi, closed[:-1], x["tuning_kappa"])
        w = _ring_weights(phi, x["recurrent_strength"], x["recurrent_kappa"])
        probs = [np.full(grid_h.shape[1], 1.0 / grid_h.shape[1]), *biased]
        ref = GainProblem(w, grid_h, hp, probs[0], site=self.gain_site, objective=self.objective)
        warm = self._gains(w, phi, grid_h, closed, x, probs)
        matched, grad, hmin = 0, 0.0, np.inf
        for j, p in enumerate(probs):
            prob = GainProblem(w, grid_h, hp, p, site=self.gain_site, objective=self.objective,
                               alpha=ref.alpha)
            res = prob.solve(n_init, random_state=random_state)
            mine = prob.value_grad(warm[j])[0]
            matched += int(mine <= res.value + 1e-9 * max(1.0, abs(res.value)))
            grad = max(grad, res.gradient_norm)
            hmin = min(hmin, res.hessian_min_eigenvalue)
        return {"n_ensembles": len(probs), "n_matched": matched, "gradient_norm": grad,
                "hessian_min_eigenvalue": hmin}


def _single_neuron(prob: GainProblem) -> np.ndarray:
    """The objective's closed-form optimum without recurrence (single-neuron rule)."""
    p, h, hp, a = prob.prob, prob.h, prob.hp, prob.alpha
    c = h**2 @ p
    if prob.objective == "log_gain":
        return 1.0 / np.sqrt(2.0 * a * c)
    if prob.objective == "fisher_poisson":
        return (hp**2 / h) @ p / (2.0 * a * c)
    g2 = (np.sqrt((hp**2 @ p) / (a * c)) - 1.0) / prob.rho2
    return np.sqrt(np.maximum(g2, 1e-12))


def _normalized(h, grid_h, prob, uniform, phi, x) -> np.ndarray:
    """Normalisation reweighting: responses at the closed grid for ensemble ``prob``."""
    pool = _von_mises(phi[:, None] - phi[None, :], x["pool_kappa"])
    pool /= pool.sum(axis=1, keepdims=True)
    co_p = (grid_h * prob) @ grid_h.T
    co_u = (grid_h * uniform) @ grid_h.T
    weights = pool * (co_p / co_u) ** x["reweighting"]
    return h / (x["semisaturation"] + weights @ h)


def rival_model(kind: str = "gain", *, gain_site: str = "total", objective: str = "log_gain",
                n_model_units: int = 60) -> RivalModel:
    """One rival model of adaptation (see the module docstring for each ``kind``).

    Examples
    --------
    >>> m = rival_model("gain", gain_site="input")
    >>> m.name, m.parameters
    ('gain/input/log_gain', ('tuning_kappa', 'recurrent_strength', 'recurrent_kappa', 'baseline'))
    >>> rival_model("normalization").parameters[1:4]
    ('pool_kappa', 'semisaturation', 'reweighting')
    """
    check_option("kind", kind, MODEL_KINDS)
    check_option("gain_site", gain_site, GAIN_SITES)
    check_option("objective", objective, OBJECTIVES)
    if n_model_units < 12:
        raise NeurodataError(f"n_model_units must be at least 12; got {n_model_units}.")
    return RivalModel(kind, gain_site, objective, int(n_model_units))


def rival_models(*, sites=("total", "input"), objectives=("log_gain", "fisher_gaussian"),
                 n_model_units: int = 60) -> list[RivalModel]:
    """This model at each site and objective, and the three rivals (the comparison set).

    The default objectives are the stimulus-independent ``"log_gain"`` and the
    stimulus-dependent ``"fisher_gaussian"``.  ``"fisher_poisson"`` can be
    added; it is left out by default because its optimum switches off the
    neurons around the adapter (gains at zero), which makes its fits slow and
    their landscape rugged (see the documentation page).

    Examples
    --------
    >>> [m.name for m in rival_models()]  # doctest: +NORMALIZE_WHITESPACE
    ['gain/total/log_gain', 'gain/total/fisher_gaussian', 'gain/input/log_gain',
     'gain/input/fisher_gaussian', 'no_recurrence', 'equalize', 'normalization']
    """
    models = [rival_model("gain", gain_site=s, objective=o, n_model_units=n_model_units)
              for s in sites for o in objectives]
    return models + [rival_model(k, n_model_units=n_model_units)
                     for k in ("no_recurrence", "equalize", "normalization")]
