"""Synthetic retina for functional cell-type clustering, with its ground-truth model.

:func:`make_retina_population` draws a population of linear-nonlinear (LN)
retinal ganglion cells of a few known functional types, in the spirit of the
mouse retina types that Burg et al. (ICLR 2024) recover with most
discriminative stimuli: OFF and ON cells with sustained or transient temporal
kernels, slow large-field cells, an ON-OFF type, each with a centre-surround
spatial filter whose receptive field is centred on the stimulus canvas (the
paper centres every readout before clustering).  Within a type the kernels
jitter; each cell has a log-normal gain.  The returned
:class:`RetinaLNModel` is a differentiable torch module that maps a batch of
stimulus clips ``(batch, channel, time, y, x)`` to responses
``(batch, neuron)``, so it serves as the ground-truth predictive model.

:func:`simulate_retina_recording` shows the same cells a white-noise movie and
returns noisy (Poisson) responses aligned to the stimulus frames, the data a
learned predictive model is fitted to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

from neurodata.errors import NeurodataError, ShapeError

__all__ = ["RETINA_TYPES", "RetinaLNModel", "make_retina_population", "simulate_retina_recording"]


@dataclass(frozen=True)
class _CellType:
    name: str
    polarity: int  # +1 ON, -1 OFF, 0 ON-OFF (rectified in both directions)
    latency: float  # frames from the response to the peak of the first lobe
    width: float  # frames, width of the first lobe
    transience: float  # weight of the opposite-sign second lobe (0 sustained, 1 transient)
    centre: float  # centre sigma, pixels
    surround: float  # surround weight (its sigma is twice the centre's)
    chroma: float  # weight of channel 1 relative to channel 0 (multi-channel stimuli)


#: The functional types, in the order in which ``n_types`` takes them.
RETINA_TYPES: tuple[_CellType, ...] = (
    _CellType("OFF sustained", -1, 2.0, 1.2, 0.15, 1.0, 0.3, 1.0),
    _CellType("OFF transient", -1, 1.5, 0.8, 0.8, 1.6, 0.5, 0.6),
    _CellType("ON sustained", +1, 2.0, 1.2, 0.15, 1.0, 0.3, 1.0),
    _CellType("ON transient", +1, 1.5, 0.8, 0.8, 1.6, 0.5, 0.6),
    _CellType("ON-OFF", 0, 3.5, 0.8, 0.8, 1.8, 0.3, 0.8),
    _CellType("ON slow", +1, 5.5, 1.3, 0.2, 2.6, 0.1, 1.4),
    _CellType("OFF slow", -1, 5.5, 1.3, 0.2, 2.6, 0.1, 1.4),
    _CellType("ON local", +1, 1.0, 0.6, 0.5, 0.6, 0.9, 0.5),
)


class RetinaLNModel(torch.nn.Module):
    """Ground-truth LN model of a retina population (a differentiable torch module).

    ``r_n(x) = g_n * f(<w_n, x> / c)``, with ``w_n`` the unit-norm
    spatio-temporal filter of cell ``n``, ``c`` the reference contrast (white
    noise of RMS contrast ``c`` gives a unit-variance drive),
    ``f(d) = softplus(beta (d - theta)) / beta`` for ON and OFF cells, and
    ``f(d) + f(-d)`` for ON-OFF cells.

    Parameters
    ----------
    filters : torch.Tensor
        ``(neuron, channel, time, y, x)`` unit-norm filters; time runs forward,
        so the last frame is the most recent.
    gains, thresholds : torch.Tensor
        ``(neuron,)`` output gains and thresholds.
    on_off : torch.Tensor
        ``(neuron,)`` booleans, True for ON-OFF cells.
    contrast : float
        Reference RMS contrast.
    beta : float
        Sharpness of the softplus.

    Examples
    --------
    >>> model, cells = make_retina_population(12, 3, random_state=0)
    >>> model.stimulus_shape
    (1, 12, 9, 9)
    >>> tuple(model(torch.zeros(2, *model.stimulus_shape)).shape)
    (2, 12)
    """

    filters: torch.Tensor
    gains: torch.Tensor
    thresholds: torch.Tensor
    on_off: torch.Tensor

    def __init__(self, filters: torch.Tensor, gains: torch.Tensor, thresholds: torch.Tensor,
                 on_off: torch.Tensor, contrast: float = 0.3, beta: float = 2.0) -> None:
        super().__init__()
        self.register_buffer("filters", filters.float())
        self.register_buffer("gains", gains.float())
        self.register_buffer("thresholds", thresholds.float())
        self.register_buffer("on_off", on_off.bool())
        self.contrast = float(contrast)
        self.beta = float(beta)

    @property
    def stimulus_shape(self) -> tuple[int, int, int, int]:
        """``(channel, time, y, x)`` of one stimulus clip."""
        c, t, h, w = self.filters.shape[1:]
        return (int(c), int(t), int(h), int(w))

    @property
    def n_neurons(self) -> int:
        """Number of cells."""
        return int(self.filters.shape[0])

    def _nonlinearity(self, drive: torch.Tensor) -> torch.Tensor:
        beta, theta = self.beta, self.thresholds
        on = torch.nn.functional.softplus(beta * (drive - theta)) / beta
        off = torch.nn.functional.softplus(beta * (-drive - theta)) / beta
        return self.gains * torch.where(self.on_off, on + off, on)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Responses ``(batch, neuron)`` to clips ``(batch, channel, time, y, x)``."""
        if tuple(x.shape[1:]) != self.stimulus_shape:
            raise ShapeError(f"stimuli must have shape (batch, {', '.join(map(str, self.stimulus_shape))})"
                             f" = (batch, channel, time, y, x); got {tuple(x.shape)}.")
        flat = x.reshape(x.shape[0], -1).to(self.filters.dtype)
        drive = flat @ self.filters.reshape(self.n_neurons, -1).T / self.contrast
        return self._nonlinearity(drive)

    def traces(self, movie: torch.Tensor) -> torch.Tensor:
        """Responses ``(batch, time_out, neuron)`` to movies ``(batch, channel, time, y, x)``.

        The response at output frame ``k`` sees movie frames ``k .. k + T - 1``
        (``T`` the filter length), i.e. it is the response at frame ``k + T - 1``.
        """
        c, t, h, w = self.stimulus_shape
        if movie.ndim != 5 or tuple(movie.shape[i] for i in (1, 3, 4)) != (c, h, w) or movie.shape[2] < t:
            raise ShapeError(f"movie must have shape (batch, {c}, time >= {t}, {h}, {w}); "
                             f"got {tuple(movie.shape)}.")
        drive = torch.nn.functional.conv3d(movie.to(self.filters.dtype), self.filters)
        drive = drive[..., 0, 0].transpose(1, 2) / self.contrast  # (batch, time_out, neuron)
        return self._nonlinearity(drive)


