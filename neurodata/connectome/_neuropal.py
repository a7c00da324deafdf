"""Reader for the NeuroPAL whole-brain activity .mat files used by the paper.

The layout (``Head_Activity_*.mat`` / ``Tail_Activity_*.mat``, Yemini et al.
2021): ``fps``; ``files`` (one entry per worm); ``neurons`` (neuron classes,
left and right combined); ``is_L`` and ``norm_traces`` (cells per class: for
a bilateral class ``2 x n_worms`` entries, whose ``is_L`` flag is 1 for the
left and 0 for the right neuron; otherwise ``n_worms`` entries with NaN
flags; an empty entry: not identified in that worm); ``stim_names``;
``stim_times`` ((slot, 2) on and off times, seconds, shared by the worms);
``stims`` (each worm's stimulus order: which stimulus was given in each slot,
as indices into ``stim_names``, 1-based as MATLAB writes them, 0-based, or
names).  Head and tail files come at different frame rates (the data's own
notes give 4 Hz and 3.87 Hz).

Stimulus alignment (ours, after the paper: worms received the stimuli in
different orders, and "the application of these stimuli provides
correspondence between the time axes"): the recording is cut at the slot
onsets; the part before the first onset is kept as it is, and each worm's
slot segments are put in one canonical order (stimulus by stimulus, in the
order of ``stim_names``; repeats by occurrence), each canonical segment as
long as the longest such segment of any worm, starting at the stimulus
onset.  A worm's shorter segment leaves NaN (missing) at its end; nothing of
the next stimulus is borrowed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from neurodata._utils import check_option, check_positive
from neurodata.connectome._neurons import neuron_class, select_neurons
from neurodata.errors import FileFormatError

__all__ = ["read_neuropal_mat"]

_NEEDED = {"fps", "files", "neurons", "is_L", "norm_traces", "stim_names", "stim_times"}


def _cells(value) -> list:
    """A MATLAB cell array as loaded by scipy, flattened to a list."""
    arr = np.asarray(value, dtype=object)
    return list(arr.reshape(-1)) if arr.size else []


def _scalar_str(value) -> str:
    arr = np.asarray(value)
    return str(arr.reshape(-1)[0]) if arr.size else ""


def _worm_traces(classes, is_left, traces, n_worms):
    """Per worm: {neuron name: trace} following the NeuroPAL file layout."""
    worms: list[dict[str, np.ndarray]] = [{} for _ in range(n_worms)]
    for cls, flags, cell in zip(classes, is_left, traces):
        flags = np.asarray(flags, dtype=float).reshape(-1)
        cell = _cells(cell)
        bilateral = len(cell) == 2 * n_worms
        if not bilateral and len(cell) != n_worms:
            raise FileFormatError(f"neuron {cls!r} has {len(cell)} traces for {n_worms} worms; "
                                  f"expected {n_worms} or {2 * n_worms}.")
        for slot, tr in enumerate(cell):
            tr = np.asarray(tr, dtype=float).reshape(-1)
            if tr.size == 0:
                continue
            worm = slot % n_worms
            name = cls
            if bilateral:
                flag = flags[slot] if slot < flags.size else np.nan
                if np.isnan(flag):
                    continue
                name = cls + ("L" if flag == 1 else "R")
            worms[worm][name] = tr
    return worms


@dataclass
class _File:
    """One NeuroPAL file, parsed."""

    path: str
    fps: float
    files: list[str]
    worms: list[dict[str, np.ndarray]]
    stim_names: list[str]
    stim_times: np.ndarray
    stims: np.ndarray | None = field(default=None)  # (worm, slot) stimulus index

    @property
    def duration(self) -> list[float]:
        return [max((tr.size for tr in w.values()), default=0) / self.fps for w in self.worms]


def _stim_order(raw, names: list[str], n_worms: int, n_slots: int, path) -> np.ndarray:
    """``stims`` as a (worm, slot) array of 0-based indices into ``names``."""
    cells = _cells(raw)
    if cells and np.asarray(cells[0]).dtype.kind in "US":
        flat = [_scalar_str(c) for c in cells]
        if any(f not in names for f in flat):
            raise FileFormatError(f"{path}: stims names {sorted(set(flat) - set(names))} are "
                                  f"not among stim_names {names}.")
        order = np.array([names.index(f) for f in flat])
    else:
        order = np.asarray(raw, dtype=float).reshape(-1)
        if order.size and order.min() >= 1 and order.max() <= len(names):
            order = order - 1  # MATLAB's 1-based indices
        order = order.astype(int)
    arr = np.asarray(raw)
    if order.size != n_worms * n_slots or order.min(initial=0) < 0 \
            or order.max(initial=0) >= len(names):
        raise FileFormatError(f"{path}: stims must give, for each of the {n_worms} worms, the "
                              f"stimulus of each of the {n_slots} slots of stim_times; got "
                              f"shape {arr.shape}.")
    if arr.ndim == 2 and arr.shape == (n_slots, n_worms) and n_slots != n_worms:
        return order.reshape(n_slots, n_worms).T
    return order.reshape(n_worms, n_slots)


def _parse(path) -> _File:
    from scipy.io import loadmat

    try:
        mat = loadmat(str(path))
    except (OSError, ValueError, NotImplementedError) as err:
        raise FileFormatError(f"cannot read NeuroPAL file {str(path)!r}: {err}") from err
    if missing := sorted(_NEEDED - set(mat)):
        raise FileFormatError(f"{Path(path).name} is not a NeuroPAL activity file: missing "
                              f"{missing}.")
    files = [_scalar_str(f) for f in _cells(mat["files"])]
    classes = [_scalar_str(c) for c in _cells(mat["neurons"])]
    names = [_scalar_str(s) for s in _cells(mat["stim_names"])]
    times = np.asarray(mat["stim_times"], dtype=float).reshape(-1, 2)
    stims = (_stim_order(mat["stims"], names, len(files), times.shape[0], path)
             if "stims" in mat else None)
    return _File(str(path), float(np.asarray(mat["fps"]).reshape(-1)[0]), files,
                 _worm_traces(classes, _cells(mat["is_L"]), _cells(mat["norm_traces"]),
                              len(files)), names, times, stims)


def _worm_key(name: str) -> str:
    """A worm's name with the words head/tail (and separators around them) removed."""
    key = re.sub(r"(?i)(^|[_\-. ])(head|tail)(?=$|[_\-. ])", r"\1", name)
    return re.sub(r"[_\-. ]+", "_", key).strip("_") or name


