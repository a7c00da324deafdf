"""Teacher networks with known ground truth for :mod:`neurodata.rnn`.

* :func:`make_soc_network`: a stability-optimised E/I circuit (Hennequin,
  Vogels & Gerstner 2014, Neuron 82:1394).
* :func:`make_motor_teacher`: that circuit turning preparatory states into
  multiphasic, EMG-like outputs for several reach conditions (the "biological"
  network of Salatiello & Giese 2020, built like Stroud et al. 2018).
* :func:`make_rnn_teacher`: a teacher of the students' own class (tanh rate RNN).
* :func:`make_three_region_network`: three interacting chaotic regions with
  planted inter-region couplings (the test case of CURBD, Perich et al. 2020).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg as sla
import xarray as xr

from neurodata._utils import check_integer, check_random_state
from neurodata.errors import NeurodataError, NeurodataWarning, UnstableDynamicsError
from neurodata.rnn._simulate import simulate_rate_network, soc_nonlinearity

__all__ = [
    "make_motor_teacher",
    "make_rnn_teacher",
    "make_soc_network",
    "make_three_region_network",
]


# --------------------------------------------------------------------------- SOC
def _project_inhibition(wi: np.ndarray, n_exc: int, e_total: float, ei_ratio: float,
                        max_density: float) -> np.ndarray:
    """Keep inhibitory weights <= 0, no autapses, at most ``max_density`` non-zero
    (the strongest), and their total at ``-ei_ratio`` times the excitatory total."""
    wi = np.minimum(wi, 0.0)
    n_inh = wi.shape[1]
    wi[n_exc + np.arange(n_inh), np.arange(n_inh)] = 0.0
    keep = int(max_density * wi.size)
    if np.count_nonzero(wi) > keep:
        flat = wi.reshape(-1)  # a view: zero all but the `keep` most negative weights
        flat[np.argpartition(flat, keep)[keep:]] = 0.0
    return wi * (ei_ratio * e_total / -wi.sum())


def _abscissa(w: np.ndarray) -> float:
    return float(np.linalg.eigvals(w).real.max())


def _smoothed_gradient(w: np.ndarray, s: float) -> tuple[np.ndarray, float]:
    """Gradient of the smoothed spectral abscissa at level ``s`` and trace of P.

    With ``A = W - s I``: ``A P + P A^T = -I`` and ``A^T Q + Q A = -I``; the
    gradient of the smoothed abscissa is ``Q P / tr(Q P)`` (Vanbiervliet et al. 2009).
    """
    eye = np.eye(w.shape[0])
    a = w - s * eye
    p = sla.solve_continuous_lyapunov(a, -eye)
    q = sla.solve_continuous_lyapunov(a.T, -eye)
    return q @ p / np.sum(q * p.T), float(np.trace(p))


def _soc_optimise(w: np.ndarray, n_exc: int, *, target: float, ei_ratio: float,
                  max_density: float, smoothing: float, max_iter: int) -> tuple[np.ndarray, int]:
    n = w.shape[0]
    e_total = w[:, :n_exc].sum()
    alpha, step = _abscissa(w), 0.1
    eye = np.eye(n)
    for it in range(max_iter):
        if alpha < target:
            return w, it
        s = alpha + max(smoothing * abs(alpha), 0.05)
        grad, trace_p = _smoothed_gradient(w, s)
        gi = grad[:, n_exc:] - grad[:, n_exc:].mean()  # keeps total inhibition to 1st order
        gi = gi * (np.sqrt(n) / np.linalg.norm(gi))
        for _ in range(40):  # backtracking on the smoothed abscissa (fixed s)
            trial = w.copy()
            trial[:, n_exc:] = _project_inhibition(w[:, n_exc:] - step * gi, n_exc, e_total,
                                                   ei_ratio, max_density)
            alpha_trial = _abscissa(trial)
            if alpha_trial < s:
                p = sla.solve_continuous_lyapunov(trial - s * eye, -eye)
                if np.trace(p) < trace_p:
                    step *= 1.3
                    break
            step *= 0.5
        else:  # no descent step found: stop where we are
            return w, it
        w, alpha = trial, alpha_trial
    return w, max_iter


def make_soc_network(
    n_units: int = 200,
    *,
    excitatory_fraction: float = 0.5,
    connection_prob: float = 0.1,
    ei_ratio: float = 3.0,
    initial_radius: float = 10.0,
    target_abscissa: float = 0.15,
    max_inhibitory_density: float = 0.4,
    smoothing: float = 0.5,
    max_iter: int = 500,
    random_state: int | np.random.Generator | None = None,
) -> xr.DataArray:
    """Build a stability-optimised circuit (SOC) of excitatory and inhibitory units.

    Following Hennequin, Vogels & Gerstner (2014): start from a sparse random
    E/I matrix obeying Dale's law with spectral radius ``initial_radius``
    (strongly unstable), then lower its spectral abscissa by gradient descent
    on the inhibitory weights only, until ``max Re(eig W) < target_abscissa``.

    The procedure, as implemented:

    1. Excitatory weights ``w0 / sqrt(N)`` with probability ``connection_prob``,
       inhibitory ones ``-ei_ratio * w0 / sqrt(N)``, no autapses, ``w0`` set so
       that the bulk spectral radius is ``initial_radius``.
    2. Each step descends the *smoothed* spectral abscissa
       (Vanbiervliet et al. 2009) evaluated at ``s = alpha + max(smoothing *
       |alpha|, 0.05)``, i.e. with the smoothing level re-chosen at every step
       relative to the current abscissa ``alpha`` (the paper fixes its
       smoothing; re-choosing it lets the same rule work from ``alpha`` = 10 down
       to 0.15).  The step is normalised and its length adapted: grown by 1.3
       after a success, halved until the smoothed abscissa decreases.
    3. After each step the inhibitory weights are projected back: positive
       ones clipped to 0, autapses removed, only the strongest
       ``max_inhibitory_density`` of inhibitory connections kept, and all of
       them rescaled so that total inhibition stays ``ei_ratio`` times total
       excitation (global E/I balance).  Excitatory weights never change.

    With the defaults this reproduces the statistics of the circuit of
    Stroud et al. (2018): excitatory density 0.1, inhibitory density 0.4,
    total I/E ratio 3, spectral abscissa 0.15.

    Parameters
    ----------
    n_units : int
        Number of units; the first ``excitatory_fraction`` are excitatory.
    excitatory_fraction, connection_prob, ei_ratio, initial_radius : float
        Initial random network (see above).
    target_abscissa : float
        Stop when the spectral abscissa of ``W`` falls below this (the linearised
        dynamics ``tau dx/dt = (W - I) x`` are stable when it is below 1).
    max_inhibitory_density : float
        Largest allowed fraction of non-zero inhibitory weights.
    smoothing : float
        Relative smoothing offset of the spectral abscissa (step 2).
    max_iter : int
        Largest number of gradient steps.
    random_state : int, Generator or None
        Seed of the initial connectivity.

    Returns
    -------
    xarray.DataArray, dims (unit, unit_pre)
        ``W[i, j]`` is the weight from unit ``j`` to unit ``i``; coordinate
        ``unit_type`` ("E"/"I"); attrs ``spectral_abscissa`` and ``n_iter``.

    Raises
    ------
    UnstableDynamicsError
        If the optimisation leaves the circuit unstable (abscissa >= 1).

    Examples
    --------
    >>> w = make_soc_network(40, random_state=0)
    >>> bool(w.attrs["spectral_abscissa"] < 0.15)
    True
    >>> bool((w.values[:, w.unit_type.values == "I"] <= 0).all())
    True
    """
    rng = check_random_state(random_state)
    n, n_exc = int(n_units), round(excitatory_fraction * n_units)
    fe = n_exc / n
    scale = initial_radius / np.sqrt(n * connection_prob * (1 - connection_prob)
                                     * (fe + (1 - fe) * ei_ratio**2))
    w = np.where(rng.random((n, n)) < connection_prob, scale, 0.0)
    w[:, n_exc:] *= -ei_ratio
    np.fill_diagonal(w, 0.0)
    w[:, n_exc:] *= ei_ratio * w[:, :n_exc].sum() / -w[:, n_exc:].sum()  # exact E/I balance
    w, n_iter = _soc_optimise(w, n_exc, target=target_abscissa, ei_ratio=ei_ratio,
                              max_density=max_inhibitory_density, smoothing=smoothing,
                              max_iter=max_iter)
    alpha = _abscissa(w)
    if alpha >= 1.0:
        raise UnstableDynamicsError(
            f"the stability optimisation stopped at spectral abscissa {alpha:.3g} >= 1, so "
            f"the circuit is unstable; raise max_iter (now {max_iter}) or lower initial_radius.")
    if alpha >= target_abscissa:
        warnings.warn(f"stability optimisation reached spectral abscissa {alpha:.3g}, above the "
                      f"target {target_abscissa}; raise max_iter for a lower one.",
                      NeurodataWarning, stacklevel=2)
    types = np.where(np.arange(n) < n_exc, "E", "I")
    return xr.DataArray(
        w, dims=("unit", "unit_pre"),
        coords={"unit": np.arange(n), "unit_pre": np.arange(n), "unit_type": ("unit", types),
                "unit_pre_type": ("unit_pre", types)},
        name="weights", attrs={"spectral_abscissa": alpha, "n_iter": n_iter},
    )


# ------------------------------------------------------------------ motor teacher
def _amplified_directions(w: np.ndarray, n_exc: int, k: int) -> np.ndarray:
    """Top ``k`` eigenvectors of the observability Gramian of ``W - I``: the
    initial states that evoke the most activity energy (Hennequin et al. 2014)."""
    n = w.shape[0]
    gram = sla.solve_continuous_lyapunov((w - np.eye(n)).T, -2.0 * np.eye(n))
    _, vecs = np.linalg.eigh(gram)
    top = vecs[:, ::-1][:, :k]
    return top * np.where(top[:n_exc].sum(0) < 0, -1.0, 1.0)


def _emg_targets(t: np.ndarray, angles: np.ndarray, n_outputs: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Multiphasic, direction-tuned EMG-like templates, shape (trial, time, output)."""
    centres = np.array([0.1, 0.22, 0.34, 0.44])
    bumps = np.exp(-0.5 * ((t[None, :] - centres[:, None]) / 0.05) ** 2) * (t >= 0)
    pref = rng.uniform(0, 2 * np.pi, (n_outputs, centres.size))
    gain = np.cos(angles[:, None, None] - pref[None])  # trial, output, phase
    return np.einsum("cmk,kt->ctm", gain, bumps)


