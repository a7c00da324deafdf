"""allensdk's own NWB extension objects in the Visual Behavior files, where allensdk is installed.

The released Visual Behavior files (2P experiments and Neuropixels sessions)
carry lab metadata of allensdk's NWB extensions (namespace
``ndx-aibs-behavior-ophys``): the session ``metadata`` (``BehaviorMetadata``,
or ``OphysBehaviorMetadata`` for a 2P experiment), the ``task_parameters``,
a ``BehaviorSubject`` with driver and reporter lines, and the eye-tracking rig
geometry.  allensdk's session classes (``BehaviorOphysExperiment``,
``BehaviorEcephysSession``) read them first.  The extension classes come from
the namespace files that ship inside allensdk, so they are only available in
its environment (pynwb 2); elsewhere :func:`sdk_extensions` returns ``None``
and the files are written without them (our readers do not need them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["add_behavior_lab_meta", "sdk_extensions"]

#: The stimulus frame rate of the Visual Behavior sessions (Hz).
STIMULUS_FRAME_RATE = 60.0
#: The mouse of every generated session.
SUBJECT = {"subject_id": "730756780", "age": "P112D", "sex": "M", "species": "Mus musculus"}


def sdk_extensions() -> dict[str, Any] | None:
    """allensdk's behaviour extension classes by type name, or None where allensdk is absent."""
    try:
        from allensdk.brain_observatory.behavior import schemas
        from allensdk.brain_observatory.nwb.metadata import load_pynwb_extension
    except ImportError:  # not allensdk's environment
        return None
    out = {}
    for schema in (schemas.SubjectMetadataSchema, schemas.BehaviorMetadataSchema,
                   schemas.OphysBehaviorMetadataSchema, schemas.BehaviorTaskParametersSchema,
                   schemas.OphysEyeTrackingRigMetadataSchema):
        out[schema.neurodata_type] = load_pynwb_extension(schema, "ndx-aibs-behavior-ophys")
    return out


def add_behavior_lab_meta(nwbfile: Any, ext: dict[str, Any], *, session_id: int,
                          behavior_session_id: int, session_type: str, equipment: str,
                          stimulus_name: str, n_stimulus_frames: int, ophys: dict | None = None,
                          genotype: str, reporter_line: str, driver_line: list[str]) -> None:
    """Add the subject, session metadata and task parameters allensdk reads.

    ``nwbfile`` must not have a subject yet (it gets a ``BehaviorSubject``).
    """
    nwbfile.subject = ext["BehaviorSubject"](  # in place of the core Subject
        description="A visual behavior subject with a LabTracks ID", age=SUBJECT["age"],
        driver_line=np.array(driver_line), genotype=genotype, subject_id=SUBJECT["subject_id"],
        reporter_line=reporter_line, sex=SUBJECT["sex"], species=SUBJECT["species"])
    common = {"name": "metadata", "behavior_session_id": int(behavior_session_id),
              "behavior_session_uuid": f"5f8c1e6a-0000-4000-8000-{session_id:012d}",
              "stimulus_frame_rate": STIMULUS_FRAME_RATE, "session_type": session_type,
              "equipment_name": equipment, "project_code": "VisualBehavior"}
    if ophys is None:
        meta = ext["BehaviorMetadata"](**common)
    else:
        meta = ext["OphysBehaviorMetadata"](**common, **ophys)
    nwbfile.add_lab_meta_data(meta)
    nwbfile.add_lab_meta_data(ext["BehaviorTaskParameters"](
        name="task_parameters", blank_duration_sec=np.array([0.5, 0.5]),
        stimulus_duration_sec=0.25, omitted_flash_fraction=0.05,
        response_window_sec=np.array([0.15, 0.75]), reward_volume=0.005,
        auto_reward_volume=0.005, session_type=session_type, stimulus="images",
        stimulus_distribution="geometric", task="change detection",
        n_stimulus_frames=int(n_stimulus_frames), stimulus_name=stimulus_name))


