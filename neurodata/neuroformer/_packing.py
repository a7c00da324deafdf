"""Packed (PAD-free) evaluation of the Neuroformer training loss.

A batch holds windows of different lengths, padded to the longest.  Every
position-wise layer (embeddings, LayerNorms, projections, MLPs, heads) works on
the *packed* tokens: the non-PAD tokens of the whole batch stacked in one
``(tokens, features)`` matrix, so that its cost follows the real token count.
Attention alone needs the windows apart; there the packed rows are laid out
padded (PAD slots zero), attention runs per window (causal self-attention, or
cross-attention with PAD keys masked -- a block-diagonal attention over the
packed tokens), and the result is packed again.  PAD slots never reach a real
token: PADs are trailing, so causal attention never looks at them, and PAD keys
of a context are masked.  The loss, and its gradients, are those of the padded
computation (tested to float tolerance).

Stimulus clips repeated in a batch (windows that see the same frames) are
encoded once; their keys and values in every cross-attention block too.
"""

from __future__ import annotations

import torch

from neurodata.neuroformer._modules import Attention, _ln_linear, attend, dropout

__all__ = ["Packing", "attention_packed", "block_packed", "bucket_rows"]


class _Pad(torch.autograd.Function):
    """Rows ``x`` placed at ``index`` of ``rows`` zero rows; backward: a gather."""

    @staticmethod
    def forward(ctx, x, index, rows: int):
        ctx.save_for_backward(index)
        return x.new_zeros(rows, *x.shape[1:]).index_copy_(0, index, x)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return grad.index_select(0, index), None, None


class _Pack(torch.autograd.Function):
    """Rows ``(window, position)`` of a ``(B, T, ...)`` tensor (any strides); backward:
    the gradient placed back, zeros elsewhere."""

    @staticmethod
    def forward(ctx, x, window, position, index):
        ctx.save_for_backward(index)
        ctx.shape = x.shape
        return x[window, position]

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        B, T, *rest = ctx.shape
        out = grad.new_zeros(B * T, *rest).index_copy_(0, index, grad)
        return out.view(B, T, *rest), None, None, None


