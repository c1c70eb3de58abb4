"""``trail seal``: chain and sign events from a source into a tamper-evident trail.

A source (:class:`~harness_audit.trail.source.EventSource`) yields plain events with the file
and line they came from; :func:`seal` completes each (``v``, ``seq``, ``prev``, ``hash``),
validates it and writes the trail and its signed checkpoint. :class:`JsonlSource` reads one
JSON object a line (``trail seal``); an importer of another trace format is one more source.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from harness_audit.errors import UNREADABLE, Diagnostic, TrailError, diagnosed
from harness_audit.trail import events as ev_mod
from harness_audit.trail.canonical import CanonicalizationError, canonicalize
from harness_audit.trail.merkle import CompactTree
from harness_audit.trail.note import Checkpoint, Signer, sign_note
from harness_audit.trail.source import EventSource, RawEvent


def seal_event(event: dict[str, Any], seq: int, prev: str) -> tuple[bytes, str]:
    """Complete one event (v, seq, prev, span when missing), validate it, hash it.

    Returns the canonical line (without newline) and its hash. Raises ValueError with a
    reason a person can act on.
    """
    body = {k: v for k, v in event.items() if k != "hash"}
    body["v"] = 1
    body["seq"] = seq
    body["prev"] = prev
    body.setdefault("span", f"s{seq}")
    try:
        unsigned = canonicalize(body)
    except CanonicalizationError as e:
        raise ValueError(str(e)) from e
    digest = hashlib.sha256(b"\x00" + unsigned).hexdigest()
    body["hash"] = digest
    line = canonicalize(body)
    try:
        ev = ev_mod.decoder.decode(line)
    except msgspec.ValidationError as e:
        raise ValueError(f"not a valid trail event: {e}") from e
    problem = ev_mod.pattern_problem(ev)
    if problem:
        raise ValueError(problem)
    _no_floats(body, "$")
    return line, digest


def _no_floats(value: Any, where: str) -> None:
    if isinstance(value, float):
        raise ValueError(f"{where} is the number {value!r}; trail numbers are integers only "
                         "(money in cost_microusd, ratios in basis points)")
    if isinstance(value, dict):
        for k, v in value.items():
            _no_floats(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _no_floats(v, f"{where}[{i}]")


class JsonlSource:
    """Events from a plain JSONL file: one JSON object a line; blank lines are skipped (but
    counted, so a line number is the file's). Errors name the file and line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def events(self) -> Iterator[RawEvent]:
        """Each line's object, in file order; raises :class:`TrailError` at the first bad line."""
        name = str(self.path)
        with diagnosed(name, UNREADABLE, catch=OSError):
            handle = self.path.open("rb")
        with handle:
            for n, raw in enumerate(handle, 1):
                if not raw.strip():
                    continue
                with diagnosed(name, "not JSON: {error}", n, catch=(ValueError, UnicodeDecodeError),
                               expected="one JSON object a line"):
                    event = json.loads(raw, parse_constant=_reject_constant)
                if not isinstance(event, dict):
                    raise TrailError(Diagnostic(name, "not a JSON object", n))
                yield RawEvent(name, n, event)


def seal(source: EventSource, out: Path, signer: Signer, origin: str) -> tuple[int, str]:
    """Chain and sign every event of ``source``; return (events, checkpoint note).

    Writes ``out`` and ``out.checkpoint``; both appear only when every event sealed. An event
    that does not seal is a :class:`TrailError` naming the source file and line it came from.
    """
    from harness_audit._fs import write_atomic

    tree = CompactTree()
    prev = ev_mod.ZERO_HASH
    lines: list[bytes] = []
    for raw in source.events():
        with diagnosed(raw.file, "{error}", raw.line, catch=ValueError):
            line, digest = seal_event(raw.event, len(lines), prev)
        lines.append(line)
        tree.push(bytes.fromhex(digest))
        prev = digest
    note = sign_note(Checkpoint(origin, tree.size, tree.root()).text(), [signer])
    write_atomic(out, b"".join(x + b"\n" for x in lines))
    write_atomic(out.with_name(out.name + ".checkpoint"), note)
    return len(lines), note


def seal_file(source: Path, out: Path, signer: Signer, origin: str) -> tuple[int, str]:
    """``trail seal``: chain and sign a plain JSONL file of events; return (events, checkpoint).

    Writes ``out`` and ``out.checkpoint``; both appear only when every line sealed.
    """
    return seal(JsonlSource(source), out, signer, origin)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")
