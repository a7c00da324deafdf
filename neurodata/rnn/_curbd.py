"""Data-constrained RNNs and current-based decomposition (CURBD).

Perich et al. (2020), "Inferring brain-wide interactions using data-constrained
recurrent neural network models": every recorded unit is one unit of a rate
RNN, ``tau dh/dt = -h + J tanh(h) + w(t)`` with filtered white-noise input
``w``, and recursive least squares trains ``J`` so that each unit's rate
``tanh(h)`` follows its recorded (normalised) rate.  The recurrent current
into unit ``i`` then splits exactly by source region,
``sum_j J_ij r_j = sum_regions sum_{j in region} J_ij r_j``: the current-based
decomposition.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.linalg.blas import dger, dsymv, dsyr
from scipy.signal import lfilter

from neurodata._utils import check_integer, check_random_state, progress_bar
from neurodata.errors import InvalidRecordingError, UnstableDynamicsError
from neurodata.rnn._force import rls_update
from neurodata.rnn._metrics import percent_variance_explained
from neurodata.rnn._recording import recording_trials
from neurodata.rnn._validation import as_trials, time_step

__all__ = ["decompose_currents", "fit_curbd", "region_currents"]


def _region_labels(rec: xr.DataArray, regions) -> np.ndarray:
    feat = rec.dims[-1]
    n = rec.sizes[feat]
    if isinstance(regions, str):
        if regions not in rec.coords or rec[regions].dims != (feat,):
            raise InvalidRecordingError(
                f"regions={regions!r} names no coordinate on '{feat}'; the coordinates are "
                f"{[c for c in rec.coords if rec[c].dims == (feat,)]}. Pass a coordinate name "
                f"or one region label per unit.")
        labels = np.asarray(rec[regions].values)
    elif regions is None:
        labels = np.full(n, "all", dtype=object)
    else:
        labels = np.asarray(regions)
    if labels.shape != (n,):
        raise InvalidRecordingError(f"regions must give one label per unit ({n}); got shape "
                                    f"{labels.shape}.")
    return labels


def decompose_currents(rates, weights, regions) -> xr.DataArray:
    """Split each unit's recurrent current by source region (CURBD).

    Parameters
    ----------
    rates : DataArray (..., time, unit)
        Model rates ``r``.
    weights : array or DataArray (unit, unit_pre)
        Recurrent weights ``J``.
    regions : sequence
        Region label of every unit.

    Returns
    -------
    DataArray (source, ..., time, unit)
        ``currents.sel(source=s)[..., i] = sum_{j in s} J_ij r_j``; summing over
        ``source`` gives the total recurrent current ``J r``.  Select the target
        region with ``currents.sel(unit=currents.region == "B")``.

    Examples
    --------
    >>> r = xr.DataArray(np.ones((2, 3)), dims=("time", "unit"))
    >>> j = np.arange(9.0).reshape(3, 3)
    >>> cur = decompose_currents(r, j, ["A", "A", "B"])
    >>> cur.sel(source="A").values[0], cur.sum("source").values[0]
    (array([ 1.,  7., 13.]), array([ 3., 12., 21.]))
    """
    j = np.asarray(weights, dtype=float)
    labels = np.asarray(regions)
    names = list(dict.fromkeys(labels.tolist()))
    r = rates.values
    parts = [np.einsum("...j,ij->...i", r[..., labels == s], j[:, labels == s]) for s in names]
    coords = {k: v for k, v in rates.coords.items()}
    coords["region"] = (rates.dims[-1], labels)
    return xr.DataArray(np.stack(parts), dims=("source", *rates.dims),
                        coords={**coords, "source": names}, name="currents")


def region_currents(fit: xr.Dataset) -> xr.DataArray:
    """RMS current from every source region into every target region of a CURBD fit.

    Parameters
    ----------
    fit : Dataset
        The result of :func:`fit_curbd` (its ``currents``).

    Returns
    -------
    DataArray (source, target)
        ``sqrt(mean(currents[source]^2))`` over the target region's units, all
        trials and times.

    Examples
    --------
    >>> r = xr.DataArray(np.ones((2, 3)), dims=("time", "unit"))
    >>> cur = decompose_currents(r, np.arange(9.0).reshape(3, 3), ["A", "A", "B"])
    >>> region_currents(xr.Dataset({"currents": cur})).sel(source="A", target="B").item()
    13.0
    """
    cur = fit["currents"]
    unit_dim = str(cur.dims[-1])
    targets = list(dict.fromkeys(np.asarray(cur["region"].values).tolist()))
    values = np.array([[float(np.sqrt((cur.sel(source=s).isel(
        {unit_dim: np.asarray(cur["region"].values) == t}) ** 2).mean()))
        for t in targets] for s in cur["source"].values])
    return xr.DataArray(values, dims=("source", "target"),
                        coords={"source": cur["source"].values, "target": targets},
                        name="rms_current", attrs={"long_name": "RMS current, source -> target"})


def _filtered_noise(rng, shape, dt, tau_noise, amplitude) -> np.ndarray:
    """CURBD's input: white noise low-pass filtered with ``tau_noise``, starting at 1.

    ``w_k = d w_{k-1} + (1 - d) white_k`` with ``d = exp(-dt / tau_noise)`` and
    ``w_0 = 1``, as one IIR filter along time.
    """
    white = np.sqrt(tau_noise / dt) * rng.standard_normal(shape)
    decay = np.exp(-dt / tau_noise)
    out = np.empty(shape)
    out[:, 0] = 1.0
    if shape[1] > 1:
        zi = np.full((shape[0], 1, *shape[2:]), decay)
        out[:, 1:] = lfilter([1.0 - decay], [1.0, -decay], white[:, 1:], axis=1, zi=zi)[0]
    return amplitude * out


def _run(data, j, p, noise, *, dt_factor, leak, learn) -> tuple[np.ndarray, float]:
    """One pass over all trials; returns the rates at the data samples and chi^2."""
    n_trials = data.shape[0]
    h = np.arctanh(data[:, 0])
    sampled = np.empty_like(data)
    chi2 = 0.0
    single = n_trials == 1
    jt, pt = j.T, p.T  # Fortran-ordered views for in-place BLAS updates
    for k in range(noise.shape[1]):
        r = np.tanh(h)
        current = r @ j.T  # the step uses J before this sample's update, as the reference
        if k % dt_factor == 0:
            s = k // dt_factor
            sampled[:, s] = r
            err = r - data[:, s]
            chi2 += float(np.mean(err**2))
            if learn and single:  # rank-one RLS in place (Sussillo & Abbott 2009)
                r1, e1 = r[0], err[0]
                pr = dsymv(1.0, pt, r1)  # P is symmetric: one triangle is kept and updated
                c = 1.0 / (1.0 + r1 @ pr)
                dsyr(-c, pr, a=pt, overwrite_a=True)
                dger(-c, pr, e1, a=jt, overwrite_a=True)
            elif learn:  # all trials at once (batched RLS)
                j -= err.T @ rls_update(p, r)
        h = h + leak * (-h + current + noise[:, k])
    return sampled, chi2


def _curbd_rates(recording: Any, **selectors: Any) -> tuple[Any, bool]:
    """The rates to fit and whether they have a trial dimension."""
    if not isinstance(recording, xr.Dataset):
        given = [k for k, v in selectors.items() if v is not None]
        if given:
            raise InvalidRecordingError(f"{', '.join(given)} select from a recording "
                                        f"(xarray.Dataset); got {type(recording).__name__}.")
        return recording, np.ndim(recording) == 3
    got = recording_trials(recording, name="fit_curbd", **selectors)
    activity = got.activity
    assert activity is not None
    if activity.sizes["trial"] == 1 and selectors.get("condition") is None:
        return activity.isel(trial=0, drop=True).assign_coords(
            time=got.starts[0] + activity["time"].values), False
    return activity, True


def fit_curbd(
    recording: Any,
    regions: Any = None,
    *,
    variable: str | None = None,
    trials: Any = None,
    window: tuple[float, float] | None = None,
    condition: str | None = None,
    bin_size: float | None = None,
    smooth: float | None = None,
    dt: float | None = None,
    dt_factor: int = 1,
    tau: float = 0.01,
    g: float = 1.5,
    n_epochs: int = 100,
    p0: float = 1.0,
    tau_noise: float = 0.1,
    noise_amplitude: float = 0.01,
    initial_weights: np.ndarray | None = None,
    random_state: Any = None,
    progress: bool | None = None,
) -> xr.Dataset:
    """Fit a data-constrained RNN to every recorded unit and decompose its currents.

    The procedure follows Perich et al. (2020) and their public code: rates
    divided by their largest absolute value and clipped to ``[-0.999, 0.999]``;
    one model unit per recorded unit; ``J ~ N(0, g^2/N)``; filtered white-noise
    input (``tau_noise``, ``noise_amplitude``), fixed across epochs; RLS with
    ``P(0) = p0 I`` updating ``J`` at every data sample from the error
    ``tanh(h) - data``; the model integrates ``dt_factor`` Euler steps per
    sample.  Two deliberate differences: the state starts each pass at
    ``arctanh(data(0))`` (so the first rate equals the data; the reference sets
    ``h = data(0)``), and trials (a ``trial`` dimension) run side by side with
    one batched RLS step per sample instead of being concatenated.  A final
    pass without learning gives the model rates, the currents and ``pVar``.

    Parameters
    ----------
    recording : Dataset, or DataArray (time, unit) / (trial, time, unit)
        A recording (:mod:`neurodata.schema`): its traces (``variable``) or
        its spike trains as firing rates (``bin_size``, ``smooth``; see
        :func:`neurodata.signals.neural_activity`), cut into ``trials``.  Or,
        the lower-level path, the rates themselves (``roi`` is accepted for
        ``unit``).
    regions : str or sequence, optional
        Name of a coordinate on the unit dimension holding each unit's region
        (a column of the units table, e.g. ``"location"``), or the labels
        themselves; default: one region.
    variable : str, optional
        The traces variable of a recording.
    trials : str or array of (start, stop), optional
        An interval table of the recording (or the intervals): trials run as
        a batch.  Default: the whole recording as one trial.
    window : (float, float), optional
        Each trial as ``[start + t0, start + t1)``.
    condition : str, optional
        A trial-table column: trials are averaged within each condition
        (peri-stimulus time histograms), one model trial per condition.
    bin_size, smooth : float, optional
        Spike trains as firing rates: bin width and Gaussian smoothing (s).
    dt : float, optional
        Sampling interval (s); default from the ``time`` coordinate.
    dt_factor : int
        Model steps per data sample.
    tau, g, n_epochs, p0, tau_noise, noise_amplitude
        Model time constant (s), initial gain, training passes, RLS learning
        rate, and input-noise settings (the reference's defaults, except 100
        rather than 2000 passes).
    initial_weights : ndarray (unit, unit_pre), optional
        Starting ``J`` (for exact comparisons); default random.
    random_state : None, int or Generator
        Seed of ``J`` and of the noise (None: fresh entropy).
    progress : bool or None
        Progress bar (None: shown in a terminal or notebook).

    Returns
    -------
    xarray.Dataset
        ``currents (source, [trial,] time, unit)`` (see :func:`decompose_currents`),
        ``model_rates`` and ``data`` (normalised) with the input's dims (a
        ``trial`` dimension when the recording was cut into several trials),
        ``weights (unit, unit_pre)``, the training history ``pvar_curve
        (iteration)`` and ``chi2_curve (iteration)`` (one entry per pass);
        attrs ``pvar`` (final, free run), ``scale``, ``dt``, ``tau``.
        :func:`region_currents` summarises the currents by region pair.

    Examples
    --------
    >>> t = np.arange(200) * 0.01
    >>> x = np.stack([np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)], -1)
    >>> rec = xr.DataArray(0.5 * x, dims=("time", "unit"), coords={"time": t})
    >>> fit = fit_curbd(rec, ["A", "B"], tau=0.05, n_epochs=20, random_state=0,
    ...                 progress=False)
    >>> bool(fit.attrs["pvar"] > 0.9)
    True

    From a recording with spike trains, regions from the units table:

    >>> from neurodata.datasets import make_three_region_network
    >>> net = make_three_region_network(10, duration=2.0, spikes=True, random_state=0)
    >>> fit = fit_curbd(net, "region", bin_size=0.01, smooth=0.05, n_epochs=5,
    ...                 random_state=0, progress=False)
    >>> fit.currents.dims, sorted(fit.currents.source.values.tolist())
    (('source', 'time', 'unit'), ['A', 'B', 'C'])
    """
    check_integer("n_epochs", n_epochs, minimum=0)
    check_integer("dt_factor", dt_factor)
    rates, had_trial = _curbd_rates(recording, variable=variable, trials=trials, window=window,
                                    condition=condition, bin_size=bin_size, smooth=smooth)
    rec = as_trials(rates, "rates")
    labels = _region_labels(rec, regions)
    step = time_step(rec, dt)
    rng = check_random_state(random_state)
    n = rec.sizes[rec.dims[-1]]
    scale = float(np.abs(rec.values).max()) or 1.0
    data = np.clip(rec.values / scale, -0.999, 0.999)
    dt_rnn = step / dt_factor
    n_steps = (data.shape[1] - 1) * dt_factor + 1
    if initial_weights is None:
        j = g * rng.standard_normal((n, n)) / np.sqrt(n)
    else:
        j = np.array(initial_weights, dtype=float)
    noise = _filtered_noise(rng, (data.shape[0], n_steps, n), dt_rnn, tau_noise, noise_amplitude)
    p = p0 * np.eye(n)
    pvars, chi2s = [], []
    for _ in progress_bar(range(n_epochs), progress=progress, desc="CURBD", leave=False):
        model, chi2 = _run(data, j, p, noise, dt_factor=dt_factor, leak=dt_rnn / tau, learn=True)
        if not np.all(np.isfinite(j)):
            raise UnstableDynamicsError("CURBD training diverged; lower p0 or g, or raise "
                                        "dt_factor.")
        pvars.append(percent_variance_explained(model, data))
        chi2s.append(chi2)
    model, _ = _run(data, j, p, noise, dt_factor=dt_factor, leak=dt_rnn / tau, learn=False)
    template = rec if had_trial else rec.isel(trial=0, drop=True)
    model_da = template.copy(data=model if had_trial else model[0])
    currents = decompose_currents(model_da, j, labels)
    unit_dim = str(rec.dims[-1])
    units = rec[unit_dim].values if unit_dim in rec.coords else np.arange(n)
    return xr.Dataset(
        {
            "currents": currents,
            "model_rates": model_da,
            "data": template.copy(data=data if had_trial else data[0]),
            "weights": ((unit_dim, f"{unit_dim}_pre"), j),
            "pvar_curve": ("iteration", np.asarray(pvars, dtype=float)),
            "chi2_curve": ("iteration", np.asarray(chi2s, dtype=float)),
        },
        coords={f"{unit_dim}_pre": units, "iteration": np.arange(len(pvars))},
        attrs={"pvar": percent_variance_explained(model, data), "scale": scale, "dt": step,
               "tau": tau, "dt_factor": dt_factor},
    )
