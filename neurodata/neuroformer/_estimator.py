"""The :class:`Neuroformer` estimator: tokenize a recording, build and pretrain the network."""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from neurodata._utils import NeurodataEstimator, renamed_params
from neurodata.errors import NeurodataError
from neurodata.neuroformer._generate import generate_tokens, generated_recording
from neurodata.neuroformer._inputs import (
    behaviour_samples,
    frame_indices,
    get_series,
    get_stimulus,
)
from neurodata.neuroformer._model import NeuroformerConfig, NeuroformerNet
from neurodata.neuroformer._tokenizer import SpikeTokenizer, spikes_from_recording
from neurodata.neuroformer._train import _evaluate, seed_of, train_network

__all__ = ["Neuroformer"]

_ARCH = ("n_embd", "n_head", "n_state_layers", "n_past_layers", "n_history_layers",
         "n_stimulus_layers", "n_behaviour_layers", "n_self_layers", "dropout", "attn_dropout",
         "frame_kernel", "frame_stride", "contrastive", "clip_embd", "clip_temp")


@renamed_params(epochs="n_epochs")
class Neuroformer(NeurodataEstimator):
    """Neuroformer (Antoniades et al., ICLR 2024): a multimodal GPT of spiking activity.

    ``fit`` tokenizes the recording's spikes into (neuron-ID, dt) windows (see
    :class:`SpikeTokenizer`), builds :class:`NeuroformerNet` and pretrains it to
    predict each window's spikes from its past, the stimulus and behaviour.
    The defaults are the paper's configuration (256 features, 8 heads, 6 layers
    per stage, 0.05 s current and 0.15 s past windows, 0.01 s dt); small data
    and quick tests want a much smaller network.

    Parameters
    ----------
    window, window_prev, dt, block_size, block_size_prev, overflow
        Tokenizer settings, see :class:`SpikeTokenizer`.
    n_embd, n_head, n_state_layers, n_past_layers, n_history_layers, n_stimulus_layers,
    n_behaviour_layers, n_self_layers, dropout, attn_dropout
        Network settings, see :class:`NeuroformerConfig`.  ``attn_dropout``
        defaults to 0 (the reference drops 20 % of the attention matrix, which
        forces the attention matrix to be materialised; dropout stays on the
        residual branches and embeddings).
    frame_window, frame_kernel, frame_stride
        Seconds of stimulus before each window's end that the window sees, and the
        3D convolution patch size (frames, rows, columns) and stride.
    behaviour_samples
        Behaviour input samples per window and variable.
    contrastive, clip_embd, clip_temp
        CLIP-style alignment of the neural embedding with the stimulus (and
        behaviour) embeddings; projection width and temperature.
    n_epochs, batch_size, learning_rate, weight_decay, warmup, grad_clip
        Training settings, see :func:`train_network` (``epochs`` is the
        deprecated spelling of ``n_epochs``).
    checkpoint, resume
        Path of a checkpoint written after every epoch, and whether to resume from it.
    device : str or torch.device
        Where the network runs (CPU by default).
    precision : {"auto", "float32", "bfloat16"}
        Arithmetic of the forward pass (:func:`~neurodata.neuroformer._train.autocast`):
        "auto" is float32 on a CPU, so that results are exact and the same on
        every machine, and bfloat16 mixed precision on a GPU that has it.
        "bfloat16" on a CPU with bfloat16 matrix units (AMX) trains about 1.7x
        faster here, at a loss within about 2 % of float32's.
    random_state : int, numpy Generator or None
        Seed of weight initialisation, window order and dropout (None: fresh
        entropy, a different network every fit).
    progress : bool or None
        Show progress bars (None: automatic, only in an interactive session).

    Attributes
    ----------
    tokenizer_ : SpikeTokenizer
    config_ : NeuroformerConfig
    network_ : NeuroformerNet
    history_ : xarray.Dataset
        Per-epoch training (and validation) losses on ``iteration``.
    seed_ : int
        The integer seed the fit drew everything from.
    units_ : ndarray
        The unit ids of the vocabulary.

    Examples
    --------
    >>> from neurodata.datasets import make_hub_network
    >>> ds = make_hub_network(n_trials=3, random_state=0)
    >>> model = Neuroformer(n_embd=32, n_head=2, n_state_layers=1, n_history_layers=1,
    ...                     n_self_layers=1, dropout=0.0, n_epochs=1, random_state=0,
    ...                     progress=False).fit(ds)
    >>> model.units_.size, model.history_.sizes["iteration"]
    (24, 1)
    >>> fake = model.generate(ds, intervals=[(1.0, 1.2)])
    >>> fake.sizes["trial"], fake.trial_stop_time.values.tolist()
    (1, [1.2])
    """

    def __init__(self, *, window=0.05, window_prev=0.15, dt=0.01, block_size=None,
                 block_size_prev=None, overflow="truncate", n_embd=256, n_head=8,
                 n_state_layers=6, n_past_layers=0, n_history_layers=6, n_stimulus_layers=6,
                 n_behaviour_layers=4, n_self_layers=6, dropout=0.2, attn_dropout=0.0,
                 frame_window=0.15, frame_kernel=(3, 5, 5), frame_stride=None,
                 behaviour_samples=5, contrastive=False, clip_embd=512, clip_temp=0.5,
                 n_epochs=10, batch_size=32, learning_rate=3e-4, weight_decay=0.1, warmup=0.05,
                 grad_clip=1.0, checkpoint=None, resume=True, device="cpu", precision="auto",
                 random_state=None, progress=None):
        self.window, self.window_prev, self.dt = window, window_prev, dt
        self.block_size, self.block_size_prev, self.overflow = block_size, block_size_prev, overflow
        self.n_embd, self.n_head = n_embd, n_head
        self.n_state_layers, self.n_past_layers = n_state_layers, n_past_layers
        self.n_history_layers, self.n_stimulus_layers = n_history_layers, n_stimulus_layers
        self.n_behaviour_layers, self.n_self_layers = n_behaviour_layers, n_self_layers
        self.dropout, self.attn_dropout = dropout, attn_dropout
        self.frame_window, self.frame_kernel, self.frame_stride = frame_window, frame_kernel, frame_stride
        self.behaviour_samples = behaviour_samples
        self.contrastive, self.clip_embd, self.clip_temp = contrastive, clip_embd, clip_temp
        self.n_epochs, self.batch_size, self.learning_rate = n_epochs, batch_size, learning_rate
        self.weight_decay, self.warmup, self.grad_clip = weight_decay, warmup, grad_clip
        self.checkpoint, self.resume, self.device = checkpoint, resume, device
        self.precision = precision
        self.random_state, self.progress = random_state, progress

    # -- data ---------------------------------------------------------------------------
    def _modal_spec(self, recording, stimulus, behaviour) -> dict:
        spec: dict = {}
        if stimulus is not None:
            frames, ftimes = get_stimulus(recording, stimulus)
            rate = 1.0 / float(np.median(np.diff(ftimes)))
            n_frames = max(1, round(self.frame_window * rate))
            spec["stimulus"] = (frames, ftimes, n_frames)
        if behaviour is not None:
            spec["behaviour"] = get_series(recording, behaviour)
        return spec

    def _attach(self, windows, spec) -> None:
        if "stimulus" in spec:
            _, ftimes, n_frames = spec["stimulus"]
            windows.frame_index = frame_indices(ftimes, windows.start, self.window, n_frames)
        if "behaviour" in spec:
            windows.behaviour = behaviour_samples(spec["behaviour"], windows.start, self.window,
                                                  self.behaviour_samples)

    def windows(self, recording, *, intervals=None, stimulus=None, behaviour=None):
        """Tokenized windows of ``recording`` with their modalities, and the stimulus frames."""
        self._check_fitted()
        self._check_modalities(stimulus, behaviour)
        spec = self._modal_spec(recording, stimulus, behaviour)
        w = self.tokenizer_.transform(recording, intervals=intervals)
        self._attach(w, spec)
        return w, spec.get("stimulus", (None,))[0]

    def _check_modalities(self, stimulus, behaviour) -> None:
        cfg = self.config_
        if (stimulus is None) != (cfg.frame_shape is None):
            raise NeurodataError("this model was fit " + ("with" if cfg.frame_shape else "without")
                                 + " a stimulus; pass the same modalities as to fit().")
        n_b = 0 if behaviour is None else (
            1 if isinstance(behaviour, (str, xr.DataArray)) else len(behaviour))
        if n_b != cfg.n_behaviour:
            raise NeurodataError(f"this model was fit with {cfg.n_behaviour} behaviour input(s); "
                                 f"got {n_b}.")

    def _check_fitted(self, attributes=None) -> None:
        super()._check_fitted(attributes or "network_")

    @property
    def units_(self) -> np.ndarray:
        self._check_fitted()
        return np.asarray(self.tokenizer_.units_)

    # -- fitting --------------------------------------------------------------------------
    def _config(self, tok, spec, n_outputs: int = 0) -> NeuroformerConfig:
        frame_shape = None
        if "stimulus" in spec:
            frames, _, n_frames = spec["stimulus"]
            frame_shape = (frames.shape[1], n_frames, frames.shape[2], frames.shape[3])
            kernel = tuple(self.frame_kernel)
            if any(k > s for k, s in zip(kernel, frame_shape[1:])):
                raise NeurodataError(f"frame_kernel {kernel} is larger than the stimulus clip "
                                     f"(frames, y, x) = {frame_shape[1:]}; use a smaller kernel "
                                     f"or a longer frame_window.")
        n_b = len(spec.get("behaviour", []))
        arch = {k: getattr(self, k) for k in _ARCH}
        arch["frame_kernel"] = tuple(arch["frame_kernel"])
        arch["frame_stride"] = None if arch["frame_stride"] is None else tuple(arch["frame_stride"])
        return NeuroformerConfig(n_units=tok.n_units_, n_dt=tok.n_dt_, block_size=tok.block_size_,
                                 block_size_prev=tok.block_size_prev_, frame_shape=frame_shape,
                                 n_behaviour=n_b, behaviour_samples=self.behaviour_samples if n_b else 0,
                                 n_outputs=n_outputs, **arch)

    def _train_kwargs(self, seed: int) -> dict:
        return {"n_epochs": self.n_epochs, "batch_size": self.batch_size,
                "learning_rate": self.learning_rate, "weight_decay": self.weight_decay,
                "warmup": self.warmup, "grad_clip": self.grad_clip, "device": self.device,
                "precision": self.precision, "random_state": seed, "progress": self.progress}

    def fit(self, recording, *, intervals=None, stimulus=None, behaviour=None,
            validation_intervals=None, units=None, n_units=None, callback=None) -> Neuroformer:
        """Tokenize ``recording`` and pretrain the network on it.

        Parameters
        ----------
        recording : xarray.Dataset or xarray.DataArray
            A recording with ``spike_times``/``spike_unit`` (or binned counts).
        intervals : array-like of (start, stop), optional
            Where to train (default: the trials, else the whole span).
        stimulus : str or DataArray, optional
            Stimulus frames ``(time_*, y, x)`` or ``(time_*, channel, y, x)``.
        behaviour : str, DataArray or list of them, optional
            Behaviour input series (each 1-D on its own time dimension).
        validation_intervals : array-like, optional
            Held-out intervals whose loss is recorded after each epoch.
        units, n_units : optional
            Vocabulary: the unit ids to model, and a limit on their number.
        callback : callable, optional
            Called with each epoch's record; returning True stops training.
        """
        spec = self._modal_spec(recording, stimulus, behaviour)
        tok = SpikeTokenizer(self.window, self.window_prev, self.dt, block_size=self.block_size,
                             block_size_prev=self.block_size_prev, overflow=self.overflow)
        tok.fit(recording, intervals=intervals, units=units, n_units=n_units)
        train = tok.transform(recording, intervals=intervals)
        self._attach(train, spec)
        val = None
        if validation_intervals is not None:
            val = tok.transform(recording, intervals=validation_intervals)
            self._attach(val, spec)
        cfg = self._config(tok, spec)
        seed = seed_of(self.random_state)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            net = NeuroformerNet(cfg)
        if "behaviour" in spec:
            net.set_behaviour_scaling(torch.as_tensor(train.behaviour, dtype=torch.float32))
        video = spec.get("stimulus", (None,))[0]
        meta = {"config": cfg.to_dict(), "tokenizer": tok.get_state(),
                "training": {k: v for k, v in self._train_kwargs(seed).items()
                             if k not in ("device", "progress")}}
        self.history_ = train_network(net, train, video=video, validation=val,
                                      checkpoint=self.checkpoint, resume=self.resume, meta=meta,
                                      callback=callback, **self._train_kwargs(seed))
        self.tokenizer_, self.config_, self.network_, self.seed_ = tok, cfg, net, seed
        return self

    def score(self, recording, *, intervals=None, stimulus=None, behaviour=None) -> float:
        """Minus the mean training loss on ``recording``: higher is better.

        The loss is the paper's objective, the cross-entropy of the next
        neuron-ID and dt tokens (plus the contrastive term when
        ``contrastive``), averaged over windows; its negative is the mean
        log-likelihood per token (nats), 0 for a perfect model.

        Examples
        --------
        >>> from neurodata.datasets import make_hub_network
        >>> ds = make_hub_network(n_trials=2, random_state=0)
        >>> m = Neuroformer(n_embd=16, n_head=2, n_state_layers=0, n_history_layers=1,
        ...                 n_self_layers=0, window_prev=0.05, n_epochs=1, random_state=0,
        ...                 progress=False).fit(ds)
        >>> bool(m.score(ds) < 0)
        True
        """
        w, video = self.windows(recording, intervals=intervals, stimulus=stimulus,
                                behaviour=behaviour)
        return -float(_evaluate(self.network_, w, video, self.batch_size, self.device, {},
                                self.precision))

    def to_dataset(self) -> xr.Dataset:
        """The fitted model's labelled part: unit embeddings, history and settings.

        The network's weights (tens of millions of numbers at the paper's size)
        are saved with ``checkpoint=``; this Dataset holds what an analysis
        reads: each unit's learned token embedding ``(unit, feature)``, the
        training history on ``iteration`` and the tokenizer and network
        settings as attributes.

        Examples
        --------
        >>> from neurodata.datasets import make_hub_network
        >>> ds = make_hub_network(n_trials=2, random_state=0)
        >>> m = Neuroformer(n_embd=16, n_head=2, n_state_layers=0, n_history_layers=1,
        ...                 n_self_layers=0, window_prev=0.05, n_epochs=1, random_state=0,
        ...                 progress=False).fit(ds)
        >>> m.to_dataset().unit_embedding.dims
        ('unit', 'feature')
        """
        self._check_fitted()
        emb = self.network_.tok_emb.weight.detach().cpu().numpy()[:self.tokenizer_.n_units_]
        attrs: dict = {"method": "Neuroformer (Antoniades et al. 2024)", "seed": int(self.seed_)}
        tok = self.tokenizer_.get_state()
        for key in ("window", "window_prev", "dt", "block_size", "block_size_prev"):
            attrs[key] = tok[key]
        for key, value in self.config_.to_dict().items():
            if isinstance(value, (bool, int, float, str)) and key not in attrs:
                attrs[key] = value
        ds = xr.Dataset({"unit_embedding": (("unit", "feature"), emb.astype(np.float32))},
                        coords={"unit": self.units_}, attrs=attrs)
        for name, var in self.history_.data_vars.items():
            ds[name] = var
        return ds

    # -- generation ----------------------------------------------------------------------
    def generate(self, recording, *, intervals=None, stimulus=None, behaviour=None,
                 n_samples: int = 1, temperature: float = 1.0, top_p: float = 0.95,
                 temperature_dt: float = 1.0, top_p_dt: float = 0.95,
                 random_state=None, progress=None) -> xr.Dataset:
        """Simulate spikes in closed loop over ``intervals`` (default: the trials).

        ``random_state`` seeds the sampling (None: the model's ``random_state``,
        so that a seeded model generates reproducibly; fresh entropy when that
        is None too); ``progress`` None follows the model's setting.

        Each interval is generated ``n_samples`` times, starting from the true past
        state before it; after that the model sees only its own spikes (and the
        true stimulus/behaviour).  Sampling uses ``temperature`` and nucleus
        ``top_p`` for IDs (``*_dt`` for dt tokens); the reference inference uses
        top-p 0.95 at temperature 1.

        Returns
        -------
        xarray.Dataset
            A recording: ``spike_times``, ``spike_unit``, ``spike_trial`` (which
            generated trial each spike belongs to), ``unit`` and a trial table
            (``trial_start_time``, ``trial_stop_time``, ``trial_source``: the index
            of the interval it simulates).
        """
        self._check_fitted()
        self._check_modalities(stimulus, behaviour)
        tok = self.tokenizer_
        times, uidx, _ = spikes_from_recording(recording, tok.units_)
        ivals = tok._intervals(recording, times, intervals)
        n_win = np.floor((ivals[:, 1] - ivals[:, 0]) / tok.window + 1e-9).astype(int)
        source = np.repeat(np.arange(len(ivals)), n_samples)
        starts, n_win = ivals[source, 0], n_win[source]
        spec = self._modal_spec(recording, stimulus, behaviour)
        modal = self._modal_fn(spec) if spec else None
        seq, t, ids = generate_tokens(
            self.network_, tok, times, uidx, starts, n_win, modalities=modal,
            temperature=temperature, top_p=top_p, temperature_dt=temperature_dt,
            top_p_dt=top_p_dt, device=self.device,
            random_state=self.random_state if random_state is None else random_state,
            progress=self.progress if progress is None else progress)
        attrs = {"description": "spikes generated by neurodata.neuroformer (closed loop)",
                 "temperature": temperature, "top_p": top_p}
        return generated_recording(tok, seq, t, ids, starts, n_win, source_trial=source,
                                   attrs=attrs)

    def _modal_fn(self, spec):
        device = torch.device(self.device)

        def modal(starts: np.ndarray) -> dict:
            out = {}
            if "stimulus" in spec:
                frames, ftimes, n_frames = spec["stimulus"]
                idx = frame_indices(ftimes, starts, self.window, n_frames)
                out["frames"] = torch.as_tensor(frames[idx], device=device).transpose(1, 2)
            if "behaviour" in spec:
                b = behaviour_samples(spec["behaviour"], starts, self.window, self.behaviour_samples)
                out["behaviour"] = torch.as_tensor(b, device=device)
            return out
        return modal
