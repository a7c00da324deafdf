"""Our Allen readers against allensdk's own, on the same files; downloads through its caches.

These tests need allensdk (the second CI environment built by .ci/run from
.ci/allensdk-constraints.txt); without it they are skipped.  The cache tests
serve generated files from an HTTP server bound to 127.0.0.1 that answers the
warehouse's RMA queries, so no outside network is used.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import urllib.parse
import warnings

import numpy as np
import pytest

import neurodata as nd
from neurodata.datasets import make_allen_like
from neurodata.errors import FileFormatError, NeurodataError

pytestmark = pytest.mark.allensdk
allensdk = pytest.importorskip(
    "allensdk", reason="allensdk is not installed: these tests run in the allensdk environment "
                       "that .ci/run builds from .ci/allensdk-constraints.txt")

NO_FILTERS = {"amplitude_cutoff_maximum": None, "presence_ratio_minimum": None,
              "isi_violations_maximum": None, "filter_by_validity": False,
              "filter_out_of_brain_units": False}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("allen_sdk")
    out = {}
    for kind, kw in (("neuropixels", {"n_units": 16, "duration": 120.0, "n_channels": 16}),
                     ("vbn", {"n_units": 10, "duration": 90.0, "n_channels": 16}),
                     ("vbo", {"n_rois": 5, "duration": 60.0}),
                     ("vc2p", {"n_rois": 5, "duration": 120.0})):
        out[kind] = make_allen_like(kind, root / f"{kind}.nwb", random_state=5,
                                    return_truth=True, **kw)
    return out


def _ecephys_session(path, **api_kwargs):
    from allensdk.brain_observatory.ecephys.ecephys_session import EcephysSession

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EcephysSession.from_nwb_path(str(path), api_kwargs=api_kwargs)


@pytest.fixture(scope="module")
def sessions(files):
    """allensdk's EcephysSession of each Neuropixels file, every unit kept (it is slow: once)."""
    return {kind: _ecephys_session(files[kind][0], **NO_FILTERS) for kind in ("neuropixels", "vbn")}


def _presentations(session, kind, path):
    if kind == "neuropixels":
        return session.stimulus_presentations
    import pynwb
    from allensdk.brain_observatory.behavior.data_objects.stimuli.presentations import (
        Presentations,
    )

    with pynwb.NWBHDF5IO(str(path), "r") as io:  # VBN: allensdk's own table builder
        return Presentations.from_nwb(io.read(), add_is_change=False,
                                      add_trials_dependent_values=False).value


@pytest.mark.parametrize("kind", ["neuropixels", "vbn"])
def test_units_spikes_presentations_running_agree_with_ecephys_session(files, sessions, kind):
    path, _ = files[kind]
    session = sessions[kind]
    with nd.open_allen(path) as ds:
        units = session.units
        assert sorted(units.index) == sorted(ds.unit.values.tolist())
        for col in ("amplitude_cutoff", "presence_ratio", "isi_violations", "snr",
                    "firing_rate", "peak_channel_id"):
            np.testing.assert_array_equal(units.loc[ds.unit.values, col].values, ds[col].values)
        st, su = ds.spike_times.values, ds.spike_unit.values
        for uid, train in session.spike_times.items():
            np.testing.assert_array_equal(st[su == uid], train)
        amps = ds.spike_amplitudes.values
        for uid, a in session.spike_amplitudes.items():
            np.testing.assert_array_equal(amps[su == uid], a)
        table = _presentations(session, kind, path).sort_index()
        dims = [d for d in nd.schema.stimulus_dims(ds) if d != "optotagging"]
        ids = np.concatenate([ds[d].values for d in dims])
        order = np.argsort(ids)
        np.testing.assert_array_equal(ids[order], table.index.values)
        for col in ("start_time", "stop_time"):
            ours = np.concatenate([ds[f"{d}_{col}"].values for d in dims])[order]
            np.testing.assert_array_equal(ours, table[col].values)
        if kind == "neuropixels":
            ori = np.concatenate([ds[f"{d}_orientation"].values if f"{d}_orientation" in ds
                                  else np.full(ds.sizes[d], np.nan) for d in dims])[order]
            theirs = table.orientation.replace("null", np.nan).astype(float).values
            np.testing.assert_array_equal(ori, theirs)
            speed = session.running_speed
            np.testing.assert_array_equal(speed.velocity.values, ds.running_speed.values)
            np.testing.assert_array_equal(speed.start_time.values, ds.time_running_speed.values)
            np.testing.assert_array_equal(speed.end_time.values, ds.running_speed_end_time.values)
        np.testing.assert_array_equal(session.optogenetic_stimulation_epochs.start_time.values,
                                      ds.optotagging_start_time.values)


