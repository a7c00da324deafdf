"""Shared steps of the Allen Brain Observatory NWB 2 readers (Neuropixels, Visual Behavior, LFP).

Each Allen reader starts from :func:`neurodata.open_nwb`'s recording (units,
series, interval tables, electrodes, all lazy) and reshapes it into the Allen
vocabulary with targeted reads through the :mod:`neurodata.io._h5` helpers:
stimulus tables named by stimulus, channels and probes, series regrouped on
shared time axes, and per-spike columns read lazily.  Bulky arrays read
here are dask arrays over a function that opens the file by path when
computed, so that they need no open handle.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import h5py
import numpy as np
import xarray as xr

from neurodata.errors import FileFormatError
from neurodata.io._h5 import attr_str, nwb_header, open_h5, read_scalar
from neurodata.io._tables import ragged_lengths
from neurodata.schema import STIMULUS_TABLE, is_time_dim

__all__ = [
    "Parts",
    "allen_header",
    "behavior_series",
    "lazy_read",
    "open_reshaped",
    "running_series",
    "spike_variables",
    "stimulus_tables",
]

PRESENTATIONS = "_presentations"


def open_reshaped(path: str | os.PathLike, lazy: bool, checksum: bool,
                  reshape: Callable[[Path, h5py.File, Parts], None]) -> xr.Dataset:
    """:func:`neurodata.open_nwb`, then ``reshape(path, file, parts)`` into the Allen layout.

    The recording is built once at the end; with ``lazy=False`` it is loaded
    and the file closed.  On any error the file is closed.
    """
    from neurodata.io._nwb_read import open_nwb

    p = Path(os.fspath(path)).expanduser()
    ds = open_nwb(p, lazy=True, checksum=checksum, require_neural=False)
    try:
        with open_h5(p)[0] as f:
            parts = Parts(ds)
            reshape(p, f, parts)
            out = parts.build()
    except Exception:
        ds.close()
        raise
    if not lazy:
        out = out.load()
        out.close()
    return out


def allen_header(path: str | os.PathLike, *groups: str) -> tuple[bool, list[bool]]:
    """(is an NWB 2 file, whether each group exists): the header check of the Allen readers."""
    version, found = nwb_header(path, *groups)
    return version is not None and version.replace("NWB-", "").startswith("2."), found


def has_presentations(path: str | os.PathLike) -> bool:
    """True if the file has at least one ``intervals/<stimulus>_presentations`` table."""
    try:
        with h5py.File(path, "r") as f:
            return "intervals" in f and any(k.endswith(PRESENTATIONS) for k in f["intervals"])
    except Exception:  # a header check never raises
        return False


def _read(path: str, name: str, rows: np.ndarray | None) -> np.ndarray:
    with h5py.File(path, "r") as f:
        ds = f[name]
        out = ds[()] if rows is None else ds[()][rows]
        return np.asarray(out)


def lazy_read(path: Path, f: h5py.File, name: str, rows: np.ndarray | None = None) -> da.Array:
    """A dask array of the dataset ``name`` (its ``rows`` along axis 0), read when computed."""
    ds = f[name]
    shape = ds.shape if rows is None else (len(rows), *ds.shape[1:])
    task = dask.delayed(_read, pure=True)(str(path), name, rows,
                                           dask_key_name=f"allen-{uuid.uuid4().hex}")
    return da.from_delayed(task, shape=shape, dtype=ds.dtype)


class Parts:
    """A recording taken apart into variables and coordinates, reshaped, and rebuilt once.

    xarray re-aligns every coordinate on each ``ds[name] = ...``; a session
    has over a hundred, so the readers edit these dicts of Variables instead
    and build the Dataset at the end (:meth:`build`).
    """

    def __init__(self, ds: xr.Dataset) -> None:
        variables = ds.variables
        self.coords: dict[str, xr.Variable] = {str(k): variables[k] for k in ds.coords}
        self.vars: dict[str, xr.Variable] = {str(k): variables[k] for k in ds.data_vars}
        self.attrs = dict(ds.attrs)
        self.close = getattr(ds, "_close", None)

    def dims(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for v in (*self.coords.values(), *self.vars.values()):
            out.update(zip(map(str, v.dims), v.shape))
        return out

    def has(self, name: str) -> bool:
        return name in self.coords or name in self.vars

    def build(self) -> xr.Dataset:
        ds = xr.Dataset(self.vars, coords=self.coords, attrs=self.attrs)
        if self.close is not None:
            ds.set_close(self.close)
        return ds

    def isel(self, dim: str, index: np.ndarray) -> None:
        for store in (self.coords, self.vars):
            for k, v in store.items():
                if dim in v.dims:
                    store[k] = v.isel({dim: index})

    def find(self, nwb_path: str) -> str | None:
        """The variable read from the NWB object at ``nwb_path``, or None."""
        target = "/" + nwb_path.lstrip("/")
        return next((k for k, v in self.vars.items() if v.attrs.get("nwb_path") == target), None)

    def drop_paths(self, *prefixes: str) -> None:
        """Drop the variables read from NWB objects under ``prefixes``, and their unused axes."""
        for k in [k for k, v in self.vars.items()
                  if str(v.attrs.get("nwb_path", "")).lstrip("/").startswith(prefixes)]:
            del self.vars[k]
        self.drop_unused()

    def drop_unused(self) -> None:
        """Drop time axes (and the extra axes of series) that no variable uses any more."""
        used = {d for v in self.vars.values() for d in v.dims}
        for k in [k for k, c in self.coords.items() if c.dims and not set(c.dims) & used
                  and ((is_time_dim(c.dims[0]) and c.dims[0] != "time")
                       or str(c.dims[0]).endswith(("_channel", "_axis")))]:
            del self.coords[k]

    def move(self, nwb_path: str, new_name: str, time_dim: str,
             other_dims: tuple[str, ...] = ()) -> None:
        """Rename the variable read from ``nwb_path`` and put it on ``time_dim``.

        The series joins an existing ``time_dim`` when its times are equal, and
        gets ``time_<new_name>`` otherwise; ``other_dims`` rename its other axes.
        """
        name = self.find(nwb_path)
        if name is None:
            return
        var = self.vars.pop(name)
        td = str(next(d for d in var.dims if is_time_dim(d)))
        t = self.coords[td]
        if time_dim in self.coords:
            old = self.coords[time_dim].values
            if old.shape != t.shape or not np.allclose(old, t.values, rtol=0, atol=1e-9):
                time_dim = f"time_{new_name}"
        rest = other_dims or tuple(str(d) for d in var.dims if d != td)
        dims = (time_dim, *rest[: var.ndim - 1])
        self.coords.setdefault(time_dim, xr.Variable(time_dim, t.values, {"units": "s"}))
        self.vars[new_name] = xr.Variable(dims, var.data, var.attrs)
        for old_dim, new_dim in zip(var.dims[1:], dims[1:]):
            if old_dim in self.coords and new_dim not in self.coords:
                self.coords[new_dim] = xr.Variable(new_dim, self.coords[old_dim].values)
        self.drop_unused()

    def rename_prefixed(self, old: str, new: str) -> None:
        """Rename dimension ``old`` to ``new`` and each ``<old>_<col>`` coordinate to ``<new>_<col>``."""
        for k in [k for k in self.coords if k == old or k.startswith(f"{old}_")]:
            name = new + k[len(old):]
            if name in self.coords and name != k:
                continue
            v = self.coords.pop(k)
            self.coords[name] = xr.Variable([new if d == old else d for d in v.dims], v.data,
                                            v.attrs)
        for store in (self.coords, self.vars):
            for k, v in store.items():
                if old in v.dims:
                    store[k] = xr.Variable([new if d == old else d for d in v.dims], v.data,
                                           v.attrs)

    def interval_dims(self) -> list[str]:
        return [k[: -len("_start_time")] for k in self.coords if k.endswith("_start_time")
                and self.coords[k].dims == (k[: -len("_start_time")],)]

    def mark_stimulus(self, dim: str) -> None:
        v = self.coords[f"{dim}_start_time"]
        self.coords[f"{dim}_start_time"] = xr.Variable(v.dims, v.data, {**v.attrs,
                                                                           **STIMULUS_TABLE})


def stimulus_tables(parts: Parts) -> list[str]:
    """``<stimulus>_presentations`` tables become dimensions named by stimulus, marked as such."""
    dims = []
    for dim in parts.interval_dims():
        if not dim.endswith(PRESENTATIONS):
            continue
        new = dim[: -len(PRESENTATIONS)] or "stimulus"
        if parts.has(new):
            new = dim
        parts.rename_prefixed(dim, new)
        for col in ("tags", "timeseries"):  # the same for every row of an Allen table
            parts.coords.pop(f"{new}_{col}", None)
        parts.mark_stimulus(new)
        dims.append(new)
    return dims


def running_series(parts: Parts) -> None:
    """Running speed on ``time_running_speed`` (Visual Coding and Visual Behavior layouts)."""
    end = parts.find("processing/running/running_speed_end_times")
    for path, name in (("processing/running/running_speed", "running_speed"),
                       ("processing/running/speed", "running_speed"),
                       ("processing/running/speed_unfiltered", "running_speed_unfiltered"),
                       ("processing/running/running_wheel_rotation", "running_wheel_rotation"),
                       ("processing/running/dx", "running_wheel_dx")):
        parts.move(path, name, "time_running_speed")
    if end is not None and "time_running_speed" in parts.coords:
        t_end = parts.coords[str(parts.vars[end].dims[0])].values
        if t_end.shape == parts.coords["time_running_speed"].shape:
            parts.coords["running_speed_end_time"] = xr.Variable("time_running_speed", t_end,
                                                                 {"units": "s"})
        parts.drop_paths("processing/running/running_speed_end_times")
    for path, name in (("acquisition/raw_running_wheel_rotation", "raw_running_wheel_rotation"),
                       ("acquisition/running_wheel_signal_voltage", "running_wheel_signal_voltage"),
                       ("acquisition/running_wheel_supply_voltage", "running_wheel_supply_voltage"),
                       ("acquisition/v_sig", "running_wheel_signal_voltage"),
                       ("acquisition/v_in", "running_wheel_supply_voltage")):
        parts.move(path, name, "time_running_wheel")


def behavior_series(parts: Parts, path: Path, f: h5py.File) -> None:
    """Licks and rewards (Visual Behavior) on their own time axes; eye tracking ellipses."""
    parts.move("processing/licking/licks", "lick_frame", "time_lick")
    parts.move("processing/rewards/volume", "reward_volume", "time_reward")
    parts.move("processing/rewards/autorewarded", "reward_autorewarded", "time_reward")
    # the stimulus monitor's frames (60 Hz): frame numbers on their flip times
    parts.move("processing/stimulus/timestamps", "stimulus_frame", "time_stimulus_frame")
    eye = f.get("acquisition/EyeTracking")
    if eye is None:
        return
    names = {"eye_tracking": "eye", "pupil_tracking": "pupil",
             "corneal_reflection_tracking": "corneal_reflection"}
    for key, prefix in names.items():
        var = parts.find(f"acquisition/EyeTracking/{key}")
        if var is None:
            continue
        t = parts.coords[str(parts.vars[var].dims[0])].values
        parts.coords.setdefault("time_eye_tracking",
                                xr.Variable("time_eye_tracking", t, {"units": "s"}))
        center = parts.vars[var].data
        for k, axis in enumerate("xy"):
            parts.vars[f"{prefix}_center_{axis}"] = xr.Variable(
                "time_eye_tracking", center[:, k], {"units": "pixels"})
        for col in ("area", "width", "height", "angle"):
            if col in eye[key]:
                parts.vars[f"{prefix}_{col}"] = xr.Variable(
                    "time_eye_tracking", lazy_read(path, f, f"{eye[key].name}/{col}"))
    parts.drop_paths(*(f"acquisition/EyeTracking/{k}" for k in names))
    parts.move("acquisition/EyeTracking/likely_blink", "likely_blink", "time_eye_tracking")


def stable_time_order(times: np.ndarray) -> np.ndarray:
    """The stable argsort of ``times``, at the speed of an unstable one.

    numpy's stable sort of 20 million float64 takes about four times as long
    as its quicksort; exact ties are rare in spike times, so a quicksort is
    followed by restoring file order within each group of equal times.

    Examples
    --------
    >>> stable_time_order(np.array([2.0, 1.0, 2.0, 0.5, 1.0]))
    array([3, 1, 4, 0, 2])
    """
    order = np.argsort(times)
    st = times[order]
    tie = np.flatnonzero(st[1:] == st[:-1])
    if tie.size:
        pos = np.unique(np.concatenate([tie, tie + 1]))
        group = np.cumsum(np.concatenate([[0], st[1:] != st[:-1]]))[pos]
        order[pos] = order[pos][np.lexsort((order[pos], group))]
    return order


class _SpikeCache:
    """Reads, filters and sorts the spike trains of the kept units once, when first asked."""

    def __init__(self, path: str, keep: np.ndarray) -> None:
        self.path, self.keep = path, keep
        self._result: tuple | None = None

    def sorted(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times sorted, their unit ids, the order applied to the file's concatenated trains)."""
        if self._result is None:
            with h5py.File(self.path, "r") as f:
                g = f["units"]
                lengths = ragged_lengths(g["spike_times_index"])
                ids = np.asarray(g["id"][()])
                times = np.asarray(g["spike_times"][: int(lengths.sum())], dtype=np.float64)
            units = np.repeat(ids, lengths)
            if not self.keep.all():
                mask = np.repeat(self.keep, lengths)
                times, units = times[mask], units[mask]
            order = stable_time_order(times)
            self._result = (times[order], units[order], order)
        return self._result

    def column(self, name: str) -> np.ndarray:
        """A per-spike column (``spike_amplitudes``, ...) in the order of the sorted spikes."""
        order = self.sorted()[2]
        with h5py.File(self.path, "r") as f:
            lengths = ragged_lengths(f[f"units/{name}_index"])
            values = np.asarray(f[f"units/{name}"][: int(lengths.sum())])
        if not self.keep.all():
            values = values[np.repeat(self.keep, lengths)]
        return values[order]

    def __getstate__(self) -> dict:  # sent to other processes without the cached arrays
        return {"path": self.path, "keep": self.keep, "_result": None}


