"""Readers for zarr, HDF5 and TIFF, and the ``neurodata fisbe`` command."""

from __future__ import annotations

import argparse
import csv
import json

import h5py
import numpy as np
import pytest
import tifffile
import zarr

from neurodata.datasets import make_filament_segmentation
from neurodata.errors import FileFormatError, NeurodataError
from neurodata.segmentation import aggregate_fisbe, fisbe_metrics, read_volume
from neurodata.segmentation._cli import find_pairs, register


def write_zarr(path, arrays: dict) -> None:
    root = zarr.open_group(str(path), mode="w")
    for key, arr in arrays.items():
        create = getattr(root, "create_array", None) if int(zarr.__version__.split(".")[0]) >= 3 \
            else root.create_dataset  # zarr 2 and 3 name this differently
        create(key, data=arr)


def write_hdf(path, arrays: dict) -> None:
    with h5py.File(path, "w") as f:
        for key, arr in arrays.items():
            f.create_dataset(key, data=arr, compression="gzip")


@pytest.fixture(scope="module")
def volumes():
    return [make_filament_segmentation((20, 48, 48), n_neurons=2, n_merges=0, random_state=s)
            for s in (0, 1)]


def test_readers_round_trip(tmp_path, volumes) -> None:
    gt, pred = volumes[0].gt.values, volumes[0].pred.values
    write_zarr(tmp_path / "a.zarr", {"volumes/gt_instances": gt, "volumes/raw": pred})
    write_hdf(tmp_path / "a.hdf", {"volumes/gmm_label_cleaned": pred})
    tifffile.imwrite(tmp_path / "a.tif", pred)
    np.testing.assert_array_equal(read_volume(tmp_path / "a.zarr"), gt)     # FISBe default key
    np.testing.assert_array_equal(read_volume(tmp_path / "a.zarr", "volumes/raw"), pred)
    np.testing.assert_array_equal(read_volume(tmp_path / "a.hdf"), pred)   # the only array
    np.testing.assert_array_equal(read_volume(tmp_path / "a.tif"), pred)


def test_reader_errors(tmp_path, volumes) -> None:
    pred = volumes[0].pred.values
    write_hdf(tmp_path / "two.h5", {"x": pred, "y": pred})
    with pytest.raises(FileFormatError, match="2 arrays"):
        read_volume(tmp_path / "two.h5")
    with pytest.raises(FileFormatError, match="no array 'z'"):
        read_volume(tmp_path / "two.h5", "z")
    with pytest.raises(FileFormatError, match="does not exist"):
        read_volume(tmp_path / "missing.zarr")
    (tmp_path / "a.npy").write_bytes(b"")
    with pytest.raises(FileFormatError, match="unknown format"):
        read_volume(tmp_path / "a.npy")
    (tmp_path / "broken.hdf").write_bytes(b"not hdf5")
    with pytest.raises(FileFormatError, match="cannot read"):
        read_volume(tmp_path / "broken.hdf")


def parse(argv):
    parser = argparse.ArgumentParser(prog="neurodata")
    register(parser.add_subparsers())
    return parser.parse_args(["fisbe", *argv])


def test_cli_scores_many_pairs(tmp_path, volumes) -> None:
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    for i, ds in enumerate(volumes):
        write_zarr(tmp_path / "gt" / f"s{i}.zarr", {"volumes/gt_instances": ds.gt.values})
        write_hdf(tmp_path / "pred" / f"s{i}.hdf", {"labels": ds.pred.values})
    out = tmp_path / "table.csv"
    args = parse([str(tmp_path / "gt"), str(tmp_path / "pred"), "-o", str(out),
                  "--no-progress"])
    assert args.func(args) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["sample"] for r in rows] == ["s0", "s1", "dataset"]
    direct = [fisbe_metrics(ds.gt, ds.pred) for ds in volumes]
    for row, res in zip(rows, direct):
        assert float(row["S"]) == pytest.approx(res.S) and int(row["FS"]) == res.FS
    assert float(rows[2]["avF1"]) == pytest.approx(aggregate_fisbe(direct).avF1)

    js = tmp_path / "table.json"
    pairs = [str(tmp_path / "gt" / "s1.zarr"), str(tmp_path / "pred" / "s1.hdf")]
    args = parse([*pairs, "-o", str(js), "--no-progress", "--remove-small-components", "0",
                  "--partly"])
    assert args.func(args) == 0
    table = json.loads(js.read_text())
    assert table[0]["partly"] is True and len(table) == 2
    assert table[0]["S"] == pytest.approx(
        fisbe_metrics(volumes[1].gt, volumes[1].pred, remove_small_components=None,
                      partly=True).S)


def test_cli_errors(tmp_path, capsys) -> None:
    args = parse(["a.zarr", "b.hdf", "c.zarr", "--no-progress"])
    assert args.func(args) == 2
    assert "even number" in capsys.readouterr().err
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    (tmp_path / "pred" / "x.tif").write_bytes(b"")
    with pytest.raises(NeurodataError, match="no ground truth"):
        find_pairs([str(tmp_path / "gt"), str(tmp_path / "pred")])
