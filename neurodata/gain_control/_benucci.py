"""Population adaptation data in the format of Benucci, Saleem & Carandini (2013).

The format is a DataArray ``responses(session, preferred_orientation,
stimulus_orientation, condition)``:

* ``preferred_orientation``: bins of the units' preferred orientation relative
  to the adapter, -90 to +90 degrees inclusive (13 bins of 15 degrees; the
  two ends are the same orientation, repeated to close the circle);
* ``stimulus_orientation``: grating orientation relative to the adapter, -90
  to +90 inclusive (21 values 9 degrees apart, the ends again identical);
* ``condition``: ``"uniform"`` or ``"biased"`` stimulus ensemble;
* values: the mean response of the units in a bin, each unit first divided by
  a summary of its tuning curve in the uniform (unadapted) condition: its mean
  over orientations (``normalization="mean"``, the default, so every uniform
  curve averages 1) or its peak (``"max"``, so uniform curves peak at 1).  The
  peak of a noisy curve is biased upwards (the largest of many noisy means), so
  ``"max"`` biases the normalised responses low by an amount that depends on
  the trial count; the mean is a linear, nearly unbiased summary.  Empty bins
  are NaN.  The scalar coordinate ``normalization`` records the choice.

:func:`benucci_format` builds it from one or more recordings aligned to
stimulus presentations, ``(trial, unit)`` responses with ``stimulus_orientation``
and ``condition`` coordinates on ``trial``, and returns it as the ``responses``
variable of a Dataset that also keeps each unit's estimated preferred
orientation (``unit_preference``).  Functions that take Benucci-format data
accept the DataArray alone or that Dataset.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from neurodata.errors import NeurodataError, NeurodataWarning, ShapeError
from neurodata.gain_control._validation import (
    PERIOD,
    as_orientations,
    check_periodic_grid,
    wrap_orientation,
)

__all__ = ["BENUCCI_DIMS", "benucci_format", "check_benucci"]

#: Dimensions of Benucci-format data, in order.
BENUCCI_DIMS = ("session", "preferred_orientation", "stimulus_orientation", "condition")
CONDITIONS = ("uniform", "biased")


def check_benucci(data) -> xr.DataArray:
    """Validate Benucci-format data and return it as a DataArray in canonical order.

    Accepts the DataArray or a Dataset holding it as ``responses``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.ones((1, 13, 21, 2)), dims=BENUCCI_DIMS, coords={
    ...     "preferred_orientation": np.linspace(-90, 90, 13),
    ...     "stimulus_orientation": np.linspace(-90, 90, 21),
    ...     "condition": ["uniform", "biased"]})
    >>> check_benucci(da).dims
    ('session', 'preferred_orientation', 'stimulus_orientation', 'condition')
    >>> check_benucci(-da)
    Traceback (most recent call last):
    ...
    neurodata.errors.NeurodataError: responses must be non-negative rates...
    """
    if isinstance(data, xr.Dataset):
        if "responses" not in data:
            raise ShapeError("a Benucci-format Dataset must hold the data as 'responses'.")
        data = data["responses"]
    if not isinstance(data, xr.DataArray):
        raise ShapeError(
            f"Benucci-format data must be an xarray DataArray; got {type(data).__name__}.")
    if set(data.dims) != set(BENUCCI_DIMS):
        raise ShapeError(
            f"Benucci-format data must have dims {BENUCCI_DIMS}; got {tuple(data.dims)}.")
    data = data.transpose(*BENUCCI_DIMS)
    for dim in ("preferred_orientation", "stimulus_orientation"):
        if dim not in data.coords:
            raise ShapeError(
                f"Benucci-format data needs a '{dim}' coordinate (degrees from the adapter).")
        check_periodic_grid(data[dim].values, dim)
    cond = [str(c) for c in data["condition"].values] if "condition" in data.coords else []
    if sorted(cond) != sorted(CONDITIONS):
        raise ShapeError(f"the 'condition' coordinate must be ['uniform', 'biased']; got {cond}.")
    values = np.asarray(data.values, dtype=float)
    if np.any(np.isinf(values)):
        raise NeurodataError("responses has infinite values.")
    if np.nanmin(values, initial=0.0) < 0:
        raise NeurodataError(
            f"responses must be non-negative rates; got minimum {np.nanmin(values):g}. Use "
            f"firing rates or spike counts (not baseline-subtracted or dF/F traces)."
        )
    norm = str(data.coords["normalization"].values) if "normalization" in data.coords else "mean"
    if norm not in ("mean", "max"):
        raise NeurodataError(
            f"the 'normalization' coordinate must be 'mean' or 'max'; got {norm!r}.")
    return data.sel(condition=list(CONDITIONS)).assign_coords(normalization=norm)


def _window_mean(responses: xr.DataArray, window) -> xr.DataArray:
    """Average an aligned (trial, time_rel, unit) recording over a response window."""
    if "time_rel" not in responses.dims:
        return responses
    t = responses["time_rel"] if "time_rel" in responses.coords else None
    if t is None:
        raise ShapeError("'time_rel' needs a coordinate (seconds from stimulus onset).")
    lo, hi = (0.0, np.inf) if window is None else (float(window[0]), float(window[1]))
    keep = (t >= lo) & (t < hi)
    if not bool(keep.any()):
        raise NeurodataError(f"no samples of time_rel fall in the response window [{lo}, {hi}).")
    return responses.where(keep, drop=True).mean("time_rel")


def _trial_codes(responses: xr.DataArray, adapter: float, window=None):
    """Validate a (trial, unit) recording; return values, orientation grid and codes."""
    responses = _window_mean(responses, window)
    unit_dims = [d for d in responses.dims if d != "trial"]
    if "trial" not in responses.dims or responses.ndim != 2:
        raise ShapeError(
            f"responses must have dims ('trial', 'unit') (or 'roi'), or ('trial', 'time_rel', "
            f"'unit') as from neurodata.signals.align; got {tuple(responses.dims)}."
        )
    names = {}
    for name in ("stimulus_orientation", "condition"):
        # align() keeps an interval table's columns with their "trial_" prefix
        found = [c for c in (name, f"trial_{name}") if c in responses.coords
                 and responses[c].dims == ("trial",)]
        if not found:
            raise ShapeError(
                f"responses needs a '{name}' coordinate along 'trial'; add it with "
                f"responses.assign_coords({name}=('trial', values))."
            )
        names[name] = found[0]
    x = np.asarray(responses.transpose("trial", unit_dims[0]).values, dtype=float)
    if not np.all(np.isfinite(x)):
        raise NeurodataError("responses has NaN or infinite values; drop those trials first.")
    if x.min() < 0:
        raise NeurodataError(
            f"responses must be non-negative rates; got minimum {x.min():g}. Use firing rates "
            f"or spike counts (not baseline-subtracted or dF/F traces)."
        )
    rel = wrap_orientation(as_orientations(responses[names["stimulus_orientation"]].values,
                                           "stimulus_orientation") - adapter)
    grid = np.unique(np.round(rel, 6))
    closed = check_periodic_grid(np.append(grid, grid[0] + PERIOD), "stimulus_orientation")
    k = np.round((rel - closed[0]) / (closed[1] - closed[0])).astype(int) % grid.size
    cond = np.asarray(responses[names["condition"]].values).astype(str)
    bad = ~np.isin(cond, CONDITIONS)
    if bad.any():
        raise NeurodataError(
            f"condition must be 'uniform' or 'biased'; got {sorted(set(cond[bad]))}.")
    return x, closed, k, (cond == "biased").astype(int)


def _session(responses: xr.DataArray, adapter: float, n_bins: int, normalization: str,
             window=None):
    x, closed, k, c = _trial_codes(responses, adapter, window)
    n_k = closed.size - 1
    code = k * 2 + c
    counts = np.bincount(code, minlength=2 * n_k)
    if np.any(counts == 0):
        raise NeurodataError("every stimulus orientation must be presented in both conditions; "
                             "some were never shown. Record more trials or merge sessions.")
    onehot = np.zeros((code.size, 2 * n_k))
    onehot[np.arange(code.size), code] = 1.0
    means = (onehot.T @ x / counts[:, None]).reshape(n_k, 2, -1).transpose(2, 0, 1)  # unit,k,c
    peak = means[:, :, 0].max(axis=1) if normalization == "max" else means[:, :, 0].mean(axis=1)
    if np.any(peak <= 0):
        warnings.warn(f"dropped {int(np.sum(peak <= 0))} unit(s) that never responded in the "
                      f"uniform condition.", NeurodataWarning, stacklevel=3)
        means, peak = means[peak > 0], peak[peak > 0]
    norm = means / peak[:, None, None]
    z = norm[:, :, 0] @ np.exp(2j * np.deg2rad(closed[:-1]))
    pref = np.rad2deg(np.angle(z)) / 2.0
    centres = np.linspace(-PERIOD / 2, PERIOD / 2, n_bins)
    step = centres[1] - centres[0]
    b = np.round((wrap_orientation(pref) - centres[0]) / step).astype(int) % (n_bins - 1)
    sums = np.zeros((n_bins - 1, n_k, 2))
    np.add.at(sums, b, norm)
    n_in = np.bincount(b, minlength=n_bins - 1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        binned = sums / n_in[:, None, None]
    binned = np.concatenate([binned, binned[:1]], axis=0)  # close the preferred circle
    binned = np.concatenate([binned, binned[:, :1]], axis=1)  # close the stimulus circle
    return binned, np.append(n_in, n_in[0]), closed, centres, wrap_orientation(pref)


def benucci_format(responses, *, adapter: float = 0.0, n_bins: int = 13,
                   normalization: str = "mean", response_window=None) -> xr.Dataset:
    """Convert recordings aligned to stimulus presentations into Benucci format.

    Parameters
    ----------
    responses : xarray.DataArray or list of them
        One per session, dims ``(trial, unit)`` (or ``roi``): the response of
        each unit to each grating presentation (e.g. spike counts averaged over
        a window after onset, from ``neurodata.signals.align``), with
        coordinates ``stimulus_orientation`` (degrees, any offset; period 180)
        and ``condition`` (``"uniform"`` / ``"biased"``) along ``trial`` (or
        ``trial_stimulus_orientation`` and ``trial_condition``, the names the
        trial table's columns keep after ``neurodata.signals.align``).  The
        presented orientations must be evenly spaced around the circle.  An
        aligned recording with dims ``(trial, time_rel, unit)`` (the output of
        ``neurodata.signals.align``) is first averaged over ``response_window``.
    adapter : float
        Adapter orientation (degrees); orientations are expressed relative to it.
    n_bins : int
        Number of preferred-orientation bins, ends included (13: 15 degrees).
    normalization : {"mean", "max"}
        Divide each unit by the mean or the peak of its uniform-condition curve.
    response_window : (float, float), optional
        ``[start, stop)`` in seconds of ``time_rel`` to average (default: every
        sample at or after onset).

    Returns
    -------
    xarray.Dataset
        ``responses(session, preferred_orientation, stimulus_orientation,
        condition)`` (the Benucci array), ``n_units(session,
        preferred_orientation)``, and ``unit_preference(session, unit)``: each
        unit's preferred orientation relative to the adapter, estimated from its
        uniform-condition curve (circular mean of the doubled angle), NaN-padded
        where a session has fewer units.  :func:`fit_adaptation_model` uses the
        unit preferences to model which orientations each bin really holds.

    Examples
    --------
    >>> from neurodata.datasets import make_adaptation_trials
    >>> rec = make_adaptation_trials(50, n_trials=200, random_state=0)
    >>> benucci_format(rec).responses.shape
    (1, 13, 21, 2)
    """
    sessions = responses if isinstance(responses, list | tuple) else [responses]
    if not sessions or not all(isinstance(s, xr.DataArray) for s in sessions):
        raise ShapeError("responses must be a (trial, unit) DataArray or a list of them.")
    if int(n_bins) < 5 or int(n_bins) % 2 == 0:
        raise NeurodataError(f"n_bins must be an odd number >= 5 (ends included); got {n_bins}.")
    if normalization not in ("mean", "max"):
        raise NeurodataError(f"normalization must be 'mean' or 'max'; got {normalization!r}.")
    parts = [_session(s, adapter, int(n_bins), normalization, response_window) for s in sessions]
    grids = {tuple(np.round(p[2], 6)) for p in parts}
    if len(grids) > 1:
        raise ShapeError("every session must present the same set of stimulus orientations.")
    _, _, closed, centres, _ = parts[0]
    n_max = max(p[4].size for p in parts)
    prefs = np.full((len(parts), n_max), np.nan)
    for i, p in enumerate(parts):
        prefs[i, : p[4].size] = p[4]
    return xr.Dataset(
        {"responses": (BENUCCI_DIMS, np.stack([p[0] for p in parts])),
         "n_units": (("session", "preferred_orientation"), np.stack([p[1] for p in parts])),
         "unit_preference": (("session", "unit"), prefs)},
        coords={"session": np.arange(len(parts)), "preferred_orientation": centres,
                "stimulus_orientation": closed, "condition": list(CONDITIONS),
                "normalization": normalization},
        attrs={"adapter": float(adapter)},
    )
