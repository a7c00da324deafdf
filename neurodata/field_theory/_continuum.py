"""Dispersion of the linearised lattice and its Klein-Gordon continuum limit.

Linearising every mass about its fixed point ``x*`` gives the lattice system
``dx/dt = J x + kappa B L x`` (see :mod:`._masses`).  A plane wave (an eigenmode of the
lattice Laplacian, ``L -> -4 [sin^2(k_x a/2) + sin^2(k_y a/2)] = -a^2 mu_k``) decouples it
into one small system per wavevector, ``dx_k/dt = (J - kappa a^2 mu_k B) x_k``.

For a two-state mass (or the dominant oscillatory pair of a larger one) with eigenvalues
``s_1(k), s_2(k)``, the pair obeys ``s^2 + gamma_k s + omega_k^2 = 0`` with
``omega_k^2 = s_1 s_2`` and ``gamma_k = -(s_1 + s_2)``.  To first order in ``mu_k``:

    omega_k^2 = m^2 + c^2 mu_k,      gamma_k = gamma + eta mu_k,

which for a rank-one coupling ``B`` and a two-state mass is exact.  As ``k a -> 0``,
``mu_k -> |k|^2`` and every component of the linearised state obeys the damped
Klein-Gordon equation

    d^2 phi/dt^2 + (gamma - eta nabla^2) d phi/dt = c^2 nabla^2 phi - m^2 phi,

i.e. the coupled (E, I) pair are two real Klein-Gordon fields coupled through their first
derivatives (the "coupled Klein-Gordon fields" of Cooray, Cooray & Friston 2023).  For
the linear oscillator ``m = omega0``, ``c = a sqrt(kappa)``, and the lattice dispersion is
``omega^2 = omega0^2 + 4 kappa [sin^2(k_x a/2) + sin^2(k_y a/2)]``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.linalg as sla
import xarray as xr

from neurodata.errors import UnstableDynamicsError
from neurodata.field_theory._coupling import kernel_moment
from neurodata.field_theory._grid import (
    check_boundary,
    check_shape,
    check_spacing,
    laplacian_eigenvalues,
    wavenumbers,
)
from neurodata.field_theory._masses import NeuralMass, linearise


@dataclass(frozen=True)
class FieldParameters:
    """Parameters of the damped Klein-Gordon field.

    ``phi_tt + (gamma - eta lap) phi_t = c^2 lap phi - m^2 phi (+ sigma xi)``.

    Attributes
    ----------
    m : float
        Mass (rad/s): the frequency of the spatially uniform mode; ``f0 = m / 2 pi``.
    c : float
        Wave speed (length units per second).
    gamma : float
        Damping rate of the uniform mode (1/s).
    eta : float
        Wavenumber-dependent damping (length^2/s); zero for cross-couplings.
    noise : float
        Noise intensity ``sigma`` when it was fitted, else NaN.
    spacing : float
        Lattice spacing ``a`` the speed refers to (NaN when unknown).
    c_over_a : float
        ``c / a``, the speed in lattice spacings per second: what a single-site spectrum
        identifies.  Filled in from ``c`` and ``spacing`` when both are known.

    Examples
    --------
    >>> p = FieldParameters(m=2 * np.pi * 10, c=0.5, gamma=4.0)
    >>> round(p.f0, 6), round(float(p.omega(0.0)), 4)
    (10.0, 62.8319)
    """

    m: float
    c: float
    gamma: float = 0.0
    eta: float = 0.0
    noise: float = float("nan")
    spacing: float = float("nan")
    c_over_a: float = float("nan")

    def __post_init__(self) -> None:
        if np.isnan(self.c_over_a) and np.isfinite(self.c) and np.isfinite(self.spacing):
            object.__setattr__(self, "c_over_a", float(self.c / self.spacing))

    @property
    def f0(self) -> float:
        """``m / 2 pi`` in Hz."""
        return self.m / (2 * np.pi)

    def omega(self, k2):
        """Undamped angular frequency ``sqrt(m^2 + c^2 k^2)`` for squared wavenumber ``k2``."""
        return np.sqrt(self.m**2 + self.c**2 * np.asarray(k2, dtype=float))

    def solver_kwargs(self) -> dict:
        """``m``, ``c``, ``gamma`` (and ``eta`` when nonzero) for the solvers."""
        out = {"m": self.m, "c": self.c, "gamma": self.gamma}
        if self.eta:
            out["eta"] = self.eta
        return out

    def asdict(self) -> dict:
        return asdict(self)


def _pairs(eig: np.ndarray) -> list[np.ndarray]:
    """The oscillatory eigenvalue pairs of ``J``, least damped first (both of a 2-state mass)."""
    if eig.size == 2:
        return [eig]
    osc = np.flatnonzero(eig.imag > 1e-12 * np.abs(eig))
    if osc.size == 0:
        raise UnstableDynamicsError(
            "the linearised mass has no oscillatory (complex) eigenvalue pair, so it has no "
            "Klein-Gordon field; choose parameters with a stable focus."
        )
    osc = osc[np.argsort(-eig.real[osc])]
    return [np.array([eig[i], np.conj(eig[i])]) for i in osc]


def _pair(eig: np.ndarray) -> np.ndarray:
    """The two eigenvalues that make the field: the least-damped oscillatory pair."""
    return _pairs(eig)[0]


def _pair_derivatives(jac: np.ndarray, bmat: np.ndarray, pair: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """An eigenvalue pair of ``J`` and its derivative along ``J - q B`` at ``q = 0``."""
    w, vl, vr = sla.eig(jac, left=True, right=True)
    pair = _pair(w) if pair is None else pair
    ds = np.empty(2, dtype=complex)
    for n, s in enumerate(pair):
        i = int(np.argmin(np.abs(w - s)))
        u, v = vl[:, i], vr[:, i]
        ds[n] = -(u.conj() @ bmat @ v) / (u.conj() @ v)
    return pair, ds


def _field_from_pair(pair, ds, scale: float, a: float, coupling: float, name: str
                     ) -> FieldParameters:
    m2 = float(np.real(pair[0] * pair[1]))
    gamma = float(-np.real(pair.sum()))
    c2 = float(np.real(ds[0] * pair[1] + pair[0] * ds[1])) * scale
    eta = float(-np.real(ds.sum())) * scale
    if c2 <= 0:
        raise UnstableDynamicsError(
            f"with coupling {coupling} the {name} lattice is anti-diffusive (c^2 = {c2:.4g} <= 0): "
            f"short waves are not stiffer than long ones, so there is no Klein-Gordon field. "
            f"Flip the sign of the coupling."
        )
    if eta < 0 and gamma + eta * 8 / a**2 < 0:
        raise UnstableDynamicsError(
            f"with coupling {coupling} the {name} lattice damps short waves negatively "
            f"(gamma + eta mu < 0 for the shortest waves); reduce the coupling."
        )
    return FieldParameters(m=float(np.sqrt(m2)), c=float(np.sqrt(c2)), gamma=gamma, eta=eta,
                           spacing=a)


def continuum_limit(mass: NeuralMass, coupling: float, spacing: float = 1.0, *,
                    kernel: Any = None, pathway: Any = None) -> FieldParameters:
    """The Klein-Gordon field that a lattice of ``mass`` becomes as ``k a -> 0``.

    Parameters
    ----------
    mass : NeuralMass
        Linearised about its stable fixed point (see :func:`linearise`).
    coupling : float
        ``kappa``, the gain of every coupled pair of sites.
    spacing : float
        Lattice spacing ``a``.
    kernel : None, "lattice" or DiscKernel
        The coupled neighbours; its second moment ``M2`` (1 for nearest neighbours) scales
        ``c^2`` and ``eta``.
    pathway : None, str or (source, target)
        Which state drives which (default: the mass's own; see :meth:`NeuralMass.pathway`).

    Returns
    -------
    FieldParameters
        ``m^2 = s_1 s_2``, ``gamma = -(s_1 + s_2)`` from the field pair of ``J``, and
        ``c^2 = kappa M2 a^2 d(s_1 s_2)/dq``, ``eta = -kappa M2 a^2 d(s_1 + s_2)/dq`` from
        first-order perturbation of ``J - q B`` (exact for two-state masses).

    Raises
    ------
    UnstableDynamicsError
        If the mass has no stable fixed point, or the coupling makes ``c^2 <= 0`` (an
        anti-diffusive lattice, whose short waves grow) or ``gamma + eta mu < 0``.

    Examples
    --------
    >>> from neurodata.field_theory import LinearOscillator, WilsonCowan
    >>> p = continuum_limit(LinearOscillator(omega0=10.0, gamma=1.0), coupling=4.0, spacing=0.5)
    >>> round(p.m, 12), round(p.c, 12), round(p.gamma, 12)
    (10.0, 1.0, 1.0)
    >>> p = continuum_limit(WilsonCowan(), 150.0, pathway="E->E")  # damping grows with k
    >>> round(p.eta, 6)
    150.0
    """
    a = check_spacing(spacing)
    lin = linearise(mass)
    p, ds = _pair_derivatives(lin.jacobian, float(coupling) * mass.coupling_matrix(pathway))
    return _field_from_pair(p, ds, a**2 * kernel_moment(kernel), a, coupling, type(mass).__name__)


def continuum_limits(mass: NeuralMass, coupling: float, spacing: float = 1.0, *,
                     kernel: Any = None, pathway: Any = None) -> list[FieldParameters]:
    """One Klein-Gordon field per oscillatory eigenvalue pair of the mass, least damped first.

    A mass with several oscillatory pairs (several E-I bilayers, a canonical microcircuit,
    Jansen-Rit) carries one field per pair: the components of a vector field, each with
    its own mass gap (a rhythm) and speed.  Each is the first-order perturbation of its
    pair (see :func:`continuum_limit`).  A pair that the coupling leaves anti-diffusive
    (``c^2 <= 0``: no Klein-Gordon field for it under this pathway) gets ``c = NaN``; only
    the least-damped pair must be a field.

    Examples
    --------
    >>> from neurodata.field_theory import EIBilayers
    >>> fields = continuum_limits(EIBilayers(), 150.0)
    >>> len(fields), fields[0].f0 < fields[1].f0
    (2, True)
    """
    a = check_spacing(spacing)
    lin = linearise(mass)
    bmat = float(coupling) * mass.coupling_matrix(pathway)
    scale = a**2 * kernel_moment(kernel)
    name = type(mass).__name__
    out = []
    for i, pair in enumerate(_pairs(lin.eigenvalues)):
        p, ds = _pair_derivatives(lin.jacobian, bmat, pair)
        try:
            out.append(_field_from_pair(p, ds, scale, a, coupling, name))
        except UnstableDynamicsError:
            if i == 0:
                raise
            out.append(FieldParameters(m=float(np.sqrt(np.real(p[0] * p[1]))), c=float("nan"),
                                       gamma=float(-np.real(p.sum())),
                                       eta=float(-np.real(ds.sum())) * scale, spacing=a))
    return out


def coupled_field_operators(mass: NeuralMass, coupling: float, spacing: float = 1.0, *,
                            kernel: Any = None, pathway: Any = None):
    """The coupled first-order field equations ``dx/dt = J x + D lap x`` of the continuum limit.

    ``x`` is the deviation of all the mass's states from the fixed point, ``J`` the mass's
    Jacobian and ``D = kappa M2 a^2 B`` the diffusion matrix of the coupling.  For a
    two-state mass, eliminating one state (Cayley-Hamilton) leaves the damped Klein-Gordon
    equation of :func:`continuum_limit` for each component: the E and I populations are
    two real Klein-Gordon fields coupled through their first derivatives.

    Returns
    -------
    (J, D) : tuple of ndarray

    Examples
    --------
    >>> from neurodata.field_theory import LinearOscillator
    >>> jac, diff = coupled_field_operators(LinearOscillator(omega0=2.0, gamma=0.5), 4.0, 0.5)
    >>> jac, diff
    (array([[ 0. ,  1. ],
           [-4. , -0.5]]), array([[0., 0.],
           [1., 0.]]))
    """
    a = check_spacing(spacing)
    lin = linearise(mass)
    return lin.jacobian, float(coupling) * a**2 * kernel_moment(kernel) * \
        mass.coupling_matrix(pathway)


def lattice_eigenvalues(
    mass: NeuralMass,
    shape: tuple[int, int],
    coupling: float,
    spacing: float = 1.0,
    boundary: str = "periodic",
    *,
    kernel: Any = None,
    pathway: Any = None,
) -> xr.DataArray:
    """Eigenvalues of the linearised lattice, one small system per lattice eigenmode.

    Mode ``k`` obeys ``dx_k/dt = (J - kappa sigma_k B) x_k`` with ``sigma_k`` the kernel's
    symbol (``a^2 mu_k`` for nearest neighbours).

    Returns
    -------
    xarray.DataArray
        Complex, dims ``(kx, ky, branch)``, sorted by decreasing real then imaginary part
        within each mode; coordinates ``kx``, ``ky`` and ``mu`` (``mu_k``, the normalised
        kernel Laplacian's eigenvalues, see :mod:`._grid`).

    Examples
    --------
    >>> from neurodata.field_theory import LinearOscillator
    >>> ev = lattice_eigenvalues(LinearOscillator(omega0=3.0, gamma=0.0), (4, 4), coupling=1.0)
    >>> complex(ev.isel(kx=0, ky=0, branch=0))
    3j
    """
    shape = check_shape(shape)
    a = check_spacing(spacing)
    boundary = check_boundary(boundary)
    lin = linearise(mass)
    mu = laplacian_eigenvalues(shape, a, boundary, kernel or "lattice")
    sigma = mu * a**2 * kernel_moment(kernel)
    mats = lin.jacobian[None, None] - (float(coupling) * sigma)[..., None, None] * \
        mass.coupling_matrix(pathway)
    eig = np.linalg.eigvals(mats)
    order = np.lexsort((-eig.imag, -eig.real), axis=-1)
    eig = np.take_along_axis(eig, order, axis=-1)
    return xr.DataArray(
        eig, dims=("kx", "ky", "branch"),
        coords={"kx": wavenumbers(shape[0], a, boundary), "ky": wavenumbers(shape[1], a, boundary),
                "mu": (("kx", "ky"), mu)},
        name="eigenvalue",
    )


def lattice_dispersion(kx, ky, *, omega0: float, coupling: float, spacing: float = 1.0):
    """``omega^2 = omega0^2 + 4 kappa [sin^2(k_x a/2) + sin^2(k_y a/2)]`` of the oscillator lattice.

    Examples
    --------
    >>> round(float(lattice_dispersion(np.pi, 0.0, omega0=1.0, coupling=1.0)), 12)
    5.0
    """
    a = check_spacing(spacing)
    kx, ky = np.asarray(kx, dtype=float), np.asarray(ky, dtype=float)
    return omega0**2 + 4 * coupling * (np.sin(kx * a / 2) ** 2 + np.sin(ky * a / 2) ** 2)


def klein_gordon_dispersion(k2, params: FieldParameters):
    """Complex frequencies ``s`` of the continuum field for squared wavenumbers ``k2``.

    ``s = -gamma_k / 2 + i sqrt(omega_k^2 - gamma_k^2 / 4)`` with ``omega_k^2 = m^2 + c^2 k^2``
    and ``gamma_k = gamma + eta k^2``.

    Examples
    --------
    >>> s = klein_gordon_dispersion(0.0, FieldParameters(m=5.0, c=1.0, gamma=6.0))
    >>> complex(s)
    (-3+4j)
    """
    k2 = np.asarray(k2, dtype=float)
    w2 = params.m**2 + params.c**2 * k2
    g = params.gamma + params.eta * k2
    return -g / 2 + 1j * np.sqrt((w2 - g**2 / 4).astype(complex))
