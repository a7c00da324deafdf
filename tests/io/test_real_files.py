"""open_nwb / open_allen on every real file in ../shared/data/nwb, with exact figures."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import neurodata as nd
from neurodata.errors import FileFormatError, NeurodataWarning
from tests.conftest import shared_file

NEUROSUITE = "nwb/pynapple_neurosuite_A2929-200711.nwb"
SUITE2P = "nwb/pynapple_suite2p_2022_08_08.nwb"
ELEGANS = "nwb/ScholzEtAl2018.AML175_moving.BrainScanner20180223_141721.nwb"
ALM = "nwb/sub-anm369963_ses-20170228.nwb"
ALLEN = "nwb/allen_vc2p_496908818s_nwb1_skinny.nwb"


def test_neurosuite_units_spikes_epochs_behaviour():
    path = shared_file(NEUROSUITE)
    with nd.open_nwb(path) as ds:
        nd.validate(ds)
        assert ds.sizes["unit"] == 15
        assert ds.sizes["spike"] == 98_794
        st = ds.spike_times.values
        assert np.all(np.diff(st) >= 0)
        assert 0 <= st[0] and st[-1] <= 1200
        # every unit's spikes are exactly the file's ragged train
        with h5py.File(path, "r") as f:
            ends = f["units/spike_times_index"][()]
            raw = f["units/spike_times"][()]
            ids = f["units/id"][()]
        su = ds.spike_unit.values
        for k, uid in enumerate(ids):
            start = 0 if k == 0 else ends[k - 1]
            np.testing.assert_array_equal(np.sort(raw[start:ends[k]]), st[su == uid])
        assert list(ds.epoch_tags.values) == ["sleep", "wake"]
        np.testing.assert_array_equal(ds.epoch_start_time.values, [0.0, 600.0])
        np.testing.assert_array_equal(ds.epoch_stop_time.values, [600.0, 1200.0])
        assert set(ds.location.values) <= {"adn", "ca1"}
        # head direction and position at 120 Hz, during wake only
        t = ds.time_compass_direction.values
        assert ds.compass_direction_ry.shape == (63_527,)
        assert 600 <= t[0] and t[-1] <= 1200
        assert np.median(np.diff(t)) == pytest.approx(1 / 120, rel=0.01)
        assert ds.sizes["electrode"] == 16
        assert ds.sizes["sleep_ripples_intervals"] == 594
        assert ds.attrs["nwb_version"] == "2.4.0"


def test_suite2p_orientation_fixed_with_warning():
    path = shared_file(SUITE2P)
    with pytest.warns(NeurodataWarning, match="ROI-first"):
        ds = nd.open_nwb(path)
    with ds:
        nd.validate(ds)
        for name in ("fluorescence", "neuropil", "deconvolved"):
            assert ds[name].dims == ("time", "roi")
            assert ds[name].shape == (2000, 219)
        np.testing.assert_allclose(np.diff(ds.time.values), 0.1)
        with h5py.File(path, "r") as f:
            raw = f["processing/ophys/Fluorescence/Fluorescence/data"][()]
            iscell = f["processing/ophys/ImageSegmentation/PlaneSegmentation/iscell"][()]
        np.testing.assert_array_equal(ds.fluorescence.values, raw.T)
        np.testing.assert_array_equal(ds.iscell.values, iscell[:, 0] > 0.5)
        assert ds.roi_n_pixels.values.min() > 0


def test_correctly_oriented_traces_are_left_alone(tmp_path):
    ds = nd.datasets.make_calcium_imaging(n_rois=5, duration=30, random_state=0)
    out = nd.save_nwb(ds, tmp_path / "c.nwb")
    back = nd.open_nwb(out, lazy=False)  # no warning: the suite turns warnings into errors
    np.testing.assert_array_equal(back.fluorescence.values, ds.fluorescence.values)


def test_celegans_single_neuron_series_become_one_variable():
    path = shared_file(ELEGANS)
    with nd.open_nwb(path) as ds:
        nd.validate(ds)
        assert ds.activity.dims == ("time", "roi")
        assert ds.activity.shape == (2244, 62)
        assert ds.roi_name.values[0] == "Activity_0000"
        assert ds.roi_name.values[-1] == "Activity_0061"
        with h5py.File(path, "r") as f:
            a17 = f["acquisition/Activity_0017/data"][()]
            t = f["acquisition/Activity_0000/timestamps"][()]
        np.testing.assert_array_equal(ds.activity.sel(roi=17).values, a17)
        np.testing.assert_array_equal(ds.time.values, t)
        assert ds.time.values[-1] == pytest.approx(440, abs=1)
        assert ds.tracked_2d_position_ss_2d.shape == (2244, 2)


def test_alm_trials_keep_nan_stops_and_relative_events():
    path = shared_file(ALM)
    with pytest.warns(NeurodataWarning, match="sorted by time"):
        ds = nd.open_nwb(path)
    with ds:
        nd.validate(ds)
        assert ds.sizes["trial"] == 178
        assert np.isnan(ds.trial_stop_time.values).all()
        with h5py.File(path, "r") as f:
            cue = f["intervals/trials/cue_start_time"][()]
        np.testing.assert_array_equal(ds.trial_cue_start_time.values, cue)  # relative, as stored
        assert ds.sizes["unit"] == 1 and ds.sizes["spike"] == 1679
        assert ds.quality.values[0] == "Excellent"
        assert ds.sizes["electrode"] == 64
        # lick events: all kept, now in time order
        assert ds.lick_times_lick_left_times.shape == (782,)
        assert np.all(np.diff(ds.time_lick_times.values) >= 0)


def test_allen_nwb1_gets_a_clear_error_and_open_allen_reads_it():
    path = shared_file(ALLEN)
    with pytest.raises(FileFormatError, match="open_allen"):
        nd.open_nwb(path)
    ds = nd.open_allen(path)
    assert ds.attrs["ophys_experiment_id"] == "496908818"
    assert ds.attrs["session_type"] == "three_session_B"
    assert ds.attrs["targeted_structure"] == "VISp"
    assert ds.attrs["indicator"] == "GCaMP6f"
    assert ds.dff.dims == ("time", "roi")
    assert {"static_gratings", "natural_scenes", "natural_movie_one", "spontaneous"} <= set(ds.dims)
    nd.validate(ds)


@pytest.mark.parametrize("rel", [NEUROSUITE, SUITE2P, ELEGANS, ALM, ALLEN])
def test_inputs_never_modified(rel, tmp_path):
    path = shared_file(rel)
    before = nd.io._h5.file_sha256(path)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurodataWarning)
        ds = nd.open_recording(path)
        ds.load()
        if "spike_times" in ds:
            nd.bin_spikes(ds, 0.01)
        nd.summarize(ds)
        ds.close()
    assert nd.io._h5.file_sha256(path) == before
