"""Small private helpers of the connectome tests."""

from __future__ import annotations

import numpy as np
import xarray as xr

import neurodata as nd


def read_scholz_nwb(path, n_time: int | None = None) -> xr.Dataset:
    """The Scholz et al. 2018 worm: traces (time, roi) on a regular grid, and centroid speed.

    ``open_nwb`` gathers the 62 one-neuron TimeSeries into ``activity``; their
    slightly irregular timestamps are resampled onto a regular grid.
    """
    with nd.open_nwb(path) as ds:
        act = ds.activity.load()
        pos = ds.tracked_2d_position_ss_2d.load()
    t = act.time.values
    n = t.size if n_time is None else min(n_time, t.size)
    grid = np.linspace(t[0], t[n - 1], n)
    traces = nd.resample(act, grid).astype(np.float32)
    t_xy = pos.time_tracked_2d_position.values
    speed = np.hypot(*np.gradient(pos.values, t_xy, axis=0).T)
    return xr.Dataset({"traces": traces.variable, "speed": ("time", np.interp(grid, t_xy, speed))},
                      coords={"time": grid, "roi": act.roi.values})


def make_antagonists(n_animals: int = 3, n_time: int = 1600, fs: float = 4.0, seed: int = 0):
    """Bursty traces with a group whose two halves move in opposite directions.

    Neurons 0-11 share their bursts during the first half (0-5 up, 6-11 down:
    anticorrelated), neurons 12-17 during the second half; otherwise, and for
    neurons 18-25 always, every neuron bursts on its own.  Returns the
    ``(animal, time, roi)`` traces and the (2, time) indicators of the halves.
    """
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    n, half = 26, n_time // 2

    def events(k):
        e = (rng.random((n_time, k)) < 0.015) * rng.uniform(1, 2, (n_time, k))
        return ndimage.gaussian_filter1d(e, 2.0 * fs, axis=0) * 10

    out = []
    for _ in range(n_animals):
        x = events(n)
        x[:half, 0:12] = events(1)[:half]
        x[:half, 6:12] *= -1
        x[half:, 12:18] = events(1)[half:]
        out.append(x + 0.01 * rng.standard_normal(x.shape))
    t = np.arange(n_time) / fs
    traces = xr.DataArray(np.stack(out), dims=("animal", "time", "roi"),
                          coords={"time": t, "roi": [f"n{i:02d}" for i in range(n)]})
    return traces, np.stack([t < t[half], t >= t[half]]).astype(float)
