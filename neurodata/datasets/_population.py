"""Synthetic recordings with known ground truth: spiking populations and calcium imaging."""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata.errors import NeurodataError

__all__ = ["make_calcium_imaging", "make_poisson_population"]


def _check_positive(**kwargs) -> None:
    for name, value in kwargs.items():
        if not np.isfinite(value) or value <= 0:
            raise NeurodataError(f"{name} must be positive; got {value}.")


def _poisson_segments(rng: np.random.Generator, rates: np.ndarray, starts: np.ndarray,
                      durations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Homogeneous Poisson spikes in segments: rates (segment, unit) -> (times, unit index)."""
    counts = rng.poisson(rates * durations[:, None])
    seg, unit = np.nonzero(counts)
    reps = counts[seg, unit]
    seg, unit = np.repeat(seg, reps), np.repeat(unit, reps)
    times = starts[seg] + rng.random(seg.size) * durations[seg]
    return times, unit


def make_poisson_population(
    n_units: int = 24,
    n_trials: int = 40,
    *,
    trial_duration: float = 2.0,
    stimulus_window: tuple[float, float] = (0.5, 1.5),
    n_orientations: int = 8,
    baseline_rate: tuple[float, float] = (2.0, 8.0),
    peak_rate: tuple[float, float] = (15.0, 40.0),
    kappa: float = 2.0,
    iti: float = 0.5,
    random_state: int | np.random.Generator | None = None,
) -> xr.Dataset:
    """A population of orientation-tuned Poisson neurons recorded over trials.

    Each trial shows one of ``n_orientations`` grating orientations (in
    [0, 180) degrees, balanced and shuffled) during ``stimulus_window``
    (seconds from trial start).  Unit ``u`` fires at its baseline rate outside
    the window and at ``baseline + peak * exp(kappa (cos 2(theta - pref) - 1))``
    inside it: von Mises tuning over the 180-degree orientation circle.

    Parameters
    ----------
    n_units, n_trials : int
        Population and session size.
    trial_duration : float
        Seconds per trial; trials are separated by ``iti`` seconds.
    stimulus_window : (float, float)
        Stimulus on and off, relative to trial start.
    n_orientations : int
        Number of distinct orientations.
    baseline_rate, peak_rate : (float, float)
        Ranges (Hz) from which each unit's rates are drawn uniformly.
    kappa : float
        Tuning concentration.
    iti : float
        Inter-trial interval in seconds.
    random_state : int or Generator, optional
        Seed for reproducibility.

    Returns
    -------
    xarray.Dataset
        A recording (see :mod:`neurodata.schema`): ``spike_times(spike)``,
        ``spike_unit(spike)``; unit coordinates ``preferred_orientation``,
        ``baseline_rate``, ``peak_rate`` (the ground truth) and ``location``;
        the trial table (``trial_start_time``, ``trial_stop_time``,
        ``trial_stimulus_orientation``, ``trial_stimulus_on``,
        ``trial_stimulus_off``); and a ``running_speed`` series at 50 Hz on
        ``time_running_speed``.

    Examples
    --------
    >>> ds = make_poisson_population(n_units=5, n_trials=8, random_state=0)
    >>> ds.sizes["unit"], ds.sizes["trial"]
    (5, 8)
    >>> bool((ds.spike_times.diff("spike") >= 0).all())
    True
    """
    _check_positive(n_units=n_units, n_trials=n_trials, trial_duration=trial_duration, kappa=kappa)
    on, off = stimulus_window
    if not 0 <= on < off <= trial_duration:
        raise NeurodataError(f"stimulus_window {stimulus_window} must lie inside the trial "
                             f"[0, {trial_duration}] and end after it starts.")
    rng = np.random.default_rng(random_state)
    pref = rng.uniform(0, 180, n_units)
    base = rng.uniform(*baseline_rate, n_units)
    peak = rng.uniform(*peak_rate, n_units)
    oris = np.resize(np.arange(n_orientations) * 180.0 / n_orientations, n_trials)
    rng.shuffle(oris)
    starts = np.arange(n_trials) * (trial_duration + iti)
    stops = starts + trial_duration
    tuning = base + peak * np.exp(kappa * (np.cos(np.deg2rad(2 * (oris[:, None] - pref))) - 1))
    # Three segments per trial (before, during, after the stimulus) plus the gap.
    seg_start = np.concatenate([starts, starts + on, starts + off, stops])
    seg_dur = np.concatenate([np.full(n_trials, on), np.full(n_trials, off - on),
                              np.full(n_trials, trial_duration - off), np.full(n_trials, iti)])
    seg_rate = np.concatenate([np.tile(base, (n_trials, 1)), tuning,
                               np.tile(base, (n_trials, 1)), np.tile(base, (n_trials, 1))])
    times, unit = _poisson_segments(rng, seg_rate, seg_start, seg_dur)
    order = np.argsort(times, kind="stable")
    t_speed = np.arange(0.0, stops[-1] + iti, 0.02)
    speed = np.abs(np.convolve(rng.normal(0, 4, t_speed.size), np.ones(25) / 5, mode="same"))
    ds = xr.Dataset(
        {
            "spike_times": ("spike", times[order], {"units": "s"}),
            "spike_unit": ("spike", unit[order].astype(np.int64)),
            "running_speed": ("time_running_speed", speed, {"units": "cm/s"}),
        },
        coords={
            "unit": np.arange(n_units),
            "preferred_orientation": ("unit", pref, {"units": "deg"}),
            "baseline_rate": ("unit", base, {"units": "Hz"}),
            "peak_rate": ("unit", peak, {"units": "Hz"}),
            "location": ("unit", np.array(["VISp"] * n_units, dtype=object)),
            "time_running_speed": ("time_running_speed", t_speed, {"units": "s"}),
            "trial": np.arange(n_trials),
            "trial_start_time": ("trial", starts, {"units": "s"}),
            "trial_stop_time": ("trial", stops, {"units": "s"}),
            "trial_stimulus_orientation": ("trial", oris, {"units": "deg"}),
            "trial_stimulus_on": ("trial", starts + on, {"units": "s"}),
            "trial_stimulus_off": ("trial", starts + off, {"units": "s"}),
        },
        attrs={"session_description": "synthetic orientation-tuned Poisson population",
               "nwb_identifier": f"neurodata-poisson-{n_units}x{n_trials}",
               "session_start_time": "2024-01-01T00:00:00+00:00", "kappa": float(kappa)},
    )
    return ds


def make_calcium_imaging(
    n_rois: int = 30,
    duration: float = 120.0,
    *,
    rate: float = 10.0,
    event_rate: float = 0.05,
    tau: float = 1.0,
    amplitude: tuple[float, float] = (0.5, 1.5),
    baseline: float = 100.0,
    noise: float = 0.05,
    neuropil_factor: float = 0.7,
    fov: int = 128,
    random_state: int | np.random.Generator | None = None,
) -> xr.Dataset:
    """A two-photon session with known calcium events.

    Each ROI receives Poisson events (``event_rate`` per second) of random
    amplitude (in dF/F units); its dF/F is the events convolved with an
    exponential decay ``exp(-t/tau)``.  The raw fluorescence is
    ``F = baseline (1 + dF/F) + neuropil_factor * F_neu + noise``, with a slowly
    varying neuropil shared across ROIs, so that
    :func:`neurodata.signals.compute_dff` with the same neuropil factor recovers
    the true dF/F.

    Parameters
    ----------
    n_rois : int
        Number of ROIs.
    duration : float
        Seconds of imaging.
    rate : float
        Frame rate in Hz.
    event_rate : float
        Events per second per ROI.
    tau : float
        Decay time constant (s) of the indicator.
    amplitude : (float, float)
        Range of event amplitudes in dF/F.
    baseline : float
        Resting fluorescence.
    noise : float
        Gaussian noise, as a fraction of the baseline.
    neuropil_factor : float
        Contamination ratio of the neuropil in the raw trace.
    fov : int
        Side of the square field of view in pixels (ROI centroids lie inside).
    random_state : int or Generator, optional
        Seed.

    Returns
    -------
    xarray.Dataset
        ``fluorescence(time, roi)``, ``neuropil(time, roi)``,
        ``true_dff(time, roi)``, the events ``event_time(event)``,
        ``event_roi(event)``, ``event_amplitude(event)``, and roi coordinates
        ``roi_centroid_x``, ``roi_centroid_y``, ``iscell``.

    Examples
    --------
    >>> ds = make_calcium_imaging(n_rois=4, duration=20.0, random_state=0)
    >>> ds.fluorescence.dims, ds.sizes["time"]
    (('time', 'roi'), 200)
    """
    _check_positive(n_rois=n_rois, duration=duration, rate=rate, tau=tau, baseline=baseline)
    rng = np.random.default_rng(random_state)
    n_t = int(round(duration * rate))
    t = np.arange(n_t) / rate
    n_events = rng.poisson(event_rate * duration * n_rois)
    ev_roi = rng.integers(0, n_rois, n_events)
    ev_frame = rng.integers(0, n_t, n_events)
    ev_amp = rng.uniform(*amplitude, n_events)
    impulses = np.zeros((n_t, n_rois))
    np.add.at(impulses, (ev_frame, ev_roi), ev_amp)
    from scipy.signal import lfilter  # imported here: scipy.signal is slow to import

    # exact exponential decay between frames: an AR(1) filter over time
    dff = lfilter([1.0], [1.0, -np.exp(-1.0 / (tau * rate))], impulses, axis=0)
    width = max(1, min(n_t, int(10 * rate)))  # neuropil varies over about 10 s
    slow = np.convolve(rng.normal(0, 1, n_t), np.ones(width) / np.sqrt(width), "same")
    neuropil = baseline * (0.5 + 0.05 * slow[:, None] + 0.02 * rng.normal(size=(n_t, n_rois)))
    f = baseline * (1 + dff) + neuropil_factor * neuropil + noise * baseline * rng.normal(
        size=(n_t, n_rois))
    order = np.lexsort((ev_roi, ev_frame))
    return xr.Dataset(
        {
            "fluorescence": (("time", "roi"), f.astype(np.float32), {"units": "a.u."}),
            "neuropil": (("time", "roi"), neuropil.astype(np.float32), {"units": "a.u."}),
            "true_dff": (("time", "roi"), dff, {"units": "1"}),
            "event_time": ("event", t[ev_frame[order]], {"units": "s"}),
            "event_roi": ("event", ev_roi[order]),
            "event_amplitude": ("event", ev_amp[order]),
        },
        coords={
            "time": ("time", t, {"units": "s"}),
            "roi": np.arange(n_rois),
            "roi_centroid_x": ("roi", rng.uniform(8, fov - 8, n_rois)),
            "roi_centroid_y": ("roi", rng.uniform(8, fov - 8, n_rois)),
            "iscell": ("roi", np.ones(n_rois, dtype=bool)),
        },
        attrs={"session_description": "synthetic two-photon session with known events",
               "nwb_identifier": f"neurodata-calcium-{n_rois}",
               "session_start_time": "2024-01-01T00:00:00+00:00",
               "tau": float(tau), "neuropil_factor": float(neuropil_factor)},
    )
