"""The NWB Units table: exact, time-sorted spike trains and per-unit columns."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import dask
import dask.array as da
import numpy as np
import xarray as xr

from neurodata.errors import FileFormatError, NeurodataError
from neurodata.io._guard import SOURCE, GuardedArray, guarded_call
from neurodata.io._tables import Column, ragged_lengths, read_table

__all__ = ["read_units", "select_rows"]


def _sorted_spikes(times_ds: Any, starts: np.ndarray, lengths: np.ndarray, ids: np.ndarray,
                   label: str) -> tuple[np.ndarray, np.ndarray]:
    """Read each selected unit's slice of spike_times; sort all spikes by time (stable)."""
    if times_ds.ndim != 1 or times_ds.dtype.kind not in "iuf":
        raise FileFormatError(f"{label}: {times_ds.name} must be 1-D numbers (seconds); got "
                              f"{times_ds.dtype} of shape {times_ds.shape}.")
    if lengths.size and np.array_equal(starts, np.concatenate([[0], np.cumsum(lengths)[:-1]])):
        times = np.asarray(times_ds[: int(lengths.sum())], dtype=np.float64)  # one contiguous read
    else:
        times = np.concatenate([np.asarray(times_ds[s:s + n], dtype=np.float64)
                                for s, n in zip(starts, lengths)] or [np.empty(0)])
    bad = ~np.isfinite(times)
    if bad.any():
        raise FileFormatError(f"{label}: {times_ds.name} holds {int(bad.sum())} NaN or infinite "
                              f"spike times; the file is malformed there.")
    units = np.repeat(ids, lengths)
    order = np.argsort(times, kind="stable")
    return times[order], units[order]


def _column_coord(col: Column) -> np.ndarray:
    """One value per unit: ragged columns of single items are unwrapped."""
    if col.ragged:
        lengths = np.array([len(v) for v in col.values])
        if lengths.size and np.all(lengths == 1):
            return np.concatenate(list(col.values))
        out = np.empty(len(col.values), dtype=object)
        for i, v in enumerate(col.values):
            out[i] = tuple(np.asarray(v).tolist())
        return out
    return col.values


def select_rows(ids: np.ndarray, units: Sequence | None) -> np.ndarray:
    """Row positions of the unit ids ``units`` (all rows when None), in the order given.

    Examples
    --------
    >>> select_rows(np.array([4, 7, 9]), [9, 4])
    array([2, 0])
    >>> select_rows(np.array([4, 7]), [5])
    Traceback (most recent call last):
    ...
    neurodata.errors.NeurodataError: units [5] are not in the Units table ...
    """
    if units is None:
        return np.arange(ids.size)
    wanted = np.atleast_1d(np.asarray(units))
    pos = {v: i for i, v in enumerate(ids.tolist())}
    missing = [u for u in wanted.tolist() if u not in pos]
    if missing:
        raise NeurodataError(f"units {missing[:5]} are not in the Units table (its ids run "
                             f"{ids[:5].tolist()}{' ...' if ids.size > 5 else ''}); pass ids "
                             f"from that table.")
    return np.array([pos[u] for u in wanted.tolist()], dtype=np.int64)


def _unit_coords(cols: list[Column], ids: np.ndarray, rows: np.ndarray) -> dict:
    coords: dict = {"unit": ("unit", ids[rows])}
    n_units = ids.size
    for col in cols:
        values = _column_coord(col)
        if values.ndim == 1 and len(values) == n_units:
            coords[col.name] = ("unit", values[rows])
        elif values.ndim > 1 and values.shape[0] == n_units:
            coords[col.name] = (("unit", *(f"{col.name}_dim{i}" for i in range(1, values.ndim))),
                                values[rows])
    return coords


def _waveforms(group: Any, n_units: int, rows: np.ndarray, lazy: bool, label: str) -> dict:
    data_vars: dict = {}
    for wname in ("waveform_mean", "waveform_sd"):
        if wname in group and group[wname].ndim >= 2 and group[wname].shape[0] == n_units:
            w = group[wname]
            dims = ("unit", "waveform_sample", "waveform_channel")[: w.ndim]
            arr = da.from_array(GuardedArray(w, label), name=f"nwb-{uuid.uuid4().hex}") if lazy \
                else w[()]
            data_vars[wname] = (dims, arr[rows] if rows.size != n_units else arr)
    return data_vars


def read_units(group: Any, *, lazy: bool = True, units: Sequence | None = None
               ) -> tuple[dict, dict, int]:
    """Read a Units table into (data_vars, coords, n_spikes).

    Spike times are sorted across units (stable, so a unit's own order is
    kept for equal times) and paired with the unit id of each spike.  With
    ``lazy`` the two spike arrays are dask arrays that read and sort on first
    use; the spike count comes from the index, so nothing bulky is read here.
    With ``units`` (ids) only those rows are kept, and only their slices of
    ``spike_times`` are ever read.
    """
    label = SOURCE.get()
    ids, cols = read_table(group)
    ids = np.asarray(ids)
    rows = select_rows(ids, units)
    coords = _unit_coords(cols, ids, rows)
    data_vars = _waveforms(group, ids.size, rows, lazy, label)
    n_spikes = 0
    if "spike_times" in group and "spike_times_index" in group:
        times_ds = group["spike_times"]
        all_lengths = ragged_lengths(group["spike_times_index"], times_ds.shape[0]
                                     if times_ds.ndim else 0)
        if all_lengths.size != ids.size:
            raise FileFormatError(f"{label}: {group.name}/spike_times_index has "
                                  f"{all_lengths.size} rows but the table has {ids.size} ids.")
        starts = np.concatenate([[0], np.cumsum(all_lengths)[:-1]]).astype(np.int64)[rows]
        lengths, sel_ids = all_lengths[rows], ids[rows]
        n_spikes = int(lengths.sum())
        read = guarded_call(_sorted_spikes, label, times_ds.name)
        if lazy:
            pair = dask.delayed(read, pure=True, nout=2)(
                times_ds, starts, lengths, sel_ids, label,
                dask_key_name=f"spikes-{uuid.uuid4().hex}")
            st = da.from_delayed(pair[0], shape=(n_spikes,), dtype=np.float64)
            su = da.from_delayed(pair[1], shape=(n_spikes,), dtype=ids.dtype)
        else:
            st, su = read(times_ds, starts, lengths, sel_ids, label)
        data_vars["spike_times"] = ("spike", st, {"units": "s", "long_name": "spike time"})
        data_vars["spike_unit"] = ("spike", su, {"long_name": "unit id of each spike"})
    return data_vars, coords, n_spikes


def units_dataset(group: Any, *, lazy: bool = True) -> xr.Dataset:
    """The Units table alone as a Dataset (for tests and inspection)."""
    data_vars, coords, _ = read_units(group, lazy=lazy)
    return xr.Dataset(data_vars, coords=coords)
