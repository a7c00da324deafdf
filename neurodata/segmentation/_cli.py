"""``neurodata fisbe``: score many segmentation volumes against their ground truth."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
import tempfile
from pathlib import Path

from tqdm.auto import tqdm

from neurodata.errors import NeurodataError
from neurodata.segmentation._aggregate import aggregate_fisbe
from neurodata.segmentation._io import HDF_SUFFIXES, TIFF_SUFFIXES, read_volume
from neurodata.segmentation._metrics import fisbe_metrics

__all__ = ["find_pairs", "register", "run"]

SUFFIXES = (".zarr", *HDF_SUFFIXES, *TIFF_SUFFIXES)


def _stem(path: Path) -> str:
    return path.name.split(".")[0]


def _volumes(folder: Path) -> dict[str, Path]:
    return {_stem(p): p for p in sorted(folder.iterdir()) if p.suffix.lower() in SUFFIXES}


def find_pairs(paths: list[str]) -> list[tuple[Path, Path]]:
    """(GT, prediction) pairs from ``GT PRED [GT PRED ...]`` or from two folders.

    Two folders are paired by file name up to the first dot
    (``R14A02.zarr`` with ``R14A02.hdf``); predictions without a GT are an error.

    Examples
    --------
    >>> find_pairs(["a_gt.zarr", "a.hdf", "b_gt.zarr", "b.hdf"])
    [(PosixPath('a_gt.zarr'), PosixPath('a.hdf')), (PosixPath('b_gt.zarr'), PosixPath('b.hdf'))]
    """
    items = [Path(p) for p in paths]
    if len(items) == 2 and all(p.is_dir() and p.suffix.lower() != ".zarr" for p in items):
        gts, preds = _volumes(items[0]), _volumes(items[1])
        missing = sorted(set(preds) - set(gts))
        if missing:
            raise NeurodataError(f"no ground truth in {items[0]} for: {', '.join(missing)}.")
        if not preds:
            raise NeurodataError(f"{items[1]} holds no .zarr, .hdf or .tif volume.")
        return [(gts[name], preds[name]) for name in sorted(preds)]
    if len(items) % 2:
        raise NeurodataError(f"give GT PRED pairs (an even number of paths) or two folders; "
                             f"got {len(items)} paths.")
    return list(zip(items[0::2], items[1::2]))


def _partly_names(path: str | None) -> set[str]:
    if path is None:
        return set()
    lines = Path(path).read_text().splitlines()
    return {ln.strip() for ln in lines if ln.strip() and not ln.strip().endswith(":")}


def _write(rows: list[dict], out: str | None, fmt: str) -> None:
    if fmt == "json":
        clean = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                 for r in rows]
        text = json.dumps(clean, indent=1)
    else:
        buf = io.StringIO()
        fields = list(dict.fromkeys(k for r in rows for k in r))
        writer = csv.DictWriter(buf, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
        text = buf.getvalue()
    if out is None:
        sys.stdout.write(text)
        return
    target = Path(out)
    fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, target)


def run(args: argparse.Namespace) -> int:
    """Score every pair and write the table; returns the exit code."""
    try:
        pairs = find_pairs(args.paths)
        partly_names = _partly_names(args.partly_list)
        rows, results = [], []
        for gt_path, pred_path in tqdm(pairs, desc="fisbe", disable=args.no_progress):
            partly = args.partly or _stem(pred_path) in partly_names
            res = fisbe_metrics(read_volume(gt_path, args.gt_key),
                                read_volume(pred_path, args.pred_key),
                                remove_small_components=args.remove_small_components or None,
                                partly=partly)
            results.append(res)
            rows.append({"sample": _stem(pred_path), "gt": str(gt_path),
                         "pred": str(pred_path), **res.to_dict()})
        if results:
            rows.append({"sample": "dataset", "gt": "", "pred": "",
                         **aggregate_fisbe(results).to_dict()})
        fmt = args.format or ("json" if str(args.output or "").endswith(".json") else "csv")
        _write(rows, args.output, fmt)
    except NeurodataError as err:
        print(f"neurodata fisbe: {err}", file=sys.stderr)
        return 2
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``fisbe`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser(
        "fisbe", help="FISBe instance-segmentation metrics of prediction volumes",
        description="Score predicted instance segmentations against ground truth with the "
                    "FISBe metrics (avF1, C, S, clDiceTP, tp, FS, FM). One row per pair and "
                    "a final 'dataset' row pooled over all pairs.")
    p.add_argument("paths", nargs="+", metavar="GT PRED",
                   help="GT PRED [GT PRED ...] files (.zarr, .hdf/.h5, .tif), or a GT folder "
                        "and a prediction folder paired by file name")
    p.add_argument("--gt-key", default=None, help="array in GT zarr/HDF5 files "
                   "(default: volumes/gt_instances, or the only array)")
    p.add_argument("--pred-key", default=None, help="array in prediction zarr/HDF5 files")
    p.add_argument("--remove-small-components", type=int, default=800, metavar="N",
                   help="drop predicted instances of at most N voxels (default 800; 0: keep all)")
    p.add_argument("--partly", action="store_true", help="all GT volumes are partly labelled")
    p.add_argument("--partly-list", metavar="FILE",
                   help="text file naming the partly labelled samples, one per line")
    p.add_argument("-o", "--output", help="write the table here (.csv or .json); default stdout")
    p.add_argument("--format", choices=["csv", "json"], help="table format (default: from "
                   "the output suffix, else csv)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)
    return p
