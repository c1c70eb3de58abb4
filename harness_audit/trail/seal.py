"""The sealing of one event and ``trail seal``'s JSONL source; compiled by mypyc (see below).

:func:`seal_event` completes an event (``v``, ``seq``, ``prev``, ``span``, ``hash``), validates
it and returns its canonical line: the one step every sealing path takes (through
:class:`~harness_audit.trail.writer.TrailWriter`, driven by the sealing process
:mod:`~harness_audit.trail.sealer`). :class:`JsonlSource` reads one JSON object a line (an
:class:`~harness_audit.trail.source.EventSource`); an importer of another trace format is one
more source.

Compiled by mypyc (``setup.py``'s ``MYPYC``), so the rules that bite here: one exception type
per ``except ... as``; no msgspec ``Struct`` defined here (those stay in Python modules such as
``events``); monkeypatching a name here is invisible to compiled callers (patch it where a
Python module looks it up); and after an edit in an editable install, rebuild
(``pip install -e .``) or the old build keeps running (``HARNESS_AUDIT_BUILD_EXT=0`` installs
without compiling).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from harness_audit.errors import UNREADABLE, Diagnostic, TrailError, diagnosed
from harness_audit.trail import _core
from harness_audit.trail import events as ev_mod
from harness_audit.trail.canonical import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    CanonicalizationError,
    canonicalize,
    is_plain,
    nesting_depth,
)
from harness_audit.trail.source import RawEvent


def seal_event(event: dict[str, Any], seq: int, prev: str) -> tuple[bytes, str]:
    """Complete one event (v, seq, prev, span when missing), validate it, hash it.

    Returns the canonical line (without newline) and its hash. Raises ValueError with a
    reason a person can act on.
    """
    body = dict(event)
    body.pop("hash", None)
    body["v"] = 1
    body["seq"] = seq
    body["prev"] = prev
    if "span" not in body:
        body["span"] = f"s{seq}"
    plain = is_plain(body)  # the narrow form: no float, nothing too deep (the common case)
    line = _marked_line(body) if plain else b""
    if line:
        digest = _digest_of_marked(line)
        line = line.replace(_MEMBER, b'"hash":"' + digest.encode("ascii") + b'"', 1)
    else:
        try:
            unsigned = canonicalize(body, plain)
        except CanonicalizationError as not_canonical:
            raise ValueError(str(not_canonical)) from not_canonical
        if not plain:
            if nesting_depth(unsigned) > MAX_DEPTH:
                raise ValueError(f"arrays or objects nested more than {MAX_DEPTH} deep")
            _numbers(body, "$")  # floats, and integers the verifier refuses (issue 23, item 13)
        digest = hashlib.sha256(b"\x00" + unsigned).hexdigest()
        body["hash"] = digest
        line = canonicalize(body, plain)
    if len(line) > ev_mod.MAX_LINE:  # the verifier reads no longer line (issue 23, item 1)
        raise ValueError(too_long(len(line)))
    try:
        ev = ev_mod.decoder.decode(line)
    except ev_mod.DECODE_ERRORS as e:
        raise ValueError(f"not a valid trail event: {e}") from e
    problem = ev_mod.pattern_problem(ev, links=False)  # prev and hash are ours: hex already
    if problem:
        raise ValueError(problem)
    return line, digest


def seal_many(
    events: list[dict[str, Any]],
    seq: int,
    prev: str,
    stamp: Callable[[], str] | None = None,
    scanner: Any = None,
) -> tuple[list[bytes], bytes, str, ValueError | None]:
    """Seal ``events`` in order, the first with ``seq`` and ``prev``, until one does not seal.

    Returns the lines sealed (without newline), their hashes as 32-byte leaves concatenated,
    the hash the next event links to, and why the next one does not seal (None when all did).
    ``stamp`` fills a missing ``ts`` (the time of sealing); ``scanner`` (the compiled core's
    ``Scanner``, or None) is given every leaf. The compiled core seals every event whose line
    its verify loop takes (``_cverify.seal_batch``: the same bytes, a differential test keeps
    them so); :func:`seal_event`, the reference, seals each other one or says why not."""
    c = _core.core()
    lines: list[bytes] = []
    leaves: list[bytes] = []
    i, n = 0, len(events)
    while i < n:
        if c is not None:
            got, raw, prev = c.seal_batch(events, i, seq, prev, ev_mod.MAX_LINE, scanner)
            if got:
                lines += got
                leaves.append(raw)
                i += len(got)
                seq += len(got)
                if i == n:
                    break
        event = events[i]
        if stamp is not None and "ts" not in event:
            event = {**event, "ts": stamp()}
        try:
            line, digest = seal_event(event, seq, prev)
        except ValueError as e:
            return lines, b"".join(leaves), prev, e
        leaf = bytes.fromhex(digest)
        if scanner is not None:
            scanner.push(leaf)
        lines.append(line)
        leaves.append(leaf)
        prev = digest
        seq += 1
        i += 1
    return lines, b"".join(leaves), prev, None


_MARK = "h" * 64
"""A stand-in for the hash while an event's line is written (not hex: no digest is it)."""
_MEMBER = b'"hash":"' + _MARK.encode("ascii") + b'"'


