"""Readouts of a pretrained Neuroformer: attention connectivity and behaviour decoding.

**Connectivity.**  In the past-state cross-attention, the token that predicts a
spike of neuron *t* (its *target*) attends to the past tokens of every neuron *s*
(*sources*).  Summed over all windows, the attention that target tokens of *t*
pay to past tokens of *s* is compared with what uniform attention would pay
(each of the window's *n* past keys, SOS and EOS included, getting 1/*n*):

.. math:: C_{ts} = \\frac{\\sum_{w,i: y_i=t} \\sum_{j: p_j=s} a_{ij}}
                         {\\sum_{w,i: y_i=t} \\sum_{j: p_j=s} 1/n_w}

so that :math:`C_{ts} > 1` means that *t*'s tokens look at *s*'s past spikes
more than chance, independently of how often *s* fires.  Weights are averaged
over heads and over the history layers.  The reference code accumulates the
raw (rolled-out) attention into a (target, source) table in the same way,
without the normalisation.

**Behaviour.**  :class:`BehaviourDecoder` adds a linear head on the mean of the
final features of each window and fine-tunes the whole network with a fraction
of labelled windows (the generative loss is kept, as in the reference's
fine-tuning), starting from a pretrained model or from scratch.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import xarray as xr

from neurodata.errors import NeurodataError
from neurodata.neuroformer._inputs import get_series
from neurodata.neuroformer._model import NeuroformerNet, make_batch
from neurodata.neuroformer._train import train_network

__all__ = ["BehaviourDecoder", "attention_connectivity"]


@torch.no_grad()
def attention_connectivity(model, recording, *, intervals=None, stimulus=None, behaviour=None,
                           layers=None, batch_size: int = 64) -> xr.DataArray:
    """Neuron-to-neuron connectivity from past-state attention, normalised to uniform.

    Parameters
    ----------
    model : Neuroformer
        A fitted model.
    recording : xarray.Dataset
        The spikes to run the model on (teacher forcing, no sampling).
    intervals, stimulus, behaviour
        As for :meth:`Neuroformer.fit`.
    layers : list of int, optional
        Which history (past-state cross-attention) layers to average; all by default.
    batch_size : int
        Windows per forward pass.

    Returns
    -------
    xarray.DataArray
        ``(target, source)`` ratio of attention to uniform attention; NaN where
        the pair never occurred.  Coordinates are unit ids.

    Examples
    --------
    >>> from neurodata.datasets import make_hub_network
    >>> from neurodata.neuroformer import Neuroformer
    >>> ds = make_hub_network(n_trials=2, random_state=0)
    >>> m = Neuroformer(n_embd=16, n_head=2, n_state_layers=0, n_history_layers=1,
    ...                 n_self_layers=0, window_prev=0.05, epochs=1, progress=False).fit(ds)
    >>> attention_connectivity(m, ds).dims
    ('target', 'source')
    """
    model._check_fitted()
    net, tok = model.network_, model.tokenizer_
    w, video = model.windows(recording, intervals=intervals, stimulus=stimulus,
                             behaviour=behaviour)
    N = tok.n_units_
    n_layers = len(net.history_blocks)
    sel = list(range(n_layers)) if layers is None else list(layers)
    if not sel or any(i < 0 or i >= n_layers for i in sel):
        raise NeurodataError(f"layers must index the {n_layers} history layers; got {layers}.")
    device = torch.device(model.device)
    net.eval().to(device)
    observed = torch.zeros(N * N, dtype=torch.float64, device=device)
    expected = torch.zeros(N * N, dtype=torch.float64, device=device)
    for lo in range(0, len(w), batch_size):
        idx = np.arange(lo, min(lo + batch_size, len(w)))
        batch = make_batch(w, idx, device=device, video=video)
        out = net(batch, need_weights=True)
        att = torch.stack([out["weights"][i] for i in sel]).mean(dim=(0, 2))   # (B, T, S)
        y, p = batch["y_id"], batch["prev_id"]
        n_keys = (p != tok.pad_).sum(1, keepdim=True).double()               # (B, 1)
        pair = (y[:, :, None] < N) & (p[:, None, :] < N)
        flat = (y[:, :, None] * N + p[:, None, :])[pair]
        observed += torch.bincount(flat, weights=att.double()[pair], minlength=N * N)
        uni = (1.0 / n_keys)[:, :, None].expand(pair.shape)[pair]
        expected += torch.bincount(flat, weights=uni, minlength=N * N)
    ratio = (observed / expected).reshape(N, N).cpu().numpy()
    ratio[expected.reshape(N, N).cpu().numpy() == 0] = np.nan
    ids = np.asarray(tok.units_)
    return xr.DataArray(ratio, dims=("target", "source"), coords={"target": ids, "source": ids},
                        name="attention_connectivity",
                        attrs={"description": "past-state attention / uniform attention"})


def _targets(recording, target, starts, window) -> tuple[np.ndarray, list[str]]:
    series = get_series(recording, target, what="target")
    at = np.asarray(starts) + window / 2
    out = np.empty((len(at), len(series)), dtype=np.float32)
    for j, (name, t, v) in enumerate(series):
        if at.min() < t[0] or at.max() > t[-1]:
            raise NeurodataError(f"target {name!r} covers {t[0]:.3f}-{t[-1]:.3f} s but some "
                                 f"windows fall outside it; restrict the intervals to it.")
        out[:, j] = np.interp(at, t, v)
    return out, [s[0] for s in series]


class BehaviourDecoder:
    """Fine-tune a behaviour head on a (pretrained) Neuroformer with few labels.

    Parameters
    ----------
    pretrained : Neuroformer
        A fitted model: its tokenizer and architecture are reused, and its weights
        too unless ``from_scratch``.
    from_scratch : bool
        Start from random weights (same architecture), the baseline of the paper's
        few-shot comparison.
    fraction : float
        Fraction of the windows of ``fit`` whose labels are used, drawn at random
        (seeded); the rest are ignored.
    steps : int
        Optimiser steps, whatever the number of labelled windows, so that small
        label fractions get the same amount of training.
    batch_size, learning_rate, weight_decay, warmup, grad_clip
        As for :class:`Neuroformer`.
    generative_weight : float
        Weight of the spike-prediction loss kept during fine-tuning.
    device, random_state, progress
        As for :class:`Neuroformer`; ``device=None`` uses the pretrained model's.

    Attributes
    ----------
    network_ : NeuroformerNet
        The fine-tuned network (with ``head_behaviour``).
    outputs_ : list of str
        Names of the decoded variables.
    train_index_ : ndarray
        The labelled windows used, as indices into the windows of ``fit``.
    history_ : list of dict

    Examples
    --------
    >>> from neurodata.datasets import make_hub_network
    >>> from neurodata.neuroformer import Neuroformer
    >>> ds = make_hub_network(n_trials=2, random_state=0)
    >>> phase = xr.DataArray(np.sin(2 * np.pi * np.arange(0, 2, 0.01)), dims="time_phase",
    ...                      coords={"time_phase": np.arange(0, 2, 0.01)}, name="phase")
    >>> m = Neuroformer(n_embd=16, n_head=2, n_state_layers=0, n_history_layers=1,
    ...                 n_self_layers=0, window_prev=0.05, epochs=1, progress=False).fit(ds)
    >>> dec = BehaviourDecoder(m, steps=2, progress=False).fit(ds, phase, intervals=[(0.1, 1.9)])
    >>> dec.predict(ds, intervals=[(0.1, 1.9)]).dims
    ('time', 'output')
    """

    def __init__(self, pretrained, *, from_scratch: bool = False, fraction: float = 1.0,
                 steps: int = 300, batch_size: int = 32, learning_rate: float = 3e-4,
                 weight_decay: float = 0.1, warmup: float = 0.05, grad_clip: float = 1.0,
                 generative_weight: float = 1.0, device=None, random_state=0, progress=True):
        self.pretrained, self.from_scratch, self.fraction = pretrained, from_scratch, fraction
        self.steps, self.batch_size, self.learning_rate = steps, batch_size, learning_rate
        self.weight_decay, self.warmup, self.grad_clip = weight_decay, warmup, grad_clip
        self.generative_weight, self.device = generative_weight, device
        self.random_state, self.progress = random_state, progress

    def _build(self, n_outputs: int) -> NeuroformerNet:
        base = self.pretrained
        base._check_fitted()
        cfg = copy.deepcopy(base.config_)
        cfg.n_outputs = n_outputs
        with torch.random.fork_rng():
            torch.manual_seed(0 if self.random_state is None else int(self.random_state) + 1)
            net = NeuroformerNet(cfg)
        state = base.network_.state_dict()
        if self.from_scratch:
            keep = ("behaviour_mean", "behaviour_std")                        # input scaling only
            state = {k: v for k, v in state.items() if k in keep}
        net.load_state_dict(state, strict=False)
        return net

    def fit(self, recording, target, *, intervals=None, stimulus=None, behaviour=None):
        """Fine-tune on the windows of ``intervals`` labelled with ``target`` at their centres.

        ``target`` is a 1-D series (name or DataArray) or a list of them, e.g. the
        sine and cosine of head direction; NaN samples raise.
        """
        if not 0 < self.fraction <= 1:
            raise NeurodataError(f"fraction must be in (0, 1]; got {self.fraction}.")
        w, video = self.pretrained.windows(recording, intervals=intervals, stimulus=stimulus,
                                           behaviour=behaviour)
        y, names = _targets(recording, target, w.start, self.pretrained.window)
        rng = np.random.default_rng(self.random_state)
        n = max(1, round(self.fraction * len(w)))
        self.train_index_ = np.sort(rng.choice(len(w), size=n, replace=False))
        self.target_mean_, self.target_std_ = y.mean(0), y.std(0) + 1e-6
        w.target = (y - self.target_mean_) / self.target_std_
        train = w.subset(self.train_index_)
        net = self._build(y.shape[1])
        epochs = max(1, math.ceil(self.steps / math.ceil(len(train) / self.batch_size)))
        device = self.pretrained.device if self.device is None else self.device
        self.history_ = train_network(
            net, train, video=video, epochs=epochs, batch_size=self.batch_size,
            learning_rate=self.learning_rate, weight_decay=self.weight_decay, warmup=self.warmup,
            grad_clip=self.grad_clip, device=device, random_state=self.random_state,
            progress=self.progress, loss_kwargs={"generative_weight": self.generative_weight},
            max_steps=self.steps)
        self.network_, self.outputs_ = net, names
        return self

    @torch.no_grad()
    def predict(self, recording, *, intervals=None, stimulus=None, behaviour=None) -> xr.DataArray:
        """Decoded values at the centre of every window: ``(time, output)``."""
        if not hasattr(self, "network_"):
            raise NeurodataError("this BehaviourDecoder is not fitted yet; call fit() first.")
        w, video = self.pretrained.windows(recording, intervals=intervals, stimulus=stimulus,
                                           behaviour=behaviour)
        device = torch.device(self.pretrained.device if self.device is None else self.device)
        net = self.network_.eval().to(device)
        preds = []
        for lo in range(0, len(w), 256):
            idx = np.arange(lo, min(lo + 256, len(w)))
            preds.append(net(make_batch(w, idx, device=device, video=video))["behaviour"].cpu())
        y = torch.cat(preds).numpy() * self.target_std_ + self.target_mean_
        return xr.DataArray(y, dims=("time", "output"),
                            coords={"time": w.start + self.pretrained.window / 2,
                                    "output": self.outputs_}, name="decoded")
