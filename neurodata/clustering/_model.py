"""A small learned predictive model: shared spatio-temporal conv core + per-neuron Gaussian readout.

The digital twins in Burg et al. (after Höfling et al. 2024 for the mouse
retina, Lurz et al. 2021 for the readout) share a convolutional core among all
neurons and read each neuron out at one learned position.  This model is a
small member of that family:

* core: a space-time separable convolution (``n_features`` spatial
  ``k x k`` filters, each followed by its own temporal filter spanning the
  whole clip), then a pointwise (1 x 1 x 1) convolution to ``n_hidden``
  channels and a softplus;
* readout: for every neuron a position ``mu`` in ``[-1, 1]^2``, sampled
  during training from ``N(mu, sigma^2)`` with a learned ``sigma`` (the
  Gaussian readout), bilinear interpolation of the feature map there, a
  linear combination of the ``n_hidden`` channels, a bias and a softplus.

It is trained with the Poisson loss on responses aligned to stimulus frames
(the response at frame ``k`` is predicted from frames ``k - T + 1 .. k``),
with Adam and early stopping on the held-out correlation.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import xarray as xr

from neurodata._utils import (
    check_integer,
    check_random_state,
    make_history,
    progress_bar,
    renamed_kwargs,
    torch_generator,
    torch_seeded,
)
from neurodata.errors import NeurodataError, ShapeError

__all__ = ["ConvGaussianModel", "fit_predictive_model", "prediction_correlation"]


class ConvGaussianModel(torch.nn.Module):
    """Shared factorised conv core with a Gaussian readout per neuron.

    The convolutions are written as matrix products: the temporal filters are
    one product of every pixel's history with the ``(T, feature)`` filter
    matrix, the ``k x k`` "same" spatial convolution of a small canvas is one
    batched product with its (Toeplitz) matrices, and the bilinear
    interpolation of the readout is a product with per-neuron hat-function
    weights.  On small canvases this is several times faster on a CPU than
    ``conv3d`` with a depthwise temporal kernel and ``grid_sample``.

    Parameters
    ----------
    n_neurons : int
    stimulus_shape : (channel, time, y, x)
        Shape of one clip; the temporal filters span ``time`` frames.
    n_features, n_hidden : int
        Linear space-time separable features and nonlinear core channels.
    spatial_kernel : int, optional
        Odd spatial kernel size; default the largest odd size that fits the canvas.

    Examples
    --------
    >>> model = ConvGaussianModel(5, (1, 8, 7, 7))
    >>> tuple(model(torch.zeros(3, 1, 8, 7, 7)).shape)
    (3, 5)
    >>> tuple(model.traces(torch.zeros(2, 1, 20, 7, 7)).shape)
    (2, 13, 5)
    """

    _tap: torch.Tensor
    _grid: torch.Tensor
    history_: xr.Dataset
    #: Neuron dimension (``unit``/``roi``) and labels of the recording it was fitted to.
    response_dim: str = "unit"
    response_labels: np.ndarray | None = None

    def __init__(self, n_neurons: int, stimulus_shape: tuple[int, int, int, int],
                 n_features: int = 16, n_hidden: int = 16, spatial_kernel: int | None = None) -> None:
        super().__init__()
        c, t, h, w = (int(s) for s in stimulus_shape)
        ks = spatial_kernel or (min(h, w) if min(h, w) % 2 else min(h, w) - 1)
        self.stimulus_shape = (c, t, h, w)
        gen = torch.Generator().manual_seed(0)
        self.spatial = torch.nn.Parameter(torch.randn(n_features, c, ks, ks, generator=gen) / ks)
        self.temporal = torch.nn.Parameter(torch.randn(t, n_features, generator=gen) / np.sqrt(t))
        self.mix = torch.nn.Parameter(torch.randn(n_hidden, n_features, generator=gen)
                                      / np.sqrt(n_features))
        self.mix_bias = torch.nn.Parameter(torch.zeros(n_hidden))
        self.mu = torch.nn.Parameter(torch.zeros(n_neurons, 2))
        self.log_sigma = torch.nn.Parameter(torch.full((n_neurons,), float(np.log(0.1))))
        self.weights = torch.nn.Parameter(torch.randn(n_neurons, n_hidden, generator=gen)
                                          / np.sqrt(n_hidden))
        self.bias = torch.nn.Parameter(torch.zeros(n_neurons))
        # kernel-tap index of every (output pixel, input pixel) pair, -1 outside the kernel
        oy, ox = np.divmod(np.arange(h * w), w)
        dy = oy[None, :] - oy[:, None] + ks // 2
        dx = ox[None, :] - ox[:, None] + ks // 2
        inside = (dy >= 0) & (dy < ks) & (dx >= 0) & (dx < ks)
        self.register_buffer("_tap", torch.from_numpy(np.where(inside, dy * ks + dx, -1)),
                             persistent=False)
        gy, gx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
        self.register_buffer("_grid", torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1)).float(),
                             persistent=False)

    @property
    def n_neurons(self) -> int:
        """Number of neurons read out."""
        return int(self.mu.shape[0])

    def _toeplitz(self) -> torch.Tensor:
        """The spatial convolution as matrices ``(feature, channel * pixels, pixels)``."""
        f, c = self.spatial.shape[:2]
        flat = torch.nn.functional.pad(self.spatial.reshape(f, c, -1), (0, 1))  # tap -1 -> 0
        mat = flat[:, :, self._tap]  # (F, C, out, in)
        return mat.permute(0, 1, 3, 2).reshape(f, c * self._tap.shape[1], self._tap.shape[0])

    def core(self, movie: torch.Tensor) -> torch.Tensor:
        """Feature maps ``(batch, time_out, hidden, pixels)`` of movies ``(batch, channel, time, y, x)``.

        Temporal filtering first (each pixel's last ``T`` frames times the
        ``(T, feature)`` filter matrix), then one batched product per feature
        with its spatial Toeplitz matrix: the same separable convolution as
        ``conv3d``, as two matrix products.
        """
        b, c, n, h, w = movie.shape
        t, f = self.temporal.shape
        out_len = n - t + 1
        clips = movie.unfold(2, t, 1).permute(0, 2, 1, 3, 4, 5).reshape(-1, t)
        lin_t = (clips @ self.temporal).reshape(b * out_len, c * h * w, f).permute(2, 0, 1)
        lin = torch.bmm(lin_t, self._toeplitz())  # (F, b * out_len, pixels)
        mixed = torch.einsum("fnp,gf->ngp", lin, self.mix) + self.mix_bias[:, None]
        return torch.nn.functional.softplus(mixed).reshape(b, out_len, -1, h * w)

    def _positions(self) -> torch.Tensor:
        pos: torch.Tensor = self.mu
        if self.training:
            pos = pos + torch.exp(self.log_sigma)[:, None] * torch.randn_like(pos)
        return pos.clamp(-1, 1)

    def readout(self, features: torch.Tensor) -> torch.Tensor:
        """Responses ``(batch, time_out, neuron)`` from core features."""
        b, n, g, p = features.shape
        h, w = self.stimulus_shape[2:]
        pos = self._positions()
        step = torch.tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], device=pos.device)
        hat = torch.relu(1 - torch.abs(pos[:, None, :] - self._grid[None]) / step).prod(-1)
        kernel = (self.weights[:, :, None] * hat[:, None, :]).reshape(len(pos), g * p)
        out = features.reshape(b * n, g * p) @ kernel.T + self.bias
        return torch.nn.functional.softplus(out).reshape(b, n, -1)

    def traces(self, movie: torch.Tensor) -> torch.Tensor:
        """Responses ``(batch, time_out, neuron)``; output frame ``k`` sees frames ``k .. k + T - 1``."""
        c, t, h, w = self.stimulus_shape
        if movie.ndim != 5 or tuple(movie.shape[i] for i in (1, 3, 4)) != (c, h, w) or movie.shape[2] < t:
            raise ShapeError(f"movie must have shape (batch, {c}, time >= {t}, {h}, {w}); got "
                             f"{tuple(movie.shape)}.")
        return self.readout(self.core(movie))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Responses ``(batch, neuron)`` to clips ``(batch, channel, time, y, x)``."""
        if tuple(x.shape[1:]) != self.stimulus_shape:
            raise ShapeError(f"stimuli must have shape (batch, {', '.join(map(str, self.stimulus_shape))})"
                             f"; got {tuple(x.shape)}.")
        return self.traces(x)[:, 0]

    def centered(self) -> ConvGaussianModel:
        """A copy whose readouts all sit at the canvas centre (as MDS clustering assumes)."""
        model = copy.deepcopy(self)
        with torch.no_grad():
            model.mu.zero_()
        return model


