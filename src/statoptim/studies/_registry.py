"""Registry of reproducible studies and what every study shares.

The same options mean the same thing in every study
(:func:`add_study_arguments`): ``--out DIR`` (tables as CSV and JSON, figures,
a copy of the command and, for the studies on the study engine, the stored
replications; nothing is written anywhere else), ``--replications``,
``--seed``, ``--jobs``, ``--scheduler``, ``--no-figures``, ``--no-progress``
and ``--data`` (the folder with one subfolder per data set, found by
:func:`find_dataset`). A study that has no use for one of them accepts it and
says in one line that it is ignored; old spellings are deprecated aliases
(:func:`deprecated_alias`) that say so in one line.

Command-line arguments are checked in two places, both before anything is
computed: argparse ``type=`` functions (:func:`int_at_least`,
:func:`real_in`, :func:`existing_dir`, ...) check each value on its own, and
a study's ``check(args)`` (given to :func:`register`) checks what depends on
several options or on the file system (:func:`check_output_dir`,
:func:`find_dataset` and the engine's results-folder check). The
``statoptim`` command reports a failure of either on one line and exits with
status 2; errors raised while the study runs are reported that way only if
they are a :class:`CommandLineError` (the results folder taken by another
run meanwhile, an unreachable Dask scheduler); anything else is a bug and
keeps its traceback. Notes (deprecated spellings, ignored options) are
printed on stderr once the check has passed (:func:`pending_notes`).
"""
from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "COMMON_OPTIONS",
    "STUDIES",
    "CommandLineError",
    "Study",
    "add_study_arguments",
    "check_output_dir",
    "deprecated_alias",
    "deprecated_figure_option",
    "existing_dir",
    "find_dataset",
    "format_table",
    "given",
    "int_at_least",
    "nonzero_int",
    "pending_notes",
    "real_in",
    "register",
]


class CommandLineError(Exception):
    """Marks errors caused by a command-line argument or the user's environment.

    The ``statoptim`` command prints such an error on one line and exits with
    status 2 even when it is raised while a study runs. Concrete classes also
    derive from the built-in exception that fits (``ValueError``,
    ``ConnectionError``), which is what the Python API documents.
    """


@dataclass
class Study:
    """A reproducible study run by ``statoptim reproduce NAME``.

    ``add_arguments(parser)`` adds study-specific options to its sub-parser;
    ``run(args)`` runs the study and prints its tables (returns an exit code).
    """

    name: str
    help: str
    run: Callable
    add_arguments: Callable = field(default=lambda parser: None)
    #: ``check(args)``: the pre-flight check of the parsed arguments, run before
    #: ``run``; raises ``ValueError`` or ``TypeError`` naming the option.
    check: Callable = field(default=lambda args: None)


STUDIES: dict[str, Study] = {}


def register(name, help, add_arguments=None, check=None):
    """Decorator registering ``run(args)`` as the study ``name``.

    ``add_arguments(parser)`` adds the study's options; ``check(args)``, if
    given, validates the parsed options before anything is computed (raise
    ``ValueError`` with a message starting ``argument --OPTION:``).

    Examples
    --------
    >>> from statoptim.studies import STUDIES, register
    >>> @register("hello", "print a greeting")
    ... def run(args):
    ...     print("hello")
    >>> STUDIES["hello"].help
    'print a greeting'
    >>> del STUDIES["hello"]
    """

    def decorator(run):
        STUDIES[name] = Study(name, help, run, add_arguments or (lambda parser: None),
                              check or (lambda args: None))
        return run

    return decorator


# ------------------------------------------------------------ argument checks


def int_at_least(minimum, why=""):
    """argparse ``type=``: an integer >= ``minimum`` (``why`` explains the bound)."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {minimum}{why}, got {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def nonzero_int(text):
    """argparse ``type=``: a process count, an integer other than 0 (-1: every core)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError(
            "expected a number of processes >= 1, or -1 for every core (-2 all but one, "
            "...), got 0")
    return value


