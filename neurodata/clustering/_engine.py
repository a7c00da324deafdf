"""Batched MDS expectation-maximisation: many independent clustering problems at once.

Every step of the algorithm — the main clustering, the sub-clusterings that
propose splits, and the candidate partitions that evaluate them — is a set of
independent MDS problems.  They are stacked into one batch of stimuli
``(S, channel, time, y, x)``: stimulus ``s`` belongs to problem ``group[s]``,
``labels[p, n]`` is the stimulus (cluster) of neuron ``n`` in problem ``p``
(-1 when the neuron is not part of it).  One model call evaluates all
stimuli; the cluster-mean matrix, objective, gradient step, projection and
E-step are array operations over the whole batch, so the per-cluster loop of
the reference implementation disappears.

M-step (gradient ascent).  Each stimulus takes normalised-gradient steps of
length ``step * norm`` (``step`` starts at ``lr``), followed by the optional
temporal smoothing and the projection onto the constraint set.  A step that
lowers that stimulus' objective is rejected (the stimulus returns to its best
point) and its step length halves; an accepted step grows it by 1.2.  It
stops after ``n_steps`` steps or once five steps raised no objective by more
than ``1e-4``.  The best stimulus seen is returned, so an M-step never lowers any cluster's
objective (warm starts make the previous stimulus the starting point).  The
authors use plain SGD with a fixed learning rate and an EMA stopper; the
adaptive, monotone step here removes the learning rate's dependence on the
model's units.

E-step.  Each neuron moves to the cluster whose stimulus drives it most
(argmax of the response; z-scoring per neuron does not change an argmax
over stimuli).  Clusters that lose all neurons die (the authors remove empty
clusters).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from neurodata.clustering._constraint import StimulusConstraint
from neurodata.clustering._objective import (
    BatchObjective,
    ResponseNormalizer,
    cluster_means,
    response_spread,
)
from neurodata.errors import NeurodataError, ShapeError

Model = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Problems:
    """A batch of independent MDS clustering problems (see the module docstring)."""

    stimuli: torch.Tensor
    group: torch.Tensor
    alive: torch.Tensor
    labels: torch.Tensor
    table: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        p = self.labels.shape[0]
        counts = torch.bincount(self.group, minlength=p)
        kmax = int(counts.max())
        order = torch.argsort(self.group, stable=True)
        start = torch.cumsum(counts, 0) - counts
        slot = torch.arange(len(order), device=order.device) - start[self.group[order]]
        table = torch.full((p, kmax), -1, dtype=torch.long, device=order.device)
        table[self.group[order], slot] = order
        self.table = table

    @property
    def n_problems(self) -> int:
        return int(self.labels.shape[0])


def call_model(model: Model, x: torch.Tensor, n_neurons: int) -> torch.Tensor:
    """Call the model and check its output is ``(batch, n_neurons)``."""
    out = model(x)
    if not isinstance(out, torch.Tensor):
        raise NeurodataError(f"the model must return a torch.Tensor of responses (batch, neuron); "
                             f"got {type(out).__name__}.")
    if out.shape != (x.shape[0], n_neurons):
        raise ShapeError(f"the model returned responses of shape {tuple(out.shape)} for "
                         f"{x.shape[0]} stimuli; expected (batch, neuron) = ({x.shape[0]}, "
                         f"{n_neurons}). Pass n_neurons equal to the model's output size.")
    return out


def _check_finite(values: torch.Tensor, where: str) -> None:
    if not bool(torch.isfinite(values).all()):
        raise NeurodataError(f"the model returned NaN or infinite responses {where}; check the "
                             f"model (and its training) before clustering.")


def problem_mean(values: torch.Tensor, group: torch.Tensor, alive: torch.Tensor,
                 n_problems: int) -> torch.Tensor:
    """Mean of a per-stimulus value over the alive stimuli of each problem ``(P,)``."""
    w = alive.to(values.dtype)
    tot = torch.zeros(n_problems, dtype=values.dtype, device=values.device)
    tot.index_add_(0, group, values * w)
    cnt = torch.zeros_like(tot).index_add_(0, group, w)
    return tot / cnt.clamp_min(1)


def evaluate(model: Model, normalizer: ResponseNormalizer, problems: Problems,
             n_neurons: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised responses ``(S, N)`` and the cluster-mean matrix, without gradients."""
    with torch.no_grad():
        r = normalizer(call_model(model, problems.stimuli, n_neurons))
    _check_finite(r, "to the cluster stimuli")
    return r, cluster_means(r, problems.labels, problems.group)


def spread_tau(model: Model, normalizer: ResponseNormalizer, problems: Problems, n_neurons: int,
               tau: float) -> torch.Tensor:
    """``tau`` times the spread of each problem's normalised responses ``(P,)``."""
    r, _ = evaluate(model, normalizer, problems, n_neurons)
    spread = response_spread(r, problems.labels, problems.group, problems.alive,
                             problems.n_problems)
    return tau * spread.clamp_min(1e-6)


