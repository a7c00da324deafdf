"""Reading NWB DynamicTables (Units, electrodes, intervals, PlaneSegmentation) with h5py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurodata.errors import FileFormatError
from neurodata.io._guard import SOURCE, reading
from neurodata.io._h5 import _decode, attr_str, neurodata_type
from neurodata.io._nodes import is_dataset, is_reference_dataset

__all__ = ["Column", "ragged_lengths", "read_table"]

#: Columns that are never turned into coordinates (handled on their own or references).
SKIP_COLUMNS = {"spike_times", "pixel_mask", "voxel_mask", "image_mask", "timeseries",
                "waveforms", "waveform_mean", "waveform_sd"}


@dataclass
class Column:
    """One column of a table: values (one per row), or per-row arrays when ragged."""

    name: str
    values: np.ndarray
    description: str = ""
    ragged: bool = False
    extra: dict = field(default_factory=dict)


def ragged_lengths(index: Any, n_values: int | None = None) -> np.ndarray:
    """Row lengths from a VectorIndex (the end offsets of each row).

    The offsets must be whole numbers that never decrease and, when
    ``n_values`` (the length of the indexed column) is given, stay within it;
    otherwise a :class:`FileFormatError` names the index.
    """
    raw = np.asarray(index[()])
    if raw.ndim != 1 or raw.dtype.kind not in "iu":
        raise FileFormatError(f"{SOURCE.get()}: {index.name} must be a 1-D integer index of row "
                              f"ends; got {raw.dtype} values of shape {raw.shape}.")
    ends = raw.astype(np.int64)
    lengths = np.diff(np.concatenate([[0], ends]))
    if np.any(lengths < 0) or (n_values is not None and ends.size and ends[-1] > n_values):
        raise FileFormatError(
            f"{SOURCE.get()}: {index.name} is not a valid ragged index (its row ends must rise "
            f"from 0 to at most the {n_values} values it indexes); the file is malformed there.")
    return lengths


def _reference_names(f: Any, refs: np.ndarray) -> np.ndarray:
    out = []
    for r in refs.ravel():
        try:
            out.append(f[r].name.rsplit("/", 1)[-1] if r else "")
        except (ValueError, KeyError, TypeError, OSError):
            out.append("")
    return np.array(out, dtype=object).reshape(refs.shape)


def _read_values(f: Any, ds: Any) -> np.ndarray:
    raw = ds[()]
    if is_reference_dataset(ds):
        return _reference_names(f, np.asarray(raw))
    if ds.dtype.names:  # compound rows (e.g. references to other tables): keep the first field
        return np.asarray(raw)
    return np.asarray(_decode(raw))


def read_table(group: Any, *, skip: set[str] | None = None) -> tuple[np.ndarray, list[Column]]:
    """Read a DynamicTable's ids and columns (ragged columns as object arrays of arrays).

    Bulky columns named in :data:`SKIP_COLUMNS` (and ``skip``) are not read.

    Returns
    -------
    ids : ndarray
        The table's ``id`` values.
    columns : list of Column
        In the order of the table's ``colnames`` attribute.
    """
    f = group.file
    skip = SKIP_COLUMNS | (skip or set())
    ids = np.asarray(group["id"][()]) if "id" in group else np.arange(0)
    names = list(group.attrs.get("colnames", []))
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in names]
    names += [k for k in group if k not in names and k != "id" and not k.endswith("_index")
              and is_dataset(group[k])]
    cols = []
    for name in names:
        if name in skip or name not in group or not is_dataset(group[name]):
            continue
        with reading(f"{group.name}/{name}"):
            cols.append(_read_column(f, group, name))
    return ids, cols


def _read_column(f: Any, group: Any, name: str) -> Column:
    ds = group[name]
    desc = attr_str(ds, "description", "") or ""
    values = _read_values(f, ds)
    if neurodata_type(ds) == "DynamicTableRegion" and values.dtype.kind in "iu":
        target = ds.attrs.get("table")
        if target is not None:
            tids = np.asarray(f[target]["id"][()])
            values = tids[np.clip(values, 0, max(len(tids) - 1, 0))] if len(tids) else values
    index_name = f"{name}_index"
    if index_name not in group:
        return Column(name, values, desc)
    lengths = ragged_lengths(group[index_name], len(values))
    if f"{index_name}_index" in group:  # doubly ragged: flatten one level
        lengths2 = ragged_lengths(group[f"{index_name}_index"], len(lengths))
        ends = np.cumsum(lengths)
        inner_ends = np.concatenate([[0], ends])[np.cumsum(lengths2)]
        lengths = np.diff(np.concatenate([[0], inner_ends]))
    parts = np.split(values[: int(lengths.sum())], np.cumsum(lengths)[:-1]) if len(lengths) else []
    arr = np.empty(len(lengths), dtype=object)
    for i, part in enumerate(parts):
        arr[i] = part
    return Column(name, arr, desc, ragged=True)
