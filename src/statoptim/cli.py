"""The ``statoptim`` console script.

``statoptim reproduce NAME`` runs one of the registered studies; ``statoptim
reproduce --list`` lists them.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _build_parser():
    from statoptim import __version__
    from statoptim.studies import STUDIES

    parser = argparse.ArgumentParser(
        prog="statoptim",
        description="Fast, exact statistical optimisation; reproduce the studies behind it.",
    )
    parser.add_argument("--version", action="version", version=f"statoptim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    rep = sub.add_parser("reproduce", help="reproduce a study: tables, figures and timings")
    rep.add_argument("--list", action="store_true", help="list the available studies")
    studies = rep.add_subparsers(dest="study", metavar="STUDY")
    for study in STUDIES.values():
        sp = studies.add_parser(study.name, help=study.help, description=study.help)
        study.add_arguments(sp)
        sp.set_defaults(_run=study.run)
    return parser, rep


def main(argv=None):
    """Entry point of the ``statoptim`` command; returns the exit code."""
    parser, rep = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "reproduce":
        if getattr(args, "list", False) or args.study is None:
            from statoptim.studies import STUDIES

            print("Available studies:")
            for study in STUDIES.values():
                print(f"  {study.name:20s} {study.help}")
            return 0 if getattr(args, "list", False) else 2
        try:
            return int(args._run(args) or 0)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
