"""User steps for the batch tests (importable by the Dask workers)."""

from __future__ import annotations

import time

import xarray as xr


def mean_rate(rates: xr.DataArray) -> dict:
    """Scalars: the population's mean rate and the number of units."""
    return {"hz": float(rates.mean()), "units": int(rates.sizes["unit"])}


def slow_mean_rate(rates: xr.DataArray, delay: float = 0.5) -> float:
    """A step slow enough that a worker can be killed while it runs."""
    time.sleep(delay)
    return float(rates.mean())


def raster(recording: xr.Dataset):
    """A figure step."""
    from neurodata.plotting import plot_raster

    return plot_raster(recording).figure


def mean_fluorescence(recording: xr.Dataset) -> float:
    """A lazy reduction: read chunk by chunk, never the whole file at once."""
    return float(recording["fluorescence"].mean())
