"""Record the FISBe reference evaluation's values on the synthetic test cases.

Usage (from the repository root)::

    PYTHONPATH=$PWD python benchmarks/make_fisbe_reference_values.py REFPYTHON REFCHECKOUT

REFPYTHON is a Python with the reference's dependencies (numpy, scipy,
scikit-image<0.25, h5py, tifffile, toml, natsort, zarr, matplotlib) and
REFCHECKOUT a checkout of Kainmueller-Lab/evaluate-instance-segmentation.
Writes tests/segmentation/data/reference_synthetic.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tests.segmentation._cases import CASES, COMPLETE, build_case

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "benchmarks" / "fisbe_reference_driver.py"
OUT = ROOT / "tests" / "segmentation" / "data" / "reference_synthetic.json"


def run(refpython: str, checkout: str, rm: str, paths: list[Path]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        subprocess.run([refpython, str(DRIVER), checkout, str(out), rm, *map(str, paths)],
                       check=True)
        return json.loads(out.read_text())


def main() -> None:
    refpython, checkout = sys.argv[1], sys.argv[2]
    result: dict = {"about": "Values of the FISBe reference evaluation (evalinstseg cc34f4d, "
                             "scikit-image 0.24, greedy clDice, fm 0.1, fs 0.05) on the cases "
                             "of tests/segmentation/_cases.py."}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name in CASES:
            gt, pred, partly = build_case(name)
            paths[name] = Path(tmp) / f"{name}.npz"
            np.savez_compressed(paths[name], gt=gt, pred=pred, partly=partly)
        for rm in ("800", "none"):
            every = run(refpython, checkout, rm, [paths[n] for n in CASES])
            complete = run(refpython, checkout, rm, [paths[n] for n in COMPLETE])
            for case in every["cases"].values():
                case.pop("seconds")
                case.pop("cpu_seconds")
                case.pop("maxrss_mb")
            result[f"rm_{rm}"] = {"cases": every["cases"], "dataset_mixed": every["dataset"],
                                  "dataset_complete": complete["dataset"]}
    OUT.write_text(json.dumps(result, indent=1))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
