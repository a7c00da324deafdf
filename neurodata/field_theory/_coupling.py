"""Coupling kernels of the lattice: nearest neighbours (the default) and a disc of set radius.

A kernel couples site ``i`` to the sites ``i + r_j`` (offsets ``r_j`` in lattice units) with
weights ``w_j``: ``(L_K s)_i = sum_j w_j (s_{i + r_j} - s_i)``, a symmetric operator that
leaves a uniform state unchanged.  On a plane wave ``e^{i k.x}`` it multiplies by minus its
*symbol*

    sigma(k) = sum_j w_j (1 - cos(k . r_j a)),

which is diagonal in the eigenbasis of every boundary condition of :mod:`._grid` (FFT for
periodic; the type-II DCT and type-I DST diagonalise symmetric kernels on the even and odd
extensions of the field, which is how the walls act).  For small ``k``,
``sigma(k) = M2 (k a)^2 + O((k r_max a)^4)`` with the second moment
``M2 = sum_j w_j |r_j|^2 / 4`` (exact for kernels with the square's symmetry), and

    0 <= 1 - sigma(k) / (M2 (k a)^2) <= (k r_max a)^2 / 12,

from ``x^2/2 - x^4/24 <= 1 - cos x <= x^2/2`` applied to each term (``r_max`` the longest
offset).  The five-point stencil is the kernel of the four nearest neighbours, ``M2 = 1``.

The field solvers use the *normalised* kernel Laplacian ``L_K / (a^2 M2)``, whose
eigenvalues ``mu_k = sigma(k) / (a^2 M2) -> |k|^2``: ``c`` keeps its meaning (the speed of
long waves) and the kernel changes only the dispersion of short waves.  Neural-mass
lattices use ``kappa L_K`` (``kappa`` per connection), so a wider kernel makes faster waves:
their continuum speed carries the factor ``M2`` (see :func:`continuum_limit`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurodata.errors import NeurodataError

__all__ = ["DiscKernel", "kernel_offsets", "kernel_symbol"]


@dataclass(frozen=True)
class DiscKernel:
    """Uniform coupling to every site within ``radius`` lattice spacings (centre excluded).

    The paper couples each mass to its neighbours over a disc 0.1 to 1 mm across; on a
    lattice of spacing ``a`` that is ``radius = (disc radius) / a``.  Every site at a
    distance ``0 < |r| <= radius`` (in spacings) is coupled with weight 1.

    Parameters
    ----------
    radius : float
        In lattice spacings, at least 1 (``radius=1`` is the five-point stencil).

    Examples
    --------
    >>> k = DiscKernel(2.0)
    >>> k.offsets.shape[0], k.moment  # 12 neighbours; sum of |r|^2 / 4
    (12, 7.0)
    >>> DiscKernel(1.0).moment
    1.0
    """

    radius: float
    offsets: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        r = float(self.radius)
        if not np.isfinite(r) or r < 1.0:
            raise NeurodataError(f"a disc kernel's radius is at least 1 lattice spacing; got "
                                 f"{self.radius!r}.")
        n = int(np.floor(r))
        ii, jj = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1), indexing="ij")
        d2 = ii**2 + jj**2
        keep = (d2 > 0) & (d2 <= r * r + 1e-9)
        object.__setattr__(self, "offsets", np.stack([ii[keep], jj[keep]], axis=1))

    @property
    def weights(self) -> np.ndarray:
        return np.ones(self.offsets.shape[0])

    @property
    def moment(self) -> float:
        """``M2 = sum_j w_j |r_j|^2 / 4``: the symbol is ``M2 (k a)^2`` for long waves."""
        return float(np.sum(self.weights * np.sum(self.offsets**2, axis=1)) / 4)

    @property
    def reach(self) -> float:
        """The longest offset (lattice spacings)."""
        return float(np.sqrt(np.max(np.sum(self.offsets**2, axis=1))))


def kernel_offsets(kernel) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and weights of a kernel; ``"lattice"`` (or None) is the five-point stencil."""
    if kernel is None or kernel == "lattice":
        return np.array([[1, 0], [-1, 0], [0, 1], [0, -1]]), np.ones(4)
    if isinstance(kernel, DiscKernel):
        return kernel.offsets, kernel.weights
    raise NeurodataError(f"unknown coupling kernel {kernel!r}; use 'lattice' (nearest "
                         f"neighbours) or DiscKernel(radius).")


def kernel_moment(kernel) -> float:
    """``M2`` of a kernel (1 for nearest neighbours)."""
    off, w = kernel_offsets(kernel)
    return float(np.sum(w * np.sum(off**2, axis=1)) / 4)


def kernel_symbol(kx, ky, spacing: float, kernel) -> np.ndarray:
    """``sigma(k) = sum_j w_j (1 - cos(k . r_j a))`` on a grid of wavenumbers (dimensionless).

    Examples
    --------
    >>> kx, ky = np.array([[0.1]]), np.array([[0.0]])
    >>> s = kernel_symbol(kx, ky, 1.0, "lattice")
    >>> bool(np.isclose(s, 4 * np.sin(0.05) ** 2))
    True
    """
    off, w = kernel_offsets(kernel)
    kx, ky = np.asarray(kx, dtype=float), np.asarray(ky, dtype=float)
    out = np.zeros(np.broadcast(kx, ky).shape)
    for (dx, dy), wj in zip(off, w):
        out += wj * (1.0 - np.cos((kx * dx + ky * dy) * spacing))
    return out