def _marked_line(body: dict[str, Any]) -> bytes:
    """The canonical line of a plain ``body`` with its ``hash`` member's value the stand-in
    :data:`_MARK`: one encoding gives both the line and, the member taken out, the bytes that
    are hashed (the members are sorted, so taking one out leaves the canonical form of the
    rest). b"" when the general way must decide: orjson refuses a value (a lone surrogate),
    or the member is there more than once (a nested object with the same member)."""
    body["hash"] = _MARK
    try:
        line = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        line = b""
    finally:
        del body["hash"]
    return line if line.count(_MEMBER) == 1 else b""


def _digest_of_marked(line: bytes) -> str:
    """The event hash of a :func:`_marked_line`: SHA-256 of 0x00 and the line without its
    ``hash`` member (and the comma that joined it to the others)."""
    at = line.find(_MEMBER)
    end = at + len(_MEMBER)
    if line[at - 1 : at] == b",":
        unsigned = line[: at - 1] + line[end:]
    elif line[end : end + 1] == b",":
        unsigned = line[:at] + line[end + 1 :]
    else:
        unsigned = line[:at] + line[end:]
    return hashlib.sha256(b"\x00" + unsigned).hexdigest()


def too_long(length: int) -> str:
    """Why a line of ``length`` bytes is refused: the one wording of every writer."""
    return (
        f"the event's line is {length:,} bytes, longer than the "
        f"{ev_mod.MAX_LINE:,}-byte limit of a trail line"
    )


def _numbers(value: Any, where: str) -> None:
    """Refuse what the verifier refuses of a number: a float, or an integer beyond 2^53 - 1
    (I-JSON; canonical JSON would write it as the nearest double, another number)."""
    if isinstance(value, float):
        raise ValueError(
            f"{where} is the number {value!r}; trail numbers are integers only "
            "(money in cost_microusd, ratios in basis points)"
        )
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
        raise ValueError(
            f"{where} is the integer {str(value)[:30]}, beyond 2^53-1: trail numbers are "
            "integers within +/-(2^53-1) (I-JSON, RFC 7493), or JSON would change them"
        )
    if isinstance(value, dict):
        for k, v in value.items():
            _numbers(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _numbers(v, f"{where}[{i}]")


class JsonlSource:
    """Events from a plain JSONL file: one JSON object a line; blank lines are skipped (but
    counted, so a line number is the file's). Errors name the file and line. A line is read
    bounded: one longer than a trail line may be (``MAX_LINE``) is refused unread."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def events(self) -> Iterator[RawEvent]:
        """Each line's object, in file order; raises :class:`TrailError` at the first bad line."""
        name = str(self.path)
        with diagnosed(name, UNREADABLE, catch=OSError):
            handle = self.path.open("rb")
        limit = ev_mod.MAX_LINE + 2  # a line, then its newline (\r\n at most)
        with handle:
            n = 0
            while raw := handle.readline(limit):  # bounded: never a whole over-long line
                n += 1
                if len(raw.rstrip(b"\r\n")) > ev_mod.MAX_LINE or (
                    len(raw) == limit and not raw.endswith(b"\n")
                ):
                    raise TrailError(
                        Diagnostic(
                            name,
                            f"line longer than the {ev_mod.MAX_LINE:,}-byte limit of a trail line",
                            n,
                        )
                    )
                if not raw.strip():
                    continue
                yield RawEvent(name, n, parse_line(raw, name, n))


def parse_line(raw: bytes, file: str, line: int) -> dict[str, Any]:
    """One source line as a JSON object, or a :class:`TrailError` naming ``file:line``: not
    UTF-8, not JSON, NaN or infinity, a duplicate key, nested too deeply, not an object."""
    if nesting_depth(raw) > MAX_DEPTH:
        raise TrailError(
            Diagnostic(
                file,
                f"arrays or objects nested more than {MAX_DEPTH} deep",
                line,
                expected="one JSON object a line",
            )
        )
    with diagnosed(
        file,
        "not JSON: {error}",
        line,
        catch=(ValueError, RecursionError),
        expected="one JSON object a line",
    ):
        event = json.loads(raw, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    if not isinstance(event, dict):
        raise TrailError(Diagnostic(file, "not a JSON object", line))
    return event


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise ValueError(f"the key {dup[:40]!r} appears twice in one object")
    return out


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")
