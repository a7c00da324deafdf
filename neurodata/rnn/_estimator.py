"""``SparseRNN``: the estimator around :func:`fit_force` and :func:`fit_bptt`."""

from __future__ import annotations

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator

from neurodata.errors import NeurodataError, ShapeError
from neurodata.rnn._bptt import BPTTResult, fit_bptt
from neurodata.rnn._force import ForceResult, fit_force
from neurodata.rnn._metrics import cca_similarity, normalized_error, procrustes_distance
from neurodata.rnn._simulate import simulate_rate_network
from neurodata.rnn._validation import as_trials, check_aligned, select_units, time_step

__all__ = ["SparseRNN"]


class SparseRNN(BaseEstimator):
    """A rate RNN fitted to a circuit's output and to a sparse sample of its units.

    Salatiello & Giese (2020): train an RNN so that it reproduces the output of
    a biological circuit *and* the activity of the few of its neurons that were
    recorded, so that the RNN's other units take on the circuit's intrinsic
    dynamics and the model generalises better than one trained on output alone.

    The student is ``tau dx/dt = -x + J tanh(x) + B u + b``, ``z = W tanh(x)``,
    started from ``x0`` on every trial and integrated with forward Euler at
    the sampling interval of the data (full-FORCE keeps ``b = x0 = 0``; BPTT
    learns them, so that constrained units can carry baseline rates).

    * ``method="force"`` (default, the paper's algorithm): full-FORCE
      (DePasquale et al. 2018) whose target-generating network receives the
      sampled units' activity as hint signals; see :func:`fit_force`.
    * ``method="bptt"``: backpropagation through time (PyTorch) on output error
      plus the error of student units ``0..M-1`` against the ``M`` sampled units
      (a fixed one-to-one mapping); see :func:`fit_bptt`.

    With ``sampled_fraction=0`` (or no ``recorded``) both train on the output
    alone: the baseline.

    Parameters
    ----------
    n_units : int
        Student size.
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
    n_iter, learning_rate, activity_weight
        BPTT settings (:func:`fit_bptt`).
    device : str
        Torch device for BPTT (CPU by default).
    random_state : int or None
        Seed of the sampled units and of all weights.
    progress : bool
        Show progress bars.

    Attributes
    ----------
    weights_ : DataArray (rnn_unit, rnn_unit_pre)
        Trained recurrent weights ``J``.
    input_weights_, output_weights_ : DataArray
        ``B`` (rnn_unit, input) and ``W`` (output, rnn_unit).
    bias_, initial_state_ : ndarray
        ``b`` and ``x0`` (zeros for full-FORCE).
    sampled_units_, unsampled_units_ : ndarray
        Labels of the recorded units used / not used in training.
    mapped_units_ : ndarray
        Student units constrained one-to-one to the sampled units (BPTT only).
    loss_curve_ : ndarray
        Training loss per epoch (force: normalised output error) or iteration (bptt).
    recorded_scale_ : float
        The recordings were divided by this (their largest absolute value).

    Examples
    --------
    >>> from neurodata.datasets import make_rnn_teacher
    >>> teacher = make_rnn_teacher(30, random_state=0)
    >>> model = SparseRNN(60, sampled_fraction=0.2, n_epochs=5, random_state=0,
    ...                   progress=False)
    >>> model = model.fit(teacher.inputs, teacher.outputs, teacher.rates)
    >>> model.sampled_units_.size, bool(model.score(teacher.inputs, teacher.outputs) > 0.9)
    (6, True)
    """

    def __init__(self, n_units: int = 200, method: str = "force", sampled_fraction: float = 0.1,
                 *, tau: float = 0.05, dt: float | None = None, g: float = 0.5,
                 alpha: float = 10.0, n_epochs: int = 20, learn_every: int = 2,
                 input_scale: float = 0.3, output_scale: float = 0.3, hint_scale: float = 1.0,
                 noise: float = 0.0, n_iter: int = 300, learning_rate: float = 1e-2,
                 activity_weight: float = 1.0, device: str = "cpu",
                 random_state: int | None = None, progress: bool = True):
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
        self.n_iter = n_iter
        self.learning_rate = learning_rate
        self.activity_weight = activity_weight
        self.device = device
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ fit
    def _choose_sampled(self, recorded, sampled, rng) -> np.ndarray:
        if recorded is None:
            if sampled is not None:
                raise NeurodataError("sampled units were named but no recorded activity was "
                                     "given; pass recorded=.")
            return np.array([], dtype=int)
        if sampled is not None:
            return select_units(recorded, sampled)
        if not 0.0 <= self.sampled_fraction <= 1.0:
            raise ValueError(f"sampled_fraction must lie in [0, 1]; got {self.sampled_fraction}.")
        n = recorded.sizes[recorded.dims[-1]]
        m = round(self.sampled_fraction * n)
        return np.sort(rng.choice(n, m, replace=False))

    def fit(self, inputs, targets, recorded=None, sampled=None) -> SparseRNN:
        """Fit the student to a circuit's outputs and sampled units.

        Parameters
        ----------
        inputs : DataArray (trial, time, input) or (time, input)
            Task inputs (the condition cue).
        targets : DataArray (trial, time, output) or (time, output)
            The circuit's outputs.
        recorded : DataArray (trial, time, unit) or (time, unit), optional
            Firing rates of the recorded units (from ``bin_spikes``/``align``
            or a teacher); ``unit`` may also be ``roi``.
        sampled : sequence of unit labels, optional
            The units to train on; default: a random ``sampled_fraction``.

        Returns
        -------
        SparseRNN
            ``self``.
        """
        if self.method not in ("force", "bptt"):
            raise ValueError(f"method must be 'force' or 'bptt'; got {self.method!r}.")
        u = as_trials(inputs, "inputs", "input")
        z = as_trials(targets, "targets", "output")
        check_aligned(u, z, "inputs and targets")
        rec = None if recorded is None else as_trials(recorded, "recorded")
        if rec is not None:
            check_aligned(u, rec, "inputs and recorded")
        rng = np.random.default_rng(self.random_state)
        idx = self._choose_sampled(rec, sampled, rng)
        self.dt_ = time_step(u, self.dt)
        zv = z.values
        self.output_mean_ = zv.mean((0, 1))
        self.output_std_ = float(zv.std()) or 1.0
        zn = (zv - self.output_mean_) / self.output_std_
        activity = None
        self.recorded_scale_ = 1.0
        if rec is not None:
            feat = rec.dims[-1]
            labels = rec[feat].values if feat in rec.coords else np.arange(rec.sizes[feat])
            self.sampled_units_ = labels[idx]
            self.unsampled_units_ = np.delete(labels, idx)
            self.recorded_scale_ = float(np.abs(rec.values).max()) or 1.0
            activity = rec.values[..., idx] / self.recorded_scale_
        else:
            self.sampled_units_ = self.unsampled_units_ = np.array([], dtype=int)
        seed = int(rng.integers(2**32))
        res: ForceResult | BPTTResult
        if self.method == "force":
            hints = None if activity is None else activity - activity.mean((0, 1))
            res = fit_force(u.values, zn, hints, n_units=self.n_units, dt=self.dt_, tau=self.tau,
                            g=self.g, alpha=self.alpha, n_epochs=self.n_epochs,
                            learn_every=self.learn_every, input_scale=self.input_scale,
                            output_scale=self.output_scale, hint_scale=self.hint_scale,
                            noise=self.noise, random_state=seed, progress=self.progress)
            self.mapped_units_ = np.array([], dtype=int)
        else:
            if activity is not None and activity.shape[-1] > self.n_units:
                raise ShapeError(f"BPTT maps each sampled unit to its own student unit, but "
                                 f"{activity.shape[-1]} units were sampled for a student of "
                                 f"{self.n_units}; raise n_units or sample fewer.")
            res = fit_bptt(u.values, zn, activity, n_units=self.n_units, dt=self.dt_,
                           tau=self.tau, g=self.g, input_scale=self.input_scale,
                           n_iter=self.n_iter, learning_rate=self.learning_rate,
                           activity_weight=self.activity_weight, device=self.device,
                           random_state=seed, progress=self.progress)
            self.mapped_units_ = np.arange(0 if activity is None else activity.shape[-1])
        self._store(res, u, z)
        return self

    def _store(self, res, u: xr.DataArray, z: xr.DataArray) -> None:
        units = np.arange(self.n_units)
        self.weights_ = xr.DataArray(res.weights, dims=("rnn_unit", "rnn_unit_pre"),
                                     coords={"rnn_unit": units, "rnn_unit_pre": units},
                                     name="weights")
        self.input_weights_ = xr.DataArray(res.input_weights, dims=("rnn_unit", "input"),
                                           coords={"rnn_unit": units, **_coord(u, "input")})
        self.output_weights_ = xr.DataArray(res.output_weights, dims=("output", "rnn_unit"),
                                            coords={"rnn_unit": units, **_coord(z, "output")})
        self.bias_ = np.asarray(getattr(res, "bias", np.zeros(self.n_units)))
        self.initial_state_ = np.asarray(getattr(res, "initial_state", np.zeros(self.n_units)))
        self.loss_curve_ = np.asarray(res.loss_curve)
        self.n_inputs_ = u.sizes["input"]
        self._output_coord = _coord(z, "output")

    # -------------------------------------------------------------- predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise NeurodataError("this SparseRNN is not fitted yet; call fit() first.")

    def predict(self, inputs) -> xr.Dataset:
        """Run the trained student on ``inputs``.

        Returns
        -------
        xarray.Dataset
            ``outputs (trial, time, output)`` in the targets' units and
            ``rates (trial, time, rnn_unit)``, the student's ``tanh(x)``.
        """
        self._check_fitted()
        u = as_trials(inputs, "inputs", "input", min_steps=1)
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
             "rates": (("trial", "time", "rnn_unit"), rates)},
            coords={**coords, "rnn_unit": np.arange(self.n_units), **self._output_coord},
        )

    def score(self, inputs, targets) -> float:
        """``1 - normalized_error`` of the predicted outputs (1 is perfect)."""
        z = as_trials(targets, "targets", "output")
        return 1.0 - normalized_error(self.predict(inputs)["outputs"].values, z.values)

    def dynamics_similarity(self, inputs, recorded, n_components: int = 10) -> dict[str, float]:
        """Compare the student's dynamics with the UNSAMPLED recorded units.

        The student's units that were not mapped to sampled units (all of them
        for full-FORCE) are compared with the recorded units that were not
        sampled (all recorded units if every unit was sampled), by
        :func:`cca_similarity` and :func:`procrustes_distance` on the leading
        ``n_components`` principal components.

        Returns
        -------
        dict
            ``{"cca": ..., "procrustes": ...}``.
        """
        self._check_fitted()
        rec = as_trials(recorded, "recorded")
        feat = rec.dims[-1]
        labels = rec[feat].values if feat in rec.coords else np.arange(rec.sizes[feat])
        keep = np.isin(labels, self.unsampled_units_) if self.unsampled_units_.size else \
            np.ones(labels.size, bool)
        rates = self.predict(inputs)["rates"].values
        free = np.setdiff1d(np.arange(self.n_units), self.mapped_units_)
        free = free if free.size else np.arange(self.n_units)
        a, b = rates[..., free], rec.values[..., keep]
        return {"cca": cca_similarity(a, b, n_components),
                "procrustes": procrustes_distance(a, b, n_components)}


def _coord(da: xr.DataArray, dim: str) -> dict:
    return {dim: da[dim].values} if dim in da.coords else {}