def _temporal_kernels(latency: np.ndarray, width: np.ndarray, transience: np.ndarray,
                      n_frames: int) -> np.ndarray:
    """Biphasic kernels ``(cell, time)``, unit norm, time running forward (last = lag 0)."""
    lag = np.arange(n_frames)[::-1].astype(float)[None, :]
    lat, wid, tr = latency[:, None], width[:, None], transience[:, None]
    first = np.exp(-0.5 * ((lag - lat) / wid) ** 2)
    second = np.exp(-0.5 * ((lag - lat - 2.0 * wid) / (1.5 * wid)) ** 2)
    k = first - tr * second
    return k / np.linalg.norm(k, axis=1, keepdims=True)


def _spatial_filters(centre: np.ndarray, surround: np.ndarray, offset: np.ndarray,
                     height: int, width: int) -> np.ndarray:
    """Difference-of-Gaussians filters ``(cell, y, x)`` centred on the canvas (plus ``offset``)."""
    yy = np.arange(height)[None, :, None] - (height - 1) / 2 - offset[:, 0, None, None]
    xx = np.arange(width)[None, None, :] - (width - 1) / 2 - offset[:, 1, None, None]
    r2 = yy**2 + xx**2
    sc = centre[:, None, None]
    g_c = np.exp(-0.5 * r2 / sc**2) / sc**2
    g_s = np.exp(-0.5 * r2 / (2 * sc) ** 2) / (2 * sc) ** 2
    return g_c - surround[:, None, None] * g_s


