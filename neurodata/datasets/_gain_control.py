"""Synthetic V1 adaptation experiments with a known ground-truth gain-control model.

The ground truth is the recurrent ring network of :mod:`neurodata.gain_control`
with gains optimal for each stimulus ensemble.  Recorded units are model
neurons with a random response amplitude that fire Poisson spikes during each
grating presentation.  The stimulus sequences follow Benucci, Saleem &
Carandini (2013): a block of presentations from the uniform ensemble (every
orientation equally often) and a block from the biased ensemble (the adapter
with probability ``p_adapter``), each shuffled.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata._utils import check_fraction, check_integer, check_positive, check_random_state

__all__ = ["make_adaptation_experiment", "make_adaptation_trials"]


def _model_rates(n_model_units, tuning_kappa, recurrent_strength, recurrent_kappa, baseline,
                 p_adapter, n_orientations, gain_site, objective):
    from neurodata.gain_control import (
        optimal_gains,
        ring_network,
        steady_state,
        stimulus_ensemble,
    )

    net = ring_network(n_model_units, tuning_kappa=tuning_kappa, baseline=baseline,
                       recurrent_strength=recurrent_strength, recurrent_kappa=recurrent_kappa)
    uniform = stimulus_ensemble(n_orientations)
    biased = stimulus_ensemble(n_orientations, adapter=0.0, p_adapter=p_adapter)
    rates = np.stack([steady_state(net, ens, optimal_gains(
        net, ens, objective=objective, gain_site=gain_site, n_init=2, random_state=0,
        certify=False), gain_site=gain_site).values for ens in (uniform, biased)], axis=-1)
    return net, uniform, biased, rates / rates[..., 0].max()  # model_unit, orientation, condition


def _balanced_sequence(rng, prob: np.ndarray, n_trials: int) -> np.ndarray:
    """Orientation indices in shuffled order, each shown ``round(prob * n)`` times."""
    counts = np.floor(prob * n_trials + 1e-9).astype(int)
    rest = n_trials - counts.sum()
    if rest > 0:  # the remaining presentations go to the largest remainders
        counts[np.argsort(-(prob * n_trials - counts), kind="stable")[:rest]] += 1
    seq = np.repeat(np.arange(prob.size), counts)
    rng.shuffle(seq)
    return seq


def _expected_counts(n_units, n_trials, peak_count, amplitude_sd, p_adapter, network, model, rng):
    """Ground truth: expected spike counts (trial, unit) and what the recording records."""
    net, uniform, biased, rates = _model_rates(*network, p_adapter, *model)
    idx = rng.integers(0, network[0], size=n_units)
    amp = peak_count * rng.lognormal(-0.5 * amplitude_sd**2, amplitude_sd, size=n_units)
    k = np.concatenate([_balanced_sequence(rng, uniform.values, n_trials),
                        _balanced_sequence(rng, biased.values, n_trials)])
    c = np.repeat([0, 1], n_trials)
    lam = amp[None, :] * rates[idx][:, k, c].T  # trial, unit
    theta = uniform.stimulus_orientation.values
    return lam, theta[k], c, net.preferred_orientation.values[idx], amp


def _spike_trains(rng, counts: np.ndarray, starts: np.ndarray, duration: float):
    """Spikes placed uniformly in each trial: sorted times and unit positions."""
    trial_idx, unit_idx = np.nonzero(counts)
    reps = counts[trial_idx, unit_idx]
    times = np.repeat(starts[trial_idx], reps) + rng.uniform(0.0, duration, int(reps.sum()))
    units = np.repeat(unit_idx, reps)
    order = np.argsort(times, kind="stable")
    return times[order], units[order].astype(np.int64)


def make_adaptation_trials(
    n_units: int = 100,
    *,
    n_trials: int = 400,
    peak_rate: float = 40.0,
    trial_duration: float = 0.25,
    amplitude_sd: float = 0.3,
    adapter: float = 0.0,
    p_adapter: float = 0.3,
    tuning_kappa: float = 2.0,
    recurrent_strength: float = 0.4,
    recurrent_kappa: float = 4.0,
    baseline: float = 0.0,
    gain_site: str = "total",
    objective: str = "log_gain",
    n_model_units: int = 60,
    n_orientations: int = 20,
    random_state=None,
) -> xr.Dataset:
    """One recording session of an adaptation experiment: spike trains and a trial table.

    Each trial is one grating presentation lasting ``trial_duration``
    seconds, back to back: first ``n_trials`` from the uniform ensemble, then
    ``n_trials`` from the biased ensemble, each block shuffled, with every
    orientation shown as often as its probability says (rounded).  During a
    presentation a unit fires Poisson spikes at the rate of its model neuron's
    steady-state response, scaled so that an average unit fires ``peak_rate``
    at the peak of its unadapted tuning curve.

    Parameters
    ----------
    n_units : int
        Recorded units, each a randomly chosen model neuron.
    n_trials : int
        Presentations per condition.
    peak_rate : float
        Firing rate (Hz) at the peak of an average unit's unadapted curve.
    trial_duration : float
        Seconds per presentation (the response window is the whole trial).
    amplitude_sd : float
        Standard deviation of the log-normal amplitude of each unit.
    adapter, p_adapter : float
        Adapter orientation (degrees) and its probability in the biased ensemble.
    tuning_kappa, recurrent_strength, recurrent_kappa, baseline : float
        Ground-truth network (see :func:`neurodata.gain_control.ring_network`).
    gain_site, objective : str
        Where the gains act and what they optimise
        (:func:`neurodata.gain_control.optimal_gains`).
    n_model_units, n_orientations : int
        Size of the model network and of the orientation grid.
    random_state : None, int or numpy.random.Generator
        None draws fresh entropy.

    Returns
    -------
    xarray.Dataset
        A recording (:func:`neurodata.validate` passes): ``spike_times(spike)``,
        ``spike_unit(spike)``; the trial table ``trial_start_time``,
        ``trial_stop_time``, ``trial_stimulus_orientation`` (absolute degrees
        in [-90, 90)) and ``trial_condition`` (``"uniform"`` / ``"biased"``);
        unit coordinates ``true_preferred_orientation`` and ``amplitude`` (the
        ground truth); the model parameters in ``attrs``.

    Examples
    --------
    >>> rec = make_adaptation_trials(20, n_trials=100, random_state=0)
    >>> rec.sizes["unit"], rec.sizes["trial"]
    (20, 200)
    >>> sorted(set(rec.trial_condition.values.tolist()))
    ['biased', 'uniform']
    """
    n_units = check_integer("n_units", n_units)
    n_trials = check_integer("n_trials", n_trials)
    check_positive("peak_rate", peak_rate)
    check_positive("trial_duration", trial_duration)
    check_positive("amplitude_sd", amplitude_sd, strict=False)
    check_fraction("p_adapter", p_adapter, closed="left")
    rng = check_random_state(random_state)
    lam, theta, c, pref, amp = _expected_counts(
        n_units, n_trials, peak_rate * trial_duration, amplitude_sd, p_adapter,
        (n_model_units, tuning_kappa, recurrent_strength, recurrent_kappa, baseline),
        (n_orientations, gain_site, objective), rng)
    starts = np.arange(2 * n_trials) * float(trial_duration)
    times, units = _spike_trains(rng, rng.poisson(lam), starts, float(trial_duration))
    wrap = lambda a: (np.asarray(a) + adapter + 90.0) % 180.0 - 90.0  # noqa: E731
    return xr.Dataset(
        {"spike_times": ("spike", times, {"units": "s"}), "spike_unit": ("spike", units)},
        coords={"unit": np.arange(n_units),
                "true_preferred_orientation": ("unit", wrap(pref), {"units": "deg"}),
                "amplitude": ("unit", amp / trial_duration, {"units": "Hz"}),
                "trial": np.arange(2 * n_trials),
                "trial_start_time": ("trial", starts, {"units": "s"}),
                "trial_stop_time": ("trial", starts + trial_duration, {"units": "s"}),
                "trial_stimulus_orientation": ("trial", wrap(theta), {"units": "deg"}),
                "trial_condition": ("trial", np.array(["uniform", "biased"], dtype=object)[c])},
        attrs={"session_description": "synthetic V1 adaptation experiment "
                                      "(neurodata.datasets.make_adaptation_trials)",
               "nwb_identifier": f"neurodata-adaptation-{int(rng.integers(10**8)):08d}",
               "session_start_time": "2024-01-01T00:00:00+00:00",
               "adapter": float(adapter), "p_adapter": float(p_adapter),
               "tuning_kappa": float(tuning_kappa),
               "recurrent_strength": float(recurrent_strength),
               "recurrent_kappa": float(recurrent_kappa), "baseline": float(baseline),
               "gain_site": gain_site, "objective": objective},
    )


def make_adaptation_experiment(
    n_sessions: int = 6,
    *,
    n_units: int = 100,
    n_trials: int = 400,
    peak_rate: float = 40.0,
    amplitude_sd: float = 0.3,
    p_adapter: float = 0.3,
    tuning_kappa: float = 2.0,
    recurrent_strength: float = 0.4,
    recurrent_kappa: float = 4.0,
    baseline: float = 0.0,
    gain_site: str = "total",
    n_model_units: int = 60,
    random_state=None,
) -> xr.Dataset:
    """A multi-session adaptation experiment in Benucci format, with its ground truth.

    Each session is :func:`make_adaptation_trials` (adapter at 0 degrees, 20
    orientations 9 degrees apart), converted with
    :func:`neurodata.gain_control.benucci_format`: sessions x 13
    preferred-orientation bins x 21 stimulus orientations x 2 conditions, each
    unit normalised by the mean of its uniform-condition tuning curve.

    Returns
    -------
    xarray.Dataset
        ``responses(session, preferred_orientation, stimulus_orientation,
        condition)``, ``n_units(session, preferred_orientation)``,
        ``unit_preference(session, unit)``, ``adapter(session)``,
        ``p_adapter(session)`` (read from each session's trials) and the scalar
        ground truth ``true_tuning_kappa``, ``true_recurrent_strength``,
        ``true_recurrent_kappa`` and ``true_baseline``.

    Examples
    --------
    >>> ds = make_adaptation_experiment(2, n_units=60, n_trials=200, random_state=0)
    >>> dict(ds.responses.sizes)
    {'session': 2, 'preferred_orientation': 13, 'stimulus_orientation': 21, 'condition': 2}
    """
    from neurodata.gain_control import benucci_format

    rng = check_random_state(random_state)
    sessions = [make_adaptation_trials(
        n_units, n_trials=n_trials, peak_rate=peak_rate, amplitude_sd=amplitude_sd,
        p_adapter=p_adapter, tuning_kappa=tuning_kappa, recurrent_strength=recurrent_strength,
        recurrent_kappa=recurrent_kappa, baseline=baseline, gain_site=gain_site,
        n_model_units=n_model_units, random_state=rng)
        for _ in range(check_integer("n_sessions", n_sessions))]
    data = benucci_format(sessions, adapter=0.0)
    truth = {"true_tuning_kappa": float(tuning_kappa),
             "true_recurrent_strength": float(recurrent_strength),
             "true_recurrent_kappa": float(recurrent_kappa), "true_baseline": float(baseline)}
    return data.assign(truth).assign_attrs(
        description="synthetic Benucci-format adaptation experiment "
                    "(neurodata.datasets.make_adaptation_experiment)")
