"""Spikes to (neuron-ID, dt) token sequences: Neuroformer's spatiotemporal tokenizer.

Time is cut into *current-state* windows of length ``window``.  Every spike in a
window becomes one token pair: the neuron's ID and its time from the window start,
rounded to the nearest multiple of ``dt`` (the dt token).  The current window is
the autoregressive target, read as ``[SOS, s_1, ..., s_n]`` -> ``[s_1, ..., s_n, EOS]``;
the *past-state* window ``[start - window_prev, start)`` before it is the context,
read as ``[SOS, p_1, ..., p_m, EOS]``, with dt measured from the past window's start.
Sequences are padded with PAD to fixed block sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import xarray as xr

from neurodata._utils import check_random_state, renamed_kwargs
from neurodata.errors import InvalidRecordingError, NeurodataError, NoNeuralDataError

__all__ = ["SpikeTokenizer", "SpikeWindows", "spikes_from_recording", "window_starts"]

_OVERFLOW = ("truncate", "raise")


@dataclass
class SpikeWindows:
    """Token arrays of a set of windows (one row per window).

    ``x_id``/``x_dt`` are the model's current-state inputs and ``y_id``/``y_dt`` its
    targets (both ``(window, block_size)``); ``prev_id``/``prev_dt`` the past state
    ``(window, block_size_prev)``; ``start`` the window start times (s); ``interval``
    the index of the interval (trial) each window belongs to; ``n_current`` and
    ``n_prev`` the spikes kept in each window.  ``frame_index`` ``(window, frame)``,
    ``behaviour`` ``(window, variable, sample)`` and ``target`` ``(window, output)``
    hold the other modalities when they are attached.

    Examples
    --------
    >>> ds = xr.Dataset({"spike_times": ("spike", [0.01, 0.07]), "spike_unit": ("spike", [0, 1])},
    ...                 coords={"unit": [0, 1]})
    >>> w = SpikeTokenizer(window_prev=0.05).fit(ds, intervals=[(0, 0.1)]).transform(
    ...     ds, intervals=[(0, 0.1)])
    >>> len(w), w.n_current.tolist(), len(w.subset([1]))
    (2, [1, 1], 1)
    """

    start: np.ndarray
    interval: np.ndarray
    x_id: np.ndarray
    x_dt: np.ndarray
    y_id: np.ndarray
    y_dt: np.ndarray
    prev_id: np.ndarray
    prev_dt: np.ndarray
    n_current: np.ndarray
    n_prev: np.ndarray
    frame_index: np.ndarray | None = None
    behaviour: np.ndarray | None = None
    target: np.ndarray | None = None
    extras: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.start.shape[0])

    def subset(self, index) -> SpikeWindows:
        """Return the windows selected by ``index`` (integer array, slice or mask)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value[index] if isinstance(value, np.ndarray) else value
        return SpikeWindows(**out)


def window_starts(intervals: np.ndarray, window: float) -> tuple[np.ndarray, np.ndarray]:
    """Tile each ``[start, stop)`` interval with consecutive windows.

    Returns the window start times and, for each, the index of its interval.  A
    partial window at the end of an interval is dropped.

    Examples
    --------
    >>> starts, which = window_starts(np.array([[0.0, 0.2], [1.0, 1.12]]), 0.05)
    >>> starts.round(2).tolist(), which.tolist()
    ([0.0, 0.05, 0.1, 0.15, 1.0, 1.05], [0, 0, 0, 0, 1, 1])
    """
    intervals = np.asarray(intervals, dtype=float).reshape(-1, 2)
    n = np.floor((intervals[:, 1] - intervals[:, 0]) / window + 1e-9).astype(int)
    n = np.maximum(n, 0)
    which = np.repeat(np.arange(len(intervals)), n)
    first = np.repeat(np.cumsum(n) - n, n)
    k = np.arange(n.sum()) - first
    return intervals[which, 0] + k * window, which


