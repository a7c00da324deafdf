"""The field model in the estimator contract: fitted to the shipped ECoG-like sample."""

from __future__ import annotations

from neurodata.datasets import load_sample
from neurodata.field_theory import CorticalFieldModel, GaussianPointSpread, PointSensor
from tests.contract import ContractCase


def _make(**kw):
    params = {"observation": GaussianPointSpread(), "fmax": 60.0, "random_state": 0, **kw}
    return CorticalFieldModel(**params)


def _make_spectrum(**kw):
    params = {"method": "spectrum", "shape": (48, 48), "spacing": 0.5, "floor": True,
              "random_state": 0, **kw}
    return CorticalFieldModel(**params)


CASES = [
    ContractCase(
        make=_make,
        data=lambda: load_sample("sample_field", lazy=False),
        fit_kwargs={"variable": "ecog"},
        # the sample's electrodes spread the field over 0.4 mm: ideal point sensors fit worse
        worse={"observation": PointSensor()},
        unfitted_calls=[lambda est, rec: est.score(rec, variable="ecog"),
                        lambda est, rec: est.predict_spectrum([10.0]),
                        lambda est, rec: est.simulate((8, 8), duration=0.1, dt=1e-3)],
        id="CorticalFieldModel[cross_spectrum]",
    ),
    ContractCase(
        make=_make_spectrum,
        data=lambda: load_sample("sample_field", lazy=False),
        fit_kwargs={"variable": "ecog"},
        # a fit to the band below 12 Hz only misses the 1/f part and the sensor floor
        worse={"fmax": 12.0},
        id="CorticalFieldModel[spectrum]",
    ),
]
