"""Generated NWB files for tests and benchmarks: a large streamable file, Zarr twins.

:func:`write_large_nwb` writes a standard NWB 2 file (through pynwb) with a
Units table of many units, a trials table, and an ElectricalSeries whose data
fill the file to the requested size.  The bulk data are allocated on disk
without being written (a sparse file of zeros), so a 1 GB file takes a second
to make and no disk space where the file system supports holes.
:func:`write_zarr_twin` exports any NWB HDF5 file to an NWB Zarr store with
hdmf-zarr, the reference writer of that layout.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import warnings
from pathlib import Path

import h5py
import numpy as np

from neurodata._utils import check_random_state, soft_import

__all__ = ["replace_dataset", "write_large_nwb", "write_zarr_twin"]


def _units_and_trials(nwbfile, rng: np.random.Generator, n_units: int, duration: float) -> None:
    # one placeholder spike per unit: pynwb converts spike lists element by element, so the
    # real trains are written with h5py afterwards (_write_spikes)
    nwbfile.add_unit_column(name="quality", description="isolation quality in [0, 1]")
    for uid in range(n_units):
        nwbfile.add_unit(id=uid, spike_times=[0.0], quality=float(rng.uniform()))
    starts = np.arange(0.0, duration - 2.0, 5.0)
    for s in starts:
        nwbfile.add_trial(start_time=float(s), stop_time=float(s + 2.0))


def _sparse_dataset(group: h5py.Group, name: str, shape: tuple[int, ...], dtype, chunks) -> None:
    """Replace ``group[name]`` by a chunked dataset allocated at once but never written."""
    attrs = dict(group[name].attrs)
    del group[name]
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk(chunks)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    space = h5py.h5s.create_simple(shape)
    h5py.h5d.create(group.id, name.encode(), h5py.h5t.py_create(np.dtype(dtype)), space, dcpl)
    for k, v in attrs.items():
        group[name].attrs[k] = v


def replace_dataset(group: h5py.Group, name: str, values: np.ndarray) -> None:
    """Replace the dataset ``group[name]`` by ``values``, keeping its attributes."""
    attrs = dict(group[name].attrs)
    del group[name]
    group.create_dataset(name, data=values)
    for k, v in attrs.items():
        group[name].attrs[k] = v


def _write_spikes(units: h5py.Group, rng: np.random.Generator, spikes_per_unit: int,
                  duration: float) -> None:
    n_units = units["id"].shape[0]
    times = np.sort(rng.uniform(0.0, duration, (n_units, spikes_per_unit)), axis=1)
    replace_dataset(units, "spike_times", times.ravel())
    ends = np.arange(1, n_units + 1, dtype=np.int64) * spikes_per_unit
    replace_dataset(units, "spike_times_index", ends.astype(np.uint32 if ends[-1] < 2**32 else np.uint64))


def write_large_nwb(path: str | os.PathLike, *, n_bytes: int = 10**9, n_units: int = 100,
                    spikes_per_unit: int = 20_000, n_channels: int = 64,
                    random_state=0) -> Path:
    """Write an NWB 2 file of about ``n_bytes``: units, trials, a bulky ElectricalSeries.

    The ElectricalSeries (int16, 30 kHz, ``n_channels`` channels, 1 MiB
    chunks) takes the bytes not used by the spikes; its samples are zeros
    allocated without writing.  Each unit has ``spikes_per_unit`` spike times.

    Examples
    --------
    >>> import tempfile, os
    >>> from neurodata.io import open_nwb
    >>> p = write_large_nwb(os.path.join(tempfile.mkdtemp(), "big.nwb"), n_bytes=2 * 10**6,
    ...                     n_units=5, spikes_per_unit=100)
    >>> with open_nwb(p) as ds:
    ...     print(ds.sizes["unit"], ds.sizes["spike"], ds.sizes["time_electrical_series"] > 10**4)
    5 500 True
    """
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries

    rng = check_random_state(random_state)
    n_samples = max(1000, int((n_bytes - n_units * spikes_per_unit * 8) // (2 * n_channels)))
    rate = 30_000.0
    duration = max(10.0, n_samples / rate)
    nwbfile = NWBFile(session_description="generated large file for streaming tests",
                      identifier="neurodata-large-nwb",
                      session_start_time=_dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc))
    _units_and_trials(nwbfile, rng, n_units, duration)
    device = nwbfile.create_device("probe")
    group = nwbfile.create_electrode_group("shank", "generated", "CA1", device)
    for _ in range(n_channels):
        nwbfile.add_electrode(group=group, location="CA1")
    region = nwbfile.create_electrode_table_region(list(range(n_channels)), "all channels")
    nwbfile.add_acquisition(ElectricalSeries(
        name="ElectricalSeries", data=np.zeros((2, n_channels), dtype=np.int16),
        electrodes=region, starting_time=0.0, rate=rate, conversion=1e-6))
    out = Path(os.fspath(path))
    with NWBHDF5IO(str(out), "w") as io, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        io.write(nwbfile)
    rows = max(1, (1 << 20) // (2 * n_channels))
    with h5py.File(out, "a") as f:
        _write_spikes(f["units"], rng, spikes_per_unit, duration)
        _sparse_dataset(f["acquisition/ElectricalSeries"], "data", (n_samples, n_channels),
                        np.int16, (min(rows, n_samples), n_channels))
    return out


def write_zarr_twin(source: str | os.PathLike, store: str | os.PathLike) -> Path:
    """Export an NWB HDF5 file to an NWB Zarr store (hdmf-zarr layout) with the same content.

    Needs the ``hdmf-zarr`` package (in the ``test`` extra).
    """
    soft_import("hdmf_zarr", "test", "writing NWB Zarr stores")
    from hdmf_zarr.nwb import NWBZarrIO
    from pynwb import NWBHDF5IO

    out = Path(os.fspath(store))
    if out.exists():
        shutil.rmtree(out)
    with NWBHDF5IO(str(source), "r") as src, NWBZarrIO(str(out), mode="w") as dst, \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dst.export(src_io=src, write_args={"link_data": False})
    return out
