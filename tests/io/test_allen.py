"""open_allen on files in every Allen layout (make_allen_like): the known content, exactly."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

import neurodata as nd
from neurodata.datasets import make_allen_like, sample_path
from neurodata.errors import FileFormatError, NeurodataError
from neurodata.io._h5 import file_sha256


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("allen")
    out = {}
    for kind, kw in (("neuropixels", {"n_units": 24, "duration": 150.0, "n_channels": 16}),
                     ("lfp", {"duration": 60.0, "n_channels": 16}),
                     ("vbn", {"n_units": 12, "duration": 90.0, "n_channels": 16}),
                     ("vbo", {"n_rois": 6, "duration": 60.0}),
                     ("vc2p", {"n_rois": 5, "duration": 120.0})):
        out[kind] = make_allen_like(kind, root / f"{kind}.nwb", random_state=3,
                                    return_truth=True, **kw)
    return out


def _unit_trains(ds):
    st, su = ds.spike_times.values, ds.spike_unit.values
    return {int(u): st[su == u] for u in ds.unit.values}


def test_neuropixels_units_spikes_and_every_metric(files):
    path, truth = files["neuropixels"]
    with nd.open_allen(path) as ds:
        nd.validate(ds)
        units = truth["units"]
        np.testing.assert_array_equal(ds.unit.values, units["id"])
        trains = _unit_trains(ds)
        for uid, expected in zip(units["id"], truth["spike_times"]):
            np.testing.assert_array_equal(trains[int(uid)], expected)
        assert np.all(np.diff(ds.spike_times.values) >= 0)
        amps = np.concatenate(truth["spike_amplitudes"])
        times = np.concatenate(truth["spike_times"])
        order = np.lexsort((np.repeat(np.arange(units["id"].size),
                                      [s.size for s in truth["spike_times"]]), times))
        np.testing.assert_array_equal(ds.spike_amplitudes.values, amps[np.argsort(times,
                                                                                  kind="stable")])
        assert order.size == ds.sizes["spike"]
        for col in ("amplitude_cutoff", "presence_ratio", "isi_violations", "snr", "d_prime",
                    "isolation_distance", "PT_ratio", "peak_channel_id", "cluster_id"):
            np.testing.assert_array_equal(ds[col].values, units[col])
        assert list(ds.quality.values) == list(units["quality"])
        np.testing.assert_array_equal(ds.location.values.astype(str), units["area"].astype(str))
        assert ds.attrs["unit_filters"] == "none" and ds.attrs["n_units_in_file"] == 24
        assert ds.waveform_mean.dims == ("unit", "waveform_sample", "waveform_channel")


def test_neuropixels_channels_probes_and_areas(files):
    path, truth = files["neuropixels"]
    ch = truth["layout"]["channels"]
    with nd.open_allen(path) as ds:
        np.testing.assert_array_equal(ds.channel.values, ch["id"])
        assert list(ds.channel_location.values) == list(ch["location"])
        np.testing.assert_array_equal(ds.channel_probe_vertical_position.values, ch["vertical"])
        np.testing.assert_array_equal(ds.channel_valid_data.values, ch["valid_data"])
        np.testing.assert_array_equal(ds.probe.values, [p["id"] for p in truth["layout"]["probes"]])
        assert list(ds.probe_name.values) == ["probeA", "probeB"]
        assert set(ds.probe_lfp_sampling_rate.values) == {1250.0}
        # each unit's probe is its peak channel's
        pos = {c: i for i, c in enumerate(ch["id"])}
        expected = [ch["probe_id"][pos[c]] for c in truth["units"]["peak_channel_id"]]
        np.testing.assert_array_equal(ds.probe_id.values, expected)


def test_neuropixels_stimulus_tables_optotagging_running_eye(files):
    path, truth = files["neuropixels"]
    with nd.open_allen(path) as ds:
        assert set(nd.schema.stimulus_dims(ds)) == {*truth["presentations"], "optotagging"}
        for name, table in truth["presentations"].items():
            for col, values in table.items():
                got = ds[f"{name}_{col}"].values
                if values.dtype.kind == "f":
                    np.testing.assert_array_equal(got, values)
                else:
                    assert list(got) == list(values), (name, col)
        # presentation ids: the rank of each presentation in time, across all tables
        starts = np.concatenate([ds[f"{n}_start_time"].values for n in truth["presentations"]])
        ids = np.concatenate([ds[n].values for n in truth["presentations"]])
        np.testing.assert_array_equal(ids[np.argsort(starts, kind="stable")],
                                      np.arange(starts.size))
        opto = truth["optotagging"]
        np.testing.assert_array_equal(ds.optotagging_start_time.values, opto["start_time"])
        np.testing.assert_array_equal(ds.optotagging_level.values, opto["level"])
        run = truth["running"]
        np.testing.assert_array_equal(ds.running_speed.values, run["speed"])
        np.testing.assert_array_equal(ds.time_running_speed.values, run["time"])
        np.testing.assert_array_equal(ds.running_speed_end_time.values, run["end_time"])
        np.testing.assert_array_equal(ds.running_wheel_rotation.values, run["rotation"])
        eye = truth["eye"]
        np.testing.assert_array_equal(ds.time_eye_tracking.values, eye["time"])
        np.testing.assert_array_equal(ds.pupil_center_x.values, eye["pupil_fits"]["center_x"])
        np.testing.assert_array_equal(ds.corneal_reflection_phi.values, eye["cr_fits"]["phi"])
        np.testing.assert_allclose(ds.raw_pupil_area.values,
                                   np.pi * eye["pupil_fits"]["height"] ** 2)
        assert ds.raw_screen_coordinates.dims == ("time_eye_tracking", "screen_axis")


@pytest.mark.parametrize("kw, expected", [
    ({"amplitude_cutoff_maximum": 0.1}, lambda u: u["amplitude_cutoff"] <= 0.1),
    ({"presence_ratio_minimum": 0.95}, lambda u: u["presence_ratio"] >= 0.95),
    ({"isi_violations_maximum": 0.5}, lambda u: u["isi_violations"] <= 0.5),
    ({"quality": "good", "isi_violations_maximum": 0.5},
     lambda u: (u["quality"] == "good") & (u["isi_violations"] <= 0.5)),
])
def test_unit_filters_are_explicit_and_recorded(files, kw, expected):
    path, truth = files["neuropixels"]
    keep = expected(truth["units"])
    assert 0 < keep.sum() < keep.size  # the filter really removes some units here
    with nd.open_allen(path, **kw) as ds:
        np.testing.assert_array_equal(ds.unit.values, truth["units"]["id"][keep])
        assert ds.sizes["spike"] == sum(s.size for s, k in zip(truth["spike_times"], keep) if k)
        assert set(ds.spike_unit.values) <= set(ds.unit.values)
        for key in kw:
            assert key.rsplit("_", 1)[0] in ds.attrs["unit_filters"]
        assert ds.attrs["n_units_in_file"] == keep.size
        nd.validate(ds)


def test_in_brain_and_valid_channel_filters(files):
    path, truth = files["neuropixels"]
    ch = truth["layout"]["channels"]
    pos = {c: i for i, c in enumerate(ch["id"])}
    rows = np.array([pos[c] for c in truth["units"]["peak_channel_id"]])
    keep = (ch["location"][rows] != "None") & ch["valid_data"][rows]
    with nd.open_allen(path, in_brain_only=True, valid_channels_only=True) as ds:
        np.testing.assert_array_equal(ds.unit.values, truth["units"]["id"][keep])
        assert "None" not in set(ds.location.values)


def test_opening_reads_no_spikes(files, monkeypatch):
    import neurodata.io._allen_nwb2 as nwb2

    def forbidden(*args, **kwargs):
        raise AssertionError("opening read the spike trains")

    monkeypatch.setattr(nwb2, "_sorted_spikes", forbidden)
    monkeypatch.setattr(nwb2, "_read", forbidden)
    path, truth = files["neuropixels"]
    ds = nd.open_allen(path, checksum=False)
    assert isinstance(ds.spike_times.data, da.Array)
    assert ds.sizes["spike"] == sum(s.size for s in truth["spike_times"])
    with pytest.raises(AssertionError, match="read the spike trains"):
        _ = ds.spike_times.values
    ds.close()


def test_lfp_probe_file_is_lazy_time_by_channel(files):
    path, truth = files["lfp"]
    with nd.open_allen(path) as ds:
        assert ds.lfp.dims == ("time", "channel")
        assert isinstance(ds.lfp.data, da.Array)
        np.testing.assert_array_equal(ds.channel.values, truth["channel"])
        np.testing.assert_array_equal(ds.time.values, truth["time"])
        np.testing.assert_array_equal(ds.lfp.values, truth["lfp"])
        np.testing.assert_array_equal(ds.csd.values, truth["csd"])
        assert ds.csd.dims == ("time_csd", "virtual_channel")
        assert ds.attrs["probe_id"] == str(truth["probe_id"])
        nd.validate(ds)


def test_visual_behavior_neuropixels_trials_licks_rewards(files):
    path, truth = files["vbn"]
    beh = truth["behavior"]
    with nd.open_allen(path) as ds:
        assert ds.attrs["allen_session_type"] == "Visual Behavior Neuropixels"
        np.testing.assert_array_equal(ds.trial_change_time.values, beh["trials"]["change_time"])
        np.testing.assert_array_equal(ds.trial_hit.values, beh["trials"]["hit"])
        np.testing.assert_array_equal(ds.time_lick.values, beh["licks"])
        np.testing.assert_array_equal(ds.time_reward.values, beh["rewards"])
        images = "natural_images_lum_matched_set_ophys_g_2019"
        table = beh["presentations"]["Natural_Images_Lum_Matched_set_ophys_G_2019"]
        assert list(ds[f"{images}_image_name"].values) == list(table["image_name"])
        assert images in nd.schema.stimulus_dims(ds)
        trains = _unit_trains(ds)
        for uid, expected in zip(truth["units"]["id"], truth["spike_times"]):
            np.testing.assert_array_equal(trains[int(uid)], expected)


def test_visual_behavior_ophys_traces_events_masks(files):
    path, truth = files["vbo"]
    with nd.open_allen(path) as ds:
        nd.validate(ds)
        np.testing.assert_array_equal(ds.roi.values, truth["roi_ids"])
        np.testing.assert_array_equal(ds.cell_specimen_id.values, truth["rois"]["cell_specimen_id"])
        np.testing.assert_array_equal(ds.time.values, truth["time"])
        for name in ("dff", "events", "corrected_fluorescence"):
            assert ds[name].dims == ("time", "roi")
            np.testing.assert_array_equal(ds[name].values, truth[name])
        np.testing.assert_array_equal(ds.roi_mask.values, truth["masks"])
        assert np.all(np.isfinite(ds.roi_event_lambda.values))
        np.testing.assert_array_equal(ds.running_speed.values, truth["running_speed"])
        np.testing.assert_array_equal(ds.pupil_area.values, truth["ellipse"]["pupil_tracking"]["area"])
        np.testing.assert_array_equal(ds.likely_blink.values, truth["likely_blink"])
        assert ds.attrs["imaging_plane_location"] == "VISp"


def test_visual_coding_2p_tables_as_allensdk_builds_them(files):
    path, truth = files["vc2p"]
    frame_t = truth["frame_times"]
    with nd.open_allen(path) as ds:
        nd.validate(ds)
        np.testing.assert_array_equal(ds.roi.values, truth["cell_specimen_ids"])
        np.testing.assert_array_equal(ds.dff.values, truth["dff"])
        np.testing.assert_array_equal(ds.neuropil.values, truth["neuropil"])
        np.testing.assert_array_equal(ds.roi_mask.values, truth["masks"])
        dg = truth["blocks"]["drifting_gratings"]
        np.testing.assert_array_equal(ds.drifting_gratings_start_time.values,
                                      frame_t[dg["frames"][:, 0]])
        np.testing.assert_array_equal(ds.drifting_gratings_orientation.values, dg["data"][:, 0])
        np.testing.assert_array_equal(ds.drifting_gratings_blank_sweep.values, dg["data"][:, 2])
        spont = truth["blocks"]["spontaneous"]["frames"]
        np.testing.assert_array_equal(ds.spontaneous_start_frame.values, spont[:, 0])
        np.testing.assert_array_equal(ds.spontaneous_end_frame.values, spont[:, 1])
        movie = truth["blocks"]["natural_movie_one"]["data"]
        np.testing.assert_array_equal(ds.natural_movie_one_repeat.values,
                                      np.arange(movie.size) // 60)
        for name, stack in truth["templates"].items():
            np.testing.assert_array_equal(ds[f"{name}_template"].values, stack)
        assert {"drifting_gratings", "static_gratings", "natural_scenes", "natural_movie_one",
                "locally_sparse_noise", "spontaneous"} == set(nd.schema.stimulus_dims(ds))


def test_align_to_a_stimulus_table_gives_presentations(files):
    path, truth = files["neuropixels"]
    with nd.open_allen(path) as ds:
        out = nd.align(ds, "drifting_gratings", (-0.5, 2.5), bin_size=0.25)
        assert out.dims == ("presentation", "time_rel", "unit")
        assert str(out.stimulus.values) == "drifting_gratings"
        np.testing.assert_array_equal(out.presentation_orientation.values,
                                      truth["presentations"]["drifting_gratings"]["orientation"])
        starts = truth["presentations"]["drifting_gratings"]["start_time"]
        edges = -0.5 + 0.25 * np.arange(13)
        for k, uid in enumerate(truth["units"]["id"][:6]):
            train = truth["spike_times"][k]
            brute = np.stack([np.histogram(train - s, edges)[0] for s in starts])
            np.testing.assert_array_equal(out.sel(unit=uid).values, brute)
    # other interval tables keep their own dimension name
    with nd.load_sample() as sample:
        assert nd.align(sample, "trial", (0, 1), bin_size=0.1).dims[0] == "trial"


def test_orientation_tuning_recovered_per_visual_unit(files):
    path, truth = files["neuropixels"]
    with nd.open_allen(path) as ds:
        out = nd.align(ds, "drifting_gratings", (0.0, 2.0), bin_size=2.0)
        rates = out.isel(time_rel=0) / 2.0
        ori = np.deg2rad(2 * out.presentation_orientation.values)
        z = (rates * np.exp(1j * ori)[:, None]).sum("presentation").values
        est = np.rad2deg(np.angle(z) / 2) % 180
    units = truth["units"]
    strong = units["peak_rate"] > 8.0
    err = np.abs((est - units["preferred_orientation"] + 90) % 180 - 90)
    assert strong.sum() >= 4
    assert np.median(err[strong]) < 15.0


def test_wrong_session_type_truncated_file_and_ids(files, tmp_path):
    vbo, _ = files["vbo"]
    with pytest.raises(FileFormatError, match="kind='vbo'"):
        nd.open_allen(vbo, kind="neuropixels")
    with pytest.raises(FileFormatError, match="open_nwb"):
        nd.open_allen(sample_path())
    with pytest.raises(FileFormatError, match="not an Allen Neuropixels session"):
        nd.io.open_allen_neuropixels(vbo)
    lfp, _ = files["lfp"]
    cut = tmp_path / "probe_lfp_cut.nwb"
    cut.write_bytes(lfp.read_bytes()[: lfp.stat().st_size // 2])
    with pytest.raises(FileFormatError, match="truncated"):
        nd.open_allen(cut)
    with pytest.raises(NeurodataError, match="cache_dir"):
        nd.open_allen(715093703)
    with pytest.raises(NeurodataError, match="kind must be one of"):
        nd.open_allen(vbo, kind="ophys")


def test_inputs_never_modified(files):
    for kind, (path, _) in files.items():
        before = file_sha256(path)
        ds = nd.open_allen(path)
        ds.load()
        ds.close()
        assert file_sha256(path) == before, kind


def test_every_file_goes_to_its_reader(files):
    from neurodata.io._registry import guess_reader

    expected = {"neuropixels": "allen-neuropixels", "vbn": "allen-neuropixels",
                "lfp": "allen-lfp", "vbo": "allen-vbo", "vc2p": "allen-vc2p"}
    for kind, (path, _) in files.items():
        assert guess_reader(path).name == expected[kind]
        assert nd.open_recording(path).attrs["allen_session_type"]


def test_make_allen_like_is_seeded(tmp_path):
    a = make_allen_like("neuropixels", tmp_path / "a.nwb", n_units=5, duration=60.0,
                        random_state=7, return_truth=True)[1]
    b = make_allen_like("neuropixels", tmp_path / "b.nwb", n_units=5, duration=60.0,
                        random_state=7, return_truth=True)[1]
    for x, y in zip(a["spike_times"], b["spike_times"]):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(NeurodataError, match="kind"):
        make_allen_like("ecephys", tmp_path / "c.nwb")
