"""Synthetic filament segmentations with planted errors, for the FISBe metrics."""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurodata.errors import NeurodataError

__all__ = ["make_filament_segmentation"]


def _ball(radius: float) -> np.ndarray:
    r = int(np.ceil(radius))
    grid = np.mgrid[-r:r + 1, -r:r + 1, -r:r + 1].reshape(3, -1).T
    return grid[(grid ** 2).sum(1) <= radius ** 2]


def _curve(rng: np.random.Generator, shape: tuple[int, ...], margin: float) -> np.ndarray:
    """Dense samples (about 0.4 voxel apart) of a smooth curve crossing the volume."""
    hi = np.array(shape, float) - 1 - margin
    lo = np.full(3, margin)
    axis = rng.integers(1, 3)                      # run along y or x: long neurons
    a, b = rng.uniform(lo, hi), rng.uniform(lo, hi)
    a[axis], b[axis] = lo[axis], hi[axis]
    if rng.random() < 0.5:
        a, b = b, a
    length = np.linalg.norm(b - a) * 1.6
    t = np.linspace(0.0, 1.0, max(int(length / 0.4), 2))[:, None]
    bend = np.zeros((t.shape[0], 3))
    for k in (1, 2, 3):
        amp = rng.normal(0.0, 0.12 / k, 3) * (hi - lo)
        bend += np.sin(k * np.pi * t) * amp
    return np.clip(a + t * (b - a) + bend, lo, hi)