def test_presentationwise_spike_counts_equal_align(files, sessions):
    path, _ = files["neuropixels"]
    session = sessions["neuropixels"]
    with nd.open_allen(path) as ds:
        aligned = nd.align(ds, "drifting_gratings", (-0.1, 0.5), bin_size=0.05)
        edges = -0.1 + 0.05 * np.arange(13)
        theirs = session.presentationwise_spike_counts(
            edges, aligned.presentation.values, ds.unit.values)
        theirs = theirs.transpose("stimulus_presentation_id", "time_relative_to_stimulus_onset",
                                  "unit_id")
        np.testing.assert_array_equal(theirs.values, aligned.values)


def test_allensdk_default_filters_are_our_explicit_filters(files):
    path, _ = files["neuropixels"]
    session = _ecephys_session(path)  # allensdk's defaults
    with nd.open_allen(path, amplitude_cutoff_maximum=0.1, presence_ratio_minimum=0.95,
                       isi_violations_maximum=0.5, quality="good", valid_channels_only=True,
                       in_brain_only=True) as ds:
        assert sorted(session.units.index) == sorted(ds.unit.values.tolist())
        assert "amplitude_cutoff <= 0.1" in ds.attrs["unit_filters"]
    with nd.open_allen(path) as everything:
        assert everything.sizes["unit"] > len(session.units)


def test_visual_coding_2p_agrees_with_brain_observatory_nwb_data_set(files):
    from allensdk.core.brain_observatory_nwb_data_set import BrainObservatoryNwbDataSet

    path, _ = files["vc2p"]
    data = BrainObservatoryNwbDataSet(str(path))
    with nd.open_allen(path) as ds:
        t, dff = data.get_dff_traces()
        np.testing.assert_array_equal(t, ds.time.values)
        np.testing.assert_array_equal(dff, ds.dff.values.T)  # allensdk: (roi, time)
        np.testing.assert_array_equal(data.get_cell_specimen_ids(), ds.roi.values)
        _, fluo = data.get_fluorescence_traces()
        np.testing.assert_array_equal(fluo, ds.fluorescence.values.T)
        for name in ("drifting_gratings", "static_gratings", "natural_scenes",
                     "natural_movie_one", "locally_sparse_noise", "spontaneous"):
            table = data.get_stimulus_table(name)
            np.testing.assert_array_equal(table.start.values, ds[f"{name}_start_frame"].values)
            np.testing.assert_array_equal(table.end.values, ds[f"{name}_end_frame"].values)
            for col in set(table.columns) - {"start", "end"}:
                np.testing.assert_array_equal(table[col].values, ds[f"{name}_{col}"].values)
        for name in ("natural_scenes", "natural_movie_one", "locally_sparse_noise"):
            np.testing.assert_array_equal(data.get_stimulus_template(name),
                                          ds[f"{name}_template"].values)
        speed, _ = data.get_running_speed()
        np.testing.assert_array_equal(speed, ds.running_speed.values)


