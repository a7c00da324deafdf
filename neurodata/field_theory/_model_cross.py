"""The cross-spectrum method of :class:`CorticalFieldModel`: fit, bootstrap, likelihood.

Kept apart from the estimator so that each stays short; these functions take the fitted
quantities explicitly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodata._utils import check_random_state, progress_bar
from neurodata.errors import NeurodataError
from neurodata.field_theory._cross_spectrum import measure_cross_spectrum
from neurodata.field_theory._fit_cross import cross_spectrum_fit
from neurodata.field_theory._recording import FieldSamples

__all__ = ["bootstrap_fit", "measure", "physical_positions"]


def physical_positions(samples: FieldSamples, spacing: float | None) -> tuple[np.ndarray, bool]:
    """Site positions in length units, and whether they are (False: in pixels / grid units).

    Electrode positions are lengths already; pixel and ROI positions are in pixels and
    need the pixel size (``spacing``).
    """
    if samples.positions is None:
        raise NeurodataError(
            f"{samples.name!r} has no site positions, so only a spectrum can be fitted, which "
            f"fixes the speed only as c / a. Add electrode x/y (or rel_x/rel_y) to the "
            f"electrodes table, or use method='spectrum'.")
    if samples.kind in ("image", "rois", "sheet"):
        if spacing is None:
            return samples.positions, False
        return samples.positions * float(spacing), True
    return samples.positions, True


def bootstrap_fit(cs: xr.Dataset, first: dict, *, observation: Any, fmin, fmax, floor,
                  max_iter: int, n_bootstrap: int, random_state: Any, progress: Any
                  ) -> xr.Dataset:
    """Refit to ``n_bootstrap`` resamplings (with replacement) of the Welch segments.

    Each replicate averages a resampled set of segments' binned spectra and refits from
    the estimate (one start).  Returns the estimates on ``(replicate, parameter)``.
    """
    rng = check_random_state(random_state)
    k = cs.sizes["segment"]
    names = first["names"]
    out = np.full((n_bootstrap, len(names)), np.nan)
    for b in progress_bar(range(n_bootstrap), progress=progress, desc="bootstrap"):
        idx = rng.integers(0, k, size=k)
        rep = cs.isel(segment=idx).assign(
            cross=(("frequency", "distance"), cs.cross_segments.values[idx].mean(axis=0)),
            auto=("frequency", cs.auto_segments.values[idx].mean(axis=0)))
        try:
            fit = cross_spectrum_fit(rep, observation=observation, fmin=fmin, fmax=fmax,
                                     floor=floor, max_iter=max_iter, start=first["theta"])
        except NeurodataError:
            continue
        out[b] = [fit["values"][n] for n in names]
    return xr.Dataset({"estimate": (("replicate", "parameter"), out)},
                      coords={"replicate": np.arange(n_bootstrap), "parameter": names})


def measure(samples: FieldSamples, pos: np.ndarray, nperseg: Any) -> xr.Dataset:
    """The binned cross-spectra with their segments (for the sandwich covariance)."""
    return measure_cross_spectrum(samples.data, pos, fs=samples.fs, nperseg=nperseg,
                                  keep_segments=True)