def m_step(model: Model, normalizer: ResponseNormalizer, problems: Problems,
           constraint: StimulusConstraint, tau: torch.Tensor, n_neurons: int, n_steps: int,
           lr: float, tol: float = 1e-4) -> torch.Tensor:
    """Optimise all stimuli in place (monotone, see module docstring); return their ``J``.

    At most ``n_steps`` steps; stops early once no alive stimulus has raised
    its objective by more than ``tol`` over the last five steps.
    """
    x = problems.stimuli.clone()
    best_x = x.clone()
    best_j = torch.full((len(x),), float("-inf"), dtype=x.dtype, device=x.device)
    best_g = torch.zeros_like(x)
    step = torch.full_like(best_j, lr)
    alive = problems.alive
    objective = BatchObjective(normalizer, problems.labels, problems.group, alive, tau)
    bad = torch.zeros((), dtype=torch.bool, device=x.device)
    checkpoint = best_j
    shape = (-1, 1, 1, 1, 1)
    for it in range(n_steps + 1):
        x.requires_grad_(True)
        j = objective(call_model(model, x, n_neurons))
        (g,) = torch.autograd.grad(j.sum(), x)
        with torch.no_grad():
            bad |= ~torch.isfinite(j).all()
            better = j > best_j
            if it > 0:
                step = torch.where(better, step * 1.2, step * 0.5)
            best_j = torch.where(better, j, best_j)
            best_x = torch.where(better.view(shape), x, best_x)
            best_g = torch.where(better.view(shape), g, best_g)
            if it % 5 == 0:  # stop once no stimulus improved its objective by ``tol`` in 5 steps
                if it > 0 and bool(((best_j - checkpoint)[alive] <= tol).all()):
                    break
                checkpoint = best_j.clone()
            if it == n_steps:
                break
            gnorm = torch.linalg.vector_norm(best_g.reshape(len(x), -1), dim=1).clamp_min(1e-30)
            move = (step * constraint.norm / gnorm).view(shape) * best_g
            x = constraint.project(constraint.smooth(best_x + move))
    if bool(bad):
        raise NeurodataError("the MDS objective became NaN or infinite: the model returned NaN or "
                             "infinite responses to a stimulus; check the model before clustering.")
    problems.stimuli = best_x.detach()
    return torch.where(alive, best_j, torch.zeros_like(best_j)).detach()


def e_step(model: Model, normalizer: ResponseNormalizer, problems: Problems,
           n_neurons: int) -> int:
    """Reassign every neuron to its most driving alive stimulus; kill empty clusters.

    Returns the number of (problem, neuron) assignments that changed.
    """
    r, _ = evaluate(model, normalizer, problems, n_neurons)
    table = problems.table
    valid = (table >= 0) & problems.alive[table.clamp_min(0)]
    scores = r[table.clamp_min(0)]  # (P, Kmax, N)
    scores = scores.masked_fill(~valid[:, :, None], float("-inf"))
    winner = torch.gather(table, 1, scores.argmax(dim=1))  # (P, N)
    new = torch.where(problems.labels >= 0, winner, problems.labels)
    moved = int((new != problems.labels).sum())
    problems.labels = new
    counts = torch.zeros(len(problems.stimuli), dtype=torch.long, device=new.device)
    member = new[new >= 0]
    counts.index_add_(0, member, torch.ones_like(member))
    problems.alive = problems.alive & (counts > 0)
    return moved


@dataclass
class EMTrace:
    """What an EM run records per iteration: mean objective per problem, clusters, moves."""

    objective: list[torch.Tensor] = field(default_factory=list)
    n_clusters: list[torch.Tensor] = field(default_factory=list)
    moved: list[int] = field(default_factory=list)


def run_em(model: Model, normalizer: ResponseNormalizer, problems: Problems,
           constraint: StimulusConstraint, *, n_neurons: int, tau: float, tau_scale: str,
           max_iter: int, n_steps: int, lr: float, fixed_tau: torch.Tensor | None = None,
           trace: EMTrace | None = None) -> torch.Tensor:
    """Alternate M- and E-steps until no neuron moves (or ``max_iter``); return the last ``tau``.

    With ``tau_scale="spread"`` and no ``fixed_tau``, the temperature of each
    problem is set at the start of every M-step to ``tau`` times the spread of
    its current cluster-mean matrix, and held fixed during that M-step.
    """
    cur_tau = fixed_tau
    for _ in range(max_iter):
        if fixed_tau is None:
            if tau_scale == "spread":
                cur_tau = spread_tau(model, normalizer, problems, n_neurons, tau)
            else:
                cur_tau = torch.full((problems.n_problems,), tau, device=problems.stimuli.device)
        assert cur_tau is not None
        j = m_step(model, normalizer, problems, constraint, cur_tau, n_neurons, n_steps, lr)
        alive_before = problems.alive.clone()
        moved = e_step(model, normalizer, problems, n_neurons)
        if trace is not None:
            trace.objective.append(problem_mean(j, problems.group, alive_before,
                                                problems.n_problems))
            k = torch.zeros(problems.n_problems, dtype=torch.long, device=j.device)
            trace.n_clusters.append(k.index_add_(0, problems.group, problems.alive.long()))
            trace.moved.append(moved)
        if moved == 0:
            break
    assert cur_tau is not None
    return cur_tau