def _tube(points: np.ndarray, radius: float, shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    centres = np.unique(np.rint(points).astype(np.int64), axis=0)
    vox = (centres[:, None, :] + _ball(radius)[None]).reshape(-1, 3)
    vox = vox[np.all((vox >= 0) & (vox < np.array(shape)), axis=1)]
    mask[tuple(vox.T)] = True
    return mask


def _check(shape, n_neurons, n_splits, n_merges) -> None:
    if len(shape) != 3 or min(shape) < 8:
        raise NeurodataError(f"shape must be (Z, Y, X) with every axis >= 8; got {shape}.")
    if n_neurons < 1 or n_splits < 0 or n_merges < 0:
        raise NeurodataError("n_neurons must be >= 1 and n_splits, n_merges >= 0.")
    if n_splits + 2 * n_merges > n_neurons:
        raise NeurodataError(f"each split needs its own neuron and each merge two: "
                             f"n_splits + 2 n_merges = {n_splits + 2 * n_merges} > "
                             f"n_neurons = {n_neurons}.")


def make_filament_segmentation(shape: tuple[int, int, int] = (40, 128, 128), n_neurons: int = 4,
                               *, radius: float = 2.5, n_splits: int = 1, n_merges: int = 1,
                               n_false_positives: int = 1, n_small: int = 1,
                               random_state=None) -> xr.Dataset:
    """Tubes along random smooth curves as GT, and a prediction with planted errors.

    Each GT neuron is a tube of ``radius`` voxels around a random smooth curve
    that runs from one side of the volume to the other (along y or x), one
    binary channel per neuron; tubes may cross, so channels may overlap.  The
    prediction is a label image with non-sequential ids: every neuron gets its
    own label except that ``n_splits`` neurons are cut in two labels,
    ``n_merges`` pairs of neurons share one label joined by a bridge tube,
    ``n_false_positives`` tubes lie where no GT neuron is, and ``n_small`` tiny
    blobs (fewer than 800 voxels) are added for the small-component filter.
    Where neurons cross, the later neuron's label wins.

    Parameters
    ----------
    shape : tuple of int
        (Z, Y, X) volume shape.
    n_neurons : int
        Number of GT neurons.
    radius : float
        Tube radius in voxels.
    n_splits, n_merges, n_false_positives, n_small : int
        Planted errors.
    random_state : int, Generator or None
        Seed.

    Returns
    -------
    xarray.Dataset
        ``gt`` (neuron, z, y, x) uint8, ``pred`` (z, y, x) uint16, coordinates
        ``neuron_split`` and ``neuron_merged`` (neuron) saying which neurons
        carry a planted error, and ``pred_kind`` on ``pred_label`` saying what
        each predicted label is (``neuron``, ``split``, ``merge``,
        ``false_positive``, ``small``).

    Examples
    --------
    >>> ds = make_filament_segmentation(random_state=0)
    >>> ds.gt.dims, ds.pred.dims
    (('neuron', 'z', 'y', 'x'), ('z', 'y', 'x'))
    >>> int(ds.neuron_split.sum()), int(ds.neuron_merged.sum())
    (1, 2)
    >>> sorted(set(ds.pred_kind.values.tolist()))
    ['false_positive', 'merge', 'neuron', 'small', 'split']
    """
    shape = (int(shape[0]), int(shape[1]), int(shape[2])) if len(shape) == 3 else tuple(shape)
    _check(shape, n_neurons, n_splits, n_merges)
    rng = np.random.default_rng(random_state)
    margin = radius + 1.0
    curves = [_curve(rng, shape, margin) for _ in range(n_neurons)]
    gt = np.stack([_tube(c, radius, shape) for c in curves]).astype(np.uint8)
    n_labels = n_neurons + n_splits + n_false_positives + n_small
    ids = rng.choice(np.arange(1, 60000), size=n_labels, replace=False).astype(np.uint16)
    order = rng.permutation(n_neurons)
    split = order[:n_splits]
    merge = order[n_splits:n_splits + 2 * n_merges].reshape(-1, 2)
    pred = np.zeros(shape, np.uint16)
    kinds: dict[int, str] = {}
    for k in range(n_false_positives):          # drawn first: neurons win where they meet
        lab = ids[n_neurons + n_splits + k]
        pred[_tube(_curve(rng, shape, margin), radius, shape)] = lab
        kinds[int(lab)] = "false_positive"
    for k in range(n_neurons):
        pred[gt[k] > 0] = ids[k]
        kinds[int(ids[k])] = "neuron"
    for j, k in enumerate(split):
        cut = int(len(curves[k]) * rng.uniform(0.4, 0.6))
        second = _tube(curves[k][cut:], radius, shape) & (gt[k] > 0)
        second &= ~_tube(curves[k][:cut], radius, shape)
        pred[second] = ids[n_neurons + j]
        kinds[int(ids[n_neurons + j])] = "split"
    for a, b in merge:
        d = np.linalg.norm(curves[a][:, None, :] - curves[b][None, ::4, :], axis=2)
        ia, ib = np.unravel_index(np.argmin(d), d.shape)
        bridge = np.linspace(curves[a][ia], curves[b][4 * ib], 50)
        pred[_tube(bridge, radius, shape) | (pred == ids[b])] = ids[a]
        kinds[int(ids[a])] = "merge"
        kinds.pop(int(ids[b]), None)
    for k in range(n_small):
        lab = ids[n_labels - n_small + k]
        centre = rng.uniform(margin, np.array(shape) - 1 - margin)
        blob = _tube(centre[None], 2.0, shape) & (pred == 0)
        pred[blob] = lab
        kinds[int(lab)] = "small"
    labels = np.array(sorted(lab for lab in kinds if np.any(pred == lab)), dtype=np.uint16)
    merged = np.zeros(n_neurons, bool)
    merged[merge.ravel()] = True
    return xr.Dataset(
        {"gt": (("neuron", "z", "y", "x"), gt), "pred": (("z", "y", "x"), pred)},
        coords={"neuron": np.arange(n_neurons), "neuron_split": ("neuron", np.isin(
            np.arange(n_neurons), split)), "neuron_merged": ("neuron", merged),
            "pred_label": labels, "pred_kind": ("pred_label", [kinds[int(v)] for v in labels])},
        attrs={"radius": radius, "random_state": str(random_state)})
