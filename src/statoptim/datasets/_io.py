"""Argument checks shared by the data loaders: paths, folders and damaged files.

Every check raises a ``TypeError``/``ValueError`` (or ``FileNotFoundError``
for a missing file or folder) whose message names the argument, says what was
expected and shows what came.
"""
from __future__ import annotations

import math
import os

from statoptim._validation import _describe

__all__ = ["check_dir", "check_file", "check_path", "parse_float", "read_csv_rows"]


def check_path(value, name):
    """``value`` as a ``str`` path, or a ``TypeError`` naming ``name``."""
    if isinstance(value, bool) or value is None:
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {_describe(value)}")
    try:
        path = os.fspath(value)
    except TypeError:
        raise TypeError(
            f"{name} must be a path (str or os.PathLike), got {_describe(value)}"
        ) from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if path == "" or "\x00" in path:
        raise ValueError(f"{name} must be a non-empty path without NUL characters, "
                         f"got {path!r}")
    return path


def _kind(path):
    """What an existing path is, for messages."""
    if os.path.isdir(path):
        return "a folder"
    return "a file" if os.path.isfile(path) else "not a regular file (a device or a pipe)"


def check_dir(value, name, what="a folder"):
    """An existing folder; ``FileNotFoundError`` if missing, ``ValueError`` if a file."""
    path = check_path(value, name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{name} must be an existing folder ({what}), got {path!r}, "
                                "which does not exist")
    if not os.path.isdir(path):
        raise ValueError(f"{name} must be a folder ({what}), got {path!r}, "
                         f"which is {_kind(path)}")
    return path


def check_file(path, name, what):
    """An existing regular file at ``path`` (already a ``str``), found through ``name``."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{name}: {what} not found at {path!r}")
    if not os.path.isfile(path):
        raise ValueError(f"{name}: expected {what} to be a file, got {path!r}, "
                         f"which is {_kind(path)}")
    return path


def read_csv_rows(path, name, what, *, delimiter=","):
    """All rows of a small text table as lists of str, or a ``ValueError`` naming the file."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [row for row in csv.reader(fh, delimiter=delimiter) if row]
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name}: {what} at {path!r} is not a UTF-8 text table "
                         f"({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise ValueError(f"{name}: {what} at {path!r} is not a valid CSV table "
                         f"({exc})") from None
    return rows


def parse_float(text, name, what, path, row, col):
    """One finite float from a table cell, or a ``ValueError`` locating the cell."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        raise ValueError(f"{name}: {what} at {path!r} must hold finite numbers, got "
                         f"{text!r} in row {row}, column {col}")
    return value
