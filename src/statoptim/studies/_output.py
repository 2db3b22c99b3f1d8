"""What a study prints and writes: tables, figures, notes and the command.

A study builds each of its tables as a :class:`Table` (raw values, plus how
to print them) and hands it to :meth:`StudyOutput.table`, which prints it
and, with ``--out DIR``, writes it as ``DIR/NAME.csv`` and ``DIR/NAME.json``
(plain :mod:`csv` and :mod:`json`; ``pandas.read_csv`` and
``pandas.DataFrame(json.load(f)["rows"])`` read them). Figures go through
:meth:`StudyOutput.figure`: into ``--out`` or nowhere, skipped with one line
on stderr when matplotlib is missing. ``DIR/command.txt`` keeps the exact
command. Nothing is written outside ``--out``.

CSV cells hold the raw value (``repr`` precision for floats; empty for a
missing value); the JSON file is ``{"study", "table", "title", "note",
"columns", "headers", "rows"}`` with ``rows`` a list of ``{column: value}``
(non-finite numbers as null).
"""
from __future__ import annotations

import csv
import json
import math
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from statoptim._optional import INSTALL, installed, missing
from statoptim.studies._registry import format_table

__all__ = ["COMMAND_FILE", "Column", "StudyOutput", "Table", "open_study"]

#: The file in ``--out`` holding the exact command of the run.
COMMAND_FILE = "command.txt"


@dataclass
class Column:
    """One column of a :class:`Table`.

    Parameters
    ----------
    key : str
        Name in the CSV header and JSON rows.
    header : str, optional
        Printed header (default: ``key``).
    fmt : str or callable, optional
        How to print a value: a format string such as ``"{:+.4f}"`` or
        ``fmt(value, row) -> str``. Default: ``format_table``'s.
    show : bool, default=True
        False: written to CSV and JSON only (e.g. a number also shown inside
        another printed column).
    """

    key: str
    header: str | None = None
    fmt: str | Callable | None = None
    show: bool = True

    def text(self, row):
        value = row.get(self.key)
        if callable(self.fmt):
            return self.fmt(value, row)
        if value is None:
            return "-"
        if self.fmt is not None:
            return self.fmt.format(value)
        return f"{value:.4g}" if isinstance(value, float) else str(value)


