"""Writing recordings and analysis results to NWB files (through pynwb), atomically."""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path

import h5py
import xarray as xr

from neurodata._utils._files import atomic_path
from neurodata.errors import FileFormatError, NeurodataError
from neurodata.io._h5 import open_h5
from neurodata.io._results import decode_result, encode_result

__all__ = ["atomic_path", "new_nwbfile", "read_results", "write_nwb"]


def _as_results(results) -> dict[str, xr.DataArray | xr.Dataset]:
    if isinstance(results, (xr.DataArray, xr.Dataset)):
        name = getattr(results, "name", None) or "result"
        return {str(name): results}
    if isinstance(results, Mapping):
        return {str(k): v for k, v in results.items()}
    raise NeurodataError(f"results must be a DataArray, a Dataset or a dict of them; got "
                         f"{type(results).__name__}.")


def _start_time(value) -> _dt.datetime:
    if value:
        try:
            t = _dt.datetime.fromisoformat(str(value))
            return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)
        except ValueError:
            pass
    return _dt.datetime.now(_dt.timezone.utc)


def new_nwbfile(attrs: Mapping | None = None):
    """A pynwb NWBFile carrying the session metadata found in a recording's attrs."""
    from pynwb import NWBFile

    attrs = attrs or {}
    return NWBFile(
        session_description=str(attrs.get("session_description") or "written by neurodata"),
        identifier=str(attrs.get("nwb_identifier") or f"neurodata-{os.urandom(6).hex()}"),
        session_start_time=_start_time(attrs.get("session_start_time")),
    )


def _quiet_io(path: Path, mode: str):
    from pynwb import NWBHDF5IO

    return NWBHDF5IO(str(path), mode=mode)


def write_nwb(results, path: str | os.PathLike, *, source: str | os.PathLike | None = None,
              module: str = "neurodata", description: str = "analysis results from neurodata",
              overwrite: bool = False) -> Path:
    """Write analysis results to an NWB file as a processing module.

    Parameters
    ----------
    results : DataArray, Dataset, or dict of them
        Any xarray result of this package.  Each becomes a one-row
        DynamicTable named after its key (or the DataArray's name) inside the
        processing module; :func:`read_results` restores it exactly (values,
        dims, coordinates, attrs).
    path : path-like
        The file to write.  Written to a temporary file first and moved into
        place, so a failure never leaves a half-written file.
    source : path-like, optional
        An NWB file to copy; the results are added to the copy.  The source is
        only read, never modified, and ``path`` must differ from it.
    module : str
        Name of the processing module (must not exist in ``source``).
    description : str
        Description of the processing module.
    overwrite : bool
        Replace ``path`` if it exists.

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> import tempfile, os
    >>> rates = xr.DataArray(np.arange(6.0).reshape(2, 3), dims=("unit", "time"),
    ...                      coords={"unit": [4, 7]}, name="rates", attrs={"bin_size": 0.1})
    >>> out = write_nwb(rates, os.path.join(tempfile.mkdtemp(), "results.nwb"))
    >>> back = read_results(out)["rates"]
    >>> back.identical(rates)
    True
    """
    items = _as_results(results)
    final = Path(os.fspath(path)).expanduser()
    if source is not None:
        src, _ = open_h5(source)
        src.close()
        if Path(os.fspath(source)).expanduser().resolve() == final.resolve():
            raise NeurodataError(f"path and source are the same file ({final}); neurodata never "
                                 f"modifies an input file. Write to a new path.")
    from pynwb import ProcessingModule

    with atomic_path(final, overwrite=overwrite, suffix=".nwb") as tmp:
        if source is not None:
            shutil.copyfile(source, tmp)
            io = _quiet_io(tmp, "a")
            nwbfile = _read_for_append(io, source)
        else:
            io, nwbfile = _quiet_io(tmp, "w"), new_nwbfile()
        try:
            if module in nwbfile.processing:
                raise NeurodataError(f"the file already has a processing module {module!r}; "
                                     f"pass module='another_name'.")
            pm = ProcessingModule(name=module, description=description)
            nwbfile.add_processing_module(pm)
            for name, result in items.items():
                pm.add(encode_result(result, name))
            with warnings.catch_warnings():
                # hdmf warns that a one-row column holding an N-d array does not match the
                # 1-d shape its spec suggests; the data round-trips exactly (tested).
                warnings.filterwarnings("ignore", message=".*[Ss]hape.*")
                io.write(nwbfile)
        finally:
            io.close()
    return final


def _read_for_append(io, source):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return io.read()
    except Exception as err:
        io.close()
        raise FileFormatError(f"pynwb cannot open {source} for appending ({type(err).__name__}: "
                              f"{err}); write the results to a new file with source=None.") from None


def read_results(path: str | os.PathLike, module: str = "neurodata") -> dict[str, xr.DataArray | xr.Dataset]:
    """Read back the results :func:`write_nwb` stored in a processing module.

    Parameters
    ----------
    path : path-like
        The NWB file.
    module : str
        The processing module's name.

    Returns
    -------
    dict
        Result name -> the restored DataArray or Dataset (loaded in memory).

    Examples
    --------
    See :func:`write_nwb`.
    """
    f, p = open_h5(path)
    with f:
        key = f"processing/{module}"
        if key not in f:
            have = list(f["processing"]) if "processing" in f else []
            raise NeurodataError(f"{p} has no processing module {module!r}; it has: "
                                 f"{', '.join(have) or 'none'}.")
        out = {}
        for name, group in f[key].items():
            if isinstance(group, h5py.Group):
                result = decode_result(group)
                if result is not None:
                    out[name] = result
        return out
