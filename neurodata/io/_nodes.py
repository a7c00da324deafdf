"""The storage-neutral view of an NWB file that the readers walk.

The readers were written against h5py's objects (groups, datasets,
attributes, object references).  A store in another layout (an NWB Zarr
store) is read through adapter classes deriving from :class:`Group` and
:class:`Dataset` here, which offer the same small part of h5py's interface;
HDF5 files, local or streamed over HTTP, are h5py objects themselves.  The
readers test node kinds with :func:`is_group` / :func:`is_dataset` /
:func:`is_reference_dataset`, never with ``isinstance(x, h5py.Group)``, so
that one reader serves every layout.
"""

from __future__ import annotations

from typing import Any

import h5py

__all__ = ["Dataset", "Group", "Reference", "is_dataset", "is_group", "is_reference_dataset"]


class Group:
    """Base of group adapters: ``name``, ``attrs``, ``parent``, ``file``, mapping access."""


class Dataset:
    """Base of dataset adapters: ``name``, ``attrs``, ``shape``, ``dtype``, ``[...]`` reads."""

    is_reference: bool = False


class Reference(str):
    """An object reference of a non-HDF5 store: the absolute path of its target.

    Examples
    --------
    >>> Reference("/units"), bool(Reference(""))
    ('/units', False)
    """


def is_group(obj: Any) -> bool:
    """True for an HDF5 group or a group of another store.

    Examples
    --------
    >>> import io
    >>> f = h5py.File(io.BytesIO(), "w"); _ = f.create_group("g"); f["d"] = 1
    >>> is_group(f["g"]), is_group(f["d"]), is_dataset(f["d"])
    (True, False, True)
    """
    return isinstance(obj, (h5py.Group, Group))


def is_dataset(obj: Any) -> bool:
    """True for an HDF5 dataset or a dataset (array) of another store."""
    return isinstance(obj, (h5py.Dataset, Dataset))


def is_reference_dataset(ds: Any) -> bool:
    """True for a dataset whose elements are object references."""
    if isinstance(ds, Dataset):
        return ds.is_reference
    return h5py.check_ref_dtype(ds.dtype) is not None
