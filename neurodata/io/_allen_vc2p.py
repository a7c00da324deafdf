"""Allen Brain Observatory Visual Coding 2P experiments (NWB 1.x files), read with h5py.

allensdk reads these files but pins an old scientific stack, and pynwb cannot
read NWB 1.x at all; this reader needs neither.  It follows the layout of
the Brain Observatory NWB files: ``processing/brain_observatory_pipeline``
holds DfOverF, Fluorescence (raw, neuropil, demixed), ImageSegmentation (cell
specimen ids, one image mask per ROI) and running speed;
``stimulus/presentation`` holds one series per stimulus, whose
``frame_duration`` rows are the first and last imaging frame of each
presentation; ``stimulus/templates`` holds the image stacks shown.

The per-stimulus tables are those allensdk's ``BrainObservatoryNwbDataSet``
builds: feature columns (drifting and static gratings), ``frame`` (natural
scenes, locally sparse noise, natural movies, with the ``repeat`` of each
movie frame), or the start/end pairs of spontaneous activity; every table
sorted by start and end frame, with ``start_frame`` / ``end_frame`` and
their imaging-frame times as ``start_time`` / ``stop_time``.
"""

from __future__ import annotations

import os
import uuid

import dask
import dask.array as da
import h5py
import numpy as np
import xarray as xr

from neurodata._version import __version__
from neurodata.errors import FileFormatError
from neurodata.io._allen_nwb2 import lazy_read
from neurodata.io._h5 import _decode, file_sha256, nwb_header, open_h5, read_scalar, snake
from neurodata.io._registry import Reader, register_reader
from neurodata.schema import STIMULUS_TABLE

__all__ = ["open_allen_vc2p"]

PIPELINE = "processing/brain_observatory_pipeline"
_META = ("ophys_experiment_id", "experiment_container_id", "session_type", "targeted_structure",
         "specimen_name", "fov", "pixel_size", "session_id", "institution")
#: allensdk's kinds of stimulus table, by stimulus name.
MOVIES = ("natural_movie_one", "natural_movie_two", "natural_movie_three")


def _time_axis(f: h5py.File, g: h5py.Group, n: int) -> np.ndarray:
    t = np.asarray(g["timestamps"][()], dtype=np.float64) if "timestamps" in g \
        else np.arange(n, dtype=np.float64)
    return t[:n]


def _roi_first(g: h5py.Group, n_time: int, n_roi: int | None) -> bool:
    """Whether a trace is stored ``(roi, time)``, as the released files store them."""
    shape = g["data"].shape
    if len(shape) != 2 or shape[0] == shape[1]:
        return n_roi is not None and shape[0] == n_roi and shape[0] != n_time
    return shape[1] == n_time if n_time else shape[0] == n_roi


def _traces(p, f: h5py.File, coords: dict, data_vars: dict, lazy: bool) -> None:
    dff_g = f[f"{PIPELINE}/DfOverF/imaging_plane_1"]
    seg = f.get(f"{PIPELINE}/ImageSegmentation")
    ids = np.asarray(seg["cell_specimen_ids"][()]) if seg is not None and \
        "cell_specimen_ids" in seg else None
    n_ts = dff_g["timestamps"].shape[0] if "timestamps" in dff_g else 0
    transpose = _roi_first(dff_g, n_ts, None if ids is None else ids.size)
    shape = dff_g["data"].shape[::-1] if transpose else dff_g["data"].shape
    t = _time_axis(f, dff_g, shape[0])
    n_t, n_roi = t.size, shape[1]
    coords["time"] = ("time", t, {"units": "s"})
    coords["roi"] = ("roi", ids[:n_roi] if ids is not None and len(ids) >= n_roi
                     else np.arange(n_roi))
    if "roi_names" in dff_g and len(dff_g["roi_names"]) == n_roi:
        coords["roi_name"] = ("roi", _decode(np.asarray(dff_g["roi_names"][()], dtype=object)))

    def read(g: h5py.Group):
        data = lazy_read(p, f, g["data"].name) if lazy else np.asarray(g["data"][()])
        return data.T[:n_t] if transpose else data[:n_t]

    data_vars["dff"] = (("time", "roi"), read(dff_g), {"units": "1", "nwb_path": dff_g.name})
    fl = f.get(f"{PIPELINE}/Fluorescence")
    names = {"imaging_plane_1": "fluorescence", "imaging_plane_1_neuropil_response": "neuropil",
             "imaging_plane_1_demixed_signal": "demixed"}
    for key, name in names.items():
        if fl is not None and key in fl and fl[key]["data"].shape == dff_g["data"].shape:
            data_vars[name] = (("time", "roi"), read(fl[key]), {"nwb_path": fl[key].name})
    if fl is not None and "imaging_plane_1/r" in fl and fl["imaging_plane_1/r"].shape[0] == n_roi:
        coords["neuropil_r"] = ("roi", np.asarray(fl["imaging_plane_1/r"][()], dtype=np.float64))
    _masks(p, seg, n_roi, data_vars)


