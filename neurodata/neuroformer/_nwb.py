"""A minimal NWB reader (h5py) for spikes and 1-D behaviour series.

Private stop-gap used by the tutorial and the benchmarks until
``neurodata.open_nwb`` is available; it returns a recording that follows
:mod:`neurodata.schema`.
"""

from __future__ import annotations

import h5py
import numpy as np
import xarray as xr

from neurodata.errors import FileFormatError, NoNeuralDataError

__all__ = ["read_nwb_spikes"]


def read_nwb_spikes(path, series: dict[str, str] | None = None) -> xr.Dataset:
    """Read the Units table's spikes, the epochs, and named TimeSeries from an NWB file.

    ``series`` maps a variable name to a TimeSeries path in the file (e.g.
    ``{"head_direction": "acquisition/CompassDirection/ry"}``); each becomes a
    variable on its own ``time_<name>`` dimension.
    """
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise FileFormatError(f"cannot open {path} as an NWB (HDF5) file: {err}") from err
    with f:
        if "units/spike_times" not in f:
            raise NoNeuralDataError(f"{path} has no Units table with spike_times.")
        st = f["units/spike_times"][:]
        index = f["units/spike_times_index"][:]
        ids = f["units/id"][:]
        counts = np.diff(np.r_[0, index])
        unit = np.repeat(ids, counts)
        order = np.argsort(st, kind="stable")
        data = {"spike_times": ("spike", st[order].astype(np.float64)),
                "spike_unit": ("spike", unit[order])}
        coords: dict = {"unit": ids}
        if "intervals/epochs" in f:
            ep = f["intervals/epochs"]
            coords["epoch_start_time"] = ("epoch", ep["start_time"][:])
            coords["epoch_stop_time"] = ("epoch", ep["stop_time"][:])
            if "tags" in ep:
                coords["epoch_tags"] = ("epoch", np.array([t.decode() if isinstance(t, bytes)
                                                            else str(t) for t in ep["tags"][:]]))
        for name, where in (series or {}).items():
            if f"{where}/data" not in f:
                raise FileFormatError(f"{path} has no TimeSeries at {where!r}.")
            dim = f"time_{name}"
            data[name] = (dim, f[f"{where}/data"][:].astype(np.float64))
            coords[dim] = f[f"{where}/timestamps"][:].astype(np.float64)
    return xr.Dataset(data, coords=coords, attrs={"source_path": str(path)})
