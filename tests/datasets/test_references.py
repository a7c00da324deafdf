"""fetch_reference: local first, a helpful error offline, checksummed downloads on request."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile

import pytest

from neurodata.datasets import _references, fetch_reference, list_references
from neurodata.errors import FileFormatError


@pytest.fixture
def nowhere(monkeypatch, tmp_path):
    """No shared folder, an empty cache, downloads off unless asked."""
    monkeypatch.setattr(_references, "reference_file", lambda rel: None)
    monkeypatch.setenv("NEURODATA_DATA", str(tmp_path / "cache"))
    monkeypatch.delenv("NEURODATA_DOWNLOAD", raising=False)
    return tmp_path


def _register(monkeypatch, entry):
    reg = json.loads(json.dumps(_references._registry()))
    reg["references"]["toy"] = entry
    monkeypatch.setattr(_references, "_registry", lambda: reg)


def test_offline_error_says_how_to_get_the_file(nowhere):
    with pytest.raises(FileFormatError, match=r"fetch_reference\('alm', download=True\).*dandiarchive"):
        fetch_reference("alm")
    assert set(list_references()) >= {"neurosuite", "suite2p", "scholz_worm", "alm",
                                      "allen_vc2p_skinny", "stroud_soc", "fisbe_volume"}


def test_plain_download_is_checksummed(nowhere, monkeypatch):
    payload = b"reference bytes"
    src = nowhere / "src.nwb"
    src.write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    _register(monkeypatch, {"file": "nwb/toy.nwb", "sha256": digest, "size": len(payload),
                            "description": "toy", "url": src.as_uri(), "origin": "here"})
    path = fetch_reference("toy", download=True)
    assert path.read_bytes() == payload
    src.write_bytes(b"tampered")
    path.unlink()
    with pytest.raises(FileFormatError, match="sha256"):
        fetch_reference("toy", download=True)
    assert not path.exists()


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_archive_member_found_by_hash(nowhere, monkeypatch, kind):
    payload = b"the member we want"
    archive = nowhere / f"bundle.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("a/other.txt", b"something else")
            z.writestr("a/data.mat", payload)
    else:
        with tarfile.open(archive, "w:gz") as t:
            for name, data in [("a/other.txt", b"x"), ("a/data.mat", payload)]:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    _register(monkeypatch, {"file": "models/data.mat",
                            "sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload),
                            "description": "toy", "url": archive.as_uri(), "archive": kind,
                            "origin": "here"})
    monkeypatch.setenv("NEURODATA_DOWNLOAD", "1")
    assert fetch_reference("toy").read_bytes() == payload


@pytest.mark.shared_data
@pytest.mark.parametrize("name", sorted(list_references()))
def test_registry_checksums_match_the_local_reference_files(name):
    from neurodata.io._h5 import file_sha256
    from tests.conftest import shared_file

    entry = _references._entry(name)
    path = shared_file(entry["file"])
    assert fetch_reference(name) == path
    assert file_sha256(path) == entry["sha256"] and path.stat().st_size == entry["size"]
