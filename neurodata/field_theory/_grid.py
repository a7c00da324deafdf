"""The 2D lattice: boundary conditions, coordinates, the discrete Laplacian and its eigenbasis.

Conventions (shared by the lattice simulator and both field solvers)
--------------------------------------------------------------------
A lattice has ``nx x ny`` sites with one spacing ``a`` in both directions (square
cells).  Site ``(i, j)`` sits at ``(x_i, y_j)``:

``periodic``
    ``x_i = i a``; the domain is a torus of side ``nx a``.
``dirichlet``
    ``x_i = (i + 1) a``; the field is held at zero on walls at ``x = 0`` and
    ``x = (nx + 1) a`` (ghost sites at ``i = -1`` and ``i = nx`` are zero).
``neumann``
    ``x_i = (i + 1/2) a`` (cell centres); zero normal flux through walls at ``x = 0``
    and ``x = nx a`` (ghost site ``i = -1`` mirrors site ``0``).

The five-point lattice Laplacian ``(L u)_ij = u_{i+1,j} + u_{i-1,j} + u_{i,j+1} + u_{i,j-1}
- 4 u_ij`` (unscaled, dimensionless) is symmetric under all three conditions, and is
diagonalised by the FFT (periodic), the type-I DST (Dirichlet) and the type-II DCT
(Neumann), with eigenvalues ``-a^2 mu_k`` where ``mu_k = (4 / a^2) [sin^2(k_x a / 2) +
sin^2(k_y a / 2)]`` and the wavenumbers are ``k = 2 pi n / (N a)``, ``pi n / ((N + 1) a)``
(n = 1..N) and ``pi n / (N a)`` (n = 0..N-1) respectively.  In the continuum limit
``mu_k -> |k|^2``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.fft as sfft
import xarray as xr

from neurodata.errors import NeurodataError, ShapeError
from neurodata.field_theory._coupling import DiscKernel, kernel_symbol

BOUNDARIES = ("periodic", "dirichlet", "neumann")
#: Integer codes used by the numba kernels.
BOUNDARY_CODE = {"periodic": 0, "neumann": 1, "dirichlet": 2}
MIN_SITES = 3


def check_boundary(boundary: Any) -> str:
    """Return the boundary name in lower case, or raise naming the valid ones.

    Examples
    --------
    >>> check_boundary("Periodic")
    'periodic'
    >>> check_boundary("absorbing")
    Traceback (most recent call last):
    ...
    neurodata.errors.NeurodataError: unknown boundary 'absorbing'; use one of 'periodic', 'dirichlet', 'neumann'.
    """
    name = str(boundary).lower() if isinstance(boundary, str) else boundary
    if name not in BOUNDARIES:
        raise NeurodataError(
            f"unknown boundary {boundary!r}; use one of 'periodic', 'dirichlet', 'neumann'."
        )
    return str(name)


def check_shape(shape: Any) -> tuple[int, int]:
    """Validate a lattice shape ``(nx, ny)``: two integers, each at least 3.

    Examples
    --------
    >>> check_shape((8, 6))
    (8, 6)
    >>> check_shape((2, 8))
    Traceback (most recent call last):
    ...
    neurodata.errors.ShapeError: the lattice needs at least 3 sites along each axis for the five-point stencil; got shape (2, 8).
    """
    try:
        nx, ny = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ShapeError(f"a lattice shape is two integers (nx, ny); got {shape!r}.") from None
    if (nx, ny) != tuple(shape):
        raise ShapeError(f"a lattice shape is two integers (nx, ny); got {shape!r}.")
    if min(nx, ny) < MIN_SITES:
        raise ShapeError(
            f"the lattice needs at least {MIN_SITES} sites along each axis for the five-point "
            f"stencil; got shape {(nx, ny)}."
        )
    return nx, ny


def check_spacing(spacing: Any) -> float:
    """Validate the lattice spacing: one positive number (cells are square).

    A pair ``(dx, dy)`` is accepted only when both are equal.

    Examples
    --------
    >>> check_spacing(0.5)
    0.5
    >>> check_spacing((1.0, 2.0))
    Traceback (most recent call last):
    ...
    neurodata.errors.ShapeError: the cells must be square (one spacing for x and y); got dx=1.0, dy=2.0. Resample the sheet onto a square grid.
    """
    if isinstance(spacing, Sequence) or (isinstance(spacing, np.ndarray) and spacing.ndim):
        vals = [float(s) for s in np.ravel(spacing)]
        if len(vals) != 2:
            raise ShapeError(f"spacing is one number or a pair (dx, dy); got {spacing!r}.")
        if not np.isclose(vals[0], vals[1], rtol=1e-9, atol=0.0):
            raise ShapeError(
                f"the cells must be square (one spacing for x and y); got dx={vals[0]}, "
                f"dy={vals[1]}. Resample the sheet onto a square grid."
            )
        spacing = vals[0]
    a = float(spacing)
    if not np.isfinite(a) or a <= 0:
        raise ShapeError(f"the lattice spacing must be a positive number; got {spacing!r}.")
    return a


def site_coords(n: int, spacing: float, boundary: str) -> np.ndarray:
    """Positions of ``n`` sites along one axis (see the module conventions).

    Examples
    --------
    >>> site_coords(3, 1.0, "neumann")
    array([0.5, 1.5, 2.5])
    """
    offset = {"periodic": 0.0, "dirichlet": 1.0, "neumann": 0.5}[boundary]
    return (np.arange(n) + offset) * spacing


def wavenumbers(n: int, spacing: float, boundary: str) -> np.ndarray:
    """Wavenumbers (rad per unit length) of the eigenmodes along one axis, in transform order.

    Examples
    --------
    >>> np.round(wavenumbers(4, 1.0, "periodic") / np.pi, 3)
    array([ 0. ,  0.5, -1. , -0.5])
    """
    if boundary == "periodic":
        return 2 * np.pi * np.fft.fftfreq(n, d=spacing)
    if boundary == "dirichlet":
        return np.pi * np.arange(1, n + 1) / ((n + 1) * spacing)
    return np.pi * np.arange(n) / (n * spacing)


def laplacian_eigenvalues(
    shape: tuple[int, int], spacing: float, boundary: str, laplacian: Any = "lattice"
) -> np.ndarray:
    """``mu_k`` on the ``(kx, ky)`` grid: ``-mu_k`` are the eigenvalues of the Laplacian.

    ``laplacian="lattice"`` gives the five-point stencil's ``(4/a^2) sum sin^2(k a/2)``,
    ``"spectral"`` the continuum ``|k|^2``, and a coupling kernel (:class:`DiscKernel`) its
    normalised symbol ``sigma(k) / (a^2 M2)`` (see :mod:`._coupling`), all ``~ |k|^2`` for
    long waves.

    Examples
    --------
    >>> mu = laplacian_eigenvalues((4, 4), 1.0, "periodic")
    >>> float(mu.max())
    8.0
    """
    kx = wavenumbers(shape[0], spacing, boundary)[:, None]
    ky = wavenumbers(shape[1], spacing, boundary)[None, :]
    if isinstance(laplacian, str) and laplacian == "lattice":
        return (4.0 / spacing**2) * (np.sin(kx * spacing / 2) ** 2 + np.sin(ky * spacing / 2) ** 2)
    if isinstance(laplacian, str) and laplacian == "spectral":
        return kx**2 + ky**2
    if isinstance(laplacian, DiscKernel):
        return kernel_symbol(kx, ky, spacing, laplacian) / (spacing**2 * laplacian.moment)
    raise NeurodataError(f"unknown laplacian or coupling kernel {laplacian!r}; use 'lattice' "
                         f"(nearest neighbours), 'spectral' or DiscKernel(radius).")


def kernel_laplacian(u: np.ndarray, boundary: str, kernel: Any) -> np.ndarray:
    """``sum_j w_j (u_{i + r_j} - u_i)`` over the last two axes (unscaled), any kernel.

    Computed exactly in the eigenbasis of the boundary condition (the field extended
    periodically, evenly or oddly across the walls); the five-point stencil goes to
    :func:`lattice_laplacian`.

    Examples
    --------
    >>> u = np.zeros((8, 8)); u[4, 4] = 1.0
    >>> bool(np.allclose(kernel_laplacian(u, "periodic", "lattice"),
    ...                  lattice_laplacian(u, "periodic")))
    True
    """
    if kernel is None or (isinstance(kernel, str) and kernel == "lattice"):
        return lattice_laplacian(u, boundary)
    sym = _symbol_grid(tuple(u.shape[-2:]), boundary, kernel)
    return from_modes(-sym * to_modes(u, boundary), boundary)


@functools.lru_cache(maxsize=16)
def _symbol_grid(shape: tuple[int, int], boundary: str, kernel: Any) -> np.ndarray:
    kx = wavenumbers(shape[0], 1.0, boundary)[:, None]
    ky = wavenumbers(shape[1], 1.0, boundary)[None, :]
    return kernel_symbol(kx, ky, 1.0, kernel)


def lattice_laplacian(u: np.ndarray, boundary: str) -> np.ndarray:
    """The unscaled five-point Laplacian over the last two axes of ``u``.

    Examples
    --------
    >>> u = np.zeros((3, 3)); u[1, 1] = 1.0
    >>> lattice_laplacian(u, "dirichlet")
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]])
    """
    if u.ndim == 2 and u.dtype in (np.float64, np.complex128) and u.flags.c_contiguous:
        from neurodata.field_theory._kernels import laplacian5

        return laplacian5(u, BOUNDARY_CODE[boundary])
    if boundary == "periodic":
        return (np.roll(u, 1, -2) + np.roll(u, -1, -2) + np.roll(u, 1, -1)
                + np.roll(u, -1, -1) - 4 * u)
    pad = [(0, 0)] * (u.ndim - 2) + [(1, 1), (1, 1)]
    p = np.pad(u, pad, mode="constant" if boundary == "dirichlet" else "edge")
    return (p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:]
            - 4 * u)


def to_modes(u: np.ndarray, boundary: str) -> np.ndarray:
    """Orthonormal transform of the last two axes into the Laplacian eigenbasis."""
    if boundary == "periodic":
        return sfft.fft2(u, axes=(-2, -1), norm="ortho")
    if boundary == "dirichlet":
        return sfft.dstn(u, type=1, axes=(-2, -1), norm="ortho")
    return sfft.dctn(u, type=2, axes=(-2, -1), norm="ortho")


def from_modes(uk: np.ndarray, boundary: str) -> np.ndarray:
    """Inverse of :func:`to_modes` (real output)."""
    if boundary == "periodic":
        return sfft.ifft2(uk, axes=(-2, -1), norm="ortho").real
    if boundary == "dirichlet":
        return sfft.idstn(uk, type=1, axes=(-2, -1), norm="ortho")
    return sfft.idctn(uk, type=2, axes=(-2, -1), norm="ortho")


def mode_weights(shape: tuple[int, int], boundary: str, sites: np.ndarray | None) -> np.ndarray:
    """Mean of ``|e_k(x)|^2`` over the given sites (``1/N`` for every mode when ``sites`` is None).

    ``sites`` is an ``(n, 2)`` integer array of lattice indices.
    """
    n_sites = shape[0] * shape[1]
    if sites is None:
        return np.full(shape, 1.0 / n_sites)
    sites = np.asarray(sites, dtype=int).reshape(-1, 2)
    w = np.zeros(shape)
    for i, j in sites:
        delta = np.zeros(shape)
        delta[i, j] = 1.0
        w += np.abs(to_modes(delta, boundary)) ** 2
    return w / len(sites)


def field_array(values: Any, shape: tuple[int, int] | None, name: str) -> np.ndarray:
    """A float64 copy of a 2D field given as an array or a DataArray with dims ``(x, y)``."""
    if isinstance(values, xr.DataArray):
        if set(values.dims) != {"x", "y"}:
            raise ShapeError(f"{name} must have dims ('x', 'y'); got {values.dims}.")
        values = values.transpose("x", "y").values
    arr = np.array(values, dtype=float, copy=True)
    if arr.ndim != 2:
        raise ShapeError(f"{name} must be a 2D field (x, y); got an array of shape {arr.shape}.")
    if shape is not None and arr.shape != tuple(shape):
        raise ShapeError(f"{name} has shape {arr.shape}; the lattice is {tuple(shape)}.")
    if not np.all(np.isfinite(arr)):
        raise ShapeError(f"{name} has NaN or infinite values.")
    return arr


def spacing_from_coords(values: Any, spacing: float | None) -> float:
    """The spacing of a DataArray's uniform ``x``/``y`` coordinates, or ``spacing`` if given."""
    if spacing is not None:
        return check_spacing(spacing)
    if isinstance(values, (xr.DataArray, xr.Dataset)) and "x" in values.coords and "y" in values.coords:
        steps = []
        for dim in ("x", "y"):
            c = np.asarray(values[dim].values, dtype=float)
            d = np.diff(c)
            if c.size < 2 or not np.allclose(d, d[0], rtol=1e-6, atol=0.0):
                raise ShapeError(f"coordinate {dim!r} is not uniformly spaced; pass spacing=.")
            steps.append(float(d[0]))
        return check_spacing(steps)
    return 1.0


def sheet_coords(shape: tuple[int, int], spacing: float, boundary: str) -> dict[str, np.ndarray]:
    """The ``x`` and ``y`` coordinates of a sheet."""
    return {"x": site_coords(shape[0], spacing, boundary),
            "y": site_coords(shape[1], spacing, boundary)}
