"""Building blocks of Neuroformer: attention blocks, modality encoders, contrastive loss.

Attention runs through :func:`torch.nn.functional.scaled_dot_product_attention`
(a fused kernel that never stores the attention matrix), except when the
attention weights are asked for (connectivity readout).  Self-attention keeps a
key/value cache so that generation costs one position per step.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from neurodata.neuroformer._kernels import (
    dropout_add_backward,
    dropout_add_forward,
    fused_available,
    keep_threshold,
    random_bits,
)

__all__ = ["Block", "SeriesEncoder", "VideoEncoder", "attend", "clip_loss", "positional_encoding_3d"]


class _LayerNormLinear(torch.autograd.Function):
    """``linear(layer_norm(x))`` that keeps ``x`` (and the LayerNorm statistics), not
    the normalised activations, for the backward pass, where it recomputes them."""

    @staticmethod
    def forward(ctx, x, gain, shift, weight, bias, eps):
        normed, mean, rstd = torch.native_layer_norm(x, (x.shape[-1],), gain, shift, eps)
        ctx.save_for_backward(x, mean, rstd, gain, shift, weight)
        return F.linear(normed, weight, bias)

    @staticmethod
    def backward(ctx, grad):
        x, mean, rstd, gain, shift, weight = ctx.saved_tensors
        normed = torch.addcmul(shift, (x - mean) * rstd, gain)
        g2 = grad.reshape(-1, grad.shape[-1])
        grad_w = g2.t() @ normed.reshape(-1, normed.shape[-1])
        grad_x, grad_gain, grad_shift = torch.ops.aten.native_layer_norm_backward(
            grad @ weight, x, [x.shape[-1]], mean, rstd, gain, shift, [True, True, True])
        return grad_x, grad_gain, grad_shift, grad_w, g2.sum(0), None


def _ln_linear(x: torch.Tensor, ln: nn.LayerNorm, weight, bias) -> torch.Tensor:
    """``F.linear(ln(x), weight, bias)``, saving less memory when gradients are recorded."""
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad) \
            and not torch.is_autocast_enabled(x.device.type):
        return _LayerNormLinear.apply(x, ln.weight, ln.bias, weight, bias, ln.eps)
    return F.linear(ln(x), weight, bias)


class _CPUAttention(torch.autograd.Function):
    """The CPU flash-attention kernel in float32 on projections of any float type.

    Takes the projections as they come out of the linear layers -- ``qkv``
    ``(B, T, 3C)`` for self-attention, or ``q`` ``(B, T, C)`` and ``kv``
    ``(B', S, 2C)`` for cross-attention -- and keeps them (not float32 copies)
    for the backward pass.  Under bfloat16 autocast the CPU's reduced-precision
    attention kernels are slower than its float32 ones, so attention runs in
    float32: each projection is cast once, whole and contiguous (head views of
    it need no copy), and the gradients are written straight into one tensor
    per projection, in its type.  Returns ``(B, head, T, C / head)`` float32.
    """

    @staticmethod
    def forward(ctx, q_src, kv_src, n_head, mask, causal):
        additive = None
        if mask is not None:
            additive = torch.zeros(mask.shape, dtype=torch.float32, device=q_src.device)
            additive.masked_fill_(~mask, float("-inf"))
        q, k, v = _split_heads(q_src.float(), None if kv_src is None else kv_src.float(), n_head)
        out, lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
            q, k, v, 0.0, causal, attn_mask=additive)
        ctx.save_for_backward(q_src, kv_src, out, lse, additive)
        ctx.causal, ctx.n_head = causal, n_head
        return out

    @staticmethod
    def backward(ctx, grad):
        q_src, kv_src, out, lse, additive = ctx.saved_tensors
        q, k, v = _split_heads(q_src.float(), None if kv_src is None else kv_src.float(),
                               ctx.n_head)
        gq, gk, gv = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward(
            grad.float(), q, k, v, out, lse, 0.0, ctx.causal, attn_mask=additive)
        grad_q = torch.empty_like(q_src, memory_format=torch.contiguous_format)
        grad_kv = None if kv_src is None else torch.empty_like(
            kv_src, memory_format=torch.contiguous_format)
        targets = _split_heads(grad_q, grad_kv, ctx.n_head)
        for target, g in zip(targets, (gq, gk, gv)):
            target.copy_(g)
        return grad_q, grad_kv, None, None, None


def _split_heads(q_src, kv_src, n_head):
    """Head views ``(B, head, T, d)`` of q, k, v from ``qkv`` or from ``q`` and ``kv``."""
    if kv_src is None:
        C = q_src.shape[-1] // 3
        parts = q_src.split(C, dim=-1)
    else:
        C = q_src.shape[-1]
        parts = (q_src, *kv_src.split(C, dim=-1))
    return tuple(p.view(*p.shape[:2], n_head, C // n_head).transpose(1, 2) for p in parts)


def attend(q_src, kv_src, n_head: int, mask, dropout_p: float, causal: bool) -> torch.Tensor:
    """Multi-head attention from the projections: ``qkv`` ``(B, T, 3C)`` (``kv_src``
    None) or ``q`` ``(B, T, C)`` and ``kv`` ``(B', S, 2C)``; ``mask`` boolean
    ``(B, 1, 1, S)``, True = may attend.  Returns ``(B, head, T, C / head)``.

    On a CPU when training without attention dropout it is :class:`_CPUAttention`;
    elsewhere :func:`sdpa` on head views.

    Examples
    --------
    >>> qkv = torch.randn(2, 5, 3 * 8)
    >>> attend(qkv, None, 2, None, 0.0, True).shape
    torch.Size([2, 2, 5, 4])
    """
    if q_src.device.type == "cpu" and dropout_p == 0 \
            and q_src.dtype in (torch.float32, torch.bfloat16) and torch.is_grad_enabled() \
            and (q_src.requires_grad or (kv_src is not None and kv_src.requires_grad)):
        with torch.autocast("cpu", enabled=False):
            return _CPUAttention.apply(q_src, kv_src, n_head, mask, causal)
    q, k, v = _split_heads(q_src, kv_src, n_head)
    return sdpa(q, k, v, mask, dropout_p, causal)


def sdpa(q, k, v, mask, dropout_p: float, causal: bool) -> torch.Tensor:
    """Fused attention on head views (``mask`` boolean, True = may attend).

    :func:`torch.nn.functional.scaled_dot_product_attention`, in float32 under
    CPU autocast (the CPU's bfloat16 attention kernels are slower).
    """
    if q.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
        with torch.autocast("cpu", enabled=False):
            return F.scaled_dot_product_attention(q.float(), k.float(), v.float(),
                                                  attn_mask=mask, dropout_p=dropout_p,
                                                  is_causal=causal)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p,
                                          is_causal=causal)


class Attention(nn.Module):
    """Multi-head attention of ``x`` over itself (self) or over a context (cross).

    ``x`` is the block's input and ``ln`` the LayerNorm applied to it before the
    projections (fused with them when training, see :class:`_LayerNormLinear`).
    ``key_mask`` ``(B, S)`` marks the context positions that may be attended to.
    ``cache`` (a dict) makes self-attention incremental: keys and values of earlier
    positions are kept, and each call appends ``x``'s; for cross-attention it
    keeps the context's keys and values so that they are computed once.
    """

    def __init__(self, n_embd: int, n_head: int, attn_dropout: float = 0.0,
                 kv_embd: int | None = None):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"n_embd={n_embd} must be a multiple of n_head={n_head}.")
        self.n_head, self.attn_dropout = n_head, attn_dropout
        self.query = nn.Linear(n_embd, n_embd)
        self.key_value = nn.Linear(kv_embd or n_embd, 2 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        return x.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)

    def forward(self, x, ln, context=None, *, key_mask=None, causal=False, cache=None,
                need_weights=False):
        B, T, C = x.shape
        mask = None if key_mask is None else key_mask[:, None, None, :]
        if context is None:                       # self-attention: q, k, v in one product
            w = torch.cat([self.query.weight, self.key_value.weight])
            b = torch.cat([self.query.bias, self.key_value.bias])
            qkv = _ln_linear(x, ln, w, b)
            kv_src = None
        else:
            qkv = _ln_linear(x, ln, self.query.weight, self.query.bias)
            kv_src = None if cache is not None and "k" in cache else self.key_value(context)
        if cache is None and not need_weights:
            p = self.attn_dropout if self.training else 0.0
            y = attend(qkv, kv_src, self.n_head, mask, p, causal and mask is None)
            return self.proj(y.transpose(1, 2).reshape(B, T, C)), None
        if context is None:
            q, k, v = _split_heads(qkv, None, self.n_head)
            if cache is not None:
                n = cache.get("n", 0)
                if "k" not in cache:
                    size = (B, self.n_head, cache["max_len"], C // self.n_head)
                    cache["k"], cache["v"] = x.new_empty(size), x.new_empty(size)
                cache["k"][:, :, n:n + T], cache["v"][:, :, n:n + T] = k, v
                cache["n"] = n + T
                k, v = cache["k"][:, :, :n + T], cache["v"][:, :, :n + T]
                causal = causal and T > 1 and n == 0
        elif kv_src is None:
            q = self._heads(qkv)
            k, v = cache["k"], cache["v"]
        else:
            q, k, v = _split_heads(qkv, kv_src, self.n_head)
            if cache is not None:
                cache["k"], cache["v"] = k, v
        weights = None
        if need_weights:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
            if causal:
                tri = torch.ones(T, k.shape[2], dtype=torch.bool, device=x.device).tril()
                att = att.masked_fill(~tri, float("-inf"))
            if mask is not None:
                att = att.masked_fill(~mask, float("-inf"))
            weights = att.softmax(dim=-1)
            y = weights @ v
        else:
            p = self.attn_dropout if self.training else 0.0
            y = sdpa(q, k, v, mask, p, causal and mask is None)
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.proj(y), weights


class _Dropout(torch.autograd.Function):
    """``residual + dropout(a)`` (or ``dropout(a)`` without a residual), keeping a
    one-byte mask for the backward pass.

    The mask comes from 16 uniform random bits per element (:mod:`._kernels`):
    the drop probability is ``p`` rounded to a multiple of 2**-16 and the scale
    the inverse of the exact keep probability.  On a CPU the masking, the
    scaling, the residual addition and the cast of a bfloat16 ``a`` are one fused
    pass, forward and backward; elsewhere they are torch operations.
    """

    @staticmethod
    def forward(ctx, a, residual, p):
        ctx.p, ctx.dtype = p, a.dtype
        ctx.has_residual = residual is not None
        if fused_available(a, residual) and (residual is None
                                             or residual.dtype == torch.float32):
            out, keep = dropout_add_forward(a, residual, p)
            ctx.fused = True
            ctx.save_for_backward(keep)
            return out.to(a.dtype) if residual is None else out
        threshold, scale = keep_threshold(p)
        keep = random_bits(a.numel(), a.device).view(a.shape) >= threshold
        ctx.fused, ctx.scale = False, scale
        ctx.save_for_backward(keep)
        if residual is None:
            return a * keep * scale
        return torch.addcmul(residual, a, keep, value=scale)

    @staticmethod
    def backward(ctx, grad):
        (keep,) = ctx.saved_tensors
        if ctx.fused:
            grad_a = dropout_add_backward(grad, keep, ctx.p, ctx.dtype)
        else:
            grad_a = grad * keep * ctx.scale
        return grad_a, grad if ctx.has_residual else None, None


def dropout(a: torch.Tensor, drop: nn.Dropout, residual: torch.Tensor | None = None):
    """``residual + drop(a)`` (``drop(a)`` without a residual), with a faster mask.

    Examples
    --------
    >>> drop = nn.Dropout(0.5).eval()
    >>> dropout(torch.ones(3), drop, torch.ones(3)).tolist()
    [2.0, 2.0, 2.0]
    """
    if not drop.training or drop.p == 0:
        return a if residual is None else residual + a
    return _Dropout.apply(a, residual, drop.p)


class _GeluLinear(torch.autograd.Function):
    """``linear(gelu(a))`` that keeps only ``a`` for the backward pass.

    A plain ``GELU`` then ``Linear`` keeps both the pre- and the post-activation
    (2 x 4 ``n_embd`` numbers per token); recomputing the GELU in the backward
    pass costs one element-wise op and halves the MLP's saved activations.  Used
    in float32; under bfloat16 autocast the saved activations are half the size
    already and the recomputation would cost more than it saves (measured).
    """

    @staticmethod
    def forward(ctx, a, weight, bias):
        ctx.save_for_backward(a, weight)
        return F.linear(F.gelu(a), weight, bias)

    @staticmethod
    def backward(ctx, grad):
        a, weight = ctx.saved_tensors
        h = F.gelu(a)
        g2 = grad.reshape(-1, grad.shape[-1])
        grad_w = g2.t() @ h.reshape(-1, h.shape[-1])
        grad_a = torch.ops.aten.gelu_backward(grad @ weight, a)
        return grad_a, grad_w, g2.sum(0)


class MLP(nn.Module):
    """``LN -> Linear(d, 4d) -> GELU -> Linear(4d, d)``, keeping only the block input and
    one 4d activation for the backward pass (see _LayerNormLinear, _GeluLinear)."""

    def __init__(self, n_embd: int):
        super().__init__()
        self.fc = nn.Linear(n_embd, 4 * n_embd)
        self.proj = nn.Linear(4 * n_embd, n_embd)

    def forward(self, x: torch.Tensor, ln: nn.LayerNorm) -> torch.Tensor:
        a = _ln_linear(x, ln, self.fc.weight, self.fc.bias)
        if torch.is_grad_enabled() and a.requires_grad \
                and not torch.is_autocast_enabled(a.device.type):
            return _GeluLinear.apply(a, self.proj.weight, self.proj.bias)
        return self.proj(F.gelu(a))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: (self or cross) attention, then an MLP.

    ``x <- x + Drop(Attn(LN(x), context)); x <- x + Drop(MLP(LN(x)))``, with a 4x
    GELU MLP.  Cross-attention blocks attend to an already normalised context.
    """

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0,
                 attn_dropout: float = 0.0, kv_embd: int | None = None):
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd)
        self.attn = Attention(n_embd, n_head, attn_dropout, kv_embd)
        self.ln2 = nn.LayerNorm(n_embd)
        self.mlp = MLP(n_embd)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, context=None, *, key_mask=None, causal=False, cache=None,
                need_weights=False):
        a, w = self.attn(x, self.ln1, context, key_mask=key_mask, causal=causal, cache=cache,
                         need_weights=need_weights)
        x = dropout(a, self.drop, x)
        x = dropout(self.mlp(x, self.ln2), self.drop, x)
        return x, w


