"""The pairs x time x animals affinity tensor of several recordings."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from neurodata.connectome._affinity import (
    _affinity_block,
    _neuron_dim,
    _normalised_rates,
    _pair_array,
    _sampling_interval,
    _warn_constant,
)
from neurodata.errors import InvalidRecordingError, ShapeError

__all__ = ["build_affinity_tensor", "split_recordings"]


def _trace_variable(ds: xr.Dataset, variable: str | None) -> xr.DataArray:
    if variable is not None:
        return ds[variable]
    cands = [v for v in ds.data_vars if "time" in ds[v].dims
             and any(d in ds[v].dims for d in ("roi", "unit", "neuron"))]
    if len(cands) != 1:
        raise InvalidRecordingError(f"cannot tell which variable holds the traces (candidates: "
                                    f"{cands}); pass variable=... .")
    return ds[cands[0]]


def split_recordings(recordings, *, variable: str | None = None,
                     neuron_dim: str | None = None) -> list[tuple[object, xr.DataArray]]:
    """Normalise the accepted inputs to a list of ``(animal, traces(time, neuron))``.

    Accepts a DataArray ``(time, neuron)`` (one animal) or ``(animal, time,
    neuron)`` (NaN for neurons missing in an animal), a Dataset holding such
    a variable, or a list or dict of those, one per animal.

    Examples
    --------
    >>> da = xr.DataArray(np.zeros((2, 5, 3)), dims=("animal", "time", "roi"),
    ...                   coords={"animal": ["w1", "w2"]})
    >>> [(name, tr.dims) for name, tr in split_recordings(da)]
    [('w1', ('time', 'roi')), ('w2', ('time', 'roi'))]
    """
    if isinstance(recordings, xr.Dataset):
        recordings = _trace_variable(recordings, variable)
    if isinstance(recordings, xr.DataArray):
        if "animal" in recordings.dims:
            names = (recordings["animal"].values.tolist() if "animal" in recordings.coords
                     else range(recordings.sizes["animal"]))
            return [(n, recordings.isel(animal=k, drop=True)) for k, n in enumerate(names)]
        return [(0, recordings)]
    items = recordings.items() if isinstance(recordings, Mapping) else enumerate(recordings)
    out = []
    for name, rec in items:
        sub = split_recordings(rec, variable=variable, neuron_dim=neuron_dim)
        if len(sub) != 1:
            raise ShapeError(f"recording {name!r} holds {len(sub)} animals; pass one per item.")
        out.append((name, sub[0][1]))
    if not out:
        raise ShapeError("no recordings given; pass at least one (time, roi) DataArray.")
    return out


def _union_labels(items, neuron_dim) -> tuple[list[str], np.ndarray]:
    dims: list[str] = []
    labels: list = []
    for _, tr in items:
        d = _neuron_dim(tr, neuron_dim)
        dims.append(d)
        vals = tr[d].values if d in tr.coords else np.arange(tr.sizes[d])
        labels.extend(v for v in vals if v not in set(labels))
    if len(labels) < 2:
        raise ShapeError(f"at least 2 neurons are needed for pairs; got {len(labels)}.")
    return dims, np.asarray(labels)


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
                             f"e.g. tr.interp(time=reference_times).")
    return ref


def build_affinity_tensor(recordings, *, smooth: float = 1.0, window: float | None = None,
                          neuron_dim: str | None = None, variable: str | None = None,
                          progress: bool = False) -> xr.DataArray:
    """Differential affinities of every neuron pair, time point and animal.

    Neurons are matched across animals by their labels (the neuron
    coordinate, e.g. NeuroPAL names); a neuron not identified in an animal
    gives NaN affinities there, which :func:`ntf` treats as missing.

    Parameters
    ----------
    recordings
        One animal's ``(time, roi)`` traces, an ``(animal, time, roi)``
        DataArray or Dataset, or a list/dict of per-animal traces, all on one
        time grid.
    smooth, window, neuron_dim
        As in :func:`compute_affinities`.
    variable : str, optional
        The trace variable of a Dataset input.
    progress : bool
        Show a tqdm bar over animals.

    Returns
    -------
    xarray.DataArray
        float32 ``(pair, time, animal)``; its memory is laid out pair-major
        (``(pair, animal, time)`` in C order), which :func:`ntf` factorises
        without a copy.  No ``N x N x T`` array is ever formed.

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
    from tqdm.auto import tqdm

    items = split_recordings(recordings, variable=variable, neuron_dim=neuron_dim)
    dims, labels = _union_labels(items, neuron_dim)
    time = _common_time(items)
    dt = _sampling_interval(time)
    width = 1 if not window else max(1, round(window / dt))
    n = labels.size
    buf = np.empty((n * (n - 1) // 2, len(items), time.size), dtype=np.float32)
    for a, ((_, tr), d) in enumerate(tqdm(list(zip(items, dims)), desc="affinities",
                                           disable=not progress)):
        tr = tr.transpose("time", d)
        if d in tr.coords:
            tr = tr.reindex({d: labels})
        z, constant = _normalised_rates(tr.values, dt, smooth)
        _warn_constant(labels, constant)
        _affinity_block(z, buf[:, a, :], width)
    animals = [name for name, _ in items]
    out = _pair_array(buf.transpose(0, 2, 1), labels, time, {"animal": animals})
    return out
