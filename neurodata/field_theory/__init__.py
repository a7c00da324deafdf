"""Canonical cortical field theory (Cooray, Cooray & Friston 2023, arXiv:2308.10645).

Neural masses on a 2D lattice, their continuum limit (damped Klein-Gordon fields with
``m`` and ``c`` from the lattice parameters), exact-in-time spectral and symplectic
leapfrog solvers, the equipartition spectrum and fits of the field to recordings (electrode
arrays, imaging sheets), simulated sheets and spectra.  See ``docs/field_theory.rst`` for the equations.
"""

from __future__ import annotations

from neurodata.field_theory._continuum import (
    FieldParameters,
    continuum_limit,
    continuum_limits,
    coupled_field_operators,
    klein_gordon_dispersion,
    lattice_dispersion,
    lattice_eigenvalues,
)
from neurodata.field_theory._coupling import DiscKernel
from neurodata.field_theory._cross_spectrum import field_cross_spectrum, measure_cross_spectrum
from neurodata.field_theory._fit import estimate_mode_dispersion, fit_field
from neurodata.field_theory._fit_evoked import fit_evoked
from neurodata.field_theory._fit_spectrum import fit_field_spectrum
from neurodata.field_theory._lattice import lattice_jacobian, lattice_rhs, simulate_lattice
from neurodata.field_theory._leapfrog import cfl_limit, discrete_energy, solve_leapfrog
from neurodata.field_theory._masses import (
    JansenRit,
    Linearisation,
    LinearOscillator,
    NeuralMass,
    StuartLandau,
    WilsonCowan,
    linearise,
)
from neurodata.field_theory._model import CorticalFieldModel
from neurodata.field_theory._multilayer import (
    CanonicalMicrocircuit,
    EIBilayers,
    complex_field,
    lattice_spectrum,
)
from neurodata.field_theory._observation import (
    CalciumIndicator,
    ExponentialLeadField,
    GaussianPointSpread,
    PointSensor,
)
from neurodata.field_theory._plot import plot_coherence, plot_dispersion, plot_spectrum
from neurodata.field_theory._recording import FieldSamples, field_samples
from neurodata.field_theory._spectra import (
    EMPIRICAL_EXPONENTS,
    equipartition_psd,
    equipartition_spectrum,
    measure_spectrum,
    spectral_slope,
)
from neurodata.field_theory._spectral import solve_spectral

__all__ = [
    "EMPIRICAL_EXPONENTS",
    "CalciumIndicator",
    "CanonicalMicrocircuit",
    "CorticalFieldModel",
    "DiscKernel",
    "EIBilayers",
    "ExponentialLeadField",
    "FieldParameters",
    "FieldSamples",
    "GaussianPointSpread",
    "JansenRit",
    "LinearOscillator",
    "Linearisation",
    "NeuralMass",
    "PointSensor",
    "StuartLandau",
    "WilsonCowan",
    "cfl_limit",
    "complex_field",
    "continuum_limit",
    "continuum_limits",
    "coupled_field_operators",
    "discrete_energy",
    "equipartition_psd",
    "equipartition_spectrum",
    "estimate_mode_dispersion",
    "field_cross_spectrum",
    "field_samples",
    "fit_evoked",
    "fit_field",
    "fit_field_spectrum",
    "klein_gordon_dispersion",
    "lattice_dispersion",
    "lattice_eigenvalues",
    "lattice_jacobian",
    "lattice_rhs",
    "lattice_spectrum",
    "linearise",
    "measure_cross_spectrum",
    "measure_spectrum",
    "plot_coherence",
    "plot_dispersion",
    "plot_spectrum",
    "simulate_lattice",
    "solve_leapfrog",
    "solve_spectral",
    "spectral_slope",
]
