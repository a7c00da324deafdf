"""Shared preprocessing: binning spikes, firing rates, aligning to events and to a stimulus
movie, responses per trial, trial intervals, dF/F, resampling."""

from __future__ import annotations

from neurodata._utils._intervals import interval_array
from neurodata.signals._activity import neural_activity, stack_series
from neurodata.signals._align import align
from neurodata.signals._binning import bin_spikes, spike_unit_index
from neurodata.signals._interp import interp_along_time
from neurodata.signals._rates import firing_rates
from neurodata.signals._responses import trial_responses
from neurodata.signals._stimulus import align_movie, movie_frames
from neurodata.signals._traces import compute_dff, resample

__all__ = ["align", "align_movie", "bin_spikes", "compute_dff", "firing_rates",
           "interp_along_time", "interval_array", "movie_frames", "neural_activity",
           "resample", "spike_unit_index", "stack_series", "trial_responses"]
