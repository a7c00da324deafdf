"""Bad input raises a neurodata error with a precise message, before any long run."""

from __future__ import annotations

import time

import numpy as np
import pytest
import xarray as xr

from neurodata.errors import NeurodataError, ShapeError, UnstableDynamicsError
from neurodata.field_theory import (
    JansenRit,
    LinearOscillator,
    NeuralMass,
    StuartLandau,
    continuum_limit,
    fit_field,
    linearise,
    simulate_lattice,
    solve_leapfrog,
    solve_spectral,
)


class _NoRest(NeuralMass):
    """da/dt = a^2 + 1 has no fixed point."""

    state_names = ("a", "b")
    coupling_target = "b"
    coupling_source = {"a": 1.0}  # noqa: RUF012
    noise_target = "b"
    observable = "a"

    def rhs(self, x):
        return np.stack([x[0] * x[0] + 1.0, -x[1]])


def test_cfl_violation_raises_before_the_run():
    start = time.perf_counter()
    with pytest.raises(UnstableDynamicsError, match="CFL"):
        solve_leapfrog(np.zeros((64, 64)), m=1.0, c=1.0, dt=0.8, n_steps=10**9, progress=False)
    assert time.perf_counter() - start < 1.0
    with pytest.raises(UnstableDynamicsError, match="CFL"):
        solve_leapfrog(np.zeros((8, 8)), m=1.0, c=1.0, spacing=0.1, dt=0.1, n_steps=5,
                       progress=False)


@pytest.mark.parametrize("bad", [np.zeros((2, 8)), np.zeros(16), np.zeros((4, 4, 4))])
def test_bad_grids_raise(bad):
    with pytest.raises(ShapeError):
        solve_leapfrog(bad, m=1.0, c=1.0, dt=0.1, n_steps=1, progress=False)
    with pytest.raises(ShapeError):
        solve_spectral(bad, m=1.0, c=1.0, times=[0.0], progress=False)


def test_non_square_cells_raise():
    x, y = np.arange(8) * 1.0, np.arange(8) * 2.0
    da = xr.DataArray(np.zeros((8, 8)), dims=("x", "y"), coords={"x": x, "y": y})
    with pytest.raises(ShapeError, match="square"):
        solve_leapfrog(da, m=1.0, c=1.0, dt=0.1, n_steps=1, progress=False)
    with pytest.raises(ShapeError, match="square"):
        solve_spectral(np.zeros((8, 8)), m=1.0, c=1.0, spacing=(1.0, 2.0), times=[0.0],
                       progress=False)
    with pytest.raises(ShapeError, match="at least 3"):
        simulate_lattice(StuartLandau(), (2, 16), coupling=1.0, progress=False)


@pytest.mark.parametrize("call", [
    lambda: solve_leapfrog(np.zeros((8, 8)), m=1.0, c=1.0, dt=0.1, n_steps=1,
                           boundary="absorbing", progress=False),
    lambda: solve_spectral(np.zeros((8, 8)), m=1.0, c=1.0, times=[0.0], boundary="open",
                           progress=False),
    lambda: simulate_lattice(StuartLandau(), (8, 8), coupling=1.0, boundary="torus",
                             progress=False),
])
def test_unknown_boundary_raises(call):
    with pytest.raises(NeurodataError, match="unknown boundary"):
        call()


@pytest.mark.parametrize("mass", [StuartLandau(lam=2.0), JansenRit(p=220.0),
                                  LinearOscillator(gamma=-1.0)],
                         ids=["limit-cycle", "jansen-rit-alpha", "negative-damping"])
def test_masses_without_a_stable_fixed_point_raise(mass):
    start = time.perf_counter()
    with pytest.raises(UnstableDynamicsError, match="no stable fixed point"):
        simulate_lattice(mass, (8, 8), coupling=1.0, duration=1e6, progress=False)
    assert time.perf_counter() - start < 2.0
    with pytest.raises(UnstableDynamicsError):
        continuum_limit(mass, 1.0)


def test_missing_fixed_point_and_bad_coupling_raise():
    with pytest.raises(UnstableDynamicsError, match="no fixed point"):
        linearise(_NoRest())
    with pytest.raises(UnstableDynamicsError, match="anti-diffusive"):
        continuum_limit(StuartLandau(), coupling=-10.0)
    with pytest.raises(UnstableDynamicsError, match="growing modes"):
        simulate_lattice(StuartLandau(lam=-1.0, omega=10.0), (8, 8), coupling=-30.0,
                         progress=False)


def test_heun_step_limit_and_undamped_lattice_raise():
    with pytest.raises(UnstableDynamicsError, match="too large") as err:
        simulate_lattice(LinearOscillator(omega0=60.0, gamma=8.0), (8, 8), coupling=3000.0,
                         dt=5e-3, progress=False)
    limit = float(str(err.value).split("dt < ")[1].split(" s")[0])
    simulate_lattice(LinearOscillator(omega0=60.0, gamma=8.0), (8, 8), coupling=3000.0,
                     dt=0.99 * limit, duration=5 * limit, progress=False)
    with pytest.raises(UnstableDynamicsError, match="undamped"):
        simulate_lattice(LinearOscillator(omega0=60.0, gamma=0.0), (8, 8), coupling=10.0,
                         progress=False)


def test_bad_parameters_and_sheets_raise():
    with pytest.raises(NeurodataError, match=">= 0"):
        solve_spectral(np.zeros((8, 8)), m=-1.0, c=1.0, times=[0.0], progress=False)
    with pytest.raises(NeurodataError, match="increasing"):
        solve_spectral(np.zeros((8, 8)), m=1.0, c=1.0, times=[1.0, 0.5], progress=False)
    with pytest.raises(ShapeError, match="dims"):
        fit_field(xr.DataArray(np.zeros((100, 4)), dims=("time", "x")))
    with pytest.raises(ShapeError, match="shape"):
        solve_leapfrog(np.zeros((8, 8)), np.zeros((8, 9)), m=1.0, c=1.0, dt=0.1, n_steps=1,
                       progress=False)
