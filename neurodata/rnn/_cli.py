"""``neurodata curbd``: data-constrained RNN and current decomposition of NWB recordings.

``neurodata curbd SESSION.nwb --regions location --bin-size 0.05 --smooth 0.5``
opens the recording, bins its spikes (:func:`neurodata.signals.bin_spikes`),
smooths them with a centred boxcar of ``--smooth`` seconds, fits a CURBD model
with one unit per recorded unit (:func:`neurodata.rnn.fit_curbd`), prints the
fit and the RMS current between every pair of regions, and can write the
result to an NWB file (:func:`neurodata.write_nwb`).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

__all__ = ["register"]


def region_currents(fit) -> dict[str, float]:
    """RMS current from every source region into every target region."""
    cur = fit.currents
    out = {}
    for src in cur.source.values:
        for trg in np.unique(cur.region.values):
            block = cur.sel(source=src).sel(unit=cur.region == trg)
            out[f"{src}->{trg}"] = float(np.sqrt((block**2).mean()))
    return out


def _cmd_curbd(args: argparse.Namespace) -> int:
    from neurodata.io import open_nwb, write_nwb
    from neurodata.rnn._curbd import fit_curbd
    from neurodata.signals import bin_spikes

    ds = open_nwb(args.file, lazy=False)
    counts = bin_spikes(ds, args.bin_size, start=args.start, stop=args.stop)
    rates = counts.astype(float) / args.bin_size
    width = max(1, round(args.smooth / args.bin_size))
    if width > 1:
        rates = rates.rolling(time=width, center=True, min_periods=1).mean()
    fit = fit_curbd(rates, args.regions, tau=args.tau, g=args.g, p0=args.p0,
                    n_epochs=args.epochs, random_state=args.seed, progress=not args.json)
    summary: dict[str, object] = {"pvar": float(fit.attrs["pvar"]),
                                  "units": int(rates.sizes["unit"]),
                                  "samples": int(rates.sizes["time"]),
                                  "rms_current": region_currents(fit)}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"pVar {summary['pvar']:.3f} ({summary['units']} units x {summary['samples']} bins)")
        for pair, value in region_currents(fit).items():
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
    p.add_argument("--smooth", type=float, default=0.5, help="boxcar smoothing width (s)")
    p.add_argument("--start", type=float, default=None, help="first time (s)")
    p.add_argument("--stop", type=float, default=None, help="last time (s)")
    p.add_argument("--tau", type=float, default=0.1, help="model time constant (s)")
    p.add_argument("--g", type=float, default=1.5, help="initial recurrent gain")
    p.add_argument("--p0", type=float, default=1.0, help="RLS learning rate")
    p.add_argument("--epochs", type=int, default=100, help="training passes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the fit to this NWB file")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.set_defaults(func=_cmd_curbd)