def _sample(tr: np.ndarray, fps: float, t: np.ndarray) -> np.ndarray:
    """Linear interpolation of a trace sampled at ``fps`` (from 0) at times ``t``; NaN outside."""
    pos = t * fps
    i0 = np.floor(pos).astype(int)
    frac = pos - i0
    ok = (i0 >= 0) & (i0 < tr.size) & np.isfinite(t)
    i0c = np.clip(i0, 0, tr.size - 1)
    i1c = np.clip(i0 + 1, 0, tr.size - 1)
    last = i0 + 1 >= tr.size
    ok &= ~(last & (frac > 1e-9))
    out = tr[i0c] * (1 - frac) + tr[i1c] * frac
    out[last & ok] = tr[i0c[last & ok]]
    return np.where(ok, out, np.nan)


def _canonical_layout(parsed: list[_File]):
    """Canonical segments: (stimulus, occurrence) keys, their lengths and onsets."""
    ref = parsed[0]
    for f in parsed:
        if f.stims is None:
            raise FileFormatError(f"{f.path}: align='stimulus' needs 'stims', each worm's "
                                  f"stimulus order; the file has none. Read it with align=None.")
        if f.stim_names != ref.stim_names or f.stim_times.shape != ref.stim_times.shape:
            raise FileFormatError(f"{f.path}: its stimuli ({f.stim_names}) differ from those "
                                  f"of {ref.path} ({ref.stim_names}); read them separately.")
    keys: dict[tuple[int, int], float] = {}
    for f in parsed:
        onsets = f.stim_times[:, 0]
        for w, order in enumerate(f.stims if f.stims is not None else []):
            ends = np.append(onsets[1:], max(f.duration[w], onsets[-1]))
            seen: dict[int, int] = {}
            for slot, stim in enumerate(order):
                key = (int(stim), seen.get(int(stim), 0))
                seen[int(stim)] = key[1] + 1
                keys[key] = max(keys.get(key, 0.0), ends[slot] - onsets[slot])
    order_keys = sorted(keys)
    baseline = float(ref.stim_times[0, 0])
    lengths = np.array([keys[k] for k in order_keys])
    starts = baseline + np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    return order_keys, starts, lengths, baseline