def _fit_readout(rates_e: np.ndarray, targets: np.ndarray, ridge: float) -> np.ndarray:
    """Ridge readout [bias, weights] from excitatory rates to the templates."""
    design = np.concatenate([np.ones((*rates_e.shape[:2], 1)), rates_e], -1)
    design = design.reshape(-1, design.shape[-1])
    gram = design.T @ design
    lam = ridge * np.trace(gram) / gram.shape[0]
    return np.linalg.solve(gram + lam * np.eye(gram.shape[0]),
                           design.T @ targets.reshape(-1, targets.shape[-1]))


# ------------------------------------------------------------------ recordings
#: Session time (s) at which the first trial of a simulated recording starts.
SESSION_START = 1.0


def _poisson_spikes(rates: np.ndarray, time: np.ndarray, dt: float, units: np.ndarray,
                    rng: np.random.Generator) -> dict:
    """Poisson spike trains of ``rates (time, unit)`` in Hz; sample ``k`` covers
    ``[time[k] - dt/2, time[k] + dt/2)``, so that bins centred on ``time`` count them."""
    counts = rng.poisson(np.clip(rates, 0.0, None) * dt)
    k, unit = np.nonzero(counts)
    n = counts[k, unit]
    k, unit = np.repeat(k, n), np.repeat(unit, n)
    times = time[k] - dt / 2 + dt * rng.random(k.size)
    order = np.argsort(times, kind="stable")
    return {"spike_times": ("spike", times[order]), "spike_unit": ("spike", units[unit[order]])}


