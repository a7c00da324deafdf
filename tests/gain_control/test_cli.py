"""The ``neurodata gain-control`` subcommands, end to end through NWB files."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from neurodata import read_results, save_nwb
from neurodata.datasets import make_adaptation_trials
from neurodata.gain_control import AdaptiveGainModel, benucci_format
from neurodata.gain_control._cli import register


def _run(argv):
    parser = argparse.ArgumentParser(prog="neurodata")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_fit_from_nwb_files(tmp_path, capsys):
    recs = [make_adaptation_trials(30, n_trials=200, random_state=s) for s in range(2)]
    paths = []
    for i, rec in enumerate(recs):
        paths.append(tmp_path / f"session{i}.nwb")
        save_nwb(rec, paths[-1])
    out = tmp_path / "fit.nwb"
    status = _run(["gain-control", "fit", *map(str, paths), "--n-init", "1", "--json",
                   "--out", str(out)])
    assert status == 0
    printed = json.loads(capsys.readouterr().out)
    # the same numbers as the estimator on the recordings themselves
    direct = AdaptiveGainModel(n_init=1, random_state=0).fit(recs).to_dataset()
    for p in direct.parameter.values:
        assert printed[str(p)]["estimate"] == pytest.approx(
            float(direct.estimate.sel(parameter=p)), rel=1e-9)
    stored = read_results(out)
    np.testing.assert_allclose(stored["gain_control_fit"].estimate, direct.estimate, rtol=1e-9)
    np.testing.assert_allclose(stored["gain_control_data"].responses,
                               benucci_format(recs).responses)


def test_effects_command(tmp_path, capsys):
    out = tmp_path / "fx.nwb"
    assert _run(["gain-control", "effects", "--json", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["max_ratio_near_adapter"] < 0.9
    assert summary["repulsion_15_45_min_deg"] > 0.1
    assert summary["covariance_distance_adapted"] < summary["covariance_distance_unadapted"]
    fx = read_results(out)["gain_control_effects"]
    assert float(fx.covariance_distance.sel(ensemble="biased_adapted")) == pytest.approx(
        summary["covariance_distance_adapted"])
    assert _run(["gain-control", "effects", "--rule", "equalize", "--json"]) == 0
    naive = json.loads(capsys.readouterr().out)
    assert naive["covariance_distance_adapted"] > naive["covariance_distance_unadapted"]
