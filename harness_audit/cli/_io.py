"""Terminal and file plumbing for the CLI: atomic writes, error printing, colour."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable

from harness_audit._fs import write_atomic
from harness_audit.errors import Diagnostic
from harness_audit.report.inert import terminal

__all__ = ["terminal", "write_atomic"]


def use_color(stream: object = None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def terminal_width() -> int:
    """The terminal's width (or $COLUMNS), at least 80; 120 when output is not a terminal."""
    return max(80, shutil.get_terminal_size(fallback=(120, 24)).columns)


def print_diagnostics(diagnostics: Iterable[Diagnostic]) -> None:
    """One line per diagnostic on stderr; file names and values quoted from the inputs are
    shown with their controls escaped (:func:`harness_audit.report.inert.terminal`)."""
    for d in diagnostics:
        print(f"harness-audit: error: {terminal(d)}", file=sys.stderr)


def say(line: str) -> None:
    """One line for the person, on stderr (escaped)."""
    print(terminal(line), file=sys.stderr, flush=True)


def show(line: str) -> None:
    """One line of a command's result, on stdout (escaped)."""
    print(terminal(line))
