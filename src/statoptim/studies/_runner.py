"""Registry of reproducible studies and small helpers they share."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Study", "STUDIES", "register", "format_table", "Timer"]


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


STUDIES: dict[str, Study] = {}


def register(name, help, add_arguments=None):
    """Decorator registering ``run(args)`` as the study ``name``."""

    def decorator(run):
        STUDIES[name] = Study(name, help, run, add_arguments or (lambda parser: None))
        return run

    return decorator


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