def _trial_session(rates: np.ndarray, dt: float, *, series: dict, trial_coords: dict,
                   unit_coords: dict, spikes: np.ndarray | None, rng: np.random.Generator
                   ) -> xr.Dataset:
    """Trials ``(trial, step, ...)`` laid back to back as one schema recording.

    ``rates`` become ``rates (time, unit)``; each entry ``name: (values, labels)``
    of ``series`` becomes a series ``name (time_<name>, <name>_channel)`` on its
    own time axis (sampled at the same instants); with ``spikes`` (rates in Hz,
    ``(trial, step, unit)``) Poisson spike trains are added.
    """
    n_trials, n_steps, n_units = rates.shape
    time = SESSION_START + np.arange(n_trials * n_steps) * dt
    starts = SESSION_START + np.arange(n_trials) * n_steps * dt
    units = np.arange(n_units)
    data: dict = {"rates": (("time", "unit"), rates.reshape(-1, n_units))}
    coords: dict = {"time": time, "unit": units, **unit_coords, "trial": np.arange(n_trials),
                    "trial_start_time": ("trial", starts),
                    "trial_stop_time": ("trial", starts + n_steps * dt)}
    for key, value in trial_coords.items():
        coords[f"trial_{key}"] = ("trial", np.asarray(value))
    for name, (values, labels) in series.items():
        data[name] = ((f"time_{name}", f"{name}_channel"), values.reshape(-1, values.shape[-1]))
        coords[f"time_{name}"] = time
        coords[f"{name}_channel"] = np.asarray(labels)
    if spikes is not None:
        data.update(_poisson_spikes(spikes.reshape(-1, n_units), time, dt, units, rng))
    return xr.Dataset(data, coords=coords)


