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


STIMULI = ["butanone", "pentanedione", "NaCl"]
RESPONDERS = {0: ["AWB", "AIB"], 1: ["AWA", "AIY"], 2: ["ASE", "AIA", "RIA"]}
OTHERS = ["AVA", "RIM", "IL1", "URX", "OLQD"]
ORDERS = [(0, 1, 2), (1, 2, 0), (2, 0, 1)]


def _write_stimulus_worms(path, rng, *, n_worms=6, fps=4.0, baseline=30.0, slot=60.0,
                          stim_on=10.0, names=None, worm_names=None, classes=None):
    """A NeuroPAL-layout file whose worms got the 3 stimuli in permuted orders.

    The responders of each stimulus co-activate (one shared smooth bump that
    rises at the onset and decays after the offset) in the slot where that
    worm got it; everything else is independent slow noise.
    """
    from scipy import ndimage

    onsets = baseline + slot * np.arange(3)
    n_time = int((baseline + 3 * slot) * fps)
    t = np.arange(n_time) / fps
    classes = classes or [c for g in RESPONDERS.values() for c in g] + OTHERS
    orders = [ORDERS[w % 3] for w in range(n_worms)]
    traces = {c: [[None] * n_worms, [None] * n_worms] for c in classes}   # [L, R] per worm
    for w, order in enumerate(orders):
        drive = {}
        for s, stim in enumerate(order):
            on = onsets[s]
            bump = np.clip((t - on) / 3.0, 0, 1) * np.exp(-np.clip(t - on - stim_on, 0, None) / 5)
            drive[stim] = bump * (t < on + slot)
        for c in classes:
            for side in (0, 1):
                noise = ndimage.gaussian_filter1d(rng.normal(size=n_time), 2 * fps) * 2
                x = 0.1 * noise
                for stim, members in RESPONDERS.items():
                    if c in members:
                        x = x + drive[stim] + 0.02 * rng.normal(size=n_time)
                traces[c][side][w] = x
    flags = np.array([[1.0] * n_worms + [0.0] * n_worms])
    savemat(path, {
        "fps": fps,
        "files": _cell(worm_names or [f"worm{w}" for w in range(n_worms)]),
        "neurons": _cell(classes),
        "is_L": _cell([flags] * len(classes)),
        "norm_traces": _cell([_cell(traces[c][0] + traces[c][1]) for c in classes]),
        "stim_names": _cell(names or STIMULI),
        "stim_times": np.stack([onsets, onsets + stim_on], axis=1),
        "stims": np.array(orders, dtype=float) + 1,                 # MATLAB, 1-based
    })
    return orders, onsets


def test_stimulus_alignment_puts_every_worm_s_nacl_at_the_same_time(tmp_path):
    from neurodata.connectome import ntf

    path = tmp_path / "Head_Activity_perm.mat"
    orders, onsets = _write_stimulus_worms(path, np.random.default_rng(0))
    raw = read_neuropal_mat(path)
    ds = read_neuropal_mat(path, align="stimulus")
    assert list(ds.stimulus_name.values) == STIMULI
    nacl = int(np.flatnonzero(ds.stimulus_name.values == "NaCl")[0])
    start, stop = float(ds.stimulus_start_time[nacl]), float(ds.stimulus_stop_time[nacl])
    assert stop - start == pytest.approx(10.0)
    first = int(round(start * 4))
    for w, order in enumerate(orders):
        own = int(round(onsets[order.index(2)] * 4))          # where this worm got NaCl
        assert int(ds.stimulus_slot.values[w, nacl]) == order.index(2)
        np.testing.assert_allclose(ds.traces.values[w, first:first + 240],
                                   raw.traces.values[w, own:own + 240], rtol=1e-6)
        np.testing.assert_allclose(ds.traces.values[w, :120], raw.traces.values[w, :120])
    # the NaCl responders peak in the same canonical window in every worm
    peaks = ds.traces.sel(roi="ASEL").isel(time=slice(first, first + 240)).argmax("time")
    assert ((peaks.values >= 10) & (peaks.values <= 50)).all()    # on, or within 2.5 s after
    # and the factorisation finds the NaCl component
    tensor = build_affinity_tensor(ds, window=5.0)
    fit = ntf(tensor, 4, n_init=3, random_state=0, max_iter=300)
    indicator = ((ds.time >= start) & (ds.time < stop + 10)).astype(float).values
    corr = [np.corrcoef(indicator, fit.time_factor.values[:, k])[0, 1] for k in range(4)]
    assert max(corr) > 0.8
    # that component holds every worm; without alignment, the component at that time holds
    # only the worms that got NaCl then (the window means other stimuli in the others)
    fit_raw = ntf(build_affinity_tensor(raw, window=5.0), 4, n_init=3, random_state=0,
                  max_iter=300)
    corr_raw = [np.corrcoef(indicator, fit_raw.time_factor.values[:, k])[0, 1]
                for k in range(4)]
    evenness = []
    for result, c in ((fit, corr), (fit_raw, corr_raw)):
        load = result.animal_factor.isel(component=int(np.argmax(c))).values
        evenness.append(load.min() / load.max())
    assert evenness[0] > 0.5 and evenness[1] < 0.3, evenness


