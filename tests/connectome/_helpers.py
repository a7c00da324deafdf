"""Small private helpers of the connectome tests."""

from __future__ import annotations

import numpy as np
import xarray as xr


def read_scholz_nwb(path, n_time: int | None = None) -> xr.Dataset:
    """Read the Scholz et al. 2018 NWB file with h5py: traces (time, roi) and centroid path.

    The 62 neurons are one TimeSeries each (Activity_0000..0061); their
    slightly irregular timestamps are interpolated onto a regular grid.
    """
    import h5py

    with h5py.File(path, "r") as f:
        acq = f["acquisition"]
        names = sorted(k for k in acq if k.startswith("Activity_"))
        t = np.asarray(acq[names[0]]["timestamps"][:], dtype=float)
        data = np.stack([np.asarray(acq[k]["data"][:], dtype=float) for k in names], axis=1)
        pos = acq["Tracked 2D position"]["ss_2D"]
        xy = np.asarray(pos["data"][:], dtype=float)
        t_pos = np.asarray(pos["timestamps"][:], dtype=float)
    n = t.size if n_time is None else min(n_time, t.size)
    grid = np.linspace(t[0], t[n - 1], n)
    traces = np.stack([np.interp(grid, t, np.where(np.isfinite(c), c, np.nan)) for c in data.T],
                      axis=1)
    speed = np.hypot(*np.gradient(xy, t_pos, axis=0).T)
    return xr.Dataset(
        {"traces": (("time", "roi"), traces.astype(np.float32)),
         "speed": (("time",), np.interp(grid, t_pos, speed))},
        coords={"time": grid, "roi": [k.split("_")[1] for k in names]},
    )
