"""Synthetic Neuropixels sessions in the Allen layouts (Visual Coding, Visual Behavior, LFP).

Written with pynwb in the layout of allensdk's ecephys NWB files: probes as
``EcephysProbe`` devices and ``EcephysElectrodeGroup`` groups, channels in the
electrodes table (``location``, ``probe_id``, ``local_index`` or
``probe_channel_number``, vertical/horizontal position, ``valid_data``, CCF
``x, y, z``), units with the full set of quality metrics, spike times,
amplitudes and mean waveforms, one ``<stimulus>_presentations`` table per
stimulus, running speed, optotagging and eye tracking; the LFP of a probe goes
to its own file (``probe_<id>_lfp`` with its current source density).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neurodata.datasets._allen import START, columns_table, retype, time_series, written
from neurodata.datasets._allen_sdk import (
    STIMULUS_FRAME_RATE,
    SUBJECT,
    add_behavior_lab_meta,
    add_behavior_streams,
    allensdk_trial_columns,
    sdk_extensions,
)
from neurodata.datasets._allen_stimuli import (
    IMAGE_SET,
    behavior_schedule,
    coding_schedule,
    running_speed,
)
from neurodata.datasets._population import _poisson_segments

__all__ = ["write_ecephys_like"]

NS = "ndx-aibs-ecephys"
SESSION_ID = {"neuropixels": 715093703, "vbn": 1044385384, "lfp": 715093703}
#: Areas a probe passes through, from the cortical surface down.
PROBE_AREAS = [("VISp", "CA1", "LGd"), ("VISl", "CA3", "LP"), ("VISal", "DG", "APN"),
               ("VISrl", "CA1", "PO"), ("VISam", "SUB", "LP"), ("VISpm", "CA1", "LGd")]
#: Peak tuned rate (Hz) by the first letters of an area: visual cortex > thalamus > hippocampus.
TUNING = {"VIS": (8.0, 20.0), "LGd": (4.0, 10.0), "LP": (2.0, 6.0), "APN": (1.0, 3.0),
          "PO": (1.0, 3.0), "CA": (0.0, 1.0), "DG": (0.0, 1.0), "SUB": (0.0, 1.0)}
METRICS = ("isolation_distance", "l_ratio", "d_prime", "nn_hit_rate", "nn_miss_rate",
           "max_drift", "cumulative_drift", "silhouette_score", "waveform_duration",
           "waveform_halfwidth", "PT_ratio", "repolarization_slope", "recovery_slope",
           "amplitude", "spread", "velocity_above", "velocity_below", "snr")


def _layout(rng: np.random.Generator, n_probes: int, n_channels: int) -> dict:
    """Probes and channels: ids, depths, areas (the top 10 % of each probe is outside the brain)."""
    probes, chans = [], []
    for k in range(n_probes):
        pid = 729445648 + k
        name = f"probe{chr(ord('A') + k)}"
        areas = PROBE_AREAS[k % len(PROBE_AREAS)]
        ch = np.arange(n_channels)
        depth_frac = 1.0 - ch / n_channels  # channel 0 at the tip (deepest)
        loc = np.array([areas[2] if d > 0.6 else areas[1] if d > 0.3 else areas[0]
                        for d in depth_frac], dtype=object)
        loc[ch >= int(0.9 * n_channels)] = "None"  # outside the brain, as allensdk writes it
        probes.append({"id": pid, "name": name, "location": areas[0]})
        chans.append({"id": pid * 1000 + ch, "probe_id": np.full(n_channels, pid),
                      "probe_index": np.full(n_channels, k), "local_index": ch,
                      "vertical": 20 * (ch // 2) + 20, "horizontal": np.array([43, 11, 59, 27])[ch % 4],
                      "location": loc, "valid_data": rng.random(n_channels) > 0.03,
                      "x": 8000 + rng.normal(0, 50, n_channels) - 10 * ch,
                      "y": 3000 + 10 * ch.astype(np.float64), "z": 7000 + rng.normal(0, 50, n_channels)})
    channels = {key: np.concatenate([c[key] for c in chans]) for key in chans[0]}
    return {"probes": probes, "channels": channels}


def _units(rng: np.random.Generator, layout: dict, n_units: int) -> dict:
    ch = layout["channels"]
    n_probes = len(layout["probes"])
    probe_of = np.arange(n_units) % n_probes
    peak = np.array([rng.choice(np.flatnonzero(ch["probe_index"] == p)) for p in probe_of])
    area = ch["location"][peak]
    lo_hi = np.array([next((v for k, v in TUNING.items() if str(a).startswith(k)), (0.0, 0.5))
                      for a in area])
    units = {"id": 950900000 + np.arange(n_units) * 7, "peak_channel_id": ch["id"][peak],
             "local_index": np.arange(n_units), "cluster_id": np.arange(n_units) + 3,
             "quality": np.where(rng.random(n_units) < 0.9, "good", "noise").astype(object),
             "isi_violations": rng.exponential(0.3, n_units),
             "presence_ratio": rng.uniform(0.85, 1.0, n_units),
             "amplitude_cutoff": rng.uniform(0.0, 0.5, n_units),
             "preferred_orientation": rng.uniform(0.0, 180.0, n_units),
             "baseline_rate": rng.uniform(1.0, 6.0, n_units),
             "peak_rate": rng.uniform(lo_hi[:, 0], lo_hi[:, 1]), "area": area}
    for name in METRICS:
        units[name] = rng.gamma(2.0, 1.0, n_units)
    return units


def _spikes(rng: np.random.Generator, units: dict, tables: dict, duration: float,
            kappa: float = 2.0) -> list[np.ndarray]:
    """Every unit's sorted spike train: baseline Poisson plus grating responses."""
    n = units["id"].size
    base = units["baseline_rate"][None, :]
    times, who = _poisson_segments(rng, base, np.zeros(1), np.array([duration]))
    pieces_t, pieces_u = [times], [who]
    pref = np.deg2rad(units["preferred_orientation"])
    for name, scale in (("drifting_gratings", 1.0), ("static_gratings", 0.5)):
        tab = tables.get(name)
        if tab is None or tab["start_time"].size == 0:
            continue
        theta = np.deg2rad(np.nan_to_num(tab["orientation"], nan=0.0))
        tuning = np.exp(kappa * (np.cos(2 * (theta[:, None] - pref[None, :])) - 1.0))
        rates = scale * units["peak_rate"][None, :] * tuning
        rates[np.isnan(tab["orientation"])] = 0.0
        t, u = _poisson_segments(rng, rates, tab["start_time"], tab["stop_time"] - tab["start_time"])
        pieces_t.append(t)
        pieces_u.append(u)
    t, u = np.concatenate(pieces_t), np.concatenate(pieces_u)
    order = np.lexsort((t, u))
    t, u = t[order], u[order]
    ends = np.searchsorted(u, np.arange(n), side="right")
    return np.split(t, ends[:-1])