def _read_masks(path: str, names: list[str]) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return np.stack([np.asarray(f[n][()], dtype=np.float32) for n in names])


def _masks(p, seg: h5py.Group | None, n_roi: int, data_vars: dict) -> None:
    """``roi_mask(roi, mask_y, mask_x)`` from the per-ROI ``img_mask`` datasets, lazily."""
    plane = seg.get("imaging_plane_1") if seg is not None else None
    if plane is None:
        return
    rois = sorted(k for k in plane if k.startswith("roi_") and "img_mask" in plane[k])
    if len(rois) != n_roi:
        return
    names = [plane[k]["img_mask"].name for k in rois]
    shape = (n_roi, *plane[rois[0]]["img_mask"].shape)
    task = dask.delayed(_read_masks, pure=True)(str(p), names,
                                                dask_key_name=f"allen-masks-{uuid.uuid4().hex}")
    data_vars["roi_mask"] = (("roi", "mask_y", "mask_x"),
                             da.from_delayed(task, shape=shape, dtype=np.float32), {})


def _rows(name: str, g: h5py.Group) -> tuple[np.ndarray, np.ndarray, dict]:
    """(start frames, end frames, columns) of one stimulus, as allensdk builds its table."""
    data = np.asarray(g["data"][()])
    frames = np.asarray(g["frame_duration"][()]) if "frame_duration" in g else np.zeros((0, 2))
    frames = frames.reshape(frames.shape[0], -1) if frames.size else np.zeros((0, 2))
    if frames.shape[1] < 2:  # files cut to length 1 keep a (1, 1) frame_duration
        frames = np.column_stack([frames[:, 0], np.full(frames.shape[0], -1)])
    n = min(data.shape[0], frames.shape[0])
    cols: dict = {}
    if name == "spontaneous":
        start = frames[:n, 0][data[:n] == 1].astype(np.int64)
        end = frames[:n, 0][data[:n] == -1].astype(np.int64)
        m = min(start.size, end.size)
        return start[:m], end[:m], cols
    start, end = frames[:n, 0].astype(np.int64), frames[:n, 1].astype(np.int64)
    if "features" in g and data.ndim == 2:
        feats = [snake(str(x)) for x in _decode(np.asarray(g["features"][()], dtype=object))]
        for k, feat in enumerate(feats[: data.shape[1]]):
            cols[feat] = data[:n, k].astype(np.float64)
    elif data.ndim == 1:
        cols["frame"] = data[:n]
        if name in MOVIES and n:
            n_frames = np.unique(data[:n]).size
            cols["repeat"] = np.arange(n) // max(n_frames, 1)
    return start, end, cols


def _stimulus_tables(f: h5py.File, frame_times: np.ndarray, coords: dict) -> None:
    if "stimulus/presentation" not in f:
        return
    for key, g in f["stimulus/presentation"].items():
        if not isinstance(g, h5py.Group) or "data" not in g:
            continue
        dim = snake(key.removesuffix("_stimulus"))
        start_f, end_f, cols = _rows(dim, g)
        order = np.lexsort((end_f, start_f))  # allensdk sorts by (start, end)
        start_f, end_f = start_f[order], end_f[order]
        times = []
        for idx in (start_f, end_f):
            ok = (idx >= 0) & (idx < frame_times.size)
            t = np.full(idx.size, np.nan)
            t[ok] = frame_times[idx[ok]]
            times.append(t)
        if not np.all(np.isfinite(times[0])):  # frames beyond the time axis (cut files)
            ts = _time_axis(f, g, start_f.size)
            times[0] = ts[order] if ts.size == start_f.size else np.zeros(start_f.size)
        coords[dim] = (dim, np.arange(start_f.size))
        coords[f"{dim}_start_time"] = (dim, times[0], {"units": "s", **STIMULUS_TABLE})
        coords[f"{dim}_stop_time"] = (dim, times[1], {"units": "s"})
        coords[f"{dim}_start_frame"] = (dim, start_f)
        coords[f"{dim}_end_frame"] = (dim, end_f)
        for col, values in cols.items():
            coords[f"{dim}_{col}"] = (dim, np.asarray(values)[order])


def _templates(p, f: h5py.File, data_vars: dict) -> None:
    """Each ``stimulus/templates/<name>_image_stack`` as ``<name>_template``, lazily."""
    tmpl = f.get("stimulus/templates")
    for key, g in (tmpl.items() if tmpl is not None else []):
        if not isinstance(g, h5py.Group) or "data" not in g or g["data"].ndim != 3:
            continue
        name = snake(key.removesuffix("_image_stack"))
        data_vars[f"{name}_template"] = ((f"{name}_image", f"{name}_y", f"{name}_x"),
                                         lazy_read(p, f, g["data"].name),
                                         {"nwb_path": g.name, "long_name": f"{name} stimulus"})


