"""Lazy opening reads no bulk data; bad input gets clear NeurodataErrors."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

import neurodata as nd
from neurodata.datasets import sample_path
from neurodata.errors import FileFormatError, NoNeuralDataError


@pytest.fixture
def read_log(monkeypatch):
    """Record (dataset name, number of elements) for every h5py dataset read."""
    log: list[tuple[str, int]] = []
    original = h5py.Dataset.__getitem__

    def spy(self, key):
        out = original(self, key)
        log.append((self.name, int(np.size(out))))
        return out

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    return log


def test_open_reads_no_bulk_data(read_log):
    ds = nd.open_nwb(sample_path("sample_session"))
    bulk = {"/units/spike_times", "/acquisition/running_speed/data"}
    assert not [r for r in read_log if r[0] in bulk], read_log
    n_spikes = ds.sizes["spike"]
    assert ds.spike_times.values.size == n_spikes  # computing reads it now
    assert any(r[0] == "/units/spike_times" for r in read_log)
    ds.close()


def test_imaging_traces_stay_lazy(read_log):
    with nd.open_nwb(sample_path("sample_imaging")) as ds:
        assert not [r for r in read_log if r[0].endswith("/data")]
        assert ds.fluorescence.chunks is not None
        part = ds.fluorescence.isel(roi=slice(0, 3)).values
        assert part.shape == (1200, 3)


def test_close_and_context_manager():
    with nd.open_nwb(sample_path()) as ds:
        assert ds.spike_times.size > 0
    with pytest.raises((ValueError, KeyError, OSError, RuntimeError)):  # the file is closed
        ds.spike_times.values  # noqa: B018


def test_lazy_false_reads_everything_and_closes():
    ds = nd.open_nwb(sample_path(), lazy=False)
    assert ds.spike_times.chunks is None
    assert isinstance(ds.spike_times.values, np.ndarray)


def test_missing_path(tmp_path):
    with pytest.raises(FileFormatError, match="no file at"):
        nd.open_nwb(tmp_path / "nope.nwb")


def test_directory(tmp_path):
    with pytest.raises(FileFormatError, match="is a directory.*open_folder"):
        nd.open_nwb(tmp_path)


def test_not_hdf5(tmp_path):
    p = tmp_path / "notes.nwb"
    p.write_text("hello, not an NWB file")
    with pytest.raises(FileFormatError, match="not an HDF5 file"):
        nd.open_nwb(p)


def test_truncated(tmp_path):
    src = sample_path()
    data = src.read_bytes()
    p = tmp_path / "truncated.nwb"
    p.write_bytes(data[: len(data) // 3])
    with pytest.raises(FileFormatError, match="truncated or corrupt"):
        nd.open_nwb(p)


def test_hdf5_but_not_nwb(tmp_path):
    p = tmp_path / "plain.h5"
    with h5py.File(p, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(FileFormatError, match="not an NWB file"):
        nd.open_nwb(p)


def test_no_neural_data(tmp_path):
    ds = nd.datasets.make_poisson_population(n_units=3, n_trials=3, random_state=0)
    behaviour_only = ds[["running_speed"]]
    out = nd.save_nwb(behaviour_only, tmp_path / "b.nwb")
    with pytest.raises(NoNeuralDataError, match="no neural data.*require_neural=False"):
        nd.open_nwb(out)
    back = nd.open_nwb(out, require_neural=False, lazy=False)
    np.testing.assert_allclose(back.running_speed.values, ds.running_speed.values)


def test_units_with_only_empty_spike_trains(tmp_path):
    from pynwb import NWBHDF5IO

    from neurodata.io._nwb_write import new_nwbfile

    nwb = new_nwbfile()
    for i in range(3):
        nwb.add_unit(id=i, spike_times=np.array([], dtype=float))
    p = tmp_path / "empty_units.nwb"
    with NWBHDF5IO(str(p), "w") as io:
        io.write(nwb)
    with pytest.raises(NoNeuralDataError, match="every spike train is empty"):
        nd.open_nwb(p)


def test_some_empty_units_are_kept(tmp_path):
    ds = nd.datasets.make_poisson_population(n_units=4, n_trials=3, random_state=0)
    keep = ds.spike_unit.values != 2
    ds = ds.isel(spike=np.flatnonzero(keep))
    back = nd.open_nwb(nd.save_nwb(ds, tmp_path / "e.nwb"), lazy=False)
    assert back.sizes["unit"] == 4
    counts = nd.bin_spikes(back, 100.0).sum("time")
    assert int(counts.sel(unit=2)) == 0


def test_input_file_unchanged_by_every_operation(tmp_path):
    src = tmp_path / "copy.nwb"
    shutil.copy(sample_path(), src)
    before = nd.io._h5.file_sha256(src)
    with nd.open_nwb(src) as ds:
        counts = nd.bin_spikes(ds, 0.05)
        nd.align(ds, "trial", (-0.2, 0.5), bin_size=0.05)
        nd.write_nwb(counts, tmp_path / "out.nwb", source=src)
    assert nd.io._h5.file_sha256(src) == before


def test_complex_numbers_where_reals_belong_are_an_error(tmp_path):
    """A complex dtype is never cast silently to real (the imaginary part would be lost)."""
    path = tmp_path / "complex.nwb"
    shutil.copy(sample_path("sample_session"), path)
    with h5py.File(path, "r+") as f:
        name = "acquisition/running_speed/timestamps"
        t = f[name][()]
        del f[name]
        f[name] = t.astype(np.complex128) + 1j
    with pytest.raises(FileFormatError, match="running_speed.*[Cc]omplex"):
        nd.open_nwb(path, lazy=False)
