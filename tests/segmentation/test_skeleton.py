"""Thinning inside padded bounding boxes equals thinning the full volume."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.morphology import skeletonize

from neurodata.datasets import make_filament_segmentation
from neurodata.segmentation._labels import as_label_volume, index_instances
from neurodata.segmentation._skeleton import instance_skeletons, padded_box


def full_volume_skeleton(mask: np.ndarray) -> np.ndarray:
    return skeletonize(mask)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_box_skeleton_equals_full_volume_skeleton(seed: int) -> None:
    ds = make_filament_segmentation((20, 40, 48), n_neurons=3, radius=2.0, random_state=seed)
    for vol in (as_label_volume(ds.pred.values, "pred"), as_label_volume(ds.gt.values, "gt")):
        inst = index_instances(vol)
        skels = instance_skeletons(vol, inst)
        for i, coords in enumerate(skels):
            mask = vol[inst.channel[i]] == inst.label[i]
            expected = np.nonzero(full_volume_skeleton(mask))
            for got, want in zip(coords, expected):
                np.testing.assert_array_equal(got, want)
            assert mask[coords].all()           # centerlines lie inside their mask


def test_box_skeleton_touching_the_volume_border() -> None:
    rng = np.random.default_rng(3)
    vol = np.zeros((1, 12, 16, 16), np.uint8)
    vol[0, :, 4:9, :] = 1                       # a slab that touches four faces
    vol[0, rng.random(vol.shape[1:]) < 0.05] = 2
    inst = index_instances(vol)
    for i, coords in enumerate(instance_skeletons(vol, inst)):
        mask = vol[0] == inst.label[i]
        np.testing.assert_array_equal(np.stack(coords), np.stack(np.nonzero(skeletonize(mask))))


def test_padded_box_is_clipped() -> None:
    box = padded_box((slice(0, 3), slice(5, 10), slice(2, 4)), (3, 10, 5), pad=2)
    assert box == (slice(0, 3), slice(3, 10), slice(0, 5))


def random_shapes(seed: int, n: int):
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    for _ in range(n):
        shape = tuple(int(s) for s in rng.integers(1, 12, 3))
        mask = rng.random(shape) < rng.uniform(0.05, 0.7)
        if rng.random() < 0.5:
            mask = ndi.binary_dilation(mask, iterations=int(rng.integers(1, 3)))
        yield mask
    yield np.ones((6, 7, 8), bool)
    yield np.ones((1, 9, 9), bool)                  # one plane: four sweep directions


def test_numba_thinning_equals_scikit_image() -> None:
    from neurodata.segmentation._thinning import HAVE_NUMBA, thin_coordinates

    if not HAVE_NUMBA:
        pytest.skip("numba is not installed; thinning falls back to scikit-image")
    shapes = list(random_shapes(0, 80))
    ds = make_filament_segmentation((20, 40, 40), radius=3.0, random_state=8)
    shapes += [g > 0 for g in ds.gt.values]
    for mask in shapes:
        expected = np.stack(np.nonzero(skeletonize(mask)))
        np.testing.assert_array_equal(np.stack(thin_coordinates(mask)), expected)
