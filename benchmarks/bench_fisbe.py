"""Time and memory of neurodata's FISBe metrics against the FISBe authors' evaluation.

Two volume pairs:

* ``fisbe``: the FISBe-sized benchmark of ../shared/data/README.md, built from
  the real 385 x 685 x 686 prediction ``R14A02-20180905_65_A6.hdf``: GT channel
  k is ``pred == k+1`` shifted by one voxel along x (k = 0..4), and channel 4
  also gets the part of channel 2 with z < 150.  The reference took 464 s and
  18 GB peak there; do not run it on a shared machine (``--reference-on-fisbe``
  forces it).
* ``fisbe-crop``: the same pair cropped to z 50:250, y 250:600, x 250:600
  (24.5 M voxels, parts of seven neurons and the GT overlap), small enough to
  run the reference beside ours on real morphology (about 2.5 GB peak).
* ``synthetic``: a 128 x 256 x 256 pair from ``make_filament_segmentation``
  (6 GT neurons, 6 predictions: one split, one merge); reference about 15 s.

Each implementation runs in its own fresh process, so that its peak resident
memory (``ru_maxrss``, inputs included) is its own.  With ``--reference
CHECKOUT --reference-python PY`` the reference (Kainmueller-Lab
evaluate-instance-segmentation) runs beside ours on the same arrays, values
are compared, and ratios are printed; without it, ratios are against the
recorded reference figures.  The reference's Python needs numpy, scipy,
scikit-image<0.25, h5py, tifffile, toml, natsort, zarr and matplotlib (a
separate virtual environment).  Wall times on a loaded machine are inflated;
CPU times are printed beside them.

Usage::

    PYTHONPATH=$PWD python benchmarks/bench_fisbe.py --pair synthetic \
        --reference ../scratch/evalinstseg --reference-python ../scratch/refvenv/bin/python
    PYTHONPATH=$PWD python benchmarks/bench_fisbe.py --pair fisbe
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEURODATA_SHARED_DATA", ROOT.parent / "shared" / "data"))
HDF = SHARED / "fisbe" / "R14A02-20180905_65_A6.hdf"
DRIVER = ROOT / "benchmarks" / "fisbe_reference_driver.py"
RECORDED = {"fisbe": (464.0, 18e3), "synthetic": (15.0, None)}   # seconds, peak MB
CROP = (slice(50, 250), slice(250, 600), slice(250, 600))
FIELDS = ("S", "avF1", "C", "clDiceTP", "tp", "FS", "FM", "num_gt", "num_pred", "TP_05")


def build_pair(name: str, hdf: Path = HDF) -> tuple[np.ndarray, np.ndarray]:
    """The benchmark's (gt, pred) arrays."""
    if name == "synthetic":
        from neurodata.datasets import make_filament_segmentation

        ds = make_filament_segmentation((128, 256, 256), n_neurons=6, n_splits=1, n_merges=1,
                                        n_false_positives=0, n_small=0, random_state=0)
        return ds.gt.values, ds.pred.values
    import h5py

    z, y, x = CROP if name == "fisbe-crop" else (slice(None),) * 3
    x_read = slice(x.start - 1, x.stop) if x.start else x      # one more column for the shift
    with h5py.File(hdf, "r") as f:
        block = f["volumes/gmm_label_cleaned"][z, y, x_read]   # reads only the crop
    pred = np.ascontiguousarray(block[:, :, 1:]) if x.start else block
    gt = np.zeros((5, *pred.shape), dtype=np.uint8)
    for k in range(5):
        if x.start:
            gt[k] = block[:, :, :-1] == k + 1
        else:
            gt[k, :, :, 1:] = pred[:, :, :-1] == k + 1
    z150 = 150 - (z.start or 0)                                  # the z < 150 overlap
    gt[4, :z150] |= gt[2, :z150]
    return gt, pred


def worker(pair: str, out: Path, rm: int | None, hdf: Path) -> None:
    """Run neurodata once on a pair in this (fresh) process; write JSON."""
    from neurodata.segmentation import fisbe_metrics
    from neurodata.segmentation._thinning import thin_coordinates

    t0 = time.perf_counter()
    thin_coordinates(np.ones((3, 3, 3), bool))      # load (or compile) the numba kernels once
    kernel_load = time.perf_counter() - t0
    gt, pred = build_pair(pair, hdf)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, c0 = time.perf_counter(), time.process_time()
    res = fisbe_metrics(gt, pred, remove_small_components=rm)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()                  # second, traced run: memory the call allocates
    fisbe_metrics(gt, pred, remove_small_components=rm)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    row = res.to_dict()
    row["gt_skel_coverage"] = res.gt_coverage.values.tolist()
    out.write_text(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "kernel_load": kernel_load, "maxrss_mb": peak, "inputs_mb": base,
                               "traced_peak_mb": traced,
                               "input_bytes_mb": (gt.nbytes + pred.nbytes) / 2**20,
                               "metrics": row}, default=float))


