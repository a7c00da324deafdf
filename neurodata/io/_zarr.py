"""NWB Zarr stores (the hdmf-zarr layout), local or over HTTP, seen as h5py-like nodes.

hdmf-zarr writes NWB files as Zarr v2 stores: a ``.zgroup`` / ``.zattrs`` per
group, a ``.zarray`` / ``.zattrs`` and chunk objects per dataset, a
consolidated ``.zmetadata`` at the root, links in a ``zarr_link`` attribute,
object references as ``{"source", "path"}`` records, and scalars as
one-element arrays tagged ``zarr_dtype: "scalar"``.  This module reads that
layout into :class:`~neurodata.io._nodes.Group` and ``Dataset`` adapters that
behave like the h5py objects the NWB reader walks, so the same reader serves
both layouts.

We read the v2 format with numcodecs (compressors and filters) rather than
through the zarr package, whose API differs between its versions 2 and 3:
only the chunks a selection touches are fetched, several at once over HTTP.
Reference columns that hdmf-zarr pickles are decoded by an unpickler that
accepts only numpy arrays and reference records, so a store can never run
code on the reader's machine.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from neurodata._utils import soft_import
from neurodata.errors import FileFormatError
from neurodata.io._nodes import Dataset, Group, Reference
from neurodata.io._remote import RemoteOptions, fetch_keys, is_url

__all__ = ["ZarrStore", "is_zarr_store"]

#: hdmf-zarr's bookkeeping attributes, hidden from the reader (h5py files have none).
_HIDDEN_ATTRS = {"zarr_dtype", "_ARRAY_DIMENSIONS", "zarr_link"}


def is_zarr_store(path: Any) -> bool:
    """True for a local folder that is a Zarr v2 group (has ``.zgroup``); never raises.

    Examples
    --------
    >>> is_zarr_store("/no/such/store.nwb.zarr")
    False
    """
    try:
        return not is_url(path) and (Path(os.fspath(path)).expanduser() / ".zgroup").is_file()
    except (TypeError, OSError):
        return False


class _SafeUnpickler(pickle.Unpickler):
    """Unpickles only numpy arrays of reference records (what hdmf-zarr writes)."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        if name == "ZarrReference":
            return dict
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


class _PickleFilter:
    def decode(self, buf: Any, out: Any = None) -> Any:
        return _SafeUnpickler(io.BytesIO(bytes(buf))).load()


def _codec(config: dict | None):
    if config is None:
        return None
    if config.get("id") == "pickle":
        return _PickleFilter()
    numcodecs = soft_import("numcodecs", "remote", "reading NWB Zarr stores")
    return numcodecs.get_codec(dict(config))


def _as_reference(value: Any) -> Any:
    if isinstance(value, dict) and "path" in value:
        return Reference(value["path"] if value.get("source", ".") in (".", None) else "")
    return value


def _attr_value(value: Any) -> Any:
    if isinstance(value, dict) and value.get("zarr_dtype") == "object" and "value" in value:
        return _as_reference(value["value"])
    if isinstance(value, list):
        return np.asarray(value, dtype=object if any(isinstance(v, (dict, list)) for v in value)
                          else None)
    return value


class ZarrStore:
    """The objects of one Zarr v2 store, local (a folder) or remote (a base URL).

    The consolidated ``.zmetadata`` is read once; without it a local store is
    listed from its folders (a remote one cannot be listed and is refused).
    """

    def __init__(self, location: str | os.PathLike, opts: RemoteOptions | None = None) -> None:
        self.remote = is_url(location)
        self.location = str(location).rstrip("/") if self.remote \
            else Path(os.fspath(location)).expanduser()
        self.opts = opts or RemoteOptions()
        self.meta: dict[str, Any] | None = None
        raw = self.get_many([".zmetadata"])[".zmetadata"]
        if raw is not None:
            self.meta = json.loads(raw)["metadata"]
        elif self.remote:
            raise FileFormatError(f"{location}: no consolidated .zmetadata, so the remote store "
                                  f"cannot be listed; consolidate it (zarr.consolidate_metadata) "
                                  f"or open a local copy.")
        self.root = ZarrGroup(self, "")

    def __str__(self) -> str:
        return str(self.location)

    def get_many(self, keys: list[str]) -> dict[str, bytes | None]:
        """The bytes of each key (None when missing)."""
        if self.remote:
            return fetch_keys(str(self.location), keys, self.opts)
        out: dict[str, bytes | None] = {}
        for k in keys:
            p = Path(self.location) / k
            out[k] = p.read_bytes() if p.is_file() else None
        return out

    def json(self, key: str) -> dict | None:
        if self.meta is not None:
            return self.meta.get(key)
        raw = self.get_many([key])[key]
        return None if raw is None else json.loads(raw)

    def children(self, path: str) -> list[str]:
        prefix = f"{path}/" if path else ""
        if self.meta is not None:
            names = {k[len(prefix):].split("/", 1)[0] for k in self.meta
                     if k.startswith(prefix) and k.count("/") == prefix.count("/") + 1
                     and k.endswith((".zgroup", ".zarray"))}
            return sorted(names)
        folder = Path(self.location) / path
        return sorted(p.name for p in folder.iterdir()
                      if (p / ".zgroup").is_file() or (p / ".zarray").is_file())

    def node(self, path: str) -> ZarrGroup | ZarrArray | None:
        path = path.strip("/")
        if self.json(f"{path}/.zgroup" if path else ".zgroup") is not None:
            return ZarrGroup(self, path)
        if path and self.json(f"{path}/.zarray") is not None:
            return ZarrArray(self, path)
        return None