@dataclass
class _Aligned:
    """A movie ``(channel, frame, y, x)`` and responses to its frames ``(frame, neuron)``;
    the responses of the first ``skip`` frames are unknown (zeros, never used)."""

    movie: np.ndarray
    responses: np.ndarray
    skip: int
    dim: str
    labels: np.ndarray | None


def _lagged(stimulus: xr.DataArray, responses: xr.DataArray) -> _Aligned:
    """The movie behind a lag-window view (:func:`neurodata.signals.align_movie`)."""
    stim = stimulus.transpose("time", "lag", "y", "x", "channel")
    if "frame" in stim.coords and np.any(np.diff(np.asarray(stim["frame"].values)) != 1):
        raise NeurodataError("the aligned frames are not consecutive (responses are missing for "
                             "some frames); fit a contiguous stretch, e.g. aligned.isel(time="
                             "slice(a, b)).")
    win = np.asarray(stim.values)
    movie = np.concatenate([win[0], win[1:, -1]])  # (frame, y, x, channel)
    resp = _response_matrix(responses, win.shape[0])
    lags = win.shape[1]
    full = np.concatenate([np.zeros((lags - 1, resp.shape[1]), resp.dtype), resp])
    dim = str(responses.dims[1])
    labels = np.asarray(responses[dim].values) if dim in responses.coords else None
    return _Aligned(movie.transpose(3, 0, 1, 2), full, lags - 1, dim, labels)


