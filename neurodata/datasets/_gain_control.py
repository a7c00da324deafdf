"""Synthetic V1 adaptation experiments with a known ground-truth gain-control model.

The ground truth is the recurrent ring network of :mod:`neurodata.gain_control`
with gains optimal for each stimulus ensemble.  Recorded units are model
neurons with a random response amplitude; their responses to each grating
presentation are Poisson counts.  The stimulus sequences follow Benucci,
Saleem & Carandini (2013): in the uniform condition every orientation is
equally likely, in the biased condition the adapter has probability
``p_adapter``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata.errors import NeurodataError

__all__ = ["make_adaptation_experiment", "make_adaptation_trials"]


def _model_rates(n_model_units, tuning_kappa, recurrent_strength, recurrent_kappa, p_adapter,
                 n_orientations):
    from neurodata.gain_control import (
        optimal_gains,
        ring_network,
        steady_state,
        stimulus_ensemble,
    )

    net = ring_network(n_model_units, tuning_kappa=tuning_kappa,
                       recurrent_strength=recurrent_strength, recurrent_kappa=recurrent_kappa)
    uniform = stimulus_ensemble(n_orientations)
    biased = stimulus_ensemble(n_orientations, adapter=0.0, p_adapter=p_adapter)
    rates = np.stack([steady_state(net, uniform, optimal_gains(net, uniform)).values,
                      steady_state(net, biased, optimal_gains(net, biased)).values], axis=-1)
    return net, uniform, biased, rates / rates[..., 0].max()  # unit, orientation, condition


def make_adaptation_trials(
    n_units: int = 100,
    *,
    n_trials: int = 400,
    rate: float = 10.0,
    amplitude_sd: float = 0.3,
    adapter: float = 0.0,
    p_adapter: float = 0.3,
    tuning_kappa: float = 2.0,
    recurrent_strength: float = 0.4,
    recurrent_kappa: float = 4.0,
    n_model_units: int = 60,
    n_orientations: int = 20,
    random_state=None,
) -> xr.DataArray:
    """One recording session: responses of units to single grating presentations.

    Parameters
    ----------
    n_units : int
        Recorded units, each a randomly chosen model neuron.
    n_trials : int
        Presentations per condition; orientations are drawn from the uniform
        and from the biased ensemble.
    rate : float
        Expected count at the peak of an average unit's unadapted tuning curve.
    amplitude_sd : float
        Standard deviation of the log-normal amplitude of each unit.
    adapter, p_adapter : float
        Adapter orientation (degrees) and its probability in the biased ensemble.
    tuning_kappa, recurrent_strength, recurrent_kappa : float
        Ground-truth network (see :func:`neurodata.gain_control.ring_network`).
    n_model_units, n_orientations : int
        Size of the model network and of the orientation grid.
    random_state : int or numpy.random.Generator, optional

    Returns
    -------
    xarray.DataArray
        ``responses(trial, unit)`` (spike counts) with coordinates
        ``stimulus_orientation(trial)`` (absolute degrees),
        ``condition(trial)``, ``true_preferred_orientation(unit)`` and
        ``amplitude(unit)``; ground truth in ``attrs``.

    Examples
    --------
    >>> rec = make_adaptation_trials(20, n_trials=100, random_state=0)
    >>> rec.dims, rec.sizes["trial"]
    (('trial', 'unit'), 200)
    >>> sorted(set(rec.condition.values.tolist()))
    ['biased', 'uniform']
    """
    if n_units < 1 or n_trials < 1 or not rate > 0:
        raise NeurodataError("n_units and n_trials must be positive, and rate above 0.")
    rng = np.random.default_rng(random_state)
    net, uniform, biased, rates = _model_rates(n_model_units, tuning_kappa, recurrent_strength,
                                               recurrent_kappa, p_adapter, n_orientations)
    idx = rng.integers(0, n_model_units, size=n_units)
    amp = rate * rng.lognormal(-0.5 * amplitude_sd**2, amplitude_sd, size=n_units)
    k = np.concatenate([rng.choice(n_orientations, size=n_trials, p=uniform.values),
                        rng.choice(n_orientations, size=n_trials, p=biased.values)])
    c = np.repeat([0, 1], n_trials)
    lam = amp[None, :] * rates[idx][:, k, c].T  # trial, unit
    theta = uniform.stimulus_orientation.values
    return xr.DataArray(
        rng.poisson(lam).astype(float), dims=("trial", "unit"), name="responses",
        coords={"trial": np.arange(2 * n_trials), "unit": np.arange(n_units),
                "stimulus_orientation": ("trial", (theta[k] + adapter + 90.0) % 180.0 - 90.0),
                "condition": ("trial", np.array(["uniform", "biased"])[c]),
                "true_preferred_orientation": ("unit", (net.preferred_orientation.values[idx]
                                                        + adapter + 90.0) % 180.0 - 90.0),
                "amplitude": ("unit", amp)},
        attrs={"adapter": float(adapter), "p_adapter": float(p_adapter),
               "tuning_kappa": float(tuning_kappa),
               "recurrent_strength": float(recurrent_strength),
               "recurrent_kappa": float(recurrent_kappa)},
    )


def make_adaptation_experiment(
    n_sessions: int = 6,
    *,
    n_units: int = 100,
    n_trials: int = 400,
    rate: float = 10.0,
    amplitude_sd: float = 0.3,
    p_adapter: float = 0.3,
    tuning_kappa: float = 2.0,
    recurrent_strength: float = 0.4,
    recurrent_kappa: float = 4.0,
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
        ``unit_preference(session, unit)`` and the scalar ground truth
        ``true_tuning_kappa``, ``true_recurrent_strength``,
        ``true_recurrent_kappa`` and ``p_adapter``.

    Examples
    --------
    >>> ds = make_adaptation_experiment(2, n_units=60, n_trials=200, random_state=0)
    >>> dict(ds.responses.sizes)
    {'session': 2, 'preferred_orientation': 13, 'stimulus_orientation': 21, 'condition': 2}
    """
    from neurodata.gain_control import benucci_format

    rng = np.random.default_rng(random_state)
    sessions = [make_adaptation_trials(
        n_units, n_trials=n_trials, rate=rate, amplitude_sd=amplitude_sd, p_adapter=p_adapter,
        tuning_kappa=tuning_kappa, recurrent_strength=recurrent_strength,
        recurrent_kappa=recurrent_kappa, n_model_units=n_model_units, random_state=rng)
        for _ in range(int(n_sessions))]
    data = benucci_format(sessions, adapter=0.0)
    truth = {"true_tuning_kappa": float(tuning_kappa),
             "true_recurrent_strength": float(recurrent_strength),
             "true_recurrent_kappa": float(recurrent_kappa), "p_adapter": float(p_adapter)}
    return data.assign(truth).assign_attrs(
        description="synthetic Benucci-format adaptation experiment "
                    "(neurodata.datasets.make_adaptation_experiment)")
