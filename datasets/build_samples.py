"""Build the sample NWB files shipped in neurodata/datasets/data and their registry.

Run from the repository root:  python datasets/build_samples.py [NAME ...]
(without names every sample is rebuilt; with names only those, and the other
entries of the registry are kept as they are).
The samples are synthetic (seeded generators with known ground truth), so the
recordings are reproducible; the files' sha256 changes between builds because
NWB stores creation dates and object ids.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neurodata.datasets import (  # noqa: E402
    make_adaptation_trials,
    make_calcium_imaging,
    make_poisson_population,
)
from neurodata.io import save_nwb  # noqa: E402
from neurodata.io._h5 import file_sha256  # noqa: E402

DATA = ROOT / "neurodata" / "datasets" / "data"

SAMPLES = {
    "sample_session": (
        lambda: make_poisson_population(random_state=0),
        "24 orientation-tuned Poisson units, 40 trials of 8 orientations, running speed",
        "neurodata.datasets.make_poisson_population(random_state=0)",
    ),
    "sample_imaging": (
        lambda: make_calcium_imaging(random_state=0),
        "30 ROIs x 1200 frames at 10 Hz of fluorescence and neuropil with known calcium events",
        "neurodata.datasets.make_calcium_imaging(random_state=0)",
    ),
    "sample_adaptation": (
        lambda: make_adaptation_trials(48, n_trials=300, peak_rate=20.0, tuning_kappa=1.5,
                                       recurrent_strength=0.6, recurrent_kappa=3.0,
                                       baseline=0.2, random_state=0),
        "48 V1-like units, 300 gratings each from a uniform and a biased ensemble (adapter 0 deg, "
        "p 0.3), spike trains from a known gain-control network (gains on the total input)",
        "neurodata.datasets.make_adaptation_trials(48, n_trials=300, peak_rate=20.0, "
        "tuning_kappa=1.5, recurrent_strength=0.6, recurrent_kappa=3.0, baseline=0.2, "
        "random_state=0)",
    ),
}


def main(names: list[str]) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    unknown = sorted(set(names) - set(SAMPLES))
    if unknown:
        raise SystemExit(f"unknown samples {unknown}; known: {sorted(SAMPLES)}")
    registry: dict = {"samples": {}}
    if names and (DATA / "registry.json").exists():
        registry = json.loads((DATA / "registry.json").read_text())
    for name, (make, description, source) in SAMPLES.items():
        if names and name not in names:
            continue
        path = DATA / f"{name}.nwb"
        save_nwb(make(), path, overwrite=True)
        registry["samples"][name] = {
            "file": path.name, "description": description, "source": source,
            "sha256": file_sha256(path), "size": path.stat().st_size,
        }
        print(f"{name}: {path.stat().st_size / 1e6:.2f} MB")
    (DATA / "registry.json").write_text(json.dumps(registry, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
