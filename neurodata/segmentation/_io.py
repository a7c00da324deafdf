"""Read the label volumes FISBe uses: zarr, HDF5 and TIFF."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neurodata.errors import FileFormatError

__all__ = ["DEFAULT_ZARR_KEY", "read_volume"]

#: where FISBe's zarr files keep the GT instance masks, (C, Z, Y, X).
DEFAULT_ZARR_KEY = "volumes/gt_instances"
HDF_SUFFIXES = (".hdf", ".h5", ".hdf5")
TIFF_SUFFIXES = (".tif", ".tiff")


def _hdf_arrays(f: h5py.File) -> list[str]:
    names: list[str] = []
    f.visititems(lambda n, obj: names.append(n) if isinstance(obj, h5py.Dataset) else None)
    return names


def _read_hdf(path: Path, key: str | None) -> np.ndarray:
    with h5py.File(path, "r") as f:
        names = _hdf_arrays(f)
        if key is None:
            if len(names) != 1:
                raise FileFormatError(f"{path} holds {len(names)} arrays ({', '.join(names)}); "
                                      f"name one with key=... (--pred-key / --gt-key).")
            key = names[0]
        if key not in names:
            raise FileFormatError(f"{path} has no array {key!r}; it holds: {', '.join(names)}.")
        return np.asarray(f[key][...])


def _zarr_arrays(group: Any) -> list[str]:
    names: list[str] = []
    if hasattr(group, "members"):                       # zarr 3
        for name, node in group.members(max_depth=None):
            if hasattr(node, "shape") and hasattr(node, "dtype"):
                names.append(name)
    else:                                               # zarr 2
        group.visititems(lambda n, obj: names.append(n) if hasattr(obj, "dtype") else None)
    return names


def _read_zarr(path: Path, key: str | None) -> np.ndarray:
    import zarr

    try:
        node: Any = zarr.open(str(path), mode="r")
    except Exception as err:  # zarr raises several unrelated types here
        raise FileFormatError(f"cannot open {path} as zarr: {err}") from err
    if hasattr(node, "shape") and key is None:
        return np.asarray(node[...])
    names = _zarr_arrays(node)
    if key is None:
        key = DEFAULT_ZARR_KEY if DEFAULT_ZARR_KEY in names else (names[0] if len(names) == 1
                                                                   else None)
        if key is None:
            raise FileFormatError(f"{path} holds {len(names)} arrays ({', '.join(names)}); "
                                  f"name one with key=....")
    if key not in names:
        raise FileFormatError(f"{path} has no array {key!r}; it holds: {', '.join(names)}.")
    return np.asarray(node[key][...])


def read_volume(path: str | os.PathLike, key: str | None = None) -> np.ndarray:
    """Read a label volume from a zarr folder, an HDF5 file or a TIFF file.

    Parameters
    ----------
    path : path-like
        ``*.zarr`` (a folder), ``*.hdf``/``*.h5``/``*.hdf5`` or ``*.tif``/``*.tiff``.
    key : str, optional
        The array inside a zarr or HDF5 file.  For zarr it defaults to FISBe's
        ``volumes/gt_instances`` when present; otherwise a file holding a single
        array needs none.  TIFF files ignore it.

    Returns
    -------
    numpy.ndarray
        The array as stored, e.g. (C, Z, Y, X) GT masks or a (Z, Y, X) label image.

    Raises
    ------
    FileFormatError
        Missing file, unknown suffix, or an unknown or ambiguous key.

    Examples
    --------
    >>> import tempfile, h5py
    >>> path = Path(tempfile.mkdtemp()) / "pred.hdf"
    >>> with h5py.File(path, "w") as f:
    ...     _ = f.create_dataset("volumes/labels", data=np.arange(8).reshape(2, 2, 2))
    >>> read_volume(path).shape
    (2, 2, 2)
    """
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"{path} does not exist.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".zarr":
            return _read_zarr(path, key)
        if suffix in HDF_SUFFIXES:
            return _read_hdf(path, key)
        if suffix in TIFF_SUFFIXES:
            import tifffile

            return np.asarray(tifffile.imread(path))
    except FileFormatError:
        raise
    except (OSError, KeyError, ValueError) as err:
        raise FileFormatError(f"cannot read {path}: {err}") from err
    raise FileFormatError(f"{path}: unknown format {suffix!r}; use .zarr, .hdf/.h5/.hdf5 or "
                          f".tif/.tiff.")
