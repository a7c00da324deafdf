"""The recording conventions, declared once, and :func:`validate`.

A *recording* is a plain :class:`xarray.Dataset`; neurodata never subclasses or
wraps it.  These conventions say how the parts of a session are laid out so
that every reader produces, and every analysis can rely on, the same shape.
They are written in the spirit of the CF conventions for climate data.

Dimensions
----------
``time``
    float64 seconds from the session's reference time, shared by the neural
    signals (imaging traces, binned counts).  Strictly increasing, finite.
``time_<name>``
    The own time axis of any other series (``time_position``,
    ``time_head_direction``, ...), with a coordinate of the same name: float64
    seconds, finite, non-decreasing (event series such as licks may repeat a
    timestamp).
``unit``
    Sorted units.  The coordinate holds the NWB unit ids; every column of the
    Units table is a coordinate on ``unit`` (``location``, ``electrodes``,
    quality metrics, ...).
``roi``
    Imaging regions of interest, with PlaneSegmentation columns as
    coordinates (``iscell``, ``plane``, ``roi_n_pixels``, centroids, ...).
``spike``
    One entry per spike.  ``spike_times(spike)`` (float64 seconds, sorted) and
    ``spike_unit(spike)`` (the ``unit`` coordinate value of the unit that
    fired) keep spike trains exact and ragged; they are never forced into bins.
``trial``, ``epoch`` and any other interval table
    Each NWB TimeIntervals table becomes its own dimension (``trials`` ->
    ``trial``, ``epochs`` -> ``epoch``, other tables keep their NWB name).  Its
    columns are coordinates named ``<dim>_<column>``: ``trial_start_time``,
    ``trial_stop_time``, ``trial_response``...  Overlapping intervals and NaN
    stop times are kept as they are.
``electrode``
    The electrodes table, columns as ``electrode_<column>`` coordinates.

Variables
---------
Imaging traces are ``(time, roi)``; traces of neurons recorded one series per
neuron are gathered into one ``(time, roi)`` variable.  Binned spike counts are
``(time, unit)`` with ``bin_size`` (seconds) in their attrs and the ``time``
coordinate at bin centres.

Attributes
----------
Anything essential lives in variables or coordinates.  ``attrs`` hold
provenance only: ``source_path``, ``source_sha256``, ``nwb_identifier``,
``nwb_version``, ``session_start_time``, ``neurodata_version``, and for each
variable read from NWB its ``nwb_path``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import numpy as np
import xarray as xr

from neurodata.errors import InvalidRecordingError

__all__ = [
    "ANALYSIS_DIMS",
    "BANNED_DIMS",
    "BANNED_PARAMETERS",
    "INTERVAL_TABLE_DIMS",
    "PROVENANCE_ATTRS",
    "STIMULUS_TABLE",
    "interval_dims",
    "interval_table",
    "is_time_dim",
    "mark_stimulus_table",
    "stimulus_dims",
    "time_dims",
    "validate",
]

#: NWB TimeIntervals table names that get a singular dimension name.
INTERVAL_TABLE_DIMS = {"trials": "trial", "epochs": "epoch", "invalid_times": "invalid_time"}

#: The attrs of ``<dim>_start_time`` that mark an interval table of stimulus presentations.
STIMULUS_TABLE = {"interval_kind": "stimulus"}

#: Provenance attributes a reader sets on a recording.
PROVENANCE_ATTRS = (
    "source_path",
    "source_sha256",
    "nwb_identifier",
    "nwb_version",
    "session_start_time",
    "neurodata_version",
)

#: Dimensions that hold neurons, one of which every trace variable must have.
NEURON_DIMS = ("unit", "roi")

#: Dimensions of analysis results, one name per concept.  Results about the
#: recording's neurons keep the recording's neuron dimension (``unit`` or
#: ``roi``); neurons of a fitted model that are not recorded neurons are
#: ``model_unit`` (an RNN's units, a ring network's units).
ANALYSIS_DIMS = {
    "unit": "sorted units of the recording (its 'unit' coordinate)",
    "roi": "imaging ROIs of the recording (its 'roi' coordinate)",
    "model_unit": "units of a fitted model that are not recorded neurons",
    "iteration": "training history: one entry per optimiser iteration or training epoch",
    "component": "components of a decomposition (NTF, PCA, ...)",
    "cluster": "clusters of a clustering",
    "session": "sessions (files) gathered into one result",
    "animal": "animals of a multi-animal analysis",
    "pair": "pairs of neurons",
    "presentation": "stimulus presentations of an aligned recording",
    "time_rel": "time relative to an event, in seconds",
    "frequency": "frequency in Hz",
    "parameter": "fitted parameters of a model",
    "spike_trial": "(a variable on 'spike') the trial each generated spike belongs to",
}

#: Dimension names results must not use, and the name to use instead.
BANNED_DIMS = {
    "neuron": "'unit' or 'roi' (the recording's neuron dimension), or 'model_unit'",
    "cell": "'unit' or 'roi'",
    "epoch_train": "'iteration' (training history)",
    "n_epoch": "'iteration' (training history)",
}

#: Parameter names no public signature may use, and the one name to use.
BANNED_PARAMETERS = {
    "n_starts": "n_init",
    "n_restarts": "n_init",
    "n_iter_max": "max_iter",
    "n_iter": "max_iter",
    "maxiter": "max_iter",
    "epochs": "n_epochs",
    "lr": "learning_rate",
    "seed": "random_state",
    "rng": "random_state",
    "verbose": "progress",
    "show_progress": "progress",
}


def is_time_dim(dim: Hashable) -> bool:
    """Return True for ``time`` and ``time_<name>`` dimension names.

    Examples
    --------
    >>> is_time_dim("time"), is_time_dim("time_position"), is_time_dim("trial")
    (True, True, False)
    """
    return isinstance(dim, str) and (dim == "time" or dim.startswith("time_"))


def time_dims(ds: xr.Dataset | xr.DataArray) -> list[str]:
    """List the time dimensions of a recording, ``time`` first.

    Examples
    --------
    >>> ds = xr.Dataset(coords={"time": [0.0, 1.0], "time_speed": [0.0, 0.5, 1.0]})
    >>> time_dims(ds)
    ['time', 'time_speed']
    """
    dims = [str(d) for d in ds.dims if is_time_dim(d)]
    return sorted(dims, key=lambda d: (d != "time", d))


def interval_dims(ds: xr.Dataset) -> list[str]:
    """List the dimensions that hold interval tables (those with ``<dim>_start_time``).

    Examples
    --------
    >>> ds = xr.Dataset(coords={"trial_start_time": ("trial", [0.0, 2.0]),
    ...                         "trial_stop_time": ("trial", [1.0, 3.0])})
    >>> interval_dims(ds)
    ['trial']
    """
    return [str(d) for d in ds.dims if f"{d}_start_time" in ds.coords]


def stimulus_dims(ds: xr.Dataset) -> list[str]:
    """List the interval tables that hold stimulus presentations (see :data:`STIMULUS_TABLE`).

    Examples
    --------
    >>> ds = xr.Dataset(coords={"trial_start_time": ("trial", [0.0]),
    ...                         "trial_stop_time": ("trial", [1.0])})
    >>> ds = mark_stimulus_table(ds.rename(trial="flashes", trial_start_time="flashes_start_time",
    ...                                    trial_stop_time="flashes_stop_time"), "flashes")
    >>> stimulus_dims(ds)
    ['flashes']
    """
    key, value = next(iter(STIMULUS_TABLE.items()))
    return [d for d in interval_dims(ds) if ds[f"{d}_start_time"].attrs.get(key) == value]


def mark_stimulus_table(ds: xr.Dataset, dim: str) -> xr.Dataset:
    """Mark the interval table ``dim`` as stimulus presentations (in place; returns ``ds``).

    Examples
    --------
    >>> ds = xr.Dataset(coords={"flashes_start_time": ("flashes", [0.0]),
    ...                         "flashes_stop_time": ("flashes", [0.25])})
    >>> mark_stimulus_table(ds, "flashes")["flashes_start_time"].attrs["interval_kind"]
    'stimulus'
    """
    ds[f"{dim}_start_time"].attrs.update(STIMULUS_TABLE)
    return ds


def interval_table(ds: xr.Dataset, dim: str) -> xr.Dataset:
    """Return the interval table on ``dim`` as a Dataset of its columns.

    The ``<dim>_`` prefix is removed from the column names, so that the result
    has ``start_time``, ``stop_time`` and the table's other columns.

    Examples
    --------
    >>> ds = xr.Dataset(coords={"trial_start_time": ("trial", [0.0, 2.0]),
    ...                         "trial_stop_time": ("trial", [1.0, np.nan])})
    >>> interval_table(ds, "trial").stop_time.values
    array([ 1., nan])
    """
    if f"{dim}_start_time" not in ds.coords:
        tables = interval_dims(ds) or ["none"]
        raise InvalidRecordingError(
            f"{dim!r} is not an interval table of this recording (no coordinate "
            f"'{dim}_start_time'); the interval tables are: {', '.join(tables)}."
        )
    prefix = f"{dim}_"
    cols = {
        str(name)[len(prefix) :]: ds.coords[name].variable
        for name in ds.coords
        if str(name).startswith(prefix) and ds.coords[name].dims == (dim,)
    }
    return xr.Dataset(cols, coords={dim: ds[dim].variable} if dim in ds.coords else None)


def _fail(msg: str) -> None:
    raise InvalidRecordingError(msg)


def _check_time_coord(ds: xr.Dataset, dim: str) -> None:
    if dim not in ds.coords:
        _fail(f"dimension {dim!r} has no coordinate; assign float64 seconds with "
              f"ds.assign_coords({dim}=times).")
    t = ds.coords[dim]
    if t.ndim != 1 or t.dims != (dim,):
        _fail(f"coordinate {dim!r} must be one-dimensional along {dim!r}; got dims {t.dims}.")
    if not np.issubdtype(t.dtype, np.floating):
        _fail(f"coordinate {dim!r} must hold float64 seconds from the session's reference "
              f"time; got dtype {t.dtype}. Convert with ds.assign_coords({dim}=ds.{dim}.astype(float)).")
    values = np.asarray(t.values)
    if values.size and not np.all(np.isfinite(values)):
        _fail(f"coordinate {dim!r} has NaN or infinite values; drop those samples first.")
    if dim == "time" and values.size > 1 and np.any(np.diff(values) <= 0):
        _fail("coordinate 'time' must be strictly increasing; sort with ds.sortby('time') "
              "and drop duplicate samples.")
    if values.size > 1 and np.any(np.diff(values) < 0):
        _fail(f"coordinate {dim!r} must not decrease; sort with ds.sortby({dim!r}).")


def _check_spikes(ds: xr.Dataset) -> None:
    has_t, has_u = "spike_times" in ds.variables, "spike_unit" in ds.variables
    if not has_t and not has_u:
        return
    if has_t != has_u:
        missing = "spike_unit" if has_t else "spike_times"
        _fail(f"spike trains need both spike_times(spike) and spike_unit(spike); {missing!r} "
              f"is missing.")
    for name in ("spike_times", "spike_unit"):
        if ds[name].dims != ("spike",):
            _fail(f"{name!r} must have dims ('spike',); got {ds[name].dims}.")
    st = np.asarray(ds["spike_times"].values)
    if not np.issubdtype(st.dtype, np.floating):
        _fail(f"'spike_times' must be float64 seconds; got dtype {st.dtype}.")
    if st.size and not np.all(np.isfinite(st)):
        _fail("'spike_times' has NaN or infinite values; remove those spikes.")
    if st.size > 1 and np.any(np.diff(st) < 0):
        _fail("'spike_times' must be sorted by time; reorder both spike variables with "
              "ds.isel(spike=np.argsort(ds.spike_times.values, kind='stable')).")
    if "unit" not in ds.dims and "unit" not in ds.coords:
        _fail("spike trains are present but there is no 'unit' dimension; add one with the "
              "unit ids as coordinate.")
    su = np.asarray(ds["spike_unit"].values)
    if su.size:
        known = np.isin(su, np.asarray(ds["unit"].values))
        if not known.all():
            bad = np.unique(su[~known])[:5]
            _fail(f"'spike_unit' names units that are not in the 'unit' coordinate: "
                  f"{bad.tolist()}; every spike must belong to a listed unit.")


def _check_neuron_variables(ds: xr.Dataset) -> None:
    for name, var in ds.data_vars.items():
        neuron = [d for d in var.dims if d in NEURON_DIMS]
        tdims = [d for d in var.dims if is_time_dim(d)]
        if not neuron or not tdims:
            continue
        t_pos, n_pos = var.dims.index(tdims[0]), var.dims.index(neuron[0])
        if t_pos > n_pos:
            _fail(f"{name!r} must have its time dimension before {neuron[0]!r}: dims "
                  f"('{tdims[0]}', '{neuron[0]}'); got {var.dims}. Fix with "
                  f"ds['{name}'] = ds['{name}'].transpose('{tdims[0]}', '{neuron[0]}', ...).")


def _check_intervals(ds: xr.Dataset) -> None:
    for dim in interval_dims(ds):
        start = ds.coords[f"{dim}_start_time"]
        stop_name = f"{dim}_stop_time"
        if start.dims != (dim,):
            _fail(f"'{dim}_start_time' must lie along {dim!r}; got dims {start.dims}.")
        if stop_name not in ds.coords:
            _fail(f"interval table {dim!r} has '{dim}_start_time' but no {stop_name!r}; add it "
                  f"(NaN where the stop time is unknown).")
        s = np.asarray(start.values, dtype=float)
        e = np.asarray(ds.coords[stop_name].values, dtype=float)
        if not np.all(np.isfinite(s)):
            _fail(f"'{dim}_start_time' has NaN values; every interval needs a start time.")
        known = np.isfinite(e)
        if np.any(e[known] < s[known]):
            i = int(np.flatnonzero(known & (e < s))[0])
            _fail(f"interval {i} of {dim!r} stops ({e[i]}) before it starts ({s[i]}); fix the "
                  f"table or set its stop time to NaN.")


def validate(ds: xr.Dataset) -> xr.Dataset:
    """Check a recording against the neurodata conventions.

    Parameters
    ----------
    ds : xarray.Dataset
        The recording to check.

    Returns
    -------
    xarray.Dataset
        ``ds`` itself, unchanged, so that calls can be chained.

    Raises
    ------
    InvalidRecordingError
        Naming the offending variable and how to fix it.

    Examples
    --------
    >>> ds = xr.Dataset(
    ...     {"dff": (("time", "roi"), np.zeros((3, 2)))},
    ...     coords={"time": [0.0, 0.1, 0.2], "roi": [0, 1]},
    ... )
    >>> validate(ds) is ds
    True
    >>> validate(ds.transpose("roi", "time"))
    Traceback (most recent call last):
    ...
    neurodata.errors.InvalidRecordingError: 'dff' must have its time dimension before 'roi': ...
    """
    if not isinstance(ds, xr.Dataset):
        raise InvalidRecordingError(
            f"a recording is an xarray.Dataset; got {type(ds).__name__}. Wrap a DataArray "
            f"with da.to_dataset(name=...)."
        )
    for dim in time_dims(ds):
        _check_time_coord(ds, dim)
    _check_spikes(ds)
    _check_neuron_variables(ds)
    _check_intervals(ds)
    return ds


def require_dims(obj: xr.DataArray, dims: Iterable[str], name: str = "input") -> None:
    """Raise if ``obj`` lacks one of ``dims``, naming what it has.

    Examples
    --------
    >>> require_dims(xr.DataArray(np.zeros((2, 3)), dims=("time", "roi")), ["time"])
    >>> require_dims(xr.DataArray(np.zeros(2), dims=("x",)), ["time"], "traces")
    Traceback (most recent call last):
    ...
    neurodata.errors.InvalidRecordingError: traces needs dimension(s) ['time']; got ('x',).
    """
    missing = [d for d in dims if d not in obj.dims]
    if missing:
        raise InvalidRecordingError(f"{name} needs dimension(s) {missing}; got {tuple(obj.dims)}.")
