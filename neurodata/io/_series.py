"""Finding NWB time series in a file and turning them into lazy xarray variables."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import dask.array as da
import numpy as np

from neurodata.errors import FileFormatError
from neurodata.io._guard import SOURCE, GuardedArray, reading
from neurodata.io._h5 import attr_str, neurodata_type, snake
from neurodata.io._nodes import is_dataset, is_group

__all__ = ["SeriesInfo", "find_series", "lazy_data", "series_time"]

#: Series types that hold images; they are read lazily as (time, y, x) when non-empty.
IMAGE_TYPES = {"ImageSeries", "TwoPhotonSeries", "OnePhotonSeries", "OpticalSeries",
               "ImageMaskSeries"}
#: Container types whose children are one recorded quantity each (named container_child).
NEURAL_TYPES = {"RoiResponseSeries", "ElectricalSeries", "SpikeEventSeries"}


@dataclass
class SeriesInfo:
    """Where a time series lives in the file and what kind it is."""

    group: Any
    name: str
    ntype: str
    container: str | None
    container_type: str | None
    n_samples: int
    data_shape: tuple[int, ...]
    extra: dict = field(default_factory=dict)

    @property
    def path(self) -> str:
        return str(self.group.name)


def _is_series(obj: Any) -> bool:
    return (is_group(obj) and "data" in obj and is_dataset(obj["data"])
            and ("timestamps" in obj or "starting_time" in obj))


def find_series(f: Any) -> list[SeriesInfo]:
    """Every time series under acquisition/, processing/ and stimulus/presentation/.

    Series nested in a container (Position, Fluorescence, BehavioralEvents, ...)
    record the container's name and type.
    """
    found: list[SeriesInfo] = []
    roots = [r for r in ("acquisition", "processing", "stimulus/presentation") if r in f]

    def visit(name: str, obj: Any) -> None:
        with reading(obj.name):
            _visit(obj)

    def _visit(obj: Any) -> None:
        if not _is_series(obj):
            return
        parent = obj.parent
        ptype = neurodata_type(parent)
        is_container = ptype not in (None, "ProcessingModule", "NWBFile") and \
            parent.name not in ("/acquisition", "/stimulus/presentation")
        data = obj["data"]
        shape = tuple(int(s) for s in data.shape)
        found.append(SeriesInfo(
            group=obj, name=obj.name.rsplit("/", 1)[-1], ntype=neurodata_type(obj) or "TimeSeries",
            container=parent.name.rsplit("/", 1)[-1] if is_container else None,
            container_type=ptype if is_container else None,
            n_samples=shape[0] if shape else 0, data_shape=shape,
        ))

    for root in roots:
        if is_group(f[root]):
            f[root].visititems(visit)
    return found


def series_time(info: SeriesInfo, n: int | None = None) -> np.ndarray:
    """The sample times of a series (float64 seconds), from timestamps or start + rate.

    Raises a :class:`FileFormatError` naming the series when there are fewer
    timestamps than samples, when a time is NaN or infinite, or when the
    sampling rate is not a positive number.
    """
    g = info.group
    n = info.n_samples if n is None else n
    if "timestamps" in g:
        t = np.asarray(g["timestamps"][()], dtype=np.float64).ravel()
        if t.size < n:
            raise FileFormatError(f"{SOURCE.get()}: {info.path}/timestamps has {t.size} times for "
                                  f"{n} samples of data; the file is malformed there.")
        t = t[:n]
    else:
        start = g["starting_time"]
        rate = float(start.attrs.get("rate", 1.0))
        if not np.isfinite(rate) or rate <= 0:
            raise FileFormatError(f"{SOURCE.get()}: {info.path}/starting_time has sampling rate "
                                  f"{rate}; it must be a positive number of samples per second.")
        t = float(start[()]) + np.arange(n, dtype=np.float64) / rate
    if not np.all(np.isfinite(t)):
        raise FileFormatError(f"{SOURCE.get()}: {info.path} has {int(np.sum(~np.isfinite(t)))} "
                              f"NaN or infinite sample times; the file is malformed there.")
    return t


def lazy_data(ds: Any, *, transpose: bool = False, lazy: bool = True) -> da.Array | np.ndarray:
    """A dask array over an HDF5 dataset (nothing read until computed), scaled by NWB conversion.

    ``transpose`` swaps the first two axes (for traces stored ROI-first).  The
    dask graph is named from the file and object path, so building it never
    hashes (reads) the data.
    """
    conversion = float(ds.attrs.get("conversion", 1.0))
    offset = float(ds.attrs.get("offset", 0.0))
    if lazy:
        name = f"nwb-{uuid.uuid4().hex}-{ds.name}"
        meta = np.empty((0,) * ds.ndim, dtype=ds.dtype)
        arr = da.from_array(GuardedArray(ds, SOURCE.get()), chunks="auto", name=name, lock=True,
                            asarray=True, meta=meta)
    else:
        arr = ds[()]
    if transpose:
        arr = arr.T if arr.ndim == 2 else arr.swapaxes(0, 1)
    if conversion != 1.0 or offset != 0.0:
        arr = arr * conversion + offset
    return arr


_NUMBERED = re.compile(r"^(.*?[A-Za-z])[_\- ]?(\d+)$")


def numbered_groups(series: list[SeriesInfo], min_members: int = 3) -> dict[str, list[SeriesInfo]]:
    """Plain 1-D TimeSeries named ``<prefix><number>`` with equal lengths, grouped by prefix.

    These are recordings stored one neuron per series (as in the C. elegans
    whole-brain data, ``Activity_0000..0061``).
    """
    groups: dict[tuple[str, str], list[SeriesInfo]] = {}
    for s in series:
        m = _NUMBERED.match(s.name)
        if m and s.ntype == "TimeSeries" and len(s.data_shape) == 1 and s.n_samples > 1:
            parent = s.group.parent.name
            groups.setdefault((parent, m.group(1)), []).append(s)
    out = {}
    for (_, prefix), members in groups.items():
        if len(members) >= min_members and len({m.n_samples for m in members}) == 1:
            members.sort(key=lambda s: int(_NUMBERED.match(s.name).group(2)))  # type: ignore[union-attr]
            out[snake(prefix)] = members
    return out


def series_var_name(info: SeriesInfo) -> str:
    """Variable name: ``<container>_<series>`` inside a container, else the series name.

    Examples
    --------
    >>> class G: name = "/acquisition/Position/x"
    >>> series_var_name(SeriesInfo(G(), "x", "SpatialSeries", "Position", "Position", 3, (3,)))
    'position_x'
    """
    base = snake(info.name)
    if info.container:
        c = snake(info.container)
        return base if base.startswith(c) else f"{c}_{base}"
    return base


def series_unit(info: SeriesInfo) -> str:
    """The physical unit of a series' data ('' if none is given)."""
    return attr_str(info.group["data"], "unit", "") or ""
