"""Allen Brain Observatory Visual Behavior 2P (ophys) experiment files (NWB 2).

One file per imaging plane: ``processing/ophys`` holds ``dff/traces``,
``corrected_fluorescence/traces`` (and neuropil / demixed traces where
present), ``event_detection`` (detected events with each ROI's lambda and
noise standard deviation) and ``image_segmentation/cell_specimen_table``
(ROI masks and the cell specimen ids); running, licks, rewards, trials, eye
tracking and one ``<stimulus>_presentations`` table per stimulus complete it.
"""

from __future__ import annotations

import os
from pathlib import Path

import dask.array as da
import h5py
import numpy as np
import xarray as xr

from neurodata.errors import FileFormatError
from neurodata.io._allen_nwb2 import (
    Parts,
    allen_header,
    behavior_series,
    has_presentations,
    lazy_read,
    open_reshaped,
    running_series,
    session_attrs,
    stimulus_tables,
)
from neurodata.io._h5 import read_scalar
from neurodata.io._registry import Reader, register_reader

__all__ = ["open_allen_behavior_ophys"]

OPHYS = "processing/ophys"
SEGMENTATION = f"{OPHYS}/image_segmentation/cell_specimen_table"


def _events(parts: Parts, f: h5py.File) -> None:
    """Detected events as ``events(time, roi)`` (NaN for ROIs without events) and their fits."""
    g = f.get(f"{OPHYS}/event_detection")
    name = parts.find(f"{OPHYS}/event_detection")
    if g is None or name is None or "roi" not in parts.coords:
        return
    var = parts.vars.pop(name)
    rows = np.asarray(g["rois"][()], dtype=np.int64) if "rois" in g else np.arange(var.shape[1])
    n_roi = parts.coords["roi"].size
    where = np.full(n_roi, rows.size, dtype=np.int64)  # the NaN column for ROIs without events
    where[rows] = np.arange(rows.size)
    t = parts.coords[str(var.dims[0])].values
    data = var.data
    if not (rows.size == n_roi and np.array_equal(rows, np.arange(n_roi))):
        pad = da.full((data.shape[0], 1), np.nan, dtype=np.float64)
        data = da.concatenate([data.astype(np.float64), pad], axis=1)[:, where]
    tdim = "time" if np.array_equal(parts.coords["time"].values, t) else "time_events"
    parts.coords.setdefault(tdim, xr.Variable(tdim, t, {"units": "s"}))
    parts.vars["events"] = xr.Variable((tdim, "roi"), data, {**var.attrs, "units": "1",
                                                             "long_name": "detected events"})
    for key, coord in (("lambdas", "roi_event_lambda"), ("noise_stds", "roi_noise_std")):
        if key in g:
            v = np.append(np.asarray(g[key][()], dtype=np.float64), np.nan)[where]
            parts.coords[coord] = xr.Variable("roi", v)
    parts.drop_unused()


def _plane_attrs(f: h5py.File) -> dict:
    attrs = {}
    planes = f.get("general/optophysiology")
    for plane in (planes.values() if planes is not None else []):
        for key in ("location", "indicator", "imaging_rate", "excitation_lambda", "description"):
            v = read_scalar(plane, key)
            if v is not None:
                attrs[f"imaging_plane_{key}"] = str(v)
        break
    return attrs


def open_allen_behavior_ophys(path: str | os.PathLike, *, lazy: bool = True,
                              checksum: bool = True) -> xr.Dataset:
    """Open an Allen Visual Behavior 2P experiment (one imaging plane) as a recording.

    Parameters
    ----------
    path : path-like
        ``behavior_ophys_experiment_<id>.nwb``.
    lazy : bool
        Keep traces, events and masks as dask arrays (default).
    checksum : bool
        Record the file's sha256 in attrs.

    Returns
    -------
    xarray.Dataset
        ``dff``, ``corrected_fluorescence`` and ``events`` on ``(time, roi)``
        (``roi`` holds the cell ROI ids, with ``cell_specimen_id``,
        ``valid_roi``, position, ``roi_event_lambda`` and ``roi_noise_std`` as
        coordinates); ``roi_mask(roi, mask_y, mask_x)``; one interval dimension
        per stimulus (the image set's flashes with ``image_name``,
        ``omitted``, ``is_change``, ...); ``trial``; ``running_speed``;
        ``lick_frame`` on ``time_lick``; ``reward_volume`` on ``time_reward``;
        pupil, eye and corneal-reflection ellipses on ``time_eye_tracking``.

    Examples
    --------
    >>> from neurodata.datasets import make_allen_like
    >>> with open_allen_behavior_ophys(make_allen_like("vbo", n_rois=5, duration=60.0)) as ds:
    ...     print(ds.dff.dims, ds.roi_mask.dims)
    ('time', 'roi') ('roi', 'mask_y', 'mask_x')
    """
    return open_reshaped(path, lazy, checksum, _reshape)


def _reshape(p: Path, f: h5py.File, parts: Parts) -> None:
    if f"{OPHYS}/dff" not in f:
        raise FileFormatError(f"{p} has no {OPHYS}/dff traces: it is not an Allen Visual "
                              f"Behavior 2P experiment file.")
    for src, name in (("corrected_fluorescence", "corrected_fluorescence"),
                      ("neuropil_trace", "neuropil"), ("demixed_trace", "demixed")):
        parts.move(f"{OPHYS}/{src}/traces", name, "time", ("roi",))
    _events(parts, f)
    if f"{SEGMENTATION}/image_mask" in f:
        parts.vars["roi_mask"] = xr.Variable(("roi", "mask_y", "mask_x"),
                                             lazy_read(p, f, f"{SEGMENTATION}/image_mask"))
    stimulus_tables(parts)
    running_series(parts)
    behavior_series(parts, p, f)
    parts.attrs.update(session_attrs(f, "Visual Behavior 2P"))
    parts.attrs.update(_plane_attrs(f))
    parts.attrs["ophys_experiment_id"] = parts.attrs.get("nwb_identifier", "")


def can_open_allen_behavior_ophys(path: str | os.PathLike) -> bool:
    """An NWB 2 file with ``processing/ophys/dff`` and stimulus presentation tables."""
    nwb2, (dff,) = allen_header(path, f"{OPHYS}/dff")
    return nwb2 and dff and has_presentations(path)


register_reader(Reader("allen-vbo", can_open_allen_behavior_ophys, open_allen_behavior_ophys,
                       "Allen Brain Observatory Visual Behavior 2P experiments", priority=10))
