"""The pairs x time x animals affinity tensor of one or several recordings.

A recording (a schema Dataset from :func:`~neurodata.open_nwb` or
:func:`~neurodata.load_sample`), a list of them, or the dict that
:func:`~neurodata.open_folder` returns, becomes a list of per-animal
``(time, roi|unit)`` traces whose neuron coordinate holds each neuron's
*identity*, the label that says which neurons are the same across animals.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from neurodata._utils import as_recordings, progress_bar, recording_span, select_variable
from neurodata.connectome._affinity import (
    AffinitySpec,
    _affinity_block,
    _neuron_dim,
    _normalised_rates,
    _pair_array,
    _sampling_interval,
    _warn_constant,
)
from neurodata.errors import (
    InvalidRecordingError,
    NeurodataError,
    NeurodataWarning,
    NoNeuralDataError,
    ShapeError,
)

__all__ = ["build_affinity_tensor", "split_recordings"]

_NAME = "dynamic connectome"
#: Coordinates looked for, in this order, when several recordings are matched by
#: neuron identity and ``identity`` is not given ("{dim}" is ``roi`` or ``unit``).
IDENTITY_COORDS = ("{dim}_name", "neuron_name", "name")


def _split_animals(da: xr.DataArray) -> list[tuple[str, xr.DataArray]]:
    names = (da["animal"].values.tolist() if "animal" in da.coords
             else range(da.sizes["animal"]))
    return [(str(n), da.isel(animal=k, drop=True)) for k, n in enumerate(names)]


def _animal_variable(ds: xr.Dataset, variable: str | None) -> xr.DataArray:
    """The ``(animal, time, roi|unit)`` variable of a multi-animal Dataset."""
    if variable is not None:
        if variable not in ds.data_vars:
            raise NeurodataError(f"the recording has no variable {variable!r}; its variables "
                                 f"are: {', '.join(map(str, ds.data_vars))}.")
        return ds[variable]
    cands = [str(v) for v in ds.data_vars if {"animal", "time"} <= set(ds[v].dims)
             and any(d in ds[v].dims for d in ("roi", "unit"))]
    if len(cands) != 1:
        raise NeurodataError(f"cannot tell which variable holds the traces (candidates: "
                             f"{cands or 'none'}); pass variable=... .")
    return ds[cands[0]]


def _spike_span(recs) -> tuple[float, float] | None:
    found = [recording_span(r) for r in recs if isinstance(r, xr.Dataset)
             and "spike_times" in r.variables]
    spans = [s for s in found if s is not None]
    return (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None


def _rates(rec: xr.Dataset, key: str, variable, bin_size, span) -> xr.DataArray:
    from neurodata.signals import firing_rates

    if variable is not None:
        raise NeurodataError("pass either variable= (a traces variable) or bin_size= (firing "
                             "rates from the spike trains), not both.")
    if "spike_times" not in rec.variables:
        raise NoNeuralDataError(f"recording {key!r} has no spike trains to turn into rates "
                                f"(bin_size={bin_size}); fit its traces with variable=... "
                                f"and no bin_size.")
    start, stop = span if span is not None else (None, None)
    return firing_rates(rec, bin_size, start=start, stop=stop)


def _traces_of(rec, key: str, variable, bin_size, span) -> list[tuple[str, xr.DataArray]]:
    """The per-animal traces of one input (a recording, a DataArray, or a multi-animal one)."""
    if isinstance(rec, xr.DataArray):
        return _split_animals(rec) if "animal" in rec.dims else [(key, rec)]
    if "animal" in rec.dims:
        return _split_animals(_animal_variable(rec, variable))
    if bin_size is not None:
        return [(key, _rates(rec, key, variable, bin_size, span))]
    try:
        return [(key, select_variable(rec, variable, name=f"the {_NAME}"))]
    except NoNeuralDataError:
        if "spike_times" not in rec.variables:
            raise
        raise NoNeuralDataError(
            f"recording {key!r} holds spike trains but no (time, roi|unit) traces, and a "
            f"dynamic connectome compares smooth activity traces. Pass bin_size=<seconds> to "
            f"fit binned firing rates instead (e.g. bin_size=0.25), or compute rates yourself "
            f"with neurodata.firing_rates(recording, 0.25, smooth=0.5).") from None


def _unnamed(labels: np.ndarray) -> np.ndarray:
    if labels.dtype.kind == "f":
        return np.isnan(labels)
    if labels.dtype.kind in "OUS":
        return np.array([v is None or (isinstance(v, float) and np.isnan(v))
                         or str(v).strip() in ("", "nan", "None") for v in labels], dtype=bool)
    return np.zeros(labels.shape, dtype=bool)


def _default_identity(tr: xr.DataArray, d: str, key: str) -> str:
    if d in tr.coords and tr[d].dtype.kind in "OUS":
        return d
    for pattern in IDENTITY_COORDS:
        name = pattern.format(dim=d)
        if name in tr.coords and tr[name].dims == (d,):
            return name
    raise NeurodataError(
        f"cannot tell which neurons are the same across the recordings: recording {key!r} "
        f"numbers its {d}s ({d} ids are per file) and has no identity coordinate "
        f"({', '.join(p.format(dim=d) for p in IDENTITY_COORDS)}). Pass identity='<coordinate>' "
        f"naming the {d} coordinate that holds neuron identities (e.g. NeuroPAL names), or "
        f"identity={d!r} if the ids do match across recordings.")


def _with_identity(tr: xr.DataArray, key: str, identity: str | None, several: bool,
                   neuron_dim: str | None) -> xr.DataArray:
    """Traces whose neuron coordinate holds the identity labels; unnamed neurons dropped."""
    d = _neuron_dim(tr, neuron_dim)
    if identity is None:
        if not several:
            return tr
        identity = _default_identity(tr, d, key)
    if identity != d:
        if identity not in tr.coords or tr[identity].dims != (d,):
            have = [str(c) for c in tr.coords if tr[c].dims == (d,) and c != d]
            raise NeurodataError(f"recording {key!r} has no coordinate {identity!r} along "
                                 f"{d!r}; its {d} coordinates are: {', '.join(have) or 'none'}.")
        tr = tr.assign_coords({d: np.asarray(tr[identity].values)})
    labels = np.asarray(tr[d].values)
    unnamed = _unnamed(labels)
    if unnamed.any():
        warnings.warn(f"recording {key!r}: {int(unnamed.sum())} {d}(s) have no identity in "
                      f"{identity!r} and cannot be matched across animals; they are left out.",
                      NeurodataWarning, stacklevel=4)
        tr = tr.isel({d: ~unnamed})
        labels = labels[~unnamed]
    dup = pd.Index(labels).duplicated()
    if dup.any():
        raise NeurodataError(f"recording {key!r}: the identities {sorted(set(labels[dup]))[:5]} "
                             f"occur more than once in {identity!r}; each neuron needs its own "
                             f"label to be matched across animals.")
    return tr


def split_recordings(recordings, *, variable: str | None = None, identity: str | None = None,
                     bin_size: float | None = None,
                     neuron_dim: str | None = None) -> list[tuple[str, xr.DataArray]]:
    """Normalise the accepted inputs to a list of ``(animal, traces(time, roi|unit))``.

    Parameters
    ----------
    recordings
        A recording (schema Dataset), a DataArray ``(time, roi|unit)`` (one
        animal) or ``(animal, time, roi|unit)`` (NaN for neurons missing in an
        animal), a Dataset holding such a variable, or a list or dict of
        those (the dict of :func:`~neurodata.open_folder`), one per animal.
    variable : str, optional
        The traces variable of each recording (``"dff"``, ``"fluorescence"``,
        ...); needed when a recording holds several.
    identity : str, optional
        The neuron coordinate that says which neurons are the same across
        several recordings (e.g. ``"roi_name"``).  By default the neuron
        coordinate itself when it holds names, else the first of
        ``roi_name``/``unit_name``, ``neuron_name``, ``name``.  Neurons without
        an identity are left out (with a warning); a single recording keeps
        its own ids.
    bin_size : float, optional
        Fit firing rates in bins of this many seconds, for recordings that
        hold spike trains (never done unless asked); all animals share one
        grid, from the first to the last spike of any of them.
    neuron_dim : str, optional
        The neuron dimension, when it is neither ``roi`` nor ``unit``.

    Returns
    -------
    list of (str, xarray.DataArray)
        Animal names (dict keys, ``nwb_identifier``, ``animal`` coordinate or
        position) and their traces, whose neuron coordinate holds the
        identities.

    Raises
    ------
    NoNeuralDataError
        A recording without traces (the message says how to use spikes).
    NeurodataError
        Neurons cannot be matched across recordings, or duplicate identities.

    Examples
    --------
    >>> da = xr.DataArray(np.zeros((2, 5, 3)), dims=("animal", "time", "roi"),
    ...                   coords={"animal": ["w1", "w2"]})
    >>> [(name, tr.dims) for name, tr in split_recordings(da)]
    [('w1', ('time', 'roi')), ('w2', ('time', 'roi'))]
    """
    recs = as_recordings(recordings, name=f"the {_NAME}")
    several = len(recs) > 1
    span = _spike_span(recs.values()) if bin_size is not None else None
    out = []
    for key, rec in recs.items():
        for name, tr in _traces_of(rec, key, variable, bin_size, span):
            out.append((name, _with_identity(tr, name, identity, several, neuron_dim)))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        out = [(f"{n}:{k}", tr) for k, (n, tr) in enumerate(out)]
    return out


def _union_labels(items, neuron_dim) -> tuple[str, np.ndarray]:
    """The neuron dim and the neurons of all animals: in the animals' order when they all
    agree, sorted otherwise."""
    dims: list[str] = []
    labels: list = []
    seen: set = set()
    for _, tr in items:
        d = _neuron_dim(tr, neuron_dim)
        dims.append(d)
        vals = tr[d].values if d in tr.coords else np.arange(tr.sizes[d])
        for v in vals:
            if v not in seen:
                seen.add(v)
                labels.append(v)
    if len(set(dims)) > 1:
        raise InvalidRecordingError(f"the recordings mix neuron dimensions {sorted(set(dims))}; "
                                    f"fit imaging ROIs and sorted units separately.")
    if len(labels) < 2:
        raise ShapeError(f"at least 2 neurons are needed for pairs; got {len(labels)}.")
    out = np.asarray(labels)
    orders = [tuple(tr[d].values.tolist()) if d in tr.coords else None
              for (_, tr), d in zip(items, dims)]
    if len(set(orders)) > 1:  # animals list their neurons differently: sorted identities
        try:
            out = np.asarray(sorted(labels))
        except TypeError:
            pass
    return dims[0], out


def _common_time(items) -> np.ndarray:
    times = []
    for name, tr in items:
        if "time" not in tr.dims:
            raise InvalidRecordingError(f"recording {name!r} has no 'time' dimension; dims are "
                                        f"{tuple(tr.dims)}.")
        t = tr["time"].values if "time" in tr.coords else np.arange(tr.sizes["time"], dtype=float)
        times.append(np.asarray(t, dtype=float))
    ref = times[0]
    dt = _sampling_interval(ref)
    for (name, _), t in zip(items, times):
        if t.size != ref.size or np.max(np.abs(t - ref)) > 0.5 * dt:
            raise ShapeError(f"recording {name!r} is not on the time grid of the first one "
                             f"({t.size} vs {ref.size} samples); put all animals on one grid, "
                             f"e.g. neurodata.resample(traces, reference_times).")
    return ref


def build_affinity_tensor(recordings, *, method: str = "interval", sign: str = "same",
                          min_slope: float = 0.0, min_duration: float = 0.0,
                          smooth: float = 1.0, window: float | None = None,
                          neuron_dim: str | None = None, variable: str | None = None,
                          identity: str | None = None, bin_size: float | None = None,
                          progress: bool | None = None) -> xr.DataArray:
    """Differential affinities of every neuron pair, time point and animal.

    Neurons are matched across animals by their identity (see
    :func:`split_recordings`: NeuroPAL names, a ``roi_name`` coordinate, ...);
    a neuron not identified in an animal gives NaN affinities there, which
    :func:`ntf` treats as missing.

    Parameters
    ----------
    recordings
        One recording, a list or dict of recordings (one per animal, e.g.
        from :func:`~neurodata.open_folder`), one animal's ``(time, roi)``
        traces, or an ``(animal, time, roi)`` DataArray or Dataset; all on
        one time grid.
    method, sign, min_slope, min_duration, smooth, window, neuron_dim
        As in :func:`compute_affinities`.
    variable, identity, bin_size
        Which traces, how neurons are matched, and rates from spikes: see
        :func:`split_recordings`.
    progress : bool or None
        A progress bar over animals (None: shown in a terminal or notebook).

    Returns
    -------
    xarray.DataArray
        float32 ``(pair, time, animal)``; its memory is laid out pair-major
        (``(pair, animal, time)`` in C order), which :func:`ntf` factorises
        without a copy.  No ``N x N x T`` array is ever formed.
        ``attrs["neuron_dim"]`` is the recordings' neuron dimension.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> da = xr.DataArray(rng.normal(size=(2, 50, 4)).cumsum(axis=1),
    ...                   dims=("animal", "time", "roi"),
    ...                   coords={"time": np.arange(50) / 4, "roi": list("abcd")})
    >>> da[1, :, 3] = np.nan                      # neuron d not identified in animal 1
    >>> x = build_affinity_tensor(da)
    >>> x.dims, x.shape, int(np.isnan(x.isel(animal=1)).any("time").sum())
    (('pair', 'time', 'animal'), (6, 50, 2), 3)
    """
    spec = AffinitySpec(method, sign, min_slope, min_duration)
    items = split_recordings(recordings, variable=variable, identity=identity,
                             bin_size=bin_size, neuron_dim=neuron_dim)
    return _tensor_of(items, smooth=smooth, window=window, neuron_dim=neuron_dim,
                      progress=progress, spec=spec)


def _tensor_of(items, *, smooth, window, neuron_dim, progress, labels=None,
               spec: AffinitySpec | None = None) -> xr.DataArray:
    """The affinity tensor of split traces, over ``labels`` (default: their union)."""
    dim, union = _union_labels(items, neuron_dim)
    labels = union if labels is None else np.asarray(labels)
    time = _common_time(items)
    dt = _sampling_interval(time)
    width = 1 if not window else max(1, round(window / dt))
    n = labels.size
    buf = np.empty((n * (n - 1) // 2, len(items), time.size), dtype=np.float32)
    for a, (_, tr) in enumerate(progress_bar(items, desc="affinities", progress=progress)):
        tr = tr.transpose("time", dim)
        tr = tr.reindex({dim: labels}) if dim in tr.coords else tr
        z, constant = _normalised_rates(np.asarray(tr.values), dt, smooth)
        _warn_constant(labels, constant)
        _affinity_block(z, buf[:, a, :], width, spec, dt)
    animals = [name for name, _ in items]
    return _pair_array(buf.transpose(0, 2, 1), labels, time, dim, {"animal": animals})
