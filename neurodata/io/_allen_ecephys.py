"""Allen Brain Observatory Neuropixels sessions (Visual Coding and Visual Behavior) and LFP files.

Session files hold units (spike times, amplitudes, mean waveforms and every
quality metric), channels in the electrodes table (brain area, probe,
position on the probe, validity), probes as electrode groups, one
``<stimulus>_presentations`` table per stimulus, running speed,
optotagging, eye tracking (Visual Coding) or trials, licks and rewards
(Visual Behavior).  Each probe's LFP is in a file of its own
(``probe_<id>_lfp``), with the probe's current source density.

allensdk drops units unless told otherwise (amplitude cutoff <= 0.1,
presence ratio >= 0.95, ISI violations <= 0.5, quality "good", valid and
in-brain peak channels).  Here every unit is kept unless a filter is asked
for by its argument, and the recording's ``unit_filters`` attribute says
which were applied.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import numpy as np
import xarray as xr

from neurodata.errors import FileFormatError
from neurodata.io._allen_nwb2 import (
    Parts,
    allen_header,
    behavior_series,
    has_presentations,
    open_reshaped,
    running_series,
    session_attrs,
    spike_variables,
    stimulus_tables,
    unit_filter_mask,
)
from neurodata.io._h5 import attr_str
from neurodata.io._registry import Reader, register_reader
from neurodata.io._tables import read_table

__all__ = ["open_allen_lfp", "open_allen_neuropixels"]

EYE_PREFIX = {"pupil": "pupil", "cr": "corneal_reflection", "eye": "eye"}


def _probes(f) -> dict:
    """One ``probe`` row per electrode group: id, name, area, sampling rates, LFP availability."""
    groups = [g for g in f.get("general/extracellular_ephys", {}).values()
              if hasattr(g, "attrs") and "probe_id" in g.attrs]
    if not groups:
        return {}
    rows: dict[str, list] = {"probe": [], "probe_name": [], "probe_location": [], "probe_sampling_rate": [],
            "probe_lfp_sampling_rate": [], "probe_has_lfp_data": []}
    for g in groups:
        dev = g.get("device")
        rows["probe"].append(int(g.attrs["probe_id"]))
        rows["probe_name"].append(g.name.rsplit("/", 1)[-1])
        rows["probe_location"].append(attr_str(g, "location", "") or "")
        rows["probe_sampling_rate"].append(float(dev.attrs.get("sampling_rate", np.nan))
                                           if dev is not None else np.nan)
        rows["probe_lfp_sampling_rate"].append(float(g.attrs.get("lfp_sampling_rate", np.nan)))
        rows["probe_has_lfp_data"].append(bool(g.attrs.get("has_lfp_data", False)))
    return {k: xr.Variable("probe", np.asarray(
        v, dtype=object if k in ("probe_name", "probe_location") else None)) for k, v in rows.items()}


def _unit_channels(parts: Parts) -> None:
    """Each unit's brain area, probe and position, from its peak channel."""
    c = parts.coords
    if "peak_channel_id" not in c or "channel" not in c:
        return
    pos = {int(ch): i for i, ch in enumerate(c["channel"].values)}
    idx = np.array([pos.get(int(ch), -1) for ch in c["peak_channel_id"].values], dtype=np.int64)
    ok = idx >= 0
    for src, dst in (("channel_location", "location"), ("channel_probe_id", "probe_id"),
                     ("channel_group_name", "probe_name"),
                     ("channel_probe_vertical_position", "probe_vertical_position"),
                     ("channel_probe_horizontal_position", "probe_horizontal_position"),
                     ("channel_valid_data", "channel_valid")):
        if src in c and dst not in c:
            out = np.asarray(c[src].values)[np.where(ok, idx, 0)]
            if not ok.all():
                out = out.astype(object)
                out[~ok] = None
            c[dst] = xr.Variable("unit", out)


def _optotagging(parts: Parts, f) -> None:
    g = f.get("processing/optotagging/optogenetic_stimulation")
    parts.drop_paths("processing/optotagging")
    if g is None or "start_time" not in g:
        return
    ids, cols = read_table(g)
    parts.coords["optotagging"] = xr.Variable("optotagging", np.asarray(ids))
    for col in cols:
        if not col.ragged and col.values.ndim == 1:
            attrs = {"units": "s"} if col.name in ("start_time", "stop_time") else {}
            parts.coords[f"optotagging_{col.name}"] = xr.Variable("optotagging", col.values, attrs)
    parts.mark_stimulus("optotagging")