def test_visual_behavior_ophys_agrees_with_allensdk_data_objects(files):
    import pynwb
    from allensdk.brain_observatory.behavior.behavior_ophys_experiment import (  # noqa: F401
        BehaviorOphysExperiment,  # importing it loads allensdk's NWB extensions
    )
    from allensdk.brain_observatory.behavior.data_objects import RunningSpeed
    from allensdk.brain_observatory.behavior.data_objects.cell_specimens.traces.dff_traces import (
        DFFTraces,
    )
    from allensdk.brain_observatory.behavior.data_objects.licks import Licks
    from allensdk.brain_observatory.behavior.data_objects.stimuli.presentations import (
        Presentations,
    )

    path, _ = files["vbo"]
    with pynwb.NWBHDF5IO(str(path), "r") as io, nd.open_allen(path) as ds:
        nwbfile = io.read()
        dff = DFFTraces.from_nwb(nwbfile).value
        np.testing.assert_array_equal(dff.index.values, ds.roi.values)
        np.testing.assert_array_equal(np.stack(dff.dff.values).T, ds.dff.values)
        running = RunningSpeed.from_nwb(nwbfile).value
        np.testing.assert_array_equal(running.speed.values, ds.running_speed.values)
        np.testing.assert_array_equal(running.timestamps.values, ds.time_running_speed.values)
        licks = Licks.from_nwb(nwbfile).value
        np.testing.assert_array_equal(licks.timestamps.values, ds.time_lick.values)
        table = Presentations.from_nwb(nwbfile, add_is_change=False,
                                       add_trials_dependent_values=False).value
        dims = nd.schema.stimulus_dims(ds)
        ours = np.sort(np.concatenate([ds[f"{d}_start_time"].values for d in dims]))
        np.testing.assert_array_equal(ours, table.start_time.values)


def _behavior_session(kind, path):
    """allensdk's Visual Behavior session class on a generated file, every ROI kept."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "vbo":
            from allensdk.brain_observatory.behavior.behavior_ophys_experiment import (
                BehaviorOphysExperiment,
            )

            return BehaviorOphysExperiment.from_nwb_path(str(path), exclude_invalid_rois=False)
        from allensdk.brain_observatory.ecephys.behavior_ecephys_session import (
            BehaviorEcephysSession,
        )

        return BehaviorEcephysSession.from_nwb_path(str(path))


@pytest.fixture(scope="module")
def behavior_sessions(files):
    return {kind: _behavior_session(kind, files[kind][0]) for kind in ("vbo", "vbn")}


def _images_dim(ds):
    (dim,) = [d for d in nd.schema.stimulus_dims(ds) if d.startswith("natural_images")]
    return dim


def _behavior_agrees(session, ds):
    """Running, licks, rewards, trials and presentations: allensdk's tables equal ours."""
    running = session.running_speed
    np.testing.assert_array_equal(running.speed.values, ds.running_speed.values)
    np.testing.assert_array_equal(running.timestamps.values, ds.time_running_speed.values)
    raw = session.raw_running_speed
    np.testing.assert_array_equal(raw.speed.values, ds.running_speed_unfiltered.values)
    licks = session.licks
    np.testing.assert_array_equal(licks.timestamps.values, ds.time_lick.values)
    np.testing.assert_array_equal(licks.frame.values, ds.lick_frame.values)
    rewards = session.rewards
    np.testing.assert_array_equal(rewards.timestamps.values, ds.time_reward.values)
    np.testing.assert_array_equal(rewards.volume.values, ds.reward_volume.values)
    np.testing.assert_array_equal(rewards.auto_rewarded.values, ds.reward_autorewarded.values)
    trials = session.trials
    assert len(trials) == ds.sizes["trial"] > 0
    for col in ("start_time", "stop_time", "change_time", "hit", "miss", "go", "catch",
                "change_image_name", "initial_image_name", "change_frame"):
        np.testing.assert_array_equal(trials[col].values, ds[f"trial_{col}"].values)
    table = session.stimulus_presentations
    dim = _images_dim(ds)
    images = table[table.stimulus_name == ds[f"{dim}_stimulus_name"].values[0]]
    assert len(images) == ds.sizes[dim] > 0
    np.testing.assert_array_equal(images.start_time.values, ds[f"{dim}_start_time"].values)
    np.testing.assert_array_equal(images.end_time.values, ds[f"{dim}_stop_time"].values)
    np.testing.assert_array_equal(images.image_name.values, ds[f"{dim}_image_name"].values)
    np.testing.assert_array_equal(images.image_index.values, ds[f"{dim}_image_index"].values)
    np.testing.assert_array_equal(images.omitted.values.astype(bool),
                                  ds[f"{dim}_omitted"].values.astype(bool))
    # allensdk derives is_change from the image sequence for 2P; VBN keeps the file's column
    assert images.is_change.values.astype(bool).sum() >= 2
    np.testing.assert_array_equal(images.is_change.values.astype(bool),
                                  ds[f"{dim}_is_change"].values.astype(bool))
    spont = table[table.stimulus_name == "spontaneous"]
    np.testing.assert_array_equal(spont.start_time.values, ds.spontaneous_start_time.values)
    np.testing.assert_array_equal(spont.end_time.values, ds.spontaneous_stop_time.values)