def _add_probes(nwbfile: Any, layout: dict, lfp_rate: float) -> dict:
    groups = {}
    for p in layout["probes"]:
        dev = nwbfile.create_device(name=p["name"], description="Neuropixels 1.0 probe")
        groups[p["id"]] = nwbfile.create_electrode_group(
            name=p["name"], description="Neuropixels 1.0 probe", location=p["location"],
            device=dev)
    return groups


def _add_channels(nwbfile: Any, layout: dict, groups: dict, rows: np.ndarray, vbn: bool) -> None:
    ch = layout["channels"]
    index_col = "probe_channel_number" if vbn else "local_index"
    for col in ("probe_vertical_position", "probe_horizontal_position", "probe_id", index_col,
                "valid_data"):
        nwbfile.add_electrode_column(name=col, description=col.replace("_", " "))
    for i in rows:
        nwbfile.add_electrode(
            id=int(ch["id"][i]), x=float(ch["x"][i]), y=float(ch["y"][i]), z=float(ch["z"][i]),
            imp=float("nan"), location=str(ch["location"][i]),
            filtering="AP band: 500 Hz high-pass; LFP band: 1000 Hz low-pass",
            group=groups[int(ch["probe_id"][i])],
            probe_vertical_position=int(ch["vertical"][i]),
            probe_horizontal_position=int(ch["horizontal"][i]), probe_id=int(ch["probe_id"][i]),
            valid_data=bool(ch["valid_data"][i]), **{index_col: int(ch["local_index"][i])})


def _nwbfile(session_id: int, description: str, notes: str, subject: bool = True) -> Any:
    from pynwb import NWBFile
    from pynwb.file import Subject

    nwbfile = NWBFile(session_description=description, identifier=str(session_id),
                      session_start_time=START, institution="Allen Institute for Brain Science",
                      stimulus_notes=notes, session_id=str(session_id))
    if not subject:
        return nwbfile
    nwbfile.subject = Subject(**SUBJECT, genotype="Sst-IRES-Cre/wt;Ai32(RCL-ChR2(H134R)_EYFP)/wt")
    return nwbfile