def _eye_tracking(parts: Parts, f) -> None:
    """Visual Coding: ellipse fits (``pupil_center_x``, ...) and gaze mapping on one time axis."""
    mod = f.get("processing/eye_tracking")
    for short, prefix in EYE_PREFIX.items():
        g = mod.get(f"{short}_ellipse_fits") if mod is not None else None
        if g is None:
            continue
        _, cols = read_table(g)
        values = {c.name: c.values for c in cols if not c.ragged}
        t = values.pop("timestamps", None)
        if t is None:
            continue
        parts.coords.setdefault("time_eye_tracking", xr.Variable(
            "time_eye_tracking", np.asarray(t, np.float64), {"units": "s"}))
        n = parts.coords["time_eye_tracking"].size
        for col, v in values.items():
            if v.shape[0] == n:
                parts.vars[f"{prefix}_{col}"] = xr.Variable("time_eye_tracking", v,
                                                            {"nwb_path": g.name})
    for stage in ("raw", "filtered"):
        for name in ("eye_area", "pupil_area", "screen_coordinates", "screen_coordinates_spherical"):
            axis = ("screen_axis",) if name.startswith("screen") else ()
            parts.move(f"processing/{stage}_gaze_mapping/{name}", f"{stage}_{name}",
                       "time_eye_tracking", axis)
    if "screen_axis" in parts.dims():
        parts.coords["screen_axis"] = xr.Variable("screen_axis", np.array(["y", "x"], dtype=object))


def _reshape_session(filters: dict, path: Path, f, parts: Parts) -> None:
    if "units" not in f or "spike_times_index" not in f["units"]:
        raise FileFormatError(
            f"{path} has no units table with spike times: it is not an Allen Neuropixels "
            f"session file (a probe's LFP file opens with open_allen too).")
    parts.rename_prefixed("electrode", "channel")
    _unit_channels(parts)
    keep, applied = unit_filter_mask(parts, filters)
    for name in ("spike_times", "spike_unit"):
        parts.vars.pop(name, None)
    parts.isel("unit", np.flatnonzero(keep))
    for name, (dims, data, attrs) in spike_variables(path, f, keep,
                                                     ("spike_amplitudes",)).items():
        parts.vars[name] = xr.Variable(dims, data, attrs)
    if "waveform_mean" in parts.vars:
        parts.vars["waveform_mean"].attrs["units"] = "V"
    parts.coords.update(_probes(f))
    stimulus_tables(parts)
    _optotagging(parts, f)
    running_series(parts)
    _eye_tracking(parts, f)
    behavior_series(parts, path, f)
    vbn = "intervals/trials" in f or "processing/licking" in f
    parts.attrs.update(session_attrs(f, "Visual Behavior Neuropixels" if vbn
                                     else "Visual Coding Neuropixels"))
    parts.attrs["ecephys_session_id"] = parts.attrs.get("nwb_identifier", "")
    parts.attrs["unit_filters"] = applied or "none"
    parts.attrs["n_units_in_file"] = int(keep.size)


def open_allen_neuropixels(
    path: str | os.PathLike,
    *,
    lazy: bool = True,
    checksum: bool = True,
    amplitude_cutoff_maximum: float | None = None,
    presence_ratio_minimum: float | None = None,
    isi_violations_maximum: float | None = None,
    quality: str | None = None,
    valid_channels_only: bool = False,
    in_brain_only: bool = False,
) -> xr.Dataset:
    """Open an Allen Neuropixels session file (Visual Coding or Visual Behavior) as a recording.

    Parameters
    ----------
    path : path-like
        The session's NWB file (``session_<id>.nwb`` / ``ecephys_session_<id>.nwb``).
    lazy : bool
        Keep spike trains, waveforms and series as dask arrays (default).
    checksum : bool
        Record the file's sha256 in attrs (skipped above 2 GiB).
    amplitude_cutoff_maximum, presence_ratio_minimum, isi_violations_maximum : float, optional
        Unit filters on the quality metrics of those names; None (default)
        applies none.  allensdk's defaults are 0.1, 0.95 and 0.5.  A unit whose
        metric is NaN fails an applied filter.
    quality : str, optional
        Keep only units of this ``quality`` (allensdk keeps ``"good"``).
    valid_channels_only, in_brain_only : bool
        Keep only units whose peak channel has ``valid_data``, or lies in a
        brain area (allensdk does both by default).

    Returns
    -------
    xarray.Dataset
        ``spike_times``, ``spike_unit`` and ``spike_amplitudes`` on ``spike``;
        ``unit`` with every Units column as a coordinate (``quality``,
        ``firing_rate``, ``amplitude_cutoff``, ``presence_ratio``,
        ``isi_violations``, ``snr``, ... and ``location``, ``probe_id``,
        ``probe_name``, ``probe_vertical_position`` of its peak channel);
        ``waveform_mean(unit, waveform_sample, waveform_channel)``;
        ``channel`` (``channel_location``, ``channel_probe_id``, ...);
        ``probe``; one interval dimension per stimulus (``drifting_gratings``,
        ``natural_scenes``, ...; every column a ``<stimulus>_<column>``
        coordinate); ``optotagging``; ``running_speed`` on
        ``time_running_speed``; eye tracking on ``time_eye_tracking``; for
        Visual Behavior ``trial``, ``lick_frame`` and ``reward_volume``.
        attrs ``unit_filters`` lists the filters applied (``"none"`` by default).

    Examples
    --------
    >>> from neurodata.datasets import make_allen_like
    >>> path = make_allen_like("neuropixels", n_units=10, duration=90.0)
    >>> ds = open_allen_neuropixels(path, presence_ratio_minimum=0.95)
    >>> ds.attrs["unit_filters"], ds.attrs["n_units_in_file"], ds.sizes["unit"] <= 10
    ('presence_ratio >= 0.95', 10, True)
    >>> ds.close()
    """
    filters = {"amplitude_cutoff": ("<=", amplitude_cutoff_maximum),
               "presence_ratio": (">=", presence_ratio_minimum),
               "isi_violations": ("<=", isi_violations_maximum),
               "quality": ("==", quality), "channel_valid": ("is", valid_channels_only)}
    filters["location"] = ("in a brain area", in_brain_only)
    return open_reshaped(path, lazy, checksum, partial(_reshape_session, filters))


