"""Synthetic 2-photon experiments in the Allen layouts: Visual Coding (NWB 1) and Visual Behavior.

The Visual Coding 2P file follows the released NWB 1.0.5 files group for group
(``processing/brain_observatory_pipeline`` with DfOverF, Fluorescence,
ImageSegmentation and running speed; ``stimulus/presentation`` with one series
per stimulus whose ``frame_duration`` rows are the first and last imaging
frame of each presentation; ``stimulus/templates`` with the image stacks).
The Visual Behavior file follows allensdk's ophys writer: ``processing/ophys``
with ``dff``, ``corrected_fluorescence``, ``event_detection`` and the
``cell_specimen_table`` segmentation, running, licks, rewards, trials, eye
tracking and one ``<stimulus>_presentations`` table per stimulus.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from neurodata._utils import atomic_path
from neurodata.datasets._allen import START, retype, time_series, written
from neurodata.datasets._allen_sdk import (
    STIMULUS_FRAME_RATE,
    add_behavior_lab_meta,
    add_behavior_streams,
    add_ophys_images,
    roi_columns,
    sdk_extensions,
)
from neurodata.datasets._allen_stimuli import (
    IMAGE_SET,
    ORIENTATIONS_DG,
    ORIENTATIONS_SG,
    SPATIAL_FREQUENCIES,
    TEMPORAL_FREQUENCIES,
    behavior_schedule,
    running_speed,
)

__all__ = ["write_ophys_like"]

FRAME_RATE = 30.0
PIPE = "processing/brain_observatory_pipeline"
EXPERIMENT_ID = {"vc2p": 501940850, "vbo": 957759570}


def _calcium(rng: np.random.Generator, n_frames: int, drive: np.ndarray) -> np.ndarray:
    """dF/F from a drive (frames, rois): events convolved with a 0.7 s decay, plus noise."""
    events = rng.poisson(np.clip(drive, 0, None) / FRAME_RATE)
    kernel = np.exp(-np.arange(int(3 * FRAME_RATE)) / (0.7 * FRAME_RATE))
    out = np.stack([np.convolve(events[:, k], kernel)[:n_frames] for k in range(events.shape[1])],
                   axis=1)
    return (0.3 * out + rng.normal(0, 0.02, out.shape)).astype(np.float32)


def _vc2p_stimuli(rng: np.random.Generator, n_frames: int) -> dict:
    """Blocks of frames: spontaneous, drifting and static gratings, scenes, movie, sparse noise."""
    blocks: dict[str, dict] = {}
    f = 30
    blocks["spontaneous"] = {"frames": np.array([[f, f + 300], [n_frames - 330, n_frames - 30]])}
    f += 330
    n = max(8, int(0.3 * n_frames // 90))
    start = f + 90 * np.arange(n)
    blank = rng.random(n) < 0.1
    blocks["drifting_gratings"] = {
        "frames": np.stack([start, start + 60], axis=1),
        "features": ["orientation", "temporal_frequency", "blank_sweep"],
        "data": np.stack([np.where(blank, np.nan, rng.choice(ORIENTATIONS_DG, n)),
                          np.where(blank, np.nan, rng.choice(TEMPORAL_FREQUENCIES, n)),
                          blank.astype(np.float64)], axis=1)}
    f = int(start[-1]) + 90
    n = max(8, int(0.15 * n_frames // 7))
    start = f + 7 * np.arange(n)
    blocks["static_gratings"] = {
        "frames": np.stack([start, start + 7], axis=1),
        "features": ["orientation", "spatial_frequency", "phase"],
        "data": np.stack([rng.choice(ORIENTATIONS_SG, n), rng.choice(SPATIAL_FREQUENCIES, n),
                          rng.choice(np.array([0.0, 0.25, 0.5, 0.75]), n)], axis=1)}
    f = int(start[-1]) + 7
    n = max(8, int(0.15 * n_frames // 7))
    start = f + 7 * np.arange(n)
    blocks["natural_scenes"] = {"frames": np.stack([start, start + 7], axis=1),
                                "data": rng.integers(-1, 6, n)}
    f = int(start[-1]) + 7
    n_movie, repeats = 60, 2
    start = f + np.arange(n_movie * repeats)
    blocks["natural_movie_one"] = {"frames": np.stack([start, start + 1], axis=1),
                                   "data": np.tile(np.arange(n_movie), repeats)}
    f = int(start[-1]) + 1
    n = max(8, int(0.1 * n_frames // 7))
    start = f + 7 * np.arange(n)
    blocks["locally_sparse_noise"] = {"frames": np.stack([start, start + 7], axis=1),
                                      "data": np.arange(n) % 10}
    return blocks


def _write_vc2p_stimuli(f: h5py.File, blocks: dict, frame_t: np.ndarray,
                        rng: np.random.Generator) -> dict:
    templates = {"natural_scenes": rng.integers(0, 255, (6, 12, 16)).astype(np.float32),
                 "natural_movie_one": rng.integers(0, 255, (60, 8, 16)).astype(np.uint8),
                 "locally_sparse_noise": rng.choice(np.array([0, 127, 255], dtype=np.uint8),
                                                    (10, 16, 28))}
    pres = f.create_group("stimulus/presentation")
    tmpl = f.create_group("stimulus/templates")
    for name, b in blocks.items():
        g = pres.create_group(f"{name}_stimulus")
        fr = b["frames"]
        if name == "spontaneous":
            # an IntervalSeries: +1 at each start frame, -1 at each end frame
            rows = np.concatenate([[(s, s + 1), (e, e + 1)] for s, e in fr])
            g.create_dataset("data", data=np.tile([1, -1], len(fr)).astype(np.int8))
            g.create_dataset("frame_duration", data=rows.astype(np.int64))
            g.create_dataset("timestamps", data=frame_t[rows[:, 0]])
            g.attrs["ancestry"] = np.array([b"TimeSeries", b"IntervalSeries"])
        else:
            g.create_dataset("data", data=b["data"])
            g.create_dataset("frame_duration", data=fr.astype(np.float32 if "features" in b
                                                              else np.int64))
            g.create_dataset("timestamps", data=frame_t[fr[:, 0]])
            if "features" in b:
                g.create_dataset("features", data=np.array([s.encode() for s in b["features"]]))
                g.attrs["ancestry"] = np.array([b"TimeSeries", b"AbstractFeatureSeries"])
            else:
                path = f"/stimulus/templates/{name}_image_stack"
                g.create_dataset("indexed_timeseries_path", data=path.encode())
                g.attrs["ancestry"] = np.array([b"TimeSeries", b"IndexSeries"])
        g.create_dataset("num_samples", data=np.int32(len(fr)))
        g.attrs["neurodata_type"] = "TimeSeries"
        g.attrs["description"] = f"{name}_stimulus".encode()
    for name, stack in templates.items():
        t = tmpl.create_group(f"{name}_image_stack")
        t.create_dataset("data", data=stack)
        t.attrs["neurodata_type"] = "TimeSeries"
    return templates


def _write_vc2p(path: Path, rng: np.random.Generator, n_rois: int, duration: float) -> dict:
    n_frames = int(duration * FRAME_RATE)
    frame_t = 3.1 + np.arange(n_frames) / FRAME_RATE + rng.uniform(0, 1e-4, n_frames)
    frame_t.sort()
    blocks = _vc2p_stimuli(rng, n_frames)
    pref = rng.uniform(0, 180, n_rois)
    drive = np.full((n_frames, n_rois), 0.2)
    dg = blocks["drifting_gratings"]
    for (s, e), ori in zip(dg["frames"], dg["data"][:, 0]):
        if np.isfinite(ori):
            drive[s:e] += 6.0 * np.exp(2.0 * (np.cos(2 * np.deg2rad(ori - pref)) - 1.0))
    dff = _calcium(rng, n_frames, drive)
    fluo = (100 + 100 * dff + rng.normal(0, 1, dff.shape)).astype(np.float32)
    neuropil = (40 + rng.normal(0, 1, dff.shape)).astype(np.float32)
    cell_ids = 517000000 + 13 * np.arange(n_rois)
    speed_t, speed = frame_t.copy(), np.abs(rng.normal(5, 3, n_frames)).astype(np.float32)
    with h5py.File(path, "w") as f:
        f["nwb_version"] = b"NWB-1.0.5"
        f["identifier"] = b"Brain Observatory Visual Coding Experiment 501940850; NWB-1.0.5"
        f["session_start_time"] = np.bytes_(START.strftime("%a %b %d %H:%M:%S %Y"))
        f["session_description"] = b"2-photon recording of visual areas in head-fixed mouse"
        f["file_create_date"] = np.array([b"2017-05-19"])
        for g in ("acquisition/images", "analysis", "epochs"):
            f.create_group(g)
        gen = f.create_group("general")
        meta = {"ophys_experiment_id": "501940850", "experiment_container_id": "511510736",
                "session_type": "three_session_A", "targeted_structure": "VISp",
                "specimen_name": "Cux2-CreERT2;Camk2a-tTA;Ai93-229106",
                "fov": "400x400 microns (512 x 512 pixels)", "pixel_size": "0.78 (um)",
                "session_id": "501940850", "institution": "Allen Institute for Brain Science",
                "ophys_experiment_name": "229106_20160301_A"}
        for key, value in meta.items():  # fixed-length strings, as in the released files
            gen[key] = np.bytes_(value)
        plane = gen.create_group("optophysiology/imaging_plane_1")
        for key, value in {"indicator": "GCaMP6f", "location": "VISp",
                           "imaging depth": "175 microns", "imaging_rate": "31Hz",
                           "device": "2-photon microscope", "excitation_lambda": "910 nanometers"
                           }.items():
            plane[key] = np.bytes_(value)
        subj = gen.create_group("subject")
        for key, value in {"age": "102 days", "sex": "female", "species": "Mus musculus",
                           "genotype": "Cux2-CreERT2/wt;Camk2a-tTA/wt;Ai93(TITL-GCaMP6f)/wt",
                           "subject_id": "505407318"}.items():
            subj[key] = np.bytes_(value)
        img = f.create_group("acquisition/timeseries/2p_image_series")
        img.create_dataset("timestamps", data=frame_t)
        img.create_dataset("num_samples", data=np.int32(n_frames))
        pipe = f.create_group(PIPE)
        pipe.attrs["neurodata_type"] = "Module"
        names = np.array([str(i).encode() for i in range(n_rois)])
        for grp, key, data in (("DfOverF", "imaging_plane_1", dff),
                               ("Fluorescence", "imaging_plane_1", fluo),
                               ("Fluorescence", "imaging_plane_1_neuropil_response", neuropil),
                               ("Fluorescence", "imaging_plane_1_demixed_signal", fluo - 1)):
            s = pipe.create_group(f"{grp}/{key}")
            s.create_dataset("data", data=data.T)  # ROI-first, as in the released files
            s.create_dataset("timestamps", data=frame_t)
            s.create_dataset("roi_names", data=names)
            s.create_dataset("num_samples", data=np.int32(n_frames))
            s.attrs["neurodata_type"] = "TimeSeries"
        pipe["Fluorescence/imaging_plane_1/r"] = np.full(n_rois, 0.7, dtype=np.float32)
        seg = pipe.create_group("ImageSegmentation")
        seg["cell_specimen_ids"] = cell_ids
        seg["roi_ids"] = names
        masks = np.zeros((n_rois, 32, 32), dtype=np.float32)
        for k in range(n_rois):
            y, x = rng.integers(2, 28, 2)
            masks[k, y:y + 3, x:x + 3] = 1.0
            roi = seg.create_group(f"imaging_plane_1/roi_{k:04d}")
            roi["img_mask"] = masks[k]
            roi["roi_description"] = b"cell"
        run = pipe.create_group("BehavioralTimeSeries/running_speed")
        run.create_dataset("data", data=speed)
        run.create_dataset("timestamps", data=speed_t)
        run.attrs["neurodata_type"] = "TimeSeries"
        templates = _write_vc2p_stimuli(f, blocks, frame_t, rng)
    return {"experiment_id": EXPERIMENT_ID["vc2p"], "frame_times": frame_t, "dff": dff,
            "fluorescence": fluo, "neuropil": neuropil, "cell_specimen_ids": cell_ids,
            "masks": masks, "running_speed": speed, "blocks": blocks, "templates": templates,
            "preferred_orientation": pref}


def _write_vbo(path: Path, rng: np.random.Generator, n_rois: int, duration: float) -> dict:
    from pynwb import ProcessingModule
    from pynwb.behavior import EyeTracking, SpatialSeries
    from pynwb.ophys import DfOverF, Fluorescence, ImageSegmentation, OpticalChannel

    from neurodata.datasets._allen_ecephys import _add_behavior, _add_presentations, _nwbfile

    sched = behavior_schedule(rng, duration)
    n_frames = int(duration * FRAME_RATE)
    t = np.arange(n_frames) / FRAME_RATE + 0.02
    img = sched["presentations"]["Natural_Images_Lum_Matched_set_ophys_G_2019"]
    pref = rng.integers(0, 8, n_rois)
    drive = np.full((n_frames, n_rois), 0.2)
    for s, idx in zip(img["start_time"], img["image_index"]):
        k = int(s * FRAME_RATE)
        drive[k:k + 8] += 5.0 * (pref == idx)
    dff = _calcium(rng, n_frames, drive)
    events = np.where(dff > 0.1, dff, 0).astype(np.float32)
    ext = sdk_extensions()
    nwbfile = _nwbfile(EXPERIMENT_ID["vbo"], "Ophys Session", "OPHYS_1_images_A", ext is None)
    device = nwbfile.create_device(name="MESO.1", description="Allen Brain Observatory")
    plane = nwbfile.create_imaging_plane(
        name="imaging_plane_1", optical_channel=OpticalChannel(
            name="channel_1", description="2P Optical Channel", emission_lambda=520.0),
        description="(512, 512) field of view in VISp at depth 175 um", device=device,
        excitation_lambda=910.0, imaging_rate=FRAME_RATE, indicator="GCaMP6f", location="VISp")
    ophys = ProcessingModule(name="ophys", description="Ophys processing module")
    nwbfile.add_processing_module(ophys)
    seg = ImageSegmentation(name="image_segmentation")
    ophys.add(seg)
    ps = seg.create_plane_segmentation(name="cell_specimen_table", description="Segmented rois",
                                       imaging_plane=plane)
    cols = {"cell_specimen_id": 1086500000 + 3 * np.arange(n_rois),
            "x": rng.integers(0, 480, n_rois), "y": rng.integers(0, 480, n_rois),
            "width": np.full(n_rois, 8), "height": np.full(n_rois, 8),
            "valid_roi": rng.random(n_rois) > 0.1}
    if ext is not None:
        cols.update(roi_columns(n_rois))
    for c in cols:
        ps.add_column(name=c, description=c.replace("_", " "))
    masks = np.zeros((n_rois, 24, 24), dtype=np.float32)
    roi_ids = 1080700000 + np.arange(n_rois)
    for k in range(n_rois):
        y, x = rng.integers(1, 20, 2)
        masks[k, y:y + 3, x:x + 3] = 1.0
        ps.add_roi(image_mask=masks[k], id=int(roi_ids[k]),
                   **{c: v[k].item() for c, v in cols.items()})
    if ext is not None:
        add_ophys_images(ophys, masks, t)
    region = ps.create_roi_table_region(description="segmented cells", region=list(range(n_rois)))
    dff_if = DfOverF(name="dff")
    ophys.add(dff_if)
    dff_if.create_roi_response_series(name="traces", data=dff, unit="NA", rois=region,
                                      timestamps=t)
    fl = Fluorescence(name="corrected_fluorescence")
    ophys.add(fl)
    corrected = (50 + 50 * dff).astype(np.float32)
    fl.create_roi_response_series(name="traces", data=corrected, unit="NA", rois=region,
                                  timestamps=t)
    from pynwb.ophys import RoiResponseSeries

    ophys.add(RoiResponseSeries(name="event_detection", data=events, unit="N/A", rois=region,
                                timestamps=t))
    _add_presentations(nwbfile, sched["presentations"])
    _add_behavior(nwbfile, sched, sdk=ext is not None)
    if ext is not None:  # allensdk's environment: the lab metadata its session class reads
        add_behavior_lab_meta(
            nwbfile, ext, session_id=EXPERIMENT_ID["vbo"], behavior_session_id=957032492,
            session_type="OPHYS_1_images_A", equipment="MESO.1", stimulus_name=IMAGE_SET,
            n_stimulus_frames=int(duration * STIMULUS_FRAME_RATE),
            genotype="Slc17a7-IRES2-Cre/wt;Camk2a-tTA/wt;Ai93(TITL-GCaMP6f)/wt",
            reporter_line="Ai93(TITL-GCaMP6f)", driver_line=["Camk2a-tTA", "Slc17a7-IRES2-Cre"],
            ophys={"ophys_experiment_id": EXPERIMENT_ID["vbo"], "ophys_session_id": 957020350, "ophys_container_id": 1018027834,
                   "field_of_view_width": masks.shape[2], "field_of_view_height": masks.shape[1],
                   "imaging_depth": 175, "targeted_imaging_depth": 175,
                   "imaging_plane_group": -1, "imaging_plane_group_count": 0})
    rt, speed = running_speed(rng, duration)
    run = ProcessingModule(name="running", description="Running speed processing module")
    nwbfile.add_processing_module(run)
    run.add(time_series("speed", speed, rt, "cm/s"))
    run.add(time_series("speed_unfiltered", speed, rt, "cm/s"))
    if ext is not None:
        add_behavior_streams(nwbfile, ext, duration=duration, running_time=rt,
                             running_speed=speed, equipment="MESO.1")
    eye_t = np.arange(int(duration * 60)) / 60.0
    eye = EyeTracking(name="EyeTracking")
    ellipse = {}
    for name in ("eye_tracking", "pupil_tracking", "corneal_reflection_tracking"):
        center = rng.normal(200, 5, (eye_t.size, 2))
        eye.add_spatial_series(SpatialSeries(name=name, data=center, timestamps=eye_t,
                                             reference_frame="nose", unit="pixels"))
        ellipse[name] = {"data": center, "area": np.abs(rng.normal(300, 20, eye_t.size)),
                         "width": np.abs(rng.normal(10, 1, eye_t.size)),
                         "height": np.abs(rng.normal(10, 1, eye_t.size)),
                         "angle": rng.normal(0, 0.1, eye_t.size)}
    nwbfile.add_acquisition(eye)
    blink = rng.random(eye_t.size) < 0.02
    nwbfile.add_acquisition(time_series("likely_blink", blink, eye_t, "N/A"))
    with written(nwbfile, path) as f:
        ev = "processing/ophys/event_detection"
        retype(f, ev, "OphysEventDetection", "ndx-aibs-ophys-event-detection")
        f[ev].create_dataset("lambdas", data=rng.uniform(0.1, 0.3, n_rois))
        f[ev].create_dataset("noise_stds", data=rng.uniform(0.01, 0.03, n_rois))
        retype(f, "acquisition/EyeTracking", "EllipseEyeTracking", "ndx-ellipse-eye-tracking")
        for name, cols_e in ellipse.items():
            g = f[f"acquisition/EyeTracking/{name}"]
            retype(f, g.name, "EllipseSeries", "ndx-ellipse-eye-tracking")
            for key in ("area", "width", "height", "angle"):
                g.create_dataset(key, data=cols_e[key])
            g.create_dataset("area_raw", data=cols_e["area"])
        f.move("acquisition/likely_blink", "acquisition/EyeTracking/likely_blink")
    return {"experiment_id": EXPERIMENT_ID["vbo"], "time": t, "dff": dff, "events": events,
            "corrected_fluorescence": corrected, "roi_ids": roi_ids, "rois": cols,
            "masks": masks, "behavior": sched, "running_time": rt, "running_speed": speed,
            "eye_time": eye_t, "ellipse": ellipse, "likely_blink": blink,
            "preferred_image": pref}


def write_ophys_like(kind: str, path: Path, rng: np.random.Generator, *, n_rois: int,
                     duration: float) -> dict:
    """Write a Visual Coding 2P (``vc2p``) or Visual Behavior 2P (``vbo``) experiment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "vc2p":
        with atomic_path(path, overwrite=True, suffix=".nwb") as tmp:
            return _write_vc2p(tmp, rng, n_rois, duration)
    return _write_vbo(path, rng, n_rois, duration)
