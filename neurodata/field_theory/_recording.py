"""What the field model can be fitted to: samples of a field on a sheet or an array.

:func:`field_samples` reads a recording (the Dataset of :func:`~neurodata.open_nwb` or
:func:`~neurodata.load_sample`) or a DataArray and returns :class:`FieldSamples`: the
signal, the sites' positions on the cortical sheet when they are known, and what kind of
sampling it is.  Accepted:

``sheet``
    ``(time, x, y)`` DataArrays (the solvers' and :func:`make_cortical_sheet`'s output):
    the whole simulated lattice.
``image``
    An imaging sheet read from NWB: ``(time_<k>, <k>_y, <k>_x)`` (ImageSeries,
    TwoPhotonSeries).  Its pixel positions need the pixel ``spacing`` (NWB readers do
    not carry it).
``array``
    Electrodes: an ElectricalSeries ``(time_<k>, <k>_channel)`` whose ``<k>_electrode``
    coordinate names rows of the electrodes table, with positions from its ``rel_x``,
    ``rel_y`` columns (position on the array) or else ``x``, ``y`` (and ``z``: projected
    onto the best-fitting plane); or a ``(time, channel)`` DataArray with ``channel_x``,
    ``channel_y`` coordinates.
``rois``
    Imaging ROI traces ``(time, roi)`` with ROI centroids: calcium fluorescence, a slow
    read-out of activity, so a fit without an indicator model is flagged with a warning.

Anything else (spike trains, binned counts, ROI traces without positions, series of
behaviour) raises :class:`~neurodata.errors.NoNeuralDataError` saying what is missing.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from neurodata._utils import sampling_step
from neurodata.errors import NeurodataError, NeurodataWarning, NoNeuralDataError, ShapeError
from neurodata.schema import is_time_dim

__all__ = ["FieldSamples", "field_samples"]

_HOW = ("Give an LFP/ECoG ElectricalSeries whose electrodes table has x/y (or rel_x/rel_y) "
        "positions, an imaging sheet (time, y, x) with its pixel spacing, or a simulated "
        "sheet (time, x, y).")


@dataclass
class FieldSamples:
    """Samples of a field: ``data (time, site)`` (or ``(time, x, y)`` for sheets).

    Attributes
    ----------
    data : DataArray
        On dims ``("time", "site")``, or ``("time", "x", "y")`` for ``kind == "sheet"``.
    positions : ndarray (n_site, 2) or None
        Site positions on the sheet (length units of the recording), when known.
    kind : {"sheet", "image", "array", "rois"}
    name : str
        The variable the samples come from.
    fs : float
        Sampling rate (Hz).
    """

    data: xr.DataArray
    positions: np.ndarray | None
    kind: str
    name: str
    fs: float


def _window(da: xr.DataArray, window: Any) -> xr.DataArray:
    if window is None:
        return da
    try:
        t0, t1 = (float(v) for v in window)
    except (TypeError, ValueError):
        raise NeurodataError(f"window is (start, stop) in seconds; got {window!r}.") from None
    tdim = da.dims[0]
    out = da.sel({tdim: slice(t0, t1)})
    if out.sizes[tdim] < 64:
        raise ShapeError(f"window {window!r} keeps {out.sizes[tdim]} samples of {da.name!r}; the "
                         f"field fit needs at least 64.")
    return out


def _planar(xyz: np.ndarray) -> np.ndarray:
    """Positions on the best-fitting plane of 3D points (2D points are returned as they are)."""
    if xyz.shape[1] == 2 or np.ptp(xyz[:, 2]) == 0:
        return xyz[:, :2]
    centred = xyz - xyz.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def _electrode_positions(rec: xr.Dataset, name: str, channel_dim: str) -> np.ndarray | None:
    key = f"{name}_electrode"
    if key not in rec.coords or "electrode" not in rec.dims:
        return None
    rows = np.asarray(rec[key].values, dtype=int)
    for cols in (("rel_x", "rel_y"), ("x", "y", "z"), ("x", "y")):
        names = [f"electrode_{c}" for c in cols]
        if all(n in rec.coords for n in names):
            xyz = np.stack([np.asarray(rec[n].values, dtype=float)[rows] for n in names], axis=1)
            if np.all(np.isfinite(xyz)) and np.ptp(xyz[:, :2], axis=0).max() > 0:
                return _planar(xyz)
    return None


def _is_electrical(var: xr.DataArray, name: str) -> bool:
    return var.ndim == 2 and is_time_dim(var.dims[0]) and (
        var.attrs.get("nwb_type") in ("ElectricalSeries", "LFP")
        or str(var.dims[1]) == f"{name}_channel")


def _is_image(var: xr.DataArray, name: str) -> bool:
    return var.ndim == 3 and is_time_dim(var.dims[0]) and \
        set(map(str, var.dims[1:])) == {f"{name}_y", f"{name}_x"}


def _is_sheet(var: xr.DataArray) -> bool:
    return var.ndim == 3 and {"time", "x", "y"} == set(var.dims)


def _candidates(rec: xr.Dataset) -> list[str]:
    return [str(k) for k, v in rec.data_vars.items()
            if _is_electrical(v, str(k)) or _is_image(v, str(k)) or _is_sheet(v)]


def _not_a_field(rec: xr.Dataset) -> NeurodataError:
    rois = [str(k) for k, v in rec.data_vars.items()
            if v.ndim == 2 and v.dims[0] == "time" and v.dims[1] == "roi"]
    if rois:
        return NoNeuralDataError(
            f"the recording's ROI traces ({', '.join(rois)}) have no ROI positions "
            f"(roi_centroid_x/y), so they are not samples of a field on a sheet. {_HOW}")
    if "spike_times" in rec:
        return NoNeuralDataError(
            "the recording holds spike trains: point events of single neurons, not samples "
            f"of a field on the cortical sheet. {_HOW}")
    return NoNeuralDataError(f"the recording holds no field signal (variables: "
                             f"{', '.join(map(str, rec.data_vars)) or 'none'}). {_HOW}")


def _from_rois(rec: xr.Dataset, name: str, window: Any) -> FieldSamples:
    da = rec[name]
    if not {"roi_centroid_x", "roi_centroid_y"} <= set(rec.coords):
        raise _not_a_field(rec[[name]])
    pos = np.stack([np.asarray(rec["roi_centroid_x"].values, dtype=float),
                    np.asarray(rec["roi_centroid_y"].values, dtype=float)], axis=1)
    da = _window(da, window)
    out = xr.DataArray(da.data, dims=("time", "site"),
                       coords={"time": np.asarray(da["time"].values, dtype=float)}, name=name)
    return FieldSamples(out, pos, "rois", name, 1.0 / sampling_step(da, name=f"{name!r}"))


def _from_dataset(rec: xr.Dataset, variable: str | None, window: Any) -> FieldSamples:
    if variable is None:
        found = _candidates(rec)
        if len(found) > 1:
            raise NeurodataError(f"the recording holds several field signals ({', '.join(found)}); "
                                 f"choose one with variable={found[0]!r}.")
        if not found:
            rois = [str(k) for k, v in rec.data_vars.items()
                    if v.ndim == 2 and v.dims == ("time", "roi")]
            if len(rois) == 1 and {"roi_centroid_x", "roi_centroid_y"} <= set(rec.coords):
                return _from_rois(rec, rois[0], window)
            raise _not_a_field(rec)
        variable = found[0]
    if variable not in rec.data_vars:
        raise NeurodataError(f"the recording has no variable {variable!r}; its field signals are: "
                             f"{', '.join(_candidates(rec)) or 'none'}.")
    var = rec[variable]
    if _is_sheet(var):
        return _from_dataarray(var.assign_attrs({**rec.attrs, **var.attrs}), window)
    if var.ndim == 2 and var.dims == ("time", "roi"):
        return _from_rois(rec, variable, window)
    if var.ndim == 2 and var.dims[0] == "time" and var.dims[1] == "unit":
        raise NoNeuralDataError(f"{variable!r} holds single-unit signals (dim 'unit'), not samples "
                                f"of a field on the cortical sheet. {_HOW}")
    if _is_image(var, variable):
        da = _window(var.transpose(var.dims[0], f"{variable}_y", f"{variable}_x"), window)
        tdim = str(da.dims[0])
        ny, nx = da.shape[1:]
        jj, ii = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
        flat = da.data.reshape(da.shape[0], ny * nx)
        out = xr.DataArray(flat, dims=("time", "site"),
                           coords={"time": np.asarray(da[tdim].values, dtype=float)}, name=variable)
        pixels = np.stack([ii.ravel(), jj.ravel()], axis=1).astype(float)
        return FieldSamples(out, pixels, "image", variable, 1.0 / sampling_step(da, tdim))
    if _is_electrical(var, variable):
        da = _window(var, window)
        tdim, cdim = map(str, da.dims)
        pos = _electrode_positions(rec, variable, cdim)
        out = xr.DataArray(da.data, dims=("time", "site"),
                           coords={"time": np.asarray(da[tdim].values, dtype=float)}, name=variable)
        return FieldSamples(out, pos, "array", variable,
                            1.0 / sampling_step(da, tdim, name=f"{variable!r}"))
    raise NoNeuralDataError(f"{variable!r} (dims {tuple(var.dims)}) is not a field signal. {_HOW}")


def _from_dataarray(da: xr.DataArray, window: Any) -> FieldSamples:
    dims = set(da.dims)
    name = str(da.name or "field")
    if {"time", "x", "y"} == dims:
        da = _window(da.transpose("time", "x", "y"), window)
        return FieldSamples(da, None, "sheet", name, 1.0 / sampling_step(da, name=f"{name!r}"))
    if da.ndim == 2 and da.dims[0] == "time":
        other = str(da.dims[1])
        if other in ("unit", "roi") and not {f"{other}_centroid_x"} <= set(da.coords) \
                and not {"roi_centroid_x"} <= set(da.coords):
            raise NoNeuralDataError(
                f"a ({'time'}, {other!r}) signal without positions is not a sample of a field on "
                f"the cortical sheet. {_HOW}")
        da = _window(da, window)
        pos = None
        for xs, ys in ((f"{other}_x", f"{other}_y"), ("roi_centroid_x", "roi_centroid_y")):
            if xs in da.coords and ys in da.coords:
                pos = np.stack([np.asarray(da[xs].values, dtype=float),
                                np.asarray(da[ys].values, dtype=float)], axis=1)
        kind = "rois" if other == "roi" else "array"
        out = xr.DataArray(da.data, dims=("time", "site"),
                           coords={"time": np.asarray(da["time"].values, dtype=float)}, name=name)
        return FieldSamples(out, pos, kind, name, 1.0 / sampling_step(da, name=f"{name!r}"))
    raise ShapeError(f"cannot fit a field to data with dims {tuple(da.dims)}. {_HOW}")


def field_samples(recording: Any, *, variable: str | None = None, window: Any = None,
                  calcium_ok: bool = False) -> FieldSamples:
    """Read the field samples out of a recording or a DataArray (see the module docstring).

    Parameters
    ----------
    recording : Dataset or DataArray
    variable : str, optional
        The signal to use when the recording holds several.
    window : (float, float), optional
        Keep the samples between these times (seconds).
    calcium_ok : bool
        ROI traces are fitted through an indicator model: no warning.

    Raises
    ------
    NoNeuralDataError
        The recording holds no samples of a field (spikes only, ROI traces without
        positions, ...); the message says what to give instead.

    Examples
    --------
    >>> from neurodata.datasets import load_sample
    >>> samples = field_samples(load_sample("sample_field", lazy=False))
    >>> samples.kind, samples.data.dims, samples.positions.shape
    ('array', ('time', 'site'), (36, 2))
    >>> field_samples(load_sample("sample_session"))
    Traceback (most recent call last):
    ...
    neurodata.errors.NoNeuralDataError: the recording holds spike trains: ...
    """
    if isinstance(recording, xr.Dataset):
        out = _from_dataset(recording, variable, window)
    elif isinstance(recording, xr.DataArray):
        out = _from_dataarray(recording, window)
    else:
        raise NeurodataError(f"the field model is fitted to a recording (xarray.Dataset) or a "
                             f"DataArray; got {type(recording).__name__}.")
    if out.kind == "rois" and not calcium_ok:
        warnings.warn(
            f"{out.name!r} holds calcium ROI traces: fluorescence is a slow, saturating read-out "
            f"of activity, so fitting it as direct samples of the field biases the mass and the "
            f"damping. Fit it through the indicator's kinetics (observation=CalciumIndicator()).",
            NeurodataWarning, stacklevel=3)
    return out