def test_behavior_ophys_experiment_agrees_with_open_allen(files, behavior_sessions):
    path, truth = files["vbo"]
    exp = behavior_sessions["vbo"]
    with nd.open_allen(path) as ds:
        assert exp.ophys_experiment_id == int(ds.attrs["ophys_experiment_id"])
        np.testing.assert_array_equal(exp.ophys_timestamps, ds.time.values)
        dff = exp.dff_traces
        np.testing.assert_array_equal(dff.index.values, ds.cell_specimen_id.values)
        np.testing.assert_array_equal(dff.cell_roi_id.values, ds.roi.values)
        np.testing.assert_array_equal(np.stack(dff.dff.values).T, ds.dff.values)
        fluo = exp.corrected_fluorescence_traces
        np.testing.assert_array_equal(fluo.cell_roi_id.values, ds.roi.values)
        np.testing.assert_array_equal(np.stack(fluo.corrected_fluorescence.values).T,
                                      ds.corrected_fluorescence.values)
        events = exp.events
        np.testing.assert_array_equal(events.cell_roi_id.values, ds.roi.values)
        np.testing.assert_array_equal(np.stack(events.events.values).T, ds.events.values)
        np.testing.assert_array_equal(events["lambda"].values, ds.roi_event_lambda.values)
        np.testing.assert_array_equal(events.noise_std.values, ds.roi_noise_std.values)
        cells = exp.cell_specimen_table
        np.testing.assert_array_equal(cells.cell_roi_id.values, ds.roi.values)
        for col in ("x", "y", "width", "height", "valid_roi"):
            np.testing.assert_array_equal(cells[col].values, ds[col].values)
        np.testing.assert_array_equal(np.stack(cells.roi_mask.values).astype(np.float32),
                                      ds.roi_mask.values)
        np.testing.assert_array_equal(ds.roi_mask.values, truth["masks"])  # and both the truth
        np.testing.assert_array_equal(exp.stimulus_timestamps, ds.time_stimulus_frame.values)
        _behavior_agrees(exp, ds)


def test_behavior_ecephys_session_agrees_with_open_allen(files, behavior_sessions):
    path, truth = files["vbn"]
    session = behavior_sessions["vbn"]
    with nd.open_allen(path) as ds:
        units = session.get_units()  # allensdk's defaults here keep every unit, as we do
        assert sorted(units.index) == sorted(ds.unit.values.tolist())
        assert ds.sizes["unit"] == truth["units"]["id"].size
        for col in ("quality", "amplitude_cutoff", "presence_ratio", "isi_violations", "snr",
                    "firing_rate", "peak_channel_id", "isolation_distance", "d_prime",
                    "waveform_duration"):
            np.testing.assert_array_equal(units.loc[ds.unit.values, col].values, ds[col].values)
        st, su = ds.spike_times.values, ds.spike_unit.values
        assert sorted(session.spike_times) == sorted(ds.unit.values.tolist())
        for uid, train in session.spike_times.items():
            assert train.size > 0
            np.testing.assert_array_equal(st[su == uid], train)
        amps = ds.spike_amplitudes.values
        for uid, a in session.spike_amplitudes.items():
            np.testing.assert_array_equal(amps[su == uid], a)
        channels = session.get_channels(filter_by_validity=False)
        np.testing.assert_array_equal(np.sort(channels.index.values), np.sort(ds.channel.values))
        np.testing.assert_array_equal(session.optotagging_table.start_time.values,
                                      ds.optotagging_start_time.values)
        _behavior_agrees(session, ds)