def _response_matrix(responses: Any, n_frames: int) -> np.ndarray:
    if isinstance(responses, xr.DataArray):
        if responses.ndim != 2 or responses.dims[0] != "time":
            raise ShapeError(f"responses must have dims ('time', unit|roi); got {responses.dims}.")
        resp = np.asarray(responses.values)
    else:
        resp = np.asarray(responses)
    if resp.ndim != 2 or resp.shape[0] != n_frames:
        raise ShapeError(f"responses must be (time, unit) aligned to the {n_frames} stimulus "
                         f"frames; got shape {resp.shape}.")
    return resp


def _as_arrays(stimulus: Any, responses: Any) -> _Aligned:
    """Movie ``(channel, time, y, x)`` and responses ``(time, neuron)`` as float32 arrays."""
    if isinstance(stimulus, xr.Dataset):
        if responses is not None or not {"stimulus", "responses"} <= set(stimulus.data_vars):
            raise NeurodataError("pass either the Dataset of neurodata.signals.align_movie "
                                 "alone, or a stimulus movie and its responses.")
        stimulus, responses = stimulus["stimulus"], stimulus["responses"]
    if responses is None:
        raise NeurodataError("fit_predictive_model needs the responses to the stimulus.")
    if isinstance(stimulus, xr.DataArray) and "lag" in stimulus.dims:
        out = _lagged(stimulus, responses)
    else:
        if isinstance(stimulus, xr.DataArray):
            dims = [d for d in ("time", "y", "x", "channel") if d in stimulus.dims]
            if set(stimulus.dims) != set(dims) or not {"time", "y", "x"} <= set(dims):
                raise ShapeError(f"stimulus must have dims ('time', 'y', 'x'[, 'channel']); got "
                                 f"{stimulus.dims}.")
            stim = stimulus.transpose(*dims).values
        else:
            stim = np.asarray(stimulus)
        if stim.ndim == 3:
            stim = stim[..., None]
        if stim.ndim != 4:
            raise ShapeError(f"stimulus must be (time, y, x[, channel]); got shape {stim.shape}.")
        resp = _response_matrix(responses, stim.shape[0])
        dim = str(responses.dims[1]) if isinstance(responses, xr.DataArray) else "unit"
        labels = np.asarray(responses[dim].values) if isinstance(responses, xr.DataArray) \
            and dim in responses.coords else None
        out = _Aligned(stim.transpose(3, 0, 1, 2), resp, 0, dim, labels)
    if not (np.all(np.isfinite(out.movie)) and np.all(np.isfinite(out.responses))):
        raise NeurodataError("stimulus or responses contain NaN or infinite values; drop or fill "
                             "those frames first.")
    out.movie = np.ascontiguousarray(out.movie, np.float32)
    out.responses = out.responses.astype(np.float32)
    return out


def _chunks(n_out: int, length: int, val_fraction: float) -> tuple[list[int], list[int]]:
    starts = list(range(0, n_out - length + 1, length))
    n_val = max(1, round(val_fraction * len(starts)))
    if len(starts) < 2:
        raise NeurodataError(f"too few frames to train and validate ({n_out + 0} usable); record "
                             f"more or shorten chunk_frames.")
    return starts[:-n_val], starts[-n_val:]


