"""Whatever an NWB file holds, reading it gives a recording or a named NeurodataError."""

from __future__ import annotations

import os
import shutil

import h5py
import numpy as np
import pytest

import neurodata as nd
from neurodata.datasets import sample_path
from neurodata.errors import FileFormatError
from neurodata.io._fuzz import MUTATIONS, mutate, open_hdf5_objects, read_outcome

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SOURCES = ("sample_session", "sample_imaging")
OUTCOMES = {"recording", "FileFormatError", "NoNeuralDataError", "InvalidRecordingError",
            "RemoteError"}


@settings(max_examples=220, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(source=st.sampled_from(SOURCES), kind=st.sampled_from(MUTATIONS),
       a=st.integers(0, 10**6), b=st.integers(0, 10**6))
def test_mutated_files_give_recordings_or_named_errors(tmp_path, source, kind, a, b):
    path = mutate(sample_path(source), tmp_path / f"{source}-{kind}.nwb", kind, a, b)
    assert read_outcome(path) in OUTCOMES  # read_outcome also checks sha256 and open handles
    path.unlink()  # nothing holds the file open: it can be deleted at once


@pytest.mark.parametrize(("kind", "a", "b", "where"), [
    ("ragged_index", 0, 0, "/units/spike_times_index"),
    ("ragged_index", 0, 1, "/units/spike_times_index"),
])
def test_errors_name_the_nwb_object(tmp_path, kind, a, b, where):
    path = mutate(sample_path("sample_session"), tmp_path / "m.nwb", kind, a, b)
    with h5py.File(path, "r") as f:
        assert any(p.endswith("_index") for p in [where]) and where[1:] in f
    before = open_hdf5_objects()
    with pytest.raises(FileFormatError, match=where):
        nd.open_nwb(path)
    assert open_hdf5_objects() == before
    os.replace(path, tmp_path / "renamed.nwb")  # not locked by a leftover handle


def test_nan_and_reversed_times_are_named_or_sorted(tmp_path):
    src = tmp_path / "s.nwb"
    shutil.copy(sample_path("sample_session"), src)
    with h5py.File(src, "a") as f:
        t = f["intervals/trials/start_time"][()]
        t[3] = np.nan
        del f["intervals/trials/start_time"]
        f["intervals/trials/start_time"] = t
    with pytest.raises(FileFormatError, match="/intervals/trials/start_time has 1 NaN"):
        nd.open_nwb(src)
    src2 = mutate(sample_path("sample_imaging"), tmp_path / "r.nwb", "reverse_times", 0, 0)
    with pytest.warns(nd.errors.NeurodataWarning, match="timestamps run backwards"):
        ds = nd.open_nwb(src2, lazy=False)
    nd.validate(ds)


def test_nan_spike_times_fail_when_read_with_a_named_error(tmp_path):
    src = tmp_path / "s.nwb"
    shutil.copy(sample_path("sample_session"), src)
    with h5py.File(src, "a") as f:
        f["units/spike_times"][5] = np.nan
    ds = nd.open_nwb(src)  # lazy: the spikes are not read yet
    with pytest.raises(FileFormatError, match="/units/spike_times holds 1 NaN"):
        nd.validate(ds)
    ds.close()


def test_pickled_code_in_a_zarr_store_is_refused():
    import pickle

    from neurodata.io._zarr import _PickleFilter

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        _PickleFilter().decode(pickle.dumps(Evil()))
