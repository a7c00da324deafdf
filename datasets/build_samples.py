"""Build the sample NWB files shipped in neurodata/datasets/data and their registry.

Run from the repository root:  python datasets/build_samples.py [NAME ...]
(all samples, or only those named: the others keep their files and entries).
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
    make_calcium_imaging,
    make_motor_teacher,
    make_poisson_population,
    make_retina_population,
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
    "sample_reaches": (
        lambda: make_motor_teacher(40, n_conditions=8, dt=0.005, duration=0.4,
                                   prep_duration=0.1, n_repeats=10, spikes=True,
                                   random_state=0).drop_vars("rates"),
        "Motor-cortex-like circuit (40 units of a stability-optimised network): spike trains "
        "of 10 reaches in each of 8 directions, EMG-like outputs and the reach cue (the "
        "noise-free rates are left out)",
        "neurodata.datasets.make_motor_teacher(40, n_conditions=8, dt=0.005, duration=0.4, "
        "prep_duration=0.1, n_repeats=10, spikes=True, random_state=0).drop_vars('rates')",
    ),
    "sample_retina": (
        lambda: make_retina_population(48, 6, n_frames=1200, stimulus_shape=(8, 7, 7),
                                       random_state=0).drop_vars("true_rate"),
        "Synthetic retina: 48 ganglion cells of 6 known functional types (units table), their "
        "spike trains during 40 s of a 7 x 7 white-noise movie at 30 Hz, and the ground-truth "
        "filters",
        "neurodata.datasets.make_retina_population(48, 6, n_frames=1200, "
        "stimulus_shape=(8, 7, 7), random_state=0).drop_vars('true_rate')",
    ),
}


def main(names: list[str]) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    unknown = sorted(set(names) - set(SAMPLES))
    if unknown:
        raise SystemExit(f"unknown samples {unknown}; known: {sorted(SAMPLES)}")
    index = DATA / "registry.json"
    registry: dict = json.loads(index.read_text()) if names and index.exists() \
        else {"samples": {}}
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