def add_behavior_streams(nwbfile: Any, ext: dict[str, Any], *, duration: float,
                         running_time: np.ndarray, running_speed: np.ndarray,
                         equipment: str) -> None:
    """Add the stimulus frame times, raw running signals and eye-tracking rig geometry.

    Deterministic (no draws from the session's generator, so the rest of the
    content is the same with and without allensdk): stimulus frames every
    1/60 s, the wheel's per-frame rotation ``dx`` (degrees) from the speed on a
    6.5 cm radius wheel, and the encoder voltages that integrate it.
    """
    from pynwb import ProcessingModule, TimeSeries

    frames = np.arange(int(duration * STIMULUS_FRAME_RATE)) / STIMULUS_FRAME_RATE
    stim = ProcessingModule(name="stimulus", description="Stimulus Times processing")
    nwbfile.add_processing_module(stim)
    stim.add(TimeSeries(name="timestamps", data=frames, timestamps=frames, unit="s"))
    step = np.diff(running_time, append=running_time[-1] + 1 / STIMULUS_FRAME_RATE)
    dx = np.rad2deg(running_speed * step / 6.5)
    nwbfile.processing["running"].add(TimeSeries(
        name="dx", data=dx, timestamps=running_time, unit="cm",
        description="Running wheel angular change, computed during data collection"))
    angle = np.cumsum(dx) % 360.0
    nwbfile.add_acquisition(TimeSeries(name="v_sig", data=5.0 * angle / 360.0,
                                       timestamps=running_time, unit="V",
                                       description="Voltage signal from the running wheel encoder"))
    nwbfile.add_acquisition(TimeSeries(name="v_in", data=np.full(running_time.size, 5.0),
                                       timestamps=running_time, unit="V",
                                       description="The theoretical maximum voltage that the "
                                                   "running wheel encoder will reach"))
    rig = ProcessingModule(name="eye_tracking_rig_metadata",
                           description="Eye tracking rig metadata module")
    nwbfile.add_processing_module(rig)
    rig.add(ext["OphysEyeTrackingRigMetadata"](
        name="eye_tracking_rig_metadata", equipment=equipment,
        monitor_position=np.array([118.6, 86.2, 31.6]), monitor_position__unit_of_measurement="mm",
        camera_position=np.array([130.0, 0.0, 0.0]), camera_position__unit_of_measurement="mm",
        led_position=np.array([265.1, -39.3, 1.0]), led_position__unit_of_measurement="mm",
        monitor_rotation=np.array([0.0, 0.0, 0.0]), monitor_rotation__unit_of_measurement="deg",
        camera_rotation=np.array([0.0, 0.0, 13.1]), camera_rotation__unit_of_measurement="deg"))


def allensdk_trial_columns(sched: dict) -> dict[str, np.ndarray]:
    """The trials columns allensdk's ``Trials`` has besides ours, derived from the schedule.

    Every trial is a go trial ending in a change (``behavior_schedule``), so
    there are no catch trials, false alarms, correct rejections or aborts; the
    response is the first lick of the trial, the change frame its 60 Hz frame.
    """
    tr = sched["trials"]
    first = np.array([row[0] if row.size else np.nan for row in sched["trial_lick_times"]])
    return {"stimulus_change": tr["go"].copy(), "response_time": first,
            "response_latency": first - tr["change_time"],
            "false_alarm": np.zeros(tr["go"].size, dtype=bool),
            "correct_reject": np.zeros(tr["go"].size, dtype=bool),
            "aborted": np.zeros(tr["go"].size, dtype=bool),
            "auto_rewarded": np.zeros(tr["go"].size, dtype=bool),
            "change_frame": np.round(tr["change_time"] * STIMULUS_FRAME_RATE).astype(np.int64),
            "trial_length": tr["stop_time"] - tr["start_time"]}


#: Columns of allensdk's cell specimen table beyond ours (zero motion-correction margins,
#: one imaging plane).
ROI_COLUMNS = ("mask_image_plane", "max_correction_down", "max_correction_left",
               "max_correction_right", "max_correction_up")


def roi_columns(n_rois: int) -> dict[str, np.ndarray]:
    """The extra cell specimen table columns of :data:`ROI_COLUMNS`."""
    return {"mask_image_plane": np.zeros(n_rois, dtype=np.int64),
            **{c: np.zeros(n_rois) for c in ROI_COLUMNS[1:]}}


def add_ophys_images(ophys: Any, masks: np.ndarray, time: np.ndarray) -> None:
    """Projections, the segmentation mask image and (zero) motion correction in ``ophys``.

    The projections are a plain function of the ROI masks (bright cells on a
    gray field), at 0.78 um per pixel.
    """
    from pynwb import TimeSeries
    from pynwb.base import Images
    from pynwb.image import GrayscaleImage

    cells = masks.sum(axis=0)
    images = Images(name="images")
    resolution = 1 / 0.78e-4  # pixels per cm
    for name, data in (("max_projection", 60.0 + 150.0 * cells),
                       ("average_image", 40.0 + 60.0 * cells),
                       ("segmentation_mask_image", (cells > 0).astype(np.float64))):
        images.add_image(GrayscaleImage(name=name, data=data.astype(np.float32),
                                        resolution=resolution,
                                        description=f"{name} image at pixels/cm resolution"))
    ophys.add(images)
    for axis in ("x", "y"):
        ophys.add(TimeSeries(name=f"ophys_motion_correction_{axis}",
                             data=np.zeros(time.size, dtype=np.int64), timestamps=time,
                             unit="pixels"))
