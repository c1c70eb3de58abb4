"""Foreign files given where this tool's own formats are expected: named, with the command that
converts them (IMPORT.md), instead of a dozen schema errors or lines counted as events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from harness_audit.errors import Diagnostic, ManifestError, UsageError

HEAD = 64 << 10


def _looks_like_a_trail(path: Path) -> bool:
    """Whether the file's first line is a JSON object with a trail event's chain fields."""
    import orjson

    from harness_audit.errors import TrailError
    from harness_audit.trail.store import name_of, store_of

    name = name_of(path)  # read through the trail store: an s3:// segment is never a local path
    try:
        with store_of(name).open_range(name) as f:
            head = f.read(HEAD)
    except (OSError, TrailError):
        return True  # the verifier reports what it cannot read
    line = head.split(b"\n", 1)[0].strip()
    if not line:
        return True
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(data, dict) and "hash" in data and "prev" in data


def _describe(path: Path) -> str | None:
    from harness_audit.importers import describe_foreign

    text = describe_foreign(path)
    if text and text.startswith(f"{path} is "):
        text = "this is " + text[len(f"{path} is ") :]
    return text


def refuse_foreign_trails(files: Iterable[Path]) -> None:
    """Exit 2, naming the format and the converting command, for a trail file that is a known
    foreign format (an OTLP export, a Langfuse trace, a gzip file, ...)."""
    for f in files:
        if not _looks_like_a_trail(f):
            text = _describe(f)
            if text:
                raise UsageError(Diagnostic(str(f), text, expected="a harness-audit trail"))


def named_trail_files(paths: Sequence[Path]) -> list[Path]:
    """The segment files of trails the user named (``verify``, ``replay``, ``--trails``), a
    known foreign file among them refused with the command that converts it."""
    from harness_audit.trail.verify import trail_files

    files = trail_files(paths)
    refuse_foreign_trails(files)
    return files


def explain_foreign_manifest(path: Path, error: ManifestError) -> None:
    """Raise, in place of ``error``, one line naming the foreign definition ``path`` is (a
    CrewAI agents.yaml, an ADK config, ...) and the converting command; return if it is none."""
    text = _describe(path)
    if text:
        raise UsageError(
            Diagnostic(str(path), text, expected="a harness-audit manifest")
        ) from error
