"""Build the sample NWB files shipped in neurodata/datasets/data and their registry.

Run from the repository root:  python datasets/build_samples.py [name ...]
(without names every sample is rebuilt; with names only those, and the registry keeps
the other entries as they are).
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

import numpy as np  # noqa: E402

from neurodata.datasets import (  # noqa: E402
    make_calcium_imaging,
    make_field_recording,
    make_poisson_population,
)
from neurodata.field_theory import GaussianPointSpread  # noqa: E402
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
    "sample_field": (
        lambda: make_field_recording((6, 6), (48, 48), duration=10.0, dt=2e-3, sensor_noise=2e-5,
                                     observation=GaussianPointSpread(width=0.4),
                                     dtype=np.float32, random_state=0),
        "ECoG-like 6 x 6 electrode grid (1 mm pitch, positions in the electrodes table, "
        "Gaussian point spread of 0.4 mm) over a simulated cortical field (m = 2 pi 8 /s, "
        "c = 200 mm/s, gamma = 40 /s; 48 x 48 lattice, spacing 0.5 mm), 10 s at 500 Hz",
        "neurodata.datasets.make_field_recording((6, 6), (48, 48), duration=10.0, dt=2e-3, "
        "sensor_noise=2e-5, observation=GaussianPointSpread(width=0.4), dtype=np.float32, "
        "random_state=0)",
    ),
}


def main(names: list[str]) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / "registry.json"
    registry: dict = json.loads(path.read_text()) if names and path.exists() else {"samples": {}}
    unknown = set(names) - set(SAMPLES)
    if unknown:
        raise SystemExit(f"unknown samples {sorted(unknown)}; known: {sorted(SAMPLES)}")
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