def run_ours(pair: str, rm: int | None, hdf: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ours.json"
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        subprocess.run([sys.executable, __file__, "--worker", "--pair", pair, "--out", str(out),
                        "--rm", str(rm or 0), "--hdf", str(hdf)], check=True, env=env)
        return json.loads(out.read_text())


def run_reference(pair: str, rm: int | None, hdf: Path, checkout: str, python: str) -> dict:
    gt, pred = build_pair(pair, hdf)
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        case = Path(tmp) / f"{pair}.npz"
        np.savez(case, gt=gt, pred=pred)
        del gt, pred
        out = Path(tmp) / "ref.json"
        subprocess.run([python, str(DRIVER), checkout, str(out), str(rm or "none"), str(case)],
                       check=True)
        return json.loads(out.read_text())["cases"][pair]


def compare(ours: dict, ref: dict) -> list[str]:
    diffs = [f for f in FIELDS if abs(float(ours[f]) - float(ref[f])) > 1e-6]
    for th, (tp, fp, fn) in ref["TP_FP_FN_per_th"].items():
        if (ours[f"TP_{th}"], ours[f"FP_{th}"], ours[f"FN_{th}"]) != (tp, fp, fn):
            diffs.append(f"TP/FP/FN@{th}")
    cov_o, cov_r = np.asarray(ours["gt_skel_coverage"]), np.asarray(ref["gt_skel_coverage"])
    if cov_o.shape != cov_r.shape or np.abs(cov_o - cov_r).max(initial=0) > 1e-6:
        diffs.append("gt_skel_coverage")
    return diffs


def report(pair: str, rm: int | None, ours: dict, ref: dict | None) -> None:
    m = ours["metrics"]
    print(f"\n== {pair} pair, remove_small_components={rm} ==")
    print(f"neurodata: {ours['seconds']:.2f} s wall ({ours['cpu_seconds']:.2f} s CPU; once per "
          f"process {ours['kernel_load']:.1f} s to load the numba kernels), peak RSS "
          f"{ours['maxrss_mb']:.0f} MB (inputs: {ours['input_bytes_mb']:.0f} MB of arrays, RSS "
          f"{ours['inputs_mb']:.0f} MB after building them; traced peak of the call "
          f"{ours['traced_peak_mb']:.0f} MB)")
    print("  " + ", ".join(f"{f}={m[f]:.6g}" if isinstance(m[f], float) else f"{f}={m[f]}"
                           for f in FIELDS))
    if ref is not None:
        print(f"reference: {ref['seconds']:.2f} s wall ({ref['cpu_seconds']:.2f} s CPU), peak RSS "
              f"{ref['maxrss_mb']:.0f} MB")
        diffs = compare(m, ref)
        print("values: " + ("identical (ints exact, floats within 1e-6)" if not diffs
                            else "DIFFER in " + ", ".join(diffs)))
        print(f"ratio: {ref['seconds'] / ours['seconds']:.1f}x faster wall, "
              f"{ref['cpu_seconds'] / ours['cpu_seconds']:.1f}x less CPU, "
              f"{ref['maxrss_mb'] / ours['maxrss_mb']:.1f}x less peak memory (side by side)")
    if pair not in RECORDED:
        return
    sec, mb = RECORDED[pair]
    line = f"vs recorded reference: {sec / ours['seconds']:.1f}x faster than {sec:.0f} s"
    if mb:
        line += f", {mb / ours['maxrss_mb']:.1f}x less memory than {mb / 1e3:.0f} GB"
    print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pair", choices=["fisbe", "fisbe-crop", "synthetic", "both"],
                    default="both", help="both: synthetic, fisbe-crop and fisbe")
    ap.add_argument("--hdf", type=Path, default=HDF)
    ap.add_argument("--rm", type=int, default=800, help="small-component size (0: none)")
    ap.add_argument("--reference", help="checkout of evaluate-instance-segmentation")
    ap.add_argument("--reference-python", default=sys.executable)
    ap.add_argument("--reference-on-fisbe", action="store_true",
                    help="also run the reference on the full volume (18 GB, ~8 min)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    rm = args.rm or None
    if args.worker:
        worker(args.pair, args.out, rm, args.hdf)
        return
    pairs = ["synthetic", "fisbe-crop", "fisbe"] if args.pair == "both" else [args.pair]
    for pair in pairs:
        if pair.startswith("fisbe") and not args.hdf.exists():
            print(f"skipping the FISBe pair: {args.hdf} not found")
            continue
        ours = run_ours(pair, rm, args.hdf)
        ref = None
        if args.reference and (pair != "fisbe" or args.reference_on_fisbe):
            ref = run_reference(pair, rm, args.hdf, args.reference, args.reference_python)
        elif args.reference:
            print("not running the reference on the full FISBe volume (18 GB peak); "
                  "pass --reference-on-fisbe on a machine of your own")
        report(pair, rm, ours, ref)


if __name__ == "__main__":
    main()
