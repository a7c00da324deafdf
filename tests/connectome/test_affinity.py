import numpy as np
import pytest
import xarray as xr

from neurodata.connectome import (
    build_affinity_tensor,
    compute_affinities,
    pair_indices,
    pairs_to_matrix,
    shared_change,
)
from neurodata.errors import InvalidRecordingError, NeurodataError, NeurodataWarning, ShapeError


def _traces(x, fs=4.0, names=None):
    t = np.arange(x.shape[0]) / fs
    names = names or [f"n{i}" for i in range(x.shape[1])]
    return xr.DataArray(x, dims=("time", "roi"), coords={"time": t, "roi": names})


def test_shared_change_is_min_of_magnitudes_when_signs_agree():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=1000), rng.normal(size=1000)
    out = shared_change(a, b)
    same = a * b > 0
    np.testing.assert_allclose(out[same], np.minimum(np.abs(a), np.abs(b))[same])
    assert np.all(out[~same] == 0)
    np.testing.assert_array_equal(out, shared_change(b, a))


def test_pairs_roundtrip():
    i, j = pair_indices(5)
    vals = np.arange(10.0)
    m = pairs_to_matrix(vals)
    np.testing.assert_array_equal(m[i, j], vals)
    np.testing.assert_array_equal(m, m.T)
    with pytest.raises(ShapeError):
        pairs_to_matrix(np.ones(4), 4)


def test_affinity_of_scaled_and_inverted_copies():
    rng = np.random.default_rng(1)
    base = np.cumsum(rng.normal(size=400))
    x = np.stack([base, 3 * base + 7, -base, rng.normal(size=400).cumsum()], axis=1)
    aff = compute_affinities(_traces(x), method="shared_rate", smooth=0.5)
    ab = aff.sel(pair=0).values           # (0, 1): same rates after normalisation
    ac = aff.sel(pair=1).values           # (0, 2): always opposite
    # a and 3a + 7 have identical normalised rates, so the affinity is |z|
    z = np.gradient(np.asarray(aff.time), 1.0)  # just to use the coordinate
    assert z.size == 400
    assert ab.min() >= 0 and ab.mean() > 0.5
    np.testing.assert_array_equal(ac, 0)
    # the affinity of a pair never exceeds the rate of either of its neurons
    assert np.all(aff.values >= 0)
    assert list(aff.neuron_i.values[:3]) == ["n0", "n0", "n0"]
    assert list(aff.neuron_j.values[:3]) == ["n1", "n2", "n3"]


def test_identical_copies_give_absolute_normalised_rate():
    t = np.arange(300) / 4.0
    x = np.sin(t / 3.0)
    aff = compute_affinities(_traces(np.stack([x, x], axis=1)), method="shared_rate", smooth=0)
    d = np.gradient(x, 0.25)
    np.testing.assert_allclose(aff.values[0], np.abs(d) / np.sqrt(np.mean(d**2)), rtol=1e-5)


def test_nan_frames_stay_missing_and_constant_trace_warns():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(100, 3)).cumsum(axis=0)
    x[40:43, 1] = np.nan
    x[:, 2] = 5.0
    with pytest.warns(NeurodataWarning, match="constant"):
        aff = compute_affinities(_traces(x))
    nan_pairs = np.isnan(aff.values).any(axis=1)
    assert nan_pairs.tolist() == [True, False, True]      # pairs (0,1), (0,2), (1,2)
    assert np.isnan(aff.values[0, 40:43]).all() and not np.isnan(aff.values[0, :40]).any()
    np.testing.assert_array_equal(aff.values[1], 0)       # with the constant neuron


def test_window_is_a_running_mean():
    rng = np.random.default_rng(3)
    x = _traces(rng.normal(size=(200, 2)).cumsum(axis=0))
    raw = compute_affinities(x).values[0]
    smooth = compute_affinities(x, window=1.25).values[0]          # 5 samples
    np.testing.assert_allclose(smooth[50:150], np.convolve(raw, np.ones(5) / 5, "same")[50:150],
                               rtol=1e-5, atol=1e-6)


def test_bad_inputs():
    with pytest.raises(InvalidRecordingError):
        compute_affinities(np.zeros((10, 3)))
    with pytest.raises(InvalidRecordingError):
        compute_affinities(xr.DataArray(np.zeros((10, 3)), dims=("time", "cell")))
    irregular = xr.DataArray(np.zeros((5, 2)), dims=("time", "roi"),
                             coords={"time": [0, 1, 2, 5, 6.0]})
    with pytest.raises(InvalidRecordingError, match="regularly"):
        compute_affinities(irregular)


def test_tensor_matches_per_animal_affinities_and_masks_missing_neurons():
    rng = np.random.default_rng(4)
    a1 = _traces(rng.normal(size=(80, 3)).cumsum(axis=0), names=["a", "b", "c"])
    a2 = _traces(rng.normal(size=(80, 2)).cumsum(axis=0), names=["c", "a"])
    x = build_affinity_tensor({"w1": a1, "w2": a2})
    assert x.dims == ("pair", "time", "animal") and x.shape == (3, 80, 2)
    assert list(x.animal.values) == ["w1", "w2"]
    np.testing.assert_allclose(x.sel(animal="w1").values, compute_affinities(a1).values)
    # animal 2 lacks b: pairs (a,b) and (b,c) are missing, (a,c) is present
    np.testing.assert_array_equal(np.isnan(x.sel(animal="w2").values).all(axis=1),
                                  [True, False, True])
    np.testing.assert_allclose(x.sel(animal="w2").values[1],
                               compute_affinities(a2).values[0], rtol=1e-6)
    # pair-major memory, so that ntf reads it without a copy
    assert x.transpose("pair", "animal", "time").data.flags.c_contiguous