def _batch(stim: torch.Tensor, resp: torch.Tensor, starts: list[int], length: int, t: int
           ) -> tuple[torch.Tensor, torch.Tensor]:
    movies = torch.stack([stim[:, s:s + length + t - 1] for s in starts])
    target = torch.stack([resp[s + t - 1:s + t - 1 + length] for s in starts])
    return movies, target


def _correlation(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p = pred - pred.mean(0)
    q = target - target.mean(0)
    return (p * q).sum(0) / torch.sqrt((p**2).sum(0) * (q**2).sum(0)).clamp_min(1e-12)


def _train_epoch(model: ConvGaussianModel, opt: Any, stim: torch.Tensor, resp: torch.Tensor,
                 train: list[int], gen: torch.Generator, chunk_frames: int, batch_chunks: int,
                 readout_l1: float) -> float:
    model.train()
    order = torch.randperm(len(train), generator=gen).tolist()
    t = model.stimulus_shape[1]
    losses = []
    for i in range(0, len(order), batch_chunks):
        x, y = _batch(stim, resp, [train[j] for j in order[i:i + batch_chunks]], chunk_frames, t)
        loss = torch.nn.functional.poisson_nll_loss(model.traces(x), y, log_input=False, eps=1e-6)
        loss = loss + readout_l1 * model.weights.abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return float(np.mean(losses))


@renamed_kwargs(lr="learning_rate")
def fit_predictive_model(
    stimulus: xr.Dataset | xr.DataArray | np.ndarray,
    responses: xr.DataArray | np.ndarray | None = None,
    *,
    clip_frames: int | None = None,
    n_features: int = 16,
    n_hidden: int = 16,
    n_epochs: int = 30,
    learning_rate: float = 0.02,
    chunk_frames: int = 50,
    batch_chunks: int = 2,
    val_fraction: float = 0.1,
    patience: int = 8,
    readout_l1: float = 1e-3,
    device: str = "cpu",
    random_state: Any = None,
    progress: bool | None = None,
) -> ConvGaussianModel:
    """Train a :class:`ConvGaussianModel` on responses aligned to stimulus frames.

    Parameters
    ----------
    stimulus : Dataset, DataArray or array
        The result of :func:`neurodata.signals.align_movie` (a movie aligned
        to a recording's responses with a lag window; ``responses`` is then
        omitted), or the movie shown, ``(time, y, x[, channel])``, one entry
        per frame.
    responses : DataArray ``(time, unit|roi)`` or array, optional
        Responses per frame (counts or calcium), aligned to ``stimulus``.
    clip_frames : int, optional
        Temporal extent of the model (frames of history per response);
        default: the lag window of an aligned movie, else 12.
    n_features, n_hidden : int
        Core sizes.
    n_epochs, learning_rate, chunk_frames, batch_chunks : int, float, int, int
        Adam training: contiguous chunks of ``chunk_frames`` responses, several per batch.
    val_fraction : float
        The last chunks held out for early stopping.
    patience : int
        Epochs without a better held-out correlation before stopping.
    readout_l1 : float
        L1 penalty on the readout weights.
    device : str
        Torch device (CPU default).
    random_state : None, int or Generator
        Seed (None: fresh entropy); torch's global generator is left alone.
    progress : bool or None
        Progress bar (None: shown in a terminal or notebook).

    Returns
    -------
    ConvGaussianModel
        In eval mode, with the best held-out weights; ``model.history_``
        (an xarray.Dataset: ``loss`` and ``val_correlation`` per training
        epoch, on ``iteration``); ``model.response_dim`` and
        ``model.response_labels`` name the neurons it predicts.

    Examples
    --------
    >>> from neurodata.datasets import make_retina_population
    >>> from neurodata.signals import align_movie
    >>> rec = make_retina_population(8, 2, n_frames=600, stimulus_shape=(6, 5, 5),
    ...                              random_state=0)
    >>> model = fit_predictive_model(align_movie(rec, lags=6), n_epochs=2, chunk_frames=100,
    ...                              random_state=0, progress=False)
    >>> model.stimulus_shape, model.n_neurons, model.response_dim
    ((1, 6, 5, 5), 8, 'unit')
    """
    data = _as_arrays(stimulus, responses)
    c, n_frames, h, w = data.movie.shape
    if clip_frames is None:
        clip_frames = data.skip + 1 if data.skip else 12
    clip_frames = check_integer("clip_frames", clip_frames, maximum=n_frames)
    if data.skip and clip_frames != data.skip + 1:
        raise NeurodataError(f"clip_frames ({clip_frames}) must equal the aligned movie's lag "
                             f"window ({data.skip + 1} frames); align it with lags={clip_frames}.")
    train, val = _chunks(n_frames - clip_frames + 1, chunk_frames, val_fraction)
    rng = check_random_state(random_state)
    dev = torch.device(device)
    gen = torch_generator(rng)
    stim = torch.from_numpy(data.movie).to(dev)
    resp = torch.from_numpy(data.responses).to(dev)
    model = ConvGaussianModel(resp.shape[1], (c, clip_frames, h, w), n_features, n_hidden).to(dev)
    with torch.no_grad():  # start each neuron at its mean rate (over the responses trained on)
        mean = resp[clip_frames - 1:].mean(0).clamp_min(1e-3)
        model.bias.copy_(torch.log(torch.expm1(mean)))
    opt = torch.optim.Adam(model.parameters(), lr=learning_rate)
    val_x, val_y = _batch(stim, resp, val, chunk_frames, clip_frames)
    best, best_state, since, hist = -np.inf, copy.deepcopy(model.state_dict()), 0, []
    with torch_seeded(rng):  # the readout's position noise: seeded, global state restored
        for _ in progress_bar(range(n_epochs), progress=progress, desc="training"):
            loss = _train_epoch(model, opt, stim, resp, train, gen, chunk_frames, batch_chunks,
                                readout_l1)
            model.eval()
            with torch.no_grad():
                corr = float(_correlation(model.traces(val_x).flatten(0, 1),
                                          val_y.flatten(0, 1)).mean())
            hist.append({"loss": loss, "val_correlation": corr})
            if corr > best:
                best, best_state, since = corr, copy.deepcopy(model.state_dict()), 0
            else:
                since += 1
                if since >= patience:
                    break
    model.load_state_dict(best_state)
    model.eval()
    model.history_ = make_history(hist, attrs={"iteration": "training epoch"})
    model.response_dim = data.dim
    model.response_labels = data.labels if data.labels is not None else np.arange(resp.shape[1])
    return model


def prediction_correlation(model: Any, stimulus: xr.Dataset | xr.DataArray | np.ndarray,
                           responses: xr.DataArray | np.ndarray | None = None) -> xr.DataArray:
    """Per-neuron correlation between a model's predictions and responses to a movie.

    ``stimulus`` and ``responses`` are as in :func:`fit_predictive_model` (an
    aligned Dataset alone, or a movie and its responses).  Frames without a
    full history (the first ``T - 1``, ``T`` the model's clip length) are
    skipped.  ``model`` has ``stimulus_shape`` and ``traces(movie)``
    (:class:`ConvGaussianModel`, :class:`~neurodata.datasets.RetinaLNModel`).

    Examples
    --------
    >>> from neurodata.datasets import RetinaLNModel, make_retina_population
    >>> from neurodata.signals import align_movie
    >>> rec = make_retina_population(6, 2, n_frames=300, stimulus_shape=(6, 5, 5),
    ...                              random_state=0)
    >>> truth = RetinaLNModel.from_recording(rec)
    >>> aligned = align_movie(rec, lags=6, variable="true_rate")
    >>> float(prediction_correlation(truth, aligned).min()) > 0.999
    True
    """
    data = _as_arrays(stimulus, responses)
    t = model.stimulus_shape[1]
    if data.skip and data.skip + 1 != t:
        raise NeurodataError(f"the model sees {t} frames; align the movie with lags={t}.")
    dev = next(chain_tensors(model)).device
    with torch.no_grad():
        pred = model.traces(torch.from_numpy(data.movie)[None].to(dev))[0].cpu()
    corr = _correlation(pred, torch.from_numpy(data.responses[t - 1:])).numpy()
    coords = {data.dim: data.labels} if data.labels is not None else None
    return xr.DataArray(corr, dims=(data.dim,), coords=coords, name="correlation")


def chain_tensors(model: torch.nn.Module):
    """Parameters then buffers of a module (a CPU tensor if it has none)."""
    yield from model.parameters()
    yield from model.buffers()
    yield torch.zeros(())
