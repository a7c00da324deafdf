"""NWB Zarr stores (hdmf-zarr) open identically to their HDF5 twins."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import neurodata as nd
from neurodata.datasets import sample_path
from neurodata.io._h5 import file_sha256
from neurodata.io._registry import guess_reader
from tests.conftest import shared_file

pytest.importorskip("hdmf_zarr")
from neurodata.io._fixtures import write_zarr_twin


def _twins(h5, store, upgraded=False):
    a = nd.open_nwb(h5, lazy=False, checksum=False)
    b = nd.open_nwb(write_zarr_twin(h5, store), lazy=False)
    assert a.attrs.pop("source_path") != b.attrs.pop("source_path")
    if upgraded:  # pynwb's export writes the schema version it knows, not the file's
        old, new = (tuple(map(int, x.attrs.pop("nwb_version").split("."))) for x in (a, b))
        assert old < new
    xr.testing.assert_identical(a, b)
    assert {k: v.dtype for k, v in a.variables.items()} == \
        {k: v.dtype for k, v in b.variables.items()}
    return a, b


def test_generated_recording_with_spikes_traces_and_intervals(tmp_path):
    rec = nd.datasets.make_poisson_population(n_units=6, n_trials=5, random_state=3)
    h5 = nd.save_nwb(rec, tmp_path / "pop.nwb")
    _a, b = _twins(h5, tmp_path / "pop.nwb.zarr")
    np.testing.assert_array_equal(b.spike_times.values, rec.spike_times.values)
    np.testing.assert_array_equal(b.trial_start_time.values, rec.trial_start_time.values)
    assert "running_speed" in b and b.sizes["trial"] == 5


@pytest.mark.parametrize("name", ["sample_session", "sample_imaging"])
def test_samples(tmp_path, name):
    _a, b = _twins(sample_path(name), tmp_path / f"{name}.nwb.zarr")
    if name == "sample_imaging":
        assert b.sizes["roi"] == 30 and "roi_centroid_x" in b.coords and "plane" in b.coords


def test_lazy_zarr_reads_only_what_is_computed(tmp_path):
    store = write_zarr_twin(sample_path("sample_imaging"), tmp_path / "im.nwb.zarr")
    before = file_sha256(store / ".zmetadata")
    assert guess_reader(store).name == "nwb"
    with nd.open_nwb(store) as ds:
        assert ds.fluorescence.chunks is not None
        part = ds.fluorescence.isel(time=slice(10, 20), roi=slice(2, 5)).values
    local = nd.open_nwb(sample_path("sample_imaging"), lazy=False)
    np.testing.assert_array_equal(part, local.fluorescence.values[10:20, 2:5])
    assert file_sha256(store / ".zmetadata") == before


@pytest.mark.shared_data
def test_real_extracellular_file(tmp_path):
    h5 = shared_file("nwb/pynapple_neurosuite_A2929-200711.nwb")
    _a, b = _twins(h5, tmp_path / "real.nwb.zarr", upgraded=True)
    assert b.sizes["unit"] == 15 and b.sizes["spike"] == 98_794
