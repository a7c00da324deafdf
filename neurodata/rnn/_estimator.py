"""``SparseRNN``: the estimator around :func:`fit_force` and :func:`fit_bptt`."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodata._utils import (
    NeurodataEstimator,
    check_fraction,
    check_option,
    check_random_state,
    make_history,
    renamed_params,
    spawn_seed,
)
from neurodata.errors import NeurodataError, ShapeError
from neurodata.rnn._bptt import BPTTResult, fit_bptt
from neurodata.rnn._force import ForceResult, fit_force
from neurodata.rnn._metrics import cca_similarity, normalized_error, procrustes_distance
from neurodata.rnn._recording import SELECTORS, recording_trials
from neurodata.rnn._simulate import simulate_rate_network
from neurodata.rnn._validation import as_trials, check_aligned, select_units, time_step

__all__ = ["SparseRNN"]


@renamed_params(n_iter="max_iter")
class SparseRNN(NeurodataEstimator):
    """A rate RNN fitted to a circuit's output and to a sparse sample of its units.

    Salatiello & Giese (2020): train an RNN so that it reproduces the output of
    a biological circuit *and* the activity of the few of its neurons that were
    recorded, so that the RNN's other units take on the circuit's intrinsic
    dynamics and the model generalises better than one trained on output alone.

    The student is ``tau dx/dt = -x + J tanh(x) + B u + b``, ``z = W tanh(x)``,
    started from ``x0`` on every trial and integrated with forward Euler at
    the sampling interval of the data (full-FORCE keeps ``b = x0 = 0``; BPTT
    learns them, so that constrained units can carry baseline rates).

    * ``method="force"`` (default): full-FORCE (DePasquale et al. 2018) whose
      target-generating network receives the sampled units' activity as hint
      signals; see :func:`fit_force`.  This is our reading of the paper's
      abstract (its full text was not available to us), not a transcription of
      its algorithm.
    * ``method="bptt"``: backpropagation through time (PyTorch) on output error
      plus the error of student units ``0..M-1`` against the ``M`` sampled units
      (a fixed one-to-one mapping); see :func:`fit_bptt`.

    With ``sampled_fraction=0`` (and no ``sampled``) both train on the output
    alone: the baseline.

    Parameters
    ----------
    n_units : int
        Student size (its units are ``model_unit`` in the results).
    method : {"force", "bptt"}
        Training algorithm.
    sampled_fraction : float
        Fraction of the recorded units used as constraints when ``fit`` is not
        given ``sampled`` explicitly; drawn at random with ``random_state``.
    tau : float
        Student time constant (s).
    dt : float, optional
        Sampling interval (s); by default read from the ``time`` coordinate.
    g : float
        Gain of the initial (and, for full-FORCE, target-network) random weights.
    alpha, n_epochs, learn_every, output_scale, hint_scale, noise
        full-FORCE settings (:func:`fit_force`).
    input_scale : float
        Scale of the random input weights ``B``.
    max_iter, learning_rate, activity_weight
        BPTT settings (:func:`fit_bptt`).
    device : str
        Torch device for BPTT (CPU by default).
    random_state : None, int or Generator
        Seed of the sampled units and of all weights (None: fresh entropy).
    progress : bool or None
        Progress bars (None: shown in a terminal or notebook).

    Attributes
    ----------
    weights_ : DataArray (model_unit, model_unit_pre)
        Trained recurrent weights ``J``.
    input_weights_, output_weights_ : DataArray
        ``B`` (model_unit, input) and ``W`` (output, model_unit).
    bias_, initial_state_ : ndarray
        ``b`` and ``x0`` (zeros for full-FORCE).
    sampled_units_, unsampled_units_ : ndarray
        Labels of the recorded units used / not used in training.
    mapped_units_ : ndarray
        Student units constrained one-to-one to the sampled units (BPTT only).
    history_ : xarray.Dataset
        Training loss on ``iteration`` (an epoch of full-FORCE, an Adam step
        of BPTT): ``loss`` (force: normalised output error; bptt: the loss)
        and, for full-FORCE, ``current_error``.
    recorded_scale_ : float
        The recordings were divided by this (their largest absolute value).

    Examples
    --------
    From a recording: the recorded units' rates, the circuit's output (the
    ``emg`` series) and its input (the ``cue`` series), cut into trials.

    >>> from neurodata.datasets import make_rnn_teacher
    >>> rec = make_rnn_teacher(30, random_state=0)
    >>> model = SparseRNN(60, sampled_fraction=0.2, n_epochs=5, random_state=0, progress=False)
    >>> selectors = dict(variable="rates", behaviour="emg", stimulus="cue", trials="trial")
    >>> model = model.fit(rec, **selectors)
    >>> model.sampled_units_.size, bool(model.score(rec, **selectors) > 0.9)
    (6, True)
    """

    def __init__(self, n_units: int = 200, method: str = "force", sampled_fraction: float = 0.1,
                 *, tau: float = 0.05, dt: float | None = None, g: float = 0.5,
                 alpha: float = 10.0, n_epochs: int = 20, learn_every: int = 2,
                 input_scale: float = 0.3, output_scale: float = 0.3, hint_scale: float = 1.0,
                 noise: float = 0.0, max_iter: int = 300, learning_rate: float = 1e-2,
                 activity_weight: float = 1.0, device: str = "cpu",
                 random_state: Any = None, progress: bool | None = None):
        self.n_units = n_units
        self.method = method
        self.sampled_fraction = sampled_fraction
        self.tau = tau
        self.dt = dt
        self.g = g
        self.alpha = alpha
        self.n_epochs = n_epochs
        self.learn_every = learn_every
        self.input_scale = input_scale
        self.output_scale = output_scale
        self.hint_scale = hint_scale
        self.noise = noise
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.activity_weight = activity_weight
        self.device = device
        self.random_state = random_state
        self.progress = progress

    # --------------------------------------------------------------- inputs
    def _arrays(self, data, targets, recorded, selectors: dict, *, need_targets: bool,
                need_activity: bool, defaults: bool = True):
        """``(inputs, targets, recorded)`` as trial-major DataArrays, from a recording or arrays."""
        unknown = sorted(set(selectors) - set(SELECTORS))
        if unknown:
            raise NeurodataError(f"unknown selector(s) {unknown}; SparseRNN takes "
                                 f"{', '.join(SELECTORS)}.")
        if not isinstance(data, xr.Dataset):
            if selectors:
                raise NeurodataError(f"selectors ({', '.join(selectors)}) apply to a recording "
                                     f"(xarray.Dataset); got {type(data).__name__} inputs.")
            u = as_trials(data, "inputs", "input", min_steps=1 if not need_targets else 3)
            z = None if targets is None else as_trials(targets, "targets", "output")
            rec = None if recorded is None else as_trials(recorded, "recorded")
            return u, z, rec
        if targets is not None or recorded is not None:
            raise NeurodataError("with a recording, name its series instead of passing arrays: "
                                 "behaviour= (targets), variable= or bin_size= (recorded units).")
        sel = dict(selectors) if selectors or not defaults else \
            dict(getattr(self, "fit_selectors_", {}))
        if need_targets and sel.get("behaviour") is None:
            raise NeurodataError(
                "SparseRNN fits the circuit's output: name the recording's behaviour or EMG "
                "series with behaviour= (e.g. behaviour='emg'), and its stimulus or task "
                "series with stimulus=.")
        if not need_targets:
            sel["behaviour"] = None
        got = recording_trials(data, need_activity=need_activity, name="SparseRNN", **sel)
        inputs = got.inputs
        if inputs is None:  # an autonomous circuit: no input columns
            base = got.activity if got.activity is not None else got.targets
            if base is None:
                raise NeurodataError("name the recording's stimulus or task series with "
                                     "stimulus= to predict from it.")
            inputs = xr.zeros_like(base.isel({base.dims[-1]: slice(0, 0)})).rename(
                {base.dims[-1]: "input"})
        u = as_trials(inputs, "inputs", "input", min_steps=1)
        z = None if got.targets is None else as_trials(got.targets, "targets", "output")
        rec = None if got.activity is None else as_trials(got.activity, "recorded")
        return u, z, rec

    def _choose_sampled(self, recorded, sampled, rng) -> np.ndarray:
        if recorded is None:
            if sampled is not None:
                raise NeurodataError("sampled units were named but no recorded activity was "
                                     "given; pass recorded= (arrays) or variable=/bin_size= "
                                     "(a recording).")
            return np.array([], dtype=int)
        if sampled is not None:
            return select_units(recorded, sampled)
        fraction = check_fraction("sampled_fraction", self.sampled_fraction)
        n = recorded.sizes[recorded.dims[-1]]
        return np.sort(rng.choice(n, round(fraction * n), replace=False))

    # ------------------------------------------------------------------ fit
    def fit(self, recording, targets=None, recorded=None, sampled=None, **selectors
            ) -> SparseRNN:
        """Fit the student to a circuit's outputs and sampled units.

        Parameters
        ----------
        recording : Dataset, or DataArray / array (trial, time, input)
            A recording (:mod:`neurodata.schema`), named by the selectors
            below; or, the lower-level path, the task inputs themselves
            (``(time, input)`` or ``(trial, time, input)``).
        targets : DataArray (trial, time, output), optional
            The circuit's outputs (array path only).
        recorded : DataArray (trial, time, unit|roi), optional
            Activity of the recorded units (array path only).
        sampled : sequence of unit labels, optional
            The recorded units to train on; default: a random ``sampled_fraction``.
        **selectors
            For a recording: ``behaviour`` (the output series, e.g. EMG:
            required), ``stimulus`` (the input series: a cue, a stimulus; none
            for an autonomous circuit), ``variable`` (the recorded units'
            traces) or ``bin_size``/``smooth`` (their spike trains as firing
            rates, :func:`neurodata.signals.firing_rates`), ``trials`` (an
            interval table, default none: one trial) and ``window`` (``(t0,
            t1)`` around each trial start), ``condition`` (a trial column:
            trials are averaged within each condition).  All series are
            resampled onto the activity's time grid.

        Returns
        -------
        SparseRNN
            ``self``.
        """
        check_option("method", self.method, ("force", "bptt"))
        need = sampled is not None or self.sampled_fraction != 0
        u, z, rec = self._arrays(recording, targets, recorded, selectors, need_targets=True,
                                 need_activity=need, defaults=False)
        if z is None:
            raise NeurodataError("SparseRNN needs the circuit's outputs: pass targets=.")
        check_aligned(u, z, "inputs and targets")
        if rec is not None:
            check_aligned(u, rec, "inputs and recorded")
        rng = check_random_state(self.random_state)
        idx = self._choose_sampled(rec, sampled, rng)
        self.dt_ = time_step(u, self.dt)
        zv = z.values
        self.output_mean_ = zv.mean((0, 1))
        self.output_std_ = float(zv.std()) or 1.0
        activity = self._sampled_activity(rec, idx)
        res = self._train(u.values, (zv - self.output_mean_) / self.output_std_, activity,
                          spawn_seed(rng))
        self._store(res, u, z)
        self.fit_selectors_ = dict(selectors)
        return self

    def _sampled_activity(self, rec, idx: np.ndarray) -> np.ndarray | None:
        self.recorded_scale_ = 1.0
        if rec is None:
            self.sampled_units_ = self.unsampled_units_ = np.array([], dtype=int)
            return None
        feat = rec.dims[-1]
        labels = rec[feat].values if feat in rec.coords else np.arange(rec.sizes[feat])
        self.sampled_units_ = labels[idx]
        self.unsampled_units_ = np.delete(labels, idx)
        self.recorded_dim_ = str(feat)
        self.recorded_scale_ = float(np.abs(rec.values).max()) or 1.0
        return rec.values[..., idx] / self.recorded_scale_

    def _train(self, u: np.ndarray, zn: np.ndarray, activity: np.ndarray | None,
               seed: int) -> ForceResult | BPTTResult:
        if self.method == "force":
            hints = None if activity is None else activity - activity.mean((0, 1))
            self.mapped_units_ = np.array([], dtype=int)
            return fit_force(u, zn, hints, n_units=self.n_units, dt=self.dt_, tau=self.tau,
                             g=self.g, alpha=self.alpha, n_epochs=self.n_epochs,
                             learn_every=self.learn_every, input_scale=self.input_scale,
                             output_scale=self.output_scale, hint_scale=self.hint_scale,
                             noise=self.noise, random_state=seed, progress=self.progress)
        if activity is not None and activity.shape[-1] > self.n_units:
            raise ShapeError(f"BPTT maps each sampled unit to its own student unit, but "
                             f"{activity.shape[-1]} units were sampled for a student of "
                             f"{self.n_units}; raise n_units or sample fewer.")
        self.mapped_units_ = np.arange(0 if activity is None else activity.shape[-1])
        return fit_bptt(u, zn, activity, n_units=self.n_units, dt=self.dt_, tau=self.tau,
                        g=self.g, input_scale=self.input_scale, max_iter=self.max_iter,
                        learning_rate=self.learning_rate, activity_weight=self.activity_weight,
                        device=self.device, random_state=seed, progress=self.progress)

    def _store(self, res, u: xr.DataArray, z: xr.DataArray) -> None:
        units = np.arange(self.n_units)
        self.weights_ = xr.DataArray(res.weights, dims=("model_unit", "model_unit_pre"),
                                     coords={"model_unit": units, "model_unit_pre": units},
                                     name="weights")
        self.input_weights_ = xr.DataArray(res.input_weights, dims=("model_unit", "input"),
                                           coords={"model_unit": units, **_coord(u, "input")})
        self.output_weights_ = xr.DataArray(res.output_weights, dims=("output", "model_unit"),
                                            coords={"model_unit": units, **_coord(z, "output")})
        self.bias_ = np.asarray(getattr(res, "bias", np.zeros(self.n_units)))
        self.initial_state_ = np.asarray(getattr(res, "initial_state", np.zeros(self.n_units)))
        curves = {"loss": np.asarray(res.loss_curve)}
        if isinstance(res, ForceResult):
            curves["current_error"] = np.asarray(res.current_error_curve)
        self.history_ = make_history(curves, attrs={
            "iteration": "training epoch" if self.method == "force" else "Adam step"})
        self.n_inputs_ = u.sizes["input"]
        self._output_coord = _coord(z, "output")

    # -------------------------------------------------------------- predict
    def predict(self, recording, **selectors) -> xr.Dataset:
        """Run the trained student on a recording's inputs (or on input arrays).

        Parameters
        ----------
        recording : Dataset, or DataArray / array (trial, time, input)
            A recording (without selectors, those given to ``fit`` are used),
            or the inputs themselves.

        Returns
        -------
        xarray.Dataset
            ``outputs (trial, time, output)`` in the targets' units and
            ``rates (trial, time, model_unit)``, the student's ``tanh(x)``.
        """
        self._check_fitted()
        u, _, _ = self._arrays(recording, None, None, selectors, need_targets=False,
                               need_activity=False)
        if u.sizes["input"] != self.n_inputs_:
            raise ShapeError(f"the model was fitted with {self.n_inputs_} inputs; got "
                             f"{u.sizes['input']}.")
        j, b = self.weights_.values, self.input_weights_.values
        x0 = np.broadcast_to(self.initial_state_, (u.sizes["trial"], self.n_units))
        x = simulate_rate_network(j, x0, u.sizes["time"], dt=self.dt_, tau=self.tau,
                                  inputs=u.values @ b.T + self.bias_)
        rates = np.tanh(x)
        out = (rates @ self.output_weights_.values.T) * self.output_std_ + self.output_mean_
        coords = {k: v for k, v in u.coords.items() if set(v.dims) <= {"trial", "time"}}
        return xr.Dataset(
            {"outputs": (("trial", "time", "output"), out),
             "rates": (("trial", "time", "model_unit"), rates)},
            coords={**coords, "model_unit": np.arange(self.n_units), **self._output_coord},
        )

    def score(self, recording, targets=None, **selectors) -> float:
        """``1 - normalized_error`` of the predicted outputs (1 is perfect; higher is better).

        ``recording`` and the selectors are as in :meth:`fit` (``sampled`` is
        ignored; without selectors, those given to ``fit`` are used); on the
        array path pass the inputs and ``targets``.
        """
        self._check_fitted()
        selectors.pop("sampled", None)
        u, z, _ = self._arrays(recording, targets, None, selectors, need_targets=True,
                               need_activity=False)
        if z is None:
            raise NeurodataError("score needs the circuit's outputs: pass targets=.")
        return 1.0 - normalized_error(self.predict(u)["outputs"].values, z.values)

    def dynamics_similarity(self, recording, recorded=None, n_components: int = 10,
                            **selectors) -> dict[str, float]:
        """Compare the student's dynamics with the UNSAMPLED recorded units.

        The student's units that were not mapped to sampled units (all of them
        for full-FORCE) are compared with the recorded units that were not
        sampled (all recorded units if every unit was sampled), by
        :func:`cca_similarity` and :func:`procrustes_distance` on the leading
        ``n_components`` principal components.  ``recording`` and the
        selectors are as in :meth:`fit`; on the array path pass the inputs
        and ``recorded``.

        Returns
        -------
        dict
            ``{"cca": ..., "procrustes": ...}``.
        """
        self._check_fitted()
        u, _, rec = self._arrays(recording, None, recorded, selectors, need_targets=False,
                                 need_activity=True)
        if rec is None:
            raise NeurodataError("dynamics_similarity needs the recorded activity: pass "
                                 "recorded= (arrays) or a recording with variable=/bin_size=.")
        feat = rec.dims[-1]
        labels = rec[feat].values if feat in rec.coords else np.arange(rec.sizes[feat])
        keep = np.isin(labels, self.unsampled_units_) if self.unsampled_units_.size else \
            np.ones(labels.size, bool)
        rates = self.predict(u)["rates"].values
        free = np.setdiff1d(np.arange(self.n_units), self.mapped_units_)
        free = free if free.size else np.arange(self.n_units)
        a, b = rates[..., free], rec.values[..., keep]
        return {"cca": cca_similarity(a, b, n_components),
                "procrustes": procrustes_distance(a, b, n_components)}

    # --------------------------------------------------------------- result
    def to_dataset(self) -> xr.Dataset:
        """The fitted network as one Dataset (weights, sampled units, training history).

        Examples
        --------
        >>> from neurodata.datasets import make_rnn_teacher
        >>> rec = make_rnn_teacher(10, random_state=0)
        >>> model = SparseRNN(20, n_epochs=2, random_state=0, progress=False).fit(
        ...     rec, variable="rates", behaviour="emg", stimulus="cue", trials="trial")
        >>> sorted(model.to_dataset().dims)
        ['input', 'iteration', 'model_unit', 'model_unit_pre', 'output', 'sampled']
        """
        self._check_fitted()
        ds = xr.Dataset(
            {"weights": self.weights_, "input_weights": self.input_weights_,
             "output_weights": self.output_weights_,
             "bias": ("model_unit", self.bias_), "initial_state": ("model_unit", self.initial_state_),
             "output_mean": ("output", self.output_mean_),
             **{k: v for k, v in self.history_.data_vars.items()}},
            attrs={"method": self.method, "dt": float(self.dt_), "tau": float(self.tau),
                   "output_std": float(self.output_std_),
                   "recorded_scale": float(self.recorded_scale_)})
        if self.sampled_units_.size:  # which recorded units constrained the fit
            ds["sampled_unit"] = ("sampled", np.asarray(self.sampled_units_))
            ds["mapped_model_unit"] = ("sampled", _pad(self.mapped_units_,
                                                       self.sampled_units_.size))
        return ds


def _pad(mapped: np.ndarray, n: int) -> np.ndarray:
    """Mapped student unit of every sampled unit (-1: none, as in full-FORCE)."""
    out = np.full(n, -1, dtype=np.int64)
    out[:mapped.size] = mapped
    return out


def _coord(da: xr.DataArray, dim: str) -> dict:
    return {dim: da[dim].values} if dim in da.coords else {}
