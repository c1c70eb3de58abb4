"""Foreign files given where this tool's own formats are expected: named, with the command that
converts them (IMPORT.md), instead of a dozen schema errors or lines counted as events."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from harness_audit.errors import Diagnostic, ManifestError, UsageError

HEAD = 64 << 10


def _looks_like_a_trail(path: Path) -> bool:
    """Whether the file's first line is a JSON object with a trail event's chain fields."""

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
    if _is_event(line):
        return True
    # a trail whose first line is damaged is still a trail (verify says what is wrong): any
    # later complete line in the head that is a chained event makes it one
    return any(_is_event(x) for x in head.split(b"\n")[1:-1] if x.strip())


def _is_event(line: bytes) -> bool:
    import orjson

    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(data, dict) and "hash" in data and "prev" in data


_SEGMENT = re.compile(r"trail-\d+\.jsonl\Z")


def _unnamed(path: Path, want: str) -> str | None:
    """One line for a file no reader names that is plainly not this tool's ``want`` (``trail``
    or ``manifest``): what it looks like and the commands that convert what they read (issue
    25, item 6), so a foreign file never gets a list of per-line failures. None when it may be
    ours: a trail segment by its name, a manifest-shaped JSON object, a YAML manifest with
    errors (its own errors say more), anything that cannot be read locally."""
    from harness_audit.trail.store import name_of, url_of

    name = name_of(path)
    if url_of(name) is not None or _SEGMENT.match(Path(name).name):
        return None
    from harness_audit.importers.detect import identify

    got = identify(path, "trace" if want == "trail" else "definition")
    if got is None:
        return None
    what, family, nearest, shape = got
    if family == "own" or shape == "manifest" or (want == "manifest" and shape == "text"):
        return None
    return (
        f"this is {what}, not a harness-audit {want}; if it is a trace, convert it with "
        f"`harness-audit trail import {path} --key KEY --origin ORIGIN -o DIR` (nearest format: "
        f"{nearest}; `harness-audit trail import --help` lists them); if it is a framework "
        f"definition, draft a manifest with `harness-audit init {path}`"
    )


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
            text = _describe(f) or _unnamed(f, "trail")
            if text:
                raise UsageError(Diagnostic(str(f), text, expected="a harness-audit trail"))


def named_trail_files(paths: Sequence[Path]) -> list[Path]:
    """The segment files of trails the user named (``verify``, ``replay``, ``--trails``), a
    known foreign file among them refused with the command that converts it."""
    from harness_audit.trail.verify import trail_files

    files = trail_files(paths, shards=True)  # a sharded trail's root: verify follows its chain
    refuse_foreign_trails(files)
    return files


def explain_foreign_manifest(path: Path, error: ManifestError) -> None:
    """Raise, in place of ``error``, one line naming the foreign definition ``path`` is (a
    CrewAI agents.yaml, an ADK config, ...) and the converting command; return if it is none."""
    text = _describe(path) or _unnamed(path, "manifest")
    if text:
        raise UsageError(
            Diagnostic(str(path), text, expected="a harness-audit manifest")
        ) from error


def folder_holds(folder: Path, limit: int = 50) -> str | None:
    """What the first foreign file (of at most ``limit``, in name order) directly in ``folder``
    is and the command that converts it, for a folder given where a manifest is expected; None
    when none is named."""
    from harness_audit.importers import describe_foreign

    try:
        files = sorted(p for p in folder.iterdir() if p.is_file())[:limit]
    except OSError:
        return None
    for f in files:
        text = describe_foreign(f)
        if text:
            return text
    return None
