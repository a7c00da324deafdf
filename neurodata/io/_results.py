"""Encoding xarray results as NWB DynamicTables and decoding them again.

A result (a DataArray or Dataset) becomes one DynamicTable with a single row
in a processing module.  Each variable and coordinate is a column whose one
cell holds the whole array; the column's description is JSON recording its
role (data or coordinate), dims and attrs, and the table's description records
the result's kind, name and attrs.  Any NWB reader sees a valid table; ours
restores the exact xarray object.
"""

from __future__ import annotations

import json
from typing import Any

import h5py
import numpy as np
import xarray as xr

from neurodata.errors import NeurodataError

__all__ = ["decode_result", "encode_result", "result_columns"]

_MARK = "neurodata-result"


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _column_array(name: str, var: xr.Variable) -> tuple[np.ndarray, dict]:
    values = np.asarray(var.values)
    meta: dict = {"dims": [str(d) for d in var.dims], "attrs": _jsonable(dict(var.attrs)),
                  "dtype": values.dtype.str}
    if values.dtype.kind == "M":
        meta["datetime"] = values.dtype.str
        values = values.astype("datetime64[ns]").astype(np.int64)
    elif values.dtype.kind == "m":
        meta["timedelta"] = values.dtype.str
        values = values.astype("timedelta64[ns]").astype(np.int64)
    elif values.dtype.kind in "OU":
        flat = values.ravel()
        if not all(isinstance(v, str) for v in flat):
            raise NeurodataError(
                f"variable {name!r} holds Python objects that are not strings; NWB cannot store "
                f"them. Convert it to numbers or strings before writing.")
        values = values.astype(object)
        meta["dtype"] = "str"
    return values[None, ...], meta


def result_columns(result: xr.DataArray | xr.Dataset, name: str) -> tuple[str, list[tuple[str, np.ndarray, str]]]:
    """(table description, [(column name, one-row data, column description)])."""
    if isinstance(result, xr.DataArray):
        kind = "DataArray"
        data_name = result.name if result.name is not None else name
        ds = result.to_dataset(name=data_name)
    elif isinstance(result, xr.Dataset):
        kind, data_name, ds = "Dataset", None, result
    else:
        raise NeurodataError(f"results must be xarray DataArrays or Datasets; {name!r} is a "
                             f"{type(result).__name__}.")
    cols = []
    for vname, var in ds.variables.items():
        values, meta = _column_array(str(vname), var)
        meta["role"] = "coord" if vname in ds.coords else "data"
        cols.append((str(vname), values, json.dumps(meta)))
    desc = json.dumps({_MARK: kind, "name": str(data_name) if data_name is not None else None,
                       "attrs": _jsonable(dict(result.attrs))})
    return desc, cols


def encode_result(result: xr.DataArray | xr.Dataset, name: str):
    """Build an hdmf DynamicTable holding ``result`` (one row, one column per variable)."""
    from hdmf.common import DynamicTable, VectorData

    desc, cols = result_columns(result, name)
    columns = [VectorData(name=c, description=d, data=v) for c, v, d in cols]
    return DynamicTable(name=name, description=desc, columns=columns, id=[0])


def _decode_column(ds: h5py.Dataset) -> tuple[dict, np.ndarray]:
    meta = json.loads(ds.attrs["description"])
    values = ds[()][0]
    if meta.get("dtype") == "str":
        values = np.asarray(values, dtype=object)
        values = np.vectorize(lambda v: v.decode() if isinstance(v, bytes) else v,
                              otypes=[object])(values) if values.size else values
    elif "datetime" in meta:
        values = np.asarray(values).astype("datetime64[ns]").astype(meta["datetime"])
    elif "timedelta" in meta:
        values = np.asarray(values).astype("timedelta64[ns]").astype(meta["timedelta"])
    else:
        values = np.asarray(values).astype(np.dtype(meta["dtype"]), copy=False)
    return meta, values


def decode_result(group: h5py.Group) -> xr.DataArray | xr.Dataset | None:
    """Rebuild the xarray object stored in a results table (None if it is not one)."""
    try:
        tmeta = json.loads(group.attrs.get("description", ""))
    except (TypeError, ValueError):
        return None
    if not isinstance(tmeta, dict) or _MARK not in tmeta:
        return None
    data_vars: dict = {}
    coords: dict = {}
    for cname, obj in group.items():
        if cname == "id" or not isinstance(obj, h5py.Dataset):
            continue
        meta, values = _decode_column(obj)
        var = xr.Variable(meta["dims"], values, attrs=meta.get("attrs", {}))
        (coords if meta["role"] == "coord" else data_vars)[cname] = var
    ds = xr.Dataset(data_vars, coords=coords, attrs=tmeta.get("attrs", {}))
    if tmeta[_MARK] == "DataArray":
        out = ds[tmeta["name"]]
        out.attrs = dict(tmeta.get("attrs", {}))
        return out
    return ds
