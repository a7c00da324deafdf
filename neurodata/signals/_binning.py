"""Binning exact spike trains into counts, on demand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from neurodata.errors import InvalidRecordingError, NeurodataError, NoNeuralDataError

__all__ = ["bin_spikes", "spike_unit_index"]


def spike_unit_index(ds: xr.Dataset) -> np.ndarray:
    """Return, for every spike, the position of its unit along ``unit``.

    ``spike_unit`` holds unit ids (the ``unit`` coordinate's values); analyses
    that index arrays need positions.

    Examples
    --------
    >>> ds = xr.Dataset({"spike_times": ("spike", [0.1, 0.2]), "spike_unit": ("spike", [7, 3])},
    ...                 coords={"unit": [3, 7]})
    >>> spike_unit_index(ds)
    array([1, 0])
    """
    _require_spikes(ds)
    index = pd.Index(np.asarray(ds["unit"].values))
    pos = index.get_indexer(np.asarray(ds["spike_unit"].values))
    if np.any(pos < 0):
        raise InvalidRecordingError(
            "'spike_unit' names units that are not in the 'unit' coordinate; run "
            "neurodata.validate(ds) for details."
        )
    return pos


def _require_spikes(ds: xr.Dataset) -> None:
    if not isinstance(ds, xr.Dataset):
        raise NeurodataError(
            f"expected a recording (xarray.Dataset) with spike_times and spike_unit; got "
            f"{type(ds).__name__}."
        )
    if "spike_times" not in ds.variables or "spike_unit" not in ds.variables:
        raise NoNeuralDataError(
            "this recording has no spike trains (variables 'spike_times' and 'spike_unit'); "
            "open a file with a Units table, or use its imaging traces instead."
        )
    if "unit" not in ds.coords:
        raise InvalidRecordingError("spike trains need a 'unit' coordinate listing the unit ids.")


def _bin_edges(times: np.ndarray, bin_size: float, start: float | None,
               stop: float | None) -> np.ndarray:
    if not np.isfinite(bin_size) or bin_size <= 0:
        raise NeurodataError(f"bin_size must be a positive number of seconds; got {bin_size}.")
    if start is None:
        start = float(times[0]) if times.size else 0.0
    if stop is None:
        stop = float(times[-1]) if times.size else start
    if stop < start:
        raise NeurodataError(f"stop ({stop}) must not come before start ({start}).")
    # The small tolerance keeps (stop - start) that is a whole number of bins from
    # gaining an extra bin through rounding error.
    n_bins = max(1, int(np.ceil((stop - start) / bin_size - 1e-9)))
    return start + bin_size * np.arange(n_bins + 1)


def bin_spikes(
    ds: xr.Dataset,
    bin_size: float,
    *,
    start: float | None = None,
    stop: float | None = None,
    dtype: np.dtype | type = np.int32,
) -> xr.DataArray:
    """Count each unit's spikes in regular time bins.

    Parameters
    ----------
    ds : xarray.Dataset
        A recording with ``spike_times(spike)``, ``spike_unit(spike)`` and a
        ``unit`` coordinate (see :mod:`neurodata.schema`).
    bin_size : float
        Bin width in seconds.
    start, stop : float, optional
        Span to bin, in seconds.  Default: from the first to the last spike.
        Bins are ``[start + k*bin_size, start + (k+1)*bin_size)``; the last bin
        ends at or after ``stop`` (it also holds a spike exactly at ``stop``).
    dtype : numpy dtype, optional
        Integer dtype of the counts (default int32).

    Returns
    -------
    xarray.DataArray
        ``spike_counts(time, unit)``.  ``time`` holds bin centres; the
        ``time_bin_start`` coordinate holds left edges.  ``attrs`` carry
        ``bin_size`` (seconds) and ``units`` ("count").  Unit coordinates of the
        recording (location, quality, ...) are kept.

    Notes
    -----
    One pass over the spikes: each spike's flat (bin, unit) index is computed
    and counted with :func:`numpy.bincount`, so the cost is linear in the
    number of spikes plus the size of the output.

    Examples
    --------
    >>> ds = xr.Dataset(
    ...     {"spike_times": ("spike", [0.01, 0.02, 0.15, 0.31]),
    ...      "spike_unit": ("spike", [1, 0, 1, 1])},
    ...     coords={"unit": [0, 1]},
    ... )
    >>> counts = bin_spikes(ds, 0.1, start=0.0, stop=0.4)
    >>> counts.values.T
    array([[1, 0, 0, 0],
           [1, 1, 0, 1]], dtype=int32)
    >>> counts.time.values
    array([0.05, 0.15, 0.25, 0.35])
    """
    _require_spikes(ds)
    times = np.asarray(ds["spike_times"].values, dtype=np.float64)
    unit_pos = spike_unit_index(ds)
    edges = _bin_edges(times, float(bin_size), start, stop)
    n_bins, n_units = edges.size - 1, ds.sizes["unit"]
    b = np.floor((times - edges[0]) / bin_size).astype(np.int64)
    # A spike exactly at the final edge belongs to the last bin.
    b[(b == n_bins) & np.isclose(times, edges[-1])] = n_bins - 1
    keep = (b >= 0) & (b < n_bins)
    flat = b[keep] * n_units + unit_pos[keep]
    counts = np.bincount(flat, minlength=n_bins * n_units).reshape(n_bins, n_units).astype(dtype)
    unit_coords = {k: v.variable for k, v in ds.coords.items() if v.dims == ("unit",)}
    out = xr.DataArray(
        counts,
        dims=("time", "unit"),
        coords={"time": edges[:-1] + bin_size / 2, "time_bin_start": ("time", edges[:-1]),
                **unit_coords},
        name="spike_counts",
        attrs={"bin_size": float(bin_size), "units": "count",
               "long_name": f"spike counts in {bin_size:g} s bins"},
    )
    out["time"].attrs.update(units="s", long_name="bin centre")
    return out
