"""The command-line options of the studies that run on the study engine.

:func:`add_runner_arguments` adds them to a study's sub-parser,
:func:`check_runner_arguments` checks them before anything is computed, and
:func:`run_from_args` runs :func:`statoptim.studies._engine.run_grid` with them.
"""
from __future__ import annotations

import sys
import warnings

from statoptim._optional import INSTALL, installed
from statoptim._validation import check_int
from statoptim.exceptions import IncompleteResultsWarning
from statoptim.studies._engine_backends import _resolve_backend
from statoptim.studies._engine_store import (
    ResultsFolderError,
    _canonical_settings,
    _ResultsFolder,
)
from statoptim.studies._registry import _StoreTrue, add_study_arguments, given, int_at_least


def add_runner_arguments(parser, *, replications=100, seed=0, replications_help=None,
                         **kwargs):
    """Add the options of every study plus the study runner's to a study's sub-parser.

    The options of :func:`~statoptim.studies._registry.add_study_arguments`
    (``--out`` is also the results folder here) plus ``--summarize-only`` and
    ``--replications-per-task``; the defaults of ``--replications`` and ``--seed`` are
    the study's. Other keyword arguments (``jobs_help``, ``data_help``, ``unused``, ...) go
    to ``add_study_arguments``.
    """
    kwargs.setdefault("unused", ("data",))
    kwargs.setdefault(
        "out_help", "results folder: every finished batch of replications is saved there as "
                    "it completes (a rerun computes only what is missing; one run at a time), "
                    "beside the tables as CSV and JSON, the figures and command.txt; without "
                    "it nothing is written")
    kwargs.setdefault("jobs_help", "local worker processes (joblib; default -1: all cores; at "
                                   "most the CPUs available), or the number of workers of "
                                   "--scheduler local")
    group = add_study_arguments(
        parser, replications=replications,
        replications_help=replications_help or "Monte Carlo replications per setting "
                                               "(default: {default}; with --summarize-only: "
                                               "all stored)",
        seed=seed, **kwargs)
    group.add_argument("--summarize-only", action=_StoreTrue,
                       help="rebuild tables and figures from the replications stored in --out "
                            "without computing (all of them unless --replications is given)")
    group.add_argument("--replications-per-task", type=int_at_least(1), default=None, metavar="B",
                       help="replications per task and per results file (default: auto)")
    return parser


def check_runner_arguments(args, study, settings):
    """Pre-flight check of the options of :func:`add_runner_arguments`; computes nothing.

    Checks what the argparse types cannot: the ``--scheduler`` address (and
    that Dask is installed), ``--summarize-only`` without ``--out``, and the
    ``--out`` folder: not a file, creatable and writable, empty or holding
    results of this ``study``, seed and ``settings`` (the grid the run will
    pass to :func:`run_grid`), and not in use by another run. Raises
    ``ValueError`` (:class:`ResultsFolderError` for ``--out``) whose message
    starts with ``argument --OPTION:``.
    """
    scheduler = args.scheduler
    try:
        _resolve_backend("dask" if scheduler is not None else "joblib", scheduler)
    except ValueError as exc:
        raise ValueError(f"argument --scheduler: {exc}") from None
    if scheduler is not None and not installed("distributed"):
        raise ValueError("argument --scheduler: running on Dask needs Dask distributed, "
                         f"which is not installed ({INSTALL['distributed']})")
    if args.summarize_only and args.out is None:
        raise ValueError("argument --summarize-only: needs --out DIR, the folder of the "
                         "stored results")
    if args.out is not None:
        settings, sha = _canonical_settings(settings)
        folder = _ResultsFolder(args.out, study, args.seed, settings, sha)
        try:
            folder.check(create=not args.summarize_only)
        except ResultsFolderError as exc:
            raise type(exc)(f"argument --out: {exc}") from None


def runner_kwargs(args):
    """Keyword arguments of :func:`run_grid` from options added by :func:`add_runner_arguments`.

    Use as ``run_grid(func, settings, study=NAME, **runner_kwargs(args))``; it
    includes ``n_replications`` (None, i.e. all stored, for
    ``--summarize-only`` without ``--replications``) and ``seed``.
    """
    summarize_only = bool(getattr(args, "summarize_only", False))
    everything = summarize_only and not given(args, "replications")
    return {
        "n_replications": None if everything else args.replications,
        "seed": args.seed,
        "backend": "dask" if args.scheduler is not None else "joblib",
        "n_jobs": args.jobs,
        "scheduler": args.scheduler,
        "out": args.out,
        "progress": not args.no_progress,
        "summarize_only": summarize_only,
        "replications_per_task": getattr(args, "replications_per_task", None),
    }


def run_from_args(func, settings, study, args, *, n_replications=None):
    """:func:`run_grid` with the command-line options of :func:`add_runner_arguments`.

    With ``--summarize-only`` it says on stderr, in one line, how many
    replications are stored and used (all of them, or the first
    ``--replications`` per setting).

    Parameters
    ----------
    func, settings, study
        As :func:`run_grid`.
    args : argparse.Namespace
        The parsed options.
    n_replications : int or None, default=None
        Replications per setting instead of ``--replications``: for a study
        whose ``--replications`` counts something its settings already hold
        (data sets or splits named in each setting, run once each).

    Returns
    -------
    records : list of dict
        As :func:`run_grid`.
    """
    from statoptim.studies._engine import run_grid

    kwargs = runner_kwargs(args)
    if n_replications is not None:
        kwargs["n_replications"] = check_int(n_replications, "n_replications", 1)
    if not kwargs["summarize_only"]:
        return run_grid(func, settings, study=study, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IncompleteResultsWarning)
        records = run_grid(func, settings, study=study, **kwargs)
    settings = list(settings)
    counts = [0] * len(settings)
    for rec in records:
        for i, setting in enumerate(settings):
            if all(rec.get(k) == v for k, v in setting.items()):
                counts[i] += 1
                break
    low, high = min(counts), max(counts)
    per = f"{low}" if low == high else f"{low} to {high}"
    asked = kwargs["n_replications"]
    line = (f"--summarize-only: {len(records)} stored replications in {args.out} "
            f"({per} per setting x {len(settings)} settings); nothing is computed")
    if asked is not None and low < asked:
        line += (f"; --replications {asked} asked for more: rerun without --summarize-only "
                 "to compute the rest")
    prog = getattr(args, "_prog", None) or f"statoptim reproduce {study}"
    print(f"{prog}: {line}", file=sys.stderr, flush=True)
    return records
