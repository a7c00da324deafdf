"""Backpropagation through time in PyTorch (imported lazily: torch is optional)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["BPTTResult", "fit_bptt"]


@dataclass
class BPTTResult:
    """Weights and training record of :func:`fit_bptt`."""

    weights: np.ndarray
    input_weights: np.ndarray
    output_weights: np.ndarray
    loss_curve: list[float] = field(default_factory=list)


def _torch():
    try:
        import torch
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("method='bptt' needs PyTorch: pip install 'neurodata[torch]'.") from err
    return torch


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
    n_iter: int = 300,
    learning_rate: float = 1e-2,
    activity_weight: float = 1.0,
    clip_grad: float = 1.0,
    device: str = "cpu",
    random_state: int | np.random.Generator | None = None,
    progress: bool = False,
) -> BPTTResult:
    """Train ``tau dx/dt = -x + J tanh(x) + B u``, ``z = W tanh(x)`` by BPTT.

    The loss is the output error plus ``activity_weight`` times the error of
    the first ``M`` student units against the ``M`` sampled teacher units (the
    fixed mapping: student unit ``i`` stands for sampled unit ``i``), each
    normalised by its target's variance:

    .. math:: L = \\frac{\\|z - z^*\\|^2}{\\|z^* - \\bar z^*\\|^2}
        + \\lambda \\frac{\\|r_{1:M} - a\\|^2}{\\|a - \\bar a\\|^2}.

    Full-batch Adam on ``J, B, W`` (forward Euler from ``x = 0``), gradients
    clipped to norm ``clip_grad``.

    Parameters
    ----------
    inputs, targets : ndarray, shape (n_trials, n_steps, n_inputs / n_outputs)
    activity : ndarray, shape (n_trials, n_steps, M), optional
        Targets of the mapped units (scaled into the range of ``tanh``).
    n_units, dt, tau, g, input_scale
        Size, step, time constant, initial gain ``J ~ N(0, g^2/N)``, and input
        weight scale ``B ~ U(-s, s)``.
    n_iter, learning_rate, activity_weight, clip_grad
        Optimisation settings.
    device : str
        Torch device, ``"cpu"`` (default) or e.g. ``"cuda"``.
    random_state : int, Generator or None
        Seed of the initial weights (drawn with numpy, so that CPU and GPU
        runs start identically).
    progress : bool
        Show a progress bar.

    Returns
    -------
    BPTTResult
        Trained weights (numpy) and the loss per iteration.

    Examples
    --------
    >>> u = np.zeros((1, 50, 1)); u[0, :5, 0] = 1.0
    >>> z = np.linspace(0, 1, 50)[None, :, None]
    >>> res = fit_bptt(u, z, n_units=20, dt=0.01, n_iter=60, random_state=0)
    >>> bool(res.loss_curve[-1] < 0.5 * res.loss_curve[0])
    True
    """
    torch = _torch()
    rng = np.random.default_rng(random_state)
    n_in, n_out = inputs.shape[-1], targets.shape[-1]
    n = int(n_units)
    init = {
        "J": g * rng.standard_normal((n, n)) / np.sqrt(n),
        "B": input_scale * rng.uniform(-1, 1, (n, n_in)),
        "W": rng.standard_normal((n_out, n)) / n,
    }
    dev = torch.device(device)
    params = {k: torch.tensor(v, dtype=torch.float32, device=dev, requires_grad=True)
              for k, v in init.items()}

    def tensor(a):
        return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32, device=dev)

    u, z_star = tensor(inputs), tensor(targets)
    var_z = ((z_star - z_star.mean((0, 1))) ** 2).sum().clamp_min(1e-12)
    a = None if activity is None or activity.shape[-1] == 0 else tensor(activity)
    m = 0 if a is None else a.shape[-1]
    var_a = None if a is None else ((a - a.mean((0, 1))) ** 2).sum().clamp_min(1e-12)
    opt = torch.optim.Adam(params.values(), lr=learning_rate)
    leak = dt / tau
    res = BPTTResult(init["J"], init["B"], init["W"])
    iterator = range(n_iter)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="BPTT", leave=False)
    for _ in iterator:
        opt.zero_grad()
        rates = _unroll(torch, params, u, leak)
        loss = (((rates @ params["W"].T - z_star) ** 2).sum() / var_z)
        if a is not None:
            loss = loss + activity_weight * ((rates[..., :m] - a) ** 2).sum() / var_a
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), clip_grad)
        opt.step()
        res.loss_curve.append(float(loss.detach()))
    res.weights, res.input_weights, res.output_weights = (
        params[k].detach().cpu().double().numpy() for k in ("J", "B", "W"))
    return res


def _unroll(torch, params, u, leak: float):
    """Rates ``tanh(x)`` of all trials, shape (n_trials, n_steps, n_units)."""
    drive = u @ params["B"].T
    x = torch.zeros(u.shape[0], params["J"].shape[0], dtype=u.dtype, device=u.device)
    out = []
    jt = params["J"].T
    for i in range(u.shape[1]):
        r = torch.tanh(x)
        out.append(r)
        x = x + leak * (-x + r @ jt + drive[:, i])
    return torch.stack(out, 1)
