"""Generators, shipped samples and downloads (against a local HTTP server)."""

from __future__ import annotations

import hashlib
import http.server
import threading
from functools import partial

import numpy as np
import pytest

import neurodata as nd
from neurodata.datasets import fetch_file, list_samples, load_sample, sample_path
from neurodata.errors import FileFormatError, NeurodataError
from neurodata.io._h5 import file_sha256


def test_samples_match_registry_and_size_limit():
    import json

    reg = json.loads((sample_path().parent / "registry.json").read_text())["samples"]
    assert set(reg) == set(list_samples())
    for name, entry in reg.items():
        p = sample_path(name)
        assert file_sha256(p) == entry["sha256"]
        assert p.stat().st_size == entry["size"] < 2_000_000


def test_sample_session_is_the_seeded_generator():
    ds = load_sample(lazy=False)
    ref = nd.datasets.make_poisson_population(random_state=0)
    np.testing.assert_array_equal(ds.spike_times.values, ref.spike_times.values)
    np.testing.assert_array_equal(ds.preferred_orientation.values, ref.preferred_orientation.values)


def test_unknown_sample():
    with pytest.raises(NeurodataError, match="available: .*sample_imaging, sample_session"):
        sample_path("nope")


def test_generators_are_seeded_and_validate():
    a = nd.datasets.make_poisson_population(n_units=4, n_trials=5, random_state=7)
    b = nd.datasets.make_poisson_population(n_units=4, n_trials=5, random_state=7)
    assert a.identical(b)
    nd.validate(a)
    with pytest.raises(NeurodataError, match="stimulus_window"):
        nd.datasets.make_poisson_population(stimulus_window=(1.5, 3.0), trial_duration=2.0)


def test_calcium_events_are_the_ground_truth():
    ds = nd.datasets.make_calcium_imaging(n_rois=5, duration=60, random_state=2)
    # undoing the exponential decay frame by frame gives back exactly the planted events
    y = ds.true_dff.values
    decay = np.exp(-0.1 / ds.attrs["tau"])
    impulses = y - decay * np.vstack([np.zeros((1, 5)), y[:-1]])
    planted = np.zeros_like(y)
    np.add.at(planted, (np.round(ds.event_time.values * 10).astype(int), ds.event_roi.values),
              ds.event_amplitude.values)
    np.testing.assert_allclose(impulses, planted, atol=1e-9)


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "data.bin").write_bytes(b"neural" * 1000)
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            partial(Handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    httpd.shutdown()


def test_fetch_file_downloads_verifies_and_caches(server, tmp_path, monkeypatch):
    base, hits = server
    monkeypatch.setenv("NEURODATA_DATA", str(tmp_path / "cache"))
    digest = hashlib.sha256(b"neural" * 1000).hexdigest()
    out = fetch_file(f"{base}/data.bin", sha256=digest, progress=False)
    assert out == tmp_path / "cache" / "data.bin"
    assert out.read_bytes() == b"neural" * 1000
    fetch_file(f"{base}/data.bin", sha256=digest, progress=False)
    assert len(hits) == 1  # the second call found it in the cache


def test_fetch_file_bad_checksum_keeps_nothing(server, tmp_path):
    base, _ = server
    dest = tmp_path / "out.bin"
    with pytest.raises(FileFormatError, match="expected 0000"):
        fetch_file(f"{base}/data.bin", sha256="0000", dest=dest, progress=False)
    assert not dest.exists() and list(tmp_path.glob(".out.bin*")) == []


def test_fetch_file_missing_url(server, tmp_path):
    base, _ = server
    with pytest.raises(FileFormatError, match="could not download"):
        fetch_file(f"{base}/missing.bin", dest=tmp_path / "m.bin", progress=False)


def test_open_folder_and_map_files(tmp_path):
    import shutil

    for name in ("sample_session", "sample_imaging"):
        shutil.copy(sample_path(name), tmp_path / f"{name}.nwb")
    (tmp_path / "broken.nwb").write_text("nope")
    with pytest.raises(FileFormatError):
        nd.open_folder(tmp_path)
    with pytest.warns(nd.NeurodataWarning, match="skipped .*broken.nwb"):
        recs = nd.open_folder(tmp_path, on_error="skip")
    assert sorted(recs) == ["sample_imaging.nwb", "sample_session.nwb"]
    results = nd.map_files(lambda p: nd.open_recording(p).sizes.get("unit", 0),
                           sorted(tmp_path.glob("*.nwb")), progress=False)
    assert results[1:] == [0, 24]
    assert isinstance(results[0], nd.batch.FileFailure)
