"""Label volumes: input checks, instance indexing and sparse label look-ups.

A *label volume* is a ``(C, Z, Y, X)`` array of non-negative integer labels:
one channel per binary mask or label image, channels may overlap.  The FISBe
evaluation numbers instances channel by channel, and inside a channel by
increasing label value, from 1 upwards; background is 0.  A label whose voxels
are disconnected stays one instance.

Nothing here copies a full volume in a wide integer type: label counts and
overlap checks run over slabs of z-planes (only their nonzero voxels are
gathered, for counts and bounding boxes alike), and the instance id of a voxel is looked
up through a table only at the (few) voxels that are asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from neurodata.errors import ShapeError

__all__ = ["Instances", "as_label_volume", "index_instances", "instance_overlap"]

#: label values up to this use a dense look-up table; larger ids use searchsorted.
DENSE_MAX = 1 << 22
#: voxels per slab when a whole volume is scanned.
SLAB_VOXELS = 1 << 22
SPATIAL = ("z", "y", "x")


def _slabs(shape: tuple[int, ...]) -> Iterator[slice]:
    plane = int(np.prod(shape[1:])) or 1
    step = max(1, SLAB_VOXELS // plane)
    for z0 in range(0, shape[0], step):
        yield slice(z0, min(z0 + step, shape[0]))


def _from_dataarray(x: xr.DataArray, name: str) -> np.ndarray:
    missing = [d for d in SPATIAL if d not in x.dims]
    if missing:
        raise ShapeError(f"{name} must have dims ('z', 'y', 'x') and optionally one channel "
                         f"dim; got {tuple(x.dims)}. Rename with {name}.rename(...).")
    other = [d for d in x.dims if d not in SPATIAL]
    if len(other) > 1:
        raise ShapeError(f"{name} may have one channel dim besides ('z', 'y', 'x'); got "
                         f"{tuple(x.dims)}. Select or stack the extra dims first.")
    return np.asarray(x.transpose(*other, *SPATIAL).values)


def _integral_copy(arr: np.ndarray, name: str) -> np.ndarray:
    for sl in _slabs(arr.shape[1:]):
        slab = arr[:, sl]
        if not np.all(np.isfinite(slab)) or np.any(slab != np.floor(slab)):
            raise ShapeError(f"{name} holds non-integer float labels; instance labels must be "
                             f"integers. Round or relabel them (e.g. with skimage.measure.label).")
    top = float(arr.max()) if arr.size else 0.0
    if top > np.iinfo(np.uint64).max:
        raise ShapeError(f"{name} has labels up to {top:g}, beyond uint64; relabel it first.")
    dtype = np.min_scalar_type(int(top)) if top >= 0 else np.int64
    out = np.empty(arr.shape, dtype=dtype)
    for sl in _slabs(arr.shape[1:]):
        out[:, sl] = arr[:, sl]
    return out


def as_label_volume(x, name: str) -> np.ndarray:
    """Return ``x`` as a ``(C, Z, Y, X)`` integer array, without copying where possible.

    ``x`` is a numpy array or anything array-like of shape ``(Z, Y, X)`` (one
    label image) or ``(C, Z, Y, X)`` (one mask or label image per channel), or a
    DataArray with dims ``z``, ``y``, ``x`` and at most one more (the channel).
    Booleans are viewed as uint8; float arrays whose values are all integers
    are converted (the only case that copies); everything else is refused with
    a :class:`~neurodata.errors.ShapeError`.

    Examples
    --------
    >>> as_label_volume(np.zeros((4, 5, 6), np.uint16), "pred").shape
    (1, 4, 5, 6)
    >>> as_label_volume(np.zeros((5, 6), np.uint16), "pred")
    Traceback (most recent call last):
    ...
    neurodata.errors.ShapeError: pred must be a 3D volume (Z, Y, X) or a stack (C, Z, Y, X); got a 2D array of shape (5, 6). ...
    """
    arr = _from_dataarray(x, name) if isinstance(x, xr.DataArray) else np.asarray(x)
    if arr.ndim == 3:
        arr = arr[np.newaxis]
    if arr.ndim != 4:
        raise ShapeError(
            f"{name} must be a 3D volume (Z, Y, X) or a stack (C, Z, Y, X); got a "
            f"{arr.ndim}D array of shape {arr.shape}. FISBe metrics are 3D (Lee thinning); "
            f"for a single 2D image add a z axis with {name}[np.newaxis], knowing that "
            f"3D thinning of one plane differs from 2D skeletonization.")
    if min(arr.shape[1:]) == 0:
        raise ShapeError(f"{name} has an empty spatial axis: shape {arr.shape}.")
    if arr.dtype == bool:
        return arr.view(np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        return _integral_copy(arr, name)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ShapeError(f"{name} must hold integer labels; got dtype {arr.dtype}.")
    if np.issubdtype(arr.dtype, np.signedinteger) and arr.size and arr.min() < 0:
        raise ShapeError(f"{name} has negative labels (min {arr.min()}); labels must be >= 0 "
                         f"with 0 for background.")
    return arr


@dataclass
class _Channel:
    labels: np.ndarray          # kept label values, ascending
    ids: np.ndarray             # their instance ids
    lut: np.ndarray | None      # dense table value -> id, or None (use searchsorted)


@dataclass
class Instances:
    """Instances of a label volume, numbered as the FISBe evaluation numbers them.

    Instance ``i`` (1-based) is ``label[i-1]`` in channel ``channel[i-1]``;
    ``size`` counts its voxels and ``boxes`` holds its bounding box.
    """

    channel: np.ndarray
    label: np.ndarray
    size: np.ndarray
    boxes: list[tuple[slice, ...]]
    removed: int = 0
    channels: list[_Channel] = field(default_factory=list, repr=False)

    @property
    def n(self) -> int:
        """Number of instances."""
        return int(self.channel.size)

    def ids(self, c: int, values: np.ndarray) -> np.ndarray:
        """Instance ids (0 for background or removed) of label ``values`` in channel ``c``."""
        ch = self.channels[c]
        if ch.lut is not None:
            return ch.lut[values]
        out = np.zeros(values.shape, dtype=np.int64)
        if ch.labels.size:
            pos = np.clip(np.searchsorted(ch.labels, values), 0, ch.labels.size - 1)
            hit = ch.labels[pos] == values
            out[hit] = ch.ids[pos[hit]]
        return out

    def ids_at(self, vol: np.ndarray, coords: tuple[np.ndarray, ...]) -> np.ndarray:
        """``(C, N)`` instance ids of every channel at voxel coordinates ``coords``."""
        out = np.zeros((vol.shape[0], coords[0].size), dtype=np.int64)
        for c in range(vol.shape[0]):
            out[c] = self.ids(c, vol[c][coords])
        return out


def _group_extents(keys: np.ndarray, coords: list[np.ndarray], n: int) -> np.ndarray:
    """(n, 3, 2) min/max of each coordinate per key in 0..n-1 (empty: max < min)."""
    ext = np.empty((n, 3, 2), dtype=np.int64)
    ext[:, :, 0] = np.iinfo(np.int64).max
    ext[:, :, 1] = -1
    for a, c in enumerate(coords):
        np.minimum.at(ext[:, a, 0], keys, c)
        np.maximum.at(ext[:, a, 1], keys, c)
    return ext


def _scan_channel(ch: np.ndarray) -> tuple[np.ndarray, np.ndarray, list]:
    """Present nonzero labels, their voxel counts and bounding boxes, in one pass.

    Only the nonzero voxels of each slab of z-planes are looked at, so sparse
    neurons cost little more than one read of the channel.
    """
    top = int(ch.max())
    if top >= 2**63:
        raise ShapeError(f"labels up to {top} do not fit int64; relabel the volume first.")
    dense = top <= DENSE_MAX
    plane, width = ch.shape[1] * ch.shape[2], ch.shape[2]
    counts = np.zeros(top + 1 if dense else 0, dtype=np.int64)
    ext = _group_extents(np.zeros(0, np.intp), [np.zeros(0)] * 3, top + 1 if dense else 0)
    merged: dict[int, list] = {}
    for sl in _slabs(ch.shape) if top else ():
        flat = ch[sl].reshape(-1)
        idx = np.flatnonzero(flat)
        if idx.size == 0:
            continue
        vals = flat[idx]
        z, rem = np.divmod(idx, plane)
        coords = [z + sl.start, *np.divmod(rem, width)]
        if dense:
            keys = vals.astype(np.intp)
            counts += np.bincount(keys, minlength=top + 1)
            part = _group_extents(keys, coords, top + 1)
            ext[:, :, 0] = np.minimum(ext[:, :, 0], part[:, :, 0])
            ext[:, :, 1] = np.maximum(ext[:, :, 1], part[:, :, 1])
            continue
        uniq, inv = np.unique(vals, return_inverse=True)
        part = _group_extents(inv, coords, uniq.size)
        for v, n, e in zip(uniq.tolist(), np.bincount(inv).tolist(), part):
            old = merged.get(v)
            merged[v] = [n, e] if old is None else [old[0] + n, np.stack(
                [np.minimum(old[1][:, 0], e[:, 0]), np.maximum(old[1][:, 1], e[:, 1])], 1)]
    if dense:
        labels = np.flatnonzero(counts[1:]) + 1
        counts, ext = counts[labels], ext[labels]
    else:
        labels = np.array(sorted(merged), dtype=np.int64)
        counts = np.array([merged[v][0] for v in labels.tolist()], dtype=np.int64)
        ext = np.array([merged[v][1] for v in labels.tolist()]).reshape(-1, 3, 2)
    boxes = [tuple(slice(int(lo), int(hi) + 1) for lo, hi in e) for e in ext]
    return labels.astype(np.int64), counts, boxes


def index_instances(vol: np.ndarray, min_size: int | None = None) -> Instances:
    """Number the instances of a ``(C, Z, Y, X)`` label volume, dropping small ones.

    Instances of at most ``min_size`` voxels are treated as background (as the
    reference's ``remove_small_components`` does); the rest are numbered from 1,
    channel by channel, by increasing label value.

    Examples
    --------
    >>> vol = np.zeros((2, 3, 4, 4), np.uint16)
    >>> vol[0, 0, 0, :] = 7; vol[0, 2, 3, 3] = 3; vol[1, 1, 1:3, 1] = 1
    >>> inst = index_instances(vol)
    >>> inst.channel.tolist(), inst.label.tolist(), inst.size.tolist()
    ([0, 0, 1], [3, 7, 1], [1, 4, 2])
    >>> index_instances(vol, min_size=1).label.tolist()
    [7, 1]
    """
    chans: list[_Channel] = []
    channel: list[np.ndarray] = []
    label: list[np.ndarray] = []
    size: list[np.ndarray] = []
    boxes: list[tuple[slice, ...]] = []
    offset, removed = 0, 0
    for c in range(vol.shape[0]):
        ch = vol[c]
        labels, counts, found = _scan_channel(ch)
        top = int(labels.max()) if labels.size else 0
        keep = counts > min_size if min_size else np.ones(labels.size, bool)
        removed += int((~keep).sum())
        labels, counts = labels[keep], counts[keep]
        ids = np.arange(offset + 1, offset + 1 + labels.size, dtype=np.int64)
        lut = None
        if top <= DENSE_MAX:
            lut = np.zeros(top + 1, dtype=np.int64)
            lut[labels] = ids
        chans.append(_Channel(labels=labels, ids=ids, lut=lut))
        boxes.extend(b for b, k in zip(found, keep) if k)
        channel.append(np.full(labels.size, c, dtype=np.int64))
        label.append(labels)
        size.append(counts)
        offset += labels.size
    return Instances(channel=np.concatenate(channel), label=np.concatenate(label),
                     size=np.concatenate(size), boxes=boxes, removed=removed, channels=chans)


def instance_overlap(vol: np.ndarray, inst: Instances) -> bool:
    """True if some voxel belongs to instances of two channels.

    Examples
    --------
    >>> vol = np.zeros((2, 1, 2, 2), np.uint8)
    >>> vol[0, 0, 0, :] = 1; vol[1, 0, :, 0] = 1
    >>> instance_overlap(vol, index_instances(vol))
    True
    >>> instance_overlap(vol[:1], index_instances(vol[:1]))
    False
    """
    if vol.shape[0] < 2:
        return False
    for sl in _slabs(vol.shape[1:]):
        hits = np.zeros(vol[0][sl].shape, dtype=np.uint16)
        for c in range(vol.shape[0]):
            slab = vol[c][sl]
            hits += (inst.ids(c, slab) > 0) if inst.removed else (slab != 0)
        if np.any(hits > 1):
            return True
    return False
