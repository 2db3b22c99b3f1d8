"""Registry of reproducible studies and small helpers they share.

Command-line arguments are checked in two places, both before anything is
computed: argparse ``type=`` functions (:func:`int_at_least`,
:func:`real_in`, :func:`existing_dir`, ...) check each value on its own, and
a study's ``check(args)`` (given to :func:`register`) checks what depends on
several options or on the file system (:func:`check_output_dir`,
:func:`check_output_file` and the engine's results-folder check). The
``statoptim`` command reports a failure of either on one line and exits with
status 2; errors raised while the study runs are reported that way only if
they are a :class:`CommandLineError` (the results folder taken by another
run meanwhile, an unreachable Dask scheduler); anything else is a bug and
keeps its traceback.
"""
from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "STUDIES",
    "CommandLineError",
    "Study",
    "Timer",
    "check_output_dir",
    "check_output_file",
    "existing_dir",
    "format_table",
    "int_at_least",
    "nonzero_int",
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


def check_output_file(path, option, *, figure=True):
    """Check that the file ``path`` can be written (its folder exists and is writable).

    With ``figure=True`` the suffix must be a format matplotlib writes (no
    suffix means PNG) and matplotlib must be installed. Raises ``ValueError``
    starting with ``argument OPTION:``.
    """
    prefix = f"argument {option}:"
    if os.path.isdir(path):
        raise ValueError(f"{prefix} {path!r} is a folder; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{prefix} the folder of {path!r} ({folder!r}) does not exist")
    try:
        _probe_writable(folder)
    except OSError as exc:
        raise ValueError(f"{prefix} cannot write {path!r}: the folder {folder!r} is not "
                         f"writable ({exc.strerror or exc})") from None
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise ValueError(f"{prefix} {path!r} exists and is not writable")
    if figure:
        try:
            from matplotlib.backend_bases import FigureCanvasBase
        except ImportError:
            raise ValueError(f"{prefix} writing figures needs matplotlib (pip install "
                             f"'statoptim[plot]'); pass {option} '' to skip the figure") \
                from None
        suffix = os.path.splitext(path)[1][1:].lower()
        formats = FigureCanvasBase.get_supported_filetypes()
        if suffix and suffix not in formats:
            raise ValueError(f"{prefix} cannot write a figure as {suffix!r} ({path!r}); "
                             f"use one of {', '.join(sorted(formats))}")


def format_table(header, rows, floatfmt="{:.4g}"):
    """Plain-text table with right-aligned columns."""
    cells = [[str(h) for h in header]]
    for row in rows:
        cells.append([floatfmt.format(v) if isinstance(v, float) else str(v) for v in row])
    widths = [max(len(r[j]) for r in cells) for j in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Timer:
    """Context manager measuring wall time in seconds (``.elapsed``)."""

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.elapsed = time.perf_counter() - self._start
        return False
