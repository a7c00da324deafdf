"""Backpropagation through time in PyTorch (imported lazily: torch is optional).

The network is unrolled with forward Euler, and the gradient is propagated
back through time by hand (the adjoint recursion below) rather than by
autograd: the same numbers, with a handful of batched tensor operations per
time step instead of a graph of thousands of small nodes, which makes CPU
training several times faster.  ``tests/rnn`` checks the gradient against
``torch.autograd``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurodata._utils import check_random_state, progress_bar, renamed_kwargs, soft_import

__all__ = ["BPTTResult", "fit_bptt"]


@dataclass
class BPTTResult:
    """Weights and training record of :func:`fit_bptt`."""

    weights: np.ndarray
    input_weights: np.ndarray
    output_weights: np.ndarray
    bias: np.ndarray
    initial_state: np.ndarray
    loss_curve: list[float] = field(default_factory=list)


def _torch():
    return soft_import("torch", extra="torch", purpose="method='bptt'")


def forward_rates(params: dict, u, leak: float):
    """Rates ``tanh(x_t)`` of ``x_{t+1} = x_t + leak (-x_t + J r_t + B u_t + b)``.

    ``params`` holds torch tensors ``J, B, b, x0``; ``u`` is (trial, time, input).
    Returns (trial, time, unit).
    """
    torch = _torch()
    drive = leak * (u @ params["B"].T + params["b"])
    x = params["x0"].expand(u.shape[0], -1)
    ljt = leak * params["J"].T
    out = []
    for i in range(u.shape[1]):  # x <- (1 - leak) x + leak (J r + B u + b), 3 kernels a step
        r = torch.tanh(x)
        out.append(r)
        x = torch.addmm(torch.add(drive[:, i], x, alpha=1.0 - leak), r, ljt)
    return torch.stack(out, 1)


def loss_and_grads(params: dict, u, z_star, a, *, leak: float, activity_weight: float,
                   var_z, var_a):
    """Loss and its gradients for all parameters, by the adjoint recursion.

    With ``L = sum_t l_t(r_t)`` and ``x_{t+1} = (1 - leak) x_t + leak (J r_t +
    B u_t + b)``, the adjoint ``d_t = dL/dx_t`` obeys
    ``d_t = (1 - r_t^2) (dl_t/dr_t + leak J^T d_{t+1}) + (1 - leak) d_{t+1}``,
    and ``dL/dJ = leak sum_t d_{t+1} r_t^T``, ``dL/dB = leak sum_t d_{t+1} u_t^T``,
    ``dL/db = leak sum_t d_{t+1}``, ``dL/dx0 = sum_trials d_0``.
    """
    torch = _torch()
    with torch.no_grad():
        rates = forward_rates(params, u, leak)
        w = params["W"]
        err_z = rates @ w.T - z_star
        loss = (err_z**2).sum() / var_z
        d_r = (2.0 / var_z) * (err_z @ w)
        m = 0 if a is None else a.shape[-1]
        if m:
            err_a = rates[..., :m] - a
            loss = loss + activity_weight * (err_a**2).sum() / var_a
            d_r[..., :m] += (2.0 * activity_weight / var_a) * err_a
        grad_w = (2.0 / var_z) * torch.einsum("bto,btn->on", err_z, rates)
        lj = leak * params["J"]
        slope = 1 - rates * rates
        back = []  # back[k] = dL/dx_{t+1} for t = T-1-k (zero past the end)
        nxt = torch.zeros_like(rates[:, 0])
        for t in range(rates.shape[1] - 1, -1, -1):
            back.append(nxt)
            nxt = torch.addmm(d_r[:, t], nxt, lj).mul_(slope[:, t]).add_(nxt, alpha=1.0 - leak)
        deltas = torch.stack(back[::-1], 1)
        grads = {
            "J": leak * torch.einsum("btn,btm->nm", deltas, rates),
            "B": leak * torch.einsum("btn,bti->ni", deltas, u),
            "b": leak * deltas.sum((0, 1)),
            "x0": nxt.sum(0),
            "W": grad_w,
        }
    return loss, grads


@renamed_kwargs(n_iter="max_iter")
def fit_bptt(
    inputs: np.ndarray,
    targets: np.ndarray,
    activity: np.ndarray | None = None,
    *,
    n_units: int = 200,
    dt: float,
    tau: float = 0.05,
    g: float = 1.0,
    input_scale: float = 0.3,
    max_iter: int = 300,
    learning_rate: float = 1e-2,
    activity_weight: float = 1.0,
    clip_grad: float = 1.0,
    device: str = "cpu",
    random_state: int | np.random.Generator | None = None,
    progress: bool | None = None,
) -> BPTTResult:
    """Train ``tau dx/dt = -x + J tanh(x) + B u + b``, ``z = W tanh(x)`` by BPTT.

    The loss is the output error plus ``activity_weight`` times the error of
    the first ``M`` student units against the ``M`` sampled teacher units (the
    fixed mapping: student unit ``i`` stands for sampled unit ``i``), each
    normalised by its target's sum of squares about the mean:

    .. math:: L = \\frac{\\|z - z^*\\|^2}{\\|z^* - \\bar z^*\\|^2}
        + \\lambda \\frac{\\|r_{1:M} - a\\|^2}{\\|a - \\bar a\\|^2}.

    Full-batch Adam on ``J, B, b, W`` and the initial state ``x0`` (shared by
    all trials; the bias and initial state let constrained units carry a
    baseline rate), gradients clipped to total norm ``clip_grad``.

    Parameters
    ----------
    inputs, targets : ndarray, shape (n_trials, n_steps, n_inputs / n_outputs)
    activity : ndarray, shape (n_trials, n_steps, M), optional
        Targets of the mapped units (scaled into the range of ``tanh``).
    n_units, dt, tau, g, input_scale
        Size, step, time constant, initial gain ``J ~ N(0, g^2/N)``, and input
        weight scale ``B ~ U(-s, s)``.
    max_iter, learning_rate, activity_weight, clip_grad
        Optimisation settings (Adam steps, step size, weight of the activity
        term, gradient-norm clip).
    device : str
        Torch device, ``"cpu"`` (default) or e.g. ``"cuda"``.
    random_state : None, int or Generator
        Seed of the initial weights (drawn with numpy, so that CPU and GPU
        runs start identically; None: fresh entropy).
    progress : bool or None
        Progress bar (None: shown in a terminal or notebook).

    Returns
    -------
    BPTTResult
        Trained weights (numpy) and the loss per iteration.

    Examples
    --------
    >>> u = np.zeros((1, 50, 1)); u[0, :5, 0] = 1.0
    >>> z = np.linspace(0, 1, 50)[None, :, None]
    >>> res = fit_bptt(u, z, n_units=20, dt=0.01, max_iter=60, random_state=0, progress=False)
    >>> bool(res.loss_curve[-1] < 0.2 * res.loss_curve[0])
    True
    """
    torch = _torch()
    rng = check_random_state(random_state)
    n_in, n_out = inputs.shape[-1], targets.shape[-1]
    n = int(n_units)
    init = {
        "J": g * rng.standard_normal((n, n)) / np.sqrt(n),
        "B": input_scale * rng.uniform(-1, 1, (n, n_in)),
        "b": np.zeros(n),
        "x0": np.zeros(n),
        "W": rng.standard_normal((n_out, n)) / n,
    }
    dev = torch.device(device)

    def tensor(x):
        return torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32, device=dev)

    params = {k: tensor(v) for k, v in init.items()}
    u, z_star = tensor(inputs), tensor(targets)
    var_z = ((z_star - z_star.mean((0, 1))) ** 2).sum().clamp_min(1e-12)
    a = None if activity is None or activity.shape[-1] == 0 else tensor(activity)
    var_a = None if a is None else ((a - a.mean((0, 1))) ** 2).sum().clamp_min(1e-12)
    leaves = [p.requires_grad_() for p in params.values()]
    opt = torch.optim.Adam(leaves, lr=learning_rate)
    res = BPTTResult(init["J"], init["B"], init["W"], init["b"], init["x0"])
    for _ in progress_bar(range(max_iter), progress=progress, desc="BPTT", leave=False):
        loss, grads = loss_and_grads(params, u, z_star, a, leak=dt / tau,
                                     activity_weight=activity_weight, var_z=var_z, var_a=var_a)
        total = torch.sqrt(sum((gr**2).sum() for gr in grads.values()))
        factor = min(1.0, clip_grad / (float(total) + 1e-12))
        for k, p in params.items():
            p.grad = grads[k] * factor
        opt.step()
        res.loss_curve.append(float(loss))
    out = {k: v.detach().cpu().double().numpy() for k, v in params.items()}
    res.weights, res.input_weights, res.output_weights = out["J"], out["B"], out["W"]
    res.bias, res.initial_state = out["b"], out["x0"]
    return res
