"""The ``statoptim`` console script.

``statoptim reproduce NAME`` runs one of the registered studies; ``statoptim
reproduce --list`` lists them.

Errors of the user's making -- a bad option value, a missing data folder, an
unusable ``--out`` folder, a results folder in use by another run -- are
reported on one line of stderr, ``PROG: error: argument --OPTION: ...``, with
exit status 2 and no traceback, and before anything is computed: argparse
checks each value (the studies' ``type=`` functions), then the study's
pre-flight ``check(args)`` checks what depends on several options or on the
file system. While a study runs, only a
:class:`~statoptim.studies._registry.CommandLineError` (the results folder taken
meanwhile, an unreachable Dask scheduler) is reported that way; any other
exception is a bug and keeps its traceback.

Once the check has passed, notes go to stderr, one line each: an old spelling
of an option that is deprecated, an option the study ignores. Ctrl-C exits
with status 130 and no traceback; the last line on stderr says what is saved
and how to resume (a study on the study engine), or that the run was
interrupted.
"""
from __future__ import annotations

import argparse
import sys

from statoptim.studies._registry import CommandLineError, pending_notes

__all__ = ["main"]


def _one_line(message):
    return " ".join(str(message).split())


class _Parser(argparse.ArgumentParser):
    """argparse, with errors on one line (no usage block) and no ``sys.exit`` in ``main``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_one_line(message)} "
                     f"(see: {self.prog} --help)\n")


def _build_parser():
    from statoptim import __version__
    from statoptim.studies import STUDIES

    parser = _Parser(
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
        sp.set_defaults(_study=study, _parser=sp)
    return parser, rep


def _fail(parser, exc):
    """Report a user error on one line of stderr; the exit status 2."""
    print(f"{parser.prog}: error: {_one_line(exc)}", file=sys.stderr, flush=True)
    return 2


def main(argv=None):
    """Entry point of the ``statoptim`` command; returns the exit code.

    Parameters
    ----------
    argv : list of str or None
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for a usage error (one line on stderr), 130 after
        Ctrl-C, or what the study returned.
    """
    try:
        parser, rep = _build_parser()  # imports the studies: a second or two
    except KeyboardInterrupt:
        print("\nstatoptim: interrupted", file=sys.stderr, flush=True)
        return 130
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help, --version or a one-line error
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command is None:
        return _fail(parser, "a command is required: reproduce (see: statoptim --help)")
    if getattr(args, "list", False):
        from statoptim.studies import STUDIES

        print("Available studies:")
        for study in STUDIES.values():
            print(f"  {study.name:20s} {study.help}")
        return 0
    if args.study is None:
        return _fail(rep, "a study is required (statoptim reproduce --list shows them)")
    study, sub = args._study, args._parser
    args._argv = list(sys.argv[1:] if argv is None else argv)  # command.txt in --out
    args._prog = sub.prog
    try:
        try:
            study.check(args)
        except (ValueError, TypeError) as exc:  # the pre-flight check: user errors only
            return _fail(sub, exc)
        for note in pending_notes(args):
            print(f"{sub.prog}: {note}", file=sys.stderr, flush=True)
        try:
            return int(study.run(args) or 0)
        except CommandLineError as exc:
            return _fail(sub, exc)
    except KeyboardInterrupt as exc:
        # The study engine has printed what is saved; that line stays the last.
        if not getattr(exc, "reported", False):
            print(f"\n{sub.prog}: interrupted", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
