"""The ``harness-audit`` command line: parse, call the library, render, set the exit code."""

from __future__ import annotations


def main() -> None:
    import gc
    import sys

    if sys.argv[1:] == ["--version"]:  # answered before the command line is built (issue 28)
        from harness_audit.cli._version import version_text

        print(version_text())
        return

    # A short-lived process that builds many small acyclic objects (YAML nodes, events):
    # collecting every 700 allocations is most of the load time of a big manifest
    # (bench/README.md, Scan).
    gc.set_threshold(100_000, 50, 1000)
    from harness_audit.cli._app import only
    from harness_audit.cli._cli import app

    only(sys.argv[1:])  # the one command this run runs: the others are not built
    app(prog_name="harness-audit")


__all__ = ["main"]
