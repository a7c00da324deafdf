"""Streaming NWB over HTTP from a real Range-honouring server on 127.0.0.1."""

from __future__ import annotations

import time

import numpy as np
import pytest
import xarray as xr

import neurodata as nd
from neurodata.datasets import sample_path
from neurodata.errors import NeurodataError, RemoteError
from neurodata.io._fixtures import write_large_nwb, write_zarr_twin
from neurodata.io._http_server import RangeServer
from neurodata.io._registry import guess_reader, open_recording

pytest.importorskip("aiohttp")
pytest.importorskip("fsspec")

N_UNITS, SPIKES_PER_UNIT = 100, 20_000
GB = 10**9
FAST = {"timeout": 0.5, "retries": 1, "backoff": 0.05}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A 1 GB NWB file (sparse on disk), the sample files and a Zarr twin, served."""
    folder = tmp_path_factory.mktemp("served")
    big = write_large_nwb(folder / "big.nwb", n_bytes=GB, n_units=N_UNITS,
                          spikes_per_unit=SPIKES_PER_UNIT)
    for name in ("sample_session", "sample_imaging"):
        (folder / f"{name}.nwb").write_bytes(sample_path(name).read_bytes())
    pytest.importorskip("hdmf_zarr")
    write_zarr_twin(folder / "sample_session.nwb", folder / "sample_session.nwb.zarr")
    with RangeServer(folder, max_hang_s=5) as server:
        yield server, folder
    big.unlink()


def _local_spikes(folder, units) -> xr.Dataset:
    """The spikes of ``units`` read from the local file (not its 1 GB of samples)."""
    with nd.open_nwb(folder / "big.nwb", units=units, checksum=False) as ds:
        return ds[["spike_times", "spike_unit"]].load()


def _same(a: xr.Dataset, b: xr.Dataset) -> None:
    for k in ("source_path", "source_sha256"):
        a.attrs.pop(k, None)
        b.attrs.pop(k, None)
    xr.testing.assert_identical(a, b)
    assert {k: v.dtype for k, v in a.variables.items()} == {k: v.dtype for k, v in b.variables.items()}


@pytest.mark.parametrize("name", ["sample_session.nwb", "sample_imaging.nwb",
                                  "sample_session.nwb.zarr"])
def test_remote_equals_local(served, name):
    server, folder = served
    local = nd.open_nwb(folder / name, lazy=False)
    remote = nd.open_nwb(server.url(name), lazy=False)
    assert remote.attrs["source_path"] == server.url(name)
    _same(local, remote)


def test_open_transfers_well_under_one_percent(served):
    server, folder = served
    size = (folder / "big.nwb").stat().st_size
    assert size >= GB
    server.reset_counts()
    ds = nd.open_nwb(server.url("big.nwb"))
    opened = server.bytes_sent
    assert opened < 0.0025 * size, opened  # measured: 1.3 MB of 1 GB (0.13 %)
    assert ds.sizes["unit"] == N_UNITS and ds.sizes["spike"] == N_UNITS * SPIKES_PER_UNIT
    ds.close()


def test_one_unit_reads_only_its_own_spikes(served):
    server, folder = served
    local = _local_spikes(folder, [41])
    ds = nd.open_nwb(server.url("big.nwb"), units=[41])
    server.reset_counts()
    spikes = ds.spike_times.values
    unit_bytes = SPIKES_PER_UNIT * 8
    others_bytes = (N_UNITS - 1) * unit_bytes
    # its own 160 kB, rounded out to whole 64 KiB blocks at both ends, and nothing more
    assert server.bytes_sent <= unit_bytes + 2 * 64 * 1024, server.bytes_sent
    assert server.bytes_sent < 2 * unit_bytes < 0.03 * others_bytes  # not the other 99 units
    np.testing.assert_array_equal(spikes, local.spike_times.values)
    assert set(np.unique(ds.spike_unit.values)) == {41}
    ds.close()


def test_dropped_connection_is_retried(served):
    server, folder = served
    local = _local_spikes(folder, [7, 3])
    ds = nd.open_nwb(server.url("big.nwb"), units=[7, 3], backoff=0.01)
    server.reset_counts()
    server.cut_next(after_bytes=1000)  # the next response stops after 1000 bytes
    values = ds.spike_times.values
    assert not server.cuts and server.requests >= 3  # cut, then retried
    np.testing.assert_array_equal(values, local.spike_times.values)
    np.testing.assert_array_equal(ds.spike_unit.values, local.spike_unit.values)
    ds.close()


def test_server_down_mid_read_gives_named_timeout(served):
    server, _ = served
    ds = nd.open_nwb(server.url("big.nwb"), units=[5], **FAST)
    server.go_down()
    try:
        t0 = time.perf_counter()
        with pytest.raises(RemoteError, match="timed out after 2 attempts"):
            ds.spike_times.values  # noqa: B018
        assert time.perf_counter() - t0 < 5
    finally:
        server.come_back()
        ds.close()


def test_server_down_at_open_gives_named_timeout(served):
    server, _ = served
    server.go_down()
    try:
        t0 = time.perf_counter()
        with pytest.raises(RemoteError, match="timed out"):
            nd.open_nwb(server.url("sample_session.nwb"), **FAST)
        assert time.perf_counter() - t0 < 8
    finally:
        server.come_back()


def test_missing_url_and_refused_connection(served, tmp_path):
    server, _ = served
    with pytest.raises(RemoteError, match="not found") as info:
        nd.open_nwb(server.url("no_such_file.nwb"))
    assert info.value.status == 404
    with RangeServer(tmp_path) as gone:
        url = gone.url("x.nwb")
    with pytest.raises(RemoteError, match="failed after 2 attempts|timed out"):
        nd.open_nwb(url, **FAST)


def test_disk_cache_serves_a_second_open(served, tmp_path):
    server, folder = served
    for expect_transfer in (True, False):
        server.reset_counts()
        with nd.open_nwb(server.url("big.nwb"), units=[2], cache=tmp_path) as ds:
            values = ds.spike_times.values
        assert (server.bytes_sent > 0) == expect_transfer
    local = _local_spikes(folder, [2])
    np.testing.assert_array_equal(values, local.spike_times.values)


def test_bad_options_and_units_are_named_errors(served):
    server, _ = served
    with pytest.raises(NeurodataError, match="timeout"):
        nd.open_nwb(server.url("big.nwb"), timeout=-1)
    with pytest.raises(NeurodataError, match="not in the Units table"):
        nd.open_nwb(server.url("sample_session.nwb"), units=[999])


def test_registry_and_open_urls(served):
    server, _folder = served
    urls = [server.url("sample_session.nwb"), server.url("sample_session.nwb.zarr"),
            server.url("missing.nwb")]
    assert guess_reader(urls[0]).name == "nwb"
    assert open_recording(urls[0]).sizes["unit"] == 24
    with pytest.warns(nd.errors.NeurodataWarning, match="missing.nwb"):
        out = nd.io.open_urls(urls, on_error="skip")
    assert list(out) == urls[:2]
    _same(out[urls[0]].load(), out[urls[1]].load())
    with pytest.raises(RemoteError):
        nd.io.open_urls(urls)