def _validate(n_neurons: int, n_types: int, stimulus_shape: Sequence[int], n_channels: int,
              jitter: float) -> tuple[int, int, int]:
    if not 1 <= n_types <= len(RETINA_TYPES):
        raise NeurodataError(f"n_types must be between 1 and {len(RETINA_TYPES)}; got {n_types}.")
    if n_neurons < n_types:
        raise NeurodataError(f"n_neurons ({n_neurons}) must be at least n_types ({n_types}) so that "
                             f"every type has a cell.")
    if len(stimulus_shape) != 3 or min(stimulus_shape) < 2:
        raise ShapeError(f"stimulus_shape must be (time, y, x), each at least 2; got "
                         f"{tuple(stimulus_shape)}.")
    if n_channels < 1:
        raise NeurodataError(f"n_channels must be at least 1; got {n_channels}.")
    if not 0 <= jitter < 1:
        raise NeurodataError(f"jitter must be in [0, 1); got {jitter}.")
    t, h, w = (int(s) for s in stimulus_shape)
    return t, h, w


def make_retina_population(
    n_neurons: int = 240,
    n_types: int = 6,
    *,
    stimulus_shape: Sequence[int] = (12, 9, 9),
    n_channels: int = 1,
    jitter: float = 0.1,
    gain_sigma: float = 0.4,
    random_state: int | np.random.Generator | None = None,
) -> tuple[RetinaLNModel, xr.Dataset]:
    """Draw LN retinal cells of ``n_types`` known functional types and their ground-truth model.

    Types are taken in the order of :data:`RETINA_TYPES` (OFF sustained, OFF
    transient, ON sustained, ON transient, ON-OFF, ON slow, OFF slow, ON local).
    Each type has a biphasic temporal kernel (latency, lobe width,
    transience), a difference-of-Gaussians spatial filter centred on the canvas,
    a polarity (ON, OFF, or ON-OFF: rectified in both directions) and, with
    several channels, a channel weighting.  Within a type every parameter
    jitters by a relative ``jitter`` (latency by ``3 * jitter`` frames, the
    centre position by ``jitter`` pixels); gains are log-normal with median 1
    and log-sd ``gain_sigma``.  Cells are split as evenly as possible among
    types and shuffled.

    Parameters
    ----------
    n_neurons, n_types : int
        Population size and number of types (1 to 8).
    stimulus_shape : (int, int, int)
        ``(time, y, x)`` of one stimulus clip; the filters span it.
    n_channels : int
        Stimulus channels (e.g. 2 for green and UV).
    jitter : float
        Relative within-type variability, in [0, 1).
    gain_sigma : float
        Log-sd of the log-normal gains.
    random_state : int, Generator or None
        Seed.

    Returns
    -------
    model : RetinaLNModel
        Maps clips ``(batch, channel, time, y, x)`` to responses ``(batch, neuron)``.
    cells : xarray.Dataset
        On dimension ``neuron``: ``type`` (int), ``type_name``, ``polarity``,
        ``gain``, ``latency``, ``centre_sigma``.

    Examples
    --------
    >>> model, cells = make_retina_population(60, 4, random_state=0)
    >>> np.bincount(cells.type.values).tolist()
    [15, 15, 15, 15]
    >>> sorted(set(cells.type_name.values.tolist()))
    ['OFF sustained', 'OFF transient', 'ON sustained', 'ON transient']
    """
    t, h, w = _validate(n_neurons, n_types, stimulus_shape, n_channels, jitter)
    rng = np.random.default_rng(random_state)
    types = rng.permutation(np.arange(n_neurons) % n_types)
    table = [RETINA_TYPES[k] for k in types]

    def param(name: str) -> np.ndarray:
        return np.array([getattr(c, name) for c in table], dtype=float)

    def jit(values: np.ndarray) -> np.ndarray:
        return values * (1 + jitter * rng.standard_normal(n_neurons))

    latency = np.clip(param("latency") + 3 * jitter * rng.standard_normal(n_neurons), 0.0, t - 1.0)
    kern_t = _temporal_kernels(latency, np.maximum(jit(param("width")), 0.3),
                               np.clip(jit(param("transience")), 0.0, 1.5), t)
    centre = np.maximum(jit(param("centre")), 0.3)
    offset = jitter * rng.standard_normal((n_neurons, 2))
    kern_s = _spatial_filters(centre, np.clip(jit(param("surround")), 0.0, 1.0), offset, h, w)
    chroma = np.maximum(jit(param("chroma")), 0.0)
    kern_c = np.ones((n_neurons, n_channels))
    if n_channels > 1:
        kern_c[:, 1:] = chroma[:, None] ** np.arange(1, n_channels)[None, :]
    polarity = param("polarity")
    sign = np.where(polarity == 0, 1.0, polarity)
    filt = np.einsum("nc,nt,nyx->nctyx", kern_c, kern_t, kern_s) * sign[:, None, None, None, None]
    filt /= np.linalg.norm(filt.reshape(n_neurons, -1), axis=1)[:, None, None, None, None]
    gains = np.exp(gain_sigma * rng.standard_normal(n_neurons))
    thresholds = np.where(polarity == 0, 1.0, 0.5)
    model = RetinaLNModel(torch.from_numpy(filt), torch.from_numpy(gains),
                          torch.from_numpy(thresholds), torch.from_numpy(polarity == 0))
    cells = xr.Dataset(
        {
            "type": ("neuron", types.astype(np.int64)),
            "type_name": ("neuron", np.array([c.name for c in table], dtype=object)),
            "polarity": ("neuron", polarity.astype(np.int64)),
            "gain": ("neuron", gains),
            "latency": ("neuron", latency),
            "centre_sigma": ("neuron", centre),
        },
        coords={"neuron": np.arange(n_neurons)},
        attrs={"stimulus_shape": (n_channels, t, h, w), "contrast": model.contrast},
    )
    return model, cells


