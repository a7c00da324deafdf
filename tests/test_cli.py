"""The neurodata command: info (table and JSON), demo, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from neurodata.cli import main
from neurodata.datasets import sample_path
from tests.conftest import shared_file

ROOT = Path(__file__).resolve().parents[1]


def test_info_table(capsys):
    assert main(["info", str(sample_path())]) == 0
    out = capsys.readouterr().out
    assert "units       24 (20,721 spikes)" in out
    assert "trial" in out and "40 intervals" in out
    assert "conventions valid" in out


def test_info_json_several_files(capsys):
    assert main(["info", str(sample_path("sample_session")), str(sample_path("sample_imaging")),
                 "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["n_units"] for r in reports] == [24, 0]
    assert reports[1]["n_rois"] == 30
    assert reports[0]["intervals"][0]["name"] == "trial"


def test_info_real_file_exact_figures(capsys):
    path = shared_file("nwb/pynapple_neurosuite_A2929-200711.nwb")
    assert main(["info", str(path), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["n_units"], r["n_spikes"]) == (15, 98794)
    assert {t["name"] for t in r["intervals"]} >= {"epoch", "sleep_ripples_intervals"}


def test_info_bad_file_exit_code(tmp_path, capsys):
    bad = tmp_path / "x.nwb"
    bad.write_text("not hdf5")
    assert main(["info", str(bad)]) == 2
    assert "not an HDF5 file" in capsys.readouterr().out


def test_demo_via_console_entry(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "neurodata.cli", "demo", "--out", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "median error" in proc.stdout
    assert (tmp_path / "sample_session_results.nwb").exists()
    assert (tmp_path / "sample_session.png").stat().st_size > 10_000


def test_unknown_command_exits_nonzero():
    with pytest.raises(SystemExit):
        main(["frobnicate"])
