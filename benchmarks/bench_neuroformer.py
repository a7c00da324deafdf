"""Neuroformer training throughput and peak memory at the paper's configuration, on CPU.

Configuration: the reference's ``configs/Visnav/lateral/mconf_pretrain.yaml`` -- 256
features, 8 heads, 6 layers in every stage (current-state self-attention, past-state
cross-attention, stimulus encoder and cross-attention, final self-attention), 0.05 s
current and past windows, 0.01 s dt, blocks of 100 current and 700 past tokens, a
video stimulus of 0.15 s (3 frames of 64 x 112 at 20 Hz) cut into 3 x 5 x 5 patches,
CLIP alignment (512 wide, temperature 0.5), dropout 0.2; 24 M parameters.  Data:
synthetic, 400 neurons firing as Poisson processes at 4.5 Hz (about 90 spikes per
window) and a smooth random video.  AdamW, gradient clipping, batch 56.

Reported: non-PAD target tokens per second (CPU time of one thread, which the load
of other processes on a shared machine inflates far less than wall time; wall time
is printed too), the training loss, and the peak resident memory of a process that
only does this.  Each implementation runs in its own process.  Ours does what
``train_network`` does, including keeping freed memory for the next step
(``held_heap``; ``--release-every-step`` trims it after each step instead); the
reference runs as it is.

The reference figures (``/work/shared/BENCHMARKS.md``, reference code at batch 56,
1 thread): 180 tokens/s, 15 GiB peak.  With ``--reference PATH`` (a checkout of
github.com/a-antoniades/Neuroformer) the reference also runs here, side by side on
the same windows, at each of ``--reference-batches`` (about 15 GiB at batch 56);
its imports of timm and torchvision (unused in this configuration) are stubbed,
and einops, omegaconf and torchmetrics are taken from ``--reference-deps``.

Each batch size is run by: the reference (with ``--reference``), ours before packing
(the padded path), ours packed in float32 (the default on a CPU), and ours packed
in bfloat16 mixed precision (``precision="bfloat16"``; on a CPU with AMX its
matrix products are several times faster), with a per-stage and a per-kind-of-op
profile of one step of each of ours.

Run: ``PYTHONPATH=. python benchmarks/bench_neuroformer.py [--steps 3] [--batches 8 56]
[--reference /work/scratch/neuroformer/ref --reference-deps DIR] [--variants]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: untimed steps before the timed ones, for both implementations (``--warmup``)
WARMUP = [3]
REF_TOKENS_PER_S, REF_PEAK_GIB, REF_BATCH = 180.0, 15.0, 56
N_UNITS, RATE, DURATION, FRAME_RATE, H, W = 400, 4.5, 40.0, 20.0, 64, 112


def synthetic_session(seed: int = 0):
    """400 Poisson neurons at 4.5 Hz and a smooth random 64 x 112 video at 20 Hz."""
    import xarray as xr
    rng = np.random.default_rng(seed)
    n = rng.poisson(RATE * DURATION, N_UNITS)
    t = rng.uniform(0, DURATION, n.sum())
    u = np.repeat(np.arange(N_UNITS), n)
    order = np.argsort(t)
    n_frames = int(DURATION * FRAME_RATE)
    coarse = rng.normal(size=(n_frames, H // 8, W // 8)).astype(np.float32)
    video = np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2)
    return xr.Dataset({"spike_times": ("spike", t[order]), "spike_unit": ("spike", u[order]),
                       "stimulus": (("time_stimulus", "y", "x"), video)},
                      coords={"unit": np.arange(N_UNITS),
                              "time_stimulus": np.arange(n_frames) / FRAME_RATE})


def windows(batch: int, steps: int):
    """The tokenized windows of the benchmark (the same for both implementations)."""
    from neurodata.neuroformer import SpikeTokenizer
    from neurodata.neuroformer._inputs import frame_indices, get_stimulus
    ds = synthetic_session()
    tok = SpikeTokenizer(0.05, 0.05, 0.01, block_size=100, block_size_prev=700).fit(
        ds, intervals=[(0.2, DURATION)])
    w = tok.transform(ds, intervals=[(0.2, DURATION)])
    frames, ftimes = get_stimulus(ds, "stimulus")
    w.frame_index = frame_indices(ftimes, w.start, 0.05, 3)
    # the reference keeps at most block_size - 2 spikes per window (we keep block_size - 1):
    # use windows both take whole
    fits = np.flatnonzero(w.n_current <= 98)
    order = np.random.default_rng(1).permutation(fits)[: batch * (steps + WARMUP[0])]
    return tok, w, frames, order.reshape(steps + WARMUP[0], batch)


# -- our implementation ---------------------------------------------------------------------
class StageProbe:
    """CPU time of each stage of a training step, forward and backward.

    The network calls the probe at each stage's output (``stage_probe``); the
    forward time of a stage runs from the previous mark to its own, and its
    backward time from the arrival of the gradient at its output to the arrival at
    the previous stage's output (autograd runs the stages in reverse order).  The
    stimulus and past-state encoders ran first, so their backward comes last,
    with the embeddings'.
    """

    ORDER = ("past encoder", "frame encoder", "embeddings", "state self-attention",
             "past cross-attention", "stimulus cross-attention", "final self-attention")

    def __init__(self):
        self.fwd: list = []
        self.bwd: dict = {}

    def __call__(self, name, x):
        self.fwd.append((name, time.process_time()))
        if x.requires_grad:
            x.register_hook(lambda g, n=name: self._arrived(n))
        return x

    def _arrived(self, name) -> None:
        self.bwd.setdefault(name, time.process_time())

    def table(self, t0, t_loss, t_bwd0, t_bwd1, t_end) -> dict:
        out, prev = {}, t0
        for name, t in self.fwd:
            out[f"forward: {name}"] = t - prev
            prev = t
        out["forward: heads and loss"] = t_loss - prev
        chain = [n for n in reversed(self.ORDER) if n in self.bwd and n not in
                 ("past encoder", "frame encoder")]
        prev, prev_name = t_bwd0, "heads and loss"
        for name in chain:
            out[f"backward: {prev_name}"] = self.bwd[name] - prev
            prev, prev_name = self.bwd[name], name
        out["backward: embeddings, frame and past encoders"] = t_bwd1 - prev
        out["optimiser step and clipping"] = t_end - t_bwd1
        return out


OPS = {"matrix products": ("aten::mm", "aten::addmm", "aten::bmm", "aten::linear",
                           "aten::matmul", "aten::baddbmm", "aten::mkldnn_convolution",
                           "aten::convolution_backward"),
       "attention kernels": ("aten::_scaled_dot_product_flash_attention_for_cpu",
                             "aten::_scaled_dot_product_flash_attention_for_cpu_backward"),
       "dropout (random bits, fused kernel)": ("aten::bernoulli_", "aten::uniform_", "aten::ge",
                                               "aten::random_", "_Dropout", "_DropoutBackward")}


def op_table(prof) -> dict:
    """Self CPU time of a profiled step by kind of operation."""
    out = dict.fromkeys([*OPS, "everything else"], 0.0)
    for e in prof.key_averages():
        kind = next((k for k, names in OPS.items() if e.key in names), "everything else")
        out[kind] += e.self_cpu_time_total / 1e6
    return out


def run_ours(batch: int, steps: int, trim: bool, attn_dropout: float, release: bool,
             padded: bool = False, precision: str = "float32", dropout: float = 0.2,
             profile: bool = False) -> dict:
    import torch

    from neurodata.neuroformer import NeuroformerConfig, NeuroformerNet
    from neurodata.neuroformer._model import make_batch
    from neurodata.neuroformer._train import (
        autocast,
        configure_optimizer,
        held_heap,
        release_memory,
        train_step,
    )
    torch.set_num_threads(1)
    torch.manual_seed(0)
    tok, w, frames, batches = windows(batch, steps)
    cfg = NeuroformerConfig(n_units=tok.n_units_, n_dt=tok.n_dt_, block_size=100,
                            block_size_prev=700, frame_shape=(1, 3, H, W), frame_kernel=(3, 5, 5),
                            contrastive=True, clip_embd=512, clip_temp=0.5, dropout=dropout,
                            attn_dropout=attn_dropout)
    net = NeuroformerNet(cfg).train()
    opt = configure_optimizer(net, learning_rate=1e-4, weight_decay=1.0)
    pad_left = []

    def step(idx):               # what train_network does for one batch
        b = make_batch(w, idx, video=frames, trim=trim, unique_frames=not padded)
        pad_left.append((float((b["x_id"] == tok.pad_).float().mean()),
                         float((b["prev_id"] == tok.pad_).float().mean()),
                         1 - len(b["frames"]) / len(idx)))
        if padded:                # the padded path (before packing), float32
            loss, _ = net._loss_padded(b)
            value = float(loss.detach())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            del loss
        else:
            value, _ = train_step(net, opt, b, grad_clip=1.0, precision=precision)
        out = value, int((b["y_id"] != tok.pad_).sum())
        del b
        if release:
            release_memory()
        return out

    with contextlib.nullcontext() if release else held_heap():
        result = _loop(batches, step, n_params=sum(p.numel() for p in net.parameters()))
    result["pad_left"] = np.mean(pad_left, axis=0).tolist()
    if profile:
        result["stages"], result["ops"] = _profile_ours(net, opt, w, frames, batches[1], trim,
                                                        padded, precision, make_batch, autocast)
    return result


def _profile_ours(net, opt, w, frames, idx, trim, padded, precision, make_batch, autocast):
    import torch
    from torch.profiler import ProfilerActivity, profile
    b = make_batch(w, idx, video=frames, trim=trim, unique_frames=not padded)
    probe = net.stage_probe = StageProbe()
    t0 = time.process_time()
    with autocast("cpu", "float32" if padded else precision):
        loss, _ = (net._loss_padded if padded else net.loss)(b)
    t_loss = time.process_time()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    t_bwd = time.process_time()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    opt.step()
    stages = probe.table(t0, t_loss, t_loss, t_bwd, time.process_time())
    net.stage_probe = None
    del loss
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        with autocast("cpu", "float32" if padded else precision):
            loss, _ = (net._loss_padded if padded else net.loss)(b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return stages, op_table(prof)


# -- the reference implementation -------------------------------------------------------------
def _stub_unused_imports() -> None:
    """timm and torchvision are imported by the reference but unused in this configuration."""
    import importlib.machinery

    def stub(name: str, **attrs) -> types.ModuleType:
        mod = types.ModuleType(name)
        mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
        mod.__dict__.update(attrs)
        sys.modules[name] = mod
        return mod
    video = stub("torchvision.models.video", r3d_18=None)
    stub("torchvision", models=stub("torchvision.models", video=video))
    stub("timm")


def run_reference(path: Path, deps: Path, batch: int, steps: int) -> dict:
    import torch
    sys.path[:0] = [str(deps), str(path / "neuroformer"), str(path)]
    import torchmetrics  # noqa: F401  (imported before the stubs, so it sees no torchvision)
    _stub_unused_imports()
    from model_neuroformer import Neuroformer as RefNeuroformer  # type: ignore
    from utils import load_config  # type: ignore
    torch.set_num_threads(1)
    torch.manual_seed(0)
    tok, w, frames, batches = windows(batch, steps)
    config = load_config(str(path / "configs/Visnav/lateral/mconf_pretrain.yaml"))
    K = tok.n_dt_
    stoi_id = {**{i: i for i in range(N_UNITS)}, "SOS": N_UNITS, "EOS": N_UNITS + 1,
               "PAD": N_UNITS + 2}
    stoi_dt = {**{round(0.01 * i, 2): i for i in range(K)}, "SOS": K, "EOS": K + 1, "PAD": K + 2}
    ref_tok = types.SimpleNamespace(stoi={"ID": stoi_id, "dt": stoi_dt},
                                    ID_vocab_size=len(stoi_id), dt_vocab_size=len(stoi_dt))
    config.id_vocab_size = ref_tok.ID_vocab_size
    model = RefNeuroformer(config, ref_tok).train()
    opt = model.configure_optimizers(types.SimpleNamespace(
        decay_weights=True, weight_decay=1.0, learning_rate=1e-4, betas=(0.9, 0.95)))

    def dt_ref(a):      # our dt EOS / PAD (K, K + 1) are the reference's K + 1, K + 2
        a = torch.as_tensor(a, dtype=torch.long)
        return torch.where(a >= K, a + 1, a)

    def step(idx):
        n = w.n_current[idx]
        x = {"id": torch.as_tensor(w.x_id[idx], dtype=torch.long),
             "dt": dt_ref(w.x_dt[idx]).float(),
             "id_prev": torch.as_tensor(w.prev_id[idx], dtype=torch.long),
             "dt_prev": dt_ref(w.prev_dt[idx]).float(),
             "pad": torch.as_tensor(100 - n - 1, dtype=torch.long),
             "frames": torch.as_tensor(frames[w.frame_index[idx]]).transpose(1, 2)}
        y = {"id": torch.as_tensor(w.y_id[idx], dtype=torch.long), "dt": dt_ref(w.y_dt[idx])}
        _, _, loss = model(x, y)
        total = sum(v.mean() for v in loss.values())
        model.zero_grad()
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return float(total.detach()), int((y["id"] != N_UNITS + 2).sum())

    return _loop(batches, step, n_params=sum(p.numel() for p in model.parameters()))


def _loop(batches, step, n_params: int) -> dict:
    losses, cpu, wall, tokens = [], [], [], []
    for i, idx in enumerate(batches):
        c0, w0 = time.process_time(), time.perf_counter()
        loss, n_tok = step(idx)
        if i >= WARMUP[0]:                          # the first steps warm up
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
            tokens.append(n_tok)
        losses.append(loss)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20          # KiB -> GiB
    return {"tokens_per_s_cpu": sum(tokens) / sum(cpu), "tokens_per_s_wall": sum(tokens) / sum(wall),
            "s_per_step_cpu": float(np.mean(cpu)), "tokens_per_step": float(np.mean(tokens)),
            "losses": losses, "peak_gib": peak, "n_params": n_params}


def bf16_check() -> dict:
    """fp32 vs bf16 matrix multiply speed on this CPU, one thread."""
    import torch
    torch.set_num_threads(1)
    out = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.randn(512, 512).to(dtype)
        a @ a
        t0 = time.perf_counter()
        for _ in range(3):
            a @ a
        out[f"{name}_gflops"] = 3 * 2 * 512**3 / (time.perf_counter() - t0) / 1e9
    return out


def _worker(args) -> dict:
    if args.worker == "ours":
        return run_ours(args.batch, args.steps, not args.no_trim, args.attn_dropout,
                        args.release_every_step, padded=args.padded, precision=args.precision,
                        dropout=args.dropout, profile=args.profile)
    if args.worker == "reference":
        return run_reference(args.reference, args.reference_deps, args.batch, args.steps)
    return bf16_check()


def _spawn(kind: str, args, batch: int, extra=()) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--batch", str(batch), "--steps",
           str(args.steps), "--warmup", str(args.warmup), *extra]
    if kind == "reference":
        cmd += ["--reference", str(args.reference), "--reference-deps", str(args.reference_deps)]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise SystemExit(f"{kind} run failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _line(name: str, r: dict, ref: dict | None = None) -> str:
    loss = " -> ".join(f"{v:.3f}" for v in r["losses"])
    ratio = "" if ref is None else (f"  [{r['tokens_per_s_cpu'] / ref['tokens_per_s_cpu']:.2f}x "
                                    f"tok/s, {r['peak_gib'] / ref['peak_gib']:.2f}x memory]")
    return (f"{name:<40} {r['tokens_per_s_cpu']:7.0f} tok/s (cpu) {r['tokens_per_s_wall']:7.0f} "
            f"(wall) {r['s_per_step_cpu']:6.2f} s/step {r['peak_gib']:6.2f} GiB  loss {loss}{ratio}")


def _profile_lines(runs: dict) -> list[str]:
    """The per-stage and per-kind-of-operation CPU times of the profiled runs, side by side."""
    names = list(runs)
    rows = []
    for key in ("stages", "ops"):
        labels = list(dict.fromkeys(k for r in runs.values() for k in r.get(key, {})))
        if not labels:
            continue
        rows.append(f"  {'seconds of CPU per step' if key == 'stages' else 'by kind of op':<52}"
                    + "".join(f"{n:>22}" for n in names))
        for label in labels:
            rows.append(f"  {label:<52}" + "".join(
                f"{runs[n].get(key, {}).get(label, float('nan')):22.3f}" for n in names))
        rows.append(f"  {'total':<52}" + "".join(
            f"{sum(runs[n].get(key, {}).values()):22.3f}" for n in names))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[8, REF_BATCH])
    parser.add_argument("--steps", type=int, default=3, help="timed steps (after --warmup)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed steps first, for both implementations (bfloat16 "
                             "products compile a kernel for each new shape on their first use)")
    parser.add_argument("--reference", type=Path, default=None)
    parser.add_argument("--reference-deps", type=Path,
                        default=Path("/work/scratch/neuroformer/refdeps"))
    parser.add_argument("--reference-batches", type=int, nargs="*", default=None,
                        help="batches at which the reference runs (default: --batches)")
    parser.add_argument("--no-bf16", action="store_true",
                        help="skip the bfloat16 mixed-precision run of ours")
    parser.add_argument("--variants", action="store_true",
                        help="also run ours without PAD trimming, with attention dropout, "
                             "with malloc_trim after every step, and padded vs packed without dropout")
    # worker options
    parser.add_argument("--worker", choices=["ours", "reference", "bf16"], default=None)
    parser.add_argument("--batch", type=int, default=REF_BATCH)
    parser.add_argument("--no-trim", action="store_true")
    parser.add_argument("--attn-dropout", type=float, default=0.0)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--release-every-step", action="store_true",
                        help="malloc_trim after every step (instead of held_heap)")
    parser.add_argument("--padded", action="store_true", help="the padded path (before packing)")
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    WARMUP[0] = args.warmup
    if args.worker:
        print(json.dumps(_worker(args)))
        return
    print(__doc__.split("\n\n")[1])
    bf = _spawn("bf16", args, 1)
    print(f"matmul on this CPU, 1 thread: fp32 {bf['fp32_gflops']:.1f} GFLOP/s, bf16 "
          f"{bf['bf16_gflops']:.1f} GFLOP/s; load average {_load()}")
    ref_batches = args.batches if args.reference_batches is None else args.reference_batches
    for batch in args.batches:
        print(f"\n-- batch {batch} --")
        ref = None
        if args.reference is not None and batch in ref_batches:
            ref = _spawn("reference", args, batch)
            print(_line(f"reference, batch {batch}", ref)
                  + f"  ({ref['n_params'] / 1e6:.1f} M params)")
        elif batch == REF_BATCH:
            ref = {"tokens_per_s_cpu": REF_TOKENS_PER_S, "peak_gib": REF_PEAK_GIB}
            print(f"reference (recorded in BENCHMARKS.md, batch {REF_BATCH}, 1 thread): "
                  f"{REF_TOKENS_PER_S:.0f} tok/s, {REF_PEAK_GIB:.1f} GiB")
        runs = {"before (padded)": _spawn("ours", args, batch, ["--padded", "--profile"]),
                "packed, float32": _spawn("ours", args, batch, ["--profile"])}
        if not args.no_bf16:
            runs["packed, bfloat16"] = _spawn("ours", args, batch,
                                              ["--profile", "--precision", "bfloat16"])
        for name, r in runs.items():
            print(_line(f"neurodata {name}", r, ref))
        pad = runs["packed, float32"]["pad_left"]
        print(f"PAD left after trimming: {100 * pad[0]:.1f} % of the current-state block, "
              f"{100 * pad[1]:.1f} % of the past-state block; repeated clips: {100 * pad[2]:.0f} %")
        print("\n".join(_profile_lines(runs)))
        if args.variants:
            for name, extra in (("no PAD trimming (padded)", ["--padded", "--no-trim"]),
                                ("attention dropout 0.2", ["--attn-dropout", "0.2"]),
                                ("malloc_trim after every step", ["--release-every-step"])):
                print(_line(f"neurodata, {name}", _spawn("ours", args, batch, extra), ref))
            a = _spawn("ours", args, batch, ["--padded", "--dropout", "0"])
            b = _spawn("ours", args, batch, ["--dropout", "0"])
            print(_line("neurodata padded, dropout 0", a))
            print(_line("neurodata packed, dropout 0", b))
            diff = max(abs(x - y) / abs(x) for x, y in zip(a["losses"], b["losses"]))
            print(f"largest relative loss difference, padded vs packed without dropout: {diff:.1e}")


def _load() -> str:
    import os
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


if __name__ == "__main__":
    main()
