"""Closed-loop generation: simulate spiking activity window after window.

Each sequence (a trial) starts from the true past state before its first window;
from then on the past state of every window is built from the model's own
spikes.  Within a window, tokens are sampled one at a time (ID, then dt), with
temperature and nucleus (top-p) sampling, until EOS or the block is full.  All
sequences advance together in one batch, and the self-attention keys and values
of earlier tokens are cached, so each step costs one position.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import xarray as xr

from neurodata._utils import progress_bar, torch_generator
from neurodata.errors import NeurodataError

__all__ = ["generate_tokens", "sample_logits"]


def sample_logits(logits: torch.Tensor, temperature: float = 1.0, top_p: float = 1.0,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw one token per row with temperature and nucleus (top-p) sampling.

    Top-p keeps, in each row, the most probable tokens whose cumulative
    probability first reaches ``top_p`` (at least one token) and renormalises;
    ``temperature == 0`` takes the most probable token.

    Examples
    --------
    >>> logits = torch.log(torch.tensor([[0.6, 0.3, 0.1]]))
    >>> g = torch.Generator().manual_seed(0)
    >>> draws = torch.stack([sample_logits(logits, 1.0, 0.8, g) for _ in range(200)])
    >>> sorted(set(draws.flatten().tolist()))   # the 0.1 token is outside the nucleus
    [0, 1]
    """
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        before = sorted_p.cumsum(dim=-1) - sorted_p          # mass of the better tokens
        sorted_p = sorted_p.masked_fill(before >= top_p, 0.0)
        probs = torch.zeros_like(probs).scatter_(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _pack(times: np.ndarray, uidx: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Ragged spike ranges [lo, hi) -> padded (B, L) time (NaN pad) and id arrays."""
    n = hi - lo
    L = max(int(n.max(initial=0)), 1)
    k = np.arange(L)
    idx = np.minimum(lo[:, None] + k, max(len(times) - 1, 0))
    valid = k[None, :] < n[:, None]
    return np.where(valid, times[idx], np.nan), np.where(valid, uidx[idx], 0)


def _past_tokens(tok, buf_t, buf_id, starts, device):
    """Past-state tokens of each sequence from its spike buffer (vectorised)."""
    origin = starts - tok.window_prev
    valid = torch.isfinite(buf_t) & (buf_t >= origin[:, None]) & (buf_t < starts[:, None])
    key = torch.where(valid, buf_t, torch.full_like(buf_t, math.inf))
    key, order = key.sort(dim=1, stable=True)
    ids = buf_id.gather(1, order)
    n_valid = valid.sum(1)
    cap = tok.block_size_prev_ - 2
    first = (n_valid - cap).clamp_min(0)                       # keep the latest spikes
    n_keep = n_valid - first
    Tp = int(n_keep.max()) + 2 if len(n_keep) else 2
    k = torch.arange(Tp - 2, device=device)
    idx = (first[:, None] + k).clamp_max(max(key.shape[1] - 1, 0))
    inside = k[None, :] < n_keep[:, None]
    t_sel = key.gather(1, idx) if key.shape[1] else torch.zeros_like(idx, dtype=key.dtype)
    id_sel = ids.gather(1, idx) if ids.shape[1] else torch.zeros_like(idx)
    dt_sel = torch.floor((t_sel - origin[:, None]) / tok.dt + 0.5).clamp(0, tok.n_dt_ - 1)
    B = len(starts)
    prev_id = torch.full((B, Tp), tok.pad_, dtype=torch.long, device=device)
    prev_dt = torch.full((B, Tp), tok.dt_pad_, dtype=torch.long, device=device)
    prev_id[:, 0], prev_dt[:, 0] = tok.sos_, 0
    prev_id[:, 1:Tp - 1] = torch.where(inside, id_sel, tok.pad_)
    prev_dt[:, 1:Tp - 1] = torch.where(inside, dt_sel.long(), tok.dt_pad_)
    rows = torch.arange(B, device=device)
    prev_id[rows, n_keep + 1], prev_dt[rows, n_keep + 1] = tok.eos_, tok.dt_eos_
    return prev_id, prev_dt


def _window_tokens(net, tok, contexts, *, B, device, temperature, top_p, temperature_dt,
                   top_p_dt, generator):
    """Sample one window's tokens for all sequences: (ids (B, T), dts (B, T))."""
    T = tok.block_size_
    caches = net.new_caches(T)
    cur_id = torch.full((B,), tok.sos_, dtype=torch.long, device=device)
    cur_dt = torch.zeros(B, dtype=torch.long, device=device)
    last_dt = torch.zeros(B, dtype=torch.long, device=device)
    out_id = torch.full((B, T), tok.pad_, dtype=torch.long, device=device)
    out_dt = torch.full((B, T), tok.dt_pad_, dtype=torch.long, device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    dt_values = torch.arange(tok.dt_vocab_size_, device=device)
    max_dt = min(round(tok.window / tok.dt), tok.n_dt_ - 1)
    for i in range(T):
        x = net.embed_current(cur_id[:, None], cur_dt[:, None], offset=i)
        h, _ = net.decode(x, contexts, caches=caches)
        lid = net.head_id(h[:, -1]).float()
        lid[:, [tok.sos_, tok.pad_]] = -math.inf
        if i == T - 1:                                 # block full: the window must end
            lid[:, : tok.n_units_] = -math.inf
        nid = sample_logits(lid, temperature, top_p, generator)
        ldt = net.head_dt(h[:, -1]).float()
        # dt tokens are time-ordered within a window and cannot pass its end
        allowed = (dt_values[None, :] >= last_dt[:, None]) & (dt_values[None, :] <= max_dt)
        ldt = ldt.masked_fill(~allowed, -math.inf)
        ndt = sample_logits(ldt, temperature_dt, top_p_dt, generator)
        is_eos = nid == tok.eos_
        ndt = torch.where(is_eos, torch.full_like(ndt, tok.dt_eos_), ndt)
        out_id[:, i] = torch.where(done, torch.full_like(nid, tok.pad_), nid)
        out_dt[:, i] = torch.where(done, torch.full_like(ndt, tok.dt_pad_), ndt)
        done = done | is_eos
        if bool(done.all()):
            break
        cur_id, cur_dt = nid, ndt
        last_dt = torch.where(is_eos, last_dt, ndt)
    return out_id, out_dt


@torch.no_grad()
def generate_tokens(net, tok, times: np.ndarray, uidx: np.ndarray, first_starts: np.ndarray,
                    n_windows: np.ndarray, *, modalities=None, temperature: float = 1.0,
                    top_p: float = 0.95, temperature_dt: float = 1.0, top_p_dt: float = 0.95,
                    random_state=None, device="cpu", progress: bool | None = None):
    """Generate spikes for sequences starting at ``first_starts`` (closed loop).

    ``times``/``uidx`` are the real spikes (sorted; token indices), used only for
    each sequence's first past state.  ``n_windows[b]`` windows are generated for
    sequence ``b``.  ``modalities(starts) -> dict`` returns the stimulus and
    behaviour tensors of windows starting at ``starts``.  Spike times are placed
    uniformly inside their dt bin (see :meth:`SpikeTokenizer.decode`).  Sampling
    draws from a torch generator seeded by ``random_state`` (None: fresh
    entropy); ``progress`` None is automatic.  Returns
    ``(sequence index, spike time, token index)`` arrays, sorted by time.
    """
    if temperature < 0 or temperature_dt < 0 or not (0 < top_p <= 1) or not (0 < top_p_dt <= 1):
        raise NeurodataError("temperatures must be >= 0 and top_p values in (0, 1]; got "
                             f"{temperature}, {temperature_dt}, {top_p}, {top_p_dt}.")
    device = torch.device(device)
    net.eval().to(device)
    gen = torch_generator(random_state, device=device)
    B = len(first_starts)
    s0 = np.asarray(first_starts, dtype=float)
    lo = np.searchsorted(times, s0 - tok.window_prev)
    hi = np.searchsorted(times, s0)
    bt, bi = _pack(times, uidx, lo, hi)
    buf_t = torch.as_tensor(bt, dtype=torch.float64, device=device)
    buf_id = torch.as_tensor(bi, dtype=torch.long, device=device)
    out_seq, out_t, out_id = [], [], []
    n_win = int(np.max(n_windows, initial=0))
    for w in progress_bar(range(n_win), desc="generating", progress=progress, leave=False):
        starts_np = s0 + w * tok.window
        starts = torch.as_tensor(starts_np, dtype=torch.float64, device=device)
        prev_id, prev_dt = _past_tokens(tok, buf_t, buf_id, starts, device)
        batch = {"prev_id": prev_id, "prev_dt": prev_dt}
        if modalities is not None:
            batch.update(modalities(starts_np))
        contexts = net.encode_contexts(batch)
        ids, dts = _window_tokens(net, tok, contexts, B=B, device=device,
                                  temperature=temperature, top_p=top_p,
                                  temperature_dt=temperature_dt, top_p_dt=top_p_dt,
                                  generator=gen)
        spike = ids < tok.n_units_
        offset = dts.double() * tok.dt
        lo_b = (offset - tok.dt / 2).clamp_min(0.0)
        hi_b = (offset + tok.dt / 2).clamp_max(tok.window)
        u = torch.rand(offset.shape, generator=gen, device=device, dtype=torch.float64)
        t = starts[:, None] + (lo_b + u * (hi_b - lo_b)).clamp_max(tok.window * (1 - 1e-9))
        t = torch.where(spike, t, torch.full_like(t, math.nan))
        # keep only what a later past state can still see
        buf_t = torch.cat([buf_t, t], dim=1)
        buf_id = torch.cat([buf_id, torch.where(spike, ids, 0)], dim=1)
        horizon = starts[:, None] + tok.window - tok.window_prev
        keep = (torch.isfinite(buf_t) & (buf_t >= horizon)).any(dim=0)
        buf_t, buf_id = buf_t[:, keep], buf_id[:, keep]
        live = spike & torch.as_tensor(w < np.asarray(n_windows), device=device)[:, None]
        b_idx, pos = torch.nonzero(live, as_tuple=True)
        out_seq.append(b_idx.cpu().numpy())
        out_t.append(t[b_idx, pos].cpu().numpy())
        out_id.append(ids[b_idx, pos].cpu().numpy())
    seq = np.concatenate(out_seq) if out_seq else np.zeros(0, np.int64)
    tt = np.concatenate(out_t) if out_t else np.zeros(0)
    ii = np.concatenate(out_id) if out_id else np.zeros(0, np.int64)
    order = np.argsort(tt, kind="stable")
    return seq[order], tt[order], ii[order]


def generated_recording(tok, seq, t, ids, first_starts, n_windows, *, source_trial=None,
                        attrs=None) -> xr.Dataset:
    """Pack generated spikes into a recording Dataset (one trial per sequence)."""
    starts = np.asarray(first_starts, dtype=float)
    stops = starts + np.asarray(n_windows) * tok.window
    coords = {"unit": np.asarray(tok.units_),
              "trial_start_time": ("trial", starts), "trial_stop_time": ("trial", stops)}
    if source_trial is not None:
        coords["trial_source"] = ("trial", np.asarray(source_trial))
    return xr.Dataset(
        {"spike_times": ("spike", np.asarray(t, dtype=np.float64)),
         "spike_unit": ("spike", np.asarray(tok.units_)[ids]),
         "spike_trial": ("spike", np.asarray(seq, dtype=np.int64))},
        coords=coords, attrs=dict(attrs or {}))
