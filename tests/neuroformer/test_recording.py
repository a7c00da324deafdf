"""Neuroformer through NWB: the generator's recording written, read back and fitted.

The same seeded model fitted to the in-memory recording and to its NWB round
trip must be the same model, and recover the planted hub connectivity equally.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from sklearn.metrics import roc_auc_score

from neurodata import open_nwb
from neurodata.datasets import hub_connectivity, load_sample
from neurodata.errors import NeurodataError
from neurodata.io import save_nwb
from neurodata.io._h5 import file_sha256
from neurodata.neuroformer import Neuroformer, attention_connectivity

from .conftest import HUB_PARAMS


def _auroc(model, rec, intervals) -> float:
    conn = attention_connectivity(model, rec, intervals=intervals, stimulus="stimulus")
    truth = hub_connectivity(rec).sel(target=conn.target, source=conn.source).values
    off = ~np.eye(truth.shape[0], dtype=bool)
    return roc_auc_score(truth[off], np.nan_to_num(conn.values[off]))


def test_nwb_round_trip_fits_the_same_model(hub, hub_model, tmp_path):
    ds, train_iv, test_iv = hub
    path = tmp_path / "hub.nwb"
    save_nwb(ds, path)
    digest = file_sha256(path)
    rec = open_nwb(path)
    assert rec.stimulus.ndim == 3 and np.array_equal(rec.spike_times.values,
                                                      ds.spike_times.values)
    model = Neuroformer(**HUB_PARAMS).fit(rec, intervals=train_iv, stimulus="stimulus")
    xr.testing.assert_allclose(model.to_dataset(), hub_model.to_dataset(), rtol=1e-5, atol=1e-6)
    a_mem, a_nwb = _auroc(hub_model, ds, test_iv), _auroc(model, rec, test_iv)
    print(f"attention connectivity AUROC: in memory {a_mem:.3f}, through NWB {a_nwb:.3f}")
    assert a_nwb > 0.85 and a_nwb == pytest.approx(a_mem, abs=0.01)
    rec.close()
    assert file_sha256(path) == digest                          # the input is untouched


def test_the_shipped_sample_holds_the_planted_truth():
    rec = load_sample("sample_hub")
    truth = hub_connectivity(rec)
    assert int(truth.sum()) == 15 and int(rec.is_hub.sum()) == 3
    hubs = rec.unit.values[rec.is_hub.values]
    assert set(rec.driver.values[rec.driver.values >= 0]) == set(hubs)
    lag = rec.driver_lag.values[rec.driver.values >= 0]
    assert np.all((lag >= 0.01) & (lag <= 0.03))


def test_missing_modalities_are_named(hub):
    ds, train_iv, _ = hub
    with pytest.raises(NeurodataError, match="stimulus"):
        Neuroformer(**HUB_PARAMS).fit(ds, intervals=train_iv, stimulus="movie")
    no_spikes = ds.drop_vars(["spike_times", "spike_unit"])
    with pytest.raises(NeurodataError, match="spike"):
        Neuroformer(**HUB_PARAMS).fit(no_spikes, intervals=train_iv)