def bucket_rows(n: int, limit: int) -> int:
    """The row count that ``n`` packed tokens are rounded up to (at most ``limit``).

    The next multiple of ``2**(floor(log2 n) - 4)`` (at least 8): 16 sizes per
    octave, so that at most 1/16 of the rows are fillers.  Matrix products of a
    few recurring shapes matter on a CPU in bfloat16: oneDNN compiles and
    caches a kernel for every new shape (about 1 MB each, in caches of a
    thousand entries), so with the exact token count the resident size grows
    with every batch; with 16 sizes per octave it stops growing after a few
    dozen steps.

    Examples
    --------
    >>> [bucket_rows(n, 10_000) for n in (5, 100, 730, 5000)]
    [8, 104, 736, 5120]
    >>> bucket_rows(730, 700)
    700
    """
    quantum = max(8, 2 ** (max(n, 1).bit_length() - 5))
    return min(-(-n // quantum) * quantum, limit)


class Packing:
    """Index maps between a padded ``(B, T)`` block and its packed real tokens.

    ``mask`` ``(B, T)`` is True at real tokens.  ``index`` lists the padded slots
    (flattened) of the packed rows; ``window`` and ``position`` give each packed
    row's window and position in it.  With ``bucket``, PAD slots are added as
    filler rows until the row count is :func:`bucket_rows`; ``real`` marks the
    rows that are real tokens.  Fillers are trailing PAD slots (taken in order),
    so causal attention never reaches them from a real token, and as keys they
    are masked (``mask`` stays the real tokens); losses skip them (their targets
    are PAD) and :meth:`segment_mean` weighs them 0 when given ``real``.

    Examples
    --------
    >>> p = Packing(torch.tensor([[True, True, False], [True, False, False]]))
    >>> p.n, p.window.tolist(), p.position.tolist()
    (3, [0, 0, 1], [0, 1, 0])
    >>> x = torch.arange(6.).reshape(2, 3, 1)
    >>> p.pack(x).flatten().tolist(), p.pad(p.pack(x)).flatten().tolist()
    ([0.0, 1.0, 3.0], [0.0, 1.0, 0.0, 3.0, 0.0, 0.0])
    >>> q = Packing(torch.arange(20).repeat(2, 1) < torch.tensor([[3], [2]]), bucket=True)
    >>> q.n, q.real.tolist()
    (8, [True, True, True, False, False, False, True, True])
    """

    def __init__(self, mask: torch.Tensor, *, bucket: bool = False):
        self.B, self.T = mask.shape
        self.mask = mask
        flat = mask.reshape(-1)
        self.index = flat.nonzero().squeeze(1)
        self.real: torch.Tensor | None = None
        n_real = int(self.index.numel())
        n = bucket_rows(n_real, flat.numel()) if bucket else n_real
        if n > n_real:
            taken = flat.clone()
            taken[(~flat).nonzero().squeeze(1)[: n - n_real]] = True
            self.index = taken.nonzero().squeeze(1)
            self.real = flat[self.index]
        self.n = int(self.index.numel())
        self.window = torch.div(self.index, self.T, rounding_mode="floor")
        self.position = self.index - self.window * self.T

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, ...)`` -> ``(n, ...)``: the real tokens."""
        if not x.requires_grad:
            return x[self.window, self.position]
        return _Pack.apply(x, self.window, self.position, self.index)

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, C)`` -> ``(B, T, C)`` with zeros at PAD slots."""
        return _Pad.apply(x, self.index, self.B * self.T).view(self.B, self.T, -1)

    def segment_mean(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """Per-window weighted mean ``(B, C)`` of packed rows ``x`` (weights ``(n,)``;
        filler rows weigh 0)."""
        if self.real is not None:
            weight = weight & self.real if weight.dtype == torch.bool else weight * self.real
        w = weight.to(x.dtype)
        total = x.new_zeros(self.B, x.shape[-1]).index_add(0, self.window, x * w[:, None])
        count = w.new_zeros(self.B).index_add(0, self.window, w)
        return total / count.clamp_min(1.0)[:, None]


class Context:
    """An encoded context for cross-attention: padded ``tokens`` ``(B', S, C)`` or packed
    ``(n, C)`` with its :class:`Packing`; ``key_mask`` ``(B, S)``; ``inverse`` ``(B,)``
    maps each window to its row of ``tokens`` when repeated contexts are stored once."""

    def __init__(self, tokens, key_mask=None, packing: Packing | None = None, inverse=None):
        self.tokens, self.key_mask, self.packing, self.inverse = tokens, key_mask, packing, inverse

    def key_values(self, attn: Attention) -> torch.Tensor:
        """The keys and values of ``attn`` for every window, ``(B, S, 2C)``."""
        kv = attn.key_value(self.tokens)
        if self.packing is not None:
            kv = self.packing.pad(kv)
        if self.inverse is not None:
            kv = kv.index_select(0, self.inverse)
        return kv

    def per_window(self) -> torch.Tensor:
        """Mean of each window's context tokens ``(B, C)`` (real tokens only when packed)."""
        if self.packing is not None:
            return self.packing.segment_mean(self.tokens, self.tokens.new_ones(self.packing.n))
        mean = self.tokens.mean(1)
        return mean if self.inverse is None else mean.index_select(0, self.inverse)


def attention_packed(attn: Attention, x: torch.Tensor, ln, packing: Packing,
                     context: Context | None = None, *, causal: bool = False,
                     key_mask=None) -> torch.Tensor:
    """:class:`Attention` of packed tokens ``x`` ``(n, C)``; returns ``(n, C)``.

    Self-attention (``context`` None) is over the tokens of each window
    (``causal``, or masked by ``key_mask`` ``(B, T)``); cross-attention over the
    window's context tokens.
    """
    C = x.shape[-1]
    if context is None:
        w = torch.cat([attn.query.weight, attn.key_value.weight])
        b = torch.cat([attn.query.bias, attn.key_value.bias])
        q_src, kv_src = packing.pad(_ln_linear(x, ln, w, b)), None
    else:
        q_src = packing.pad(_ln_linear(x, ln, attn.query.weight, attn.query.bias))
        kv_src = context.key_values(attn)
        key_mask = context.key_mask
    mask = None if key_mask is None else key_mask[:, None, None, :]
    p = attn.attn_dropout if attn.training else 0.0
    y = attend(q_src, kv_src, attn.n_head, mask, p, causal and mask is None)
    y = packing.pack(y.transpose(1, 2))                         # (n, head, C / head)
    return attn.proj(y.reshape(-1, C))


def block_packed(block, x: torch.Tensor, packing: Packing, context: Context | None = None,
                 *, causal: bool = False, key_mask=None) -> torch.Tensor:
    """:class:`Block` on packed tokens ``x`` ``(n, C)`` (see :func:`attention_packed`)."""
    a = attention_packed(block.attn, x, block.ln1, packing, context, causal=causal,
                         key_mask=key_mask)
    x = dropout(a, block.drop, x)
    return dropout(block.mlp(x, block.ln2), block.drop, x)
