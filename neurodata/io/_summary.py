"""What a recording holds, as a plain dict (for ``neurodata info`` and notebooks)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodata.errors import InvalidRecordingError
from neurodata.schema import interval_dims, is_time_dim, validate

__all__ = ["format_summary", "summarize"]


def _span(values: np.ndarray) -> list[float] | None:
    v = values[np.isfinite(values)] if values.size else values
    return [float(v.min()), float(v.max())] if v.size else None


def summarize(ds: xr.Dataset) -> dict[str, Any]:
    """Summarise a recording: units, spikes, ROIs, series, interval tables, validity.

    Only coordinates and, for spikes, the first and last spike time are read,
    so summarising a lazily opened file reads almost nothing.

    Examples
    --------
    >>> from neurodata.datasets import load_sample
    >>> s = summarize(load_sample())
    >>> s["n_units"], s["n_spikes"], s["valid"]
    (24, 20721, True)
    """
    out: dict[str, Any] = {
        "identifier": ds.attrs.get("nwb_identifier", ""),
        "nwb_version": ds.attrs.get("nwb_version", ""),
        "n_units": int(ds.sizes.get("unit", 0)),
        "n_spikes": int(ds.sizes.get("spike", 0)),
        "n_rois": int(sum(n for d, n in ds.sizes.items() if str(d).startswith("roi"))),
    }
    spans = []
    if out["n_spikes"]:
        st = ds["spike_times"]
        first, last = float(st[0].values), float(st[-1].values)
        out["spike_span"] = [first, last]
        spans.append([first, last])
    series = []
    for name, var in ds.data_vars.items():
        tdims = [d for d in var.dims if is_time_dim(d)]
        if not tdims:
            continue
        t = np.asarray(ds[tdims[0]].values, dtype=float)
        span = _span(t)
        if span:
            spans.append(span)
        series.append({"name": str(name), "dims": [str(d) for d in var.dims],
                       "shape": [int(s) for s in var.shape], "dtype": str(var.dtype),
                       "span": span, "units": str(var.attrs.get("units", ""))})
    out["series"] = series
    tables = []
    for dim in interval_dims(ds):
        start = np.asarray(ds[f"{dim}_start_time"].values, dtype=float)
        stop = np.asarray(ds[f"{dim}_stop_time"].values, dtype=float)
        cols = [str(c)[len(dim) + 1:] for c in ds.coords
                if str(c).startswith(dim + "_") and ds[c].dims == (dim,)]
        tables.append({"name": dim, "n": int(start.size), "span": _span(np.r_[start, stop]),
                       "nan_stop_times": int(np.isnan(stop).sum()), "columns": cols})
    out["intervals"] = tables
    spans = [s for s in spans if s]
    out["time_span"] = [min(s[0] for s in spans), max(s[1] for s in spans)] if spans else None
    try:
        validate(ds)
        out["valid"], out["problem"] = True, ""
    except InvalidRecordingError as err:
        out["valid"], out["problem"] = False, str(err)
    return out


def format_summary(path: str, s: dict[str, Any], size_bytes: int | None = None) -> str:
    """Render :func:`summarize` output as an aligned, readable text block."""
    def fmt_span(span):
        return "-" if not span else f"{span[0]:.3f} - {span[1]:.3f} s"

    lines = [f"{path}"]
    if size_bytes is not None:
        lines[0] += f"  ({size_bytes / 1e6:.1f} MB, NWB {s['nwb_version']})"
    lines.append(f"  identifier  {s['identifier']}")
    lines.append(f"  time span   {fmt_span(s['time_span'])}")
    lines.append(f"  units       {s['n_units']} ({s['n_spikes']:,} spikes)")
    lines.append(f"  rois        {s['n_rois']}")
    if s["series"]:
        lines.append("  series")
        width = max(len(x["name"]) for x in s["series"])
        for x in s["series"]:
            shape = " x ".join(map(str, x["shape"]))
            dims = ", ".join(x["dims"])
            lines.append(f"    {x['name']:<{width}}  ({dims}) {shape} {x['dtype']}  "
                         f"{fmt_span(x['span'])}")
    if s["intervals"]:
        lines.append("  intervals")
        width = max(len(x["name"]) for x in s["intervals"])
        for x in s["intervals"]:
            nan = f", {x['nan_stop_times']} NaN stop times" if x["nan_stop_times"] else ""
            extra = [c for c in x["columns"] if c not in ("start_time", "stop_time")]
            cols = f"  [{', '.join(extra)}]" if extra else ""
            lines.append(f"    {x['name']:<{width}}  {x['n']:>6} intervals  "
                         f"{fmt_span(x['span'])}{nan}{cols}")
    status = "valid" if s["valid"] else f"INVALID: {s['problem']}"
    lines.append(f"  conventions {status}")
    return "\n".join(lines)
