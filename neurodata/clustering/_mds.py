"""MDS clustering (Burg et al., ICLR 2024): the function and its estimator."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import Any

import numpy as np
import torch
import xarray as xr

from neurodata._utils import (
    check_integer,
    check_option,
    check_positive,
    progress_bar,
    renamed_kwargs,
    torch_generator,
)
from neurodata.clustering._constraint import StimulusConstraint, make_constraint
from neurodata.clustering._engine import EMTrace, Model, Problems, call_model, evaluate, run_em
from neurodata.clustering._objective import ResponseNormalizer, group_objective, response_spread
from neurodata.clustering._split import SplitOptions, compact, split_round
from neurodata.errors import NeurodataError, ShapeError

__all__ = ["mds_clustering", "neurons_of"]


def neurons_of(model: Model, n: int) -> tuple[str, np.ndarray]:
    """The neuron dimension (``unit`` or ``roi``) and labels of a model's outputs.

    A model fitted to a recording (:func:`fit_predictive_model`,
    :meth:`~neurodata.datasets.RetinaLNModel.from_recording`) names them in
    ``response_dim`` / ``response_labels``; otherwise ``unit`` ``0 .. n-1``.
    """
    dim = str(getattr(model, "response_dim", "unit"))
    labels = getattr(model, "response_labels", None)
    labels = np.arange(n) if labels is None or len(labels) != n else np.asarray(labels)
    return dim, labels


@contextmanager
def _prepared(model: Model, device: torch.device) -> Iterator[None]:
    """Check the model's device; evaluate it in eval mode, restoring its training flag after."""
    if isinstance(model, torch.nn.Module):
        tensors = chain(model.parameters(), model.buffers())
        first = next(tensors, None)
        if first is not None and first.device.type != device.type:
            raise NeurodataError(f"the model lives on {first.device} but device={str(device)!r}; "
                                 f"move it with model.to({str(device)!r}) or pass "
                                 f"device={str(first.device)!r}.")
        was_training = model.training
        model.eval()
        try:
            yield
        finally:
            model.train(was_training)
    else:
        yield


def _stimulus_shape(model: Model, stimulus_shape: Sequence[int] | None) -> tuple[int, ...]:
    if stimulus_shape is None:
        stimulus_shape = getattr(model, "stimulus_shape", None)
    if stimulus_shape is None:
        raise NeurodataError("the stimulus shape is unknown: pass stimulus_shape=(channel, time, y, x) "
                             "or give the model a 'stimulus_shape' attribute.")
    return tuple(int(s) for s in stimulus_shape)


def _noise_responses(model: Model, noise: torch.Tensor, n_neurons: int | None) -> torch.Tensor:
    out = model(noise)
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != len(noise):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ShapeError(f"the model must map stimuli (batch, channel, time, y, x) to a torch.Tensor "
                         f"of responses (batch, neuron); for {len(noise)} stimuli it returned {got}.")
    if n_neurons is not None:
        return call_model(model, noise, int(n_neurons)) if out.shape[1] != n_neurons else out
    return out


def _validate(n_neurons: int, n_clusters_init: int, tau: float, tau_scale: str,
              min_cluster_size: int, max_iter: int, n_steps: int, learning_rate: float) -> None:
    check_integer("n_clusters_init", n_clusters_init)
    if n_clusters_init > n_neurons:
        raise NeurodataError(f"n_clusters_init ({n_clusters_init}) is larger than the number of "
                             f"neurons ({n_neurons}); use at most {n_neurons} clusters.")
    check_positive("tau", tau)
    check_option("tau_scale", tau_scale, ("spread", "absolute"))
    for name, value in (("min_cluster_size", min_cluster_size), ("max_iter", max_iter),
                        ("n_steps", n_steps)):
        check_integer(name, value)
    check_positive("learning_rate", learning_rate)


def _initial_state(n_neurons: int, k: int, constraint: StimulusConstraint,
                   generator: torch.Generator, device: torch.device) -> Problems:
    """Random balanced partition (the authors' shuffled equal split) and random stimuli."""
    perm = torch.randperm(n_neurons, generator=generator)
    labels = torch.empty(n_neurons, dtype=torch.long)
    labels[perm] = torch.arange(n_neurons) % k
    stimuli = constraint.random(k, generator, device=device)
    return Problems(stimuli, torch.zeros(k, dtype=torch.long, device=device),
                    torch.ones(k, dtype=torch.bool, device=device), labels[None].to(device))