def test_tensor_rejects_different_time_grids():
    rng = np.random.default_rng(5)
    with pytest.raises(ShapeError, match="time grid"):
        build_affinity_tensor([_traces(rng.normal(size=(50, 2))),
                               _traces(rng.normal(size=(60, 2)))])


def _walks(n, size=400, seed=0):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(size=(size, n)), axis=0)


def test_interval_affinities_are_bounded_by_0_and_1():
    x = _walks(6, seed=7)
    x[100:104, 2] = np.nan
    for sign in ("same", "absolute"):
        for kw in ({}, {"min_slope": 0.5, "min_duration": 1.0}, {"window": 2.0}):
            aff = compute_affinities(_traces(x), sign=sign, **kw).values
            ok = aff[~np.isnan(aff)]
            assert ok.min() >= 0 and ok.max() <= 1 + 1e-6
            assert np.isnan(aff).sum() > 0        # the NaN frames stay missing


def test_scaled_copies_have_affinity_one_on_their_common_runs():
    x = _walks(1, seed=1)[:, 0]
    aff = compute_affinities(_traces(np.stack([x, 2 * x, 2 * x + 5], axis=1)))
    z = np.gradient(x)
    runs = np.abs(z) > 0                                   # every non-flat sample is in a run
    np.testing.assert_allclose(aff.values[:, runs], 1.0, rtol=1e-6)


def test_flat_traces_have_affinity_zero():
    x = np.zeros((100, 2))
    x[:, 1] = 3.0
    with pytest.warns(NeurodataWarning, match="constant"):
        aff = compute_affinities(_traces(x), sign="absolute")
    np.testing.assert_array_equal(aff.values, 0)
    # a neuron that is flat for a while gives 0 there, whatever the other one does
    y = _walks(2, seed=3)
    y[150:250, 0] = y[150, 0]
    aff = compute_affinities(_traces(y), smooth=0, sign="absolute")
    np.testing.assert_array_equal(aff.values[0, 152:248], 0)


def test_opposite_copies_count_only_with_absolute_sign():
    x = _walks(1, seed=2)[:, 0]
    rng = np.random.default_rng(0)
    other = _walks(1, seed=5)[:, 0]
    same_pair = _traces(np.stack([x, x + 0.1 * other], axis=1))
    opposite = _traces(np.stack([x, -(x + 0.1 * other)], axis=1))
    a_same = compute_affinities(same_pair, sign="absolute").values
    a_opp = compute_affinities(opposite, sign="absolute").values
    np.testing.assert_allclose(a_opp, a_same, rtol=1e-5, atol=1e-6)
    assert a_same.mean() > 0.5
    assert compute_affinities(opposite, sign="same").values.mean() < 0.1 * a_same.mean()
    y = rng.normal(size=300).cumsum()
    exact = _traces(np.stack([y, -y], axis=1))
    np.testing.assert_array_equal(compute_affinities(exact, sign="same").values, 0)
    np.testing.assert_array_equal(compute_affinities(exact, sign="absolute").values,
                                  compute_affinities(_traces(np.stack([y, y], 1)),
                                                     sign="absolute").values)


def _reference_interval(z, min_slope, min_len, same):
    """Runs and overlaps by explicit loops (slow, obvious), for two neurons."""
    n_t = z.shape[0]
    sign = np.where(np.abs(z) > min_slope, np.sign(z), 0)
    run = np.full(z.shape, -1)
    for col in range(2):
        t, rid = 0, 0
        while t < n_t:
            u = t
            while u < n_t and sign[u, col] == sign[t, col]:
                u += 1
            if sign[t, col] != 0 and u - t >= min_len:
                run[t:u, col] = rid
                rid += 1
            t = u
    out = np.zeros(n_t)
    for t in range(n_t):
        if run[t, 0] < 0 or run[t, 1] < 0 or (same and sign[t, 0] != sign[t, 1]):
            continue
        seg = [u for u in range(n_t) if run[u, 0] == run[t, 0] and run[u, 1] == run[t, 1]]
        mi, mj = np.abs(z[seg, 0]).mean(), np.abs(z[seg, 1]).mean()
        out[t] = min(mi, mj) / max(mi, mj)
    return out


@pytest.mark.parametrize("sign", ["same", "absolute"])
@pytest.mark.parametrize("min_slope,min_duration", [(0.0, 0.0), (0.4, 0.0), (0.3, 1.0)])
def test_interval_affinity_matches_a_direct_computation(sign, min_slope, min_duration):
    from neurodata.connectome._affinity import _normalised_rates

    x = _walks(2, size=160, seed=11)
    aff = compute_affinities(_traces(x), sign=sign, min_slope=min_slope,
                             min_duration=min_duration, smooth=0.5).values[0]
    z, _ = _normalised_rates(x, 0.25, 0.5)
    ref = _reference_interval(z.astype(float), min_slope, max(1, round(min_duration / 0.25)),
                              sign == "same")
    np.testing.assert_allclose(aff, ref, rtol=1e-5, atol=1e-7)


def test_bad_affinity_options():
    x = _traces(_walks(2))
    with pytest.raises(NeurodataError, match="method"):
        compute_affinities(x, method="pointwise")
    with pytest.raises(NeurodataError, match="sign"):
        compute_affinities(x, sign="opposite")
    with pytest.raises(NeurodataError, match="min_slope"):
        compute_affinities(x, min_slope=-1)
