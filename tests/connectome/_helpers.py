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