def _result(model: Model, normalizer: ResponseNormalizer, state: Problems, n_neurons: int,
            tau_eff: torch.Tensor, trace: EMTrace, split_log: list[dict],
            constraint: StimulusConstraint, attrs: dict) -> xr.Dataset:
    r, means = evaluate(model, normalizer, state, n_neurons)
    j = group_objective(means, state.group, state.alive, tau_eff)
    k = len(state.stimuli)
    stim = state.stimuli.detach().cpu().numpy().transpose(0, 2, 3, 4, 1)  # cluster,t,y,x,c
    labels = state.labels[0].cpu().numpy()
    spread = response_spread(r, state.labels, state.group, state.alive, 1)
    dim, names = neurons_of(model, n_neurons)
    ds = xr.Dataset(
        {
            "labels": (dim, labels.astype(np.int64)),
            "stimuli": (("cluster", "time", "y", "x", "channel"), stim),
            "response_matrix": (("mds", "cluster"), means.cpu().numpy()),
            "cluster_objective": ("cluster", j.cpu().numpy()),
            "cluster_size": ("cluster", np.bincount(labels, minlength=k)),
            "objective": ("iteration", np.array([float(o[0]) for o in trace.objective])),
            "n_clusters_per_iteration": ("iteration", np.array([int(c[0]) for c in trace.n_clusters])),
            "split_objective_before": ("split_round", np.array([s["j_old"] for s in split_log])),
            "split_objective_after": ("split_round", np.array([s["j_new"] for s in split_log])),
            "split_accepted": ("split_round", np.array([bool(s["accepted"]) for s in split_log])),
            "noise_mean": (dim, normalizer.mean.cpu().numpy()),
            "noise_scale": (dim, normalizer.scale.cpu().numpy()),
        },
        coords={dim: names, "cluster": np.arange(k), "mds": np.arange(k),
                "iteration": np.arange(len(trace.objective))},
        attrs={**attrs, "tau_effective": float(tau_eff[0]), "spread": float(spread[0]),
               "norm": constraint.norm, "n_splits": sum(bool(s["accepted"]) for s in split_log)},
    )
    ds["response_matrix"].attrs["description"] = ("mean normalised response of the neurons of "
                                                  "'cluster' to the MDS of cluster 'mds'")
    return ds


