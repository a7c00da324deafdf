"""Twenty generated NWB files, three of them bad, for the batch tests."""

from __future__ import annotations

import h5py
import pytest

from neurodata.batch import Pipeline
from neurodata.datasets import make_poisson_population
from neurodata.io import save_nwb

N_GOOD = 17


def write_session(path, seed: int) -> None:
    rec = make_poisson_population(n_units=4 + seed % 3, n_trials=6, random_state=seed)
    save_nwb(rec, path, overwrite=True)


@pytest.fixture(scope="session")
def batch_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch_inputs")
    good = []
    for i in range(N_GOOD):
        p = folder / f"session_{i:02d}.nwb"
        write_session(p, i)
        good.append(p)
    truncated = folder / "truncated.nwb"
    data = good[0].read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    text = folder / "notes.nwb"
    text.write_text("this is not an HDF5 file\n")
    nwb1 = folder / "old_format.nwb"
    with h5py.File(nwb1, "w") as f:
        f.attrs["nwb_version"] = "NWB-1.0.5"
        f.create_group("acquisition")
    return {"good": good, "bad": {"truncated": truncated, "text": text, "nwb1": nwb1},
            "all": sorted([*good, truncated, text, nwb1])}


def make_pipeline(slow: float = 0.0) -> Pipeline:
    steps = [{"name": "rates", "function": "neurodata.signals.firing_rates",
              "params": {"bin_size": 0.05, "smooth": 0.1}},
             {"name": "mean", "function": "tests.batch.steps.mean_rate", "input": "rates"}]
    if slow:
        steps.append({"name": "slow", "function": "tests.batch.steps.slow_mean_rate",
                      "input": "rates", "params": {"delay": slow}})
    return Pipeline(steps, name="rates")