def real_in(low=None, high=None, *, low_open=False, high_open=False):
    """argparse ``type=``: a finite real number in an (open or closed) interval."""
    lo = "" if low is None else (f"> {low:g}" if low_open else f">= {low:g}")
    hi = "" if high is None else (f"< {high:g}" if high_open else f"<= {high:g}")
    bounds = " and ".join(x for x in (lo, hi) if x)
    expected = "a finite number" + (f" {bounds}" if bounds else "")

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        ok = math.isfinite(value)
        if ok and low is not None:
            ok = value > low if low_open else value >= low
        if ok and high is not None:
            ok = value < high if high_open else value <= high
        if not ok:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = expected
    return parse


def existing_dir(text):
    """argparse ``type=``: a folder that exists (data folders; nothing is created)."""
    if not text:
        raise argparse.ArgumentTypeError("expected a folder, got ''")
    if not os.path.exists(text):
        raise argparse.ArgumentTypeError(f"folder {text!r} does not exist")
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a folder")
    return text


def _probe_writable(folder):
    """Raise ``OSError`` unless a file can be created in the existing ``folder``."""
    # An unnamed temporary file (O_TMPFILE where the OS has it): nothing is left
    # behind, and unlike os.access it also sees read-only mounts, ACLs and root.
    tempfile.TemporaryFile(dir=folder).close()


def check_output_dir(path, option):
    """Check that ``path`` is, or can be created as, a writable folder.

    Creates nothing. Raises ``ValueError`` starting with ``argument OPTION:``
    if ``path`` is empty or a file, or if it (or, when it does not exist yet,
    its nearest existing parent) is not a writable folder.
    """
    prefix = f"argument {option}:"
    if not path:
        raise ValueError(f"{prefix} expected a folder, got ''")
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{prefix} {path!r} is a file, not a folder")
    parent = os.path.abspath(path)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise ValueError(f"{prefix} cannot create the folder {path!r}: {parent!r} is a file")
    try:
        _probe_writable(parent)
    except OSError as exc:
        what = "folder" if parent == os.path.abspath(path) else "parent folder"
        raise ValueError(f"{prefix} cannot write into {path!r}: the {what} {parent!r} is "
                         f"not writable ({exc.strerror or exc})") from None


# ------------------------------------------------------------ common options

#: The options every study accepts (:func:`add_study_arguments`).
COMMON_OPTIONS = ("--out", "--replications", "--seed", "--jobs", "--scheduler",
                  "--no-figures", "--no-progress", "--data")

#: Where a study looks for its data without ``--data``, in this order: the
#: folder named by this environment variable, then ``DEFAULT_DATA`` (for help
#: texts; the lookup is :func:`statoptim.datasets.find_dataset`).
DATA_ENV = "STATOPTIM_DATA"
DEFAULT_DATA = ("the data cache (statoptim.datasets.get_data_home())",
                "./shared/data", "../shared/data")


def _note(namespace, text):
    notes = getattr(namespace, "_notes", None)
    if notes is None:
        notes = []
        namespace._notes = notes
    if text not in notes:
        notes.append(text)


def _mark_given(namespace, dest):
    marked = getattr(namespace, "_given", None)
    if marked is None:
        marked = set()
        namespace._given = marked
    marked.add(dest)


def given(args, dest):
    """Whether the option stored in ``args.<dest>`` was given on the command line.

    Only options added by :func:`add_study_arguments` and
    :func:`deprecated_alias` are tracked.
    """
    return dest in getattr(args, "_given", ())