def open_allen_lfp(path: str | os.PathLike, *, lazy: bool = True, checksum: bool = True
                   ) -> xr.Dataset:
    """Open the LFP file of one Allen Neuropixels probe: ``lfp(time, channel)``, lazy.

    Parameters
    ----------
    path : path-like
        ``probe_<id>_lfp.nwb``.
    lazy : bool
        Keep the LFP a dask array (default).
    checksum : bool
        Record the file's sha256 in attrs.

    Returns
    -------
    xarray.Dataset
        ``lfp(time, channel)`` in volts with the channels' coordinates
        (``channel_location``, ``channel_probe_vertical_position``, ...) and,
        when present, the current source density ``csd(time_csd,
        virtual_channel)`` with ``virtual_channel_x`` / ``_y`` positions.

    Examples
    --------
    >>> from neurodata.datasets import make_allen_like
    >>> with open_allen_lfp(make_allen_like("lfp", duration=60.0, n_channels=8)) as ds:
    ...     print(ds.lfp.dims, ds.sizes["channel"])
    ('time', 'channel') 4
    """
    return open_reshaped(path, lazy, checksum, _reshape_lfp)


def _reshape_lfp(p: Path, f, parts: Parts) -> None:
    lfp_groups = [k for k in f.get("acquisition", {}) if k.startswith("probe_")
                  and k.endswith("_lfp")]
    if not lfp_groups:
        raise FileFormatError(f"{p} has no acquisition/probe_<id>_lfp series: it is not an "
                              f"Allen probe LFP file.")
    name = lfp_groups[0]
    series = f.get(f"acquisition/{name}/{name}_data")
    if series is None or parts.find(series.name) is None or "electrodes" not in series:
        raise FileFormatError(f"{p}: the LFP series of {name} is missing, empty or truncated; "
                              f"download the probe's LFP file again.")
    rows = np.asarray(series["electrodes"][()], dtype=np.int64)
    parts.rename_prefixed("electrode", "channel")
    parts.move(series.name, "lfp", "time", ("channel",))
    if "channel" in parts.coords:
        parts.isel("channel", rows)
    parts.vars["lfp"].attrs.update(units="V", long_name="local field potential")
    csd = f.get("processing/current_source_density/ecephys_csd")
    if csd is not None:
        parts.move(f"{csd.name}/current_source_density", "csd", "time_csd", ("virtual_channel",))
        for axis in ("x", "y"):
            key = f"virtual_electrode_{axis}_positions"
            if key in csd and "virtual_channel" in parts.dims():
                parts.coords[f"virtual_channel_{axis}"] = xr.Variable(
                    "virtual_channel", np.asarray(csd[key][()], np.float64), {"units": "um"})
    parts.coords.update(_probes(f))
    parts.attrs.update(session_attrs(f, "Allen Neuropixels probe LFP"))
    parts.attrs["probe_id"] = name.removeprefix("probe_").removesuffix("_lfp")


def can_open_allen_neuropixels(path: str | os.PathLike) -> bool:
    """An NWB 2 file with a Units table, an electrodes table and stimulus presentation tables."""
    nwb2, (units, ephys) = allen_header(path, "units", "general/extracellular_ephys/electrodes")
    return nwb2 and units and ephys and has_presentations(path)


def can_open_allen_lfp(path: str | os.PathLike) -> bool:
    """An NWB 2 file whose acquisition holds a ``probe_<id>_lfp`` series (header only)."""
    nwb2, (acq, units) = allen_header(path, "acquisition", "units")
    if not nwb2 or not acq or units:
        return False
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return any(k.startswith("probe_") and k.endswith("_lfp") for k in f["acquisition"])
    except Exception:
        return False


register_reader(Reader("allen-neuropixels", can_open_allen_neuropixels, open_allen_neuropixels,
                       "Allen Brain Observatory Neuropixels sessions (Visual Coding, Visual "
                       "Behavior)", priority=10))
register_reader(Reader("allen-lfp", can_open_allen_lfp, open_allen_lfp,
                       "Allen Brain Observatory Neuropixels probe LFP files", priority=10))
