"""``make_allen_like``: files in the Allen Brain Observatory layouts, with known content.

No real Allen session with content ships with the package, so the readers of
:mod:`neurodata.io` are tested (and the Allen tutorial runs) on files written
here in the exact layouts of the Observatory's releases:

* ``"vc2p"``: a Visual Coding 2P experiment, NWB 1.0.5, written with h5py
  following the structure of the released ``<ophys_experiment_id>.nwb`` files;
* ``"neuropixels"``: a Visual Coding Neuropixels session file (NWB 2, written
  with pynwb in the layout allensdk's ecephys writer produces);
* ``"lfp"``: the separate LFP file of one probe of that session;
* ``"vbo"``: a Visual Behavior 2P (ophys) experiment;
* ``"vbn"``: a Visual Behavior Neuropixels session.

The Allen NWB extensions (``ndx-aibs-ecephys``, ...) add attributes to core
types; the files get them by relabelling the core groups after pynwb has
written them (:func:`retype`), so that the package writes them without
allensdk installed (in allensdk's environment the Visual Behavior files also get its
own extension objects: :mod:`neurodata.datasets._allen_sdk`).  The ground truth (every spike train, trace and table) is
returned with ``return_truth=True``.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neurodata._utils import (
    atomic_path,
    check_integer,
    check_option,
    check_positive,
    check_random_state,
)

__all__ = ["make_allen_like"]

KINDS = ("vc2p", "neuropixels", "lfp", "vbo", "vbn")
#: The reference time of every generated session.
START = datetime.datetime(2019, 1, 9, 13, 30, tzinfo=datetime.timezone.utc)


def retype(f: h5py.File, path: str, neurodata_type: str, namespace: str, **attrs: Any) -> None:
    """Relabel a group written as a core type as an extension type and add its attributes."""
    g = f[path]
    g.attrs["neurodata_type"] = neurodata_type
    g.attrs["namespace"] = namespace
    for key, value in attrs.items():
        g.attrs[key] = value


def columns_table(cls: Any, name: str, description: str, columns: dict[str, Any], *,
                  ids: np.ndarray | None = None, ragged: dict[str, list] | None = None) -> Any:
    """A DynamicTable subclass built column-wise (fast: no per-row Python calls).

    ``ragged`` columns are lists of per-row arrays, stored with a VectorIndex.
    """
    from hdmf.common import VectorData, VectorIndex

    cols: list = []
    n = len(next(iter(columns.values()))) if columns else len(next(iter((ragged or {}).values())))
    for key, values in columns.items():
        cols.append(VectorData(name=key, description=key.replace("_", " "), data=values))
    for key, rows in (ragged or {}).items():
        flat = np.concatenate(rows) if len(rows) else np.zeros(0)
        data = VectorData(name=key, description=key.replace("_", " "), data=flat)
        ends = np.cumsum([len(r) for r in rows]).astype(np.int64)
        cols += [data, VectorIndex(name=f"{key}_index", data=ends, target=data)]
    ids = np.arange(n) if ids is None else np.asarray(ids)
    return cls(name=name, description=description, id=ids, columns=cols)


@contextmanager
def written(nwbfile: Any, path: Path) -> Iterator[h5py.File]:
    """Write ``nwbfile`` with pynwb and yield it open in h5py for the Allen extension edits.

    Everything happens on a temporary file beside ``path``, moved into place
    at the end (:func:`neurodata._utils.atomic_path`).
    """
    from pynwb import NWBHDF5IO

    with atomic_path(path, overwrite=True, suffix=".nwb") as tmp:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)
        with h5py.File(tmp, "r+") as f:
            yield f


def time_series(name: str, data: Any, timestamps: np.ndarray, unit: str, **kw: Any) -> Any:
    from pynwb import TimeSeries

    return TimeSeries(name=name, data=data, timestamps=timestamps, unit=unit, **kw)


def make_allen_like(kind: str, path: str | os.PathLike | None = None, *,
                    n_units: int = 40, duration: float = 300.0, n_probes: int = 2,
                    n_channels: int = 32, n_rois: int = 12, random_state: Any = 0,
                    return_truth: bool = False) -> Any:
    """Write a synthetic session in an Allen Brain Observatory file layout.

    Parameters
    ----------
    kind : {"vc2p", "neuropixels", "lfp", "vbo", "vbn"}
        Which file: a Visual Coding 2P experiment (NWB 1), a Visual Coding
        Neuropixels session, the LFP file of its first probe, a Visual
        Behavior 2P experiment, or a Visual Behavior Neuropixels session.
    path : path-like, optional
        The file to write (default: ``allen_<kind>.nwb`` in a new temporary
        folder).  It is written atomically.
    n_units : int
        Sorted units of a Neuropixels session (spread over the probes).
    duration : float
        Session length in seconds; the stimulus blocks are scaled to it.
    n_probes, n_channels : int
        Probes of a Neuropixels session and channels per probe.
    n_rois : int
        ROIs of a 2P experiment.
    random_state : int, Generator or None
        Seed of the synthetic content.
    return_truth : bool
        Also return the ground truth (a dict of arrays and tables).

    Returns
    -------
    pathlib.Path, or (pathlib.Path, dict) with ``return_truth``
        The file, and what it holds.

    Notes
    -----
    Neuropixels units fire as Poisson processes: a baseline rate throughout,
    plus, during each drifting-grating presentation, ``peak *
    exp(kappa (cos 2(theta - preferred) - 1))`` (von Mises tuning over the
    180-degree orientation circle), with the tuning depth set by the unit's
    brain area (visual cortex strongly tuned, hippocampus barely).  2P traces
    are calcium transients of the same kind of tuning.

    The NWB 2 files are written by the pynwb installed.  allensdk 2.16's
    pynwb (2.8) cannot read the core types that pynwb >= 3 writes (the
    ``ElectrodesTable``, ...); to compare with allensdk, write the files in
    its environment.  Our readers open both.  Where allensdk is importable,
    the Visual Behavior files (``"vbo"``, ``"vbn"``) also get the lab
    metadata of its NWB extensions (``BehaviorSubject``, the session
    ``metadata``, ``task_parameters``), the stimulus frame times, the raw
    wheel signals (``dx``, ``v_sig``, ``v_in``) and, for 2P, the projections
    and motion correction, so that ``BehaviorOphysExperiment`` and
    ``BehaviorEcephysSession`` open them as they open the released files.

    Examples
    --------
    >>> import neurodata as nd
    >>> path = make_allen_like("neuropixels", n_units=12, duration=120.0)
    >>> with nd.open_allen(path) as ds:
    ...     print(ds.sizes["unit"], "drifting_gratings" in ds.dims)
    12 True
    """
    check_option("kind", kind, KINDS)
    check_integer("n_units", n_units)
    check_integer("n_probes", n_probes)
    check_integer("n_channels", n_channels, minimum=4)
    check_integer("n_rois", n_rois)
    check_positive("duration", duration)
    if duration < 60:
        from neurodata.errors import NeurodataError

        raise NeurodataError(f"duration must be at least 60 s (every stimulus block needs "
                             f"room); got {duration}.")
    rng = check_random_state(random_state)
    target = Path(path) if path is not None else \
        Path(tempfile.mkdtemp(prefix="neurodata_allen_")) / f"allen_{kind}.nwb"
    if kind in ("neuropixels", "vbn", "lfp"):
        from neurodata.datasets._allen_ecephys import write_ecephys_like

        truth = write_ecephys_like(kind, target, rng, n_units=n_units, duration=duration,
                                   n_probes=n_probes, n_channels=n_channels)
    else:
        from neurodata.datasets._allen_ophys import write_ophys_like

        truth = write_ophys_like(kind, target, rng, n_rois=n_rois, duration=duration)
    return (target, truth) if return_truth else target
