"""``save_nwb``: a whole recording Dataset written as a standard NWB 2 file."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from neurodata._utils._files import atomic_path
from neurodata.errors import InvalidRecordingError
from neurodata.io._nwb_write import new_nwbfile
from neurodata.io._results import encode_result
from neurodata.schema import interval_dims, interval_table, is_time_dim, validate

__all__ = ["save_nwb"]

#: Units-table columns that NWB reserves for typed data; plain coordinates of
#: these names are not written.
RESERVED_UNIT_COLUMNS = {"spike_times", "obs_intervals", "electrodes", "electrode_group",
                         "waveform_mean", "waveform_sd", "waveforms"}
#: ROI coordinates derived from pixel masks on reading; not written as columns.
DERIVED_ROI_COORDS = {"roi_n_pixels", "roi_centroid_x", "roi_centroid_y", "roi_centroid_z",
                      "plane"}


def _writable(values: np.ndarray) -> bool:
    if values.dtype.kind in "biuf":
        return True
    return values.dtype.kind in "OU" and all(isinstance(v, str) for v in values.ravel())


def _column_values(values: np.ndarray) -> np.ndarray:
    return values.astype(object) if values.dtype.kind in "OU" else values


def _write_units(nwbfile, ds: xr.Dataset) -> set[str]:
    if "spike_times" not in ds.variables:
        return set()
    ids = np.asarray(ds["unit"].values)
    st = np.asarray(ds["spike_times"].values, dtype=np.float64)
    su = np.asarray(ds["spike_unit"].values)
    order = np.argsort(su, kind="stable")  # keeps each unit's spikes in time order
    bounds = np.searchsorted(su[order], ids, side="left"), np.searchsorted(su[order], ids, "right")
    cols = {str(k): np.asarray(v.values) for k, v in ds.coords.items()
            if v.dims == ("unit",) and k != "unit" and str(k) not in RESERVED_UNIT_COLUMNS
            and _writable(np.asarray(v.values))}
    for name in cols:
        nwbfile.add_unit_column(name=name, description=str(ds[name].attrs.get("description", name)))
    for i, uid in enumerate(ids):
        row = {name: _column_values(v)[i] for name, v in cols.items()}
        nwbfile.add_unit(id=int(uid), spike_times=st[order][bounds[0][i]:bounds[1][i]], **row)
    return {"spike_times", "spike_unit"}


def _pixel_masks(ds: xr.Dataset, dim: str) -> list[list[tuple[int, int, float]]]:
    """Bilinear four-pixel masks whose weighted centroid is the ROI centroid."""
    n = ds.sizes[dim]
    cx = np.asarray(ds["roi_centroid_x"].values) if "roi_centroid_x" in ds.coords \
        and ds["roi_centroid_x"].dims == (dim,) else np.arange(n, dtype=float)
    cy = np.asarray(ds["roi_centroid_y"].values) if "roi_centroid_y" in ds.coords \
        and ds["roi_centroid_y"].dims == (dim,) else np.zeros(n)
    masks = []
    for x, y in zip(cx, cy):
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        masks.append([(x0, y0, (1 - fx) * (1 - fy)), (x0 + 1, y0, fx * (1 - fy)),
                      (x0, y0 + 1, (1 - fx) * fy), (x0 + 1, y0 + 1, fx * fy)])
    return masks


def _plane_segmentation(nwbfile, ds: xr.Dataset, dim: str):
    from pynwb.ophys import ImageSegmentation, OpticalChannel

    device = nwbfile.create_device(name=f"microscope_{dim}")
    plane = nwbfile.create_imaging_plane(
        name=f"imaging_plane_{dim}", optical_channel=OpticalChannel(name="channel", description="green",
                                                              emission_lambda=525.0),
        description="imaging plane", device=device, excitation_lambda=920.0, indicator="unknown",
        location="unknown", imaging_rate=float("nan"))
    seg = ImageSegmentation(name=f"ImageSegmentation_{dim}" if dim != "roi" else "ImageSegmentation")
    ps = seg.create_plane_segmentation(name="PlaneSegmentation" if dim == "roi" else f"Plane_{dim}",
                                       description="ROIs", imaging_plane=plane)
    cols = {str(k): np.asarray(v.values) for k, v in ds.coords.items() if v.dims == (dim,)
            and k != dim and str(k) not in DERIVED_ROI_COORDS and _writable(np.asarray(v.values))}
    for name in cols:
        ps.add_column(name=name, description=name)
    for i, mask in enumerate(_pixel_masks(ds, dim)):
        ps.add_roi(id=int(np.asarray(ds[dim].values)[i]), pixel_mask=mask,
                   **{name: _column_values(v)[i] for name, v in cols.items()})
    return seg, ps


def _write_traces(nwbfile, ds: xr.Dataset) -> set[str]:
    from pynwb.ophys import DfOverF, Fluorescence, RoiResponseSeries

    written: set[str] = set()
    ophys = None
    segs: dict = {}
    containers: dict = {}
    for name, var in ds.data_vars.items():
        rdims = [d for d in var.dims if str(d).startswith("roi")]
        if var.ndim != 2 or not rdims or not is_time_dim(var.dims[0]):
            continue
        dim = str(rdims[0])
        if ophys is None:
            ophys = nwbfile.create_processing_module("ophys", "optical physiology")
        if dim not in segs:
            seg, ps = _plane_segmentation(nwbfile, ds, dim)
            ophys.add(seg)
            segs[dim] = ps
        ps = segs[dim]
        kind = "DfOverF" if name == "dff" else "Fluorescence"
        if kind not in containers:
            containers[kind] = DfOverF(name=kind) if kind == "DfOverF" else Fluorescence(name=kind)
            ophys.add(containers[kind])
        region = ps.create_roi_table_region(description=f"ROIs of {name}",
                                            region=list(range(ds.sizes[dim])))
        containers[kind].add_roi_response_series(RoiResponseSeries(
            name=str(name), data=np.asarray(var.values), rois=region,
            unit=str(var.attrs.get("units") or "a.u."),
            timestamps=np.asarray(var[var.dims[0]].values, dtype=np.float64)))
        written.add(str(name))
    return written


def _write_series(nwbfile, ds: xr.Dataset, skip: set[str]) -> set[str]:
    from pynwb import TimeSeries
    from pynwb.behavior import BehavioralTimeSeries

    written: set[str] = set()
    by_dim: dict[str, list[str]] = {}
    for name, var in ds.data_vars.items():
        if str(name) in skip or not var.dims or not is_time_dim(var.dims[0]):
            continue
        by_dim.setdefault(str(var.dims[0]), []).append(str(name))
    for tdim, names in by_dim.items():
        key = tdim[len("time_"):] if tdim.startswith("time_") else tdim
        holder = None
        if not (len(names) == 1 and names[0] == key):
            holder = BehavioralTimeSeries(name=key)
            nwbfile.add_acquisition(holder)
        for name in names:
            var = ds[name]
            ts = TimeSeries(name=name, data=np.asarray(var.values),
                            unit=str(var.attrs.get("units") or "n/a"),
                            timestamps=np.asarray(ds[tdim].values, dtype=np.float64))
            if holder is None:
                nwbfile.add_acquisition(ts)
            else:
                holder.add_timeseries(ts)
            written.add(name)
    return written


def _write_intervals(nwbfile, ds: xr.Dataset) -> None:
    from pynwb.epoch import TimeIntervals

    for dim in interval_dims(ds):
        table = interval_table(ds, dim)
        ids = np.asarray(ds[dim].values) if dim in ds.coords else np.arange(ds.sizes[dim])
        extra = {str(k): np.asarray(v.values) for k, v in table.data_vars.items()
                 if k not in ("start_time", "stop_time", "tags") and _writable(np.asarray(v.values))}
        if dim == "trial":
            target, add = None, nwbfile.add_trial
            for col in extra:
                nwbfile.add_trial_column(name=col, description=col)
        elif dim == "epoch":
            target, add = None, nwbfile.add_epoch
            for col in extra:
                nwbfile.add_epoch_column(name=col, description=col)
        else:
            target = TimeIntervals(name=dim, description=f"{dim} intervals")
            for col in extra:
                target.add_column(name=col, description=col)
            add = target.add_interval
        start = np.asarray(table["start_time"].values, dtype=np.float64)
        stop = np.asarray(table["stop_time"].values, dtype=np.float64)
        tags = np.asarray(table["tags"].values) if "tags" in table else None
        for i in range(start.size):
            row = {str(c): _column_values(v)[i] for c, v in extra.items()}
            if tags is not None:
                row["tags"] = [t for t in str(tags[i]).split(",") if t]
            add(start_time=start[i], stop_time=stop[i], id=int(ids[i]), **row)
        if target is not None:
            nwbfile.add_time_intervals(target)


def save_nwb(recording: xr.Dataset, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a recording Dataset as a new, standard NWB 2 file (through pynwb).

    Spike trains go to the Units table (unit coordinates as columns);
    ``(time, roi)`` traces to RoiResponseSeries with a PlaneSegmentation whose
    pixel masks keep the ROI centroids; other series to TimeSeries on their
    own timestamps (series that share a time dimension ``time_<k>`` share a
    BehavioralTimeSeries container named ``k``); interval tables to trials,
    epochs and TimeIntervals; anything else (ground-truth arrays of synthetic
    data, say) to the processing module ``neurodata`` as results
    (:func:`read_results`).  :func:`open_nwb` reads the file back with the same
    spike times, traces and intervals.

    Parameters
    ----------
    recording : xarray.Dataset
        A valid recording (checked with :func:`neurodata.validate`).
    path : path-like
        Output file, written atomically.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, os
    >>> from neurodata.datasets import make_poisson_population
    >>> from neurodata.io import open_nwb
    >>> ds = make_poisson_population(n_units=3, n_trials=4, random_state=1)
    >>> out = save_nwb(ds, os.path.join(tempfile.mkdtemp(), "sim.nwb"))
    >>> back = open_nwb(out, lazy=False)
    >>> np.array_equal(back.spike_times, ds.spike_times)
    True
    """
    validate(recording)
    if not isinstance(recording, xr.Dataset):
        raise InvalidRecordingError("save_nwb writes a recording Dataset.")
    ds = recording.load() if any(v.chunks for v in recording.variables.values()) else recording
    nwbfile = new_nwbfile(ds.attrs)
    done = _write_units(nwbfile, ds)
    done |= _write_traces(nwbfile, ds)
    done |= _write_series(nwbfile, ds, done)
    _write_intervals(nwbfile, ds)
    rest = [n for n in ds.data_vars if str(n) not in done]
    if rest:
        pm = nwbfile.create_processing_module("neurodata", "extra variables of the recording")
        for name in rest:
            pm.add(encode_result(ds[name], str(name)))
    from pynwb import NWBHDF5IO

    with atomic_path(path, overwrite=overwrite, suffix=".nwb") as tmp:
        with NWBHDF5IO(str(tmp), mode="w") as io, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Ss]hape.*")  # see write_nwb
            io.write(nwbfile)
    return Path(os.fspath(path)).expanduser()
