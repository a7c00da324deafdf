"""``neurodata gain-control``: fit the model to NWB recordings, or compute its effects.

``neurodata gain-control fit SESSION.nwb [...]`` opens each recording (one per
session) and fits :class:`~neurodata.gain_control.AdaptiveGainModel` to them,
exactly as ``AdaptiveGainModel(...).fit({path: open_nwb(path), ...})`` does
(the trial table needs ``stimulus_orientation`` and ``condition`` columns).  ``neurodata gain-control effects``
computes the adaptation effects of a model network.  Both print a summary and
can write their results to an NWB file (:func:`neurodata.write_nwb`).
"""

from __future__ import annotations

import argparse
import json

__all__ = ["register"]


def _cmd_fit(args: argparse.Namespace) -> int:
    from neurodata.gain_control._estimator import AdaptiveGainModel
    from neurodata.io import open_nwb, write_nwb

    recordings = {str(path): open_nwb(path) for path in args.files}
    model = AdaptiveGainModel(args.p_adapter, adapter=args.adapter, n_init=args.n_init,
                              gain_site=args.gain_site, objective=args.objective,
                              random_state=args.random_state, progress=False)
    model.fit(recordings, trials=args.trials, window=args.window)
    fit = model.to_dataset()
    summary: dict[str, object] = {
        str(p): {"estimate": float(e), "stderr": float(s)} for p, e, s in
        zip(fit.parameter.values, fit.estimate.values, fit.stderr.values)}
    summary["r2"] = float(fit.r2)
    print(json.dumps(summary, indent=2) if args.json else "\n".join(
        f"{k:>20s}: {v['estimate']:.4g} +- {v['stderr']:.2g}" if isinstance(v, dict)
        else f"{k:>20s}: {v:.4f}" for k, v in summary.items()))
    if args.out:
        write_nwb({"gain_control_data": model.data_, "gain_control_fit": fit}, args.out,
                  overwrite=args.overwrite)
    return 0


def _cmd_effects(args: argparse.Namespace) -> int:
    from neurodata.gain_control._effects import adaptation_effects
    from neurodata.gain_control._network import ring_network
    from neurodata.io import write_nwb

    net = ring_network(args.n_units, tuning_kappa=args.tuning_kappa,
                       recurrent_strength=args.recurrent_strength,
                       recurrent_kappa=args.recurrent_kappa)
    fx = adaptation_effects(net, adapter=args.adapter, p_adapter=args.p_adapter,
                            rule=args.rule, gain_site=args.gain_site, objective=args.objective)
    near = abs(fx.distance_to_adapter) <= 15
    band = (abs(fx.distance_to_adapter) >= 15) & (abs(fx.distance_to_adapter) <= 45)
    summary = {
        "max_ratio_near_adapter": float(fx.max_ratio.where(near).max()),
        "min_ratio_near_adapter": float(fx.min_ratio.where(near).max()),
        "repulsion_15_45_min_deg": float(fx.repulsion.where(band).min()),
        "covariance_distance_unadapted": float(fx.covariance_distance.sel(
            ensemble="biased_unadapted")),
        "covariance_distance_adapted": float(fx.covariance_distance.sel(
            ensemble="biased_adapted")),
    }
    print(json.dumps(summary, indent=2) if args.json else "\n".join(
        f"{k:>32s}: {v:.4f}" for k, v in summary.items()))
    if args.out:
        write_nwb({"gain_control_effects": fx}, args.out, overwrite=args.overwrite)
    return 0


def register(subparsers) -> None:
    """Add ``gain-control fit`` and ``gain-control effects`` to the ``neurodata`` command.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="neurodata")
    >>> register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["gain-control", "effects", "--p-adapter", "0.4"])
    >>> args.p_adapter, args.func.__name__
    (0.4, '_cmd_effects')
    """
    p = subparsers.add_parser("gain-control", help="adaptive gain control (Duong et al. 2023)")
    sub = p.add_subparsers(dest="gain_control_command", required=True)
    f = sub.add_parser("fit", help="fit the model to NWB recordings of an adaptation experiment")
    f.add_argument("files", nargs="+", help="one NWB recording per session, with spike trains "
                   "and a trial table with stimulus_orientation and condition columns")
    f.add_argument("--p-adapter", type=float, default=None,
                   help="probability of the adapter in the biased ensemble (default: read from "
                        "each session's trials)")
    f.add_argument("--adapter", type=float, default=None,
                   help="adapter orientation in degrees (default: the orientation shown most "
                        "often in the biased condition)")
    f.add_argument("--trials", default="trial", help="interval table of grating presentations")
    f.add_argument("--window", type=float, nargs=2, default=None, metavar=("START", "STOP"),
                   help="response window after each onset (s); default the whole trial")
    f.add_argument("--n-init", "--n-starts", dest="n_init", type=int, default=4,
                   help="starts of the fit")
    f.add_argument("--gain-site", choices=("total", "input"), default="total")
    f.add_argument("--objective", choices=("log_gain", "fisher_poisson", "fisher_gaussian"),
                   default="log_gain")
    f.add_argument("--random-state", "--seed", dest="random_state", type=int, default=0)
    f.set_defaults(func=_cmd_fit)
    e = sub.add_parser("effects", help="adaptation effects of a model network")
    e.add_argument("--p-adapter", type=float, default=0.3)
    e.add_argument("--adapter", type=float, default=0.0)
    e.add_argument("--n-units", type=int, default=60)
    e.add_argument("--tuning-kappa", type=float, default=2.0)
    e.add_argument("--recurrent-strength", type=float, default=0.4)
    e.add_argument("--recurrent-kappa", type=float, default=4.0)
    e.add_argument("--rule", choices=("optimal", "equalize"), default="optimal")
    e.add_argument("--gain-site", choices=("total", "input"), default="total")
    e.add_argument("--objective", choices=("log_gain", "fisher_poisson", "fisher_gaussian"),
                   default="log_gain")
    e.set_defaults(func=_cmd_effects)
    for q in (f, e):
        q.add_argument("--out", default=None, help="write the results to this NWB file")
        q.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
        q.add_argument("--json", action="store_true", help="machine-readable summary")
