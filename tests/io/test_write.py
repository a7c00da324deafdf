"""write_nwb / read_results round trips, atomic writes, and never touching the source."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest
import xarray as xr

import neurodata as nd
from neurodata.datasets import sample_path
from neurodata.errors import NeurodataError
from neurodata.io._h5 import file_sha256
from tests.conftest import shared_file


def _result() -> xr.Dataset:
    rng = np.random.default_rng(0)
    return xr.Dataset(
        {
            "weights": (("target", "source"), rng.random((3, 4)).astype(np.float32),
                        {"units": "1", "note": "attention"}),
            "labels": ("target", np.array(["a", "bb", "ccc"], dtype=object)),
            "flags": ("source", np.array([True, False, True, True])),
            "counts": (("target",), np.array([1, 2, 3], dtype=np.int16)),
        },
        coords={"target": [10, 20, 30], "source": np.arange(4.0),
                "when": ("target", np.array(["2020-01-01", "2021-06-01", "2022-01-01"],
                                            dtype="datetime64[ns]"))},
        attrs={"method": "test", "rank": 3, "params": {"tau": 0.5}},
    )


def test_dataset_and_dataarray_round_trip(tmp_path):
    res = _result()
    da = res["weights"].rename("w")
    out = nd.write_nwb({"res": res, "w": da}, tmp_path / "r.nwb")
    back = nd.read_results(out)
    assert back["res"].identical(res)
    assert back["w"].identical(da)
    assert back["res"].weights.dtype == np.float32


def test_results_added_to_copy_of_source(tmp_path):
    src = tmp_path / "src.nwb"
    shutil.copy(sample_path(), src)
    before = file_sha256(src)
    out = nd.write_nwb(_result(), tmp_path / "with_results.nwb", source=src, module="analysis")
    assert file_sha256(src) == before
    # the copy still reads as the original recording, plus the module
    a, b = nd.open_nwb(src, lazy=False), nd.open_nwb(out, lazy=False)
    np.testing.assert_array_equal(a.spike_times, b.spike_times)
    assert "result" in nd.read_results(out, module="analysis")
    with h5py.File(out, "r") as f:
        assert f["processing/analysis"].attrs["neurodata_type"] == "ProcessingModule"


@pytest.mark.parametrize("rel", ["nwb/pynapple_neurosuite_A2929-200711.nwb",
                                 "nwb/ScholzEtAl2018.AML175_moving.BrainScanner20180223_141721.nwb"])
def test_results_added_to_copies_of_real_files(rel, tmp_path):
    src = shared_file(rel)
    before = file_sha256(src)
    out = nd.write_nwb(_result(), tmp_path / "out.nwb", source=src)
    assert file_sha256(src) == before
    assert nd.read_results(out)["result"].identical(_result())


def test_refuses_to_overwrite_source_or_existing(tmp_path):
    src = tmp_path / "src.nwb"
    shutil.copy(sample_path(), src)
    with pytest.raises(NeurodataError, match="never modifies an input file"):
        nd.write_nwb(_result(), src, source=src, overwrite=True)
    target = tmp_path / "exists.nwb"
    target.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        nd.write_nwb(_result(), target)
    assert target.read_bytes() == b"precious"


def test_failed_write_leaves_nothing(tmp_path):
    bad = xr.DataArray(np.array([{"a": 1}, {"b": 2}], dtype=object), dims="x", name="bad")
    with pytest.raises(NeurodataError, match="not strings"):
        nd.write_nwb(bad, tmp_path / "bad.nwb")
    assert list(tmp_path.iterdir()) == []


def test_module_clash_and_missing_module(tmp_path):
    out = nd.write_nwb(_result(), tmp_path / "a.nwb")
    with pytest.raises(NeurodataError, match="already has a processing module"):
        nd.write_nwb(_result(), tmp_path / "b.nwb", source=out)
    with pytest.raises(NeurodataError, match="no processing module 'other'"):
        nd.read_results(out, module="other")


def test_save_nwb_round_trip_of_imaging_and_ground_truth(tmp_path):
    ds = nd.datasets.make_calcium_imaging(n_rois=6, duration=20, random_state=3)
    out = nd.save_nwb(ds, tmp_path / "img.nwb")
    back = nd.open_nwb(out, lazy=False)
    np.testing.assert_array_equal(back.fluorescence.values, ds.fluorescence.values)
    np.testing.assert_array_equal(back.time.values, ds.time.values)
    np.testing.assert_allclose(back.roi_centroid_x.values, ds.roi_centroid_x.values, atol=1e-9)
    extra = nd.read_results(out)
    np.testing.assert_array_equal(extra["event_time"].values, ds.event_time.values)
