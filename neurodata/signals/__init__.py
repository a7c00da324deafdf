"""Shared preprocessing: binning spikes, firing rates, aligning to events, responses per
trial, dF/F, resampling."""

from __future__ import annotations

from neurodata.signals._align import align
from neurodata.signals._binning import bin_spikes, spike_unit_index
from neurodata.signals._interp import interp_along_time
from neurodata.signals._rates import firing_rates
from neurodata.signals._responses import trial_responses
from neurodata.signals._traces import compute_dff, resample

__all__ = ["align", "bin_spikes", "compute_dff", "firing_rates", "interp_along_time",
           "resample", "spike_unit_index", "trial_responses"]