def _check_repeats(n_repeats: int, spikes: bool) -> None:
    check_integer("n_repeats", n_repeats)
    if not isinstance(spikes, bool):
        raise NeurodataError(f"spikes must be True or False; got {spikes!r}.")


def _cue(angles: np.ndarray, n_steps: int, n_prep: int) -> np.ndarray:
    """The condition cue ``(cos, sin)`` during the preparatory period, zero after."""
    cue = np.zeros((angles.size, n_steps, 2))
    cue[:, :n_prep] = np.stack([np.cos(angles), np.sin(angles)], -1)[:, None, :]
    return cue


def make_motor_teacher(
    n_units: int = 200,
    n_conditions: int = 16,
    n_outputs: int = 2,
    *,
    tau: float = 0.2,
    dt: float = 0.0025,
    duration: float = 0.5,
    prep_duration: float = 0.2,
    initial_norm: float = 1.5,
    r0: float = 20.0,
    rmax: float = 100.0,
    n_repeats: int = 1,
    spikes: bool = False,
    weights: np.ndarray | xr.DataArray | None = None,
    random_state: int | np.random.Generator | None = 0,
) -> xr.Dataset:
    """Record a motor-cortex-like teacher: a SOC turning preparatory states
    into multiphasic EMG-like outputs, for several reach conditions.

    The circuit (:func:`make_soc_network`, or ``weights``) follows
    ``tau dx/dt = -x + W f(x)`` with the asymmetric rate function
    :func:`~neurodata.rnn.soc_nonlinearity`.  Reach condition ``c`` has angle
    ``theta_c = 2 pi c / n_conditions`` and preparatory state
    ``x0_c = initial_norm sqrt(N) (cos theta_c v1 + sin theta_c v2)``, where
    ``v1, v2`` are the two most amplified initial conditions (top eigenvectors
    of the observability Gramian of ``W - I``).  During the preparatory period
    an external input drives the state along the smooth ramp
    ``x(t) = (1 - cos(pi (t + T_prep) / T_prep)) / 2 * x0_c``; from movement
    onset the circuit runs freely (RK4, 4 substeps per sample).  The EMG-like
    outputs are a linear readout (with bias) of the excitatory rates, fitted by
    ridge regression so that the outputs approximate multiphasic,
    direction-tuned templates; the recorded outputs are that readout of the
    simulated rates, so the teacher produces them exactly.

    The result is a recording (:mod:`neurodata.schema`): trials laid back to
    back from ``t = 1 s``, each ``prep_duration + duration + dt`` long,
    condition ``i % n_conditions`` in trial ``i``.

    Parameters
    ----------
    n_units : int
        Circuit size (half excitatory).  Ignored when ``weights`` is given.
    n_conditions : int
        Reach conditions, evenly spaced in angle.
    n_outputs : int
        Number of EMG-like outputs ("muscles").
    tau, dt, duration, prep_duration : float
        Time constant, sampling interval, movement and preparation durations (s).
    initial_norm : float
        Norm of the preparatory states in units of ``sqrt(N)``.
    r0, rmax : float
        Baseline and maximal firing rates (Hz).
    n_repeats : int
        Trials per condition (identical rates; independent spike trains).
    spikes : bool
        Add Poisson spike trains drawn from the rates (sample ``k`` covers
        ``[t_k - dt/2, t_k + dt/2)``).
    weights : array or DataArray, optional
        A ready circuit (``(unit, unit_pre)``, excitatory units first).
    random_state : int, Generator or None
        Seed of the circuit, the readout templates and the spikes.

    Returns
    -------
    xarray.Dataset
        A recording: ``rates (time, unit)`` firing rates ``r0 + f(x)`` in Hz
        (noise-free); ``emg (time_emg, emg_channel)`` the outputs; ``cue
        (time_cue, cue_channel)`` the condition cue ``(cos, sin)`` held during
        preparation; a trial table with ``trial_condition``, ``trial_angle``
        and ``trial_movement_onset``; with ``spikes``, ``spike_times`` and
        ``spike_unit``.  Ground truth: ``weights (unit, unit_pre)``,
        ``readout (emg_channel, unit)``, ``readout_bias (emg_channel)``,
        ``initial_state (condition, unit)``; coordinate ``unit_type``.

    Examples
    --------
    >>> teacher = make_motor_teacher(40, n_conditions=4, duration=0.1, random_state=0)
    >>> teacher.rates.dims, teacher.rates.shape, teacher.sizes["trial"]
    (('time', 'unit'), (484, 40), 4)
    >>> bool((teacher.rates >= 0).all() and (teacher.rates <= 100).all())
    True
    """
    _check_repeats(n_repeats, spikes)
    rng = check_random_state(random_state)
    if weights is None:
        w = make_soc_network(n_units, random_state=rng).values
    else:
        w = np.asarray(weights, dtype=float)
    n = w.shape[0]
    n_exc = n // 2
    n_prep, n_move = round(prep_duration / dt), round(duration / dt) + 1
    t = (np.arange(n_prep + n_move) - n_prep) * dt
    angles = 2 * np.pi * np.arange(n_conditions) / n_conditions
    v = _amplified_directions(w, n_exc, 2)
    x0 = initial_norm * np.sqrt(n) * (np.cos(angles)[:, None] * v[:, 0]
                                      + np.sin(angles)[:, None] * v[:, 1])
    ramp = (1 - np.cos(np.pi * (t[:n_prep] + prep_duration) / prep_duration)) / 2
    x_prep = ramp[None, :, None] * x0[:, None, :]

    def f(x):
        return soc_nonlinearity(x, r0, rmax)

    x_move = simulate_rate_network(w, x0, n_move, dt=dt, tau=tau, nonlinearity=f,
                                   method="rk4", substeps=4)
    rates = f(np.concatenate([x_prep, x_move], axis=1))
    templates = _emg_targets(t, angles, n_outputs, rng)
    coef = _fit_readout(rates[..., :n_exc], templates, ridge=1e-3)
    readout = np.zeros((n_outputs, n))
    readout[:, :n_exc] = coef[1:].T
    output = coef[0] + rates @ readout.T
    cond = np.tile(np.arange(n_conditions), n_repeats)
    types = np.where(np.arange(n) < n_exc, "E", "I")
    ds = _trial_session(
        r0 + rates[cond], dt,
        series={"emg": (output[cond], [f"muscle{i}" for i in range(n_outputs)]),
                "cue": (_cue(angles, t.size, n_prep)[cond], ["cos", "sin"])},
        trial_coords={"condition": cond, "angle": angles[cond],
                      "movement_onset": SESSION_START + (np.arange(cond.size) * t.size
                                                         + n_prep) * dt},
        unit_coords={"unit_type": ("unit", types)},
        spikes=r0 + rates[cond] if spikes else None, rng=rng)
    ds = ds.assign({"weights": (("unit", "unit_pre"), w),
                    "readout": (("emg_channel", "unit"), readout),
                    "readout_bias": (("emg_channel",), coef[0]),
                    "initial_state": (("condition", "unit"), x0)})
    ds = ds.assign_coords(unit_pre=np.arange(n), condition=np.arange(n_conditions))
    ds.attrs.update({"tau": tau, "r0": r0, "rmax": rmax, "dt": dt,
                     "prep_duration": prep_duration, "spectral_abscissa": _abscissa(w)})
    return ds