class _Store(argparse.Action):
    """``store`` that also records that the option was given."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        _mark_given(namespace, self.dest)


class _StoreTrue(argparse.Action):
    def __init__(self, option_strings, dest, default=False, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, True)
        _mark_given(namespace, self.dest)


class _DeprecatedAlias(argparse.Action):
    """An old spelling of an option: stores like the new one and leaves one note."""

    def __init__(self, option_strings, dest, *, new, value=None, message=None, refuse=None,
                 **kwargs):
        self.new, self.value, self.message, self.refuse = new, value, message, refuse
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        if self.refuse is not None:
            problem = self.refuse(values)
            if problem:
                raise argparse.ArgumentError(self, problem)
        value = values if self.value is None else self.value(values)
        setattr(namespace, self.dest, value)
        _mark_given(namespace, self.dest)
        _note(namespace, self.message or f"{option_string} is deprecated; use {self.new} "
                                          "(same meaning)")


def deprecated_alias(parser, old, new, *, dest, type=None, nargs=None, value=None,
                     message=None, refuse=None, metavar=None):
    """Accept the old spelling ``old`` of the option ``new``.

    The value is stored in ``args.<dest>`` (through ``value(parsed)`` if
    given); once the pre-flight check has passed, the ``statoptim`` command
    prints one line (``message``, by default "OLD is deprecated; use NEW (same
    meaning)") on stderr. ``refuse(parsed)`` may return a reason to refuse the
    value (a usage error naming ``old``). The alias is hidden from ``--help``.
    """
    parser.add_argument(old, action=_DeprecatedAlias, dest=dest, new=new, type=type,
                        nargs=nargs, value=value, message=message, refuse=refuse,
                        metavar=metavar, default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def deprecated_figure_option(parser, old, files):
    """Accept the old ``--figure PATH`` / ``--figures DIR`` spelling: only ``''`` still works.

    ``OLD ''`` means ``--no-figures`` (with a deprecation note); any other value
    is refused in one line: figures are written into ``--out`` now, as ``files``.
    """
    deprecated_alias(
        parser, old, "--no-figures", dest="no_figures", value=lambda text: True,
        message=f"{old} '' is deprecated; use --no-figures (same meaning)",
        refuse=lambda text: None if text == "" else (
            f"figures are written into --out DIR now (as {files}); pass --out DIR, or "
            "--no-figures to draw none"),
        metavar="PATH")


#: Why a study ignores a common option it has no use for (defaults).
_UNUSED = {
    "data": "this study simulates its data",
    "jobs": "this study runs in one process",
    "scheduler": "this study does not run on the study engine, nor on Dask",
}


def add_study_arguments(parser, *, replications, replications_help, seed=0, out_help=None,
                        data_help=None, jobs_help=None, scheduler_help=None, unused=()):
    """Add the options every study accepts (:data:`COMMON_OPTIONS`) to its sub-parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The study's sub-parser.
    replications : int
        Default of ``--replications``.
    replications_help : str
        What one replication is in this study (Monte Carlo replications,
        repeats, seeds, data sets); ``{default}`` in it is replaced by the
        default, else "(default: R)" is appended.
    seed : int, default=0
        Default of ``--seed``.
    out_help, data_help, jobs_help, scheduler_help : str, optional
        Study-specific help texts.
    unused : iterable of str or dict
        The options among ``"data"``, ``"jobs"`` and ``"scheduler"`` the study
        has no use for (a dict maps each to the reason): they are accepted,
        and giving one prints a note that it is ignored.

    Returns
    -------
    argparse._ArgumentGroup
        The group of the options (add study-runner options to it).
    """
    unused = dict(unused) if isinstance(unused, dict) else {k: _UNUSED[k] for k in unused}
    for key in unused:
        if key not in _UNUSED:
            raise ValueError(f"unused must name options among {sorted(_UNUSED)}, got {key!r}")
    parser.set_defaults(_unused=unused)

    def help_for(key, text):
        return f"not used by this study ({unused[key]})" if key in unused else text

    group = parser.add_argument_group("options of every study")
    group.add_argument(
        "--out", action=_Store, default=None, metavar="DIR",
        help=out_help or "folder for everything this run writes: the tables as CSV and JSON, "
                         "the figures and command.txt (the exact command); without it "
                         "nothing is written")
    group.add_argument("--replications", action=_Store, type=int_at_least(1),
                       default=replications, metavar="R",
                       help=replications_help.format(default=replications)
                       if "{default}" in replications_help
                       else f"{replications_help} (default: {replications})")
    group.add_argument("--seed", action=_Store, type=int_at_least(0), default=seed,
                       help=f"root seed of the study (default: {seed})")
    group.add_argument(
        "--jobs", action=_Store, type=nonzero_int, default=-1, metavar="N",
        help=help_for("jobs", jobs_help or "local worker processes (default -1: all cores; at "
                                           "most the CPUs available)"))
    group.add_argument(
        "--scheduler", action=_Store, default=None, metavar="ADDR",
        help=help_for("scheduler", scheduler_help or "run on Dask: 'tcp://HOST:PORT' of a "
                                                     "running scheduler, or 'local' for a "
                                                     "cluster on this machine (pip install "
                                                     "'statoptim[dask]')"))
    group.add_argument("--no-figures", action=_StoreTrue,
                       help="draw no figures (they need matplotlib: pip install "
                            "'statoptim[plot]')")
    group.add_argument("--no-progress", action=_StoreTrue, help="no progress bars")
    group.add_argument(
        "--data", action=_Store, type=existing_dir, default=None, metavar="DIR",
        help=help_for("data", data_help or "the folder with one subfolder per data set "
                                           f"(default: ${DATA_ENV}, then "
                                           f"{' or '.join(DEFAULT_DATA)})"))
    return group


def pending_notes(args):
    """The one-line notes to print before the study runs, then forgets them.

    Deprecated spellings used (:func:`deprecated_alias`) and options given
    that the study ignores (``unused`` of :func:`add_study_arguments`).
    """
    notes = list(getattr(args, "_notes", None) or ())
    for key, reason in (getattr(args, "_unused", None) or {}).items():
        if given(args, key):
            notes.append(f"--{key} ignored: {reason}")
    args._notes = []
    return notes


def find_dataset(data, name, files=(), *, required=True, option="--data"):
    """The folder of the data set ``name``: ``DATA/name``, holding ``files``.

    The lookup is :func:`statoptim.datasets.find_dataset`'s (one helper for
    the studies, the loaders, the tests and the benchmarks); this wrapper
    reports what is not found as a command-line error.

    Parameters
    ----------
    data : str or None
        ``--data``: the folder with one subfolder per data set, the only place
        looked at when given. None looks in ``$STATOPTIM_DATA``, then the
        per-user cache of the ``statoptim.datasets.fetch_*`` functions, then
        the copy shipped in the package (lung200), then ``./shared/data`` and
        ``../shared/data`` (relative to the current folder), and takes the
        first that holds the data set.
    name : str
        The data set's subfolder, e.g. ``"lung200"``.
    files : sequence of str
        Files that must be in it.
    required : bool, default=True
        Without ``data``, whether a data set found nowhere is an error (else
        None is returned).
    option : str, default="--data"
        The option named in errors.

    Returns
    -------
    str or None
        The folder ``DATA/name``.

    Raises
    ------
    ValueError
        ``argument --data: ...`` if ``data`` lacks the data set, or it is found
        nowhere and ``required``; the message names the first missing file and
        how to get the data.
    """
    from statoptim.datasets import find_dataset as lookup

    try:
        return lookup(name, data, files, required=required, option=option)
    except FileNotFoundError as exc:
        raise ValueError(f"argument {exc}") from None


def format_table(header, rows, floatfmt="{:.4g}"):
    """Plain-text table with right-aligned columns."""
    cells = [[str(h) for h in header]]
    for row in rows:
        cells.append([floatfmt.format(v) if isinstance(v, float) else str(v) for v in row])
    widths = [max(len(r[j]) for r in cells) for j in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
