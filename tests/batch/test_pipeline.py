"""Pipelines in Python and TOML: validation, hashing, serial runs, outputs and summaries."""

from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr

from neurodata.batch import Pipeline, Step, collect, load_pipeline, read_summary, run
from neurodata.errors import NeurodataError
from neurodata.io import read_results
from neurodata.io._h5 import file_sha256
from neurodata.signals import firing_rates
from tests.batch.conftest import make_pipeline

TOML = """
[pipeline]
name = "rates"
write_nwb = true

[open]
lazy = true

[[steps]]
name = "rates"
function = "neurodata.signals.firing_rates"
params = { bin_size = 0.05, smooth = 0.1 }

[[steps]]
name = "mean"
function = "tests.batch.steps:mean_rate"
input = "rates"

[[steps]]
name = "raster"
function = "tests.batch.steps.raster"
"""


def test_toml_and_python_pipelines_agree(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(TOML)
    p = load_pipeline(path)
    assert [s.name for s in p.steps] == ["rates", "mean", "raster"]
    assert p.write_nwb and p.steps[1].input == "rates"
    q = Pipeline([{"name": "rates", "function": "neurodata.signals.firing_rates",
                   "params": {"bin_size": 0.05, "smooth": 0.1}}], name="rates")
    r = Pipeline([{"name": "rates", "function": "neurodata.signals.firing_rates",
                   "params": {"bin_size": 0.05, "smooth": 0.2}}], name="rates")
    assert q.config_hash() != r.config_hash()  # a parameter change redoes the files
    assert q.config_hash() == Pipeline(list(q.steps), name="rates").config_hash()


@pytest.mark.parametrize(("text", "match"), [
    ("[[steps]]\nname = 'a b'\nfunction = 'x.y'\n", "non-empty word"),
    ("[[steps]]\nname = 'a'\n", "exactly one of function= or estimator="),
    ("[[steps]]\nname = 'a'\nfunction = 'x.y'\ninput = 'b'\n", "not an earlier step"),
    ("[pipeline]\nformat = 'csv'\n[[steps]]\nname = 'a'\nfunction = 'x.y'\n", "format must be"),
    ("[[steps]]\nname = 'a'\nfunction = 'x.y'\nparam = {}\n", "unknown key"),
    ("[pipelines]\n", "unknown section"),
    ("[[steps]\n", "not valid TOML"),
    ("", "at least one step"),
])
def test_bad_pipeline_files_are_named_errors(tmp_path, text, match):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(NeurodataError, match=match):
        load_pipeline(path)


def test_misspelt_targets_fail_before_any_work(tmp_path, batch_files):
    p = Pipeline([Step("x", function="neurodata.signals.no_such_function")])
    with pytest.raises(NeurodataError, match="cannot find 'no_such_function'"):
        run(p, batch_files["good"][:1], tmp_path, scheduler="serial", progress=False)
    assert not list(tmp_path.glob("*/_manifest.json"))


def test_serial_run_writes_outputs_summary_and_nwb_copies(tmp_path, batch_files):
    files = batch_files["good"][:2]
    shas = [file_sha256(f) for f in files]
    toml = tmp_path / "p.toml"
    toml.write_text(TOML)
    df = run(toml, files, tmp_path / "out", scheduler="serial", progress=False)
    assert df.status.tolist() == ["done", "done"]
    assert [file_sha256(f) for f in files] == shas  # inputs untouched
    assert df.input_sha256.tolist() == shas
    assert (df["mean.units"] == [4, 5]).all()
    assert np.all(df.peak_memory_mb > 0) and np.all(df.seconds > 0)
    out = tmp_path / "out"
    folder = out / df.file_id[0]
    expected = firing_rates(_open(files[0]), 0.05,
                            smooth=0.1)
    got = xr.load_dataset(folder / "rates.nc", engine="h5netcdf")["firing_rate"]
    np.testing.assert_allclose(got.values, expected.values)
    assert float(df["mean.hz"][0]) == pytest.approx(float(expected.mean()))
    assert (folder / "raster.png").stat().st_size > 1000
    nwb = read_results(folder / "session_00_results.nwb")
    np.testing.assert_allclose(nwb["rates"].values, expected.values)
    assert read_summary(out).shape[0] == 2 and (out / "summary.csv").exists()
    assert not [p for p in out.rglob(".*") if p.is_file()]  # no temporary files left


def _open(path):
    from neurodata import open_nwb

    return open_nwb(path, lazy=False)


def test_collect_gathers_sessions(tmp_path, batch_files):
    files = batch_files["good"][:3]
    run(make_pipeline(), files, tmp_path, scheduler="serial", progress=False)
    rates = collect(tmp_path, "rates")
    assert rates.dims[0] == "session" and rates.sizes["session"] == 3
    assert rates.sizes["unit"] == 6  # outer join over 4, 5 and 6 units
    assert np.isnan(rates.isel(session=0).sel(unit=5)).all()
    assert [os.path.basename(f) for f in rates.session_file.values] == \
        [f.name for f in files]
    with pytest.raises(NeurodataError, match="no results of step 'mean'"):
        collect(tmp_path, "mean")


def test_stale_temporary_files_of_a_killed_task_are_removed(tmp_path, batch_files):
    from neurodata.batch import file_id

    f = batch_files["good"][0]
    folder = tmp_path / file_id(f)
    folder.mkdir()
    stale = [folder / ".rates.nc.999.tmp", folder / ".mean.999.tmp.png"]
    for p in stale:
        p.write_bytes(b"half-written")
    (folder / ".rates.zarr.999.tmp").mkdir()
    df = run(make_pipeline(), [f], tmp_path, scheduler="serial", progress=False)
    assert df.status[0] == "done"
    assert sorted(p.name for p in folder.iterdir()) == ["_manifest.json", "rates.nc"]


def test_a_task_rerun_within_its_run_reports_the_file_done(tmp_path, batch_files):
    """Dask reruns a task whose worker died after finishing: no work, status stays 'done'."""
    from neurodata.batch import file_id, process_file

    f, pipe = batch_files["good"][1], make_pipeline()
    first = process_file(f, pipe, tmp_path, run_id="run-a")
    manifest = tmp_path / file_id(f) / "_manifest.json"
    stamp = manifest.stat().st_mtime_ns
    again = process_file(f, pipe, tmp_path, run_id="run-a")
    assert again["status"] == "done" and again["scalars"] == first["scalars"]
    assert manifest.stat().st_mtime_ns == stamp
    assert process_file(f, pipe, tmp_path, run_id="run-b")["status"] == "skipped"