def _add_units(nwbfile: Any, units: dict, spikes: list, rng: np.random.Generator,
               n_channels: int) -> list[np.ndarray]:
    from pynwb.misc import Units

    amps = [rng.lognormal(np.log(1e-4), 0.3, s.size) for s in spikes]
    cols = {k: units[k] for k in ("peak_channel_id", "local_index", "cluster_id", "quality",
                                  "isi_violations", "presence_ratio", "amplitude_cutoff")}
    cols["firing_rate"] = np.array([s.size for s in spikes]) / max(
        float(max((s[-1] for s in spikes if s.size), default=1.0)), 1.0)
    cols.update({k: units[k] for k in METRICS})
    cols["waveform_mean"] = rng.normal(0, 1e-6, (len(spikes), 82, n_channels)).astype(np.float32)
    table = columns_table(Units, "units", "Units sorted with Kilosort 2", cols, ids=units["id"],
                          ragged={"spike_times": spikes, "spike_amplitudes": amps})
    nwbfile.units = table
    return amps


def _add_presentations(nwbfile: Any, tables: dict) -> None:
    from pynwb.epoch import TimeIntervals

    starts = np.concatenate([t["start_time"] for t in tables.values()])
    order = np.argsort(starts, kind="stable")
    ids = np.empty_like(order)
    ids[order] = np.arange(order.size)
    k = 0
    for name, tab in tables.items():
        n = tab["start_time"].size
        nwbfile.add_time_intervals(columns_table(
            TimeIntervals, f"{name}_presentations",
            f"Presentation times and stimuli details for '{name}' stimuli", tab,
            ids=ids[k:k + n]))
        k += n


def _add_running(nwbfile: Any, rng: np.random.Generator, duration: float, vbn: bool,
                 sdk: bool = False) -> dict:
    from pynwb import ProcessingModule

    t, speed = running_speed(rng, duration)
    end = np.concatenate([t[1:], [t[-1] + 1 / 60]])
    rotation = speed / 3.14 * 0.0167
    mod = ProcessingModule(name="running", description="running speed data")
    nwbfile.add_processing_module(mod)
    if vbn:
        mod.add(time_series("speed", speed, t, "cm/s"))
        mod.add(time_series("speed_unfiltered", speed, t, "cm/s"))
    else:
        mod.add(time_series("running_speed", speed, t, "cm/s"))
        mod.add(time_series("running_speed_end_times", speed, end, "cm/s"))
        mod.add(time_series("running_wheel_rotation", rotation, t, "radians"))
    signal = 2.5 + rng.normal(0, 0.1, t.size)
    if not sdk:  # with allensdk, its dx, v_sig and v_in instead (add_behavior_streams)
        nwbfile.add_acquisition(time_series("raw_running_wheel_rotation", rotation, t, "radians"))
        nwbfile.add_acquisition(time_series("running_wheel_signal_voltage", signal, t, "V"))
        nwbfile.add_acquisition(time_series("running_wheel_supply_voltage",
                                            np.full(t.size, 5.0), t, "V"))
    return {"time": t, "end_time": end, "speed": speed, "rotation": rotation}


def _add_optotagging(nwbfile: Any, rng: np.random.Generator, duration: float) -> dict:
    from pynwb import ProcessingModule
    from pynwb.epoch import TimeIntervals

    n = 30
    start = np.sort(duration - 0.04 * duration + rng.uniform(0, 0.035 * duration, n))
    dur = rng.choice(np.array([0.005, 0.01, 1.0]), n)
    level = rng.choice(np.array([1.0, 1.5, 2.0]), n)
    names = np.where(dur < 0.5, "pulse", "raised_cosine").astype(object)
    mod = ProcessingModule(name="optotagging", description="optogenetic stimulation data")
    nwbfile.add_processing_module(mod)
    series = time_series("optotagging", dur, start, "seconds")
    mod.add(series)
    table = {"start_time": start, "stop_time": start + dur, "stimulus_name": names,
             "duration": dur, "level": level,
             "condition": np.where(dur < 0.5, "a single square pulse",
                                   "half-period of a cosine wave").astype(object)}
    intervals = TimeIntervals(name="optogenetic_stimulation", description="optotagging")
    extra = ("stimulus_name", "duration", "level", "condition")
    for col in extra:
        intervals.add_column(name=col, description=col)
    for i in range(n):  # 30 rows: add_interval writes the tags and timeseries columns
        intervals.add_interval(start_time=float(start[i]), stop_time=float(start[i] + dur[i]),
                               tags=["optical_stimulation"], timeseries=[series],
                               **{c: table[c][i].item() if hasattr(table[c][i], "item")
                                  else table[c][i] for c in extra})
    mod.add(intervals)
    return table


