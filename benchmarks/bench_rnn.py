"""Time per training run of neurodata.rnn, and CURBD beside its public implementation.

Usage::

    PYTHONPATH=. python benchmarks/bench_rnn.py [--curbd PATH/TO/CURBD] [--quick]

1. full-FORCE (RLS) and BPTT students at the paper's network size, taken to
   be that of the published SOC teacher (200 units, Hennequin et al. 2014;
   Stroud et al. 2018; the paper's full text, with its student size, was not
   available to us): 200-unit students, 8 training reach conditions of 0.7 s
   at 2.5 ms (281 steps).
2. CURBD: ``fit_curbd`` and the authors' ``curbd.trainMultiRegionRNN`` (Perich et
   al. 2020, github.com/rajanlab/CURBD, Python version) on the same data
   (their ``threeRegionSim``), same initial weights, side by side in this
   process, printing the time ratio and both fits' pVar.  Pass the folder
   that holds ``curbd.py``; without it that part is skipped.

Absolute times drift on a shared machine; the ratios printed are measured
side by side.
"""

from __future__ import annotations

import argparse
import builtins
import importlib.util
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def bench_students(quick: bool) -> None:
    from neurodata.datasets import make_motor_teacher
    from neurodata.rnn import SparseRNN

    teacher, t_teacher = _timed(lambda: make_motor_teacher(200, n_conditions=16, random_state=0))
    even = teacher.trial_condition.values % 2 == 0
    train, test = teacher.isel(trial=even), teacher.isel(trial=~even)
    select = dict(variable="rates", behaviour="emg", stimulus="cue", trials="trial")
    print(f"teacher: 200-unit SOC + 16 conditions in {t_teacher:.1f} s "
          f"({teacher.sizes['time'] // teacher.sizes['trial']} steps per trial)")
    epochs, iters = (5, 30) if quick else (20, 300)
    for name, kw in [("full-FORCE (RLS), 10% sampled", dict(method="force", n_epochs=epochs)),
                     ("BPTT (torch, CPU), 10% sampled", dict(method="bptt", max_iter=iters))]:
        model = SparseRNN(200, sampled_fraction=0.1, random_state=0, progress=False, **kw)
        _, sec = _timed(lambda m=model: m.fit(train, **select))
        unit = epochs if kw["method"] == "force" else iters
        what = "epoch" if kw["method"] == "force" else "iteration"
        sim = model.dynamics_similarity(test, **select)
        print(f"{name:34s} {sec:7.1f} s per run ({unit} {what}s, {1e3 * sec / unit:6.1f} ms per "
              f"{what}); held-out error {1 - model.score(test, **select):.3f}, "
              f"CCA {sim['cca']:.3f}")


def bench_adjoint(quick: bool) -> None:
    """One BPTT gradient at the paper's size: hand-written adjoint vs torch.autograd."""
    import torch

    from neurodata.rnn._bptt import forward_rates, loss_and_grads

    gen = torch.Generator().manual_seed(0)
    n, trials, steps = 200, 8, 60 if quick else 281
    shapes = {"J": (n, n), "B": (n, 2), "b": (n,), "x0": (n,), "W": (2, n)}
    params = {k: 0.1 * torch.randn(*s, generator=gen) for k, s in shapes.items()}
    u = torch.randn(trials, steps, 2, generator=gen)
    z = torch.randn(trials, steps, 2, generator=gen)
    a = torch.randn(trials, steps, 20, generator=gen)
    one = torch.tensor(1.0)

    def manual():
        loss_and_grads(params, u, z, a, leak=0.05, activity_weight=1.0, var_z=one, var_a=one)

    def autograd():
        leaf = {k: v.clone().requires_grad_() for k, v in params.items()}
        rates = forward_rates(leaf, u, 0.05)
        loss = ((rates @ leaf["W"].T - z) ** 2).sum() + ((rates[..., :20] - a) ** 2).sum()
        loss.backward()

    reps = 2 if quick else 5
    t_auto = min(_timed(autograd)[1] for _ in range(reps))
    t_manual = min(_timed(manual)[1] for _ in range(reps))
    print(f"BPTT gradient, {n} units x {trials} trials x {steps} steps: autograd "
          f"{1e3 * t_auto:.1f} ms, adjoint {1e3 * t_manual:.1f} ms, speed-up {t_auto / t_manual:.2f}x")