def simulate_retina_recording(
    model: RetinaLNModel,
    n_frames: int = 4000,
    *,
    contrast: float = 0.3,
    rate_scale: float = 2.0,
    frame_rate: float = 30.0,
    random_state: int | np.random.Generator | None = None,
) -> xr.Dataset:
    """Show a population a white-noise movie and draw Poisson responses aligned to its frames.

    The movie is Gaussian white noise of RMS ``contrast``; before the first
    frame the screen is grey (zero), so every frame has a response.  The
    response in frame ``k`` is a Poisson count with mean
    ``rate_scale * r(k)``, ``r(k)`` the model's response to the clip that ends
    at frame ``k``.

    Parameters
    ----------
    model : RetinaLNModel
        The population (from :func:`make_retina_population`; any module with
        ``stimulus_shape`` and ``traces`` works).
    n_frames : int
        Movie length.
    contrast : float
        RMS contrast of the noise.
    rate_scale : float
        Mean counts per frame per unit of model response.
    frame_rate : float
        Frames per second (sets the ``time`` coordinate).
    random_state : int, Generator or None
        Seed.

    Returns
    -------
    xarray.Dataset
        ``stimulus (time, y, x, channel)``, ``responses (time, neuron)`` (counts),
        ``rate (time, neuron)`` (the noise-free mean), ``time`` in seconds.

    Examples
    --------
    >>> model, _ = make_retina_population(20, 2, random_state=0)
    >>> rec = simulate_retina_recording(model, 100, random_state=0)
    >>> rec.responses.dims, rec.stimulus.dims
    (('time', 'neuron'), ('time', 'y', 'x', 'channel'))
    """
    if n_frames < 1:
        raise NeurodataError(f"n_frames must be positive; got {n_frames}.")
    rng = np.random.default_rng(random_state)
    c, t, h, w = model.stimulus_shape
    movie = (contrast * rng.standard_normal((n_frames, h, w, c))).astype(np.float32)
    padded = np.concatenate([np.zeros((t - 1, h, w, c), np.float32), movie])
    with torch.no_grad():
        rate = model.traces(torch.from_numpy(padded).permute(3, 0, 1, 2)[None])[0].numpy()
    counts = rng.poisson(rate_scale * rate.astype(np.float64)).astype(np.float32)
    time = np.arange(n_frames) / frame_rate
    neuron = np.arange(rate.shape[1])
    return xr.Dataset(
        {
            "stimulus": (("time", "y", "x", "channel"), movie),
            "responses": (("time", "neuron"), counts),
            "rate": (("time", "neuron"), (rate_scale * rate).astype(np.float32)),
        },
        coords={"time": time, "neuron": neuron},
        attrs={"frame_rate": frame_rate, "contrast": contrast},
    )
