"""The MDS objective, response normalisation, and the temperature's scale.

For clusters ``1..K`` and a stimulus ``x_c`` for cluster ``c``, let
``m_j(x)`` be the mean *normalised* response of the neurons of cluster ``j``.
Burg et al. (ICLR 2024, Eq. 1) maximise, for every cluster,

.. math::

    J_c(x_c) = \\frac{m_c(x_c)}{\\tau} - \\log \\sum_{j=1}^{K} \\exp\\frac{m_j(x_c)}{\\tau} + \\log K
             = \\log \\frac{e^{m_c/\\tau}}{\\frac{1}{K}\\sum_j e^{m_j/\\tau}} \\le \\log K,

with equality only in the limit where cluster ``c`` is driven infinitely more
than every other.  Responses are normalised per neuron as z-scores against
noise, ``(r - mean) / max(sd, floor)`` (the authors' ``subt_pred`` /
``div_pred`` with the divisor clipped from below, there at 0.1 in the model's
units; here the floor is ``scale_floor`` times the median sd, which is
unit-free).

The temperature and its scale
-----------------------------
``tau`` only has meaning relative to the spread of the ``m_j``.  Noise-
normalised responses to an *optimised* stimulus are large (for a linear
filter, an optimal stimulus of the same norm as the noise drives
``sqrt(D)`` noise-sds, ``D`` the stimulus size: about 30 for 12 x 9 x 9), so
with raw z-scores and ``tau`` of order one the softmax saturates: every
``J_c`` sits at ``log K`` up to exponentially small terms, the gradient only
sees the single strongest competitor, and a split of one type into two
halves that differ by a few noise-sds already gains almost ``log 2`` per half,
so splitting is driven by within-type noise.  :func:`response_spread`
measures the spread of the responses (the standard deviation of the
normalised responses of the clustered neurons to the current cluster
stimuli) and, with ``tau_scale="spread"``, the effective temperature is
``tau * spread``: the objective is then invariant to the units of the model's
responses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neurodata.errors import NeurodataError

__all__ = ["BatchObjective", "ResponseNormalizer", "cluster_means", "group_objective", "mds_objective",
           "response_spread"]


@dataclass
class ResponseNormalizer:
    """Per-neuron z-scoring: ``(r - mean) / scale``.

    Examples
    --------
    >>> norm = ResponseNormalizer(torch.tensor([1.0, 0.0]), torch.tensor([2.0, 1.0]))
    >>> norm(torch.tensor([[3.0, 1.0]])).tolist()
    [[1.0, 1.0]]
    """

    mean: torch.Tensor
    scale: torch.Tensor

    def __call__(self, responses: torch.Tensor) -> torch.Tensor:
        return (responses - self.mean) / self.scale

    @classmethod
    def from_responses(cls, responses: torch.Tensor, scale_floor: float = 0.1) -> ResponseNormalizer:
        """Fit to responses ``(stimulus, neuron)`` to noise; sd clipped at ``scale_floor * median sd``.

        Examples
        --------
        >>> r = torch.stack([torch.arange(4.0), 100 * torch.arange(4.0), torch.zeros(4)], 1)
        >>> ResponseNormalizer.from_responses(r).scale.tolist()  # floor = 0.1 * median sd
        [1.29..., 129.09..., 0.129...]
        """
        sd = responses.std(dim=0)
        median = float(sd.median())
        if not median > 0:
            raise NeurodataError(
                "the model's responses to noise stimuli do not vary for most neurons (median sd "
                f"{median:g}); check that the model responds to stimuli within the norm and value "
                "range, or raise the norm.")
        return cls(responses.mean(dim=0), sd.clamp_min(scale_floor * median))


def mds_objective(cluster_means: torch.Tensor | np.ndarray, tau: float) -> torch.Tensor | np.ndarray:
    """Eq. 1 of Burg et al.: ``J_c`` for every cluster from a cluster-mean matrix.

    Parameters
    ----------
    cluster_means : array ``(stimulus, cluster)``, square
        Entry ``[c, j]`` is the mean normalised response of cluster ``j`` to
        the stimulus of cluster ``c``.
    tau : float
        Temperature, in the units of ``cluster_means``.

    Returns
    -------
    array ``(cluster,)``
        ``J_c``, each ``<= log K``; a numpy array for numpy input.

    Examples
    --------
    Three clusters, the own cluster at 1 and the others at 0, ``tau = 1``
    (the authors' unit test): ``J = 1 - log((e + 2) / 3)``.

    >>> J = mds_objective(np.eye(3), 1.0)
    >>> bool(np.allclose(J, 1 - np.log((np.e + 2) / 3)))
    True
    """
    as_numpy = isinstance(cluster_means, np.ndarray)
    m = torch.as_tensor(cluster_means, dtype=torch.float64 if as_numpy else None)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise NeurodataError(f"cluster_means must be a square (stimulus, cluster) matrix; got shape "
                             f"{tuple(m.shape)}.")
    if not tau > 0:
        raise NeurodataError(f"tau must be positive; got {tau}.")
    z = m / tau
    k = m.shape[0]
    out = torch.diagonal(z) - torch.logsumexp(z, dim=1) + float(np.log(k))
    return out.numpy() if as_numpy else out


def cluster_means(responses: torch.Tensor, labels: torch.Tensor, group: torch.Tensor) -> torch.Tensor:
    """Cluster-mean matrix ``(stimulus, stimulus)`` for a batch of independent problems.

    ``responses`` is ``(S, N)``; problem ``p`` owns the stimuli with
    ``group == p`` and ``labels[p, n]`` is the stimulus (cluster) index of
    neuron ``n`` in problem ``p``, or -1 if the neuron is not part of it.
    Entry ``[s, t]`` is the mean response to stimulus ``s`` of the neurons of
    cluster ``t`` (meaningful when ``s`` and ``t`` are in the same problem).
    """
    s = responses.shape[0]
    member = labels[group] == torch.arange(s, device=labels.device)[:, None]  # (S, N)
    weights = member.to(responses.dtype)
    weights = weights / weights.sum(dim=1, keepdim=True).clamp_min(1.0)
    return responses @ weights.T


def _same_problem(group: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
    return (group[:, None] == group[None, :]) & alive[None, :] & alive[:, None]


def _softmax_mask(group: torch.Tensor, alive: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Additive mask (0 / -inf) of each row's competitors, and ``log K`` per row.

    A dead row competes only with itself, so that its ``J`` is exactly 0 and
    no NaN reaches the gradient of its (unused) stimulus.
    """
    mask = _same_problem(group, alive)
    k = mask.sum(dim=1).clamp_min(1)
    mask = mask | torch.eye(len(group), dtype=torch.bool, device=group.device)
    neg = torch.zeros(mask.shape, device=group.device).masked_fill(~mask, float("-inf"))
    return neg, torch.log(k.to(neg.dtype))


def group_objective(means: torch.Tensor, group: torch.Tensor, alive: torch.Tensor,
                    tau: torch.Tensor) -> torch.Tensor:
    """``J`` of every stimulus in a batch of problems (0 for dead clusters).

    ``tau`` is ``(P,)``, one temperature per problem; the softmax of each row
    runs over the alive clusters of that row's problem only.
    """
    neg, log_k = _softmax_mask(group, alive)
    z = means / tau[group][:, None]
    j = torch.diagonal(z) - torch.logsumexp(z + neg.to(z.dtype), dim=1) + log_k.to(z.dtype)
    return torch.where(alive, j, torch.zeros_like(j))


class BatchObjective:
    """``J`` of every stimulus straight from raw model responses, for a fixed partition.

    Precomputes what an M-step keeps fixed (the cluster weights folded with
    the per-neuron normalisation, the softmax mask, ``log K``, ``1 / tau``), so
    that each gradient step costs one matrix product and a masked
    ``logsumexp``.  Equal to ``group_objective(cluster_means(normalizer(raw)))``.
    """

    def __init__(self, normalizer: ResponseNormalizer, labels: torch.Tensor, group: torch.Tensor,
                 alive: torch.Tensor, tau: torch.Tensor) -> None:
        s = len(group)
        member = (labels[group] == torch.arange(s, device=labels.device)[:, None]).to(
            normalizer.scale.dtype)
        w = member / member.sum(dim=1, keepdim=True).clamp_min(1.0)
        self.weight = (w / normalizer.scale).T.contiguous()  # (N, S)
        self.offset = (w * (normalizer.mean / normalizer.scale)).sum(dim=1)  # (S,)
        self.neg, self.log_k = _softmax_mask(group, alive)
        self.inv_tau = (1.0 / tau[group])[:, None]
        self.alive = alive

    def __call__(self, raw: torch.Tensor) -> torch.Tensor:
        z = (raw.to(self.weight.dtype) @ self.weight - self.offset) * self.inv_tau
        j = torch.diagonal(z) - torch.logsumexp(z + self.neg, dim=1) + self.log_k
        return torch.where(self.alive, j, torch.zeros_like(j))


def response_spread(responses: torch.Tensor, labels: torch.Tensor, group: torch.Tensor,
                    alive: torch.Tensor, n_problems: int) -> torch.Tensor:
    """Standard deviation of the normalised responses within each problem ``(P,)``.

    For problem ``p`` the entries are the responses ``(S, N)`` of its neurons
    (``labels[p] >= 0``) to its alive stimuli: the scale of the response
    differences the objective compares.  Unlike the spread of the
    cluster-mean matrix it is defined for a single cluster too.

    Examples
    --------
    >>> r = torch.tensor([[1.0, 3.0, 9.0], [2.0, 4.0, 9.0]])
    >>> labels = torch.tensor([[0, 1, -1]])  # the third neuron is not in the problem
    >>> response_spread(r, labels, torch.tensor([0, 0]), torch.tensor([True, True]), 1).tolist()
    [1.118...]
    """
    w = (alive[:, None] & (labels[group] >= 0)).to(responses.dtype)  # (S, N)
    count = torch.zeros(n_problems, dtype=responses.dtype, device=responses.device)
    total = torch.zeros_like(count)
    total_sq = torch.zeros_like(count)
    count.index_add_(0, group, w.sum(1))
    total.index_add_(0, group, (responses * w).sum(1))
    total_sq.index_add_(0, group, (responses**2 * w).sum(1))
    mean = total / count.clamp_min(1)
    var = (total_sq / count.clamp_min(1) - mean**2).clamp_min(0)
    return torch.sqrt(var)
