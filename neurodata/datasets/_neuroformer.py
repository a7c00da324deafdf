"""A spiking network with hub neurons and a repeated stimulus (Neuroformer's simulation).

Antoniades et al. (2024) first trained Neuroformer on a simulated network in which
a few *hub* neurons drive the others, and showed that attention recovers the hub
connectivity and its direction.  :func:`make_hub_network` builds such a network
as a Bernoulli generalised linear model (GLM) with a known ground truth.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata.errors import NeurodataError

__all__ = ["hub_connectivity", "make_hub_network"]


def _check_params(n_neurons: int, n_hubs: int, targets_per_hub: int, n_trials: int,
                  trial_duration: float, lag_range: tuple[float, float], dt: float) -> None:
    if n_hubs < 1 or targets_per_hub < 1:
        raise NeurodataError(f"n_hubs and targets_per_hub must be >= 1; got {n_hubs} and "
                             f"{targets_per_hub}.")
    if n_neurons < n_hubs * (targets_per_hub + 1):
        raise NeurodataError(
            f"n_neurons={n_neurons} is too small for {n_hubs} hubs with {targets_per_hub} "
            f"targets each; pass n_neurons >= {n_hubs * (targets_per_hub + 1)}.")
    if n_trials < 1 or trial_duration <= 0 or dt <= 0:
        raise NeurodataError("n_trials, trial_duration and dt must be positive; got "
                             f"{n_trials}, {trial_duration}, {dt}.")
    lo, hi = lag_range
    if not 0 < lo <= hi:
        raise NeurodataError(f"lag_range must satisfy 0 < low <= high (seconds); got {lag_range}.")


def _bar_stimulus(n_frames: int, size: int, frame_rate: float, sweep_time: float) -> np.ndarray:
    """A bright bar that sweeps right, then down, across a ``size`` x ``size`` field."""
    t = np.arange(n_frames) / frame_rate
    phase = (t % (2 * sweep_time)) / sweep_time           # 0..2: horizontal then vertical
    pos = (phase % 1.0) * size                             # bar position in pixels
    grid = np.arange(size) + 0.5
    horizontal = phase < 1.0
    bar_x = np.exp(-0.5 * ((grid[None, :] - pos[:, None]) / 0.7) ** 2)   # (frame, x)
    frames = np.where(horizontal[:, None, None], bar_x[:, None, :], bar_x[:, :, None])
    return frames.astype(np.float32)


def _connectivity(n_neurons: int, n_hubs: int, targets_per_hub: int,
                  lag_range: tuple[float, float], rng: np.random.Generator):
    """Pick hubs and their targets; return (hubs, weight (target, source), lag (target, source))."""
    order = rng.permutation(n_neurons)
    hubs = np.sort(order[:n_hubs])
    others = order[n_hubs:]
    targets = rng.permutation(others)[: n_hubs * targets_per_hub].reshape(n_hubs, targets_per_hub)
    edge = np.zeros((n_neurons, n_neurons), dtype=bool)
    edge[targets.ravel(), np.repeat(hubs, targets_per_hub)] = True
    lag = np.where(edge, rng.uniform(lag_range[0], lag_range[1], size=edge.shape), np.nan)
    return hubs, edge, lag


def _stimulus_drive(frames, centres, n_steps: int, dt: float, latency: float,
                    frame_rate: float) -> np.ndarray:
    """Each neuron's response (0..1) to the frames through a Gaussian RF, per time step."""
    size = frames.shape[1]
    grid = np.arange(size) + 0.5
    rf = np.exp(-0.5 * (((grid[None, :, None] - centres[:, 0, None, None]) ** 2
                         + (grid[None, None, :] - centres[:, 1, None, None]) ** 2) / 1.0))
    drive = np.einsum("fyx,nyx->fn", frames, rf) / rf.sum(axis=(1, 2))[None, :]
    drive /= max(drive.max(), 1e-12)
    duration = len(frames) / frame_rate
    trial_t = (np.arange(n_steps) * dt - latency) % duration
    frame_idx = np.minimum((trial_t * frame_rate).astype(int), len(frames) - 1)
    return drive[frame_idx]


