"""``neurodata curbd``: data-constrained RNN and current decomposition of NWB recordings.

``neurodata curbd SESSION.nwb --regions location --bin-size 0.05 --smooth 0.5``
is a thin wrapper over public calls: :func:`neurodata.open_nwb`, the spike
trains as boxcar-smoothed firing rates (:func:`neurodata.signals.firing_rates`),
:func:`neurodata.rnn.fit_curbd` with one model unit per recorded unit,
:func:`neurodata.rnn.region_currents` for the summary, and
:func:`neurodata.write_nwb` for the result.
"""

from __future__ import annotations

import argparse
import json

__all__ = ["register"]


def _cmd_curbd(args: argparse.Namespace) -> int:
    from neurodata.io import open_nwb, write_nwb
    from neurodata.rnn import fit_curbd, region_currents
    from neurodata.signals import firing_rates

    ds = open_nwb(args.file, lazy=False)
    rates = firing_rates(ds, args.bin_size, smooth=args.smooth, kernel="boxcar",
                         start=args.start, stop=args.stop)
    fit = fit_curbd(rates, args.regions, tau=args.tau, g=args.g, p0=args.p0,
                    n_epochs=args.n_epochs, random_state=args.random_state,
                    progress=False if args.json else None)
    rms = region_currents(fit)
    pairs = {f"{s}->{t}": float(rms.sel(source=s, target=t))
             for s in rms.source.values for t in rms.target.values}
    summary: dict[str, object] = {"pvar": float(fit.attrs["pvar"]),
                                  "units": int(rates.sizes["unit"]),
                                  "samples": int(rates.sizes["time"]),
                                  "rms_current": pairs}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"pVar {summary['pvar']:.3f} ({summary['units']} units x {summary['samples']} bins)")
        for pair, value in pairs.items():
            print(f"{pair:>24s}: {value:.4g}")
    if args.out:
        write_nwb({"curbd": fit}, args.out, overwrite=args.overwrite)
    return 0


def register(subparsers) -> None:
    """Add ``curbd`` to the ``neurodata`` command.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="neurodata")
    >>> register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["curbd", "s.nwb", "--regions", "location"])
    >>> args.regions, args.bin_size, args.func.__name__
    ('location', 0.05, '_cmd_curbd')
    """
    p = subparsers.add_parser(
        "curbd", help="data-constrained RNN with current-based decomposition (Perich et al. 2020)")
    p.add_argument("file", help="NWB recording with spike trains")
    p.add_argument("--regions", default=None,
                   help="unit column naming each unit's region (e.g. location)")
    p.add_argument("--bin-size", type=float, default=0.05, help="spike-count bin (s)")
    p.add_argument("--smooth", type=float, default=0.5,
                   help="boxcar smoothing width (s); the ends are padded with the edge value")
    p.add_argument("--start", type=float, default=None, help="first time (s)")
    p.add_argument("--stop", type=float, default=None, help="last time (s)")
    p.add_argument("--tau", type=float, default=0.1, help="model time constant (s)")
    p.add_argument("--g", type=float, default=1.5, help="initial recurrent gain")
    p.add_argument("--p0", type=float, default=1.0, help="RLS learning rate")
    p.add_argument("--n-epochs", "--epochs", dest="n_epochs", type=int, default=100,
                   help="training passes (--epochs: the old spelling)")
    p.add_argument("--random-state", "--seed", dest="random_state", type=int, default=0)
    p.add_argument("--out", default=None, help="write the fit to this NWB file")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.set_defaults(func=_cmd_curbd)