class _Node:
    def __init__(self, store: ZarrStore, path: str) -> None:
        self.store, self.path = store, path
        raw = store.json(f"{path}/.zattrs" if path else ".zattrs") or {}
        self._raw_attrs = raw
        self.attrs = {k: _attr_value(v) for k, v in raw.items() if k not in _HIDDEN_ATTRS}

    @property
    def name(self) -> str:
        return "/" + self.path

    @property
    def parent(self) -> ZarrGroup:
        return ZarrGroup(self.store, self.path.rsplit("/", 1)[0] if "/" in self.path else "")

    @property
    def file(self) -> ZarrGroup:
        return self.store.root

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} in {self.store}>"


class ZarrGroup(_Node, Group):
    """A group of an NWB Zarr store, with h5py's mapping interface (links resolved)."""

    def __init__(self, store: ZarrStore, path: str) -> None:
        super().__init__(store, path)
        links = self._raw_attrs.get("zarr_link", []) or []
        self._links = {str(link["name"]): str(link["path"]) for link in links
                       if isinstance(link, dict) and "name" in link and "path" in link
                       and link.get("source", ".") in (".", None)}

    def keys(self) -> list[str]:
        return sorted(set(self.store.children(self.path)) | set(self._links))

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def _resolve(self, key: Any) -> ZarrGroup | ZarrArray | None:
        if isinstance(key, Reference):
            return self.store.node(str(key)) if key else None
        key = str(key)
        if key.startswith("/"):
            return self.store.root._resolve(key.lstrip("/")) if key.strip("/") else self.store.root
        head, _, rest = key.partition("/")
        if head in self._links:
            node = self.store.node(self._links[head])
        elif head in ("", "."):
            node = self
        else:
            node = self.store.node(f"{self.path}/{head}" if self.path else head)
        if not rest or node is None:
            return node
        return node._resolve(rest) if isinstance(node, ZarrGroup) else None

    def __contains__(self, key: Any) -> bool:
        return self._resolve(key) is not None

    def __getitem__(self, key: Any) -> ZarrGroup | ZarrArray:
        node = self._resolve(key)
        if node is None:
            raise KeyError(f"{key!r} not found in {self.name}")
        return node

    def get(self, key: Any, default: Any = None) -> Any:
        node = self._resolve(key)
        return default if node is None else node

    def items(self) -> list[tuple[str, ZarrGroup | ZarrArray]]:
        return [(k, self[k]) for k in self.keys()]

    def values(self) -> list[ZarrGroup | ZarrArray]:
        return [v for _, v in self.items()]

    def visititems(self, func) -> Any:
        """Call ``func(name, node)`` on every group and array below (links not followed)."""
        for key in self.store.children(self.path):
            node = self[key]
            rel = node.path[len(self.path):].lstrip("/")
            out = func(rel, node)
            if out is not None:
                return out
            if isinstance(node, ZarrGroup):
                out = node.visititems(lambda n, o, rel=rel: func(f"{rel}/{n}", o))
                if out is not None:
                    return out
        return None


def _dtype(spec: Any) -> np.dtype:
    if isinstance(spec, list):
        return np.dtype([tuple(x) if len(x) == 2 else (x[0], x[1], tuple(x[2])) for x in spec])
    return np.dtype(spec)


def _selection(key: Any, shape: tuple[int, ...]) -> tuple[list[range], list[bool]]:
    """Normalise an h5py-style key into one range per dimension and which dims are dropped."""
    if key is Ellipsis or (isinstance(key, tuple) and not key):
        key = ()
    key = key if isinstance(key, tuple) else (key,)
    if any(k is Ellipsis for k in key):
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (len(shape) - len(key) + 1) + key[i + 1:]
    if len(key) > len(shape):
        raise IndexError(f"too many indices ({len(key)}) for shape {shape}")
    key = key + (slice(None),) * (len(shape) - len(key))
    ranges, drop = [], []
    for k, n in zip(key, shape):
        if isinstance(k, slice):
            ranges.append(range(*k.indices(n)))
            drop.append(False)
        elif isinstance(k, (int, np.integer)):
            i = int(k) + (n if k < 0 else 0)
            if not 0 <= i < n:
                raise IndexError(f"index {k} is out of range for size {n}")
            ranges.append(range(i, i + 1))
            drop.append(True)
        else:
            raise TypeError(f"unsupported index {k!r} (use integers and slices)")
    return ranges, drop


