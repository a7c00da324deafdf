"""Synthetic data with known ground truth for :mod:`neurodata.connectome`."""

from __future__ import annotations

import networkx as nx
import numpy as np
import xarray as xr
from scipy import ndimage

from neurodata._utils import check_random_state
from neurodata.errors import NeurodataError

__all__ = ["make_connectome_recordings", "make_dynamic_communities", "make_weighted_lfr"]


def _smooth_noise(rng, shape, sigma):
    """Gaussian-smoothed white noise along axis 0, unit variance per column."""
    x = ndimage.gaussian_filter1d(rng.standard_normal(shape), sigma, axis=0, mode="wrap")
    return x / x.std(axis=0, keepdims=True)


def _default_groups(n_neurons, n_animals):
    size = max(2, n_neurons // 5)
    thirds = [np.arange(n_animals)[k::3] for k in range(3)]
    subsets = [np.union1d(thirds[0], thirds[1]), np.union1d(thirds[1], thirds[2]),
               np.union1d(thirds[2], thirds[0])]
    spans = [(0.06, 0.34), (0.38, 0.62), (0.66, 0.94)]
    return [dict(neurons=np.arange(k * size, (k + 1) * size), interval=spans[k],
                 animals=subsets[k] if n_animals > 1 else np.arange(n_animals))
            for k in range(3)]


def _ramp(t, start, stop, width):
    """Indicator of [start, stop) with smooth (erf-free, cosine) edges of ``width`` seconds."""
    up = np.clip((t - start) / width + 0.5, 0, 1)
    down = np.clip((stop - t) / width + 0.5, 0, 1)
    return (0.5 - 0.5 * np.cos(np.pi * up)) * (0.5 - 0.5 * np.cos(np.pi * down))


def make_dynamic_communities(n_neurons: int = 30, n_time: int = 1200, n_animals: int = 6, *,
                             groups=None, fs: float = 4.0, coupling: float = 0.95,
                             timescale: float = 0.5, missing: float = 0.1, noise: float = 0.02,
                             random_state=None) -> xr.Dataset:
    """Multi-animal calcium traces in which planted groups co-activate at known times.

    Every neuron follows its own smooth random activity (Gaussian-filtered
    noise with a correlation time of ``timescale`` seconds).  While a group
    is active (its interval, in its subset of animals) its neurons are driven
    by one shared signal with weight ``coupling`` (the rest stays their own),
    so that they rise and fall together; the switch has 2-second cosine
    ramps.  Fluorescence is ``softplus(2 x)`` plus white noise of standard
    deviation ``noise``; in each animal a fraction ``missing`` of the
    neurons outside the groups' cores is not identified (NaN).

    Parameters
    ----------
    n_neurons, n_time, n_animals : int
    groups : list of dict, optional
        Each with ``neurons`` (indices), ``interval`` ((start, stop) as
        fractions of the recording) and ``animals`` (indices).  By default
        three disjoint groups of ``n_neurons // 5`` neurons with staggered
        intervals, each in two thirds of the animals.
    fs : float
        Sampling rate (Hz).
    coupling, timescale, missing, noise : float
    random_state : int, Generator or None

    Returns
    -------
    xarray.Dataset
        ``traces`` (animal, time, roi) float32; ground truth ``group`` (roi;
        -1 outside every group), ``participation`` (group, animal), ``active``
        (group, time: the ramped interval indicator) and the interval table
        ``group_start_time`` / ``group_stop_time``.

    Examples
    --------
    >>> ds = make_dynamic_communities(n_neurons=10, n_time=200, n_animals=3, random_state=0)
    >>> ds.traces.dims, ds.traces.shape, ds.sizes["group"]
    (('animal', 'time', 'roi'), (3, 200, 10), 3)
    """
    rng = check_random_state(random_state)
    groups = _default_groups(n_neurons, n_animals) if groups is None else groups
    t = np.arange(n_time) / fs
    sigma = timescale * fs
    label = np.full(n_neurons, -1)
    for g, spec in enumerate(groups):
        if np.any(label[np.asarray(spec["neurons"])] >= 0):
            raise NeurodataError("planted groups must be disjoint sets of neurons.")
        label[np.asarray(spec["neurons"])] = g
    active = np.stack([_ramp(t, s["interval"][0] * t[-1], s["interval"][1] * t[-1], 2.0)
                       for s in groups]) if groups else np.zeros((0, n_time))
    part = np.zeros((len(groups), n_animals), dtype=bool)
    for g, spec in enumerate(groups):
        part[g, np.asarray(spec["animals"], dtype=int)] = True
    traces = np.empty((n_animals, n_time, n_neurons), dtype=np.float32)
    for a in range(n_animals):
        x = _smooth_noise(rng, (n_time, n_neurons), sigma)
        for gi in np.flatnonzero(part[:, a]):
            members = label == gi
            drive = _smooth_noise(rng, (n_time, 1), sigma)
            m = (coupling * active[gi])[:, None]
            x[:, members] = (1 - m) * x[:, members] + m * drive
        f = np.logaddexp(0, 2 * x) + noise * rng.standard_normal(x.shape)
        drop = rng.random(n_neurons) < missing
        drop &= label < 0
        f[:, drop] = np.nan
        traces[a] = f
    return _dynamic_dataset(traces, t, label, part, active, groups)


def _dynamic_dataset(traces, t, label, part, active, groups) -> xr.Dataset:
    n_animals, _, n_neurons = traces.shape
    duration = t[-1]
    return xr.Dataset(
        {"traces": (("animal", "time", "roi"), traces),
         "group": (("roi",), label),
         "participation": (("group", "animal"), part),
         "active": (("group", "time"), active)},
        coords={"time": t, "roi": [f"n{i:02d}" for i in range(n_neurons)],
                "animal": [f"animal{a}" for a in range(n_animals)],
                "group_start_time": ("group", [s["interval"][0] * duration for s in groups]),
                "group_stop_time": ("group", [s["interval"][1] * duration for s in groups])},
    )


def make_connectome_recordings(n_neurons: int = 30, n_time: int = 1200, n_animals: int = 6, *,
                               groups=None, fs: float = 4.0, coupling: float = 0.95,
                               timescale: float = 0.5, missing: float = 0.1, noise: float = 0.02,
                               random_state=None) -> dict[str, xr.Dataset]:
    """The animals of :func:`make_dynamic_communities` as separate recordings, one per animal.

    The data are those of :func:`make_dynamic_communities` with the same
    arguments (the same seed gives the same traces), laid out as a folder of
    imaging sessions would be: each animal is its own ``validate()``-clean
    recording whose ROIs are numbered ``0, 1, ...`` in an order of its own,
    the neurons it did not identify are absent (not NaN columns), and the
    coordinate ``roi_name`` holds each ROI's neuron identity (``"n07"``),
    which is what matches neurons across animals.  Each can be written with
    :func:`~neurodata.save_nwb` and read back with :func:`~neurodata.open_nwb`.

    Returns
    -------
    dict of str to xarray.Dataset
        ``"animal0"``, ``"animal1"``, ...: ``traces`` (time, roi) float32 with
        coordinates ``roi_name`` and the ground truth ``roi_group`` (-1
        outside every group); the planted interval table on dim ``group``
        (``group_start_time``, ``group_stop_time`` and ``group_participates``,
        whether the group co-activates in this animal); ``group_active``
        (time_group, group), the ramped interval indicator.

    Examples
    --------
    >>> recs = make_connectome_recordings(n_neurons=10, n_time=200, n_animals=2, random_state=0)
    >>> rec = recs["animal1"]
    >>> list(recs), rec.traces.dims, rec.roi_name.values[:3].tolist()
    (['animal0', 'animal1'], ('time', 'roi'), ['n09', 'n05', 'n07'])
    """
    rng = check_random_state(random_state)
    ds = make_dynamic_communities(n_neurons, n_time, n_animals, groups=groups, fs=fs,
                                  coupling=coupling, timescale=timescale, missing=missing,
                                  noise=noise, random_state=rng)
    out = {}
    for a, animal in enumerate(ds.animal.values.tolist()):
        tr = ds.traces.isel(animal=a, drop=True)
        seen = np.flatnonzero(~np.isnan(tr.values).all(axis=0))
        order = rng.permutation(seen)
        rec = xr.Dataset(
            {"traces": (("time", "roi"), tr.values[:, order], {"units": "a.u."}),
             "group_active": (("time_group", "group"), ds.active.values.T)},
            coords={"time": ds.time.values, "roi": np.arange(order.size),
                    "roi_name": ("roi", ds.roi.values[order].astype(str)),
                    "roi_group": ("roi", ds.group.values[order]),
                    "time_group": ds.time.values,
                    "group": np.arange(ds.sizes["group"]),
                    "group_start_time": ("group", ds.group_start_time.values),
                    "group_stop_time": ("group", ds.group_stop_time.values),
                    "group_participates": ("group", ds.participation.values[:, a])},
            attrs={"nwb_identifier": str(animal), "subject_id": str(animal),
                   "session_description": "simulated calcium imaging with planted "
                                          "co-activating groups (make_connectome_recordings)",
                   "session_start_time": "2024-01-01T00:00:00+00:00"})
        out[str(animal)] = rec
    return out


def _power_law(rng, exponent, low, high, size):
    """Continuous power-law samples on [low, high] by inverse transform."""
    u = rng.random(size)
    if abs(exponent - 1) < 1e-9:
        return low * (high / low) ** u
    a = 1 - exponent
    return (low**a + u * (high**a - low**a)) ** (1 / a)


def _min_degree(exponent, mean, high):
    grid = np.linspace(1, mean, 2000)
    a = 1 - exponent

    def pl_mean(lo):
        if abs(exponent - 2) < 1e-9:
            return np.log(high / lo) / (1 / lo - 1 / high) if high > lo else lo
        b = 2 - exponent
        return (a / b) * (high**b - lo**b) / (high**a - lo**a)

    means = np.array([pl_mean(lo) for lo in grid])
    return float(grid[np.argmin(np.abs(means - mean))])


def _community_sizes(rng, n, exponent, low, high):
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(round(_power_law(rng, exponent, low, high, 1)[0]))
    excess = sum(sizes) - n
    sizes[-1] -= excess
    if sizes[-1] < low:
        sizes.pop()
        sizes[rng.integers(len(sizes))] += n - sum(sizes)
    return np.array(sizes)


def _erased_pairs(rng, stubs):
    rng.shuffle(stubs)
    if stubs.size % 2:
        stubs = stubs[:-1]
    return stubs.reshape(-1, 2)


def make_weighted_lfr(n: int = 125, avg_degree: float = 25, max_degree: int = 100, *,
                      mu_t: float = 0.5, mu_w: float = 0.5, beta: float = 1.5,
                      tau1: float = 2.0, tau2: float = 1.0, min_community: int = 10,
                      max_community: int | None = None,
                      random_state=None) -> tuple[nx.Graph, np.ndarray]:
    """A weighted LFR-style benchmark graph with planted communities.

    After Lancichinetti & Fortunato (2009): power-law degrees (exponent
    ``tau1``, mean ``avg_degree``) and community sizes (exponent ``tau2``);
    each node keeps a fraction ``1 - mu_t`` of its edges inside its
    community (configuration-model wiring, self-loops and multi-edges
    erased); node strengths are ``k_i ** beta`` of which a fraction ``mu_w``
    lies on external edges, matched by iterative proportional fitting.

    Returns
    -------
    graph : networkx.Graph
        Edge attribute ``weight``, node attribute ``community``.
    labels : ndarray of int
        The planted community of each node.

    Examples
    --------
    >>> g, labels = make_weighted_lfr(60, 10, 30, mu_t=0.2, random_state=0)
    >>> g.number_of_nodes(), bool(labels.max() >= 1)
    (60, True)
    """
    rng = check_random_state(random_state)
    lo = _min_degree(tau1, avg_degree, max_degree)
    deg = np.clip(np.round(_power_law(rng, tau1, lo, max_degree, n)), 1, max_degree).astype(int)
    sizes = _community_sizes(rng, n, tau2, min_community, max_community or max(n // 2, 1))
    k_in = np.round((1 - mu_t) * deg).astype(int)
    labels = _assign(rng, k_in, sizes)
    k_in = np.minimum(k_in, sizes[labels] - 1)
    k_out = deg - k_in
    edges = set()
    for c in range(sizes.size):
        members = np.flatnonzero(labels == c)
        for i, j in _erased_pairs(rng, np.repeat(members, k_in[members])):
            if i != j:
                edges.add((min(i, j), max(i, j)))
    for i, j in _erased_pairs(rng, np.repeat(np.arange(n), k_out)):
        if labels[i] != labels[j]:
            edges.add((min(i, j), max(i, j)))
    e = np.array(sorted(edges), dtype=int).reshape(-1, 2)
    w = _lfr_weights(e, labels, deg, beta, mu_w)
    g = nx.Graph()
    g.add_nodes_from((i, {"community": int(labels[i])}) for i in range(n))
    g.add_weighted_edges_from((int(i), int(j), float(v)) for (i, j), v in zip(e, w))
    return g, labels


def _assign(rng, k_in, sizes):
    """Put nodes in communities with room for their internal degree, largest first."""
    free = sizes.copy()
    labels = np.empty(k_in.size, dtype=int)
    for i in np.argsort(-k_in, kind="stable"):
        ok = np.flatnonzero((free > 0) & (sizes - 1 >= k_in[i]))
        if ok.size == 0:
            ok = np.flatnonzero(free > 0)
        c = rng.choice(ok, p=free[ok] / free[ok].sum())
        labels[i] = c
        free[c] -= 1
    return labels


def _lfr_weights(e, labels, deg, beta, mu_w, n_iter=50):
    """Edge weights whose node strengths approach k^beta, a fraction mu_w outside."""
    if e.size == 0:
        return np.zeros(0)
    n = deg.size
    internal = labels[e[:, 0]] == labels[e[:, 1]]
    strength = deg.astype(float) ** beta
    target = {True: (1 - mu_w) * strength, False: mu_w * strength}
    w = np.ones(len(e))
    for _ in range(n_iter):
        for side in (True, False):
            sel = internal == side
            if not sel.any():
                continue
            cur = np.bincount(e[sel, 0], w[sel], n) + np.bincount(e[sel, 1], w[sel], n)
            ratio = np.where(cur > 0, target[side] / np.where(cur > 0, cur, 1), 1.0)
            w[sel] *= np.sqrt(ratio[e[sel, 0]] * ratio[e[sel, 1]])
    return w