def make_rnn_teacher(
    n_units: int = 50,
    n_conditions: int = 4,
    n_outputs: int = 2,
    *,
    g: float = 1.2,
    tau: float = 0.05,
    dt: float = 0.005,
    duration: float = 0.4,
    prep_duration: float = 0.1,
    input_scale: float = 1.0,
    random_state: int | np.random.Generator | None = 0,
) -> xr.Dataset:
    """Record a teacher of the students' own class: ``tau dx/dt = -x + J tanh(x) + B u``.

    Forward Euler at ``dt`` from ``x = 0``; ``J`` has i.i.d. ``N(0, g^2 / N)``
    entries, ``B`` uniform in ``[-input_scale, input_scale]``, and the input
    ``u`` is the condition cue ``(cos theta, sin theta)`` during the first
    ``prep_duration`` seconds.  Outputs are ``W tanh(x)`` with ``W ~ N(0, 1/N)``.
    A student of the same class can represent this teacher exactly, which
    makes it the recovery test of :class:`~neurodata.rnn.SparseRNN`.

    Returns
    -------
    xarray.Dataset
        A recording laid out as :func:`make_motor_teacher`'s: ``rates (time,
        unit)`` (``tanh(x)``), ``emg`` and ``cue`` series, one trial per
        condition; ground truth ``weights (unit, unit_pre)``, ``input_weights
        (unit, cue_channel)`` and ``readout (emg_channel, unit)``.

    Examples
    --------
    >>> teacher = make_rnn_teacher(20, random_state=1)
    >>> teacher.rates.shape, teacher.sizes["trial"], float(abs(teacher.rates).max()) < 1
    ((400, 20), 4, True)
    """
    rng = check_random_state(random_state)
    n = int(n_units)
    j = g * rng.standard_normal((n, n)) / np.sqrt(n)
    b = input_scale * rng.uniform(-1, 1, (n, 2))
    w_out = rng.standard_normal((n_outputs, n)) / np.sqrt(n)
    n_prep = round(prep_duration / dt)
    n_steps = n_prep + round(duration / dt)
    angles = 2 * np.pi * np.arange(n_conditions) / n_conditions
    cue = _cue(angles, n_steps, n_prep)
    x = simulate_rate_network(j, np.zeros((n_conditions, n)), n_steps, dt=dt, tau=tau,
                              inputs=cue @ b.T)
    rates = np.tanh(x)
    ds = _trial_session(
        rates, dt,
        series={"emg": (rates @ w_out.T, [f"muscle{i}" for i in range(n_outputs)]),
                "cue": (cue, ["cos", "sin"])},
        trial_coords={"condition": np.arange(n_conditions), "angle": angles,
                      "movement_onset": SESSION_START + (np.arange(n_conditions) * n_steps
                                                         + n_prep) * dt},
        unit_coords={}, spikes=None, rng=rng)
    ds = ds.assign({"weights": (("unit", "unit_pre"), j),
                    "input_weights": (("unit", "cue_channel"), b),
                    "readout": (("emg_channel", "unit"), w_out)})
    ds.attrs.update({"tau": tau, "dt": dt, "g": g, "prep_duration": prep_duration})
    return ds.assign_coords(unit_pre=np.arange(n))


