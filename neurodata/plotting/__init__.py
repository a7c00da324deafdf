"""One figure function per result type; each returns the matplotlib Axes it drew on."""

from __future__ import annotations

from neurodata.plotting._spikes import plot_psth, plot_raster, plot_traces

__all__ = ["plot_psth", "plot_raster", "plot_traces"]