def _load_reference(path: Path):
    spec = importlib.util.spec_from_file_location("curbd_reference", path / "curbd.py")
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no curbd.py in {path}")
    module = importlib.util.module_from_spec(spec)
    import matplotlib

    matplotlib.use("Agg")
    with warnings.catch_warnings():  # the reference predates numpy 2
        warnings.simplefilter("ignore")
        for name, value in (("NaN", np.nan), ("object", builtins.object)):
            if not hasattr(np, name):
                setattr(np, name, value)
    spec.loader.exec_module(module)
    return module


def bench_curbd(path: Path, quick: bool) -> None:
    from neurodata.rnn import fit_curbd, percent_variance_explained

    ref = _load_reference(path)
    np.random.seed(0)  # noqa: NPY002 (the reference draws from numpy's global state)
    units = 50 if quick else 100
    sim = ref.threeRegionSim(number_units=units, T=4 if quick else 10, leadTime=1,
                             plotSim=False)
    activity = np.concatenate([sim["Ra"], sim["Rb"], sim["Rc"]], 0)  # (unit, time)
    n, n_samples = activity.shape
    dt = sim["params"]["dtData"]
    epochs = 3 if quick else 10
    regions = np.array([["A", np.arange(units)], ["B", np.arange(units, 2 * units)],
                        ["C", np.arange(2 * units, 3 * units)]], dtype=object)
    print(f"CURBD: {n} units x {n_samples} samples, dtFactor 1, {epochs} training runs + 1 free")
    np.random.seed(1)  # noqa: NPY002
    out, t_ref = _timed(lambda: ref.trainMultiRegionRNN(
        activity, dtData=dt, dtFactor=1, tauRNN=sim["params"]["tau"], nRunTrain=epochs,
        nRunFree=1, plotStatus=False, verbose=False, regions=regions))
    rec = xr.DataArray(activity.T, dims=("time", "unit"),
                       coords={"time": np.arange(n_samples) * dt,
                               "region": ("unit", np.repeat(["A", "B", "C"], units))})
    fit, t_ours = _timed(lambda: fit_curbd(rec, "region", tau=sim["params"]["tau"],
                                           n_epochs=epochs, initial_weights=out["J0"],
                                           random_state=1, progress=False))
    ref_model = out["RNN"][:, 1:].T  # their state at sample k is stored at index k + 1
    ref_pvar = percent_variance_explained(ref_model, out["Adata"][:, :-1].T)
    print(f"  reference trainMultiRegionRNN : {t_ref:7.2f} s  ({t_ref / (epochs + 1):.3f} s per "
          f"run), pVar {ref_pvar:.4f} (its own report: {out['pVars'][-1]:.4f})")
    print(f"  neurodata fit_curbd           : {t_ours:7.2f} s  ({t_ours / (epochs + 1):.3f} s per "
          f"run), pVar {fit.attrs['pvar']:.4f}")
    print(f"  speed-up: {t_ref / t_ours:.2f}x")
    cur = fit.currents
    err = float(np.abs(cur.sum("source").values
                       - fit.model_rates.values @ fit.weights.values.T).max())
    print(f"  currents sum to J r within {err:.1e}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curbd", type=Path, default=None,
                        help="folder holding the reference curbd.py (rajanlab/CURBD)")
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    parser.add_argument("--skip-students", action="store_true")
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    if not args.skip_students:
        bench_students(args.quick)
        bench_adjoint(args.quick)
    if args.curbd is not None:
        bench_curbd(args.curbd, args.quick)
    else:
        print("CURBD reference: skipped (pass --curbd PATH to the folder with curbd.py)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