def _worm_times(f: _File, w: int, grid: np.ndarray, layout) -> tuple[np.ndarray, np.ndarray]:
    """Each canonical time's time in worm ``w`` of file ``f`` (NaN: none), and its slots."""
    keys, starts, _, baseline = layout
    onsets = f.stim_times[:, 0]
    ends = np.append(onsets[1:], np.inf)
    slot_of: dict[tuple[int, int], int] = {}
    seen: dict[int, int] = {}
    for slot, stim in enumerate(f.stims[w]):  # type: ignore[index]
        slot_of[(int(stim), seen.get(int(stim), 0))] = slot
        seen[int(stim)] = seen.get(int(stim), 0) + 1
    t = np.where(grid < baseline, grid, np.nan)
    seg = np.searchsorted(starts, grid, side="right") - 1
    slots = np.array([slot_of.get(k, -1) for k in keys])
    for q in range(len(keys)):
        sel = (seg == q) & (grid >= baseline)
        if slots[q] < 0 or not sel.any():
            continue
        local = onsets[slots[q]] + (grid[sel] - starts[q])
        t[sel] = np.where(local < ends[slots[q]] - 1e-9, local, np.nan)
    return t, slots


def _stimulus_coords(parsed: list[_File], align, layout, worm_slots, animals) -> dict:
    ref = parsed[0]
    if align == "stimulus":
        keys, starts, _, _ = layout
        on = ref.stim_times[:, 1] - ref.stim_times[:, 0]
        dur = [on[int(np.flatnonzero(ref.stims[0] == k[0])[k[1]])]  # type: ignore[index]
               for k in keys]
        return {"stimulus_start_time": ("stimulus", starts),
                "stimulus_stop_time": ("stimulus", starts + np.asarray(dur)),
                "stimulus_name": ("stimulus", [ref.stim_names[k[0]] for k in keys]),
                "stimulus_slot": (("animal", "stimulus"), np.stack(worm_slots))}
    coords: dict = {"stimulus_start_time": ("stimulus", ref.stim_times[:, 0]),
                    "stimulus_stop_time": ("stimulus", ref.stim_times[:, 1])}
    if ref.stims is None:  # no per-worm order: the names in their listed order
        coords["stimulus_name"] = ("stimulus", ref.stim_names[: ref.stim_times.shape[0]])
    else:
        merged = len(parsed) > 1
        order = {(_worm_key(a) if merged else a): [ref.stim_names[s] for s in f.stims[w]]
                 for f in parsed if f.stims is not None for w, a in enumerate(f.files)}
        coords["stimulus_order"] = (("animal", "stimulus"),
                                    np.array([order[a] for a in animals], dtype=object))
    return coords


