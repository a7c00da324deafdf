"""Batch runs on dask.distributed: equal to serial, failures isolated, resume, killed workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import xarray as xr

from neurodata.batch import run
from tests.batch.conftest import N_GOOD, make_pipeline, write_session

pytest.importorskip("distributed")


def _outputs(out, df):
    return {row.file: xr.load_dataset(out / row.file_id / "rates.nc", engine="h5netcdf")
            for row in df.itertuples() if row.status != "failed"}


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", memory_limit="2GB") as lc, Client(lc) as client:
        yield client


def test_distributed_equals_serial_and_isolates_failures(tmp_path, batch_files, cluster):
    pipe = make_pipeline()
    dist = run(pipe, batch_files["all"], tmp_path / "dist", scheduler=cluster, progress=False)
    serial = run(pipe, batch_files["all"], tmp_path / "serial", scheduler="serial",
                 progress=False)
    assert (dist.status == "done").sum() == N_GOOD
    failed = dist[dist.status == "failed"].set_index("file")
    bad = batch_files["bad"]
    assert sorted(failed.index) == sorted(str(p) for p in bad.values())
    assert "truncated or corrupt" in failed.loc[str(bad["truncated"]), "error"]
    assert "not an HDF5 file" in failed.loc[str(bad["text"]), "error"]
    assert "NWB-1.0.5" in failed.loc[str(bad["nwb1"]), "error"]
    assert all("Traceback" in t for t in failed.traceback)
    a, b = _outputs(tmp_path / "dist", dist), _outputs(tmp_path / "serial", serial)
    assert a.keys() == b.keys() and len(a) == N_GOOD
    for f in a:
        xr.testing.assert_identical(a[f], b[f])
    cols = ["file", "status", "mean.hz", "mean.units", "input_sha256"]
    assert dist[cols].equals(serial[cols])


def test_resume_skips_unchanged_files_and_redoes_a_changed_one(tmp_path, batch_files, cluster):
    files = [str(p) for p in batch_files["good"][:6]]
    # A private copy, so that changing one input does not disturb the other tests.
    copies = []
    for i, f in enumerate(files):
        dst = tmp_path / f"in_{i}.nwb"
        dst.write_bytes(open(f, "rb").read())
        copies.append(dst)
    pipe, out = make_pipeline(), tmp_path / "out"
    first = run(pipe, copies, out, scheduler=cluster, progress=False)
    assert (first.status == "done").all()
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.nc")}
    second = run(pipe, copies, out, scheduler=cluster, progress=False)
    assert (second.status == "skipped").all()
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.nc")} == mtimes  # no work done
    assert second["mean.hz"].equals(first["mean.hz"])
    write_session(copies[2], 99)  # one input changes
    third = run(pipe, copies, out, scheduler=cluster, progress=False)
    assert third.status.tolist() == ["skipped"] * 2 + ["done"] + ["skipped"] * 3
    assert third.input_sha256[2] != first.input_sha256[2]
    os.utime(copies[4])  # touched but unchanged: hashed again, still skipped
    assert run(pipe, copies, out, scheduler=cluster, progress=False).status[4] == "skipped"


def test_a_killed_worker_loses_and_duplicates_nothing(tmp_path, batch_files):
    from distributed import Client, LocalCluster

    files = batch_files["good"][:8]
    pipe = make_pipeline(slow=0.4)
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", memory_limit="2GB") as lc, Client(lc) as client:
        pids = list(client.run(os.getpid).values())

        def kill_when_busy():  # once a first file is done, the workers are mid-task
            deadline = time.monotonic() + 60
            while not list(tmp_path.glob("*/_manifest.json")) and time.monotonic() < deadline:
                time.sleep(0.02)
            os.kill(pids[0], signal.SIGKILL)

        killer = threading.Thread(target=kill_when_busy)
        killer.start()
        df = run(pipe, files, tmp_path, scheduler=client, progress=False)
        killer.join()
        assert pids[0] not in client.run(os.getpid).values()  # the worker really died
    assert (df.status == "done").all() and len(df) == len(files)
    manifests = sorted(tmp_path.glob("*/_manifest.json"))
    assert len(manifests) == len(files)
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]
    serial = run(pipe, files, tmp_path / "serial", scheduler="serial", progress=False)
    np.testing.assert_allclose(df["slow"].values, serial["slow"].values)


def test_command_line_reports_and_exits_nonzero_on_failures(tmp_path, batch_files):
    toml = tmp_path / "p.toml"
    toml.write_text('[[steps]]\nname = "rates"\nfunction = "neurodata.signals.firing_rates"\n'
                    'params = { bin_size = 0.1 }\n')
    folder = batch_files["good"][0].parent
    cmd = [sys.executable, "-m", "neurodata.cli", "batch", str(toml), str(folder / "session_0*.nwb"),
           str(batch_files["bad"]["text"]), "--out", str(tmp_path / "out"), "--workers", "1",
           "--no-progress"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stderr
    assert "11 files: 10 done, 0 skipped, 1 failed" in res.stdout
    assert "notes.nwb: FileFormatError" in res.stdout
    res = subprocess.run(cmd[:-6] + cmd[-5:] + ["--serial"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0 and "10 skipped, 0 failed" in res.stdout, res.stdout + res.stderr


def test_files_larger_than_worker_memory_complete(tmp_path):
    """Four 200 MB inputs (800 MB) through workers limited to 700 MB each, one file at a time."""
    from distributed import Client, LocalCluster

    from neurodata.batch import Pipeline
    from neurodata.io import save_nwb

    n_time, n_roi = 500_000, 100
    x = np.random.default_rng(0).random((n_time, n_roi), dtype=np.float32)
    rec = xr.Dataset({"fluorescence": (("time", "roi"), x)},
                     coords={"time": np.arange(n_time) * 0.01, "roi": np.arange(n_roi)})
    first = tmp_path / "big_0.nwb"
    save_nwb(rec, first)
    expected = float(x.mean(dtype=np.float64))
    del x, rec
    files = [first] + [tmp_path / f"big_{i}.nwb" for i in range(1, 4)]
    for f in files[1:]:
        os.link(first, f)
    total = sum(f.stat().st_size for f in files)
    assert total > 700 * 2**20
    pipe = Pipeline([{"name": "mean", "function": "tests.batch.steps.mean_fluorescence"}])
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", memory_limit="700MiB") as lc, \
            Client(lc) as client:
        limits = {w["memory_limit"] for w in client.scheduler_info()["workers"].values()}
        assert limits == {700 * 2**20}
        df = run(pipe, files, tmp_path / "out", scheduler=client, progress=False)
    assert (df.status == "done").all(), df.error.tolist()
    np.testing.assert_allclose(df["mean"], expected, rtol=1e-5)
    assert (df.peak_memory_mb < 650).all(), df.peak_memory_mb.tolist()
