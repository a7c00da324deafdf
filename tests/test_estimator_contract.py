"""One contract over every estimator of the package (DESIGN.md, "Analysis API").

Each module declares its cases in ``tests/<module>/contract_case.py``.  The
contract: scikit-learn's ``clone``, ``get_params``/``set_params`` and repr;
``__init__`` stores parameters only; ``fit(recording)`` returns self and leaves
the input untouched; a seeded refit is identical; methods that need a fitted
model raise :class:`NotFittedError` before ``fit``; ``score`` is a float and
higher is better; ``history_`` is a Dataset on ``iteration``; the fitted
result (``to_dataset``) uses the declared dimension names and survives
``write_nwb`` / ``read_results`` exactly.
"""

from __future__ import annotations

import copy
import importlib
import inspect

import numpy as np
import pytest
import xarray as xr
from sklearn.base import clone

from neurodata._utils import NeurodataEstimator
from neurodata.errors import NotFittedError
from neurodata.schema import BANNED_DIMS
from tests.contract import ContractCase

MODULES = ["utils", "connectome", "rnn", "clustering", "neuroformer", "gain_control", "field_theory"]

#: Estimator classes whose module has not yet joined the contract (issue 12);
#: each module's part removes its class.  The list must end empty.
PENDING: set[str] = set()

#: Array-level baselines (``fit(X, y)`` on window counts, as scikit-learn's
#: regressors): they take no recording, so the recording contract does not
#: apply; tests/neuroformer/test_baselines.py holds them to the rest of it.
ARRAY_LEVEL = {"RidgeDecoder", "PoissonGLMDecoder"}


def _cases() -> list[ContractCase]:
    cases = []
    for module in MODULES:
        try:
            mod = importlib.import_module(f"tests.{module}.contract_case")
        except ModuleNotFoundError as err:
            if err.name != f"tests.{module}.contract_case":
                raise
            continue
        for case in mod.CASES:
            case.id = case.id or type(case.make()).__name__
            cases.append(case)
    return cases


CASES = _cases()


def _estimator_classes() -> dict[str, type]:
    found = {}
    for module in MODULES[1:]:  # "utils" holds only the toy case
        mod = importlib.import_module(f"neurodata.{module}")
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isclass(obj) and hasattr(obj, "fit") and not name.endswith("Tokenizer"):
                found[name] = obj
    return found


def test_every_estimator_is_covered_or_pending():
    covered = {case.id.split("[")[0] for case in CASES}
    classes = _estimator_classes()
    missing = sorted(set(classes) - covered - PENDING - ARRAY_LEVEL)
    assert not missing, f"estimators without a contract case: {missing}"
    stale = sorted(PENDING & covered)
    assert not stale, f"remove {stale} from PENDING: they have contract cases now"
    assert not PENDING, f"issue 12 is done only when PENDING is empty: {sorted(PENDING)}"
    for name in set(classes) - PENDING:
        assert issubclass(classes[name], NeurodataEstimator), name


@pytest.fixture(scope="module", params=CASES, ids=lambda c: c.id)
def case(request):
    return request.param


@pytest.fixture(scope="module")
def fitted(case):
    data = case.data()
    before = copy.deepcopy(data)
    est = case.make()
    out = case.fit(est, data)
    return case, data, before, est, out


def test_clone_params_and_repr(case):
    est = case.make()
    assert isinstance(est, NeurodataEstimator)
    params = est.get_params()
    twin = clone(est)
    assert type(twin) is type(est)
    for k, v in twin.get_params().items():
        assert v is params[k] or v == params[k], k
    for k, v in params.items():  # __init__ stores each parameter as it was given
        assert getattr(est, k) is v, k
    assert est.set_params(**params) is est
    text = repr(est)
    assert text.startswith(type(est).__name__ + "(") and " object at 0x" not in text
    assert "random_state=0" in text  # a changed parameter is shown
    type(est)()  # every parameter has a default


def test_unfitted_calls_raise_not_fitted(case):
    est = case.make()
    with pytest.raises(NotFittedError):
        est.to_dataset()
    for call in case.unfitted_calls:
        with pytest.raises(NotFittedError):
            call(est, case.data())


def test_fit_returns_self_and_leaves_the_input_alone(fitted):
    _, data, before, est, out = fitted
    assert out is est
    recs = data.values() if isinstance(data, dict) else [data]
    olds = before.values() if isinstance(before, dict) else [before]
    for new, old in zip(recs, olds):
        xr.testing.assert_identical(new, old)


def test_seeded_refit_is_identical(fitted):
    case, data, _, est, _ = fitted
    again = case.fit(case.make(), data)
    xr.testing.assert_identical(est.to_dataset(), again.to_dataset())


def test_history_is_a_dataset_on_iteration(fitted):
    _, _, _, est, _ = fitted
    h = est.history_
    assert isinstance(h, xr.Dataset) and h.sizes["iteration"] >= 1
    for name, var in h.data_vars.items():
        assert var.dims[0] == "iteration", name
        assert np.issubdtype(var.dtype, np.number), name


def test_score_is_a_float_and_higher_is_better(fitted):
    case, data, _, est, _ = fitted
    good = case.score_of(est, data)
    assert isinstance(good, float) and np.isfinite(good)
    worse = case.fit(case.make(**case.worse), data)
    assert good > case.score_of(worse, data)


def test_result_dims_and_nwb_round_trip(fitted, tmp_path):
    from neurodata.io import read_results

    _, _, _, est, _ = fitted
    result = est.to_dataset()
    assert isinstance(result, xr.Dataset)
    bad = {d: BANNED_DIMS[d] for d in result.dims if d in BANNED_DIMS}
    assert not bad, f"use the declared dimension names: {bad}"
    path = est.write_nwb(tmp_path / "fit.nwb")
    back = next(iter(read_results(path).values()))
    xr.testing.assert_identical(back, result)