def _attrs(f: h5py.File, p, version: str, checksum: bool) -> dict:
    attrs = {"source_path": str(p.resolve()), "nwb_version": version,
             "neurodata_version": __version__, "allen_session_type": "Visual Coding 2P",
             "nwb_identifier": str(read_scalar(f, "identifier", "")),
             "session_start_time": str(read_scalar(f, "session_start_time", "")),
             "session_description": str(read_scalar(f, "session_description", ""))}
    if checksum:
        attrs["source_sha256"] = file_sha256(p)
    for key in _META:
        v = read_scalar(f["general"], key)
        if v is not None:
            attrs[key] = str(v)
    plane = f.get("general/optophysiology/imaging_plane_1")
    if plane is not None:
        for key in ("indicator", "location", "imaging depth", "imaging_rate"):
            v = read_scalar(plane, key)
            if v is not None:
                attrs[snake(key)] = str(v)
    for key in ("age", "sex", "genotype", "species", "subject_id"):
        v = read_scalar(f.get("general/subject", f), key)
        if v is not None:
            attrs[f"subject_{key}"] = str(v)
    return attrs


def open_allen_vc2p(path: str | os.PathLike, *, lazy: bool = True,
                    checksum: bool = True) -> xr.Dataset:
    """Open an Allen Brain Observatory Visual Coding 2P NWB 1.x file as a recording.

    Parameters
    ----------
    path : path-like
        The ``<ophys_experiment_id>.nwb`` file (NWB 1.0.x), opened read-only.
    lazy : bool
        Keep traces, masks and stimulus templates as dask arrays (default).
    checksum : bool
        Record the file's sha256 in attrs.

    Returns
    -------
    xarray.Dataset
        ``dff(time, roi)`` and, when present, ``fluorescence``, ``neuropil`` and
        ``demixed`` traces on the same axes (the released files store traces
        ROI-first; they are transposed, lazily); ``roi`` holds the cell specimen
        ids; ``roi_mask(roi, mask_y, mask_x)``; ``running_speed`` on
        ``time_running_speed``; one stimulus table per stimulus
        (``drifting_gratings``, ``static_gratings``, ``natural_scenes``,
        ``natural_movie_one``, ``locally_sparse_noise``, ``spontaneous``, ...)
        as allensdk builds them (see the module notes); the stimulus
        templates (``natural_scenes_template``, ...); experiment metadata in
        attrs.

    Raises
    ------
    FileFormatError
        If the file is not an Allen Brain Observatory NWB 1.x file (use
        :func:`neurodata.open_nwb` for NWB 2).

    Examples
    --------
    >>> from neurodata.datasets import make_allen_like
    >>> ds = open_allen_vc2p(make_allen_like("vc2p", n_rois=4, duration=120.0))
    >>> ds.dff.dims, ds.sizes["roi"], int(ds.natural_movie_one_repeat.max())
    (('time', 'roi'), 4, 1)
    """
    f, p = open_h5(path)
    with f:
        version = str(read_scalar(f, "nwb_version", ""))
        if f"{PIPELINE}/DfOverF/imaging_plane_1" not in f:
            hint = "use neurodata.open_allen or open_nwb for NWB 2 files" \
                if not version.startswith("NWB-1") else \
                "this NWB 1 file has no Brain Observatory pipeline output"
            raise FileFormatError(f"{p} is not an Allen Brain Observatory Visual Coding 2P file "
                                  f"({hint}).")
        coords: dict = {}
        data_vars: dict = {}
        _traces(p, f, coords, data_vars, lazy)
        run = f.get(f"{PIPELINE}/BehavioralTimeSeries/running_speed")
        if run is not None and "data" in run:
            speed = np.asarray(run["data"][()], dtype=np.float64)
            speed = speed[:, 0] if speed.ndim == 2 else speed
            coords["time_running_speed"] = ("time_running_speed",
                                            _time_axis(f, run, speed.shape[0]), {"units": "s"})
            data_vars["running_speed"] = ("time_running_speed", speed[: coords[
                "time_running_speed"][1].size], {"units": "cm/s", "nwb_path": run.name})
        _stimulus_tables(f, coords["time"][1], coords)
        _templates(p, f, data_vars)
        ds = xr.Dataset(data_vars, coords=coords, attrs=_attrs(f, p, version, checksum))
    return ds if lazy else ds.load()


def can_open_allen_vc2p(path: str | os.PathLike) -> bool:
    """True for an NWB 1.x file with Allen Brain Observatory pipeline output (header only).

    Examples
    --------
    >>> from neurodata.datasets import sample_path
    >>> can_open_allen_vc2p(sample_path())
    False
    """
    version, (pipeline,) = nwb_header(path, PIPELINE)
    return version is not None and version.replace("NWB-", "").startswith("1.") and pipeline


register_reader(Reader("allen-vc2p", can_open_allen_vc2p, open_allen_vc2p,
                       "Allen Brain Observatory Visual Coding 2P NWB 1.x files", priority=10))
