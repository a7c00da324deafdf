"""The NWB Units table: exact, time-sorted spike trains and per-unit columns."""

from __future__ import annotations

import uuid

import dask
import dask.array as da
import h5py
import numpy as np
import xarray as xr

from neurodata.io._tables import Column, ragged_lengths, read_table

__all__ = ["read_units"]


def _sorted_spikes(times_ds: h5py.Dataset, lengths: np.ndarray, ids: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    times = np.asarray(times_ds[()], dtype=np.float64)[: int(lengths.sum())]
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


def read_units(group: h5py.Group, *, lazy: bool = True) -> tuple[dict, dict, int]:
    """Read a Units table into (data_vars, coords, n_spikes).

    Spike times are sorted across units (stable, so a unit's own order is
    kept for equal times) and paired with the unit id of each spike.  With
    ``lazy`` the two spike arrays are dask arrays that read and sort on first
    use; the spike count comes from the index, so nothing bulky is read here.
    """
    ids, cols = read_table(group)
    ids = np.asarray(ids)
    n_units = ids.size
    coords: dict = {"unit": ("unit", ids)}
    for col in cols:
        values = _column_coord(col)
        if values.ndim == 1 and len(values) == n_units:
            coords[col.name] = ("unit", values)
            continue
        if values.ndim > 1 and values.shape[0] == n_units:
            coords[col.name] = (("unit", *(f"{col.name}_dim{i}" for i in range(1, values.ndim))),
                                values)
    data_vars: dict = {}
    for wname in ("waveform_mean", "waveform_sd"):
        if wname in group and group[wname].ndim >= 2 and group[wname].shape[0] == n_units:
            w = group[wname]
            dims = ("unit", "waveform_sample", "waveform_channel")[: w.ndim]
            data_vars[wname] = (dims, da.from_array(w, name=f"nwb-{uuid.uuid4().hex}") if lazy
                                else w[()])
    n_spikes = 0
    if "spike_times" in group and "spike_times_index" in group:
        lengths = ragged_lengths(group["spike_times_index"])
        n_spikes = int(lengths.sum())
        if lazy:
            pair = dask.delayed(_sorted_spikes, pure=True, nout=2)(
                group["spike_times"], lengths, ids, dask_key_name=f"spikes-{uuid.uuid4().hex}")
            st = da.from_delayed(pair[0], shape=(n_spikes,), dtype=np.float64)
            su = da.from_delayed(pair[1], shape=(n_spikes,), dtype=ids.dtype)
        else:
            st, su = _sorted_spikes(group["spike_times"], lengths, ids)
        data_vars["spike_times"] = ("spike", st, {"units": "s", "long_name": "spike time"})
        data_vars["spike_unit"] = ("spike", su, {"long_name": "unit id of each spike"})
    return data_vars, coords, n_spikes


def units_dataset(group: h5py.Group, *, lazy: bool = True) -> xr.Dataset:
    """The Units table alone as a Dataset (for tests and inspection)."""
    data_vars, coords, _ = read_units(group, lazy=lazy)
    return xr.Dataset(data_vars, coords=coords)
