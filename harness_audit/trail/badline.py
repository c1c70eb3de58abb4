"""The slow path of the scanner: say exactly what is wrong with a line that the fast decoder did
not accept or did not re-encode byte for byte (unparseable, invalid, non-canonical, over-long),
and still give its leaf, seq, prev and hash so the chain and tree checks go on.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import msgspec
import orjson

from harness_audit.trail import events as ev_mod
from harness_audit.trail.canonical import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    CanonicalizationError,
    canonicalize,
    is_plain,
    nesting_depth,
)
from harness_audit.trail.events import AnyEvent
from harness_audit.trail.problem import MODIFIED, Reporter

MAX_LINE = ev_mod.MAX_LINE
"""Longest line held whole (:data:`~harness_audit.trail.events.MAX_LINE`); a longer one is
replaced by a marker (see :func:`~harness_audit.trail.store.chunks`)."""


def slow_line(
    line: bytes, ev: AnyEvent | None, report: Reporter, expect_seq: int, lineno: int
) -> tuple[bytes, int | None, str | None, str | None]:
    """The path for lines that are not plainly canonical and valid: say what is wrong.

    No line stops verification: whatever it holds (nesting, surrogates, huge numbers), it is
    reported and the scan goes on. (Pattern problems of canonical lines are found per chunk
    by ``_check_patterns``.)"""
    if line[:1] == b"\x00" and line[1:].isdigit():  # the marker of an over-long line
        report(
            "unparseable_line",
            f"line of {int(line[1:]):,} bytes is longer than the {MAX_LINE:,}-byte limit",
            expect_seq,
            lineno,
        )
        return hashlib.sha256(line).digest(), None, None, None
    if ev is not None:  # valid, but not the typed encoder's bytes: extra fields, say
        quick = _canonical_with_extras(line, ev, report, lineno)
        if quick is not None:
            return quick
    if nesting_depth(line) > MAX_DEPTH:
        report(
            "unparseable_line",
            f"arrays or objects nested more than {MAX_DEPTH} deep",
            expect_seq,
            lineno,
        )
        return hashlib.sha256(b"\x00" + line).digest(), None, None, None
    try:
        return _slow_line(line, ev, report, expect_seq, lineno)
    except (RecursionError, ValueError, TypeError, OverflowError) as e:  # never an abort
        report(
            "unparseable_line",
            f"cannot be read as an event ({type(e).__name__})",
            expect_seq,
            lineno,
        )
        return hashlib.sha256(b"\x00" + line).digest(), None, None, None


def _canonical_with_extras(
    line: bytes, ev: AnyEvent, report: Reporter, lineno: int
) -> tuple[bytes, int | None, str | None, str | None] | None:
    """A valid event with fields beyond its kind's (an importer's ``x_`` fields) that is
    canonical: what :func:`_slow_line` says of it, found with orjson; None when the line is
    anything else (then the slow path decides). A line with a duplicate key re-encodes to
    other bytes, so it is never taken here."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if (
        not isinstance(obj, dict)
        or not is_plain(obj)
        or orjson.dumps(obj, option=orjson.OPT_SORT_KEYS) != line
    ):
        return None
    problem = ev_mod.pattern_problem(ev)
    if problem:
        report("invalid_event", problem, obj.get("seq"), lineno)
    body = {k: v for k, v in obj.items() if k != "hash"}
    ho = hashlib.sha256(b"\x00" + orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
    seq = obj.get("seq") if isinstance(obj.get("seq"), int) else None
    hash_ = obj.get("hash")
    if not isinstance(hash_, str):
        return None
    if ho.hexdigest() != hash_ and ev_mod.is_hex64(hash_):
        report("modified_event", MODIFIED, seq, lineno)
    prev = obj.get("prev") if isinstance(obj.get("prev"), str) else None
    if prev is not None and not ev_mod.is_hex64(prev):
        prev = None
    return ho.digest(), seq, prev, hash_


def _slow_line(
    line: bytes, ev: AnyEvent | None, report: Reporter, expect_seq: int, lineno: int
) -> tuple[bytes, int | None, str | None, str | None]:
    verdict, value = _slow_parse(line)
    obj: dict[str, Any] | None = None
    if verdict == "unparseable":
        report("unparseable_line", value, expect_seq, lineno)
    elif verdict == "invalid":
        report("invalid_event", value, _int_field(line, "seq"), lineno)
    elif verdict == "non_canonical":
        obj, why = value
        seq = obj.get("seq") if isinstance(obj.get("seq"), int) else None
        report("non_canonical", why, seq, lineno)
        problem = _pattern_problem_dict(obj)
        if problem:
            report("invalid_event", problem, seq, lineno)
    else:
        obj = value
        if ev is not None:
            problem = ev_mod.pattern_problem(ev)
            if problem:
                report("invalid_event", problem, obj.get("seq"), lineno)
        else:
            problem = _pattern_problem_dict(obj)
            if problem:
                report("invalid_event", problem, obj.get("seq"), lineno)
    if obj is None:
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
    if not isinstance(obj, dict) or not isinstance(obj.get("hash"), str):
        return hashlib.sha256(b"\x00" + line).digest(), _int_field(line, "seq"), None, None
    body = {k: v for k, v in obj.items() if k != "hash"}
    try:
        ho = hashlib.sha256(b"\x00" + canonicalize(body))
    except CanonicalizationError:
        ho = hashlib.sha256(b"\x00" + line)
    seq = obj.get("seq") if isinstance(obj.get("seq"), int) else None
    if (
        ho.hexdigest() != obj["hash"]
        and verdict in ("canonical", "non_canonical")
        and ev_mod.is_hex64(obj["hash"])
    ):  # a malformed hash is an invalid event (reported)
        report("modified_event", MODIFIED, seq, lineno)
    prev = obj.get("prev") if isinstance(obj.get("prev"), str) else None
    if prev is not None and not ev_mod.is_hex64(prev):
        prev = None  # not a link at all: an invalid event, not a broken one
    return ho.digest(), seq, prev, obj["hash"]


def _pattern_problem_dict(obj: dict[str, Any]) -> str | None:
    try:
        return ev_mod.pattern_problem(msgspec.convert(obj, ev_mod.AnyEvent))
    except msgspec.ValidationError as e:
        return str(e)


def _int_field(line: bytes, name: str) -> int | None:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    v = obj.get(name) if isinstance(obj, dict) else None
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _slow_parse(line: bytes) -> tuple[str, Any]:
    """Classify a line the fast decoder did not accept or re-encode byte for byte.

    Returns (verdict, value): ``("unparseable", reason)``, ``("invalid", reason)``,
    ``("non_canonical", (obj, reason))`` or ``("canonical", obj)`` (extra fields kept).
    """
    flags: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys):
            flags.append("duplicate keys")
        return dict(items)

    def constant(name: str) -> float:
        flags.append(f"{name} is not JSON")
        return 0.0

    def float_(text: str) -> float:
        flags.append(f"the number {text} is not an integer")
        return float(text)

    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        return "unparseable", f"invalid UTF-8 at byte {e.start}"
    try:
        obj = json.loads(text, object_pairs_hook=pairs, parse_constant=constant, parse_float=float_)
    except (ValueError, RecursionError) as e:
        return "unparseable", f"not JSON: {str(e)[:120]}"
    if any("is not an integer" in f for f in flags):
        return "invalid", next(
            f for f in flags if "is not an integer" in f
        ) + " (trail numbers are integers only)"
    if not isinstance(obj, dict):
        return "invalid", "the line is not a JSON object"
    big = _too_big(obj)
    if big:
        return "invalid", big
    try:
        msgspec.convert(obj, ev_mod.AnyEvent, strict=True)
    except msgspec.ValidationError as e:
        return "invalid", str(e)
    if flags:
        return "non_canonical", (obj, "; ".join(flags))
    try:
        canon = canonicalize(obj)
    except CanonicalizationError as e:
        return "invalid", str(e)
    if canon != line:
        return "non_canonical", (obj, _difference(line, canon))
    return "canonical", obj


def _too_big(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
        return f"integer {str(value)[:30]} is beyond 2^53-1"
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for v in value:
            r = _too_big(v)
            if r:
                return r
    return None


def _difference(line: bytes, canon: bytes) -> str:
    i = next(
        (i for i, (a, b) in enumerate(zip(line, canon, strict=False)) if a != b),
        min(len(line), len(canon)),
    )
    found = line[max(0, i - 10) : i + 20].decode("utf-8", "replace")
    want = canon[max(0, i - 10) : i + 20].decode("utf-8", "replace")
    return f"not RFC 8785 canonical at byte {i}: found {found!r}, expected {want!r}"
