"""Population adaptation data in the format of Benucci, Saleem & Carandini (2013).

The format is a DataArray ``responses(session, preferred_orientation,
stimulus_orientation, condition)``:

* ``preferred_orientation``: bins of the units' preferred orientation relative
  to the adapter, -90 to +90 degrees inclusive (13 bins of 15 degrees; the
  two ends are the same orientation, repeated to close the circle);
* ``stimulus_orientation``: grating orientation relative to the adapter, -90
  to +90 inclusive (21 values 9 degrees apart, the ends again identical);
* ``condition``: ``"uniform"`` or ``"biased"`` stimulus ensemble;
* values: the mean response of the units in a bin, each unit first normalised
  by its tuning curve in the uniform (unadapted) condition: divided by its mean
  over orientations (``normalization="mean"``, the default, so every uniform
  curve averages 1) or by its peak (``"max"``), or, as published analyses of
  the Benucci data do (``"minmax"``), the unadapted curve's minimum subtracted
  and the result divided by its amplitude (maximum minus minimum), the same
  numbers applied to the adapted curve, so that adapted values may be negative
  (the minima effect).  ``"none"``: raw responses (the published session-level
  layout, :func:`load_benucci_mat`), to be normalised before a fit.  The peak of
  a noisy curve is biased upwards (the largest of many noisy means), so
  ``"max"`` and ``"minmax"`` bias the normalised responses by an amount that
  depends on the trial count; the mean is a linear, nearly unbiased summary.
  Empty bins are NaN.  The scalar coordinate ``normalization`` records the
  choice, and ``normalization_level`` whether units were normalised before
  binning (``"unit"``, :func:`benucci_format`) or the binned rows afterwards
  (``"bin"``, :func:`normalize_benucci` on the published layout).

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

from neurodata._utils import as_recordings, check_integer, check_option
from neurodata.errors import NeurodataError, NeurodataWarning, NoNeuralDataError, ShapeError
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
NORMALIZATIONS = ("mean", "max", "minmax", "none")


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
    norm = str(data.coords["normalization"].values) if "normalization" in data.coords else "mean"
    check_option("the 'normalization' coordinate", norm, NORMALIZATIONS)
    level = str(data.coords["normalization_level"].values) \
        if "normalization_level" in data.coords else "unit"
    check_option("the 'normalization_level' coordinate", level, ("unit", "bin"))
    if norm in ("mean", "max") and np.nanmin(values, initial=0.0) < 0:
        raise NeurodataError(
            f"responses must be non-negative rates; got minimum {np.nanmin(values):g}. Use "
            f"firing rates or spike counts (not baseline-subtracted or dF/F traces); data "
            f"normalised by subtracting each unit's unadapted minimum (as published analyses "
            f"do) are declared with the coordinate normalization='minmax'."
        )
    return data.sel(condition=list(CONDITIONS)).assign_coords(normalization=norm,
                                                              normalization_level=level)


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


def _column(responses: xr.DataArray, name: str, table: str) -> str:
    """The coordinate along the trial dimension that holds the column ``name``."""
    dim = responses.dims[0]
    bare = name[len(table) + 1:] if name.startswith(f"{table}_") else name
    for cand in (name, f"{table}_{bare}", bare, f"trial_{bare}"):
        if cand in responses.coords and responses[cand].dims == (dim,):
            return cand
    have = [str(c) for c, v in responses.coords.items() if v.dims == (dim,)
            and not str(c).endswith(("start_time", "stop_time"))]
    raise NoNeuralDataError(
        f"the trials have no {bare!r} column (columns: {', '.join(have) or 'none'}). Add it to the "
        f"trial table (e.g. rec.assign_coords({table}_{bare}=({table!r}, values)), or as a column "
        f"of the NWB trials table), or name the column that holds it with "
        f"{'stimulus' if 'orientation' in bare else 'condition'}=...")


def _trial_codes(responses: xr.DataArray, adapter, window=None, stimulus="stimulus_orientation",
                 condition="condition", table="trial"):
    """Validate a (trial, unit) recording; return values, grid, codes, adapter and p."""
    responses = _window_mean(responses, window)
    if responses.ndim != 2 or neuron_dims(responses) is None:
        raise ShapeError(
            f"responses must have dims ('trial', 'unit') (or 'roi'), or ('trial', 'time_rel', "
            f"'unit') as from neurodata.signals.align; got {tuple(responses.dims)}."
        )
    dim = neuron_dims(responses)
    trial_dim = next(d for d in responses.dims if d != dim)
    responses = responses.transpose(trial_dim, dim)
    stim_col, cond_col = (_column(responses, stimulus, table), _column(responses, condition, table))
    x = np.asarray(responses.values, dtype=float)
    if not np.all(np.isfinite(x)):
        raise NeurodataError("responses has NaN or infinite values; drop those trials first.")
    if x.min() < 0:
        raise NeurodataError(
            f"responses must be non-negative rates; got minimum {x.min():g}. Use firing rates "
            f"or spike counts (not baseline-subtracted or dF/F traces)."
        )
    cond = np.asarray(responses[cond_col].values).astype(str)
    bad = ~np.isin(cond, CONDITIONS)
    if bad.any():
        raise NeurodataError(
            f"condition must be 'uniform' or 'biased' (the trial column {cond_col!r} labels the "
            f"ensemble each grating came from); got {sorted(set(cond[bad]))[:5]}. Label every "
            f"presentation with its ensemble; adaptation is fitted from a uniform and a biased "
            f"block together.")
    theta = as_orientations(responses[stim_col].values, "stimulus_orientation")
    if adapter is None:
        adapter = _most_frequent(theta[cond == "biased"])
    rel = wrap_orientation(theta - adapter)
    grid = np.unique(np.round(rel, 6))
    closed = check_periodic_grid(np.append(grid, grid[0] + PERIOD), "stimulus_orientation")
    k = np.round((rel - closed[0]) / (closed[1] - closed[0])).astype(int) % grid.size
    c = (cond == "biased").astype(int)
    k0 = int(np.argmin(np.abs(closed[:-1])))
    p_hat = float(np.mean(k[c == 1] == k0)) if c.any() else np.nan
    return x, closed, k, c, float(adapter), p_hat, dim


def _most_frequent(theta: np.ndarray) -> float:
    if theta.size == 0:
        raise NoNeuralDataError("no trial of the 'biased' condition: the adapter is unknown. "
                                "Record both conditions, or pass adapter= (degrees).")
    values, counts = np.unique(np.round(wrap_orientation(theta), 6), return_counts=True)
    return float(values[np.argmax(counts)])


def neuron_dims(responses: xr.DataArray) -> str | None:
    """The neuron dimension (``unit`` or ``roi``) of a (trial, neuron) array, if any."""
    found = [d for d in ("unit", "roi") if d in responses.dims]
    return str(found[0]) if len(found) == 1 else None


def unit_scales(uniform: np.ndarray, normalization: str) -> tuple[np.ndarray, np.ndarray]:
    """Offset and scale of each row's normalisation from its uniform curve (rows, stimuli).

    ``uniform`` holds the distinct orientations only (no repeated end).
    """
    if normalization == "minmax":
        lo = uniform.min(axis=1)
        return lo, uniform.max(axis=1) - lo
    zero = np.zeros(uniform.shape[0])
    return zero, uniform.max(axis=1) if normalization == "max" else uniform.mean(axis=1)


def _binned_session(norm: np.ndarray, closed: np.ndarray, n_bins: int):
    """Average unit curves (unit, stimulus, condition) within preferred-orientation bins."""
    z = norm[:, :, 0] @ np.exp(2j * np.deg2rad(closed[:-1]))
    pref = np.rad2deg(np.angle(z)) / 2.0
    centres = np.linspace(-PERIOD / 2, PERIOD / 2, n_bins)
    step = centres[1] - centres[0]
    b = np.round((wrap_orientation(pref) - centres[0]) / step).astype(int) % (n_bins - 1)
    sums = np.zeros((n_bins - 1, closed.size - 1, 2))
    np.add.at(sums, b, norm)
    n_in = np.bincount(b, minlength=n_bins - 1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        binned = sums / n_in[:, None, None]
    binned = np.concatenate([binned, binned[:1]], axis=0)  # close the preferred circle
    binned = np.concatenate([binned, binned[:, :1]], axis=1)  # close the stimulus circle
    return binned, np.append(n_in, n_in[0]), centres, wrap_orientation(pref)


def _session(responses: xr.DataArray, adapter, n_bins: int, normalization: str, window=None,
             **columns):
    x, closed, k, c, adapter, p_hat, dim = _trial_codes(responses, adapter, window, **columns)
    n_k = closed.size - 1
    code = k * 2 + c
    counts = np.bincount(code, minlength=2 * n_k)
    if np.any(counts == 0):
        raise NeurodataError("every stimulus orientation must be presented in both conditions; "
                             "some were never shown. Record more trials or merge sessions.")
    onehot = np.zeros((code.size, 2 * n_k))
    onehot[np.arange(code.size), code] = 1.0
    means = (onehot.T @ x / counts[:, None]).reshape(n_k, 2, -1).transpose(2, 0, 1)  # unit,k,c
    offset, scale = unit_scales(means[:, :, 0], normalization)
    if np.any(scale <= 0):
        warnings.warn(f"dropped {int(np.sum(scale <= 0))} unit(s) that did not respond (or not "
                      f"vary) in the uniform condition.", NeurodataWarning, stacklevel=4)
        keep = scale > 0
        means, offset, scale = means[keep], offset[keep], scale[keep]
    norm = (means - offset[:, None, None]) / scale[:, None, None]
    binned, n_in, centres, pref = _binned_session(norm, closed, n_bins)
    return {"binned": binned, "n_in": n_in, "closed": closed, "centres": centres, "pref": pref,
            "adapter": adapter, "p_adapter": p_hat, "dim": dim, "units": norm}


def _as_trial_arrays(recordings, trials, window, variable) -> dict:
    """Recordings (Dataset, list, open_folder dict) or (trial, unit) arrays, by session."""
    from neurodata.signals import trial_responses

    if isinstance(recordings, list | tuple) and not recordings:
        raise NeurodataError("benucci_format got no recordings.")
    sessions = as_recordings(recordings, name="benucci_format")
    out = {}
    for key, rec in sessions.items():
        if isinstance(rec, xr.Dataset):
            out[key] = trial_responses(rec, trials, window=window, variable=variable)
        else:
            out[key] = rec
    return out


def benucci_format(recordings, *, trials: str = "trial", window=None, variable=None,
                   stimulus: str = "stimulus_orientation", condition: str = "condition",
                   adapter: float | None = None, n_bins: int = 13, normalization: str = "mean",
                   response_window=None) -> xr.Dataset:
    """Convert recordings of an adaptation experiment into Benucci format.

    Parameters
    ----------
    recordings : xarray.Dataset, list or dict of them, or (trial, unit) DataArrays
        One recording per session (as from :func:`neurodata.open_nwb`,
        :func:`neurodata.load_sample`, or the dict of :func:`neurodata.open_folder`),
        with spike trains (or a ``(time, unit|roi)`` trace, see ``variable``)
        and a trial table with one grating presentation per trial, whose
        columns hold the orientation (``stimulus``, degrees, any offset;
        period 180) and the ensemble (``condition``: ``"uniform"`` or
        ``"biased"``).  Each unit's response to a trial is its spike rate in
        the trial (or in ``window``), from
        :func:`neurodata.signals.trial_responses`.  The lower-level path: one
        ``(trial, unit)`` DataArray of responses per session with the two
        columns as coordinates along ``trial`` (plain or with the
        ``trial_`` prefix that the table's columns carry), or a ``(trial,
        time_rel, unit)`` array from :func:`neurodata.signals.align`, averaged
        over ``response_window``.  The presented orientations must be evenly
        spaced around the circle.
    trials : str
        The interval table of presentations.
    window : (float, float), optional
        Response window in seconds from each trial's start (default: the whole
        trial).
    variable : str, optional
        A trace to use instead of spike trains (responses must be non-negative).
    stimulus, condition : str
        The trial table's columns with the orientation and the ensemble.
    adapter : float, optional
        Adapter orientation (degrees); by default, per session, the orientation
        shown most often in the biased condition.  Orientations are expressed
        relative to it.
    n_bins : int
        Number of preferred-orientation bins, ends included (13: 15 degrees).
    normalization : {"mean", "max", "minmax"}
        Divide each unit by the mean or the peak of its uniform-condition curve,
        or subtract that curve's minimum and divide by its amplitude (the
        published convention; adapted values may then be negative).
    response_window : (float, float), optional
        For ``(trial, time_rel, unit)`` arrays: ``[start, stop)`` of
        ``time_rel`` to average (default: every sample at or after onset).

    Returns
    -------
    xarray.Dataset
        ``responses(session, preferred_orientation, stimulus_orientation,
        condition)`` (the Benucci array), ``n_units(session,
        preferred_orientation)``, ``unit_preference(session, unit)`` (or
        ``roi``): each unit's preferred orientation relative to the adapter,
        estimated from its uniform-condition curve (circular mean of the
        doubled angle), NaN-padded where a session has fewer units;
        ``adapter(session)`` (degrees) and ``p_adapter(session)``: the fraction
        of biased-condition trials that showed the adapter; and
        ``unit_responses(session, unit, stimulus, condition)``, each unit's
        normalised curve at the distinct orientations (``stimulus`` indexes
        ``stimulus_orientation`` without its repeated end), which
        :func:`bootstrap_benucci` resamples.
        :func:`fit_adaptation_model` uses the unit preferences to model which
        orientations each bin really holds, and ``p_adapter``.

    Raises
    ------
    NoNeuralDataError
        A recording without a trial table, without the orientation or
        condition column, or without spikes or traces.

    Examples
    --------
    >>> from neurodata.datasets import make_adaptation_trials
    >>> rec = make_adaptation_trials(50, n_trials=200, random_state=0)
    >>> data = benucci_format(rec)
    >>> data.responses.shape, float(data.p_adapter[0]), float(data.adapter[0])
    ((1, 13, 21, 2), 0.3, 0.0)
    """
    if check_integer("n_bins", n_bins, minimum=5) % 2 == 0:
        raise NeurodataError(f"n_bins must be an odd number >= 5 (ends included); got {n_bins}.")
    check_option("normalization", normalization, ("mean", "max", "minmax"))
    arrays = _as_trial_arrays(recordings, trials, window, variable)
    for key, arr in arrays.items():
        if not isinstance(arr, xr.DataArray):
            raise ShapeError(f"session {key!r}: responses must be a (trial, unit) DataArray or a "
                             f"recording (Dataset); got {type(arr).__name__}.")
    parts = [_session(a, adapter, int(n_bins), normalization, response_window,
                      stimulus=stimulus, condition=condition, table=trials)
             for a in arrays.values()]
    if len({tuple(np.round(p["closed"], 6)) for p in parts}) > 1:
        raise ShapeError("every session must present the same set of stimulus orientations.")
    dims = {p["dim"] for p in parts}
    if len(dims) > 1:
        raise ShapeError("sessions mix sorted units and imaging ROIs; convert them separately.")
    n_max = max(p["pref"].size for p in parts)
    prefs = np.full((len(parts), n_max), np.nan)
    units = np.full((len(parts), n_max, parts[0]["closed"].size - 1, 2), np.nan)
    for i, p in enumerate(parts):
        prefs[i, : p["pref"].size] = p["pref"]
        units[i, : p["pref"].size] = p["units"]
    neuron = dims.pop()
    return xr.Dataset(
        {"responses": (BENUCCI_DIMS, np.stack([p["binned"] for p in parts])),
         "n_units": (("session", "preferred_orientation"), np.stack([p["n_in"] for p in parts])),
         "unit_preference": (("session", neuron), prefs),
         "unit_responses": (("session", neuron, "stimulus", "condition"), units),
         "adapter": ("session", [p["adapter"] for p in parts], {"units": "deg"}),
         "p_adapter": ("session", [p["p_adapter"] for p in parts])},
        coords={"session": list(arrays), "preferred_orientation": parts[0]["centres"],
                "stimulus_orientation": parts[0]["closed"], "condition": list(CONDITIONS),
                "normalization": normalization, "normalization_level": "unit"},
    )