def spikes_from_recording(data, units=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(spike_times, unit_index, unit_ids)`` from a recording or binned counts.

    ``data`` is a recording :class:`xarray.Dataset` with ``spike_times(spike)``
    and ``spike_unit(spike)``, or binned counts: a ``(time, unit)`` DataArray
    with ``attrs["bin_size"]`` (or regular bin centres), whose counts become that
    many spikes at each bin's start.  ``units`` fixes the vocabulary (unit ids in
    token order); a unit outside it raises.

    Examples
    --------
    >>> counts = xr.DataArray([[0, 2], [1, 0]], dims=("time", "unit"),
    ...                       coords={"time": [0.005, 0.015], "unit": [7, 9]},
    ...                       attrs={"bin_size": 0.01})
    >>> t, u, ids = spikes_from_recording(counts)
    >>> t.round(3).tolist(), u.tolist(), ids.tolist()
    ([0.0, 0.0, 0.01], [1, 1, 0], [7, 9])
    """
    if isinstance(data, xr.DataArray):
        times, cols, unit_ids = _spikes_from_counts(data)
    elif isinstance(data, xr.Dataset):
        if "spike_times" not in data.variables or "spike_unit" not in data.variables:
            raise NoNeuralDataError(
                "this recording has no spikes: Neuroformer needs spike_times(spike) and "
                "spike_unit(spike) (or pass binned counts as a (time, unit) DataArray).")
        times = np.asarray(data["spike_times"].values, dtype=float)
        cols = np.asarray(data["spike_unit"].values)
        unit_ids = (np.asarray(data["unit"].values) if "unit" in data.coords
                    else np.unique(cols))
        if times.size and not np.all(np.isfinite(times)):
            raise InvalidRecordingError("'spike_times' has NaN or infinite values; remove those "
                                        "spikes first.")
        if times.size > 1 and np.any(np.diff(times) < 0):
            order = np.argsort(times, kind="stable")
            times, cols = times[order], cols[order]
    else:
        raise InvalidRecordingError(
            f"expected a recording (xarray.Dataset with spike_times/spike_unit) or binned "
            f"counts (a (time, unit) DataArray); got {type(data).__name__}.")
    if times.size == 0:
        raise NoNeuralDataError("the recording has no spikes (spike_times is empty); there is "
                                "nothing to tokenize.")
    vocab = np.asarray(unit_ids if units is None else units)
    order = np.argsort(vocab, kind="stable")
    pos = np.searchsorted(vocab[order], cols)
    pos = np.clip(pos, 0, len(vocab) - 1)
    known = vocab[order][pos] == cols
    if not known.all():
        bad = np.unique(cols[~known])[:5].tolist()
        raise NeurodataError(
            f"{np.unique(cols[~known]).size} unit(s) are not in the tokenizer's vocabulary of "
            f"{len(vocab)} neurons (e.g. {bad}); a model's vocabulary is fixed when it is fit: "
            f"select the fitted units (ds.sel(unit=model.units_)) or fit a new model.")
    return times, order[pos].astype(np.int64), vocab


def _spikes_from_counts(counts: xr.DataArray):
    if counts.dims != ("time", "unit"):
        raise InvalidRecordingError(f"binned counts must have dims ('time', 'unit'); got "
                                    f"{counts.dims}. Transpose with counts.transpose('time', 'unit').")
    t = np.asarray(counts["time"].values, dtype=float)
    values = np.asarray(counts.values)
    if not np.all(np.isfinite(values)) or np.any(values < 0) or np.any(values != np.round(values)):
        raise InvalidRecordingError("binned counts must be finite non-negative integers.")
    bin_size = counts.attrs.get("bin_size")
    if bin_size is None:
        if t.size < 2:
            raise InvalidRecordingError("binned counts need attrs['bin_size'] (seconds).")
        bin_size = float(np.median(np.diff(t)))
    n = values.astype(np.int64)
    flat = n.ravel()
    rows = np.repeat(np.arange(n.size) // n.shape[1], flat)
    cols_i = np.repeat(np.arange(n.size) % n.shape[1], flat)
    unit_ids = np.asarray(counts["unit"].values) if "unit" in counts.coords else np.arange(n.shape[1])
    return t[rows] - bin_size / 2, unit_ids[cols_i], unit_ids


def _tokens_in(times, units, lo, hi, origin, n_max, dt, overflow, what):
    """Padded (window, n_max) unit and dt tokens of the spikes in [lo, hi) index ranges."""
    n = hi - lo
    if np.any(n > n_max):
        if overflow == "raise":
            w = int(np.argmax(n))
            raise NeurodataError(
                f"{int((n > n_max).sum())} {what} window(s) hold more spikes than the block "
                f"allows ({int(n[w])} > {n_max}); raise the block size or pass "
                f"overflow='truncate' to keep the latest spikes.")
        lo = np.maximum(lo, hi - n_max)
    kept = hi - lo
    k = np.arange(n_max)
    idx = np.minimum(lo[:, None] + k[None, :], max(len(times) - 1, 0))
    valid = k[None, :] < kept[:, None]
    ids = np.where(valid, units[idx], -1)
    dts = np.where(valid, np.floor((times[idx] - origin[:, None]) / dt + 0.5), -1).astype(np.int64)
    return ids, dts, kept, int((n - kept).sum())


class SpikeTokenizer:
    """Turn spikes into Neuroformer's (neuron-ID, dt) windows.

    Parameters
    ----------
    window : float
        Current-state window (s), the autoregressive target.  Paper default 0.05.
    window_prev : float
        Past-state window (s) just before it, the context.  The paper uses 0.05 to
        0.15; default 0.15.
    dt : float
        Resolution of the dt tokens (s); a spike's dt is its time from its window's
        start rounded to the nearest multiple of ``dt`` (as in the reference code),
        so dt takes ``round(max(window, window_prev) / dt) + 1`` values.
    block_size, block_size_prev : int or None
        Length of the current-state input (at most ``block_size - 1`` spikes per
        window) and of the past state (at most ``block_size_prev - 2`` spikes, between
        SOS and EOS).  None: fitted to the busiest window of the data given to
        :meth:`fit`, rounded up to a multiple of 8.
    overflow : {"truncate", "raise"}
        What to do with a window holding more spikes than its block: keep the
        latest spikes (as the reference code does; the number dropped by the last
        transform is in ``n_truncated_``), or raise.

    Attributes
    ----------
    units_ : ndarray
        Unit ids in token order (token ``i`` is unit ``units_[i]``).
    n_units_, block_size_, block_size_prev_ : int
    sos_, eos_, pad_ : int
        Special ID tokens (``n_units_``, ``n_units_ + 1``, ``n_units_ + 2``).
    n_dt_, dt_eos_, dt_pad_ : int
        Number of dt values, and the dt tokens of EOS and PAD.

    Examples
    --------
    >>> ds = xr.Dataset({"spike_times": ("spike", [0.012, 0.031, 0.064]),
    ...                  "spike_unit": ("spike", [5, 3, 5])}, coords={"unit": [3, 5]})
    >>> tok = SpikeTokenizer(window=0.05, window_prev=0.05, dt=0.01).fit(ds)
    >>> w = tok.transform(ds, intervals=[(0.0, 0.1)])
    >>> w.x_id[0, :4].tolist(), w.y_id[0, :4].tolist()   # SOS=2, EOS=3, PAD=4
    ([2, 1, 0, 3], [1, 0, 3, 4])
    >>> w.y_dt[0, :2].tolist(), w.prev_id[1, :4].tolist()
    ([1, 3], [2, 1, 0, 3])
    """

    def __init__(self, window: float = 0.05, window_prev: float = 0.15, dt: float = 0.01, *,
                 block_size: int | None = None, block_size_prev: int | None = None,
                 overflow: str = "truncate"):
        self.window = window
        self.window_prev = window_prev
        self.dt = dt
        self.block_size = block_size
        self.block_size_prev = block_size_prev
        self.overflow = overflow

    # -- parameters -------------------------------------------------------------------
    def _check(self) -> None:
        if not (self.window > 0 and self.window_prev > 0 and self.dt > 0):
            raise NeurodataError(f"window, window_prev and dt must be positive; got "
                                 f"{self.window}, {self.window_prev}, {self.dt}.")
        if self.dt > min(self.window, self.window_prev):
            raise NeurodataError(f"dt={self.dt} is longer than a window; pass dt <= "
                                 f"{min(self.window, self.window_prev)}.")
        if self.overflow not in _OVERFLOW:
            raise NeurodataError(f"overflow must be one of {_OVERFLOW}; got {self.overflow!r}.")
        for name, low in (("block_size", 2), ("block_size_prev", 3)):
            value = getattr(self, name)
            if value is not None and (int(value) != value or value < low):
                raise NeurodataError(f"{name} must be an integer >= {low}; got {value}.")

    @property
    def n_dt_(self) -> int:
        return round(max(self.window, self.window_prev) / self.dt) + 1

    @property
    def dt_eos_(self) -> int:
        return self.n_dt_

    @property
    def dt_pad_(self) -> int:
        return self.n_dt_ + 1

    @property
    def sos_(self) -> int:
        return self.n_units_

    @property
    def eos_(self) -> int:
        return self.n_units_ + 1

    @property
    def pad_(self) -> int:
        return self.n_units_ + 2

    @property
    def id_vocab_size_(self) -> int:
        return self.n_units_ + 3

    @property
    def dt_vocab_size_(self) -> int:
        return self.n_dt_ + 2

    def get_state(self) -> dict:
        """Everything needed to rebuild the fitted tokenizer (stored in checkpoints)."""
        return {"window": self.window, "window_prev": self.window_prev, "dt": self.dt,
                "block_size": self.block_size_, "block_size_prev": self.block_size_prev_,
                "overflow": self.overflow, "units": np.asarray(self.units_).tolist()}

    @classmethod
    def from_state(cls, state: dict) -> SpikeTokenizer:
        """Rebuild a fitted tokenizer from :meth:`get_state`."""
        tok = cls(state["window"], state["window_prev"], state["dt"],
                  block_size=state["block_size"], block_size_prev=state["block_size_prev"],
                  overflow=state["overflow"])
        tok.units_ = np.asarray(state["units"])
        tok.n_units_ = len(tok.units_)
        tok.block_size_, tok.block_size_prev_ = state["block_size"], state["block_size_prev"]
        tok.n_truncated_ = 0
        return tok

    # -- fitting ----------------------------------------------------------------------
    def fit(self, data, *, intervals=None, units=None, n_units: int | None = None) -> SpikeTokenizer:
        """Fix the vocabulary (the recording's units) and, if not given, the block sizes.

        ``units`` restricts or orders the vocabulary; ``n_units`` is a vocabulary
        size limit, and a recording with more units than that raises.
        """
        self._check()
        times, _, vocab = spikes_from_recording(data, units)
        if n_units is not None and len(vocab) > n_units:
            raise NeurodataError(
                f"the recording has {len(vocab)} units but the vocabulary holds {n_units}; "
                f"select at most {n_units} units or raise n_units.")
        self.units_, self.n_units_ = vocab, len(vocab)
        starts, _ = window_starts(self._intervals(data, times, intervals), self.window)
        n_cur = np.searchsorted(times, starts + self.window) - np.searchsorted(times, starts)
        n_prev = np.searchsorted(times, starts) - np.searchsorted(times, starts - self.window_prev)
        round8 = lambda n: int(8 * np.ceil(n / 8))  # noqa: E731
        self.block_size_ = (self.block_size if self.block_size is not None
                            else round8(int(n_cur.max(initial=0)) + 1))
        self.block_size_prev_ = (self.block_size_prev if self.block_size_prev is not None
                                 else round8(int(n_prev.max(initial=0)) + 2))
        self.n_truncated_ = 0
        return self

    def _intervals(self, data, times, intervals) -> np.ndarray:
        if intervals is None:
            if isinstance(data, xr.Dataset) and "trial_start_time" in data.coords:
                start = np.asarray(data["trial_start_time"].values, dtype=float)
                stop = np.asarray(data["trial_stop_time"].values, dtype=float)
                stop = np.where(np.isfinite(stop), stop, start)
                intervals = np.stack([start, stop], axis=1)
            else:
                intervals = np.array([[times[0], times[-1] + 1e-9]])
        intervals = np.asarray(intervals, dtype=float).reshape(-1, 2)
        if not np.all(np.isfinite(intervals)):
            raise NeurodataError("intervals must be finite [start, stop) pairs in seconds.")
        if window_starts(intervals, self.window)[0].size == 0:
            raise NeurodataError(
                f"no complete {self.window} s window fits in the given intervals (the longest "
                f"is {float(np.max(intervals[:, 1] - intervals[:, 0])):.3g} s); pass longer "
                f"intervals or a shorter window.")
        return intervals

    # -- transforming -----------------------------------------------------------------
    def transform(self, data, *, intervals=None, starts=None) -> SpikeWindows:
        """Tokenize the windows that tile ``intervals`` (default: the trials, or the span).

        ``starts`` gives window start times directly instead.  Windows without any
        spike are kept (they are ``[SOS] -> [EOS]``: silence is data), but if every
        window is empty an error is raised.
        """
        if not hasattr(self, "units_"):
            raise NeurodataError("this SpikeTokenizer is not fitted yet; call fit(recording).")
        times, uidx, _ = spikes_from_recording(data, self.units_)
        if starts is None:
            starts, which = window_starts(self._intervals(data, times, intervals), self.window)
        else:
            starts = np.asarray(starts, dtype=float).ravel()
            which = np.zeros(starts.shape, dtype=np.int64)
        return self.tokenize(times, uidx, starts, which)

    def tokenize(self, times: np.ndarray, uidx: np.ndarray, starts: np.ndarray,
                 which: np.ndarray | None = None, *, allow_empty: bool = False) -> SpikeWindows:
        """Tokenize sorted spikes (times, token index) for windows starting at ``starts``."""
        starts = np.asarray(starts, dtype=float)
        which = np.zeros(starts.shape, np.int64) if which is None else which
        T, Tp = self.block_size_, self.block_size_prev_
        lo = np.searchsorted(times, starts)
        hi = np.searchsorted(times, starts + self.window)
        ids, dts, n_cur, lost_c = _tokens_in(times, uidx, lo, hi, starts, T - 1, self.dt,
                                             self.overflow, "current-state")
        if not allow_empty and n_cur.sum() == 0:
            raise NoNeuralDataError(
                f"all {len(starts)} windows are empty: no spike falls in the requested "
                f"intervals; check the intervals against the spike times "
                f"({times[0]:.3f}-{times[-1]:.3f} s).")
        plo = np.searchsorted(times, starts - self.window_prev)
        pids, pdts, n_prev, lost_p = _tokens_in(times, uidx, plo, lo, starts - self.window_prev,
                                                Tp - 2, self.dt, self.overflow, "past-state")
        self.n_truncated_ = lost_c + lost_p
        W = len(starts)
        rows = np.arange(W)
        x_id = np.full((W, T + 1), self.pad_, np.int64)
        x_dt = np.full((W, T + 1), self.dt_pad_, np.int64)
        x_id[:, 0], x_dt[:, 0] = self.sos_, 0
        x_id[:, 1:T] = np.where(ids >= 0, ids, self.pad_)
        x_dt[:, 1:T] = np.where(dts >= 0, np.minimum(dts, self.n_dt_ - 1), self.dt_pad_)
        x_id[rows, n_cur + 1], x_dt[rows, n_cur + 1] = self.eos_, self.dt_eos_
        p_id = np.full((W, Tp), self.pad_, np.int64)
        p_dt = np.full((W, Tp), self.dt_pad_, np.int64)
        p_id[:, 0], p_dt[:, 0] = self.sos_, 0
        p_id[:, 1:Tp - 1] = np.where(pids >= 0, pids, self.pad_)
        p_dt[:, 1:Tp - 1] = np.where(pdts >= 0, np.minimum(pdts, self.n_dt_ - 1), self.dt_pad_)
        p_id[rows, n_prev + 1], p_dt[rows, n_prev + 1] = self.eos_, self.dt_eos_
        small = np.int32
        return SpikeWindows(
            start=starts, interval=np.asarray(which),
            x_id=x_id[:, :T].astype(small), x_dt=x_dt[:, :T].astype(small),
            y_id=x_id[:, 1:].astype(small), y_dt=x_dt[:, 1:].astype(small),
            prev_id=p_id.astype(small), prev_dt=p_dt.astype(small),
            n_current=n_cur, n_prev=n_prev)

    @renamed_kwargs(rng="random_state")
    def decode(self, ids: np.ndarray, dts: np.ndarray, starts: np.ndarray,
               random_state=None, *, jitter: bool = False):
        """Turn current-state tokens back into spike (time, unit id) arrays.

        ``ids``/``dts`` are ``(window, position)`` token arrays (special tokens are
        skipped).  A dt token ``k`` stands for the times that round to ``k * dt``; with
        ``jitter`` each spike is placed uniformly in that bin (clipped to the window), the
        inverse of the rounding, drawing from ``random_state`` (None: fresh entropy);
        otherwise at ``k * dt``.  Returns times sorted.

        Examples
        --------
        >>> import numpy as np
        >>> from neurodata.datasets import make_hub_network
        >>> tok = SpikeTokenizer().fit(make_hub_network(n_trials=1, random_state=0))
        >>> t, u = tok.decode(np.array([[0, 1]]), np.array([[2, 0]]), np.array([10.0]))
        >>> t.round(3).tolist(), u.tolist() == tok.units_[[1, 0]].tolist()
        ([10.0, 10.02], True)
        """
        ids, dts = np.asarray(ids), np.asarray(dts)
        keep = (ids < self.n_units_) & (dts < self.n_dt_)
        w, _ = np.nonzero(keep)
        k = dts[keep].astype(float)
        offset = k * self.dt
        if jitter or random_state is not None:
            rng = check_random_state(random_state)
            lo = np.maximum(offset - self.dt / 2, 0.0)
            hi = np.minimum(offset + self.dt / 2, self.window)
            offset = lo + rng.random(offset.shape) * np.maximum(hi - lo, 0.0)
        t = np.asarray(starts)[w] + np.minimum(offset, self.window * (1 - 1e-9))
        order = np.argsort(t, kind="stable")
        return t[order], np.asarray(self.units_)[ids[keep]][order]
