"""The Neuroformer network: embeddings, modality encoders, cross-attention stack, heads.

Data flow for one window (Antoniades et al. 2024, Fig. 2, with the reference
code's layer counts):

1. current-state tokens: ID embedding + learnt embedding of the dt token +
   learnt position; ``n_state_layers`` causal self-attention blocks;
2. past state: the same ID embedding + its own dt and position embeddings
   (``n_past_layers`` self-attention blocks, none in the reference);
3. stimulus frames (optional): :class:`VideoEncoder`; behaviour (optional):
   :class:`SeriesEncoder`;
4. the current-state tokens cross-attend to the past state (``n_history_layers``
   blocks), then to the stimulus (``n_stimulus_layers``), then to behaviour
   (``n_behaviour_layers``), then ``n_self_layers`` causal self-attention blocks;
5. a LayerNorm and two linear heads give the next token's ID and dt logits; an
   optional behaviour head reads the mean of the final features.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neurodata.errors import NeurodataError
from neurodata.neuroformer._modules import Block, SeriesEncoder, VideoEncoder, clip_loss, dropout
from neurodata.neuroformer._packing import Context, Packing, block_packed

__all__ = ["NeuroformerConfig", "NeuroformerNet", "make_batch"]


@dataclass
class NeuroformerConfig:
    """Hyperparameters of a Neuroformer network (defaults: the paper's configuration).

    The vocabulary (``n_units``, ``n_dt``) and block sizes come from the fitted
    :class:`~neurodata.neuroformer.SpikeTokenizer`.  ``frame_shape`` is
    ``(channels, n_frames, height, width)`` of the stimulus clip seen by each
    window, or None without a stimulus; ``n_behaviour``/``behaviour_samples`` the
    number of behaviour input variables and samples per window; ``n_outputs`` the
    width of the behaviour head (0: none).

    Loss: ``id_weight * CE(ID) + dt_weight * CE(dt) + contrastive_weight * CLIP``
    (PAD targets ignored).  The reference code weighs ID and dt 3/5 and 2/5, and
    with a contrastive term scales both by 3/4 and gives CLIP 1/4; these are the
    defaults (the contrastive weight is used only when ``contrastive`` is on).

    Examples
    --------
    >>> cfg = NeuroformerConfig(n_units=400, n_dt=6, block_size=100, block_size_prev=700)
    >>> cfg.n_embd, cfg.n_head, cfg.n_history_layers
    (256, 8, 6)
    >>> NeuroformerConfig.from_dict(cfg.to_dict()) == cfg
    True
    """

    n_units: int
    n_dt: int
    block_size: int
    block_size_prev: int
    n_embd: int = 256
    n_head: int = 8
    n_state_layers: int = 6
    n_past_layers: int = 0
    n_history_layers: int = 6
    n_stimulus_layers: int = 6
    n_behaviour_layers: int = 4
    n_self_layers: int = 6
    dropout: float = 0.2
    attn_dropout: float = 0.0
    frame_shape: tuple | None = None
    frame_kernel: tuple = (3, 5, 5)
    frame_stride: tuple | None = None
    n_behaviour: int = 0
    behaviour_samples: int = 0
    n_outputs: int = 0
    contrastive: bool = False
    clip_embd: int = 512
    clip_temp: float = 0.5
    id_weight: float = 0.6
    dt_weight: float = 0.4
    contrastive_weight: float = 0.25
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("frame_shape", "frame_kernel", "frame_stride"):
            d[k] = None if d[k] is None else [int(v) for v in d[k]]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> NeuroformerConfig:
        d = dict(d)
        for k in ("frame_shape", "frame_kernel", "frame_stride"):
            d[k] = None if d.get(k) is None else tuple(d[k])
        return cls(**d)


class _TemporalEmbedding(nn.Module):
    """Learnt embedding of dt tokens (the reference's default: an MLP of the dt value)."""

    def __init__(self, n_embd: int, n_dt: int):
        super().__init__()
        self.scale = 1.0 / max(n_dt - 1, 1)
        self.mlp = nn.Sequential(nn.Linear(1, n_embd // 2), nn.GELU(), nn.Linear(n_embd // 2, n_embd))

    def forward(self, dt: torch.Tensor) -> torch.Tensor:
        dtype = next(self.mlp.parameters()).dtype
        return self.mlp(dt.to(dtype)[..., None] * self.scale)


def _blocks(cfg: NeuroformerConfig, n: int) -> nn.ModuleList:
    return nn.ModuleList(Block(cfg.n_embd, cfg.n_head, cfg.dropout, cfg.attn_dropout)
                         for _ in range(n))


class NeuroformerNet(nn.Module):
    """The Neuroformer network (see the module docstring for the data flow).

    Examples
    --------
    >>> cfg = NeuroformerConfig(n_units=5, n_dt=16, block_size=8, block_size_prev=12,
    ...                         n_embd=32, n_head=2, n_state_layers=1, n_history_layers=1,
    ...                         n_self_layers=1)
    >>> net = NeuroformerNet(cfg)
    >>> batch = {"x_id": torch.tensor([[5, 1, 2]]), "x_dt": torch.tensor([[0, 1, 3]]),
    ...          "prev_id": torch.tensor([[5, 0, 6]]), "prev_dt": torch.tensor([[0, 4, 16]])}
    >>> out = net(batch)
    >>> tuple(out["id_logits"].shape), tuple(out["dt_logits"].shape)
    ((1, 3, 8), (1, 3, 18))
    """

    def __init__(self, cfg: NeuroformerConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.n_embd
        self.pad_id, self.pad_dt = cfg.n_units + 2, cfg.n_dt + 1
        self.tok_emb = nn.Embedding(cfg.n_units + 3, d)
        self.pos_emb = nn.Parameter(torch.zeros(1, cfg.block_size, d))
        self.pos_emb_prev = nn.Parameter(torch.zeros(1, cfg.block_size_prev, d))
        self.temp_emb = _TemporalEmbedding(d, cfg.n_dt)
        self.temp_emb_prev = _TemporalEmbedding(d, cfg.n_dt)
        self.drop = nn.Dropout(cfg.dropout)
        self.state_blocks = _blocks(cfg, cfg.n_state_layers)
        self.past_blocks = _blocks(cfg, cfg.n_past_layers)
        self.ln_past = nn.LayerNorm(d)
        self.history_blocks = _blocks(cfg, cfg.n_history_layers)
        self.video = self.stimulus_blocks = None
        if cfg.frame_shape is not None:
            self.video = VideoEncoder(cfg.frame_shape[0], d, cfg.frame_kernel, cfg.frame_stride,
                                      n_layers=cfg.n_stimulus_layers, n_head=cfg.n_head,
                                      dropout=cfg.dropout, attn_dropout=cfg.attn_dropout)
            self.stimulus_blocks = _blocks(cfg, cfg.n_stimulus_layers)
        self.series = self.behaviour_blocks = None
        if cfg.n_behaviour > 0:
            self.series = SeriesEncoder(cfg.n_behaviour, cfg.behaviour_samples, d,
                                        n_head=cfg.n_head, dropout=cfg.dropout)
            self.behaviour_blocks = _blocks(cfg, cfg.n_behaviour_layers)
            self.register_buffer("behaviour_mean", torch.zeros(cfg.n_behaviour, 1))
            self.register_buffer("behaviour_std", torch.ones(cfg.n_behaviour, 1))
        self.self_blocks = _blocks(cfg, cfg.n_self_layers)
        self.ln_f = nn.LayerNorm(d)
        self.head_id = nn.Linear(d, cfg.n_units + 3, bias=False)
        self.head_dt = nn.Linear(d, cfg.n_dt + 2, bias=False)
        self.head_behaviour = nn.Linear(d, cfg.n_outputs) if cfg.n_outputs > 0 else None
        self.clip_proj = nn.ModuleDict()
        if cfg.contrastive:
            # the projection width follows clip_embd (the reference ignores it)
            for name in ["neural"] + (["stimulus"] if self.video else []) + \
                        (["behaviour"] if self.series else []):
                self.clip_proj[name] = nn.Linear(d, cfg.clip_embd, bias=False)
            if len(self.clip_proj) < 2:
                raise NeurodataError("contrastive=True needs a stimulus or behaviour modality to "
                                     "align the neural embedding with.")
        self.apply(self._init_weights)
        #: a callable ``(stage name, tensor) -> tensor`` called at each stage's output
        #: (profiling, see benchmarks/bench_neuroformer.py); None: no calls
        self.stage_probe = None

    def _mark(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return x if self.stage_probe is None else self.stage_probe(name, x)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    # -- encoders ---------------------------------------------------------------------
    def encode_contexts(self, batch: dict) -> dict:
        """Encode the past state and the other modalities: {name: (tokens, key_mask)}."""
        prev_id = batch["prev_id"]
        T = prev_id.shape[1]
        p = self.tok_emb(prev_id) + self.temp_emb_prev(batch["prev_dt"]) + self.pos_emb_prev[:, :T]
        p = dropout(p, self.drop)
        mask = prev_id != self.pad_id
        for block in self.past_blocks:
            p, _ = block(p, key_mask=mask)
        contexts = {"past": (self._mark("past encoder", self.ln_past(p)), mask)}
        if self.video is not None:
            if "frames" not in batch:
                raise NeurodataError("this model was built with a stimulus; pass the stimulus.")
            stim = self.video(batch["frames"])
            if "frame_inverse" in batch:              # repeated clips were encoded once
                stim = stim.index_select(0, batch["frame_inverse"])
            contexts["stimulus"] = (self._mark("frame encoder", stim), None)
        if self.series is not None:
            if "behaviour" not in batch:
                raise NeurodataError("this model was built with behaviour inputs; pass them.")
            z = (batch["behaviour"] - self.behaviour_mean) / self.behaviour_std
            contexts["behaviour"] = (self.series(z), None)
        return contexts

    def set_behaviour_scaling(self, values: torch.Tensor) -> None:
        """Standardise behaviour inputs with the mean and sd of ``values`` ``(W, V, S)``."""
        self.behaviour_mean = values.mean(dim=(0, 2))[:, None].clone()
        self.behaviour_std = values.std(dim=(0, 2)).clamp_min(1e-6)[:, None].clone()

    def _stages(self):
        yield "past", self.history_blocks
        if self.stimulus_blocks is not None:
            yield "stimulus", self.stimulus_blocks
        if self.behaviour_blocks is not None:
            yield "behaviour", self.behaviour_blocks

    def embed_current(self, x_id, x_dt, offset: int = 0) -> torch.Tensor:
        T = x_id.shape[1]
        x = self.tok_emb(x_id) + self.temp_emb(x_dt) + self.pos_emb[:, offset:offset + T]
        return dropout(x, self.drop)

    def decode(self, x, contexts, *, caches=None, need_weights=False):
        """Run the current-state stack on embedded tokens ``x`` given encoded contexts.

        With ``caches`` (from :meth:`new_caches`) ``x`` holds the next position(s) only.
        Returns the final features and, with ``need_weights``, the past-state
        cross-attention weights of every history block ``(B, head, T, S)``.
        """
        c = iter(caches) if caches is not None else None
        for block in self.state_blocks:
            x, _ = block(x, causal=True, cache=next(c) if c else None)
        x = self._mark("state self-attention", x)
        weights = []
        for name, blocks in self._stages():
            ctx, mask = contexts[name]
            for block in blocks:
                x, w = block(x, ctx, key_mask=mask, cache=next(c) if c else None,
                             need_weights=need_weights and name == "past")
                if w is not None:
                    weights.append(w)
            x = self._mark(f"{name} cross-attention", x)
        for block in self.self_blocks:
            x, _ = block(x, causal=True, cache=next(c) if c else None)
        x = self._mark("final self-attention", x)
        return self.ln_f(x), weights

    def new_caches(self, max_len: int) -> list[dict]:
        """Empty key/value caches for incremental decoding, in :meth:`decode`'s order."""
        n = len(self.state_blocks) + len(self.self_blocks)
        n += sum(len(blocks) for _, blocks in self._stages())
        return [{"max_len": max_len} for _ in range(n)]

    def forward(self, batch: dict, *, need_weights: bool = False) -> dict:
        contexts = self.encode_contexts(batch)
        x = self._mark("embeddings", self.embed_current(batch["x_id"], batch["x_dt"]))
        h, weights = self.decode(x, contexts, need_weights=need_weights)
        out = {"hidden": h, "contexts": contexts, "weights": weights,
               "id_logits": self.head_id(h), "dt_logits": self.head_dt(h)}
        if self.head_behaviour is not None:
            out["behaviour"] = self.head_behaviour(self.pool(h, batch["x_id"]))
        return out

    def pool(self, h: torch.Tensor, x_id: torch.Tensor) -> torch.Tensor:
        """Mean of the final features over each window's SOS and spike positions."""
        eos = self.cfg.n_units + 1
        valid = ((x_id != self.pad_id) & (x_id != eos)).unsqueeze(-1).to(h.dtype)
        return (h * valid).sum(1) / valid.sum(1).clamp_min(1.0)

    # -- packed (PAD-free) training path -----------------------------------------------
    def _embed_packed(self, ids, dts, packing: Packing, emb, temp, pos) -> torch.Tensor:
        x = emb(packing.pack(ids)) + temp(packing.pack(dts)) + pos[0].index_select(0, packing.position)
        return dropout(x, self.drop)

    @staticmethod
    def _bucketed(device: torch.device) -> bool:
        """Whether packed row counts are rounded to recurring sizes (see ``bucket_rows``):
        for bfloat16 products on a CPU, which oneDNN compiles and caches per shape."""
        dev = device.type
        return dev == "cpu" and torch.is_autocast_enabled(dev) \
            and torch.get_autocast_dtype(dev) == torch.bfloat16

    def forward_packed(self, batch: dict) -> dict:
        """The training forward pass on packed real tokens (see :mod:`._packing`).

        Returns the final features ``hidden`` ``(n, C)`` of the current-state tokens
        that are not PAD, their :class:`Packing`, the ID and dt logits of those
        tokens and the encoded contexts (:class:`Context`).  Equal, at real tokens,
        to :meth:`forward`.
        """
        bucket = self._bucketed(batch["prev_id"].device)
        prev = Packing(batch["prev_id"] != self.pad_id, bucket=bucket)
        p = self._embed_packed(batch["prev_id"], batch["prev_dt"], prev, self.tok_emb,
                               self.temp_emb_prev, self.pos_emb_prev)
        for block in self.past_blocks:
            p = block_packed(block, p, prev, key_mask=prev.mask)
        contexts = {"past": Context(self._mark("past encoder", self.ln_past(p)), prev.mask, prev)}
        if self.video is not None:
            if "frames" not in batch:
                raise NeurodataError("this model was built with a stimulus; pass the stimulus.")
            contexts["stimulus"] = Context(self._mark("frame encoder", self.video(batch["frames"])),
                                           inverse=batch.get("frame_inverse"))
        if self.series is not None:
            if "behaviour" not in batch:
                raise NeurodataError("this model was built with behaviour inputs; pass them.")
            z = (batch["behaviour"] - self.behaviour_mean) / self.behaviour_std
            contexts["behaviour"] = Context(self.series(z))
        cur = Packing(batch["x_id"] != self.pad_id, bucket=bucket)
        x = self._embed_packed(batch["x_id"], batch["x_dt"], cur, self.tok_emb, self.temp_emb,
                               self.pos_emb)
        x = self._mark("embeddings", x)
        for block in self.state_blocks:
            x = block_packed(block, x, cur, causal=True)
        x = self._mark("state self-attention", x)
        for name, blocks in self._stages():
            for block in blocks:
                x = block_packed(block, x, cur, contexts[name])
            x = self._mark(f"{name} cross-attention", x)
        for block in self.self_blocks:
            x = block_packed(block, x, cur, causal=True)
        x = self._mark("final self-attention", x)
        h = self.ln_f(x)
        return {"hidden": h, "packing": cur, "contexts": contexts,
                "id_logits": self.head_id(h), "dt_logits": self.head_dt(h)}

    # -- loss ---------------------------------------------------------------------------
    def loss(self, batch: dict, *, behaviour_weight: float = 1.0,
             generative_weight: float = 1.0) -> tuple[torch.Tensor, dict]:
        """Total training loss and its parts (ID, dt, contrastive, behaviour).

        Computed on packed real tokens (:meth:`forward_packed`); the value and its
        gradients are those of the padded forward pass.
        """
        out = self.forward_packed(batch)
        cur = out["packing"]
        x_id = cur.pack(batch["x_id"])
        neural = cur.segment_mean(out["hidden"], x_id != self.cfg.n_units + 1)
        feats = {name: ctx.per_window() for name, ctx in out["contexts"].items()
                 if name in ("stimulus", "behaviour")}
        return self._combine(out["id_logits"], cur.pack(batch["y_id"]), out["dt_logits"],
                             cur.pack(batch["y_dt"]), neural, feats, batch,
                             behaviour_weight=behaviour_weight,
                             generative_weight=generative_weight)

    def _loss_padded(self, batch: dict, *, behaviour_weight: float = 1.0,
                     generative_weight: float = 1.0) -> tuple[torch.Tensor, dict]:
        """:meth:`loss` through the padded :meth:`forward` (the reference for the tests)."""
        out = self(batch)
        neural = self.pool(out["hidden"], batch["x_id"])
        feats = {name: out["contexts"][name][0].mean(1) for name in ("stimulus", "behaviour")
                 if name in out["contexts"]}
        return self._combine(out["id_logits"].flatten(0, 1), batch["y_id"].flatten(),
                             out["dt_logits"].flatten(0, 1), batch["y_dt"].flatten(), neural,
                             feats, batch, behaviour_weight=behaviour_weight,
                             generative_weight=generative_weight)

    def _combine(self, id_logits, y_id, dt_logits, y_dt, neural, feats, batch, *,
                 behaviour_weight: float, generative_weight: float):
        cfg = self.cfg
        parts = {}
        total = neural.new_zeros(())
        if generative_weight > 0:
            parts["id"] = F.cross_entropy(id_logits, y_id, ignore_index=self.pad_id)
            parts["dt"] = F.cross_entropy(dt_logits, y_dt, ignore_index=self.pad_dt)
            scale = (1 - cfg.contrastive_weight) if cfg.contrastive else 1.0
            total = total + generative_weight * scale * (cfg.id_weight * parts["id"]
                                                         + cfg.dt_weight * parts["dt"])
        if cfg.contrastive and generative_weight > 0:
            z = {k: self.clip_proj[k](v) for k, v in {"neural": neural, **feats}.items()}
            names = list(z)
            pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
            parts["contrastive"] = torch.stack([clip_loss(z[a], z[b], cfg.clip_temp)
                                                for a, b in pairs]).mean()
            total = total + generative_weight * cfg.contrastive_weight * parts["contrastive"]
        if self.head_behaviour is not None and "target" in batch:
            pred = self.head_behaviour(neural)
            parts["behaviour"] = F.mse_loss(pred, batch["target"])
            total = total + behaviour_weight * parts["behaviour"]
        return total, parts


def make_batch(windows, index, *, device="cpu", video=None, trim: bool = True,
               unique_frames: bool = False) -> dict:
    """Torch tensors of the windows ``index``, trimmed to the longest window in the batch.

    ``video`` is the stimulus array ``(frame, channel, height, width)`` that
    ``windows.frame_index`` points into.  Trimming drops trailing columns that are
    PAD in every window (the loss and the outputs at real positions are unchanged,
    since PAD keys are masked and causal attention never looks ahead).  With
    ``unique_frames``, windows that see the same frames share one clip:
    ``frames`` holds each distinct clip once and ``frame_inverse`` ``(B,)`` the
    clip of each window (the network encodes each clip once).
    """
    index = np.asarray(index)
    n_cur = windows.n_current[index]
    n_prev = windows.n_prev[index]
    T = int(n_cur.max(initial=0)) + 1 if trim else windows.x_id.shape[1]
    Tp = int(n_prev.max(initial=0)) + 2 if trim else windows.prev_id.shape[1]

    def tensor(a, dtype=torch.long):
        return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)

    batch = {
        "x_id": tensor(windows.x_id[index, :T]), "x_dt": tensor(windows.x_dt[index, :T]),
        "y_id": tensor(windows.y_id[index, :T]), "y_dt": tensor(windows.y_dt[index, :T]),
        "prev_id": tensor(windows.prev_id[index, :Tp]),
        "prev_dt": tensor(windows.prev_dt[index, :Tp]),
    }
    if windows.frame_index is not None:
        if video is None:
            raise NeurodataError("these windows have a stimulus; pass its frames as video=.")
        which = windows.frame_index[index]                       # (B, F)
        if unique_frames:
            which, inverse = np.unique(which, axis=0, return_inverse=True)
            batch["frame_inverse"] = tensor(inverse.reshape(-1))
        clip = video[which]                                       # (B, F, C, H, W)
        batch["frames"] = tensor(clip, torch.float32).transpose(1, 2)
    if windows.behaviour is not None:
        batch["behaviour"] = tensor(windows.behaviour[index], torch.float32)
    if windows.target is not None:
        batch["target"] = tensor(windows.target[index], torch.float32)
    return batch
