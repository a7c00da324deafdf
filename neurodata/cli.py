"""The ``neurodata`` command: inspect files, run the sample analysis, score segmentations.

Each analysis subpackage may add a subcommand through a private ``_cli``
module with ``register(subparsers)``; they are listed in :data:`SUBCOMMANDS`
and imported only when the command runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from neurodata._version import __version__
from neurodata.errors import NeurodataError

__all__ = ["main"]

#: Modules that register further subcommands.
SUBCOMMANDS: list[str] = ["neurodata.batch._cli", "neurodata.segmentation._cli",
                         "neurodata.gain_control._cli", "neurodata.rnn._cli"]


def _cmd_info(args: argparse.Namespace) -> int:
    from neurodata.batch import open_recording
    from neurodata.io._summary import format_summary, summarize

    reports, status = [], 0
    for name in args.files:
        try:
            with open_recording(name) as ds:
                s = summarize(ds)
            s["path"], s["size_bytes"] = name, Path(name).stat().st_size
            status = status or (0 if s["valid"] else 1)
        except NeurodataError as err:
            s = {"path": name, "error": str(err)}
            status = 2
        reports.append(s)
    if args.json:
        print(json.dumps(reports if len(reports) > 1 else reports[0], indent=2))
    else:
        for s in reports:
            if "error" in s:
                print(f"{s['path']}\n  ERROR: {s['error']}")
            else:
                print(format_summary(s["path"], s, s["size_bytes"]))
            print()
    return status


def _cmd_demo(args: argparse.Namespace) -> int:
    from neurodata._demo import run_demo

    run_demo(args.out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with every registered subcommand.

    Examples
    --------
    >>> build_parser().parse_args(["info", "a.nwb", "--json"]).json
    True
    """
    parser = argparse.ArgumentParser(prog="neurodata", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"neurodata {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="what each NWB file holds, and whether it validates")
    p.add_argument("files", nargs="+", help="NWB files (NWB 2, or Allen NWB 1)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_info)
    p = sub.add_parser("demo", help="run the sample analysis on shipped sample data")
    p.add_argument("--out", default="neurodata_demo_output", help="output folder")
    p.set_defaults(func=_cmd_demo)
    for module in SUBCOMMANDS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Examples
    --------
    >>> from neurodata.datasets import sample_path
    >>> main(["info", str(sample_path()), "--json"])  # doctest: +ELLIPSIS
    {
      "identifier": "neurodata-poisson-24x40",
    ...
    0
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except NeurodataError as err:
        print(f"neurodata {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
