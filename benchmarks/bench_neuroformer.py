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
``train_network`` does, including handing freed memory back after each step
(``release_memory``); the reference runs as it is.

The reference figures (``/work/shared/BENCHMARKS.md``, reference code at batch 56,
1 thread): 180 tokens/s, 15 GiB peak.  With ``--reference PATH`` (a checkout of
github.com/a-antoniades/Neuroformer) the reference also runs here, side by side on
the same windows, at ``--reference-batch`` (it needs about 15 GiB at batch 56);
its imports of timm and torchvision (unused in this configuration) are stubbed,
and einops, omegaconf and torchmetrics are taken from ``--reference-deps``.

Run: ``PYTHONPATH=. python benchmarks/bench_neuroformer.py [--steps 3] [--batch 56]
[--reference /work/scratch/neuroformer/ref --reference-batch 8]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
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
    order = np.random.default_rng(1).permutation(fits)[: batch * (steps + 1)]
    return tok, w, frames, order.reshape(steps + 1, batch)


# -- our implementation ---------------------------------------------------------------------
def run_ours(batch: int, steps: int, trim: bool, attn_dropout: float, release: bool) -> dict:
    import torch

    from neurodata.neuroformer import NeuroformerConfig, NeuroformerNet
    from neurodata.neuroformer._model import make_batch
    from neurodata.neuroformer._train import configure_optimizer, release_memory
    torch.set_num_threads(1)
    torch.manual_seed(0)
    tok, w, frames, batches = windows(batch, steps)
    cfg = NeuroformerConfig(n_units=tok.n_units_, n_dt=tok.n_dt_, block_size=100,
                            block_size_prev=700, frame_shape=(1, 3, H, W), frame_kernel=(3, 5, 5),
                            contrastive=True, clip_embd=512, clip_temp=0.5, dropout=0.2,
                            attn_dropout=attn_dropout)
    net = NeuroformerNet(cfg).train()
    opt = configure_optimizer(net, learning_rate=1e-4, weight_decay=1.0)
    def step(idx):               # what train_network does for one batch
        b = make_batch(w, idx, video=frames, trim=trim)
        loss, _ = net.loss(b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        out = float(loss.detach()), int((b["y_id"] != tok.pad_).sum())
        del loss, b
        if release:
            release_memory()
        return out

    return _loop(batches, step, n_params=sum(p.numel() for p in net.parameters()))


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
        if i > 0:                                   # the first step warms up
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
                        not args.no_release)
    if args.worker == "reference":
        return run_reference(args.reference, args.reference_deps, args.batch, args.steps)
    return bf16_check()


def _spawn(kind: str, args, batch: int, extra=()) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--batch", str(batch), "--steps",
           str(args.steps), *extra]
    if kind == "reference":
        cmd += ["--reference", str(args.reference), "--reference-deps", str(args.reference_deps)]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise SystemExit(f"{kind} run failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _line(name: str, r: dict) -> str:
    loss = " -> ".join(f"{v:.3f}" for v in r["losses"])
    return (f"{name:<34} {r['tokens_per_s_cpu']:8.0f} tok/s (cpu) {r['tokens_per_s_wall']:8.0f} "
            f"tok/s (wall) {r['s_per_step_cpu']:7.1f} s/step {r['peak_gib']:6.2f} GiB  loss {loss}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=REF_BATCH)
    parser.add_argument("--steps", type=int, default=3, help="timed steps (after one warm-up)")
    parser.add_argument("--reference", type=Path, default=None)
    parser.add_argument("--reference-deps", type=Path,
                        default=Path("/work/scratch/neuroformer/refdeps"))
    parser.add_argument("--reference-batch", type=int, default=8)
    parser.add_argument("--no-trim", action="store_true")
    parser.add_argument("--attn-dropout", type=float, default=0.0)
    parser.add_argument("--no-release", action="store_true")
    parser.add_argument("--variants", action="store_true",
                        help="also run ours without PAD trimming and with attention dropout")
    parser.add_argument("--worker", choices=["ours", "reference", "bf16"], default=None)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args)))
        return
    print(__doc__.split("\n\n")[1])
    bf = _spawn("bf16", args, 1)
    print(f"matmul on this CPU, 1 thread: fp32 {bf['fp32_gflops']:.1f} GFLOP/s, bf16 "
          f"{bf['bf16_gflops']:.2f} GFLOP/s (bf16 is not a speed-up here)")
    ours = _spawn("ours", args, args.batch)
    print(_line(f"neurodata, batch {args.batch}", ours) + f"  ({ours['n_params'] / 1e6:.1f} M params)")
    if args.variants:
        print(_line("neurodata, no PAD trimming", _spawn("ours", args, args.batch, ["--no-trim"])))
        print(_line("neurodata, attention dropout 0.2",
                    _spawn("ours", args, args.batch, ["--attn-dropout", "0.2"])))
        print(_line("neurodata, no malloc_trim",
                    _spawn("ours", args, args.batch, ["--no-release"])))
    print(f"reference (recorded, batch {REF_BATCH}, 1 thread): {REF_TOKENS_PER_S:.0f} tok/s, "
          f"{REF_PEAK_GIB:.1f} GiB")
    print(f"ratio vs recorded reference: {ours['tokens_per_s_cpu'] / REF_TOKENS_PER_S:.2f}x the "
          f"tokens/s, {ours['peak_gib'] / REF_PEAK_GIB:.2f}x the peak memory")
    if args.reference is not None:
        b = args.reference_batch
        ref = _spawn("reference", args, b)
        mine = _spawn("ours", args, b)
        print(_line(f"reference, batch {b}", ref) + f"  ({ref['n_params'] / 1e6:.1f} M params)")
        print(_line(f"neurodata, batch {b}", mine))
        print(f"ratio side by side at batch {b}: {mine['tokens_per_s_cpu'] / ref['tokens_per_s_cpu']:.2f}x "
              f"the tokens/s, {mine['peak_gib'] / ref['peak_gib']:.2f}x the peak memory")


if __name__ == "__main__":
    main()
