"""``open_allen``: Allen Brain Observatory Visual Coding 2P NWB 1.x files, read with h5py.

allensdk reads these files but pins an old scientific stack (numpy < 1.24,
pandas 1.5, xarray < 2023.2, scipy < 1.11), and pynwb cannot read NWB 1.x at
all; this reader needs neither.  It follows the layout of the Brain
Observatory NWB files: ``processing/brain_observatory_pipeline`` holds
DfOverF, Fluorescence (raw, neuropil, demixed), ImageSegmentation (cell
specimen ids) and running speed; ``stimulus/presentation`` holds one series
per stimulus, whose ``frame_duration`` rows are the first and last imaging
frame of each presentation (the convention allensdk uses for its stimulus
tables).
"""

from __future__ import annotations

import os

import h5py
import numpy as np
import xarray as xr

from neurodata._version import __version__
from neurodata.errors import FileFormatError
from neurodata.io._h5 import _decode, file_sha256, nwb_header, open_h5, read_scalar, snake
from neurodata.io._registry import Reader, register_reader

__all__ = ["open_allen"]

PIPELINE = "processing/brain_observatory_pipeline"
_META = ("ophys_experiment_id", "experiment_container_id", "session_type", "targeted_structure",
         "specimen_name", "fov", "pixel_size", "session_id", "institution")


def _series(g: h5py.Group) -> tuple[np.ndarray, np.ndarray]:
    data = np.asarray(g["data"][()])
    t = np.asarray(g["timestamps"][()], dtype=np.float64) if "timestamps" in g \
        else np.arange(data.shape[0], dtype=np.float64)
    return data, t[: data.shape[0]]


def _traces(f: h5py.File, coords: dict, data_vars: dict) -> None:
    dff_g = f[f"{PIPELINE}/DfOverF/imaging_plane_1"]
    dff, t = _series(dff_g)
    coords["time"] = ("time", t, {"units": "s"})
    n_roi = dff.shape[1]
    ids = f[f"{PIPELINE}/ImageSegmentation/cell_specimen_ids"][()] \
        if f"{PIPELINE}/ImageSegmentation/cell_specimen_ids" in f else np.arange(n_roi)
    coords["roi"] = ("roi", np.asarray(ids)[:n_roi] if len(ids) >= n_roi else np.arange(n_roi))
    if "roi_names" in dff_g and len(dff_g["roi_names"]) == n_roi:
        coords["roi_name"] = ("roi", _decode(np.asarray(dff_g["roi_names"][()], dtype=object)))
    data_vars["dff"] = (("time", "roi"), dff, {"units": "1", "nwb_path": dff_g.name})
    fl = f.get(f"{PIPELINE}/Fluorescence")
    names = {"imaging_plane_1": "fluorescence", "imaging_plane_1_neuropil_response": "neuropil",
             "imaging_plane_1_demixed_signal": "demixed"}
    for key, name in names.items():
        if fl is not None and key in fl:
            d, _ = _series(fl[key])
            if d.shape == dff.shape:
                data_vars[name] = (("time", "roi"), d, {"nwb_path": fl[key].name})
    if fl is not None and "imaging_plane_1/r" in fl and fl["imaging_plane_1/r"].shape[0] == n_roi:
        coords["neuropil_r"] = ("roi", np.asarray(fl["imaging_plane_1/r"][()], dtype=np.float64))