class ZarrArray(_Node, Dataset):
    """A dataset of an NWB Zarr store: shape, dtype, attributes and chunked, lazy reads."""

    def __init__(self, store: ZarrStore, path: str) -> None:
        super().__init__(store, path)
        meta = store.json(f"{path}/.zarray") or {}
        try:
            self._shape = tuple(int(s) for s in meta["shape"])
            self._chunks = tuple(int(c) for c in meta["chunks"]) or (1,)
            self.dtype = _dtype(meta["dtype"])
            self._compressor = _codec(meta.get("compressor"))
            self._filters = [_codec(c) for c in meta.get("filters") or []]
        except (KeyError, TypeError, ValueError) as err:
            raise FileFormatError(f"{store}: the .zarray of {self.name} is malformed "
                                  f"({type(err).__name__}: {err}).") from None
        self._order = meta.get("order", "C")
        self._sep = meta.get("dimension_separator", ".")
        self._fill = meta.get("fill_value")
        zdt = self._raw_attrs.get("zarr_dtype")
        self._scalar = zdt == "scalar" and self._shape in ((1,), ())
        self.is_reference = zdt == "object" and self.dtype.kind == "O"

    @property
    def shape(self) -> tuple[int, ...]:
        return () if self._scalar else self._shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def chunks(self) -> tuple[int, ...]:
        return self._chunks

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar dataset")
        return self.shape[0]

    def _decode(self, raw: bytes | None, shape: tuple[int, ...]) -> np.ndarray:
        n = int(np.prod(shape, dtype=np.int64))
        if raw is None:
            fill = self._fill if isinstance(self._fill, (int, float)) and self.dtype.kind in "biuf" \
                else 0
            return np.full(shape, fill, dtype=self.dtype) if self.dtype.kind != "O" \
                else np.full(shape, None, dtype=object)
        buf: Any = self._compressor.decode(raw) if self._compressor is not None else raw
        for f in reversed(self._filters):
            buf = f.decode(buf)
        if self.dtype.kind == "O":
            arr = np.asarray(buf, dtype=object).ravel()
            if self.is_reference:
                arr = np.array([_as_reference(v) for v in arr], dtype=object)
        else:
            arr = np.frombuffer(memoryview(buf).cast("B"), dtype=self.dtype)
        if arr.size != n:
            raise FileFormatError(f"{self.store}: a chunk of {self.name} holds {arr.size} values, "
                                  f"not {n}; the store is corrupt.")
        return arr.reshape(shape, order=self._order)

    def _chunk_key(self, idx: tuple[int, ...]) -> str:
        return f"{self.path}/{self._sep.join(map(str, idx)) if idx else '0'}"

    def _read_box(self, lo: list[int], hi: list[int]) -> np.ndarray:
        """Values in the box [lo, hi) of the stored array, fetching the chunks it touches."""
        out = np.empty([h - low for low, h in zip(lo, hi)], dtype=self.dtype)
        if out.size == 0:
            return out
        grids = [range(low // c, (h - 1) // c + 1) for low, h, c in zip(lo, hi, self._chunks)]
        idxs = list(itertools.product(*grids))
        raw = self.store.get_many([self._chunk_key(i) for i in idxs])
        for idx in idxs:
            chunk = self._decode(raw[self._chunk_key(idx)], self._chunks)
            start = [i * c for i, c in zip(idx, self._chunks)]
            src, dst = [], []
            for s, c, low, h in zip(start, self._chunks, lo, hi):
                a, b = max(s, low), min(s + c, h)
                src.append(slice(a - s, b - s))
                dst.append(slice(a - low, b - low))
            out[tuple(dst)] = chunk[tuple(src)]
        return out

    def __getitem__(self, key: Any) -> Any:
        if self._scalar:
            value = self._read_box([0] * len(self._shape), [1] * len(self._shape)).ravel()[0]
            if key == () or key is Ellipsis:
                return value
            raise IndexError(f"{self.name} is a scalar; read it with [()]")
        ranges, drop = _selection(key, self._shape)
        if any(len(r) == 0 for r in ranges):
            shape = [len(r) for r, d in zip(ranges, drop) if not d]
            return np.empty(shape, dtype=self.dtype)
        lo = [min(r[0], r[-1]) for r in ranges]
        hi = [max(r[0], r[-1]) + 1 for r in ranges]
        box = self._read_box(lo, hi)
        sel = tuple(0 if d else slice(r[0] - low, None if r.step < 0 and r[-1] == low
                                      else r[-1] - low + (1 if r.step > 0 else -1), r.step)
                    for r, d, low in zip(ranges, drop, lo))
        return box[sel]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        arr = np.asarray(self[()])
        return arr.astype(dtype) if dtype is not None else arr
