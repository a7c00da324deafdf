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

from neurodata._utils import NeurodataEstimator, check_fraction, check_integer
from neurodata.errors import NeurodataError
from neurodata.neuroformer._inputs import get_series
from neurodata.neuroformer._metrics import _r2
from neurodata.neuroformer._model import NeuroformerNet, make_batch
from neurodata.neuroformer._train import seed_of, train_network

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
    ...                 n_self_layers=0, window_prev=0.05, n_epochs=1, progress=False).fit(ds)
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


class BehaviourDecoder(NeurodataEstimator):
    """Fine-tune a behaviour head on a (pretrained) Neuroformer with few labels.

    Parameters
    ----------
    pretrained : Neuroformer
        A fitted model: its tokenizer and architecture are reused, and its weights
        too unless ``from_scratch``.  :func:`sklearn.base.clone` shares it (it is
        the decoder's input, like a prefit estimator) rather than copying it.
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
        As for :class:`Neuroformer`; ``device=None`` uses the pretrained model's;
        ``random_state`` (None: fresh entropy) draws the labelled windows, the
        head's initial weights, the batches and dropout.

    Attributes
    ----------
    network_ : NeuroformerNet
        The fine-tuned network (with ``head_behaviour``).
    outputs_ : list of str
        Names of the decoded variables.
    train_index_ : ndarray
        The labelled windows used, as indices into the windows of ``fit``.
    history_ : xarray.Dataset
        Per-epoch losses on ``iteration``.

    Examples
    --------
    >>> from neurodata.datasets import make_hub_network
    >>> from neurodata.neuroformer import Neuroformer
    >>> ds = make_hub_network(n_trials=2, random_state=0)
    >>> phase = xr.DataArray(np.sin(2 * np.pi * np.arange(0, 2, 0.01)), dims="time_phase",
    ...                      coords={"time_phase": np.arange(0, 2, 0.01)}, name="phase")
    >>> m = Neuroformer(n_embd=16, n_head=2, n_state_layers=0, n_history_layers=1,
    ...                 n_self_layers=0, window_prev=0.05, n_epochs=1, progress=False).fit(ds)
    >>> dec = BehaviourDecoder(m, steps=2, random_state=0, progress=False)
    >>> dec = dec.fit(ds, phase, intervals=[(0.1, 1.9)])
    >>> dec.predict(ds, intervals=[(0.1, 1.9)]).dims
    ('time', 'output')
    """

    def __init__(self, pretrained=None, *, from_scratch: bool = False, fraction: float = 1.0,
                 steps: int = 300, batch_size: int = 32, learning_rate: float = 3e-4,
                 weight_decay: float = 0.1, warmup: float = 0.05, grad_clip: float = 1.0,
                 generative_weight: float = 1.0, device=None, random_state=None,
                 progress=None):
        self.pretrained, self.from_scratch, self.fraction = pretrained, from_scratch, fraction
        self.steps, self.batch_size, self.learning_rate = steps, batch_size, learning_rate
        self.weight_decay, self.warmup, self.grad_clip = weight_decay, warmup, grad_clip
        self.generative_weight, self.device = generative_weight, device
        self.random_state, self.progress = random_state, progress

    def get_params(self, deep: bool = True) -> dict:
        """The decoder's own parameters; ``pretrained`` is an input, not a sub-estimator to tune."""
        return super().get_params(deep=False)

    def __sklearn_clone__(self):
        params = self.get_params(deep=False)
        pretrained = params.pop("pretrained")
        from sklearn.base import clone

        return type(self)(pretrained, **{k: clone(v, safe=False) for k, v in params.items()})

    def _base(self):
        if self.pretrained is None:
            raise NeurodataError("BehaviourDecoder needs a fitted Neuroformer: "
                                 "BehaviourDecoder(pretrained=model).")
        return self.pretrained

    def _build(self, n_outputs: int, seed: int) -> NeuroformerNet:
        base = self._base()
        base._check_fitted()
        cfg = copy.deepcopy(base.config_)
        cfg.n_outputs = n_outputs
        with torch.random.fork_rng():
            torch.manual_seed(seed + 1)
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
        check_fraction("fraction", self.fraction, closed="right")
        check_integer("steps", self.steps, minimum=1)
        base = self._base()
        w, video = base.windows(recording, intervals=intervals, stimulus=stimulus,
                                behaviour=behaviour)
        y, names = _targets(recording, target, w.start, base.window)
        seed = seed_of(self.random_state)
        rng = np.random.default_rng(seed)
        n = max(1, round(self.fraction * len(w)))
        self.train_index_ = np.sort(rng.choice(len(w), size=n, replace=False))
        self.target_mean_, self.target_std_ = y.mean(0), y.std(0) + 1e-6
        w.target = (y - self.target_mean_) / self.target_std_
        train = w.subset(self.train_index_)
        net = self._build(y.shape[1], seed)
        n_epochs = max(1, math.ceil(self.steps / math.ceil(len(train) / self.batch_size)))
        device = base.device if self.device is None else self.device
        self.history_ = train_network(
            net, train, video=video, n_epochs=n_epochs, batch_size=self.batch_size,
            learning_rate=self.learning_rate, weight_decay=self.weight_decay, warmup=self.warmup,
            grad_clip=self.grad_clip, device=device, random_state=seed,
            progress=self.progress, loss_kwargs={"generative_weight": self.generative_weight},
            max_steps=self.steps)
        self.network_, self.outputs_ = net, names
        return self

    @torch.no_grad()
    def _decode(self, recording, intervals, stimulus, behaviour) -> tuple[np.ndarray, np.ndarray]:
        """Window starts and decoded values ``(window, output)``."""
        self._check_fitted("network_")
        w, video = self.pretrained.windows(recording, intervals=intervals, stimulus=stimulus,
                                           behaviour=behaviour)
        device = torch.device(self.pretrained.device if self.device is None else self.device)
        net = self.network_.eval().to(device)
        preds = []
        for lo in range(0, len(w), 256):
            idx = np.arange(lo, min(lo + 256, len(w)))
            preds.append(net(make_batch(w, idx, device=device, video=video))["behaviour"].cpu())
        return w.start, torch.cat(preds).numpy() * self.target_std_ + self.target_mean_

    def predict(self, recording, *, intervals=None, stimulus=None, behaviour=None) -> xr.DataArray:
        """Decoded values at the centre of every window: ``(time, output)``."""
        starts, y = self._decode(recording, intervals, stimulus, behaviour)
        return xr.DataArray(y, dims=("time", "output"),
                            coords={"time": starts + self.pretrained.window / 2,
                                    "output": self.outputs_}, name="decoded")

    def score(self, recording, target, *, intervals=None, stimulus=None,
              behaviour=None) -> float:
        """R² of the decoded values against ``target`` at the window centres (higher is better).

        Examples
        --------
        >>> from neurodata.datasets import make_hub_network
        >>> from neurodata.neuroformer import Neuroformer
        >>> ds = make_hub_network(n_trials=2, random_state=0)
        >>> t = np.arange(0, 2, 0.01)
        >>> phase = xr.DataArray(np.sin(2 * np.pi * t), dims="time_phase",
        ...                      coords={"time_phase": t}, name="phase")
        >>> m = Neuroformer(n_embd=16, n_head=2, n_state_layers=0, n_history_layers=1,
        ...                 n_self_layers=0, window_prev=0.05, n_epochs=1, progress=False).fit(ds)
        >>> dec = BehaviourDecoder(m, steps=2, progress=False).fit(ds, phase, intervals=[(0.1, 1.9)])
        >>> bool(dec.score(ds, phase, intervals=[(0.1, 1.9)]) <= 1.0)
        True
        """
        starts, pred = self._decode(recording, intervals, stimulus, behaviour)
        y, _ = _targets(recording, target, starts, self.pretrained.window)
        return _r2(y.astype(float), pred.astype(float))

    def to_dataset(self) -> xr.Dataset:
        """The decoder's readout: head weights ``(output, feature)``, scaling and history.

        Examples
        --------
        >>> from neurodata.datasets import make_hub_network
        >>> from neurodata.neuroformer import Neuroformer
        >>> ds = make_hub_network(n_trials=2, random_state=0)
        >>> t = np.arange(0, 2, 0.01)
        >>> phase = xr.DataArray(np.sin(2 * np.pi * t), dims="time_phase",
        ...                      coords={"time_phase": t}, name="phase")
        >>> m = Neuroformer(n_embd=16, n_head=2, n_state_layers=0, n_history_layers=1,
        ...                 n_self_layers=0, window_prev=0.05, n_epochs=1, progress=False).fit(ds)
        >>> dec = BehaviourDecoder(m, steps=2, progress=False).fit(ds, phase, intervals=[(0.1, 1.9)])
        >>> dec.to_dataset().head_weight.dims
        ('output', 'feature')
        """
        self._check_fitted("network_")
        lin = self.network_.head_behaviour
        ds = xr.Dataset(
            {"head_weight": (("output", "feature"), lin.weight.detach().cpu().numpy()),
             "head_bias": ("output", lin.bias.detach().cpu().numpy()),
             "target_mean": ("output", np.asarray(self.target_mean_, dtype=float)),
             "target_std": ("output", np.asarray(self.target_std_, dtype=float)),
             "train_index": ("labelled_window", np.asarray(self.train_index_, dtype=np.int64))},
            coords={"output": list(self.outputs_)},
            attrs={"from_scratch": int(self.from_scratch), "fraction": float(self.fraction),
                   "steps": int(self.steps)})
        for name, var in self.history_.data_vars.items():
            ds[name] = var
        return ds
