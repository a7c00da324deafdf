"""The stimulus set MDS are optimised over: fixed L2 norm, per-channel value ranges, smoothing.

Burg et al. optimise each most discriminative stimulus (MDS) under a fixed L2
norm with per-channel value ranges, as in the authors' code (a "change the norm
jointly, clip the range separately" post-processing after every gradient step)
and open-retina (the same operator, plus an optional temporal Gaussian
low-pass).  The authors rescale once and then clip, so the clipped stimulus
ends with a norm below the target.  Here the scale is solved for, so that the
*clipped* stimulus has exactly the target norm: ``x -> clip(a x)`` with
``a > 0`` such that ``||clip(a x)|| = norm`` (``||clip(a x)||`` is
non-decreasing in ``a``; a bracketed Newton iteration finds it in a few
steps).  Temporal smoothing, when asked
for, is applied *before* this projection, so that constraints hold exactly
after every step (open-retina smooths after clipping).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from neurodata._utils import renamed_kwargs
from neurodata.errors import NeurodataError, ShapeError

__all__ = ["StimulusConstraint", "make_constraint"]


@dataclass(frozen=True)
class StimulusConstraint:
    """A fixed-norm, range-limited set of stimuli of one shape.

    Parameters
    ----------
    shape : tuple of int
        ``(channel, time, y, x)``.
    norm : float
        The L2 norm of every stimulus.
    low, high : tuple of float
        Per-channel value range.
    temporal_sigma : float
        Width (frames) of the Gaussian low-pass applied along time after every
        gradient step; 0 for none.

    Examples
    --------
    >>> con = make_constraint((1, 4, 3, 3), norm=2.0, value_range=(-1, 1))
    >>> x = con.project(torch.randn(5, 1, 4, 3, 3))
    >>> torch.linalg.vector_norm(x.reshape(5, -1), dim=1).round(decimals=4).tolist()
    [2.0, 2.0, 2.0, 2.0, 2.0]
    """

    shape: tuple[int, int, int, int]
    norm: float
    low: tuple[float, ...]
    high: tuple[float, ...]
    temporal_sigma: float = 0.0

    @property
    def size(self) -> int:
        """Number of values in one stimulus."""
        return int(np.prod(self.shape))

    def _bounds(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lo = torch.tensor(self.low, dtype=x.dtype, device=x.device).view(1, -1, 1, 1, 1)
        hi = torch.tensor(self.high, dtype=x.dtype, device=x.device).view(1, -1, 1, 1, 1)
        return lo, hi

    @functools.cached_property
    def _rows(self) -> tuple[np.ndarray, np.ndarray]:
        per_channel = self.size // self.shape[0]
        return (np.repeat(np.asarray(self.low), per_channel)[None, :],
                np.repeat(np.asarray(self.high), per_channel)[None, :])

    @renamed_kwargs(n_iter="max_iter")
    def project(self, x: torch.Tensor, max_iter: int = 50, rtol: float = 2e-4) -> torch.Tensor:
        """Map stimuli ``(batch, channel, time, y, x)`` onto the set: ``clip(a x)`` with exact norm.

        A zero stimulus has no direction and becomes a constant one.  The
        norm is met to a relative ``rtol / 2``.
        """
        n = len(x)
        if x.device.type == "cpu" and not x.requires_grad:  # numpy: far less per-call overhead
            flat = x.reshape(n, -1).numpy().astype(np.float64)
            flat[~flat.any(axis=1)] = 1.0
            lo_row, hi_row = self._rows
            scale = _scale_numpy(flat, lo_row, hi_row, self.norm, max_iter, rtol)
            out = np.minimum(np.maximum(scale[:, None] * flat, lo_row), hi_row)
            return torch.from_numpy(out.astype(np.float32 if x.dtype == torch.float32 else
                                              np.float64)).to(x.dtype).reshape(x.shape)
        lo, hi = self._bounds(x)
        flat_norm = torch.linalg.vector_norm(x.reshape(n, -1), dim=1)
        x = torch.where((flat_norm == 0).view(-1, 1, 1, 1, 1), torch.ones_like(x), x)
        flat_norm = torch.linalg.vector_norm(x.reshape(n, -1), dim=1)
        a = self._scale(x, lo, hi, flat_norm, max_iter, rtol)
        return torch.clamp(a.view(-1, 1, 1, 1, 1) * x, lo, hi)

    def _scale(self, x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, flat_norm: torch.Tensor,
               n_iter: int, rtol: float) -> torch.Tensor:
        """Root ``a`` of ``f(a) = ||clip(a x)||^2 - norm^2`` by bracketed Newton steps.

        ``f`` is non-decreasing in ``a``.  The bracket starts at ``[0, a_max]``,
        ``a_max`` the scale at which every element clips; a Newton step
        (``f'(a) = 2 a * sum of x_i^2 over unclipped elements``) that leaves the
        bracket is replaced by bisection.
        """
        n = len(x)
        flat = x.reshape(n, -1)
        lo_f = lo.expand_as(x).reshape(n, -1)
        hi_f = hi.expand_as(x).reshape(n, -1)
        bound = torch.where(flat > 0, hi_f, lo_f)
        brk = torch.where(flat != 0, bound / torch.where(flat != 0, flat, 1.0), 0.0)
        a_hi = brk.amax(dim=1)
        a_lo = torch.zeros_like(a_hi)
        a = torch.minimum(self.norm / flat_norm, a_hi)
        target = self.norm**2
        x2 = flat**2
        for _ in range(n_iter):
            ax = a[:, None] * flat
            f = (torch.clamp(ax, lo_f, hi_f) ** 2).sum(1) - target
            done = f.abs() <= rtol * target
            if bool(done.all()):
                break
            a_lo = torch.where(f < 0, a, a_lo)
            a_hi = torch.where(f > 0, a, a_hi)
            slope = 2 * a * (x2 * ((ax > lo_f) & (ax < hi_f))).sum(1)
            newton = a - f / slope.clamp_min(torch.finfo(x.dtype).tiny)
            inside = (newton >= a_lo) & (newton <= a_hi) & (slope > 0)
            a = torch.where(done, a, torch.where(inside, newton, 0.5 * (a_lo + a_hi)))
        return a

    def smooth(self, x: torch.Tensor) -> torch.Tensor:
        """Gaussian low-pass along time (replicate padding); identity when ``temporal_sigma`` is 0."""
        if self.temporal_sigma <= 0 or x.shape[2] < 2:
            return x
        half = max(1, round(3 * self.temporal_sigma))
        t = torch.arange(-half, half + 1, dtype=x.dtype, device=x.device)
        kernel = torch.exp(-0.5 * (t / self.temporal_sigma) ** 2)
        kernel = (kernel / kernel.sum()).view(1, 1, -1)
        b, c, n, h, w = x.shape
        seq = x.permute(0, 1, 3, 4, 2).reshape(-1, 1, n)
        seq = torch.nn.functional.pad(seq, (half, half), mode="replicate")
        out = torch.nn.functional.conv1d(seq, kernel)
        return out.reshape(b, c, h, w, n).permute(0, 1, 4, 2, 3).contiguous()

    def random(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu",
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``n`` random stimuli on the set: smoothed Gaussian noise, projected."""
        x = torch.randn((n, *self.shape), generator=generator, dtype=dtype).to(device)
        return self.project(self.smooth(x))


def _scale_numpy(flat: np.ndarray, lo_f: np.ndarray, hi_f: np.ndarray, norm: float,
                 n_iter: int, rtol: float) -> np.ndarray:
    """:meth:`StimulusConstraint._scale` in numpy (rows of ``flat``; bounds ``(1, size)``)."""
    bound = np.where(flat > 0, hi_f, lo_f)
    nonzero = flat != 0
    brk = np.where(nonzero, bound / np.where(nonzero, flat, 1.0), 0.0)
    a_hi = brk.max(axis=1)
    a_lo = np.zeros_like(a_hi)
    x2 = flat * flat
    a = np.minimum(norm / np.sqrt(x2.sum(axis=1)), a_hi)
    target = norm**2
    for _ in range(n_iter):
        ax = a[:, None] * flat
        y = np.minimum(np.maximum(ax, lo_f), hi_f)
        f = np.einsum("ij,ij->i", y, y) - target
        done = np.abs(f) <= rtol * target
        if done.all():
            break
        a_lo = np.where(f < 0, a, a_lo)
        a_hi = np.where(f > 0, a, a_hi)
        slope = 2 * a * np.einsum("ij,ij->i", x2, y == ax)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = a - f / slope
        inside = (newton >= a_lo) & (newton <= a_hi) & (slope > 0)
        a = np.where(done, a, np.where(inside, newton, 0.5 * (a_lo + a_hi)))
    return a


def _feasible_norms(shape: Sequence[int], low: Sequence[float], high: Sequence[float]) -> tuple[float, float]:
    per_channel = int(np.prod(shape[1:]))
    lo, hi = np.asarray(low, float), np.asarray(high, float)
    nearest = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
    farthest = np.maximum(np.abs(lo), np.abs(hi))
    return (float(np.sqrt(per_channel * np.sum(nearest**2))),
            float(np.sqrt(per_channel * np.sum(farthest**2))))


def make_constraint(shape: Sequence[int], norm: float | None = None,
                    value_range: Sequence[float] | Sequence[Sequence[float]] = (-1.0, 1.0),
                    temporal_sigma: float = 0.0) -> StimulusConstraint:
    """Validate and build a :class:`StimulusConstraint`.

    Parameters
    ----------
    shape : sequence of int
        ``(channel, time, y, x)``.
    norm : float or None
        Target L2 norm; None means ``0.3 * sqrt(shape size)``, i.e. an RMS
        contrast of 0.3 (the contrast of the white noise the synthetic retina
        is characterised with).
    value_range : (low, high) or one (low, high) per channel
        Allowed values.
    temporal_sigma : float
        See :class:`StimulusConstraint`.

    Raises
    ------
    ShapeError
        If ``shape`` is not four positive integers or the ranges do not match the channels.
    NeurodataError
        If a range is empty or no stimulus within the ranges has the requested norm.

    Examples
    --------
    >>> make_constraint((1, 2, 2, 2), norm=10.0)
    Traceback (most recent call last):
    ...
    neurodata.errors.NeurodataError: no stimulus of shape (1, 2, 2, 2) within value ranges ...
    """
    shape_t = tuple(int(s) for s in shape)
    if len(shape_t) != 4 or min(shape_t) < 1:
        raise ShapeError(f"stimulus shape must be (channel, time, y, x) with positive sizes; got "
                         f"{tuple(shape)}.")
    rng = np.asarray(value_range, dtype=float)
    if rng.shape == (2,):
        rng = np.tile(rng, (shape_t[0], 1))
    if rng.shape != (shape_t[0], 2):
        raise ShapeError(f"value_range must be (low, high) or one (low, high) pair per channel "
                         f"({shape_t[0]} channels); got {np.asarray(value_range).tolist()}.")
    if np.any(~np.isfinite(rng)) or np.any(rng[:, 0] >= rng[:, 1]):
        raise NeurodataError(f"every value range must be finite with low < high; got {rng.tolist()}.")
    size = int(np.prod(shape_t))
    target = 0.3 * float(np.sqrt(size)) if norm is None else float(norm)
    if not np.isfinite(target) or target <= 0:
        raise NeurodataError(f"norm must be a positive number; got {norm}.")
    n_min, n_max = _feasible_norms(shape_t, rng[:, 0].tolist(), rng[:, 1].tolist())
    if not n_min * (1 - 1e-9) <= target <= n_max * (1 + 1e-9):
        raise NeurodataError(
            f"no stimulus of shape {shape_t} within value ranges {rng.tolist()} has L2 norm "
            f"{target:g}: achievable norms are [{n_min:.4g}, {n_max:.4g}]. Lower the norm or "
            f"widen the value range.")
    if temporal_sigma < 0:
        raise NeurodataError(f"temporal_sigma must be >= 0 frames; got {temporal_sigma}.")
    return StimulusConstraint(shape_t, target, tuple(rng[:, 0].tolist()), tuple(rng[:, 1].tolist()),
                              float(temporal_sigma))
