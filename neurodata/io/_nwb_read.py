"""``open_nwb``: an NWB 2.x file or NWB Zarr store, local or remote, as a recording Dataset.

We read NWB with h5py directly rather than through pynwb: it is several times
faster to open, it reads files whose schema pynwb rejects (old 2.0/2.1 files,
files with validation errors), and it lets every bulky array stay a lazy dask
array.  pynwb is used for writing.  NWB Zarr stores are read through adapters
with h5py's interface (:mod:`neurodata.io._zarr`), remote files over HTTP
range requests (:mod:`neurodata.io._remote`): one reader for every layout.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from neurodata._version import __version__
from neurodata.errors import (
    FileFormatError,
    InvalidRecordingError,
    NeurodataError,
    NeurodataWarning,
    NoNeuralDataError,
)
from neurodata.io._guard import SOURCE, malformed, reading
from neurodata.io._h5 import (
    CHECKSUM_LIMIT_BYTES,
    attr_str,
    file_sha256,
    neurodata_type,
    read_scalar,
    snake,
)
from neurodata.io._nodes import is_dataset, is_group
from neurodata.io._registry import Reader, register_reader
from neurodata.io._remote import RemoteOptions, is_url
from neurodata.io._series import (
    IMAGE_TYPES,
    NEURAL_TYPES,
    SeriesInfo,
    find_series,
    lazy_data,
    numbered_groups,
    series_time,
    series_unit,
    series_var_name,
)
from neurodata.io._storage import Source, nwb_version_of, open_source, probe_nwb_version
from neurodata.io._tables import read_table
from neurodata.io._units import read_units
from neurodata.schema import INTERVAL_TABLE_DIMS, validate

__all__ = ["open_nwb"]

#: numpy >= 1.25 keeps it in numpy.exceptions; the allensdk environment has numpy 1.23
_COMPLEX_WARNING = getattr(np, "exceptions", np).ComplexWarning


class _Builder:
    """Collects variables and coordinates, resolving time axes and name clashes."""

    def __init__(self, lazy: bool) -> None:
        self.lazy = lazy
        self.data_vars: dict = {}
        self.coords: dict = {}
        self.neural = False

    def free_name(self, name: str) -> str:
        out, k = name, 2
        while out in self.data_vars or out in self.coords:
            out, k = f"{name}_{k}", k + 1
        return out

    def time_dim(self, t: np.ndarray, fallback: str, primary: bool) -> str:
        """Return the dimension for sample times ``t``: shared ``time`` when equal.

        Only strictly increasing times can be the primary ``time``; repeated
        times get their own ``time_<name>`` dimension.
        """
        if primary and (t.size < 2 or bool(np.all(np.diff(t) > 0))):
            if "time" not in self.coords:
                self.coords["time"] = ("time", t, {"units": "s"})
                return "time"
            t0 = self.coords["time"][1]
            if t0.shape == t.shape and np.allclose(t0, t, rtol=0, atol=1e-9):
                return "time"
        dim = fallback if fallback.startswith("time_") else f"time_{fallback}"
        if dim in self.coords:
            told = self.coords[dim][1]
            if told.shape == t.shape and np.allclose(told, t, rtol=0, atol=1e-9):
                return dim
            dim = self.free_name(dim)
        self.coords[dim] = (dim, t, {"units": "s"})
        return dim


def _nwb_version(f: Any, path: str) -> str:
    version = nwb_version_of(f)
    if version is None:
        raise FileFormatError(f"{path} is an HDF5 file but not an NWB file (no nwb_version); "
                              f"open it with h5py or xarray instead.")
    v = version.replace("NWB-", "")
    if v.startswith("1."):
        hint = ("It looks like an Allen Brain Observatory file: open it with "
                "neurodata.open_allen(path).") if "processing/brain_observatory_pipeline" in f \
            else "Convert it to NWB 2 (e.g. with the NWB conversion tools) first."
        raise FileFormatError(f"{path} is an NWB {version} file; open_nwb reads NWB 2.x only. "
                              f"{hint}")
    return v


def _add_units(f: Any, b: _Builder, units: Sequence | None) -> None:
    if "units" not in f or not is_group(f["units"]):
        if units is not None:
            raise NoNeuralDataError(f"{SOURCE.get()} has no Units table, so units={units!r} "
                                    f"selects nothing; drop the units= argument.")
        return
    with reading("/units"):
        data_vars, coords, n_spikes = read_units(f["units"], lazy=b.lazy, units=units)
    n_units = len(coords["unit"][1])
    if n_units and n_spikes == 0:
        return  # reported by the caller when nothing else neural is there
    for name, value in coords.items():
        key = name if name == "unit" or name not in b.coords else b.free_name(f"unit_{name}")
        b.coords[key] = value
    b.data_vars.update(data_vars)
    b.neural = b.neural or n_spikes > 0


def _mask_summary(table: Any, rows: np.ndarray) -> dict:
    """Pixel count and weighted centroid of each ROI, from pixel/voxel masks."""
    out: dict = {}
    for mask_name in ("pixel_mask", "voxel_mask"):
        if mask_name in table and f"{mask_name}_index" in table:
            mask = table[mask_name][()]
            ends = np.asarray(table[f"{mask_name}_index"][()], dtype=np.int64)
            lengths = np.diff(np.concatenate([[0], ends]))
            owner = np.repeat(np.arange(len(ends)), lengths)
            w = np.asarray(mask["weight"], dtype=np.float64) if "weight" in mask.dtype.names \
                else np.ones(len(mask))
            wsum = np.bincount(owner, w, minlength=len(ends))
            out["roi_n_pixels"] = lengths[rows]
            for axis in ("x", "y", "z"):
                if axis in mask.dtype.names:
                    c = np.bincount(owner, w * mask[axis], minlength=len(ends))
                    out[f"roi_centroid_{axis}"] = (c / np.where(wsum == 0, 1, wsum))[rows]
            return out
    if "image_mask" in table and table["image_mask"].size * table["image_mask"].dtype.itemsize < 256e6:
        im = np.asarray(table["image_mask"][()], dtype=np.float64)[rows]
        out["roi_n_pixels"] = (im > 0).reshape(len(rows), -1).sum(axis=1)
    return out


def _roi_coords(f: Any, table: Any, rows: np.ndarray, dim: str) -> dict:
    if table is None:
        return {dim: (dim, rows)}
    ids, cols = read_table(table)
    coords: dict = {dim: (dim, np.asarray(ids)[rows] if len(ids) else rows)}
    for col in cols:
        v = col.values
        if col.ragged or len(v) != len(ids):
            continue
        v = v[rows]
        if col.name == "iscell" and v.ndim == 2:
            coords["iscell"] = (dim, v[:, 0] > 0.5)
            if v.shape[1] > 1:
                coords["iscell_probability"] = (dim, v[:, 1].astype(np.float64))
        elif v.ndim == 1:
            coords[col.name] = (dim, v)
    for name, values in _mask_summary(table, rows).items():
        coords[name] = (dim, values)
    plane = table.get("imaging_plane")
    if plane is not None:
        coords["plane"] = (dim, np.full(len(rows), plane.name.rsplit("/", 1)[-1], dtype=object))
    return coords


def _plane_tables(f: Any) -> list[Any]:
    found: list[Any] = []
    if "processing" in f and is_group(f["processing"]):
        f["processing"].visititems(
            lambda n, o: found.append(o) if is_group(o)
            and neurodata_type(o) == "PlaneSegmentation" else None)
    return found


def _roi_table_and_rows(f: Any, s: SeriesInfo) -> tuple[Any, np.ndarray | None]:
    g = s.group
    if "rois" in g and g["rois"].attrs.get("table") is not None:
        return f[g["rois"].attrs["table"]], np.asarray(g["rois"][()], dtype=np.int64)
    planes = _plane_tables(f)
    if len(planes) == 1 and "id" in planes[0]:
        n = planes[0]["id"].shape[0]
        if n in s.data_shape[:2]:
            return planes[0], np.arange(n)
    return None, None


def _trace_name(b: _Builder, s: SeriesInfo) -> str:
    if s.container_type == "DfOverF":
        base = "dff" if s.name in ("DfOverF", s.container) or "dff" not in b.data_vars \
            else f"dff_{snake(s.name)}"
    else:
        base = snake(s.name)
    return b.free_name(base)


def _in_time_order(s: SeriesInfo, t: np.ndarray, data: Any) -> tuple[np.ndarray, Any]:
    """Sort samples whose timestamps run backwards (with a warning); none is dropped."""
    if t.size > 1 and np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        warnings.warn(
            f"{s.path}: {int(np.sum(np.diff(t) < 0))} timestamps run backwards; the "
            f"{t.size} samples were sorted by time (none dropped).", NeurodataWarning,
            stacklevel=5)
        t, data = t[order], data[order]
    return t, data


def _add_roi_traces(f: Any, series: list[SeriesInfo], b: _Builder) -> set[str]:
    used: set[str] = set()
    roi_dims: dict[str, tuple[str, int]] = {}  # table path -> (dim, n rows)
    rrs = [s for s in series if s.ntype == "RoiResponseSeries" and s.n_samples > 0]
    rrs.sort(key=lambda s: (s.container_type != "DfOverF", s.name != "Fluorescence"))
    for s in rrs:
        with reading(s.path):
            _add_roi_trace(f, s, b, roi_dims)
        used.add(s.path)
        b.neural = True
    return used


def _add_roi_trace(f: Any, s: SeriesInfo, b: _Builder, roi_dims: dict) -> None:
    table, rows = _roi_table_and_rows(f, s)
    shape = s.data_shape
    n_roi = len(rows) if rows is not None else (shape[1] if len(shape) > 1 else 1)
    transpose = len(shape) == 2 and shape[1] != n_roi and shape[0] == n_roi
    if transpose:
        warnings.warn(
            f"{s.path}: data is stored ROI-first {shape} against the NWB (time, roi) "
            f"convention (the ROI table has {n_roi} rows); transposed to "
            f"({shape[1]}, {shape[0]}).", NeurodataWarning, stacklevel=5)
    n_time = shape[1] if transpose else shape[0]
    if len(shape) > 2 or (len(shape) == 2 and not transpose and shape[1] != n_roi) or \
            (len(shape) == 1 and n_roi != 1):
        raise FileFormatError(f"{SOURCE.get()}: {s.path}/data has shape {shape}, which does not "
                              f"fit the {n_roi} ROIs of its table; the file is malformed there.")
    if rows is None:
        rows = np.arange(n_roi)
    key = table.name if table is not None else f"__anon{n_roi}"
    if key not in roi_dims:
        dim = "roi" if not roi_dims else f"roi_{snake(key.rsplit('/', 1)[-1])}"
        roi_dims[key] = (dim, n_roi)
        for cname, cval in _roi_coords(f, table, rows, dim).items():
            b.coords[cname if cname not in b.coords else f"{dim}_{cname}"] = cval
    dim, n_known = roi_dims[key]
    if n_known != n_roi:
        raise FileFormatError(f"{SOURCE.get()}: {s.path} selects {n_roi} rows of {key}, another "
                              f"series {n_known}; the file is malformed there.")
    name = _trace_name(b, s)
    data = lazy_data(s.group["data"], transpose=transpose, lazy=b.lazy)
    if data.ndim == 1:
        data = data[:, None]
    t, data = _in_time_order(s, series_time(s, n_time), data)
    tdim = b.time_dim(t, name, primary=True)
    b.data_vars[name] = ((tdim, dim), data, {"nwb_path": s.path, "units": series_unit(s),
                                             "nwb_type": s.ntype})


def _add_numbered(series: list[SeriesInfo], b: _Builder, used: set[str]) -> None:
    free = [s for s in series if s.path not in used]
    for prefix, members in numbered_groups(free).items():
        with reading(members[0].group.parent.name):
            _add_numbered_group(prefix, members, b, used)


def _add_numbered_group(prefix: str, members: list[SeriesInfo], b: _Builder,
                        used: set[str]) -> None:
    t = series_time(members[0])
    if not all(np.array_equal(series_time(m), t) for m in members[1:]):
        return
    name = b.free_name(prefix)
    dim = "roi" if "roi" not in b.coords else f"roi_{name}"
    stack = [lazy_data(m.group["data"], lazy=b.lazy) for m in members]
    data = da.stack(stack, axis=1) if b.lazy else np.stack(stack, axis=1)
    t, data = _in_time_order(members[0], t, data)
    numbers = [int(re.search(r"(\d+)$", m.name).group(1)) for m in members]  # type: ignore[union-attr]
    b.coords[dim] = (dim, np.asarray(numbers))
    b.coords[f"{dim}_name"] = (dim, np.array([m.name for m in members], dtype=object))
    b.coords[f"{dim}_description"] = (
        dim, np.array([attr_str(m.group, "description", "") for m in members], dtype=object))
    tdim = b.time_dim(t, name, primary=True)
    b.data_vars[name] = ((tdim, dim), data, {
        "nwb_path": members[0].group.parent.name, "units": series_unit(members[0]),
        "nwb_type": "TimeSeries group", "long_name": f"{len(members)} single-neuron series"})
    used.update(m.path for m in members)
    b.neural = True


def _extra_dims(s: SeriesInfo, name: str, f: Any) -> tuple[tuple[str, ...], dict]:
    shape = s.data_shape
    if len(shape) == 1:
        return (), {}
    if s.ntype in IMAGE_TYPES:
        return tuple(f"{name}_{ax}" for ax in ("y", "x", "z")[: len(shape) - 1]), {}
    if s.ntype == "SpatialSeries" and len(shape) == 2 and shape[1] <= 3:
        dim = f"{name}_axis"
        return (dim,), {dim: (dim, np.array(["x", "y", "z"][: shape[1]], dtype=object))}
    dims = tuple(f"{name}_channel" if i == 1 else f"{name}_dim{i}" for i in range(1, len(shape)))
    coords = {}
    if "electrodes" in s.group and shape[1] == s.group["electrodes"].shape[0]:
        coords[f"{name}_electrode"] = (dims[0], np.asarray(s.group["electrodes"][()]))
    return dims, coords


def _series_time_dim(b: _Builder, s: SeriesInfo, name: str, t: np.ndarray) -> str:
    """Series of one container share ``time_<container>`` when their times are equal."""
    if s.container:
        dim = f"time_{snake(s.container)}"
        if dim not in b.coords:
            return b.time_dim(t, dim, primary=False)
        told = b.coords[dim][1]
        if told.shape == t.shape and np.allclose(told, t, rtol=0, atol=1e-9):
            return dim
    return b.time_dim(t, f"time_{name}", primary=False)


def _add_other_series(f: Any, series: list[SeriesInfo], b: _Builder, used: set[str]) -> None:
    for s in series:
        if s.path in used or s.n_samples == 0 or 0 in s.data_shape:
            continue
        with reading(s.path):
            _add_series(f, s, b)


def _add_series(f: Any, s: SeriesInfo, b: _Builder) -> None:
    name = b.free_name(series_var_name(s))
    t, data = _in_time_order(s, series_time(s), lazy_data(s.group["data"], lazy=b.lazy))
    tdim = _series_time_dim(b, s, name, t)
    dims, coords = _extra_dims(s, name, f)
    b.coords.update(coords)
    attrs = {"nwb_path": s.path, "units": series_unit(s), "nwb_type": s.ntype}
    desc = attr_str(s.group, "description")
    if desc and desc != "no description":
        attrs["description"] = desc
    b.data_vars[name] = ((tdim, *dims), data, attrs)
    b.neural = b.neural or s.ntype in NEURAL_TYPES


def _add_intervals(f: Any, b: _Builder) -> None:
    if "intervals" not in f or not is_group(f["intervals"]):
        return
    for tname, g in f["intervals"].items():
        if not is_group(g) or "start_time" not in g:
            continue
        with reading(g.name):
            _add_interval_table(b, tname, g)


def _add_interval_table(b: _Builder, tname: str, g: Any) -> None:
    dim = INTERVAL_TABLE_DIMS.get(tname, snake(tname))
    if dim in b.data_vars or dim in b.coords:
        dim = b.free_name(f"{dim}_intervals")
    ids, cols = read_table(g)
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise FileFormatError(f"{SOURCE.get()}: {g.name}/id must be 1-D; got shape {ids.shape}.")
    b.coords[dim] = (dim, ids)
    for col in cols:
        values = col.values
        if col.ragged:
            values = np.array([",".join(map(str, v)) if col.name == "tags" else tuple(v.tolist())
                               for v in values], dtype=object) if len(values) else values
        if values.ndim != 1 or len(values) != len(ids):
            if col.name in ("start_time", "stop_time"):
                raise FileFormatError(f"{SOURCE.get()}: {g.name}/{col.name} has shape "
                                      f"{values.shape} for {len(ids)} intervals.")
            continue
        attrs = {"description": col.description} if col.description else {}
        if col.name in ("start_time", "stop_time"):
            values = values.astype(np.float64)
            attrs["units"] = "s"
        b.coords[f"{dim}_{col.name}"] = (dim, values, attrs)
    _check_intervals(b, dim, g.name)


def _check_intervals(b: _Builder, dim: str, path: str) -> None:
    start = b.coords.get(f"{dim}_start_time", (None, np.zeros(0)))[1]
    stop = b.coords.get(f"{dim}_stop_time", (None, np.full(len(start), np.nan)))[1]
    if f"{dim}_stop_time" not in b.coords:
        b.coords[f"{dim}_stop_time"] = (dim, stop, {"units": "s"})
    if not np.all(np.isfinite(start)):
        raise FileFormatError(f"{SOURCE.get()}: {path}/start_time has "
                              f"{int(np.sum(~np.isfinite(start)))} NaN or infinite values; every "
                              f"interval needs a start time.")
    with np.errstate(invalid="ignore"):
        backwards = np.isfinite(stop) & (stop < start)
    if backwards.any():
        i = int(np.flatnonzero(backwards)[0])
        raise FileFormatError(f"{SOURCE.get()}: interval {i} of {path} stops ({stop[i]}) before it "
                              f"starts ({start[i]}); {int(backwards.sum())} intervals run "
                              f"backwards.")


def _add_electrodes(f: Any, b: _Builder) -> None:
    path = "general/extracellular_ephys/electrodes"
    if path not in f or not is_group(f[path]):
        return
    with reading("/" + path):
        ids, cols = read_table(f[path])
    b.coords["electrode"] = ("electrode", np.asarray(ids))
    for col in cols:
        if not col.ragged and col.values.ndim == 1 and len(col.values) == len(ids):
            b.coords[f"electrode_{col.name}"] = ("electrode", col.values)


def _metadata(f: Any, src: Source, version: str, checksum: bool) -> dict:
    local = src.local
    attrs: dict = {"source_path": str(local.resolve()) if local is not None else src.label,
                   "nwb_version": version, "neurodata_version": __version__}
    if checksum and src.layout == "hdf5" and local is not None and \
            (src.size or 0) <= CHECKSUM_LIMIT_BYTES:
        attrs["source_sha256"] = file_sha256(local)
    for key, name in (("identifier", "nwb_identifier"), ("session_start_time", "session_start_time"),
                      ("timestamps_reference_time", "timestamps_reference_time"),
                      ("session_description", "session_description")):
        v = read_scalar(f, key)
        if v is not None:
            attrs[name] = str(v)
    for key in ("institution", "lab", "experimenter", "experiment_description", "session_id"):
        v = read_scalar(f["general"], key) if "general" in f and is_group(f["general"]) else None
        if v is not None:
            attrs[key] = ", ".join(map(str, v)) if isinstance(v, np.ndarray) else str(v)
    if "general/subject" in f and is_group(f["general/subject"]):
        for key, obj in f["general/subject"].items():
            if is_dataset(obj) and obj.shape == ():
                attrs[f"subject_{key}"] = str(read_scalar(f["general/subject"], key))
    return attrs


def _build(src: Source, lazy: bool, require_neural: bool, units: Sequence | None,
           checksum: bool) -> xr.Dataset:
    f, label = src.root, src.label
    version = _nwb_version(f, label)
    b = _Builder(lazy)
    _add_units(f, b, units)
    with reading("/acquisition"):
        series = find_series(f)
    used = _add_roi_traces(f, series, b)
    _add_numbered(series, b, used)
    _add_other_series(f, series, b, used)
    _add_intervals(f, b)
    _add_electrodes(f, b)
    if "units" in f and "spike_times" not in b.data_vars and not b.neural and \
            "spike_times_index" in f["units"] and "id" in f["units"]:
        raise NoNeuralDataError(
            f"{label}: the Units table lists {f['units/id'].shape[0]} units but every spike "
            f"train is empty, and the file has no other neural data; the spikes were "
            f"probably not exported. Re-export the sorted spikes into the NWB file.")
    if require_neural and not b.neural:
        raise NoNeuralDataError(
            f"{label} holds no neural data (no spikes, imaging traces or electrical series). "
            f"To open its behaviour or metadata anyway, pass require_neural=False.")
    with reading("/general"):
        attrs = _metadata(f, src, version, checksum)
    with reading("/"):
        ds = xr.Dataset(b.data_vars, coords=b.coords, attrs=attrs)
    _check_conventions(ds, label)
    return ds


def _check_conventions(ds: xr.Dataset, label: str) -> None:
    """validate() on everything read at open (lazy spikes are checked when read)."""
    lazy_spikes = [v for v in ("spike_times", "spike_unit") if v in ds and ds[v].chunks]
    try:
        validate(ds.drop_vars(lazy_spikes))
    except InvalidRecordingError as err:
        raise FileFormatError(f"{label}: the file's content breaks the recording conventions: "
                              f"{err}") from None


def open_nwb(path: str | os.PathLike, *, lazy: bool = True, checksum: bool = True,
             require_neural: bool = True, units: Sequence | None = None, cache=None,
             retries: int = 3, backoff: float = 0.5, timeout: float = 30.0) -> xr.Dataset:
    """Open an NWB 2.x file or NWB Zarr store, local or remote, as a recording Dataset.

    Parameters
    ----------
    path : str or path-like
        An NWB HDF5 file, an NWB Zarr store (the folder written by hdmf-zarr),
        or the ``http(s)://`` URL of either.  It is opened read-only and never
        modified.  A URL is streamed with HTTP range requests: the open reads
        metadata only, and each computation fetches only the chunks it touches.
    lazy : bool, default True
        Keep bulk data (spike trains, traces, series) as dask arrays that read
        the file only when computed; the Dataset then holds the file open until
        ``ds.close()`` (or the end of a ``with`` block).  With ``lazy=False``
        everything is read and the file is closed at once.
    checksum : bool, default True
        Record a local HDF5 file's sha256 in ``attrs["source_sha256"]``
        (skipped for files over 2 GiB, Zarr stores and URLs, where it would
        read everything).
    require_neural : bool, default True
        Raise :class:`NoNeuralDataError` if the file holds no spikes, imaging
        traces or electrical series.
    units : sequence of unit ids, optional
        Keep only these rows of the Units table; only their slices of the
        spike times are ever read (over HTTP: only their bytes are fetched).
    cache : path-like, optional
        For URLs: a folder that keeps the fetched blocks on disk, so a second
        open of the same URL (in this or a later session) reads no byte twice.
        Default: blocks are cached in memory for the life of the Dataset.
    retries : int, default 3
        For URLs: how often a failed request (dropped connection, timeout,
        server error) is retried before :class:`RemoteError` is raised.
    backoff : float, default 0.5
        Seconds to wait before the first retry; doubled before each next one.
    timeout : float, default 30
        Seconds a request may wait for the server to connect or send data.

    Returns
    -------
    xarray.Dataset
        Following :mod:`neurodata.schema`: units and ``spike_times`` /
        ``spike_unit``; every RoiResponseSeries as a ``(time, roi)`` variable
        with PlaneSegmentation columns (``iscell``, ROI pixel counts and
        centroids) as ``roi`` coordinates; one-series-per-neuron groups as one
        ``(time, roi)`` variable; other series on their own ``time_<name>``
        dimensions; each interval table as its own dimension; the electrodes
        table on ``electrode``; provenance and subject metadata in ``attrs``.

    Raises
    ------
    FileFormatError
        Missing path, a directory, a non-HDF5 or truncated file, NWB 1.x, or
        any malformed content (the message names the NWB object path).
    RemoteError
        A URL that is not found, or a server that keeps failing or stays
        silent past ``timeout`` on every retry.
    NoNeuralDataError
        No neural data (see ``require_neural``), or a Units table whose spike
        trains are all empty.

    Notes
    -----
    Whatever a file holds, the result is a :func:`~neurodata.validate`-clean
    recording or one of the errors above; an error never leaves the file open.
    Traces stored ROI-first, against the convention, are detected from the
    ROI count of their table and transposed with a :class:`NeurodataWarning`;
    series whose timestamps run backwards are sorted, with a warning.

    Examples
    --------
    >>> from neurodata.datasets import sample_path
    >>> with open_nwb(sample_path("sample_session")) as ds:
    ...     print(ds.sizes["unit"], ds.sizes["trial"])
    24 40

    Streaming over HTTP (here from a server on this machine):

    >>> from neurodata.io._http_server import RangeServer
    >>> with RangeServer(sample_path().parent) as server:
    ...     with open_nwb(server.url("sample_session.nwb"), units=[3]) as ds:
    ...         print(ds.sizes["unit"], int(ds.spike_unit.max()))
    1 3
    """
    opts = RemoteOptions.make(cache=cache, retries=retries, backoff=backoff, timeout=timeout)
    src = open_source(path, opts)
    token = SOURCE.set(src.label)
    try:
        with warnings.catch_warnings():
            # complex numbers where real ones belong: an error, never a silent cast
            warnings.simplefilter("error", _COMPLEX_WARNING)
            ds = _build(src, lazy, require_neural, units, checksum)
            if not lazy:
                ds = ds.load()
    except NeurodataError:
        src.close()
        raise
    except Exception as err:
        src.close()
        raise malformed(src.label, err) from err
    finally:
        SOURCE.reset(token)
    if lazy:
        ds.set_close(src.close)
    else:
        src.close()
    return ds


def can_open_nwb(path: str | os.PathLike) -> bool:
    """True for an NWB 2.x file or Zarr store, or an http(s) URL (never reads a URL).

    A local file's header (or a store's root attributes) is read; a URL is
    claimed without a request, so that the reader's own error says what is
    wrong with it.

    Examples
    --------
    >>> from neurodata.datasets import sample_path
    >>> can_open_nwb(sample_path()), can_open_nwb("/no/such/file.nwb")
    (True, False)
    >>> can_open_nwb("https://example.org/session.nwb")
    True
    """
    if is_url(path):
        return True
    version = probe_nwb_version(path)
    return version is not None and version.replace("NWB-", "").startswith("2.")


register_reader(Reader("nwb", can_open_nwb, open_nwb,
                       "NWB 2.x files and NWB Zarr stores, local or over HTTP(S)"))
