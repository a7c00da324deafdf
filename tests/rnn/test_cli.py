"""``neurodata curbd`` end to end: NWB in, summary out, results written to NWB."""

from __future__ import annotations

import argparse
import json

import numpy as np

from neurodata.datasets import make_poisson_population
from neurodata.io import read_results, save_nwb
from neurodata.rnn._cli import register


def _run(argv):
    parser = argparse.ArgumentParser(prog="neurodata")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_curbd_command_end_to_end(tmp_path, capsys):
    rec = make_poisson_population(n_units=8, n_trials=6, random_state=0)
    rec = rec.assign_coords(location=("unit", np.repeat(["V1", "LM"], 4)))
    src = save_nwb(rec, tmp_path / "session.nwb")
    out = tmp_path / "curbd.nwb"
    code = _run(["curbd", str(src), "--regions", "location", "--bin-size", "0.05",
                 "--stop", "8", "--n-epochs", "5", "--out", str(out), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary["rms_current"]) == {"V1->V1", "V1->LM", "LM->V1", "LM->LM"}
    assert summary["units"] == 8 and summary["samples"] == 160
    back = read_results(out)["curbd"]
    assert back.currents.dims == ("source", "time", "unit")
    np.testing.assert_allclose(back.currents.sum("source").values,
                               back.model_rates.values @ back.weights.values.T, atol=1e-10)
    assert back.attrs["pvar"] == summary["pvar"]
