"""``ds.nd.<verb>``: one-line forwards from xarray objects to neurodata functions.

Importing :mod:`neurodata` registers the accessors.  Each method forwards to
the public function of the same name, with the object as first argument, so
its documentation is that function's.

Examples
--------
>>> import neurodata
>>> from neurodata.datasets import make_poisson_population
>>> ds = make_poisson_population(n_units=3, n_trials=4, random_state=0)
>>> ds.nd.bin_spikes(0.5).dims
('time', 'unit')
"""

from __future__ import annotations

import xarray as xr

from neurodata import schema, signals

__all__ = ["NeurodataArrayAccessor", "NeurodataDatasetAccessor"]


@xr.register_dataset_accessor("nd")
class NeurodataDatasetAccessor:
    """Neurodata verbs on a recording Dataset (``ds.nd.bin_spikes(0.01)``, ...)."""

    def __init__(self, ds: xr.Dataset) -> None:
        self._obj = ds

    def validate(self) -> xr.Dataset:
        """Forward to :func:`neurodata.validate`."""
        return schema.validate(self._obj)

    def bin_spikes(self, bin_size: float, **kwargs) -> xr.DataArray:
        """Forward to :func:`neurodata.signals.bin_spikes`."""
        return signals.bin_spikes(self._obj, bin_size, **kwargs)

    def align(self, events, window, **kwargs) -> xr.DataArray:
        """Forward to :func:`neurodata.signals.align`."""
        return signals.align(self._obj, events, window, **kwargs)

    def interval_table(self, dim: str) -> xr.Dataset:
        """Forward to :func:`neurodata.schema.interval_table`."""
        return schema.interval_table(self._obj, dim)

    def save_nwb(self, path, **kwargs):
        """Forward to :func:`neurodata.io.save_nwb`."""
        from neurodata.io import save_nwb

        return save_nwb(self._obj, path, **kwargs)

    def write_nwb(self, path, **kwargs):
        """Forward to :func:`neurodata.io.write_nwb` (the Dataset as one result)."""
        from neurodata.io import write_nwb

        return write_nwb(self._obj, path, **kwargs)


@xr.register_dataarray_accessor("nd")
class NeurodataArrayAccessor:
    """Neurodata verbs on a signal DataArray (``da.nd.compute_dff()``, ...)."""

    def __init__(self, da: xr.DataArray) -> None:
        self._obj = da

    def align(self, events, window, **kwargs) -> xr.DataArray:
        """Forward to :func:`neurodata.signals.align`."""
        return signals.align(self._obj, events, window, **kwargs)

    def compute_dff(self, **kwargs) -> xr.DataArray:
        """Forward to :func:`neurodata.signals.compute_dff`."""
        return signals.compute_dff(self._obj, **kwargs)

    def resample(self, time) -> xr.DataArray:
        """Forward to :func:`neurodata.signals.resample`."""
        return signals.resample(self._obj, time)

    def write_nwb(self, path, **kwargs):
        """Forward to :func:`neurodata.io.write_nwb`."""
        from neurodata.io import write_nwb

        return write_nwb(self._obj, path, **kwargs)
