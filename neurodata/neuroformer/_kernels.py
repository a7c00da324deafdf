"""Fused element-wise kernels of the training step on a CPU (numba).

Dropout with a residual addition is the most frequent element-wise operation
of a Neuroformer step (two per block).  Written with torch operations, the
mask, the mixed float32 / bfloat16 operands and the boolean mask each cost a
pass (a copy of the bfloat16 operand and of the mask to float32 before the
arithmetic); here one pass reads the random bits, the operand and the residual
and writes the output and the one-byte mask, and one pass computes the
gradient.  bfloat16 values are handled through their bits (the upper half of a
float32), and rounding to bfloat16 is round-to-nearest-even, as in torch.

The random bits come from torch (so ``torch.manual_seed`` and the estimator's
``random_state`` decide them): 16 uniform bits per element, 4 per draw of a
64-bit generator (see :func:`keep_threshold`).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["dropout_add_backward", "dropout_add_forward", "fused_available", "keep_threshold",
           "random_bits"]

_NUMBA: list = []


def _numba():
    """The compiled kernels, or None where numba is missing."""
    if not _NUMBA:
        try:
            import numba
        except ImportError:                             # pragma: no cover - numba is a dependency
            _NUMBA.append(None)
        else:
            _NUMBA.append(_compile(numba))
    return _NUMBA[0]


def _compile(numba):
    njit = numba.njit(cache=True, nogil=True, boundscheck=False)

    @njit
    def forward(a, a_bf16, residual, has_residual, bits, threshold, scale, out, keep):
        # out = residual + keep * scale * a (a float32, or bfloat16 bits in a_bf16)
        out_bits = out.view(np.uint32)
        for i in range(out.size):
            k = bits[i] >= threshold
            keep[i] = k
            if a_bf16.size:
                out_bits[i] = np.uint32(a_bf16[i]) << np.uint32(16)
                v = out[i]
            else:
                v = a[i]
            v = v * scale if k else np.float32(0.0)
            out[i] = residual[i] + v if has_residual else v

    @njit
    def backward(grad, keep, scale, out, out_bf16):
        # keep * scale * grad into float32 ``out`` or, rounded, into bfloat16 bits
        scratch = np.empty(1, np.float32)
        scratch_bits = scratch.view(np.uint32)
        for i in range(grad.size):
            v = grad[i] * scale if keep[i] else np.float32(0.0)
            if out_bf16.size:
                scratch[0] = v
                u = scratch_bits[0]
                out_bf16[i] = np.uint16((u + np.uint32(0x7FFF) + ((u >> np.uint32(16))
                                                                 & np.uint32(1))) >> np.uint32(16))
            else:
                out[i] = v

    return forward, backward


def keep_threshold(p: float) -> tuple[int, float]:
    """The int16 threshold that keeps an element with probability ``1 - p``, and the
    scale ``1 / P(keep)``.

    A uniform int16 ``r`` keeps its element when ``r >= threshold``: the drop
    probability is ``p`` rounded to a multiple of 2**-16 (0.2 -> 0.1999969),
    and the scale is the inverse of the exact keep probability, so that dropout
    leaves every expectation unchanged.

    Examples
    --------
    >>> keep_threshold(0.2)
    (-19661, 1.2499952316466079)
    """
    n_drop = round(p * 65536)
    return -32768 + n_drop, 65536 / (65536 - n_drop)


def random_bits(n: int, device) -> torch.Tensor:
    """``n`` uniform int16 values (four per 64-bit draw of torch's generator).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> r = random_bits(100_000, "cpu")
    >>> r.dtype, bool(abs(float((r < 0).float().mean()) - 0.5) < 0.01)
    (torch.int16, True)
    """
    draws = torch.empty((n + 3) // 4, dtype=torch.int64, device=device)
    return draws.random_(-2**63, None).view(torch.int16)[:n]


def fused_available(*tensors) -> bool:
    """Whether the fused kernels apply: CPU, contiguous, float32 or bfloat16, numba."""
    return all(t is None or (t.device.type == "cpu" and t.is_contiguous()
                             and t.dtype in (torch.float32, torch.bfloat16))
               for t in tensors) and _numba() is not None


_EMPTY_U16 = np.empty(0, np.uint16)
_EMPTY_F32 = np.empty(0, np.float32)


def _flat(t: torch.Tensor) -> np.ndarray:
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().reshape(-1).view(np.uint16)
    return t.numpy().reshape(-1)


def dropout_add_forward(a: torch.Tensor, residual: torch.Tensor | None, p: float):
    """``residual + dropout(a)`` in float32 in one pass (``a`` float32 or bfloat16, CPU).

    Returns the output and the boolean keep mask.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> a = torch.ones(10_000, dtype=torch.bfloat16)
    >>> out, keep = dropout_add_forward(a, torch.ones(10_000), 0.2)
    >>> out.unique().tolist()
    [1.0, 2.249995231628418]
    >>> bool(abs(float(keep.float().mean()) - 0.8) < 0.02)
    True
    """
    forward, _ = _numba()
    threshold, scale = keep_threshold(p)
    bits = random_bits(a.numel(), a.device)
    out = torch.empty(a.shape, dtype=torch.float32)
    keep = torch.empty(a.shape, dtype=torch.bool)
    is_bf16 = a.dtype == torch.bfloat16
    res = _flat(residual) if residual is not None else _EMPTY_F32
    forward(_EMPTY_F32 if is_bf16 else _flat(a), _flat(a) if is_bf16 else _EMPTY_U16, res,
            residual is not None, bits.numpy(), np.int16(threshold), np.float32(scale),
            out.numpy().reshape(-1), keep.numpy().reshape(-1))
    return out, keep


def dropout_add_backward(grad: torch.Tensor, keep: torch.Tensor, p: float,
                         dtype: torch.dtype) -> torch.Tensor:
    """The gradient of :func:`dropout_add_forward` with respect to ``a``, in ``dtype``.

    Examples
    --------
    >>> keep = torch.tensor([True, False, True])
    >>> dropout_add_backward(torch.ones(3), keep, 0.5, torch.bfloat16).tolist()
    [2.0, 0.0, 2.0]
    """
    _, backward = _numba()
    _, scale = keep_threshold(p)
    grad = grad.contiguous().float()
    out = torch.empty(grad.shape, dtype=dtype)
    is_bf16 = dtype == torch.bfloat16
    backward(_flat(grad), keep.numpy().reshape(-1), np.float32(scale),
             _EMPTY_F32 if is_bf16 else _flat(out), _flat(out) if is_bf16 else _EMPTY_U16)
    return out
