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

from neurodata._utils import check_integer, check_positive, check_random_state
from neurodata.errors import NeurodataError, NoNeuralDataError, ShapeError

__all__ = ["RETINA_TYPES", "RetinaLNModel", "make_retina_population", "simulate_retina_recording"]

#: Session time (s) at which the movie starts.
MOVIE_START = 1.0


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
        ``(unit, channel, time, y, x)`` unit-norm filters; time runs forward,
        so the last frame is the most recent.
    gains, thresholds : torch.Tensor
        ``(unit,)`` output gains and thresholds.
    on_off : torch.Tensor
        ``(unit,)`` booleans, True for ON-OFF cells.
    contrast : float
        Reference RMS contrast.
    beta : float
        Sharpness of the softplus.

    Examples
    --------
    >>> rec = make_retina_population(12, 3, n_frames=100, random_state=0)
    >>> model = RetinaLNModel.from_recording(rec)
    >>> model.stimulus_shape
    (1, 12, 9, 9)
    >>> tuple(model(torch.zeros(2, *model.stimulus_shape)).shape)
    (2, 12)
    """

    filters: torch.Tensor
    gains: torch.Tensor
    thresholds: torch.Tensor
    on_off: torch.Tensor
    #: Neuron dimension and labels of the recording the model describes.
    response_dim: str = "unit"
    response_labels: np.ndarray | None = None

    def __init__(self, filters: torch.Tensor, gains: torch.Tensor, thresholds: torch.Tensor,
                 on_off: torch.Tensor, contrast: float = 0.3, beta: float = 2.0) -> None:
        super().__init__()
        self.register_buffer("filters", filters.float())
        self.register_buffer("gains", gains.float())
        self.register_buffer("thresholds", thresholds.float())
        self.register_buffer("on_off", on_off.bool())
        self.contrast = float(contrast)
        self.beta = float(beta)

    @classmethod
    def from_recording(cls, recording: xr.Dataset) -> RetinaLNModel:
        """The ground-truth model of a recording made by :func:`make_retina_population`.

        Reads the ``filters (unit, channel, lag, y, x)`` variable and the
        ``gain``, ``threshold`` and ``on_off`` columns of the units table (for
        a file written with :func:`~neurodata.save_nwb`, the filters come back
        through :func:`~neurodata.read_results`: ``rec.assign(filters=...)``).
        """
        if not isinstance(recording, xr.Dataset) or "filters" not in recording:
            raise NoNeuralDataError(
                "the recording has no ground-truth 'filters' variable (only recordings made by "
                "make_retina_population have one; for its NWB file, add it back from "
                "neurodata.read_results(path)['filters']).")
        f = recording["filters"].transpose("unit", "channel", "lag", "y", "x")
        missing = [c for c in ("gain", "threshold", "on_off") if c not in recording.coords]
        if missing:
            raise NoNeuralDataError(f"the units table lacks the ground-truth column(s) {missing}.")
        model = cls(torch.from_numpy(np.asarray(f.values, dtype=np.float32)),
                    torch.from_numpy(np.asarray(recording["gain"].values, dtype=np.float32)),
                    torch.from_numpy(np.asarray(recording["threshold"].values, dtype=np.float32)),
                    torch.from_numpy(np.asarray(recording["on_off"].values).astype(bool)),
                    contrast=float(f.attrs.get("contrast", 0.3)),
                    beta=float(f.attrs.get("beta", 2.0)))
        model.response_dim = "unit"
        model.response_labels = np.asarray(recording["unit"].values)
        return model

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
        """Responses ``(batch, unit)`` to clips ``(batch, channel, time, y, x)``."""
        if tuple(x.shape[1:]) != self.stimulus_shape:
            raise ShapeError(f"stimuli must have shape (batch, {', '.join(map(str, self.stimulus_shape))})"
                             f" = (batch, channel, time, y, x); got {tuple(x.shape)}.")
        flat = x.reshape(x.shape[0], -1).to(self.filters.dtype)
        drive = flat @ self.filters.reshape(self.n_neurons, -1).T / self.contrast
        return self._nonlinearity(drive)

    def traces(self, movie: torch.Tensor) -> torch.Tensor:
        """Responses ``(batch, time_out, unit)`` to movies ``(batch, channel, time, y, x)``.

        The response at output frame ``k`` sees movie frames ``k .. k + T - 1``
        (``T`` the filter length), i.e. it is the response at frame ``k + T - 1``.
        """
        c, t, h, w = self.stimulus_shape
        if movie.ndim != 5 or tuple(movie.shape[i] for i in (1, 3, 4)) != (c, h, w) or movie.shape[2] < t:
            raise ShapeError(f"movie must have shape (batch, {c}, time >= {t}, {h}, {w}); "
                             f"got {tuple(movie.shape)}.")
        drive = torch.nn.functional.conv3d(movie.to(self.filters.dtype), self.filters)
        drive = drive[..., 0, 0].transpose(1, 2) / self.contrast  # (batch, time_out, unit)
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


def _draw_population(n_neurons: int, n_types: int, stimulus_shape: Sequence[int],
                     n_channels: int, jitter: float, gain_sigma: float,
                     rng: np.random.Generator) -> tuple[RetinaLNModel, dict]:
    """The cells' ground-truth model and their known properties (units-table columns)."""
    t, h, w = _validate(n_neurons, n_types, stimulus_shape, n_channels, jitter)
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
    cells = {"type": types.astype(np.int64),
             "type_name": np.array([c.name for c in table], dtype=object),
             "polarity": polarity.astype(np.int64), "latency": latency, "centre_sigma": centre}
    return model, cells


