"""Sensor observation models: what a sensor records of the field.

A sensor records a filtered field: in space, a kernel ``G`` (the lead field of EEG/MEG, the
point spread of an ECoG electrode) whose Fourier transform ``G~(k)`` weighs each wave; in
time, a filter ``H`` (the kinetics of a calcium indicator).  For a stationary, isotropic
field of spectrum ``P(k, f)`` the recorded cross-spectrum between sensors a distance ``r``
apart is

    S(r, f) = |H(f)|^2 (1 / 2 pi) int_0^inf k J0(k r) |G~(k)|^2 P(k, f) dk  (+ noise at r = 0).

Each model below gives ``spatial(k) = |G~(k)|^2`` and ``temporal(f) = |H(f)|^2``.  Its
parameters are fitted when given as None (:class:`CorticalFieldModel`), else held fixed.
The models are the simplest of their kind (planar geometry, isotropic kernels); they are
choices made here, not the paper's.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

import numpy as np

from neurodata.errors import NeurodataError

__all__ = ["CalciumIndicator", "ExponentialLeadField", "GaussianPointSpread", "PointSensor",
           "check_observation"]


def _value(v: float | None) -> float:
    if v is None:
        raise NeurodataError("this sensor model has parameters to fit (None); fit it first or "
                             "give their values.")
    return float(v)


@dataclass(frozen=True)
class _Observation:
    kind: ClassVar[str] = "spatial"
    guess: ClassVar[dict[str, float]] = {}

    def parameters(self) -> dict[str, float | None]:
        """The model's parameters (None where they are to be fitted)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def free(self) -> list[str]:
        return [k for k, v in self.parameters().items() if v is None]

    def with_values(self, **values: float) -> _Observation:
        return replace(self, **values)

    def spatial(self, k) -> np.ndarray:  # pragma: no cover - overridden where used
        return np.ones_like(np.asarray(k, dtype=float))

    def temporal(self, f) -> np.ndarray:
        return np.ones_like(np.asarray(f, dtype=float))

    @property
    def is_point(self) -> bool:
        return self.kind != "spatial"

    def __post_init__(self) -> None:
        for name, value in self.parameters().items():
            if value is not None and not (np.isfinite(value) and value > 0):
                raise NeurodataError(f"{type(self).__name__}.{name} must be a positive number "
                                     f"(or None to fit it); got {value!r}.")


@dataclass(frozen=True)
class PointSensor(_Observation):
    """The field itself at the sensor's position (an ideal microelectrode).

    Examples
    --------
    >>> PointSensor().spatial(np.array([0.0, 10.0]))
    array([1., 1.])
    """

    kind: ClassVar[str] = "point"

    def spatial(self, k) -> np.ndarray:
        return np.ones_like(np.asarray(k, dtype=float))


@dataclass(frozen=True)
class GaussianPointSpread(_Observation):
    """An ECoG electrode: the field averaged over a Gaussian of standard deviation ``width``.

    ``|G~(k)|^2 = exp(-k^2 width^2)`` (electrode size and spread through the tissue).

    Examples
    --------
    >>> float(GaussianPointSpread(width=0.5).spatial(2.0))
    0.36787944117144233
    """

    width: float | None = None
    guess: ClassVar[dict[str, float]] = {"width": 0.3}

    def spatial(self, k) -> np.ndarray:
        return np.exp(-(np.asarray(k, dtype=float) * _value(self.width)) ** 2)


@dataclass(frozen=True)
class ExponentialLeadField(_Observation):
    """EEG or MEG over a planar head: waves of wavenumber ``k`` fade as ``exp(-k depth)``.

    The potential of a sheet of dipoles seen from a height ``depth`` above it (the scalp
    over the cortex) keeps ``G~(k) = exp(-k depth)`` of each wave (Nunez & Srinivasan's
    planar approximation); MEG's sensitivity to the field's spatial profile is modelled the
    same way with its own depth.  Orientation and skull conductivity are not modelled.

    Examples
    --------
    >>> float(ExponentialLeadField(depth=10.0).spatial(0.1))
    0.1353352832366127
    """

    depth: float | None = None
    guess: ClassVar[dict[str, float]] = {"depth": 5.0}

    def spatial(self, k) -> np.ndarray:
        return np.exp(-2.0 * np.asarray(k, dtype=float) * _value(self.depth))


@dataclass(frozen=True)
class CalciumIndicator(_Observation):
    """Calcium imaging: the field low-passed by the indicator's rise and decay.

    ``|H(f)|^2 = 1 / ((1 + (2 pi f tau_decay)^2) (1 + (2 pi f tau_rise)^2))``, the power gain of
    the double-exponential impulse response ``e^{-t/tau_decay} - e^{-t/tau_rise}`` (GCaMP6s:
    tau_decay ~ 0.5-1 s, tau_rise ~ 50-100 ms).  Space is sampled at the ROI centroids.

    Examples
    --------
    >>> g = CalciumIndicator(tau_rise=0.05, tau_decay=0.5).temporal(np.array([0.0, 1.0]))
    >>> np.round(g, 4)
    array([1.    , 0.0837])
    """

    tau_rise: float | None = None
    tau_decay: float | None = None
    kind: ClassVar[str] = "temporal"
    guess: ClassVar[dict[str, float]] = {"tau_rise": 0.05, "tau_decay": 0.5}

    def temporal(self, f) -> np.ndarray:
        om = 2 * np.pi * np.asarray(f, dtype=float)
        return 1.0 / ((1 + (om * _value(self.tau_decay)) ** 2)
                      * (1 + (om * _value(self.tau_rise)) ** 2))

    def spatial(self, k) -> np.ndarray:
        return np.ones_like(np.asarray(k, dtype=float))


def check_observation(observation: Any) -> _Observation:
    """An observation model instance (None: a point sensor).

    Examples
    --------
    >>> check_observation(None)
    PointSensor()
    >>> check_observation("eeg")
    Traceback (most recent call last):
    ...
    neurodata.errors.NeurodataError: observation must be a sensor model (PointSensor(), GaussianPointSpread(width=...), ExponentialLeadField(depth=...), CalciumIndicator(...)); got 'eeg'.
    """
    if observation is None:
        return PointSensor()
    if isinstance(observation, _Observation):
        return observation
    raise NeurodataError(f"observation must be a sensor model (PointSensor(), "
                         f"GaussianPointSpread(width=...), ExponentialLeadField(depth=...), "
                         f"CalciumIndicator(...)); got {observation!r}.")
