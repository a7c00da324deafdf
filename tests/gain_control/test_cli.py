"""The ``neurodata gain-control`` subcommands, end to end through NWB files."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import xarray as xr

from neurodata import read_results, save_nwb
from neurodata.datasets import make_adaptation_trials
from neurodata.gain_control import benucci_format, fit_adaptation_model
from neurodata.gain_control._cli import register


def _run(argv):
    parser = argparse.ArgumentParser(prog="neurodata")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def _spike_recording(rec, period=0.1, response=0.05, seed=0):
    """Spike trains whose counts in the first 50 ms of each trial are ``rec``."""
    counts = rec.values.astype(int)
    rng = np.random.default_rng(seed)
    trial_idx, unit_idx = np.nonzero(counts)
    reps = counts[trial_idx, unit_idx]
    t = np.repeat(trial_idx * period, reps) + rng.uniform(0, response, reps.sum())
    order = np.argsort(t, kind="stable")
    n = rec.sizes["trial"]
    return xr.Dataset(
        {"spike_times": ("spike", t[order]),
         "spike_unit": ("spike", np.repeat(unit_idx, reps)[order])},
        coords={"unit": np.arange(rec.sizes["unit"]),
                "trial_start_time": ("trial", np.arange(n) * period),
                "trial_stop_time": ("trial", np.arange(n) * period + period),
                "trial_stimulus_orientation": ("trial", rec.stimulus_orientation.values),
                "trial_condition": ("trial", rec.condition.values.astype(str))})


# write_nwb (the foundation's writer) stores N-d results in VectorData columns, which
# hdmf flags as an unexpected shape; the values round-trip exactly (asserted below).
def test_fit_from_nwb_files(tmp_path, capsys):
    recs = [make_adaptation_trials(30, n_trials=300, random_state=s) for s in range(2)]
    paths = []
    for i, rec in enumerate(recs):
        paths.append(tmp_path / f"session{i}.nwb")
        save_nwb(_spike_recording(rec, seed=i), paths[-1])
    out = tmp_path / "fit.nwb"
    status = _run(["gain-control", "fit", *map(str, paths), "--p-adapter", "0.3",
                   "--window", "0", "0.05", "--n-starts", "1", "--json", "--out", str(out)])
    assert status == 0
    printed = json.loads(capsys.readouterr().out)
    # the same numbers as the API on the (trial, unit) counts themselves
    direct = fit_adaptation_model(benucci_format(recs), p_adapter=0.3, n_starts=1,
                                  random_state=0)
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