def make_retina_population(
    n_neurons: int = 240,
    n_types: int = 6,
    *,
    n_frames: int = 1500,
    stimulus_shape: Sequence[int] = (12, 9, 9),
    n_channels: int = 1,
    jitter: float = 0.1,
    gain_sigma: float = 0.4,
    contrast: float = 0.3,
    rate_scale: float = 2.0,
    frame_rate: float = 30.0,
    random_state: int | np.random.Generator | None = None,
) -> xr.Dataset:
    """Record LN retinal cells of ``n_types`` known functional types shown a white-noise movie.

    Types are taken in the order of :data:`RETINA_TYPES` (OFF sustained, OFF
    transient, ON sustained, ON transient, ON-OFF, ON slow, OFF slow, ON local).
    Each type has a biphasic temporal kernel (latency, lobe width,
    transience), a difference-of-Gaussians spatial filter centred on the canvas,
    a polarity (ON, OFF, or ON-OFF: rectified in both directions) and, with
    several channels, a channel weighting.  Within a type every parameter
    jitters by a relative ``jitter`` (latency by ``3 * jitter`` frames, the
    centre position by ``jitter`` pixels); gains are log-normal with median 1
    and log-sd ``gain_sigma``.  Cells are split as evenly as possible among
    types and shuffled.  The cells are then shown a white-noise movie and
    their Poisson spike trains recorded (:func:`simulate_retina_recording`).

    Parameters
    ----------
    n_neurons, n_types : int
        Population size and number of types (1 to 8).
    n_frames : int
        Length of the movie (frames).
    stimulus_shape : (int, int, int)
        ``(time, y, x)`` of one stimulus clip; the filters span it and the
        movie's frames are ``y x x``.
    n_channels : int
        Stimulus channels (e.g. 2 for green and UV).
    jitter : float
        Relative within-type variability, in [0, 1).
    gain_sigma : float
        Log-sd of the log-normal gains.
    contrast, rate_scale, frame_rate : float
        The movie and the responses (see :func:`simulate_retina_recording`).
    random_state : int, Generator or None
        Seed of the cells and of the recording.

    Returns
    -------
    xarray.Dataset
        The recording of :func:`simulate_retina_recording`, whose units table
        also holds each cell's known ``type`` (int), ``type_name``,
        ``polarity``, ``latency`` and ``centre_sigma``.  The ground-truth
        model is :meth:`RetinaLNModel.from_recording`.

    Examples
    --------
    >>> rec = make_retina_population(60, 4, n_frames=200, random_state=0)
    >>> np.bincount(rec.type.values).tolist()
    [15, 15, 15, 15]
    >>> sorted(set(rec.type_name.values.tolist()))
    ['OFF sustained', 'OFF transient', 'ON sustained', 'ON transient']
    >>> rec.movie.dims, RetinaLNModel.from_recording(rec).n_neurons
    (('time_movie', 'y', 'x'), 60)
    """
    rng = check_random_state(random_state)
    model, cells = _draw_population(n_neurons, n_types, stimulus_shape, n_channels, jitter,
                                    gain_sigma, rng)
    rec = simulate_retina_recording(model, n_frames, contrast=contrast, rate_scale=rate_scale,
                                    frame_rate=frame_rate, random_state=rng)
    return rec.assign_coords({k: ("unit", v) for k, v in cells.items()})


