"""The ``harness-audit`` command line: parse, call the library, render, set the exit code."""

from __future__ import annotations


def main() -> None:
    from harness_audit.cli._cli import app

    app(prog_name="harness-audit")


__all__ = ["main"]
