"""Where ``--output`` sends a command's result: ``PATH`` (in ``--format``) or ``FORMAT=PATH``,
repeatable, each checked before any work is done (no output may be, or replace, an input)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness_audit.errors import Diagnostic, UsageError
from harness_audit.report import Registry


def parse_outputs(
    values: list[str], default_format: str, formats: Iterable[str]
) -> list[tuple[str, Path]]:
    """``--output PATH`` (in ``--format``) or ``--output FORMAT=PATH``, repeatable."""
    known = set(formats)
    out = []
    for v in values:
        fmt, sep, rest = v.partition("=")
        if sep and fmt in known:
            if not rest:
                raise UsageError(
                    Diagnostic("--output", f"{v!r} names no path", expected="FORMAT=PATH")
                )
            out.append((fmt, Path(rest)))
        elif sep and "/" not in fmt and "." not in fmt:
            raise UsageError(
                Diagnostic(
                    "--output",
                    f"unknown format {fmt!r} in {v!r}",
                    expected="one of " + ", ".join(sorted(known)),
                )
            )
        else:
            out.append((default_format, Path(v)))
    return out


def output_targets(
    registry: Registry[Any], fmt: str, outputs: list[str] | None, inputs: Iterable[Path] = ()
) -> list[tuple[str, Path]]:
    """(format, path) of every ``--output``, none of them an input of the run."""
    from harness_audit._fs import refuse_overwriting

    targets = parse_outputs(outputs or [], fmt, registry.names)
    refuse_overwriting((p for _, p in targets), inputs)
    return targets
