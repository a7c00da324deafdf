"""Mutations of valid NWB files at the HDF5 level, for fuzzing the readers.

:func:`mutate` copies a file and breaks one thing in the copy: it deletes a
dataset or an attribute, changes a dataset's dtype or shape, truncates the
file, reverses or NaNs timestamps, breaks an object reference, or makes a
ragged index inconsistent with its data.  :func:`read_outcome` runs
``open_nwb``, ``summarize`` and ``validate`` on a file and says what came
out: ``"recording"`` or the name of the :class:`NeurodataError`; anything
else propagates, and it checks that the file is unchanged and left closed.
Used by ``tests/io/test_fuzz.py`` and ``benchmarks/fuzz_nwb.py``.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import h5py
import numpy as np

from neurodata.errors import NeurodataError, NeurodataWarning
from neurodata.io._fixtures import replace_dataset
from neurodata.io._h5 import file_sha256

__all__ = ["MUTATIONS", "mutate", "read_outcome"]

MUTATIONS = ("delete_dataset", "delete_attribute", "change_dtype", "change_shape", "truncate",
             "reverse_times", "nan_times", "break_reference", "ragged_index", "swap_datasets")
_TIME_NAMES = ("timestamps", "spike_times", "start_time", "stop_time", "starting_time")
_DTYPES = ("int8", "uint16", "float32", "float64", "bool", "S6", "complex64")


def _objects(f: h5py.File) -> tuple[list[str], list[str]]:
    datasets: list[str] = []
    groups: list[str] = ["/"]

    def visit(name: str, obj) -> None:
        if name.startswith("specifications"):
            return
        (datasets if isinstance(obj, h5py.Dataset) else groups).append("/" + name)

    f.visititems(visit)
    return sorted(datasets), sorted(groups)


def _pick(items: list[str], k: int) -> str | None:
    return items[k % len(items)] if items else None


def _change_dtype(f: h5py.File, path: str, b: int) -> None:
    data = np.asarray(f[path][()])
    target = np.dtype(_DTYPES[b % len(_DTYPES)])
    try:
        new = data.astype(target)
    except (TypeError, ValueError):
        new = np.zeros(data.shape, dtype=target)
    replace_dataset(f, path, new)


def _change_shape(f: h5py.File, path: str, b: int) -> None:
    data = np.asarray(f[path][()])
    flat = data.ravel()
    shapes = [flat[:-1] if flat.size else flat, flat[: max(0, flat.size // 2)],
              np.concatenate([flat, flat[:1]]) if flat.size else flat, data[..., None],
              flat[:0], flat[:1].reshape(()) if flat.size else flat,
              np.stack([flat, flat]) if flat.size else flat]
    replace_dataset(f, path, shapes[b % len(shapes)])


def _times(datasets: list[str]) -> list[str]:
    return [d for d in datasets if d.rsplit("/", 1)[-1] in _TIME_NAMES]


def _break_reference(f: h5py.File, datasets: list[str], groups: list[str], a: int, b: int) -> None:
    holders = [(p, k) for p in datasets + groups for k, v in f[p].attrs.items()
               if isinstance(v, h5py.Reference)]
    refsets = [p for p in datasets if h5py.check_ref_dtype(f[p].dtype) is not None]
    if holders and (b % 2 == 0 or not refsets):
        path, key = holders[a % len(holders)]
        target = f[f[path].attrs[key]].name
        if b % 3 == 0 and target not in ("/", path):
            del f[target]  # the reference now points at nothing
        else:
            f[path].attrs[key] = np.int64(b)  # not a reference at all
    elif refsets:
        path = refsets[a % len(refsets)]
        targets = {f[r].name for r in np.asarray(f[path][()]).ravel() if r}
        for t in sorted(targets)[:1]:
            del f[t]


def _ragged_index(f: h5py.File, datasets: list[str], a: int, b: int) -> None:
    idx = [d for d in datasets if d.endswith("_index")]
    path = _pick(idx, a)
    if path is None:
        return
    ends = np.asarray(f[path][()]).astype(np.int64)
    if ends.size == 0:
        return
    choice = b % 3
    if choice == 0:
        ends[-1] += 1 + b % 1000          # points past the data
    elif choice == 1:
        ends = ends[::-1].copy()          # decreasing
    else:
        ends = ends[: max(1, ends.size - 1)]  # one row short
    replace_dataset(f, path, ends)


def _apply(f: h5py.File, kind: str, a: int, b: int) -> None:
    datasets, groups = _objects(f)
    if kind == "delete_dataset":
        path = _pick(datasets, a)
        if path:
            del f[path]
    elif kind == "delete_attribute":
        holders = [p for p in datasets + groups if len(f[p].attrs)]
        path = _pick(holders, a)
        if path:
            keys = sorted(f[path].attrs)
            del f[path].attrs[keys[b % len(keys)]]
    elif kind == "change_dtype" and datasets:
        _change_dtype(f, datasets[a % len(datasets)], b)
    elif kind == "change_shape" and datasets:
        _change_shape(f, datasets[a % len(datasets)], b)
    elif kind in ("reverse_times", "nan_times"):
        path = _pick(_times(datasets), a)
        if path and f[path].shape != ():
            data = np.asarray(f[path][()], dtype=np.float64)
            if kind == "reverse_times":
                data = data[::-1].copy()
            elif data.size:
                data[b % data.size] = np.nan
            replace_dataset(f, path, data)
    elif kind == "break_reference":
        _break_reference(f, datasets, groups, a, b)
    elif kind == "ragged_index":
        _ragged_index(f, datasets, a, b)
    elif kind == "swap_datasets" and len(datasets) > 1:
        p, q = datasets[a % len(datasets)], datasets[b % len(datasets)]
        if p != q and not p.startswith(q) and not q.startswith(p):
            dp, dq = f[p][()], f[q][()]
            replace_dataset(f, p, np.asarray(dq))
            replace_dataset(f, q, np.asarray(dp))


def mutate(source: str | os.PathLike, target: str | os.PathLike, kind: str, a: int,
           b: int) -> Path:
    """Copy ``source`` to ``target`` and apply mutation ``kind`` (choices ``a``, ``b``).

    Examples
    --------
    >>> import tempfile
    >>> from neurodata.datasets import sample_path
    >>> out = mutate(sample_path(), tempfile.mkdtemp() + "/m.nwb", "delete_dataset", 3, 0)
    >>> read_outcome(out) in ("recording", "FileFormatError", "NoNeuralDataError")
    True
    """
    out = Path(os.fspath(target))
    shutil.copyfile(source, out)
    if kind == "truncate":
        size = out.stat().st_size
        with open(out, "r+b") as fh:
            fh.truncate(int(size * ((a % 997) + 1) / 1000))
        return out
    if kind not in MUTATIONS:
        raise NeurodataError(f"unknown mutation {kind!r}; choose one of {MUTATIONS}.")
    with h5py.File(out, "a") as f:
        _apply(f, kind, a, b)
    return out


def open_hdf5_objects() -> int:
    """How many HDF5 files, groups, datasets and attributes are open in this process."""
    h5f = h5py.h5f
    return int(h5f.get_obj_count(h5f.OBJ_ALL, h5f.OBJ_FILE | h5f.OBJ_GROUP | h5f.OBJ_DATASET
                                 | h5f.OBJ_ATTR))


def read_outcome(path: str | os.PathLike) -> str:
    """Open, summarise and validate ``path``: "recording" or the NeurodataError's class name.

    Raises AssertionError if the file changed or an HDF5 object was left open.
    """
    from neurodata.io._nwb_read import open_nwb
    from neurodata.io._summary import summarize
    from neurodata.schema import validate

    before = file_sha256(path)
    already_open = open_hdf5_objects()
    outcome = "recording"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurodataWarning)
        try:
            ds = open_nwb(path, checksum=False)
        except NeurodataError as err:
            outcome = type(err).__name__
        else:
            try:
                summarize(ds)
                validate(ds)
            except NeurodataError as err:
                outcome = type(err).__name__
            finally:
                ds.close()
    assert file_sha256(path) == before, f"{path} was modified by reading it"
    left = open_hdf5_objects() - already_open
    assert left == 0, f"{left} HDF5 files, groups or datasets left open after reading {path}"
    return outcome