def test_head_and_tail_files_are_merged_onto_one_grid(tmp_path):
    rng = np.random.default_rng(1)
    head, tail = tmp_path / "Head_Activity_x.mat", tmp_path / "Tail_Activity_x.mat"
    _write_stimulus_worms(head, rng, n_worms=3, worm_names=["w1_head", "w2_head", "w3_head"])
    _write_stimulus_worms(tail, rng, n_worms=3, fps=3.87, classes=["PVC", "DVA"],
                          worm_names=["w1_tail", "w2_tail", "w3_tail"])
    ds = read_neuropal_mat([head, tail])
    assert list(ds.animal.values) == ["w1", "w2", "w3"]
    assert {"PVCL", "DVAR", "AVAL"} <= set(ds.roi.values)
    np.testing.assert_allclose(np.diff(ds.time.values), 0.25)
    alone = read_neuropal_mat(tail)
    t_tail = alone.time.values                                   # its own 3.87 Hz grid
    inside = ds.time.values <= t_tail[-1]
    expect = np.interp(ds.time.values[inside], t_tail, alone.traces.sel(roi="PVCL").values[1])
    np.testing.assert_allclose(ds.traces.sel(roi="PVCL").values[1, inside], expect, rtol=1e-5)
    assert np.isnan(ds.traces.sel(roi="PVCL").values[1, ~inside]).all()
    aligned = read_neuropal_mat([head, tail], align="stimulus", fps=2.0)
    np.testing.assert_allclose(np.diff(aligned.time.values), 0.5)
    assert not np.isnan(aligned.traces.sel(roi="DVAL").values[:, :100]).any()


def test_neuron_filter_by_role_uses_the_shipped_class_table(tmp_path):
    path = tmp_path / "Head_Activity_f.mat"
    _write_stimulus_worms(path, np.random.default_rng(2), n_worms=2)
    ds = read_neuropal_mat(path, neurons=("sensory", "inter"))
    kept = set(ds.roi_class.values)
    assert {"AWB", "AIB", "ASE", "AVA", "URX", "OLQ"} <= kept          # OLQ: sensory and inter
    assert not {"IL1", "RIM"} & kept                                 # both have a motor role
    names = read_neuropal_mat(path, neurons=["AVA", "ASEL"])
    assert list(names.roi.values) == ["ASEL", "AVAL", "AVAR"]
    with pytest.raises(FileFormatError, match="stims"):
        read_neuropal_mat(tmp_path / "Head_Activity_test.mat" if False else _no_stims(tmp_path),
                          align="stimulus")


def _no_stims(tmp_path):
    path = tmp_path / "Head_Activity_nostims.mat"
    _write_neuropal(path, np.random.default_rng(0))
    return path
