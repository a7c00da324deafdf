"""Training loop: AdamW, warmup + cosine schedule, clipping, resumable checkpoints.

The optimiser and schedule follow the reference trainer (itself minGPT's):
AdamW with betas (0.9, 0.95) and decoupled weight decay on the weight matrices
of linear and convolution layers only (never on biases, LayerNorm gains,
embeddings or positional embeddings); a linear warmup, then cosine decay to a
floor of 10 % of the peak learning rate; gradients clipped to a global norm.
The reference counts the schedule in tokens; here it is counted in optimiser
steps (``warmup`` is a fraction of all steps), which does not depend on how
full the windows are.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from torch import nn

from neurodata._utils import make_history, progress_bar, renamed_kwargs, spawn_seed
from neurodata.errors import NeurodataError
from neurodata.neuroformer._model import NeuroformerNet, make_batch

__all__ = ["autocast", "configure_optimizer", "held_heap", "load_checkpoint", "lr_multiplier",
           "release_memory", "save_checkpoint", "train_network", "train_step"]


def configure_optimizer(net: nn.Module, *, learning_rate: float, weight_decay: float,
                        betas=(0.9, 0.95)) -> torch.optim.AdamW:
    """AdamW whose decoupled weight decay applies to linear/conv weight matrices only.

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4))
    >>> opt = configure_optimizer(net, learning_rate=1e-3, weight_decay=0.1)
    >>> [len(g["params"]) for g in opt.param_groups], [g["weight_decay"] for g in opt.param_groups]
    ([1, 3], [0.1, 0.0])
    """
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for module in net.modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            is_matrix = name == "weight" and isinstance(module, (nn.Linear, nn.Conv3d, nn.Conv2d))
            (decay if is_matrix else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    # the fused kernel: one pass over each parameter (the same update, a third of the time)
    fused = all(p.is_floating_point() for p in decay + no_decay)
    return torch.optim.AdamW(groups, lr=learning_rate, betas=tuple(betas), fused=fused or None)


def lr_multiplier(step: int, total: int, warmup: float, floor: float = 0.1) -> float:
    """Linear warmup over ``warmup * total`` steps, then cosine decay to ``floor``.

    Examples
    --------
    >>> [round(lr_multiplier(s, 100, 0.1), 3) for s in (0, 5, 10, 55, 100)]
    [0.1, 0.6, 1.0, 0.5, 0.1]
    """
    n_warm = max(1, round(warmup * total))
    if step < n_warm:
        return (step + 1) / n_warm
    progress = (step - n_warm) / max(1, total - n_warm)
    return max(floor, 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))


def save_checkpoint(path, state: dict) -> None:
    """Write ``state`` with :func:`torch.save`, atomically (temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_checkpoint(path, *, expect: dict | None = None) -> dict:
    """Load a checkpoint; with ``expect``, check that its settings match.

    ``expect`` maps keys of the checkpoint's ``meta`` (model configuration,
    tokenizer state, ...) to the values the caller has; any difference raises
    :class:`~neurodata.errors.NeurodataError` naming the differing settings.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise NeurodataError(f"cannot read checkpoint {path}: {err}") from err
    if not isinstance(state, dict) or "model" not in state or "meta" not in state:
        raise NeurodataError(f"{path} is not a neurodata Neuroformer checkpoint.")
    for key, value in (expect or {}).items():
        saved = state["meta"].get(key)
        if saved != value:
            diff = _differences(saved, value)
            raise NeurodataError(
                f"checkpoint {path} was made with a different {key} ({diff}); resume with the "
                f"same settings, or pass resume=False / another checkpoint path to start anew.")
    return state


def _differences(saved, value) -> str:
    if isinstance(saved, dict) and isinstance(value, dict):
        keys = sorted(k for k in set(saved) | set(value) if saved.get(k) != value.get(k))
        return ", ".join(f"{k}: {saved.get(k)!r} in the checkpoint vs {value.get(k)!r} now"
                         for k in keys[:4])
    return f"{saved!r} in the checkpoint vs {value!r} now"


PRECISIONS = ("auto", "float32", "bfloat16")


def autocast(device, precision: str = "auto"):
    """The context the forward pass runs in: float32, or bfloat16 mixed precision.

    ``"auto"`` is bfloat16 autocast on a GPU that has it (fused attention kernels
    then run in bfloat16 too) and float32 elsewhere; ``"bfloat16"`` asks for it
    on any device (on a CPU with AMX or AVX512-BF16 matrix products run several
    times faster; the loss then differs from float32 by rounding).

    Examples
    --------
    >>> with autocast("cpu", "float32"):
    ...     torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype
    torch.float32
    """
    if precision not in PRECISIONS:
        raise NeurodataError(f"precision must be one of {PRECISIONS}; got {precision!r}.")
    device = torch.device(device)
    if precision == "auto":
        use = device.type == "cuda" and torch.cuda.is_bf16_supported()
    else:
        use = precision == "bfloat16"
    if not use:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def train_step(net, opt, batch: dict, *, grad_clip: float = 1.0, loss_kwargs=None,
               precision: str = "auto") -> tuple[float, dict]:
    """One optimiser step on ``batch``: loss (packed, see :meth:`NeuroformerNet.loss`),
    backward pass, gradient clipping to ``grad_clip`` (0: none) and AdamW update.

    Returns the loss value and its parts (floats).  Raises if the loss is not finite.

    Examples
    --------
    >>> from neurodata.neuroformer import NeuroformerConfig, NeuroformerNet
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> cfg = NeuroformerConfig(n_units=5, n_dt=16, block_size=8, block_size_prev=12,
    ...                         n_embd=32, n_head=2, n_state_layers=1, n_history_layers=1,
    ...                         n_self_layers=1)
    >>> net = NeuroformerNet(cfg)
    >>> opt = configure_optimizer(net, learning_rate=1e-3, weight_decay=0.1)
    >>> batch = {"x_id": torch.tensor([[5, 1, 2]]), "x_dt": torch.tensor([[0, 1, 3]]),
    ...          "y_id": torch.tensor([[1, 2, 6]]), "y_dt": torch.tensor([[1, 3, 16]]),
    ...          "prev_id": torch.tensor([[5, 0, 6]]), "prev_dt": torch.tensor([[0, 4, 16]])}
    >>> first, _ = train_step(net, opt, batch)
    >>> second, _ = train_step(net, opt, batch)
    >>> second < first
    True
    """
    opt.zero_grad(set_to_none=True)        # before the forward pass: its peak holds no gradients
    with autocast(batch["x_id"].device, precision):
        loss, parts = net.loss(batch, **(loss_kwargs or {}))
    value = float(loss.detach())
    if not math.isfinite(value):
        raise NeurodataError(f"the training loss became {value}; lower the learning rate.")
    loss.backward()
    if grad_clip:
        _clipped_step(net, opt, grad_clip)
    else:
        opt.step()
    return value, {k: float(v.detach()) for k, v in parts.items()}


def _clipped_step(net, opt, max_norm: float) -> None:
    """``clip_grad_norm_(max_norm)`` then ``opt.step()``; with the fused AdamW kernel the
    clipping factor is its ``grad_scale`` (the gradients divided by ``1 / factor``
    inside the update), which saves a pass over the gradients."""
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    if not grads:
        opt.step()
        return
    norm = nn.utils.get_total_norm(grads)
    factor = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
    if all(g.get("fused") for g in opt.param_groups) and grads[0].device.type == "cpu":
        opt.grad_scale = (1.0 / factor).to(torch.float32)
        try:
            opt.step()
        finally:
            del opt.grad_scale
    else:
        torch._foreach_mul_(grads, factor.to(grads[0].dtype))
        opt.step()


def _evaluate(net, windows, video, batch_size, device, loss_kwargs, precision="auto") -> float:
    net.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for lo in range(0, len(windows), batch_size):
            idx = np.arange(lo, min(lo + batch_size, len(windows)))
            batch = make_batch(windows, idx, device=device, video=video, unique_frames=True)
            with autocast(device, precision):
                loss, _ = net.loss(batch, **loss_kwargs)
            total += float(loss) * len(idx)
            count += len(idx)
    return total / max(count, 1)


def _epoch_batches(windows, batch_size: int, rng: np.random.Generator, group: int) -> list:
    """Shuffled batches of window indices, grouped by length to cut padding.

    The windows are shuffled; every ``group`` consecutive batches' worth of them
    are sorted by their number of current-state spikes and cut into batches, and
    the batch order is shuffled again.  Each window is seen once per epoch; batches
    hold windows of similar length, so that little compute goes into PAD tokens.
    ``group=1`` gives plain shuffled batches.
    """
    order = rng.permutation(len(windows))
    if group > 1:
        size = group * batch_size
        chunks = [order[i:i + size] for i in range(0, len(order), size)]
        order = np.concatenate([c[np.argsort(windows.n_current[c], kind="stable")]
                                for c in chunks])
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


_LIBC: list = []
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3            # mallopt parameters (malloc.h)
_GLIBC_DEFAULT_THRESHOLD = 128 * 1024


def _libc():
    """glibc (``malloc_trim``, ``mallopt``), or None elsewhere."""
    if not _LIBC:
        lib = None
        if sys.platform.startswith("linux"):
            try:
                lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                lib.malloc_trim, lib.mallopt  # noqa: B018  (musl has neither)
            except (OSError, AttributeError):
                lib = None
        _LIBC.append(lib)
    return _LIBC[0]


def release_memory() -> None:
    """Hand freed heap memory back to the operating system (glibc's ``malloc_trim``).

    A no-op off glibc.  See :func:`held_heap` for why training does not do this
    after every step by default.

    Examples
    --------
    >>> release_memory()
    """
    lib = _libc()
    if lib is not None:
        lib.malloc_trim(0)


@contextlib.contextmanager
def held_heap():
    """Keep freed memory in the process between training steps (glibc), then return it.

    PyTorch's CPU tensors come from ``malloc``.  By default glibc serves large
    blocks with fresh ``mmap`` pages and gives freed heap back to the system, so
    every training step faults in (and the kernel zeroes) its activations anew:
    about a tenth of a bfloat16 step's time on a CPU (measured at batch 8 and
    56 of the benchmark).  Inside this context blocks up to 32 MiB come from the
    heap and freed memory stays there for the next step; on exit both thresholds
    go back to glibc's initial 128 KiB (its dynamic raising of them stays off, as
    after any ``mallopt``) and the memory is returned (:func:`release_memory`).  The
    resident size then stays near the high-water mark of the steps, a few
    percent above the true peak of one step, as with any caching allocator.

    Examples
    --------
    >>> with held_heap():
    ...     x = torch.ones(1000, 1000).sum()
    """
    lib = _libc()
    if lib is None:
        yield
        return
    lib.mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)
    lib.mallopt(_M_TRIM_THRESHOLD, 2**30)
    try:
        yield
    finally:
        lib.mallopt(_M_MMAP_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)
        lib.mallopt(_M_TRIM_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)
        release_memory()


def _check_settings(windows, n_epochs, batch_size, learning_rate, weight_decay, warmup,
                    grad_clip) -> None:
    if n_epochs < 1 or batch_size < 1:
        raise NeurodataError(f"n_epochs and batch_size must be >= 1; got {n_epochs}, "
                             f"{batch_size}.")
    if len(windows) == 0:
        raise NeurodataError("there are no training windows.")
    if not (np.isfinite(learning_rate) and learning_rate > 0) or weight_decay < 0 \
            or not 0 <= warmup < 1 or grad_clip < 0:
        raise NeurodataError(
            f"learning_rate must be positive, weight_decay and grad_clip >= 0 and warmup in "
            f"[0, 1); got {learning_rate}, {weight_decay}, {grad_clip}, {warmup}.")


def _run_epoch(net, opt, windows, batches, *, video, device, step: int, lr_at, grad_clip,
               loss_kwargs, bar, max_steps: int, release: bool,
               precision: str = "auto") -> tuple[dict, int, int]:
    """One pass over ``batches`` (stopping at ``max_steps``).

    Returns the summed losses, the new step count and the number of batches run.
    """
    sums: dict[str, float] = {}
    n_run = 0
    for b in bar:
        if step >= max_steps:
            break
        batch = make_batch(windows, batches[b], device=device, video=video, unique_frames=True)
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        try:
            value, parts = train_step(net, opt, batch, grad_clip=grad_clip,
                                      loss_kwargs=loss_kwargs, precision=precision)
        except NeurodataError as err:
            raise NeurodataError(f"at step {step}: {err}") from None
        sums["loss"] = sums.get("loss", 0.0) + value
        for k, v in parts.items():
            sums[k] = sums.get(k, 0.0) + v
        del batch
        if release:
            release_memory()
        step += 1
        n_run += 1
        bar.set_postfix(loss=f"{value:.3f}")
    return sums, step, n_run


def seed_of(random_state) -> int:
    """The integer seed a training run derives its window order and dropout from.

    An int is used as it is (so that ``random_state=0`` reproduces earlier runs);
    ``None`` draws fresh entropy and a Generator draws from it (a 32-bit seed).

    Examples
    --------
    >>> seed_of(3), seed_of(None) == seed_of(None)
    (3, False)
    """
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    return spawn_seed(random_state) % 2**32


def _history(records: list[dict]) -> xr.Dataset:
    return make_history([{k: v for k, v in r.items() if k != "epoch"} for r in records],
                        attrs={"iteration": "training epoch (iteration i ends epoch i + 1)"})


@renamed_kwargs(epochs="n_epochs")
def train_network(net: NeuroformerNet, windows, *, video=None, validation=None, n_epochs: int = 10,
                  batch_size: int = 32, learning_rate: float = 3e-4, weight_decay: float = 0.1,
                  betas=(0.9, 0.95), warmup: float = 0.05, grad_clip: float = 1.0,
                  checkpoint=None, resume: bool = True, meta: dict | None = None,
                  device="cpu", random_state=None, progress: bool | None = None,
                  loss_kwargs: dict | None = None, callback=None,
                  length_grouping: int = 1, max_steps: int | None = None,
                  release_memory_every_step: bool = False,
                  precision: str = "auto") -> xr.Dataset:
    """Train ``net`` on tokenized ``windows``; return the per-epoch history.

    Each epoch visits the windows in seeded random batches (seed
    ``(seed, epoch)``, the seed being ``random_state`` itself when it is an int
    and fresh entropy when it is None; ``length_grouping > 1`` groups windows of similar
    length, see :func:`_epoch_batches`), and dropout draws from a torch generator
    seeded per epoch, so that a run is reproducible and a resumed run continues
    exactly where the checkpoint left off.  With ``checkpoint`` (a path), the
    model, optimiser, step and history are saved atomically after every epoch;
    with ``resume`` an existing checkpoint is loaded first, after checking that
    ``meta`` (the model configuration, tokenizer and training settings) matches.
    ``callback`` is called with each epoch's record after it is saved; if it
    returns True, training stops there (early stopping, or an interruption).
    ``max_steps`` caps the number of optimiser steps (the schedule then spans
    ``max_steps``; the last epoch may be partial).  Freed memory is kept for the next
    step during training (see :func:`held_heap`); ``release_memory_every_step``
    returns it to the system after each step instead (a lower resident size,
    about a tenth slower on a CPU).
    ``progress`` (None: automatic) shows a bar per epoch.  ``precision`` is that
    of the forward pass (see :func:`autocast`: float32 on a CPU, bfloat16 mixed
    precision on a GPU that has it, unless asked otherwise).

    Returns
    -------
    xarray.Dataset
        One record per epoch on ``iteration``: ``step`` (optimiser steps so far),
        ``lr``, ``train_loss`` and its parts, ``val_loss`` with ``validation``.

    Examples
    --------
    >>> from neurodata.datasets import make_hub_network
    >>> from neurodata.neuroformer import NeuroformerConfig, NeuroformerNet, SpikeTokenizer
    >>> ds = make_hub_network(n_trials=2, random_state=0)
    >>> tok = SpikeTokenizer(window_prev=0.05).fit(ds)
    >>> cfg = NeuroformerConfig(n_units=tok.n_units_, n_dt=tok.n_dt_, block_size=tok.block_size_,
    ...                         block_size_prev=tok.block_size_prev_, n_embd=16, n_head=2,
    ...                         n_state_layers=0, n_history_layers=1, n_self_layers=0)
    >>> history = train_network(NeuroformerNet(cfg), tok.transform(ds), n_epochs=2,
    ...                         random_state=0, progress=False)
    >>> history.sizes["iteration"], bool(history.train_loss[1] < history.train_loss[0])
    (2, True)
    """
    _check_settings(windows, n_epochs, batch_size, learning_rate, weight_decay, warmup, grad_clip)
    autocast(device, precision)                                   # checks ``precision``
    loss_kwargs = loss_kwargs or {}
    device = torch.device(device)
    net.to(device)
    opt = configure_optimizer(net, learning_rate=learning_rate, weight_decay=weight_decay,
                              betas=betas)
    n_batches = math.ceil(len(windows) / batch_size)
    total_steps = (n_epochs * n_batches if max_steps is None
                   else min(n_epochs * n_batches, max_steps))

    def lr_at(step: int) -> float:
        return learning_rate * lr_multiplier(step, total_steps, warmup)

    history: list[dict] = []
    start_epoch, step = 0, 0
    seed = seed_of(random_state)
    if checkpoint is not None and resume and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint, expect=meta)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start_epoch, step, history = state["epoch"], state["step"], list(state["history"])
        seed = int(state.get("seed", seed))     # a resumed run continues the same draws
    for epoch in range(start_epoch, n_epochs):
        batches = _epoch_batches(windows, batch_size, np.random.default_rng([seed, epoch]),
                                 group=length_grouping)
        net.train()
        bar = progress_bar(range(n_batches), desc=f"epoch {epoch + 1}/{n_epochs}",
                           progress=progress, leave=False)
        held = contextlib.nullcontext() if release_memory_every_step else held_heap()
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), held:
            torch.manual_seed((seed * 100_003 + epoch) % 2**63)
            sums, step, n_run = _run_epoch(net, opt, windows, batches, video=video,
                                           device=device, step=step, lr_at=lr_at,
                                           grad_clip=grad_clip, loss_kwargs=loss_kwargs, bar=bar,
                                           max_steps=total_steps,
                                           release=release_memory_every_step,
                                           precision=precision)
        if n_run == 0:
            break
        record = {"epoch": epoch + 1, "step": step, "lr": lr_at(step - 1)}
        record.update({f"train_{k}": v / n_run for k, v in sums.items()})
        if validation is not None and len(validation):
            record["val_loss"] = _evaluate(net, validation, video, batch_size, device, loss_kwargs,
                                           precision)
        history.append(record)
        if checkpoint is not None:
            save_checkpoint(checkpoint, {"model": net.state_dict(), "optimizer": opt.state_dict(),
                                         "epoch": epoch + 1, "step": step, "history": history,
                                         "seed": seed, "meta": meta or {}})
        if callback is not None and callback(record):
            break
    net.eval()
    return _history(history)