def read_neuropal_mat(path, *, align: str | None = None, fps: float | None = None,
                      neurons=None) -> xr.Dataset:
    """Read NeuroPAL whole-brain activity files (Yemini et al. 2021) as one recording.

    Parameters
    ----------
    path : path-like or sequence of them
        A ``Head_Activity_*.mat`` file, or several files of the same worms
        (head and tail), merged worm by worm: worms are matched by their
        ``files`` entries with the words "head"/"tail" removed, neurons
        united.  The file layout is in the module docstring.
    align : {None, "stimulus"}
        None: time as recorded.  ``"stimulus"``: every worm's stimulus
        segments put in one canonical order (see the module docstring), so
        that one time index means the same stimulus in every worm.
    fps : float, optional
        Frame rate of the output grid; default the first file's.  Files at
        other rates (tails) are linearly interpolated onto it.
    neurons : role(s) or names, optional
        Keep only some neurons: ``"sensory"``, ``("sensory", "inter")`` (the
        paper used sensory neurons and interneurons) keep the neurons all of
        whose roles are among those given, by the shipped class table
        (:func:`celegans_neuron_classes`); a list of neuron or class names
        keeps those.

    Returns
    -------
    xarray.Dataset
        ``traces`` (animal, time, roi) float32, NaN where a neuron was not
        identified, a worm's recording is shorter, or (aligned) a worm's
        segment is shorter than the canonical one; ``roi`` holds the neuron
        names (class + L/R) with ``roi_class``; ``animal`` the worms;
        ``time`` seconds.  The stimulus schedule is an interval table on dim
        ``stimulus`` (``stimulus_start_time``, ``stimulus_stop_time``,
        ``stimulus_name``; aligned: ``stimulus_slot`` (animal, stimulus), the
        slot each worm got it in; not aligned, with ``stims``:
        ``stimulus_order`` (animal, stimulus), the stimulus of each slot).

    Raises
    ------
    FileFormatError
        A file is missing or lacks the NeuroPAL variables, or
        ``align="stimulus"`` without ``stims``.

    Examples
    --------
    >>> read_neuropal_mat("missing.mat")
    Traceback (most recent call last):
    ...
    neurodata.errors.FileFormatError: cannot read NeuroPAL file 'missing.mat': ...
    """
    check_option("align", align, (None, "stimulus"))
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    parsed = [_parse(p) for p in paths]
    fps = check_positive("fps", fps) if fps is not None else parsed[0].fps
    layout = _canonical_layout(parsed) if align == "stimulus" else None
    worms: dict[str, dict[str, np.ndarray]] = {}
    slots: dict[str, np.ndarray] = {}
    span = max(max(f.duration, default=0.0) for f in parsed)
    if layout is not None:
        span = layout[1][-1] + layout[2][-1] if len(layout[0]) else layout[3]
    grid = np.arange(int(np.floor(span * fps + 1e-6))) / fps
    for f in parsed:
        for w, name in enumerate(f.files):
            key = _worm_key(name) if len(parsed) > 1 else name
            t = grid
            if layout is not None:
                t, slots[key] = _worm_times(f, w, grid, layout)
            got = worms.setdefault(key, {})
            for neuron, tr in f.worms[w].items():
                if neuron in got:
                    raise FileFormatError(f"neuron {neuron} of worm {key!r} is in two of the "
                                          f"files; pass each worm's head and tail once.")
                got[neuron] = _sample(tr, f.fps, t)
    return _dataset(parsed, worms, slots, grid, align, layout, neurons, fps)


def _dataset(parsed, worms, slots, grid, align, layout, neurons, fps) -> xr.Dataset:
    animals = list(worms)
    names = sorted({n for w in worms.values() for n in w})
    if neurons is not None:
        names = [n for n, keep in zip(names, select_neurons(names, neurons)) if keep]
    data = np.full((len(animals), grid.size, len(names)), np.nan, dtype=np.float32)
    index = {n: k for k, n in enumerate(names)}
    for a, animal in enumerate(animals):
        for name, tr in worms[animal].items():
            if name in index:
                data[a, :, index[name]] = tr
    coords = {"animal": animals, "time": grid, "roi": names,
              "roi_class": ("roi", [neuron_class(n) or "" for n in names])}
    coords.update(_stimulus_coords(parsed, align, layout, [slots.get(a) for a in animals]
                                   if align else None, animals))
    return xr.Dataset({"traces": (("animal", "time", "roi"), data)}, coords=coords,
                      attrs={"source_path": ";".join(f.path for f in parsed), "fps": fps,
                             "align": align or "none"})