def _plain(value):
    """A value for CSV and JSON: Python scalars, non-finite floats as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    return value


class Table:
    """A study table: raw values for the files, formats for the terminal.

    Parameters
    ----------
    name : str
        File stem in ``--out`` (``NAME.csv``, ``NAME.json``).
    title : str
        Printed above the table (and stored in the JSON file).
    columns : sequence of Column or str
        The columns, in order.
    rows : iterable of dict, optional
        Rows as ``{key: value}``; missing keys are empty cells.
    note : str, default=""
        Printed below the table (and stored in the JSON file).
    """

    def __init__(self, name, title, columns, rows=(), note=""):
        self.name, self.title, self.note = name, title, note
        self.columns = [c if isinstance(c, Column) else Column(c) for c in columns]
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"table {name!r}: column keys must be unique, got {keys}")
        self.rows = []
        for row in rows:
            self.add(row)

    @property
    def keys(self):
        """The column keys (the CSV header)."""
        return [c.key for c in self.columns]

    def add(self, row=None, **values):
        """Append a row given as a dict and/or keyword arguments (missing keys: None)."""
        row = {**(row or {}), **values}
        unknown = set(row) - set(self.keys)
        if unknown:
            raise ValueError(f"table {self.name!r} has no columns {sorted(unknown)}")
        self.rows.append({k: row.get(k) for k in self.keys})

    def text(self):
        """The table as printed: title, aligned columns, note."""
        shown = [c for c in self.columns if c.show]
        body = format_table([c.header or c.key for c in shown],
                            [[c.text(row) for c in shown] for row in self.rows])
        parts = [self.title, body] if self.title else [body]
        if self.note:
            parts.append(self.note)
        return "\n".join(parts)

    def records(self):
        """The rows as ``{key: value}`` with every column, JSON-ready."""
        return [{k: _plain(row.get(k)) for k in self.keys} for row in self.rows]

    def write(self, folder, study):
        """Write ``NAME.csv`` and ``NAME.json`` into ``folder``; return both paths."""
        records = self.records()
        csv_path = os.path.join(folder, f"{self.name}.csv")
        with open(csv_path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(self.keys)
            for rec in records:
                writer.writerow(["" if rec[k] is None else rec[k] for k in self.keys])
        json_path = os.path.join(folder, f"{self.name}.json")
        document = {"study": study, "table": self.name, "title": self.title,
                    "note": self.note, "columns": self.keys,
                    "headers": {c.key: c.header or c.key for c in self.columns},
                    "rows": records}
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=1, allow_nan=False)
            f.write("\n")
        return csv_path, json_path


class StudyOutput:
    """Where one run of a study prints and writes.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options (``out``, ``no_figures``; the ``statoptim``
        command adds the exact argument list and the program name).
    study : str
        The study's name.
    """

    def __init__(self, args, study):
        self.study = study
        self.prog = getattr(args, "_prog", None) or f"statoptim reproduce {study}"
        self.folder = getattr(args, "out", None)
        self.draw_figures = not getattr(args, "no_figures", False)
        self.argv = getattr(args, "_argv", None)
        self.tables, self.figures = [], []
        self._noted = set()

    # ------------------------------------------------------------------ notes
    def note(self, message):
        """Print ``PROG: message`` on stderr, once per message."""
        if message in self._noted:
            return
        self._noted.add(message)
        print(f"{self.prog}: {message}", file=sys.stderr, flush=True)

    # ---------------------------------------------------------------- the run
    def start(self):
        """Create ``--out`` and write the exact command into it (no-op without ``--out``)."""
        if self.folder is None:
            return
        os.makedirs(self.folder, exist_ok=True)
        argv = sys.argv[1:] if self.argv is None else list(self.argv)
        from statoptim import __version__

        when = time.strftime("%Y-%m-%d %H:%M:%S")
        lines = [f"# statoptim {__version__}, Python {platform.python_version()}, {when}",
                 f"# run in {os.getcwd()}",
                 shlex.join(["statoptim", *argv])]
        with open(os.path.join(self.folder, COMMAND_FILE), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    def table(self, table, show=True):
        """Print ``table`` (unless ``show`` is False) and write it into ``--out``."""
        if show:
            print(table.text(), flush=True)
        if self.folder is not None:
            table.write(self.folder, self.study)
            self.tables.append(table.name)

    @property
    def wants_figures(self):
        """Whether a figure would be written (else skip computing its data)."""
        return self.draw_figures and self.folder is not None and installed("matplotlib")

    def figure(self, filename, draw):
        """Draw a figure into ``--out/filename`` by ``draw(path)``; return the path or None.

        Without ``--out``, with ``--no-figures`` or without matplotlib nothing
        is drawn; the last two cases are said once, in one line.
        """
        if not self.draw_figures or self.folder is None:
            return None
        if not installed("matplotlib"):
            self.note(missing("matplotlib", "figures skipped"))
            return None
        path = os.path.join(self.folder, filename)
        try:
            draw(path)
        except ImportError as exc:  # installed, but broken (a missing dependency of its own)
            self.note(f"figures skipped: matplotlib could not be imported ({exc}); "
                      f"reinstall it: {INSTALL['matplotlib']}")
            return None
        self.figures.append(path)
        return path

    def finish(self, figures_possible=True):
        """Say where the outputs are (stdout), or how to keep them (stderr)."""
        if self.folder is None:
            what = "tables and figures" if figures_possible else "tables"
            self.note(f"nothing written: pass --out DIR to keep the {what} (CSV, JSON"
                      f"{', PNG' if figures_possible else ''}) and the command")
            return
        n_tables, n_figures = len(self.tables), len(self.figures)
        parts = [f"{n_tables} table{'s' * (n_tables != 1)} (.csv and .json)"]
        if self.figures:
            parts.append(f"{n_figures} figure{'s' * (n_figures != 1)} ("
                         + ", ".join(os.path.basename(p) for p in self.figures) + ")")
        parts.append(COMMAND_FILE)
        print(f"\nWritten to {self.folder}: " + ", ".join(parts), flush=True)


def open_study(args, study, compute):
    """Start the outputs of ``study``, then run ``compute(args)``: ``(StudyOutput, records)``.

    The common opening of a study's ``run``: ``--out`` is created (with the
    exact command) before the fits, whose results the study engine stores there.
    """
    output = StudyOutput(args, study)
    output.start()
    return output, compute(args)