def _add_eye_tracking(nwbfile: Any, rng: np.random.Generator, duration: float) -> dict:
    from hdmf.common import DynamicTable
    from pynwb import ProcessingModule

    n = int(duration * 30)
    t = np.arange(n) / 30.0 + 0.01
    fits = {}
    eye = ProcessingModule(name="eye_tracking", description="Eye tracking processing module")
    nwbfile.add_processing_module(eye)
    for name, size in (("pupil", 20.0), ("cr", 4.0), ("eye", 60.0)):
        cols = {"center_x": rng.normal(300, 5, n), "center_y": rng.normal(200, 5, n),
                "height": np.abs(rng.normal(size, 1, n)), "width": np.abs(rng.normal(size, 1, n)),
                "phi": rng.normal(0, 0.1, n), "timestamps": t}
        eye.add(columns_table(DynamicTable, f"{name}_ellipse_fits", f"{name} ellipse fits", cols))
        fits[name] = cols
    for stage in ("raw", "filtered"):
        mod = ProcessingModule(name=f"{stage}_gaze_mapping", description=f"Gaze mapping {stage} outputs")
        nwbfile.add_processing_module(mod)
        mod.add(time_series("pupil_area", np.pi * fits["pupil"]["height"] ** 2, t, "Pixels ^ 2"))
        mod.add(time_series("eye_area", np.pi * fits["eye"]["height"] ** 2, t, "Pixels ^ 2"))
        mod.add(time_series("screen_coordinates", rng.normal(0, 2, (n, 2)), t, "Centimeters"))
        mod.add(time_series("screen_coordinates_spherical", rng.normal(0, 5, (n, 2)), t, "Degrees"))
    return {"time": t, **{f"{k}_fits": v for k, v in fits.items()}}


def _add_behavior(nwbfile: Any, sched: dict, sdk: bool = False) -> None:
    from pynwb import ProcessingModule
    from pynwb.epoch import TimeIntervals

    trials = dict(sched["trials"])
    if sdk:  # allensdk's environment: the full set of columns its Trials reads
        trials.update(allensdk_trial_columns(sched))
    nwbfile.trials = columns_table(TimeIntervals, "trials", "behavior trials", trials,
                                   ragged={"lick_times": sched["trial_lick_times"]})
    lick = ProcessingModule(name="licking", description="Licking behavior processing module")
    nwbfile.add_processing_module(lick)
    lick.add(time_series("licks", np.round(sched["licks"] * 60).astype(np.int64), sched["licks"],
                         "None", description="Timestamps and frame indices for licks"))
    rew = ProcessingModule(name="rewards", description="Licking behavior processing module")
    nwbfile.add_processing_module(rew)
    n = sched["rewards"].size
    rew.add(time_series("volume", np.full(n, 0.005), sched["rewards"], "mL"))
    rew.add(time_series("autorewarded", np.zeros(n, dtype=bool), sched["rewards"], "mL"))


def _write_lfp(path: Path, rng: np.random.Generator, layout: dict, duration: float,
               session_id: int, rate: float = 1250.0) -> dict:
    from pynwb import ProcessingModule
    from pynwb.ecephys import LFP, ElectricalSeries

    probe = layout["probes"][0]
    nwbfile = _nwbfile(session_id, "LFP data and associated info for one probe", "", False)
    groups = _add_probes(nwbfile, {"probes": [probe]}, rate)
    rows = np.flatnonzero(layout["channels"]["probe_index"] == 0)[::2]
    _add_channels(nwbfile, layout, groups, rows, vbn=False)
    n = int(duration * rate)
    t = np.arange(n) / rate + 0.000173
    freq = np.array([4.0, 8.0, 40.0])
    phase = rng.uniform(0, 2 * np.pi, (3, rows.size))
    data = sum(np.sin(2 * np.pi * f * t[:, None] + phase[k][None, :]) * 1e-4 / (k + 1)
               for k, f in enumerate(freq))
    data = (data + rng.normal(0, 1e-5, data.shape)).astype(np.float32)
    region = nwbfile.create_electrode_table_region(list(range(rows.size)), "LFP channels")
    lfp = LFP(name=f"probe_{probe['id']}_lfp")
    nwbfile.add_acquisition(lfp)
    lfp.add_electrical_series(ElectricalSeries(name=f"probe_{probe['id']}_lfp_data", data=data,
                                               timestamps=t, electrodes=region))
    csd_t = np.arange(-0.1, 0.25, 1 / rate)
    csd = rng.normal(0, 1.0, (csd_t.size, 2 * rows.size))
    mod = ProcessingModule(name="current_source_density", description="Current source density")
    nwbfile.add_processing_module(mod)
    mod.add(time_series("current_source_density", csd, csd_t, "V/cm^2"))
    with written(nwbfile, path) as f:
        _retype_probes_in(f, [probe], rate)
        grp = f.create_group("processing/current_source_density/ecephys_csd")
        f.move("processing/current_source_density/current_source_density",
               "processing/current_source_density/ecephys_csd/current_source_density")
        grp.attrs.update({"neurodata_type": "EcephysCSD", "namespace": NS,
                          "object_id": "a0f5b0c2-0000-4000-8000-0000000000c5"})
        x = grp.create_dataset("virtual_electrode_x_positions",
                               data=np.full(csd.shape[1], 24.0, dtype=np.float32))
        y = grp.create_dataset("virtual_electrode_y_positions",
                               data=(np.arange(csd.shape[1]) * 10.0).astype(np.float32))
        x.attrs["unit"] = y.attrs["unit"] = "um"
    return {"probe_id": probe["id"], "channel": layout["channels"]["id"][rows], "time": t,
            "lfp": data, "csd": csd, "csd_time": csd_t}


