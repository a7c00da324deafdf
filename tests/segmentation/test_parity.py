"""Parity with the FISBe authors' evaluation (evalinstseg, greedy clDice preset)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neurodata.segmentation import aggregate_fisbe, fisbe_metrics
from tests.conftest import shared_file
from tests.segmentation._cases import CASES, COMPLETE, build_case

SCALARS = ("S", "avF1", "C", "clDiceTP", "tp", "FS", "FM", "num_gt", "num_pred", "TP_05")
INTS = {"FS", "FM", "num_gt", "num_pred", "TP_05"}
REFERENCE = json.loads((Path(__file__).parent / "data" / "reference_synthetic.json").read_text())
CONFIGS = {"rm800": 800, "no_rm": None}


def assert_matches(result, expected: dict) -> None:
    row = result.to_dict()
    for name in SCALARS:
        if name in INTS:
            assert row[name] == expected[name], name
        else:
            assert row[name] == pytest.approx(expected[name], abs=1e-6), name
    for th, f1 in expected["F1_per_th"].items():
        assert row[f"F1_{th}"] == pytest.approx(f1, abs=1e-6), th
    for th, counts in expected.get("TP_FP_FN_per_th", {}).items():
        assert [row[f"TP_{th}"], row[f"FP_{th}"], row[f"FN_{th}"]] == counts, th
    if "gt_skel_coverage" in expected:
        np.testing.assert_allclose(result.gt_coverage.values, expected["gt_skel_coverage"],
                                   atol=1e-6, rtol=0)


@pytest.mark.shared_data
@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("case", ["01_perfect", "02_split", "03_merge", "04_missing",
                                  "05_false_positive"])
def test_shared_cases_match_reference(case: str, config: str) -> None:
    expected = json.loads(shared_file("fisbe/cases/expected.json").read_text())["cases"][case]
    data = np.load(shared_file(f"fisbe/cases/{case}.npz"))
    result = fisbe_metrics(data["gt"], data["pred"], remove_small_components=CONFIGS[config])
    assert_matches(result, expected[f"flylight_{config}"])


@pytest.fixture(scope="module")
def synthetic_results() -> dict:
    out = {}
    for rm_key, rm in (("rm_800", 800), ("rm_none", None)):
        for name in CASES:
            gt, pred, partly = build_case(name)
            out[rm_key, name] = fisbe_metrics(gt, pred, remove_small_components=rm, partly=partly)
    return out


@pytest.mark.parametrize("rm_key", ["rm_800", "rm_none"])
@pytest.mark.parametrize("name", CASES)
def test_synthetic_cases_match_reference(synthetic_results, name: str, rm_key: str) -> None:
    """Overlapping GT (many-to-many with consumption), prediction stacks, partly mode."""
    assert_matches(synthetic_results[rm_key, name], REFERENCE[rm_key]["cases"][name])


@pytest.mark.parametrize("rm_key", ["rm_800", "rm_none"])
def test_dataset_pooling_matches_reference(synthetic_results, rm_key: str) -> None:
    ref = REFERENCE[rm_key]
    complete = aggregate_fisbe([synthetic_results[rm_key, n] for n in COMPLETE])
    assert_matches(complete, ref["dataset_complete"])
    mixed = aggregate_fisbe([synthetic_results[rm_key, n] for n in CASES])
    assert_matches(mixed, ref["dataset_mixed"])
    assert mixed.complete is not None and mixed.partly is not None
    assert mixed.S == pytest.approx((mixed.complete.S + mixed.partly.S) / 2)
