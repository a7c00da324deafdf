"""Several fields at once: E-I bilayers, a canonical microcircuit, and their spectra.

The paper's later summary describes cortex as several excitatory-inhibitory *bilayers*,
whose fields form a complex vector field with one component per bilayer.  Here a mass
with several oscillatory eigenvalue pairs carries one damped Klein-Gordon field per pair
(:func:`continuum_limits`); :func:`complex_field` projects a simulated lattice onto the
pairs' left eigenvectors, giving one complex component per pair, each rotating at its own
frequency.  For the spectrum of such a lattice, :func:`lattice_spectrum` sums, over the
lattice's eigenmodes, the power of the linearised mode's transfer function from the noise
to the observable: rhythm peaks at the pairs' frequencies on top of the aperiodic part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from neurodata.errors import NeurodataError
from neurodata.field_theory._coupling import kernel_moment
from neurodata.field_theory._grid import (
    check_boundary,
    check_shape,
    check_spacing,
    laplacian_eigenvalues,
    mode_weights,
)
from neurodata.field_theory._masses import NeuralMass, WilsonCowan, _sigmoid, linearise

__all__ = ["CanonicalMicrocircuit", "EIBilayers", "complex_field", "lattice_spectrum"]


@dataclass(frozen=True)
class EIBilayers(NeuralMass):
    """Wilson-Cowan excitatory-inhibitory pairs (bilayers) coupled between neighbouring layers.

    Layer ``l`` is a :class:`WilsonCowan` mass with time constant ``taus[l]`` (for both
    populations); its excitatory population also receives ``inter * E`` of the layers
    ``l - 1`` and ``l + 1`` inside its sigmoid.  The defaults give two branches, near 17 Hz
    and 56 Hz.  On a lattice each layer's inhibition drives its own excitation
    (``I_l -> E_l``, as in :class:`WilsonCowan`); the observable is the summed excitation.

    Parameters
    ----------
    taus : tuple of float
        Time constant of each layer (s); their number is the number of bilayers.
    inter : float
        Gain of excitation between neighbouring layers.
    layer : WilsonCowan
        The other Wilson-Cowan parameters, shared by the layers.

    Examples
    --------
    >>> ev = linearise(EIBilayers()).eigenvalues
    >>> np.round(np.sort(ev.imag[ev.imag > 0]) / (2 * np.pi), 1)
    array([16.7, 55.8])
    """

    taus: tuple = (0.02, 0.006)
    inter: float = 0.5
    layer: WilsonCowan = field(default_factory=WilsonCowan)
    noise_target: ClassVar[str] = "E0"
    observable: ClassVar[str] = "E"

    @property
    def state_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(f"{p}{i}" for i in range(len(self.taus)) for p in ("E", "I"))

    def default_pathway(self):
        return [(f"I{i}", f"E{i}") for i in range(len(self.taus))]

    def observation_weights(self) -> np.ndarray:
        return np.tile([1.0, 0.0], len(self.taus))

    def rhs(self, x):
        wc, n = self.layer, len(self.taus)
        out = []
        for i in range(n):
            e, inh = x[2 * i], x[2 * i + 1]
            other = sum(x[2 * j] for j in (i - 1, i + 1) if 0 <= j < n)
            se = _sigmoid(wc.a_e * (wc.w_ee * e - wc.w_ei * inh + wc.p + self.inter * other
                                    - wc.theta_e))
            si = _sigmoid(wc.a_i * (wc.w_ie * e - wc.w_ii * inh + wc.q - wc.theta_i))
            out += [(-e + se) / self.taus[i], (-inh + si) / self.taus[i]]
        return np.stack(out)

    def initial_guess(self) -> np.ndarray:
        return np.tile([0.2, 0.1], len(self.taus))

    def params(self) -> dict:
        return {"taus": list(self.taus), "inter": self.inter}


@dataclass(frozen=True)
class CanonicalMicrocircuit(NeuralMass):
    """A four-population canonical microcircuit (spiny stellate, superficial pyramidal,
    inhibitory interneurons, deep pyramidal), in the form of Bastos et al. (2012).

    Each population ``p`` has a membrane potential ``v_p`` with a second-order synaptic
    response, ``v_p'' = k_p^2 (sum_q G_pq S(v_q) - v_p) - 2 k_p v_p'``, ``k_p = 1 / tau_p``,
    ``S(v) = 1 / (1 + e^{-r v}) - 1/2``.  The wiring (signs) follows the canonical
    microcircuit: SS -> SP, SP -> DP, SS -> II, DP -> II excite; II -> SS and II -> DP
    inhibit; every population inhibits itself.  The time constants (2, 2, 16, 28 ms) are
    those of the DCM canonical microcircuit; the gains are ours, chosen for a stable focus
    with an alpha (~10 Hz) and a gamma (~62 Hz) pair (they are not SPM's values).  The
    alpha pair lives mostly in the deep pyramidal cells and the gamma pair in the
    interneuron loop, so on a lattice those two populations couple horizontally
    (``v_dp -> u_dp`` and ``v_ii -> u_ii``): the coupling that gives both fields
    ``c^2 > 0`` (coupling the superficial pyramidal cells alone makes the gamma field
    anti-diffusive).  The observable is the superficial pyramidal potential, the main
    source of ECoG/EEG.

    Examples
    --------
    >>> ev = linearise(CanonicalMicrocircuit()).eigenvalues
    >>> slow = ev[(ev.imag > 0) & (-ev.real < 100)]
    >>> np.round(np.sort(slow.imag) / (2 * np.pi), 1)
    array([ 9.8, 62.5])
    """

    taus: tuple = (0.002, 0.002, 0.016, 0.028)
    gains: tuple = (17.0, 50.0, 43.0, 112.0, 54.0, 11.0, 119.0, 80.0, 15.0, 14.0)
    r: float = 2.0 / 3.0
    state_names: ClassVar[tuple[str, ...]] = ("v_ss", "v_sp", "v_ii", "v_dp",
                                              "u_ss", "u_sp", "u_ii", "u_dp")
    coupling_target: ClassVar[str] = "u_dp"
    coupling_source: ClassVar[dict[str, float]] = {"v_dp": 1.0}
    noise_target: ClassVar[str] = "u_ss"
    observable: ClassVar[str] = "v_sp"

    def default_pathway(self):
        return [("v_dp", "u_dp"), ("v_ii", "u_ii")]

    def connectivity(self) -> np.ndarray:
        """``G`` (4 x 4, effect of column on row; order SS, SP, II, DP)."""
        g11, g13, g21, g22, g31, g34, g33, g42, g43, g44 = self.gains
        return np.array([[-g11, 0.0, -g13, 0.0], [g21, -g22, 0.0, 0.0],
                         [g31, 0.0, -g33, g34], [0.0, g42, -g43, -g44]])

    def rhs(self, x):
        k = 1.0 / np.asarray(self.taus)
        v, u = x[:4], x[4:]
        s = 1.0 / (1.0 + np.exp(-self.r * v)) - 0.5
        drive = np.tensordot(self.connectivity(), s, axes=(1, 0))
        kk = k.reshape((4,) + (1,) * (np.ndim(v) - 1))
        return np.concatenate([u, kk**2 * (drive - v) - 2 * kk * u])

    def params(self) -> dict:
        return {"taus": list(self.taus), "gains": list(self.gains), "r": self.r}


def complex_field(ds: xr.Dataset, mass: NeuralMass) -> xr.DataArray:
    """One complex field per oscillatory eigenvalue pair of the mass, from a lattice simulation.

    ``psi_p(x, t) = u_p^H (x(x, t) - x*)`` with ``u_p`` the left eigenvector of the pair's
    eigenvalue of positive imaginary part: for the linearised uniform mode
    ``dpsi_p/dt = s_p psi_p``, so each component rotates at its own frequency and decays at
    its own rate.  Components are sorted by frequency.

    Parameters
    ----------
    ds : Dataset
        From :func:`simulate_lattice` (one variable per state, dims ``(time, x, y)``).
    mass : NeuralMass
        The mass simulated.

    Returns
    -------
    xarray.DataArray
        Complex, dims ``(time, x, y, component)``, coordinate ``frequency`` (Hz) on
        ``component``.

    Examples
    --------
    >>> from neurodata.field_theory import simulate_lattice
    >>> mass = EIBilayers()
    >>> ds = simulate_lattice(mass, (4, 4), coupling=50.0, dt=2e-4, duration=0.05,
    ...                       noise=0.01, random_state=0, progress=False)
    >>> psi = complex_field(ds, mass)
    >>> psi.dims, np.round(psi.frequency.values, 1)
    (('time', 'x', 'y', 'component'), array([16.7, 55.8]))
    """
    import scipy.linalg as sla

    lin = linearise(mass)
    w, vl = sla.eig(lin.jacobian, left=True, right=False)
    keep = np.flatnonzero(w.imag > 1e-12 * np.abs(w))
    keep = keep[np.argsort(w.imag[keep])]
    missing = [n for n in mass.state_names if n not in ds]
    if missing:
        raise NeurodataError(f"the simulation lacks the states {missing} of the "
                             f"{type(mass).__name__} mass.")
    x = np.stack([ds[n].values for n in mass.state_names], axis=-1) - lin.fixed_point
    psi = x @ vl[:, keep].conj()
    return xr.DataArray(psi, dims=("time", "x", "y", "component"),
                        coords={"time": ds.time.values, "x": ds.x.values, "y": ds.y.values,
                                "component": np.arange(keep.size),
                                "frequency": ("component", w.imag[keep] / (2 * np.pi))},
                        name="psi")


def lattice_spectrum(mass: NeuralMass, frequencies: Any, *, shape: tuple[int, int],
                     coupling: float, spacing: float = 1.0, boundary: str = "periodic",
                     noise: float = 1.0, kernel: Any = None, pathway: Any = None,
                     sites: Any = None) -> xr.DataArray:
    """Stationary spectrum of the observable of a noise-driven lattice of (linearised) masses.

    Mode ``k`` is ``dx_k/dt = J_k x_k + sigma e_noise xi_k``, ``J_k = J - kappa sigma_k B``;
    its observable ``o^T x_k`` has the one-sided PSD
    ``2 sigma^2 |o^T (i omega - J_k)^{-1} e_noise|^2``, and a site's spectrum is the sum over
    modes weighted by ``|e_k(x)|^2``.  For a two-state oscillator this is exactly the
    equipartition spectrum; for a larger mass it has a peak at each oscillatory pair.

    Examples
    --------
    >>> from neurodata.field_theory import LinearOscillator, equipartition_spectrum
    >>> f = np.array([5.0, 20.0])
    >>> a = lattice_spectrum(LinearOscillator(omega0=30.0, gamma=4.0), f, shape=(8, 8),
    ...                      coupling=100.0)
    >>> b = equipartition_spectrum(f, m=30.0, c=10.0, gamma=4.0, shape=(8, 8))
    >>> bool(np.allclose(a, b))
    True
    """
    shape = check_shape(shape)
    a = check_spacing(spacing)
    boundary = check_boundary(boundary)
    f = np.asarray(frequencies, dtype=float).ravel()
    lin = linearise(mass)
    bmat = mass.coupling_matrix(pathway)
    sigma_k = (laplacian_eigenvalues(shape, a, boundary, kernel or "lattice") * a**2
               * kernel_moment(kernel)).ravel()
    weights = mode_weights(shape, boundary, sites).ravel()
    keys, inv = np.unique(np.round(sigma_k, 12), return_inverse=True)
    wsum = np.bincount(np.ravel(inv), weights=weights)
    e = np.zeros(mass.n_states)
    e[mass.state_names.index(mass.noise_target)] = 1.0
    o = mass.observation_weights()
    n = mass.n_states
    mats = (1j * 2 * np.pi * f)[None, :, None, None] * np.eye(n) - \
        (lin.jacobian[None, None] - float(coupling) * keys[:, None, None, None] * bmat)
    h = np.linalg.solve(mats, np.broadcast_to(e, (keys.size, f.size, n))[..., None])[..., 0]
    power = 2 * float(noise) ** 2 * np.abs(h @ o) ** 2
    return xr.DataArray(wsum @ power, dims="frequency", coords={"frequency": f}, name="psd",
                        attrs={"units": "units^2/Hz", "model": "linearised lattice"})