# ------------------------------------------------------------- three regions
def _block_weights(rng: np.random.Generator, n: int, g: tuple[float, float, float],
                   strength: np.ndarray) -> np.ndarray:
    w = np.zeros((3 * n, 3 * n))
    for s in range(3):
        for r in range(3):
            gain = g[r] if s == r else strength[s, r]
            w[r * n:(r + 1) * n, s * n:(s + 1) * n] = gain * rng.standard_normal((n, n)) / np.sqrt(n)
    return w


def make_three_region_network(
    n_per_region: int = 50,
    couplings: dict[tuple[str, str], float] | None = None,
    *,
    g: tuple[float, float, float] = (1.8, 1.5, 1.5),
    tau: float = 0.1,
    dt: float = 0.01,
    duration: float = 6.0,
    drive: float = 1.0,
    noise: float = 0.0,
    n_trials: int = 1,
    spikes: bool = False,
    max_rate: float = 50.0,
    random_state: int | np.random.Generator | None = 0,
) -> xr.Dataset:
    """Record three interacting rate networks with planted inter-region couplings.

    Region ``A`` is autonomous and chaotic; ``B`` is driven by a travelling
    bump of external input (a sequence) and ``C`` by an input that steps between
    two fixed patterns (as in CURBD's simulation).  The inter-region weights
    from region ``s`` to region ``r`` are dense Gaussian with standard deviation
    ``couplings[(s, r)] / sqrt(n_per_region)`` (zero for pairs not listed), so
    the planted coupling strength of each directed pair is known.

    Parameters
    ----------
    n_per_region : int
        Units per region.
    couplings : dict of (source, target) -> float
        Planted strengths; default ``{("A", "B"): 1.0, ("B", "C"): 1.0}``.
    g : tuple of float
        Gains of the within-region random weights of ``A, B, C``.
    tau, dt, duration : float
        Time constant, step and length (s) of each trial (forward Euler).
    drive : float
        Strength of the external inputs to ``B`` and ``C``.
    noise : float
        Private white-noise input to every unit (diffusion ``noise^2`` per
        ``tau``), which decorrelates the regions.
    n_trials : int
        Trials from independent random initial states (same inputs), laid
        back to back in the recording with a trial table.
    spikes : bool
        Add Poisson spike trains of rate ``max_rate * (1 + tanh(x)) / 2`` Hz.
    max_rate : float
        Rate (Hz) of a unit at ``tanh(x) = 1``.
    random_state : int, Generator or None
        Seed.

    Returns
    -------
    xarray.Dataset
        A recording: ``rates (time, unit)`` (``tanh(x)``, noise-free, unit
        coordinate ``region``), a trial table, spike trains with ``spikes``;
        ground truth ``weights (unit, unit_pre)`` and ``coupling (source,
        target)``, the planted strengths.

    Examples
    --------
    >>> net = make_three_region_network(20, duration=1.0, random_state=0)
    >>> net.rates.shape, net.coupling.sel(source="A", target="B").item()
    ((101, 60), 1.0)
    """
    check_integer("n_trials", n_trials)
    _check_repeats(1, spikes)
    rng = check_random_state(random_state)
    names = ["A", "B", "C"]
    couplings = {("A", "B"): 1.0, ("B", "C"): 1.0} if couplings is None else couplings
    n = n_per_region
    strength = np.zeros((3, 3))
    for (src, trg), value in couplings.items():
        strength[names.index(src), names.index(trg)] = value
    w = _block_weights(rng, n, g, strength)
    n_steps = round(duration / dt) + 1
    t = np.arange(n_steps) * dt
    centre = (t / t[-1] * 1.5 * n)[:, None]
    bump = np.exp(-0.5 * ((np.arange(n)[None, :] - centre) / (0.1 * n)) ** 2)
    patterns = rng.uniform(-1, 1, (2, n))
    step_in = np.where((t < t[-1] / 2)[:, None], patterns[0], patterns[1])
    ext = np.zeros((n_trials, n_steps, 3 * n))
    ext[:, :, n:2 * n] = drive * 2 * bump * rng.choice([-1.0, 1.0], n)
    ext[:, :, 2 * n:] = drive * step_in
    if noise:
        ext += noise * np.sqrt(tau / dt) * rng.standard_normal(ext.shape)
    x = simulate_rate_network(w, rng.uniform(-1, 1, (n_trials, 3 * n)), n_steps, dt=dt,
                              tau=tau, inputs=ext)
    rates = np.tanh(x)
    ds = _trial_session(rates, dt, series={}, trial_coords={},
                        unit_coords={"region": ("unit", np.repeat(names, n))},
                        spikes=max_rate * (1 + rates) / 2 if spikes else None, rng=rng)
    ds = ds.assign({"weights": (("unit", "unit_pre"), w),
                    "coupling": (("source", "target"), strength)})
    ds.attrs.update({"tau": tau, "dt": dt})
    return ds.assign_coords(unit_pre=np.arange(3 * n), source=names, target=names)