def _sinusoid(pos: torch.Tensor, n: int) -> torch.Tensor:
    """``n`` interleaved sin/cos features of positions ``pos`` (any shape)."""
    half = (n + 1) // 2
    freq = torch.exp(torch.arange(half, dtype=torch.float32, device=pos.device)
                     * (-math.log(10000.0) / max(half, 1)))
    ang = pos.float()[..., None] * freq
    return torch.stack([ang.sin(), ang.cos()], dim=-1).flatten(-2)[..., :n]


def positional_encoding_3d(t: int, h: int, w: int, channels: int) -> torch.Tensor:
    """Fixed sinusoidal encoding of (time, row, column) patch positions.

    The channels are split in three near-equal groups, one per axis.  Returns a
    ``(t, h, w, channels)`` tensor.

    Examples
    --------
    >>> positional_encoding_3d(2, 3, 4, 10).shape
    torch.Size([2, 3, 4, 10])
    """
    n = [channels // 3 + (i < channels % 3) for i in range(3)]
    axes = [_sinusoid(torch.arange(size), k) for size, k in zip((t, h, w), n)]
    enc = torch.cat([
        axes[0][:, None, None, :].expand(t, h, w, n[0]),
        axes[1][None, :, None, :].expand(t, h, w, n[1]),
        axes[2][None, None, :, :].expand(t, h, w, n[2]),
    ], dim=-1)
    return enc


class VideoEncoder(nn.Module):
    """Stimulus frames -> patch tokens: 3D convolution, positional encoding, self-attention.

    ``frames`` ``(B, channels, n_frames, height, width)`` are cut into spatiotemporal
    patches by a 3D convolution with stride = kernel (unless ``stride`` is given),
    normalised and rectified, and the 3D positional encoding of each patch is
    *added* (the reference code computes it and then drops it).  ``n_layers``
    self-attention blocks follow, and a final LayerNorm.
    """

    def __init__(self, channels: int, n_embd: int, kernel, stride=None, *, n_layers: int,
                 n_head: int, dropout: float = 0.0, attn_dropout: float = 0.0):
        super().__init__()
        kernel = tuple(int(k) for k in kernel)
        stride = kernel if stride is None else tuple(int(s) for s in stride)
        self.conv = nn.Conv3d(channels, n_embd, kernel_size=kernel, stride=stride)
        self.ln_in = nn.LayerNorm(n_embd)
        self.blocks = nn.ModuleList(Block(n_embd, n_head, dropout, attn_dropout)
                                    for _ in range(n_layers))
        self.ln_out = nn.LayerNorm(n_embd)
        self.drop = nn.Dropout(dropout)
        self._pos_cache: dict = {}

    def _pos(self, t: int, h: int, w: int, d: int, device) -> torch.Tensor:
        key = (t, h, w, d, str(device))
        if key not in self._pos_cache:
            self._pos_cache[key] = positional_encoding_3d(t, h, w, d).to(device).reshape(-1, d)
        return self._pos_cache[key]

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        z = self.conv(frames)                                  # (B, d, t, h, w)
        _, d, t, h, w = z.shape
        z = torch.relu(self.ln_in(z.flatten(2).transpose(1, 2)))
        z = dropout(z + self._pos(t, h, w, d, z.device), self.drop)
        for block in self.blocks:
            z, _ = block(z)
        return self.ln_out(z)


class SeriesEncoder(nn.Module):
    """Behaviour variables -> tokens, one per (variable, sample).

    Each standardised value goes through its own variable's affine map to
    ``n_embd`` features, a GELU and a shared linear layer (no LayerNorm over the
    single scalar, which in the reference code maps every value to the same
    vector); a learnt variable embedding and a learnt embedding of the sample's
    position in the window are added.  Optional self-attention blocks follow.
    """

    def __init__(self, n_variables: int, n_samples: int, n_embd: int, *, n_layers: int = 0,
                 n_head: int = 1, dropout: float = 0.0, attn_dropout: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_variables, n_embd) * 0.02)
        self.bias = nn.Parameter(torch.zeros(n_variables, n_embd))
        self.mix = nn.Linear(n_embd, n_embd)
        self.var_emb = nn.Parameter(torch.zeros(n_variables, 1, n_embd))
        self.pos_emb = nn.Parameter(torch.zeros(1, n_samples, n_embd))
        self.blocks = nn.ModuleList(Block(n_embd, n_head, dropout, attn_dropout)
                                    for _ in range(n_layers))
        self.ln_out = nn.LayerNorm(n_embd)
        self.drop = nn.Dropout(dropout)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        # values: (B, V, S) standardised
        z = values[..., None] * self.weight[None, :, None, :] + self.bias[None, :, None, :]
        z = self.mix(F.gelu(z)) + self.var_emb + self.pos_emb
        z = dropout(z.flatten(1, 2), self.drop)
        for block in self.blocks:
            z, _ = block(z)
        return self.ln_out(z)


def clip_loss(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric CLIP contrastive loss between paired rows of ``a`` and ``b``.

    Rows are L2-normalised; row *i* of ``a`` must pick row *i* of ``b`` among the
    batch and vice versa (cross-entropy over cosine similarities / temperature).

    Examples
    --------
    >>> a = torch.eye(4)
    >>> float(clip_loss(a, a, 0.05)) < 1e-3 < float(clip_loss(a, a.roll(1, 0), 0.05))
    True
    """
    a = F.normalize(a, dim=-1)
    b = F.normalize(b, dim=-1)
    logits = a @ b.t() / temperature
    labels = torch.arange(a.shape[0], device=a.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))
