"""Neural masses: the units placed on each lattice site.

Each mass is a small ODE ``dx/dt = f(x) + input`` vectorised over the lattice: ``rhs``
takes a state of shape ``(n_states, ...)`` and returns its time derivative, and accepts
complex arrays so that Jacobians can be taken exactly by the complex-step method.

Lattice coupling (the choice the paper leaves to the model)
-----------------------------------------------------------
Neighbouring masses interact through a diffusive nearest-neighbour term: the equation of
the *target* state of site ``i`` receives ``kappa * sum_{j ~ i} (s_j - s_i)``, where ``s`` is
a linear read-out (the *source*) of the neighbours' states.  The homogeneous fixed point
is therefore unchanged by the coupling, and the linearised lattice is
``dx/dt = J x + kappa B L x`` with ``B = e_target w_source^T`` and ``L`` the lattice
Laplacian.  The defaults couple a state into the equation of the state it drives, which
is what turns each linearised focus into a Klein-Gordon field with ``c^2 > 0`` (see
:func:`~neurodata.field_theory.continuum_limit`):

======================  ===========================  ======================
mass                    source -> target             observable
======================  ===========================  ======================
LinearOscillator        ``phi`` -> ``pi``            ``phi``
StuartLandau            ``im`` -> ``re``             ``re``
WilsonCowan             ``I`` -> ``E``               ``E``
JansenRit               ``v = y1 - y2`` -> ``y4``    ``v`` (pyramidal potential)
======================  ===========================  ======================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import ClassVar

import numpy as np
from scipy.optimize import root

from neurodata.errors import NeurodataError, UnstableDynamicsError


def _sigmoid(x):
    """Logistic sigmoid written with tanh: stable for large |x| and complex-step safe."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class NeuralMass:
    """Base class of the neural masses.

    Subclasses (frozen dataclasses of their parameters) define ``state_names``, ``rhs``
    (vectorised over trailing axes, complex-safe), ``initial_guess`` for the fixed-point
    search, and the class attributes ``coupling_target``, ``coupling_source`` (read-out
    weights by state), ``noise_target`` and ``observable``.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Leaky(NeuralMass):
    ...     rate: float = 10.0
    ...     state_names = ("u", "w")
    ...     coupling_target, coupling_source = "w", {"u": 1.0}
    ...     noise_target, observable = "w", "u"
    ...     def rhs(self, x):
    ...         return np.stack([x[1] - self.rate * x[0], -x[0] - x[1]])
    >>> np.round(linearise(Leaky()).eigenvalues.real, 3)
    array([-1.113, -9.887])
    """

    state_names: ClassVar[tuple[str, ...]] = ()
    coupling_target: ClassVar[str] = ""
    coupling_source: ClassVar[dict[str, float]] = {}
    noise_target: ClassVar[str] = ""
    observable: ClassVar[str] = ""

    @property
    def n_states(self) -> int:
        return len(self.state_names)

    def rhs(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def initial_guess(self) -> np.ndarray:
        return np.zeros(self.n_states)

    def params(self) -> dict:
        """The mass parameters as a plain dict."""
        return asdict(self)  # type: ignore[call-overload]

    def default_pathway(self):
        """The coupling used when none is given: ``(coupling_source, coupling_target)``."""
        return (self.coupling_source, self.coupling_target)

    def _pathway_pairs(self, pathway) -> list[tuple[dict, str]]:
        if pathway is None:
            pathway = self.default_pathway()
        if isinstance(pathway, str):
            if "->" not in pathway:
                raise NeurodataError(f"a pathway is 'source->target' (e.g. 'E->E'); got "
                                     f"{pathway!r}.")
            source, target = (part.strip() for part in pathway.split("->", 1))
            return [({source: 1.0}, target)]
        if isinstance(pathway, list):
            return [pair for item in pathway for pair in self._pathway_pairs(item)]
        try:
            source, target = pathway
        except (TypeError, ValueError):
            raise NeurodataError(f"a pathway is 'source->target', (source, target) or a list of "
                                 f"them; got {pathway!r}.") from None
        return [({source: 1.0} if isinstance(source, str) else dict(source), str(target))]

    def coupling_matrix(self, pathway=None) -> np.ndarray:
        """``B``: the coupling adds ``kappa B (L x)`` to the equations (``J + kappa B L``).

        ``pathway`` None is the mass's default (:meth:`default_pathway`); a string
        ``"A->B"`` couples state ``A`` of the neighbours into the equation of ``B``
        (``"E->E"``, ``"I->E"``); a pair ``(source, target)`` takes a state name or a dict of
        weights by state name as its source; a list of these adds them up.

        Examples
        --------
        >>> WilsonCowan().coupling_matrix("E->E")
        array([[1., 0.],
               [0., 0.]])
        """
        b = np.zeros((self.n_states, self.n_states))
        for weights, target in self._pathway_pairs(pathway):
            for name, weight in weights.items():
                if name not in self.state_names or target not in self.state_names:
                    raise NeurodataError(f"the {type(self).__name__} mass has states "
                                         f"{self.state_names}; the pathway names {name!r} -> "
                                         f"{target!r}.")
                b[self.state_names.index(target), self.state_names.index(name)] += float(weight)
        return b

    def source_weights(self) -> np.ndarray:
        """The read-out weights of the default coupling source (its dot product with the state)."""
        w = np.zeros(self.n_states)
        for name, weight in self.coupling_source.items():
            w[self.state_names.index(name)] = weight
        return w

    def observation_weights(self) -> np.ndarray:
        """Weights of the observable (what an electrode records) over the states."""
        if self.observable in self.state_names:
            w = np.zeros(self.n_states)
            w[self.state_names.index(self.observable)] = 1.0
            return w
        return self.source_weights()

    def observe(self, x):
        """The observable (what an electrode would record) from a state array."""
        if self.observable in self.state_names:
            return x[self.state_names.index(self.observable)]
        return np.tensordot(self.observation_weights(), x, axes=(0, 0))

    def jacobian(self, x0) -> np.ndarray:
        """Exact Jacobian of ``rhs`` at ``x0`` by the complex-step method."""
        x0 = np.asarray(x0, dtype=float)
        h = 1e-30
        jac = np.empty((self.n_states, self.n_states))
        for j in range(self.n_states):
            xc = x0.astype(complex)
            xc[j] += 1j * h
            jac[:, j] = np.imag(self.rhs(xc)) / h
        return jac


@dataclass(frozen=True)
class LinearOscillator(NeuralMass):
    """A linear damped oscillator: ``phi'' + gamma phi' + omega0^2 phi = input``.

    States ``(phi, pi)`` with ``pi = dphi/dt``; the fixed point is the origin.  On the lattice
    with coupling ``kappa`` this is exactly the discretised Klein-Gordon field with
    ``m = omega0``, ``c = a sqrt(kappa)`` and damping ``gamma``.

    Parameters
    ----------
    omega0 : float
        Natural angular frequency (rad/s).
    gamma : float
        Damping rate (1/s); must be positive for a stable fixed point.

    Examples
    --------
    >>> mass = LinearOscillator(omega0=10.0, gamma=1.0)
    >>> mass.rhs(np.array([1.0, 0.0]))
    array([   0., -100.])
    """

    omega0: float = 2 * np.pi * 10.0
    gamma: float = 5.0
    state_names: ClassVar[tuple[str, ...]] = ("phi", "pi")
    coupling_target: ClassVar[str] = "pi"
    coupling_source: ClassVar[dict[str, float]] = {"phi": 1.0}
    noise_target: ClassVar[str] = "pi"
    observable: ClassVar[str] = "phi"

    def rhs(self, x):
        phi, pi = x[0], x[1]
        return np.stack([pi, -self.omega0**2 * phi - self.gamma * pi])


@dataclass(frozen=True)
class StuartLandau(NeuralMass):
    """The Stuart-Landau (Hopf normal form) oscillator, ``z = re + i im``.

    ``dz/dt = (lam + i omega) z - (1 + i beta) |z|^2 z``.  For ``lam < 0`` the origin is a
    stable focus with eigenvalues ``lam +- i omega``; for ``lam > 0`` it is unstable and
    the mass sits on a limit cycle (no stable fixed point: an error for the field theory).

    Examples
    --------
    >>> StuartLandau(lam=-1.0, omega=5.0).jacobian([0.0, 0.0])
    array([[-1., -5.],
           [ 5., -1.]])
    """

    lam: float = -10.0
    omega: float = 2 * np.pi * 10.0
    beta: float = 0.0
    state_names: ClassVar[tuple[str, ...]] = ("re", "im")
    coupling_target: ClassVar[str] = "re"
    coupling_source: ClassVar[dict[str, float]] = {"im": 1.0}
    noise_target: ClassVar[str] = "re"
    observable: ClassVar[str] = "re"

    def rhs(self, z):
        x, y = z[0], z[1]
        r2 = x * x + y * y
        return np.stack([
            self.lam * x - self.omega * y - r2 * (x - self.beta * y),
            self.omega * x + self.lam * y - r2 * (self.beta * x + y),
        ])


@dataclass(frozen=True)
class WilsonCowan(NeuralMass):
    """Wilson-Cowan excitatory/inhibitory rate model.

    ``tau_e dE/dt = -E + S_e(w_ee E - w_ei I + p)`` and
    ``tau_i dI/dt = -I + S_i(w_ie E - w_ii I + q)`` with
    ``S(x) = 1 / (1 + exp(-a (x - theta)))``.  The defaults (the 1972 gains with a weaker
    ``w_ee = 10`` and ``p = 2``) give a stable focus near 15 Hz.

    Examples
    --------
    >>> from neurodata.field_theory import linearise
    >>> lin = linearise(WilsonCowan())
    >>> np.round(np.linalg.eigvals(lin.jacobian), 1)
    array([-12.8+97.4j, -12.8-97.4j])
    """

    w_ee: float = 10.0
    w_ei: float = 12.0
    w_ie: float = 15.0
    w_ii: float = 3.0
    p: float = 2.0
    q: float = 0.0
    tau_e: float = 0.02
    tau_i: float = 0.02
    a_e: float = 1.3
    theta_e: float = 4.0
    a_i: float = 2.0
    theta_i: float = 3.7
    state_names: ClassVar[tuple[str, ...]] = ("E", "I")
    coupling_target: ClassVar[str] = "E"
    coupling_source: ClassVar[dict[str, float]] = {"I": 1.0}
    noise_target: ClassVar[str] = "E"
    observable: ClassVar[str] = "E"

    def rhs(self, x):
        e, i = x[0], x[1]
        se = _sigmoid(self.a_e * (self.w_ee * e - self.w_ei * i + self.p - self.theta_e))
        si = _sigmoid(self.a_i * (self.w_ie * e - self.w_ii * i + self.q - self.theta_i))
        return np.stack([(-e + se) / self.tau_e, (-i + si) / self.tau_i])

    def initial_guess(self) -> np.ndarray:
        return np.array([0.2, 0.1])


@dataclass(frozen=True)
class JansenRit(NeuralMass):
    """Jansen-Rit cortical column (pyramidal cells, excitatory and inhibitory interneurons).

    Six states ``y0..y5`` (``y3..y5`` the derivatives of ``y0..y2``):
    ``y0'' = A a S(y1 - y2) - 2 a y0' - a^2 y0``,
    ``y1'' = A a (p + C2 S(C1 y0)) - 2 a y1' - a^2 y1``,
    ``y2'' = B b C4 S(C3 y0) - 2 b y2' - b^2 y2``, with
    ``S(v) = 2 e0 / (1 + exp(r (v0 - v)))``, ``C1..C4 = C (1, 0.8, 0.25, 0.25)``.
    The classic ``p = 220`` has no stable fixed point (an alpha limit cycle); the default
    ``p = 350`` has a stable focus near 11 Hz.  The observable is ``v = y1 - y2``.

    Examples
    --------
    >>> from neurodata.field_theory import linearise
    >>> ev = np.linalg.eigvals(linearise(JansenRit()).jacobian)
    >>> round(float(ev.imag.max() / (2 * np.pi)), 1)
    11.1
    """

    p: float = 350.0
    A: float = 3.25
    B: float = 22.0
    a: float = 100.0
    b: float = 50.0
    C: float = 135.0
    e0: float = 2.5
    v0: float = 6.0
    r: float = 0.56
    state_names: ClassVar[tuple[str, ...]] = ("y0", "y1", "y2", "y3", "y4", "y5")
    coupling_target: ClassVar[str] = "y4"
    coupling_source: ClassVar[dict[str, float]] = {"y1": 1.0, "y2": -1.0}
    noise_target: ClassVar[str] = "y4"
    observable: ClassVar[str] = "v"

    def _s(self, v):
        return 2 * self.e0 * _sigmoid(self.r * (v - self.v0))

    def rhs(self, y):
        c1, c2, c3, c4 = self.C, 0.8 * self.C, 0.25 * self.C, 0.25 * self.C
        a, b = self.a, self.b
        return np.stack([
            y[3], y[4], y[5],
            self.A * a * self._s(y[1] - y[2]) - 2 * a * y[3] - a * a * y[0],
            self.A * a * (self.p + c2 * self._s(c1 * y[0])) - 2 * a * y[4] - a * a * y[1],
            self.B * b * c4 * self._s(c3 * y[0]) - 2 * b * y[5] - b * b * y[2],
        ])

    def initial_guess(self) -> np.ndarray:
        # the fixed point solves y0 = A/a S(y1 - y2), etc.; start from the high-activity branch
        return np.array([0.12, 25.0, 16.0, 0.0, 0.0, 0.0])


@dataclass(frozen=True)
class Linearisation:
    """A mass linearised about its stable fixed point.

    Attributes
    ----------
    fixed_point : ndarray
        The state ``x*`` with ``f(x*) = 0``.
    jacobian : ndarray
        ``J = df/dx`` at ``x*``.
    coupling : ndarray
        ``B``: the linearised lattice is ``dx/dt = J x + kappa B L x``.
    eigenvalues : ndarray
        Eigenvalues of ``J``, none with positive real part.

    Examples
    --------
    >>> lin = linearise(LinearOscillator(omega0=3.0, gamma=1.0))
    >>> lin.fixed_point, lin.coupling
    (array([0., 0.]), array([[0., 0.],
           [1., 0.]]))
    """

    fixed_point: np.ndarray
    jacobian: np.ndarray
    coupling: np.ndarray
    eigenvalues: np.ndarray = field(repr=False)


def linearise(mass: NeuralMass) -> Linearisation:
    """Find the mass's fixed point and linearise it; raise if the fixed point is not stable.

    Parameters
    ----------
    mass : NeuralMass
        A :class:`LinearOscillator`, :class:`StuartLandau`, :class:`WilsonCowan`,
        :class:`JansenRit` or a user subclass.

    Returns
    -------
    Linearisation

    Raises
    ------
    UnstableDynamicsError
        When no fixed point is found near the mass's initial guess, or when the fixed point
        has an eigenvalue with positive real part (a limit cycle or a saddle): the field
        theory is the continuum limit of masses linearised about a *stable* fixed point
        (undamped, purely imaginary eigenvalues are accepted: the undamped field).

    Examples
    --------
    >>> lin = linearise(StuartLandau(lam=-2.0, omega=30.0))
    >>> lin.eigenvalues
    array([-2.+30.j, -2.-30.j])
    >>> linearise(StuartLandau(lam=0.5, omega=30.0))
    Traceback (most recent call last):
    ...
    neurodata.errors.UnstableDynamicsError: the StuartLandau mass has no stable fixed point: ...
    """
    name = type(mass).__name__
    sol = root(lambda x: np.real(mass.rhs(x)), mass.initial_guess(), tol=1e-13, method="hybr")
    x0 = np.asarray(sol.x, dtype=float)
    resid = np.max(np.abs(mass.rhs(x0)))
    scale = max(1.0, float(np.max(np.abs(mass.rhs(mass.initial_guess())))))
    if not np.isfinite(resid) or resid > 1e-8 * scale:
        raise UnstableDynamicsError(
            f"no fixed point of the {name} mass was found near its initial guess "
            f"{mass.initial_guess().tolist()} (residual {resid:.3g}); change its parameters."
        )
    jac = mass.jacobian(x0)
    eig = np.linalg.eigvals(jac)
    eig = eig[np.lexsort((-eig.imag, -eig.real))]
    if np.max(eig.real) > 1e-12 * np.max(np.abs(eig)):
        raise UnstableDynamicsError(
            f"the {name} mass has no stable fixed point: at {np.round(x0, 6).tolist()} the "
            f"Jacobian has eigenvalues with positive real part ({np.round(eig[eig.real > 0], 4).tolist()}), "
            f"so the mass oscillates on a limit cycle or diverges. The field theory linearises "
            f"about a stable focus: change the parameters (e.g. lam < 0 for Stuart-Landau, "
            f"p = 350 for Jansen-Rit)."
        )
    return Linearisation(fixed_point=x0, jacobian=jac, coupling=mass.coupling_matrix(),
                         eigenvalues=eig)