# --- allensdk's caches, against a local warehouse ------------------------------------------


class _Warehouse(http.server.ThreadingHTTPServer):
    files: dict  # id -> bytes
    truncate = False
    downloads = 0


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        srv: _Warehouse = self.server  # type: ignore[assignment]
        path = urllib.parse.unquote(self.path)
        if "/api/v2/data/" in path:
            ids = [int(x) for x in re.findall(r"\$eq(\d+)", path) if int(x) in srv.files]
            rows = [{"id": 1, "download_link": f"/files/{ids[0]}.nwb"}] if ids else []
            body = json.dumps({"success": True, "num_rows": len(rows), "total_rows": len(rows),
                               "msg": rows}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        m = re.match(r"/files/(\d+)\.nwb", path)
        if not m or int(m.group(1)) not in srv.files:
            self.send_error(404)
            return
        data = srv.files[int(m.group(1))]
        srv.downloads += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 3] if srv.truncate else data)
        self.wfile.flush()
        if srv.truncate:
            self.close_connection = True


@pytest.fixture
def warehouse(files):
    srv = _Warehouse(("127.0.0.1", 0), _Handler)
    srv.files = {715093703: files["neuropixels"][0].read_bytes(),
                 501940850: files["vc2p"][0].read_bytes()}
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_session_id_downloads_through_ecephys_project_cache(files, warehouse, tmp_path):
    host = f"127.0.0.1:{warehouse.server_address[1]}"
    ds = nd.open_allen(715093703, cache_dir=tmp_path, host=host)
    with nd.open_allen(files["neuropixels"][0]) as direct:
        np.testing.assert_array_equal(ds.spike_times.values, direct.spike_times.values)
        assert ds.attrs["source_sha256"] == direct.attrs["source_sha256"]
    ds.close()
    assert warehouse.downloads == 1
    nd.open_allen(715093703, cache_dir=tmp_path, host=host).close()  # from the cache now
    assert warehouse.downloads == 1


def test_experiment_id_downloads_through_brain_observatory_cache(files, warehouse, tmp_path):
    host = f"127.0.0.1:{warehouse.server_address[1]}"
    with nd.open_allen(501940850, kind="vc2p", cache_dir=tmp_path, host=host) as ds:
        assert ds.attrs["ophys_experiment_id"] == "501940850"
        assert ds.attrs["source_sha256"] == nd.io._h5.file_sha256(files["vc2p"][0])


def test_interrupted_download_leaves_nothing_in_the_cache(warehouse, tmp_path):
    host = f"127.0.0.1:{warehouse.server_address[1]}"
    warehouse.truncate = True
    with pytest.raises(FileFormatError, match="nothing was kept"):
        nd.open_allen(715093703, cache_dir=tmp_path, host=host)
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".nwb", ".part")]
    assert leftovers == []
    warehouse.truncate = False
    with nd.open_allen(715093703, cache_dir=tmp_path, host=host) as ds:
        assert ds.sizes["unit"] == 16


def test_unknown_session_id_is_a_named_error(warehouse, tmp_path):
    host = f"127.0.0.1:{warehouse.server_address[1]}"
    with pytest.raises(NeurodataError, match="no neuropixels file for id 12345"):
        nd.open_allen(12345, cache_dir=tmp_path, host=host)
    with pytest.raises(NeurodataError, match="no Visual Coding 2P experiment 12345"):
        nd.open_allen(12345, kind="vc2p", cache_dir=tmp_path, host=host)
    assert not [p for p in tmp_path.rglob("*.nwb")]
