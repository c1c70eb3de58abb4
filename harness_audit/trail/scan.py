"""The per-line scanner: verify one line-aligned byte range of one trail file.

Streaming: the range is read in chunks, one line at a time; memory holds a chunk, a bounded
list of problems and O(log n) Merkle subtrees. The common case (a valid, canonical event) takes
one decode, one encode, one hash and three comparisons; anything else goes to
:mod:`~harness_audit.trail.badline`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from harness_audit.trail import _core
from harness_audit.trail import events as ev_mod
from harness_audit.trail.badline import MAX_LINE, slow_line
from harness_audit.trail.events import AnyEvent
from harness_audit.trail.pieces import Pieces
from harness_audit.trail.problem import MODIFIED, RangeResult, Reporter
from harness_audit.trail.store import chunks, store_of, windows

__all__ = [
    "BROKEN_LINK",
    "CHUNK",
    "HASH_FIELD",
    "HASH_MEMBER_LEN",
    "MAX_PROBLEMS",
    "RangeResult",
    "Reporter",
    "check_links_of",
    "event_leaf",
    "line_after",
    "report_torn",
    "scan_range",
]

CHUNK = 4 << 20
MAX_PROBLEMS = 1000  # per range; the rest are counted, not kept
HASH_FIELD = b',"hash":"'
HASH_MEMBER_LEN = len(HASH_FIELD) + 64 + 1
"""Bytes of the ``,"hash":"<64 hex>"`` member that a leaf leaves out (74)."""


def event_leaf(line: bytes) -> bytes:
    """The RFC 6962 leaf of a canonical event line: SHA-256(0x00 || line without its hash).

    (``scan_range`` inlines this in its hot loop.)"""
    i = line.find(HASH_FIELD)
    if i < 0:
        raise ValueError("the event has no hash field")
    return hashlib.sha256(b"\x00" + line[:i] + line[i + HASH_MEMBER_LEN :]).digest()


BROKEN_LINK = (
    "prev does not match the hash of the event before it (an event was inserted, "
    "deleted or moved, or the one before was rewritten with its hash)"
)


def _chunks(path: str, start: int, end: int) -> Iterator[tuple[bytes, list[bytes], bytes | None]]:
    """:func:`~harness_audit.trail.store.chunks` of ``path[start:end]``, read through its store,
    with this module's ``CHUNK`` and the slow path's ``MAX_LINE``."""
    with store_of(path).open_range(path) as f:
        yield from chunks(f, start, end, CHUNK, MAX_LINE)


# Fields whose pattern the decoder does not check (see events): one regex pass over a whole
# chunk finds every value that does not match, and only those lines get the exact check.
_SUSPECTS = tuple(
    re.compile(p).finditer
    for p in (
        rb'"ts":"(?![0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?Z")',
        rb'_digest":"(?![0-9a-f]{64}")',
        # a marker the structs name (events.MARKERS, typed Any) holding a number, an array or
        # an object: a fraction or an integer beyond 2^53-1 in it is an invalid event
        rb'"x_(?:cost|cost_estimated|outcome|verdict|time|agent_from)":[-0-9\[{]',
    )
)  # separate passes: each has a literal prefix the regex engine can jump to
_LINK_SUSPECTS = tuple(
    re.compile(p).finditer
    for p in (
        rb'"prev":"(?![0-9a-f]{64}")',
        rb'"hash":"(?![0-9a-f]{64}")',
    )
)
"""``prev`` and ``hash`` patterns: searched only in a chunk where the loop found something (or
the chunk before did). In a clean chunk every hash equals a recomputed SHA-256 hex digest and
every prev the hash before it, so both are well formed; a malformed one always makes the
loop report a modified event or a broken link, which the search then turns into an invalid
event."""


def scan_range(
    path: str,
    start: int,
    end: int,
    start_index: int | None,
    cuts: Sequence[int] = (),
    last_file: bool = True,
    progress: Callable[[int], None] | None = None,
) -> RangeResult:
    """Verify one line-aligned byte range of one file. ``start_index`` is the global position
    of its first event, or ``None`` to take it from that event's ``seq`` (parallel ranges).

    This is the hot loop: everything per line is a local name, and the common case (a valid,
    canonical event) takes one decode, one encode, one hash and three comparisons. With the
    compiled core (``_core``) the same range is scanned there, with the same results."""
    if _core.compiled():
        return _scan_range_compiled(path, start, end, start_index, cuts, last_file, progress)
    res = RangeResult(path, start, end, start_index)
    report = Reporter(res, MAX_PROBLEMS)
    decode, encode = ev_mod.decoder.decode, ev_mod.encoder.encode
    errors = ev_mod.DECODE_ERRORS
    sha = hashlib.sha256
    skip = HASH_MEMBER_LEN  # a local: the loop below reads it once per line
    pieces: Pieces | None = None if start_index is None else Pieces(start_index, cuts)
    expect = start_index if start_index is not None else -1
    last_hash: str | None = None
    base = 0  # lines before this chunk
    seen = 0  # problems found before this chunk
    dirty = False  # the chunk before had problems
    for buf, lines, torn in _chunks(path, start, end):
        leaves: list[bytes] = []
        add = leaves.append
        lineno = base
        todo = iter(lines)
        if res.events == 0 and lines:  # the range's first event: nothing to check it against
            lineno += 1
            leaf, seq_, prev_, last_hash = _classify(lines[0], report, expect, lineno)
            next(todo)
            add(leaf)
            if pieces is None:  # a parallel range: its first event fixes the global index
                res.start_index = seq_ if seq_ is not None else 0
                res.seq_ok = seq_ is not None
                pieces = Pieces(res.start_index, cuts)
            res.first_seq, res.first_prev, res.first_line = seq_, prev_, lineno
            expect = (seq_ if seq_ is not None else res.start_index or 0) + 1
        for line in todo:
            lineno += 1
            try:
                ev: AnyEvent | None = decode(line)
            except errors:
                ev = None
            if ev is not None and encode(ev) == line:
                i = line.find(HASH_FIELD)
                ho = sha(b"\x00" + line[:i] + line[i + skip :])
                add(ho.digest())
                h = ev.hash
                seq = ev.seq
                if ho.hexdigest() != h:
                    report("modified_event", MODIFIED, seq, lineno)
                if ev.prev != last_hash and last_hash is not None:
                    report("broken_link", BROKEN_LINK, seq, lineno)
                if seq != expect:
                    report("sequence_gap", f"seq {seq} where {expect} was expected", seq, lineno)
                    res.seq_ok = False
                last_hash = h
                expect = seq + 1
            else:
                leaf, seq_, prev_, hash_ = slow_line(line, ev, report, expect, lineno)
                add(leaf)
                if prev_ is not None and last_hash is not None and prev_ != last_hash:
                    report("broken_link", BROKEN_LINK, seq_, lineno)
                if seq_ is not None and seq_ != expect:
                    report("sequence_gap", f"seq {seq_} where {expect} was expected", seq_, lineno)
                    res.seq_ok = False
                last_hash = hash_
                expect = (seq_ if seq_ is not None else expect) + 1
        if buf:
            found = len(res.problems) + res.dropped
            _check_patterns(buf, lines, base, report, dirty or found > seen)
            dirty, seen = found > seen, len(res.problems) + res.dropped
        if leaves:
            assert pieces is not None
            pieces.extend(leaves)
            res.events += len(leaves)
        base = lineno
        if torn is not None:
            base += 1
            report_torn(report, path, end, last_file, base, torn)
        if progress:
            progress(len(buf))
    res.last_hash = last_hash
    res.last_seq = expect - 1 if res.events else None
    res.lines = base
    res.pieces = pieces.result() if pieces else []
    return res


def report_torn(
    report: Reporter, path: str, end: int, last_file: bool, line: int, torn: bytes = b""
) -> None:
    """A range's last line has no newline: a torn last line (a warning, when it is the very end
    of the trail: the writer resumes after it), else a line with no newline (an error). A torn
    line longer than the line limit (``torn`` is chunks' marker) is no crash remnant: no
    writer writes a line that long, so it is an error wherever it is (issue 23, item 15)."""
    if torn[:1] == b"\x00" and torn[1:].isdigit():
        report(
            "unparseable_line",
            f"torn last line of {int(torn[1:]):,} bytes (no newline), longer than the "
            f"{MAX_LINE:,}-byte limit: longer than any line a writer writes, so not what a "
            "cut-off write leaves",
            None,
            line,
        )
        return
    at_end = last_file and end == store_of(path).size(path)
    report(
        "unparseable_line",
        "torn last line: no newline at the end of the file (a write was cut off; the writer "
        "resumes after it)"
        if at_end
        else "line has no newline",
        None,
        line,
        at_end,
    )


def _decoded(line: bytes) -> AnyEvent | None:
    """The event a line decodes to (canonical or not), or None."""
    try:
        return ev_mod.decoder.decode(line)
    except ev_mod.DECODE_ERRORS:
        return None


def _canonical_leaf(
    ev: AnyEvent | None, line: bytes, report: Reporter, lineno: int
) -> bytes | None:
    """The leaf of a line that is its event's canonical form, a hash that does not match it
    reported; None when the line is not canonical (the slow path decides it)."""
    if ev is None or ev_mod.encoder.encode(ev) != line:
        return None
    leaf = event_leaf(line)
    if leaf.hex() != ev.hash:
        report("modified_event", MODIFIED, ev.seq, lineno)
    return leaf


def line_after(
    line: bytes, report: Reporter, res: RangeResult, last_hash: str | None, expect: int, lineno: int
) -> tuple[bytes, str | None, int]:
    """One line after a range's first, exactly as the loop of :func:`scan_range` takes it
    (which inlines this for speed): its leaf, the hash the next line must link to, and the
    next expected ``seq``. The compiled core hands back every line it cannot decide here."""
    ev = _decoded(line)
    leaf = _canonical_leaf(ev, line, report, lineno)
    if ev is not None and leaf is not None:
        if ev.prev != last_hash and last_hash is not None:
            report("broken_link", BROKEN_LINK, ev.seq, lineno)
        if ev.seq != expect:
            report("sequence_gap", f"seq {ev.seq} where {expect} was expected", ev.seq, lineno)
            res.seq_ok = False
        return leaf, ev.hash, ev.seq + 1
    leaf, seq_, prev_, hash_ = slow_line(line, ev, report, expect, lineno)
    if prev_ is not None and last_hash is not None and prev_ != last_hash:
        report("broken_link", BROKEN_LINK, seq_, lineno)
    if seq_ is not None and seq_ != expect:
        report("sequence_gap", f"seq {seq_} where {expect} was expected", seq_, lineno)
        res.seq_ok = False
    return leaf, hash_, (seq_ if seq_ is not None else expect) + 1


def check_links_of(decided: list[tuple[int, bytes]], report: Reporter) -> None:
    """:func:`_check_patterns` for the lines the compiled core handed back (the lines it took
    match every pattern): each canonical line whose values break a pattern is an invalid
    event, and a malformed ``prev`` or ``hash`` is not also a broken link or modified event."""
    for at, line in decided:
        try:
            ev = ev_mod.decoder.decode(line)
        except ev_mod.DECODE_ERRORS:
            continue
        problem = ev_mod.pattern_problem(ev)
        if problem and ev_mod.encoder.encode(ev) == line:
            _not_links(report, at, ev)
            if not any(p.line == at and p.kind == "invalid_event" for p in report.problems):
                report("invalid_event", problem, ev.seq, at)


def _check_patterns(
    buf: bytes, lines: list[bytes], base: int, report: Reporter, links: bool = True
) -> None:
    suspects: set[int] = set()
    for find in (*_SUSPECTS, *_LINK_SUSPECTS) if links else _SUSPECTS:
        pos, line_at = 0, 0
        for m in find(buf):
            line_at += buf.count(b"\n", pos, m.start())
            pos = m.start()
            suspects.add(line_at)
    for line_at in sorted(suspects):
        if line_at >= len(lines):  # in the unfinished last line: seen with the next chunk
            continue
        try:
            ev = ev_mod.decoder.decode(lines[line_at])
        except ev_mod.DECODE_ERRORS:
            continue  # reported by the slow path already
        problem = ev_mod.pattern_problem(ev)
        if problem and ev_mod.encoder.encode(ev) == lines[line_at]:
            at = base + line_at + 1
            _not_links(report, at, ev)
            if not any(p.line == at and p.kind == "invalid_event" for p in report.problems):
                report("invalid_event", problem, ev.seq, at)


def _not_links(report: Reporter, line: int, ev: AnyEvent) -> None:
    """A malformed ``prev`` or ``hash`` is an invalid event, not a broken link or a modified
    event: take back what the loop said of that line."""
    wrong = set()
    if not ev_mod.is_hex64(ev.prev):
        wrong.add("broken_link")
    if not ev_mod.is_hex64(ev.hash):
        wrong.add("modified_event")
    if wrong:
        report.problems[:] = [p for p in report.problems if p.line != line or p.kind not in wrong]


def _classify(
    line: bytes, report: Reporter, expect: int, lineno: int
) -> tuple[bytes, int | None, str | None, str | None]:
    """One line, as the loop in ``scan_range`` does it (used for a range's first line)."""
    ev = _decoded(line)
    leaf = _canonical_leaf(ev, line, report, lineno)
    if ev is not None and leaf is not None:
        if ev_mod.is_hex64(ev.prev):
            return leaf, ev.seq, ev.prev, ev.hash
        report("invalid_event", "prev is not 64 lowercase hex digits", ev.seq, lineno)
        return leaf, ev.seq, None, ev.hash  # malformed: an invalid event, not a broken link
    return slow_line(line, ev, report, expect, lineno)


def _scan_range_compiled(
    path: str,
    start: int,
    end: int,
    start_index: int | None,
    cuts: Sequence[int] = (),
    last_file: bool = True,
    progress: Callable[[int], None] | None = None,
) -> RangeResult:
    """:func:`scan_range` with the compiled core (:mod:`~harness_audit.trail._core`) taking
    the lines it can decide; the windows it reads are :func:`_chunks`' chunks, read into one
    buffer from the file the store opened (:func:`~harness_audit.trail.store.windows`), not
    split into lines (a line handed back is copied out of it)."""
    core: Any = _core.core()
    if core is None:
        raise RuntimeError("the compiled verifier core is not in use")
    res = RangeResult(path, start, end, start_index)
    report = Reporter(res, MAX_PROBLEMS)
    sc: Any = None if start_index is None else core.Scanner(start_index, cuts)
    expect = start_index if start_index is not None else -1
    last_hash: str | None = None
    base = 0  # lines before this window
    limit = MAX_LINE  # the core takes no longer line: it is read as chunks' marker here
    with store_of(path).open_range(path) as f:
        for buf, a, b, size, torn in windows(f, start, end, CHUNK, limit):
            lineno = base
            decided: list[tuple[int, bytes]] = []  # lines the Python code decided
            pos = a
            if res.events == 0 and pos < b:  # the range's first event: nothing to check against
                nl = buf.find(b"\n", pos, b)
                line = bytes(buf[pos:nl]) if nl - pos <= limit else b"\x00%d" % (nl - pos)
                lineno += 1
                leaf, seq_, prev_, last_hash = _classify(line, report, expect, lineno)
                if sc is None:  # a parallel range: its first event fixes the global index
                    res.start_index = seq_ if seq_ is not None else 0
                    res.seq_ok = seq_ is not None
                    sc = core.Scanner(res.start_index, cuts)
                sc.push(leaf)
                res.events += 1
                res.first_seq, res.first_prev, res.first_line = seq_, prev_, lineno
                expect = (seq_ if seq_ is not None else res.start_index or 0) + 1
                decided.append((lineno, line))
                pos = nl + 1
            while pos < b:
                pos, n, last_hash, expect = sc.scan(buf, pos, b, last_hash, expect, limit)
                lineno += n
                res.events += n
                if pos >= b:
                    break
                # as the pure core's loop does it
                nl = buf.find(b"\n", pos, b)
                line = bytes(buf[pos:nl]) if nl - pos <= limit else b"\x00%d" % (nl - pos)
                lineno += 1
                leaf, last_hash, expect = line_after(line, report, res, last_hash, expect, lineno)
                sc.push(leaf)
                res.events += 1
                decided.append((lineno, line))
                pos = nl + 1
            if size:  # _check_patterns, on the lines handed back (the rest match)
                check_links_of(decided, report)
            base = lineno
            if torn is not None:
                base += 1
                report_torn(report, path, end, last_file, base, torn)
            if progress:
                progress(size)
    res.last_hash = last_hash
    res.last_seq = expect - 1 if res.events else None
    res.lines = base
    res.pieces = sc.pieces() if sc is not None else []
    return res