def _sorted_spikes(cache: _SpikeCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return cache.sorted()


def spike_variables(path: Path, f: h5py.File, keep: np.ndarray, columns: tuple[str, ...] = ()
                    ) -> dict:
    """``spike_times``, ``spike_unit`` and per-spike ``columns`` of the kept units, lazily.

    Equal to what :func:`neurodata.open_nwb` gives (time order, ties in file
    order), restricted to the units in ``keep``; the number of spikes comes
    from the index, so nothing bulky is read until computed, and then once
    for all the spike variables.
    """
    g = f["units"]
    lengths = ragged_lengths(g["spike_times_index"])
    n = int(lengths[keep].sum())
    ids = np.asarray(g["id"][()])
    key = uuid.uuid4().hex
    cache = _SpikeCache(str(path), keep)
    trio = dask.delayed(_sorted_spikes, pure=True, nout=3)(cache,
                                                            dask_key_name=f"allen-spikes-{key}")
    out = {"spike_times": ("spike", da.from_delayed(trio[0], (n,), np.float64),
                           {"units": "s", "long_name": "spike time"}),
           "spike_unit": ("spike", da.from_delayed(trio[1], (n,), ids.dtype),
                          {"long_name": "unit id of each spike"})}
    for col in columns:
        if col in g and f"{col}_index" in g:
            task = dask.delayed(cache.column, pure=True)(col, dask_key_name=f"allen-{col}-{key}")
            out[col] = ("spike", da.from_delayed(task, (n,), g[col].dtype),
                        {"nwb_path": g[col].name, "units": attr_str(g[col], "unit", "") or ""})
    return out


def unit_filter_mask(parts: Parts, filters: dict[str, tuple[str, Any]]) -> tuple[np.ndarray, str]:
    """Which units pass the filters ``{column: (op, value)}`` (None values are not applied).

    A unit whose metric is NaN fails an applied filter, as in allensdk.
    Returns the mask and a description of the filters applied ('' if none).
    """
    keep = np.ones(parts.dims().get("unit", 0), dtype=bool)
    applied = []
    for col, (op, value) in filters.items():
        if value is None or value is False:
            continue
        if col not in parts.coords:
            raise FileFormatError(f"cannot filter units by {col!r}: the units table has no such "
                                  f"column; omit that filter for this file.")
        v = np.asarray(parts.coords[col].values)
        if op == "<=":
            keep &= v.astype(np.float64) <= float(value)
        elif op == ">=":
            keep &= v.astype(np.float64) >= float(value)
        elif op == "==":  # quality == "good"
            keep &= v == value
        elif op == "in a brain area":
            keep &= np.array([x not in (None, "", "None") for x in v], dtype=bool)
        else:  # a boolean column
            keep &= np.array([bool(x) if x is not None else False for x in v], dtype=bool)
        applied.append(f"{col} {op} {value}" if op in ("<=", ">=", "==") else
                       col if op == "is" else f"{col} {op}")
    return keep, "; ".join(applied)


def session_attrs(f: h5py.File, session_type: str) -> dict:
    """Allen provenance in attrs: the session type and the metadata the file carries."""
    attrs = {"allen_session_type": session_type}
    for key in ("stimulus_notes", "session_id", "institution"):
        v = read_scalar(f["general"], key) if "general" in f else None
        if v is not None:
            attrs[key] = str(v)
    subject = f.get("general/subject")
    if subject is not None:
        for key in ("specimen_name", "age_in_days", "strain"):
            v = subject.attrs.get(key)
            if v is not None:
                attrs[f"subject_{key}"] = str(v.decode() if isinstance(v, bytes) else v)
    return attrs