def _simulate(logits, is_hub, edge, lag, coupling: float, width: int, dt: float,
              u: np.ndarray) -> np.ndarray:
    """Bernoulli spikes: hubs first (no recurrent input), then their targets, all steps at once."""
    n_steps, n = logits.shape
    spikes = np.zeros((n_steps, n), dtype=bool)
    hubs = np.flatnonzero(is_hub)
    spikes[:, hubs] = u[:, hubs] < 1 / (1 + np.exp(-logits[:, hubs]))
    csum = np.concatenate([np.zeros((1, n)), np.cumsum(spikes, axis=0)])
    logits = logits.copy()
    for target, source in zip(*np.nonzero(edge)):      # one vectorised pass per edge
        shift = max(1, round(lag[target, source] / dt))
        hi = np.clip(np.arange(n_steps) - shift + 1, 0, n_steps)
        lo = np.clip(hi - width, 0, n_steps)
        logits[:, target] += coupling * (csum[hi, source] - csum[lo, source])
    others = ~is_hub
    spikes[:, others] = u[:, others] < 1 / (1 + np.exp(-logits[:, others]))
    return spikes


def make_hub_network(n_neurons: int = 24, n_hubs: int = 3, targets_per_hub: int = 5, *,
                     n_trials: int = 60, trial_duration: float = 1.0,
                     base_rate: float = 1.5, hub_rate: float = 5.0,
                     stimulus_gain: float = 2.0, coupling: float = 3.0,
                     lag_range: tuple[float, float] = (0.01, 0.03), kernel_width: float = 0.004,
                     frame_rate: float = 20.0, frame_size: int = 4, latency: float = 0.02,
                     dt: float = 0.001, random_state: int | None = 0) -> xr.Dataset:
    """Simulate a Bernoulli GLM in which hub neurons drive targets at known lags.

    Time is divided into steps of ``dt``.  In each step neuron *i* spikes with
    probability :math:`\\sigma(b_i + g\\,s_i(t) + \\sum_j w_{ij} h_{ij}(t))`, where
    :math:`\\sigma` is the logistic function, :math:`b_i` sets the baseline rate,
    :math:`s_i(t) \\in [0, 1]` is the neuron's response to a stimulus that repeats
    identically on every trial (a bar sweeping across a small image, seen through a
    Gaussian receptive field after ``latency``), and :math:`h_{ij}(t)` counts spikes
    of hub *j* in the window ``[t - lag_ij - kernel_width, t - lag_ij)``.  Each hub
    drives ``targets_per_hub`` distinct targets with weight ``coupling`` at a lag
    drawn uniformly from ``lag_range``; hubs receive no input from other neurons,
    so the network is feed-forward (hubs -> targets) and is simulated exactly, all
    time steps at once.  Trials follow one another without gaps, as one continuous
    recording.

    Parameters
    ----------
    n_neurons, n_hubs, targets_per_hub : int
        Network size, number of hubs, and number of targets of each hub (targets
        are distinct, so ``n_hubs * targets_per_hub`` neurons receive one input).
    n_trials, trial_duration : int, float
        Number of stimulus repeats and their length in seconds.
    base_rate, hub_rate : float
        Baseline firing rates (Hz) of non-hub and hub neurons without stimulus.
    stimulus_gain, coupling : float
        Log-odds added by the stimulus at the centre of the receptive field, and
        by each hub spike on its targets.
    lag_range : (float, float)
        Range of the hub -> target lags in seconds.
    kernel_width : float
        Duration (s) for which one hub spike raises its targets' log-odds.
    frame_rate, frame_size, latency : float, int, float
        Stimulus video frame rate (Hz), frame side (pixels), and response latency (s).
    dt : float
        Simulation time step (s); also the precision of the spike times.
    random_state : int or None
        Seed of the simulation.

    Returns
    -------
    xarray.Dataset
        A recording (see :mod:`neurodata.schema`): ``spike_times(spike)``,
        ``spike_unit(spike)``, ``unit`` (ids ``0..n_neurons-1``, with a boolean
        ``is_hub`` coordinate), the trial table ``trial_start_time`` /
        ``trial_stop_time``, and the stimulus ``stimulus(time_stimulus, y, x)``
        (the whole session's frames, with frame times).  The ground truth is in
        ``connectivity(target, source)`` (True where ``source`` drives ``target``)
        and ``lag(target, source)`` (seconds, NaN where there is no edge); the
        ``target`` and ``source`` coordinates are unit ids.

    Examples
    --------
    >>> ds = make_hub_network(n_trials=4, random_state=0)
    >>> ds.sizes["unit"], ds.sizes["trial"], int(ds.connectivity.sum())
    (24, 4, 15)
    >>> bool((ds.spike_times.diff("spike") >= 0).all())
    True
    >>> bool((hub_connectivity(ds).values == ds.connectivity.values).all())
    True
    """
    _check_params(n_neurons, n_hubs, targets_per_hub, n_trials, trial_duration, lag_range, dt)
    rng = np.random.default_rng(random_state)
    hubs, edge, lag = _connectivity(n_neurons, n_hubs, targets_per_hub, lag_range, rng)
    is_hub = np.zeros(n_neurons, dtype=bool)
    is_hub[hubs] = True

    n_trial_steps = round(trial_duration / dt)
    n_steps = n_trial_steps * n_trials
    t = np.arange(n_steps) * dt
    n_trial_frames = max(1, round(trial_duration * frame_rate))
    frames = _bar_stimulus(n_trial_frames, frame_size, frame_rate, sweep_time=trial_duration / 2)
    centres = rng.uniform(1.0, frame_size - 1.0, size=(n_neurons, 2))
    drive = _stimulus_drive(frames, centres, n_trial_steps, dt, latency, frame_rate)
    drive = np.tile(drive, (n_trials, 1))                                   # (step, neuron)
    rates = np.where(is_hub, hub_rate, base_rate)
    p0 = rates * dt
    logits = np.log(p0 / (1 - p0))[None, :] + stimulus_gain * drive
    spikes = _simulate(logits, is_hub, edge, lag, coupling, max(1, round(kernel_width / dt)),
                       dt, rng.random((n_steps, n_neurons)))

    step, unit = np.nonzero(spikes)                # row-major: sorted by time
    spike_times = t[step]
    frame_times = np.arange(n_trial_frames * n_trials) / frame_rate
    trial_start = np.arange(n_trials) * trial_duration
    ids = np.arange(n_neurons)
    has_driver = edge.any(axis=1)
    driver = np.where(has_driver, ids[edge.argmax(axis=1)], -1)
    driver_lag = np.where(has_driver, np.nanmax(np.where(edge, lag, -np.inf), axis=1), np.nan)
    return xr.Dataset(
        {
            "spike_times": ("spike", spike_times.astype(np.float64)),
            "spike_unit": ("spike", ids[unit]),
            "stimulus": (("time_stimulus", "y", "x"), np.tile(frames, (n_trials, 1, 1))),
            "connectivity": (("target", "source"), edge),
            "lag": (("target", "source"), lag),
        },
        coords={
            "unit": ids, "is_hub": ("unit", is_hub), "driver": ("unit", driver),
            "driver_lag": ("unit", driver_lag),
            "target": ids, "source": ids,
            "time_stimulus": frame_times,
            "trial_start_time": ("trial", trial_start),
            "trial_stop_time": ("trial", trial_start + trial_duration),
        },
        attrs={"description": "Bernoulli GLM hub network (neurodata.datasets.make_hub_network)",
               "dt": dt, "frame_rate": frame_rate},
    )


def hub_connectivity(recording: xr.Dataset) -> xr.DataArray:
    """The planted ``(target, source)`` connectivity of a hub-network recording.

    Rebuilt from the units table's ``driver`` column (see
    :func:`make_hub_network`), so that it works on a recording read back
    from NWB, where only unit-table columns travel with the spikes.

    Examples
    --------
    >>> ds = make_hub_network(n_trials=2, random_state=0)
    >>> int(hub_connectivity(ds).sum()), hub_connectivity(ds).dims
    (15, ('target', 'source'))
    """
    if "driver" not in recording.coords:
        raise NeurodataError("this recording has no 'driver' unit column; it was not made by "
                             "make_hub_network (or by a version before it recorded drivers).")
    ids = recording["unit"].values
    driver = recording["driver"].values
    edge = driver[:, None] == ids[None, :]
    return xr.DataArray(edge, dims=("target", "source"), coords={"target": ids, "source": ids},
                        name="connectivity")