@renamed_kwargs(lr="learning_rate")
def mds_clustering(
    model: Model,
    n_neurons: int | None = None,
    *,
    stimulus_shape: Sequence[int] | None = None,
    n_clusters_init: int = 6,
    tau: float = 1.6,
    tau_scale: str = "spread",
    split: bool = True,
    max_clusters: int | None = None,
    min_cluster_size: int = 5,
    split_margin: float = 0.04,
    max_iter: int = 20,
    n_steps: int = 40,
    learning_rate: float = 0.2,
    split_max_iter: int = 6,
    split_refine_iter: int = 2,
    norm: float | None = None,
    value_range: Sequence[float] | Sequence[Sequence[float]] = (-1.0, 1.0),
    temporal_sigma: float = 0.0,
    n_noise: int = 256,
    scale_floor: float = 0.1,
    device: str | torch.device = "cpu",
    random_state: int | np.random.Generator | None = None,
    progress: bool | None = None,
) -> xr.Dataset:
    """Cluster neurons by most discriminative stimuli (Burg et al., ICLR 2024).

    Expectation-maximisation-like alternation on a predictive model: the
    M-step optimises one stimulus per cluster to maximise the objective
    ``J_c`` (see :func:`mds_objective`), all ``K`` stimuli as one batch, under
    a fixed L2 norm and per-channel value ranges; the E-step moves each neuron
    to the cluster whose stimulus drives it most.  It iterates, with warm
    starts, until no neuron moves or ``max_iter``.  With ``split=True`` it then
    proposes splits of every cluster by sub-clustering it with fresh stimuli,
    keeps the best split if it raises the mean objective by the relative
    margin ``split_margin``, re-runs the EM, and repeats (see
    :mod:`neurodata.clustering._split`).

    Parameters
    ----------
    model : callable
        Maps a torch tensor of stimuli ``(batch, channel, time, y, x)`` to
        responses ``(batch, unit)``, differentiably; receptive fields should
        be centred on the canvas (the authors shift every readout to the
        centre).  A torch module is evaluated in eval mode (its training flag
        is restored) and must live on ``device``.
    n_neurons : int, optional
        Number of neurons; checked against the model's output (inferred when None).
    stimulus_shape : (channel, time, y, x), optional
        Defaults to ``model.stimulus_shape``.
    n_clusters_init : int
        Clusters of the random initial partition.
    tau : float
        Softmax temperature.  With ``tau_scale="spread"`` (default) it is
        relative: the effective temperature is ``tau`` times the standard
        deviation of the normalised responses of the clustered neurons to the
        current stimuli, set before every M-step;
        with ``"absolute"`` it is in units of noise z-scores, as in the
        authors' code (1.6 there), which saturates the softmax when optimised
        responses are many noise-sds large (see :mod:`._objective`).
    split : bool
        Search for the number of clusters by splitting.
    max_clusters : int, optional
        Upper bound on the number of clusters (default ``n_neurons // min_cluster_size``).
    min_cluster_size : int
        Smallest cluster a split may create; clusters with fewer than twice
        this many neurons are not split.
    split_margin : float
        Relative improvement of the mean objective a split must bring.
    max_iter : int
        EM iterations per run.
    n_steps, learning_rate : int, float
        Gradient steps per M-step and the initial step length, relative to the norm.
    split_max_iter, split_refine_iter : int
        EM iterations of the sub-clusterings and of the candidate partitions.
    norm : float, optional
        L2 norm of every stimulus; default ``0.3 * sqrt(stimulus size)``.
    value_range : (low, high) or one pair per channel
        Allowed stimulus values.
    temporal_sigma : float
        Gaussian temporal low-pass (frames) after every step; 0 for none.
    n_noise : int
        Noise stimuli (on the constraint set) used to z-score each neuron.
    scale_floor : float
        Lower clip of the z-scoring sd, relative to the median sd.
    device : str or torch.device
        Where stimuli are optimised (CPU default).
    random_state : None, int or Generator
        Seed of the initial partition and stimuli (None: fresh entropy).
    progress : bool or None
        Progress bar (None: shown in a terminal or notebook).

    Returns
    -------
    xarray.Dataset
        ``labels (unit)``, ``stimuli (cluster, time, y, x, channel)``,
        ``response_matrix (mds, cluster)``, ``cluster_objective (cluster)``,
        ``cluster_size (cluster)``, ``objective`` and
        ``n_clusters_per_iteration`` (iteration: one entry per EM iteration of
        the main runs), ``noise_mean`` / ``noise_scale (unit)``; attrs hold
        ``tau_effective``, ``norm``, ``n_splits``.  The neuron dimension is
        ``unit`` or ``roi``, with the recording's labels, for a model fitted
        to a recording (see :func:`neurons_of`); ``unit`` otherwise.

    Raises
    ------
    ShapeError
        If the model's output is not ``(batch, n_neurons)``.
    NeurodataError
        On NaN responses, more clusters than neurons, or an infeasible norm / value range.

    Examples
    --------
    The ground-truth model of a synthetic retina recording:

    >>> from neurodata.datasets import RetinaLNModel, make_retina_population
    >>> rec = make_retina_population(40, 2, n_frames=50, stimulus_shape=(6, 5, 5),
    ...                              random_state=0)
    >>> model = RetinaLNModel.from_recording(rec)
    >>> res = mds_clustering(model, 40, n_clusters_init=2, split=False, random_state=0,
    ...                      progress=False)
    >>> from sklearn.metrics import adjusted_rand_score
    >>> adjusted_rand_score(rec.type, res.labels), res.labels.dims
    (1.0, ('unit',))
    """
    dev = torch.device(device)
    shape = _stimulus_shape(model, stimulus_shape)
    constraint = make_constraint(shape, norm, value_range, temporal_sigma)
    generator = torch_generator(random_state)
    with _prepared(model, dev):
        with torch.no_grad():
            noise = constraint.random(max(2, n_noise), generator, device=dev)
            resp = _noise_responses(model, noise, n_neurons)
        n = resp.shape[1]
        _validate(n, n_clusters_init, tau, tau_scale, min_cluster_size, max_iter, n_steps,
                  learning_rate)
        if not bool(torch.isfinite(resp).all()):
            raise NeurodataError("the model returned NaN or infinite responses to noise stimuli; "
                                 "check the model before clustering.")
        normalizer = ResponseNormalizer.from_responses(resp, scale_floor)
        em_kwargs: dict[str, Any] = {"n_neurons": n, "tau": tau, "tau_scale": tau_scale,
                                     "n_steps": n_steps, "lr": learning_rate}
        opts = SplitOptions(min_cluster_size, max_clusters or max(1, n // min_cluster_size),
                            split_margin, split_max_iter, split_refine_iter)
        trace, split_log = EMTrace(), []
        state = _initial_state(n, n_clusters_init, constraint, generator, dev)
        bar = progress_bar(progress=progress, desc="MDS clustering", unit="round")
        run_em(model, normalizer, state, constraint, max_iter=max_iter, trace=trace, **em_kwargs)
        state = compact(state)
        while split:
            new, log = split_round(model, normalizer, state, constraint, generator, opts, em_kwargs)
            split_log.append(log)
            bar.update(1)
            bar.set_postfix(clusters=len(state.stimuli))
            if new is None:
                break
            state = new
            run_em(model, normalizer, state, constraint, max_iter=max_iter, trace=trace,
                   **em_kwargs)
            state = compact(state)
        bar.close()
        tau_final = _reference_tau(model, normalizer, state, n, tau, tau_scale)
        attrs = {"tau": tau, "tau_scale": tau_scale, "n_clusters_init": n_clusters_init}
        return _result(model, normalizer, state, n, tau_final, trace, split_log, constraint, attrs)


def _reference_tau(model: Model, normalizer: ResponseNormalizer, state: Problems, n: int,
                   tau: float, tau_scale: str) -> torch.Tensor:
    if tau_scale == "absolute":
        return torch.full((1,), tau, device=state.stimuli.device)
    r, _ = evaluate(model, normalizer, state, n)
    spread = response_spread(r, state.labels, state.group, state.alive, 1)
    return tau * spread.clamp_min(1e-6)
