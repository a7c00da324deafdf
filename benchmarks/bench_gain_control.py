"""Benchmarks for neurodata.gain_control, each against a reference run side by side.

Run: ``PYTHONPATH=. python benchmarks/bench_gain_control.py``.  Prints, for each
task, our time, the reference's time, their ratio, and the agreement of results.
References are the straightforward ways of doing the same computation:

* tuning curves: integrating the rate ODE to convergence for each stimulus
  (scipy ``solve_ivp``) vs our closed-form solve for all stimuli at once;
* optimal gains: a generic optimiser with finite-difference gradients vs our
  Newton solution of the balancing condition (and our L-BFGS with the analytic
  gradient);
* Benucci formatting: a pandas groupby over (unit, orientation, condition) vs
  our one-hot matrix product.
"""

from __future__ import annotations

import os

# one BLAS thread: on a shared 2-core machine threaded BLAS oversubscribes the
# cores and makes small dense solves erratic (both sides run single-threaded)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

import neurodata.gain_control as gc  # noqa: E402
from neurodata.datasets import make_adaptation_trials  # noqa: E402
from neurodata.signals import trial_responses  # noqa: E402


def _time(fn, repeat=3):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _row(task, ours, ref, agreement):
    print(f"{task:<44s} ours {ours * 1e3:9.2f} ms   reference {ref * 1e3:9.2f} ms   "
          f"ratio {ref / ours:8.1f}x   {agreement}")


def bench_steady_state(n=120, k=72):
    net = gc.ring_network(n)
    theta = np.arange(k) * 180.0 / k - 90.0
    w = net.weights.values
    h = gc.feedforward_drive(net, theta).values

    def reference():
        out = np.empty((n, k))
        for j in range(k):
            sol = solve_ivp(lambda _t, r, j=j: -r + w @ r + h[:, j], (0, 60.0), np.zeros(n),
                            rtol=1e-10, atol=1e-12)
            out[:, j] = sol.y[:, -1]
        return out

    t_ours, ours = _time(lambda: gc.steady_state(net, theta).values)
    t_ref, ref = _time(reference, repeat=1)
    _row(f"tuning curves ({n} units x {k} stimuli)", t_ours, t_ref,
         f"max rel diff {np.abs(ours - ref).max() / np.abs(ours).max():.1e}")


def bench_gains(n=60):
    net = gc.ring_network(n)
    ens = gc.stimulus_ensemble(20, p_adapter=0.3)
    for site in ("input", "total"):
        alpha = gc.calibrate_alpha(net, ens, gain_site=site)

        def reference(site=site, alpha=alpha):
            res = minimize(lambda x: gc.coding_objective(net, np.exp(x), ens, alpha=alpha,
                                                         gain_site=site),
                           np.zeros(n), method="L-BFGS-B",
                           options={"gtol": 1e-10, "maxiter": 5000})
            return np.exp(res.x)

        t_ours, ours = _time(lambda site=site, alpha=alpha: gc.optimal_gains(
            net, ens, alpha=alpha, gain_site=site, n_init=1, certify=False).values)
        t_ref, ref = _time(reference, repeat=1)
        method = "Newton" if site == "input" else "L-BFGS + analytic gradient"
        _row(f"optimal gains, {site} site, {method} ({n} units)", t_ours, t_ref,
             f"max rel diff {np.abs(ours / ref - 1).max():.1e}")


def bench_benucci(n_units=300, n_trials=2000):
    rec = trial_responses(make_adaptation_trials(n_units, n_trials=n_trials, random_state=0))

    def reference():
        df = rec.to_dataframe().reset_index()
        means = df.groupby(["unit", "trial_stimulus_orientation", "trial_condition"])[
            "responses"].mean()
        return means.unstack("trial_condition")[["uniform", "biased"]]

    t_ours, ours = _time(lambda: gc.benucci_format(rec))
    t_ref, ref = _time(reference)
    # the reference stops at per-unit means; compare those for one unit
    u0 = ref.loc[0].to_numpy()
    trials = rec.isel(unit=0)
    check = trials.where(trials.trial_condition == "uniform", drop=True).groupby(
        "trial_stimulus_orientation").mean().values
    _row(f"Benucci format ({n_units} units x {2 * n_trials} trials)", t_ours, t_ref,
         f"per-unit means agree: {bool(np.allclose(u0[:, 0], check))}")
    assert isinstance(ref, pd.DataFrame) and ours.responses.shape == (1, 13, 21, 2)


if __name__ == "__main__":
    bench_steady_state()
    bench_gains()
    bench_benucci()
