"""Build the sample NWB files shipped in neurodata/datasets/data and their registry.

Run from the repository root:  python datasets/build_samples.py [name ...]
(only the named samples are rebuilt, the registry's other entries kept).
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
    make_adaptation_trials,
    make_calcium_imaging,
    make_connectome_recordings,
    make_field_recording,
    make_hub_network,
    make_motor_teacher,
    make_poisson_population,
    make_retina_population,
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
    "sample_worms": (
        lambda: make_connectome_recordings(n_neurons=30, n_time=800, n_animals=4,
                                           random_state=0),
        "4 animals' imaging sessions (one file each), 30 named neurons (some missing per "
        "animal) x 800 frames at 4 Hz, three groups co-activating at planted times",
        "neurodata.datasets.make_connectome_recordings(n_neurons=30, n_time=800, n_animals=4, "
        "random_state=0)",
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
    "sample_hub": (
        lambda: make_hub_network(n_trials=100, random_state=0).drop_vars(
            ["connectivity", "lag", "target", "source"]),
        "24 neurons of a Bernoulli GLM in which 3 hubs drive 5 targets each at 10-30 ms lags "
        "(truth in the units table: driver, driver_lag), 100 one-second trials of a bar "
        "sweeping over a 4 x 4 movie at 20 Hz",
        "neurodata.datasets.make_hub_network(n_trials=100, random_state=0), without the "
        "(target, source) matrices (the units table holds the same truth)",
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


def _file_entry(path: Path) -> dict:
    return {"sha256": file_sha256(path), "size": path.stat().st_size}


def main(names: list[str]) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    old = DATA / "registry.json"
    unknown = set(names) - set(SAMPLES)
    if unknown:
        raise SystemExit(f"unknown samples {sorted(unknown)}; known: {sorted(SAMPLES)}")
    # The registry also lists the reference recordings: only sample entries are rebuilt.
    registry: dict = json.loads(old.read_text()) if old.exists() else {}
    if not names:
        registry["samples"] = {}
    registry.setdefault("samples", {})
    for name, (make, description, source) in SAMPLES.items():
        if names and name not in names:
            continue
        made = make()
        entry: dict = {"description": description, "source": source}
        if isinstance(made, dict):  # several recordings: a folder, one file each
            folder = DATA / name
            folder.mkdir(exist_ok=True)
            files = {}
            for key, rec in made.items():
                save_nwb(rec, folder / f"{key}.nwb", overwrite=True)
                files[f"{key}.nwb"] = _file_entry(folder / f"{key}.nwb")
            entry.update(folder=name, files=files)
            size = sum(f["size"] for f in files.values())
        else:
            path = DATA / f"{name}.nwb"
            save_nwb(made, path, overwrite=True)
            entry.update(file=path.name, **_file_entry(path))
            size = entry["size"]
        registry["samples"][name] = entry
        print(f"{name}: {size / 1e6:.2f} MB")
    (DATA / "registry.json").write_text(json.dumps(registry, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
