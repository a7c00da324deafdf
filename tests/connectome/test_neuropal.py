import numpy as np
import pytest
from scipy.io import savemat

from neurodata.connectome import build_affinity_tensor, read_neuropal_mat
from neurodata.errors import FileFormatError


def _cell(items):
    out = np.empty((len(items), 1), dtype=object)
    for k, v in enumerate(items):
        out[k, 0] = v
    return out


def _write_neuropal(path, rng):
    """A small file in the layout of Yemini et al.'s Head_Activity_*.mat (2 worms)."""
    n_t = [40, 36]
    tr = lambda w: rng.random(n_t[w])  # noqa: E731
    classes = ["AVA", "AWB", "RIS"]
    # AVA bilateral: slots 0,1 = first trace of worms 0,1; slots 2,3 = second trace
    ava = _cell([tr(0), tr(1), tr(0), np.zeros(0)])         # worm 1 has only one AVA
    ava_flags = np.array([[1.0, 0.0, 0.0, 1.0]])            # w0: L then R; w1: R
    awb = _cell([tr(0), np.zeros(0), tr(0), np.zeros(0)])    # AWB not identified in worm 1
    awb_flags = np.array([[0.0, 1.0, 1.0, 1.0]])
    ris = _cell([tr(0), tr(1)])                              # non-bilateral
    ris_flags = np.array([[np.nan, np.nan]])
    savemat(path, {
        "fps": 4.0,
        "files": _cell(["worm_a", "worm_b"]),
        "neurons": _cell(classes),
        "is_L": _cell([ava_flags, awb_flags, ris_flags]),
        "norm_traces": _cell([ava, awb, ris]),
        "stim_names": _cell(["butanone", "NaCl"]),
        "stim_times": np.array([[2.0, 4.0], [6.0, 8.0]]),
    })
    return ava, awb, ris


def test_reads_names_traces_missing_neurons_and_stimuli(tmp_path):
    path = tmp_path / "Head_Activity_test.mat"
    ava, awb, ris = _write_neuropal(path, np.random.default_rng(0))
    ds = read_neuropal_mat(path)
    assert list(ds.roi.values) == ["AVAL", "AVAR", "AWBL", "AWBR", "RIS"]
    assert list(ds.animal.values) == ["worm_a", "worm_b"]
    assert ds.traces.shape == (2, 40, 5)
    np.testing.assert_allclose(ds.time.values[:3], [0, 0.25, 0.5])
    w0, w1 = ds.traces.isel(animal=0), ds.traces.isel(animal=1)
    np.testing.assert_allclose(w0.sel(roi="AVAL"), ava[0, 0], rtol=1e-6)
    np.testing.assert_allclose(w0.sel(roi="AVAR"), ava[2, 0], rtol=1e-6)
    np.testing.assert_allclose(w1.sel(roi="AVAR").values[:36], ava[1, 0], rtol=1e-6)
    np.testing.assert_allclose(w0.sel(roi="AWBR"), awb[0, 0], rtol=1e-6)
    np.testing.assert_allclose(w0.sel(roi="AWBL"), awb[2, 0], rtol=1e-6)
    assert np.isnan(w1.sel(roi="AVAL")).all() and np.isnan(w1.sel(roi="AWBL")).all()
    assert np.isnan(w1.values[36:]).all()                    # worm b is shorter
    np.testing.assert_allclose(w1.sel(roi="RIS").values[:36], ris[1, 0], rtol=1e-6)
    assert list(ds.stimulus_name.values) == ["butanone", "NaCl"]
    np.testing.assert_array_equal(ds.stimulus_start_time.values, [2.0, 6.0])
    # the recording feeds the affinity tensor directly, missing neurons masked
    x = build_affinity_tensor(ds.isel(time=slice(0, 36)))
    assert x.shape == (10, 36, 2)
    assert int(np.isnan(x.sel(animal="worm_b")).all("time").sum()) == 9   # only AVAR-RIS left


def test_rejects_other_mat_files(tmp_path):
    path = tmp_path / "other.mat"
    savemat(path, {"traces": np.zeros((3, 3))})
    with pytest.raises(FileFormatError, match="missing"):
        read_neuropal_mat(path)
    with pytest.raises(FileFormatError):
        read_neuropal_mat(tmp_path / "absent.mat")