def _spikes_in_frames(counts: np.ndarray, onsets: np.ndarray, step: float,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Spike times drawn uniformly within the frame of each count, sorted; and their units."""
    frame, unit = np.nonzero(counts)
    n = counts[frame, unit].astype(np.int64)
    frame, unit = np.repeat(frame, n), np.repeat(unit, n)
    times = onsets[frame] + step * rng.random(frame.size)
    order = np.argsort(times, kind="stable")
    return times[order], unit[order]


def simulate_retina_recording(
    model: RetinaLNModel,
    n_frames: int = 1500,
    *,
    contrast: float = 0.3,
    rate_scale: float = 2.0,
    frame_rate: float = 30.0,
    random_state: int | np.random.Generator | None = None,
) -> xr.Dataset:
    """Show a population a white-noise movie and record its Poisson spike trains.

    The movie is Gaussian white noise of RMS ``contrast``, one frame every
    ``1 / frame_rate`` seconds from ``t = 1 s``; before the first frame the
    screen is grey (zero).  While frame ``k`` is shown, each cell fires a
    Poisson number of spikes with mean ``rate_scale * r(k)``, ``r(k)`` the
    model's response to the clip that ends at frame ``k``; the spikes fall
    uniformly within the frame.

    Parameters
    ----------
    model : RetinaLNModel
        The population (any module with ``stimulus_shape`` and ``traces``).
    n_frames : int
        Movie length.
    contrast : float
        RMS contrast of the noise.
    rate_scale : float
        Mean spikes per frame per unit of model response.
    frame_rate : float
        Frames per second.
    random_state : int, Generator or None
        Seed.

    Returns
    -------
    xarray.Dataset
        A recording: ``movie (time_movie, y, x)`` (``(time_movie, y, x,
        channel)`` for several channels), ``time_movie`` the frame onsets;
        ``spike_times``/``spike_unit`` with the units table (``gain``,
        ``threshold``, ``on_off``); ground truth ``filters (unit, channel,
        lag, y, x)`` (attrs ``contrast``, ``beta``) and ``true_rate (time,
        unit)``, the noise-free mean count of every frame (``time``: frame
        centres).

    Examples
    --------
    >>> model = RetinaLNModel.from_recording(make_retina_population(20, 2, n_frames=10,
    ...                                                             random_state=0))
    >>> rec = simulate_retina_recording(model, 100, random_state=0)
    >>> rec.movie.dims, rec.true_rate.dims
    (('time_movie', 'y', 'x'), ('time', 'unit'))
    """
    check_integer("n_frames", n_frames)
    check_positive("frame_rate", frame_rate)
    rng = check_random_state(random_state)
    c, t, h, w = model.stimulus_shape
    movie = (contrast * rng.standard_normal((n_frames, h, w, c))).astype(np.float32)
    padded = np.concatenate([np.zeros((t - 1, h, w, c), np.float32), movie])
    with torch.no_grad():
        rate = model.traces(torch.from_numpy(padded).permute(3, 0, 1, 2)[None])[0].numpy()
    rate = rate_scale * rate.astype(np.float64)
    counts = rng.poisson(rate)
    step = 1.0 / frame_rate
    onsets = MOVIE_START + np.arange(n_frames) * step
    times, unit = _spikes_in_frames(counts, onsets, step, rng)
    units = np.arange(rate.shape[1])
    movie_var = (("time_movie", "y", "x"), movie[..., 0]) if c == 1 else \
        (("time_movie", "y", "x", "channel"), movie)
    filters = xr.DataArray(model.filters.cpu().numpy(), dims=("unit", "channel", "lag", "y", "x"),
                           attrs={"contrast": model.contrast, "beta": model.beta,
                                  "description": "ground-truth filters; lag runs forward, the "
                                                 "last is the current frame"})
    return xr.Dataset(
        {"movie": movie_var, "spike_times": ("spike", times), "spike_unit": ("spike", unit),
         "true_rate": (("time", "unit"), rate.astype(np.float32)), "filters": filters},
        coords={"time_movie": onsets, "time": onsets + step / 2, "unit": units,
                "gain": ("unit", model.gains.cpu().numpy().astype(np.float64)),
                "threshold": ("unit", model.thresholds.cpu().numpy().astype(np.float64)),
                "on_off": ("unit", model.on_off.cpu().numpy().astype(np.int64))},
        attrs={"frame_rate": float(frame_rate), "contrast": float(contrast),
               "rate_scale": float(rate_scale)},
    )