def _stimulus_tables(f: h5py.File, frame_times: np.ndarray, coords: dict) -> None:
    if "stimulus/presentation" not in f:
        return
    for name, g in f["stimulus/presentation"].items():
        if not isinstance(g, h5py.Group) or "data" not in g:
            continue
        dim = snake(name.removesuffix("_stimulus"))
        data = np.asarray(g["data"][()])
        n = data.shape[0]
        frames = np.asarray(g["frame_duration"][()]) if "frame_duration" in g else np.empty((n, 0))
        start = np.full(n, np.nan)
        stop = np.full(n, np.nan)
        for col, out in ((0, start), (1, stop)):
            if frames.ndim == 2 and frames.shape[1] > col:
                idx = frames[:n, col].astype(np.int64)
                ok = (idx >= 0) & (idx < frame_times.size)
                out[: idx.size][ok] = frame_times[idx[ok]]
        if not np.all(np.isfinite(start)):
            start = np.asarray(g["timestamps"][()], dtype=np.float64)[:n] \
                if "timestamps" in g else np.zeros(n)
        coords[dim] = (dim, np.arange(n))
        coords[f"{dim}_start_time"] = (dim, start, {"units": "s"})
        coords[f"{dim}_stop_time"] = (dim, stop, {"units": "s"})
        if "features" in g and data.ndim == 2:
            feats = [str(x) for x in _decode(np.asarray(g["features"][()], dtype=object))]
            for k, feat in enumerate(feats[: data.shape[1]]):
                coords[f"{dim}_{snake(feat)}"] = (dim, data[:, k].astype(np.float64))
        elif data.ndim == 1:
            coords[f"{dim}_frame"] = (dim, data)


def open_allen(path: str | os.PathLike, *, checksum: bool = True) -> xr.Dataset:
    """Open an Allen Brain Observatory Visual Coding 2P NWB 1.x file as a recording.

    Parameters
    ----------
    path : path-like
        The ``<ophys_experiment_id>.nwb`` file (NWB 1.0.x), opened read-only.
    checksum : bool
        Record the file's sha256 in attrs.

    Returns
    -------
    xarray.Dataset
        ``dff(time, roi)`` and, when present, ``fluorescence``, ``neuropil`` and
        ``demixed`` traces on the same axes; ``roi`` holds the cell specimen
        ids; ``running_speed`` on ``time_running_speed``; one interval table per
        stimulus (``static_gratings``, ``natural_scenes``, ...) whose start and
        stop times are the imaging-frame times of each presentation and whose
        stimulus features (orientation, spatial frequency, ...) are columns;
        experiment metadata (experiment id, session type, targeted structure,
        imaging depth, indicator, Cre line) in attrs.

    Raises
    ------
    FileFormatError
        If the file is not an Allen Brain Observatory NWB 1.x file (use
        :func:`neurodata.open_nwb` for NWB 2).

    Examples
    --------
    >>> open_allen("/no/such/file.nwb")
    Traceback (most recent call last):
    ...
    neurodata.errors.FileFormatError: no file at /no/such/file.nwb; check the path ...
    """
    f, p = open_h5(path)
    with f:
        version = str(read_scalar(f, "nwb_version", ""))
        if f"{PIPELINE}/DfOverF/imaging_plane_1" not in f:
            hint = "use neurodata.open_nwb for NWB 2 files" if not version.startswith("NWB-1") \
                else "this NWB 1 file has no Brain Observatory pipeline output"
            raise FileFormatError(f"{p} is not an Allen Brain Observatory 2P file ({hint}).")
        coords: dict = {}
        data_vars: dict = {}
        _traces(f, coords, data_vars)
        run = f"{PIPELINE}/BehavioralTimeSeries/running_speed"
        if run in f:
            speed, ts = _series(f[run])
            coords["time_running_speed"] = ("time_running_speed", ts, {"units": "s"})
            data_vars["running_speed"] = ("time_running_speed", speed.astype(np.float64),
                                          {"units": "cm/s"})
        _stimulus_tables(f, coords["time"][1], coords)
        attrs = {"source_path": str(p.resolve()), "nwb_version": version,
                 "neurodata_version": __version__,
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
        return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def can_open_allen(path: str | os.PathLike) -> bool:
    """True for an NWB 1.x file with Allen Brain Observatory pipeline output (header only).

    Examples
    --------
    >>> from neurodata.datasets import sample_path
    >>> can_open_allen(sample_path())
    False
    """
    version, (pipeline,) = nwb_header(path, PIPELINE)
    return version is not None and version.replace("NWB-", "").startswith("1.") and pipeline


register_reader(Reader("allen-vc2p", can_open_allen, open_allen,
                       "Allen Brain Observatory Visual Coding 2P NWB 1.x files", priority=10))