def _retype_probes_in(f: h5py.File, probes: list, lfp_rate: float) -> None:
    for p in probes:
        retype(f, f"general/devices/{p['name']}", "EcephysProbe", NS, sampling_rate=29999.9,
               probe_id=np.int64(p["id"]))
        retype(f, f"general/extracellular_ephys/{p['name']}", "EcephysElectrodeGroup", NS,
               has_lfp_data=True, probe_id=np.int64(p["id"]), lfp_sampling_rate=lfp_rate)


def write_ecephys_like(kind: str, path: Path, rng: np.random.Generator, *, n_units: int,
                       duration: float, n_probes: int, n_channels: int) -> dict:
    """Write a Neuropixels session (``neuropixels``, ``vbn``) or a probe's LFP file (``lfp``)."""
    session_id = SESSION_ID[kind]
    layout = _layout(rng, n_probes, n_channels)
    if kind == "lfp":
        return {"layout": layout, **_write_lfp(path, rng, layout, duration, session_id)}
    vbn = kind == "vbn"
    if vbn:
        sched = behavior_schedule(rng, duration)
        tables = sched["presentations"]
    else:
        sched, tables = {}, coding_schedule(rng, duration)
    units = _units(rng, layout, n_units)
    spikes = _spikes(rng, units, tables, duration)
    ext = sdk_extensions() if vbn else None
    nwbfile = _nwbfile(session_id, "Data and metadata for an Ecephys session",
                       "behavior_ecephys_session" if vbn else "brain_observatory_1.1",
                       subject=ext is None)
    groups = _add_probes(nwbfile, layout, 1250.0)
    _add_channels(nwbfile, layout, groups, np.arange(layout["channels"]["id"].size), vbn)
    amps = _add_units(nwbfile, units, spikes, rng, n_channels)
    _add_presentations(nwbfile, tables)
    running = _add_running(nwbfile, rng, duration, vbn, sdk=ext is not None)
    opto = _add_optotagging(nwbfile, rng, duration)
    eye = _add_eye_tracking(nwbfile, rng, duration) if not vbn else {}
    if vbn:
        _add_behavior(nwbfile, sched, sdk=ext is not None)
    if ext is not None:  # allensdk's environment: what its BehaviorEcephysSession reads
        add_behavior_lab_meta(
            nwbfile, ext, session_id=session_id, behavior_session_id=1044594870,
            session_type="EPHYS_1_images_G_3uL_reward", equipment="NP.1",
            stimulus_name=IMAGE_SET, n_stimulus_frames=int(duration * STIMULUS_FRAME_RATE),
            genotype="Sst-IRES-Cre/wt;Ai32(RCL-ChR2(H134R)_EYFP)/wt",
            reporter_line="Ai32(RCL-ChR2(H134R)_EYFP)", driver_line=["Sst-IRES-Cre"])
        add_behavior_streams(nwbfile, ext, duration=duration, running_time=running["time"],
                             running_speed=running["speed"], equipment="NP.1")
    with written(nwbfile, path) as f:
        _retype_probes_in(f, layout["probes"], 1250.0)
        if ext is None:  # with allensdk, the BehaviorSubject of the released VBN files
            retype(f, "general/subject", "EcephysSpecimen", NS,
                   specimen_name=f"Sst-IRES-Cre;Ai32-{session_id}", age_in_days=112.0,
                   strain="C57BL/6J")
    return {"session_id": session_id, "layout": layout, "units": units, "spike_times": spikes,
            "spike_amplitudes": amps, "presentations": tables, "running": running,
            "optotagging": opto, "eye": eye, "behavior": sched}
