"""Offline trail verification: schema, canonical form, hash chain, Merkle root, checkpoints.

Streaming: a trail is read in chunks, one line at a time; memory holds a chunk, a bounded list
of problems and O(log n) Merkle subtrees, never the trail. With ``jobs > 1`` the files are cut
into byte ranges at line boundaries and scanned in parallel processes; each range returns its
chain ends and its leaves as aligned perfect subtrees, which the parent joins in order.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from harness_audit.errors import Diagnostic, TrailError
from harness_audit.trail import _core
from harness_audit.trail import events as ev_mod
from harness_audit.trail.canonical import MAX_SAFE_INTEGER, CanonicalizationError, canonicalize
from harness_audit.trail.merkle import CompactTree, node_hash
from harness_audit.trail.note import Checkpoint, NoteError, Verifier, parse_note, verify_note

sha256 = hashlib.sha256

CHUNK = 4 << 20
MAX_LINE = 1 << 20
MAX_PROBLEMS = 1000  # per range; the rest are counted, not kept
HASH_FIELD = b',"hash":"'


def event_leaf(line: bytes) -> bytes:
    """The RFC 6962 leaf of a canonical event line: SHA-256(0x00 || line without its hash).

    (``scan_range`` inlines this in its hot loop.)"""
    i = line.find(HASH_FIELD)
    if i < 0:
        raise ValueError("the event has no hash field")
    return hashlib.sha256(b"\x00" + line[:i] + line[i + 74:]).digest()


BAD_HASH = "hash is not 64 lowercase hex digits"
BAD_PREV = "prev is not 64 lowercase hex digits"
_hex_ok = re.compile(ev_mod.HEX64_PATTERN.replace("$", r"\Z")).match

BROKEN_LINK = ("prev does not match the hash of the event before it (an event was inserted, "
               "deleted or moved, or the one before was rewritten with its hash)")


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    file: str
    line: int | None
    seq: int | None
    detail: str
    warning: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "file": self.file, "line": self.line, "seq": self.seq,
                "detail": self.detail, "severity": "warning" if self.warning else "error"}


@dataclass(slots=True)
class RangeResult:
    file: str
    start: int
    end: int
    start_index: int | None
    lines: int = 0
    events: int = 0
    first_seq: int | None = None
    first_prev: str | None = None
    first_line: int = 0
    last_seq: int | None = None
    last_hash: str | None = None
    pieces: list[tuple[int, int, bytes]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    dropped: int = 0
    seq_ok: bool = True  # every event's seq was its position (so a seq hint is sound)


@dataclass(frozen=True, slots=True)
class Anchor:
    origin: str
    size: int
    key: str
    file: str


@dataclass
class VerifyReport:
    files: list[str]
    events: int
    size: int  # bytes read
    problems: list[Problem]
    dropped: int
    anchor: Anchor | None
    checkpoints_found: int
    checkpoints_valid: int
    root: bytes
    allow_unanchored: bool = False

    @property
    def status(self) -> str:
        if any(not p.warning for p in self.problems) or self.dropped:
            return "failed"
        return "verified" if self.anchor else "intact_unanchored"

    @property
    def ok(self) -> bool:
        return self.status == "verified" or (self.allow_unanchored
                                             and self.status == "intact_unanchored")


# --- one range ------------------------------------------------------------------------------


class _Pieces:
    """Aligned perfect subtrees of a run of leaves starting at global index ``start``.

    Leaves arrive in batches; each batch is cut into maximal aligned blocks whose roots are
    hashed level by level (cheaper per leaf in Python than a push per leaf), then the blocks
    are merged with aligned siblings. Nothing merges across a checkpoint size in ``cuts``.
    """

    __slots__ = ("cuts", "done", "index", "stack")

    def __init__(self, start: int, cuts: Sequence[int]) -> None:
        self.index = start
        self.stack: list[tuple[int, int, bytes]] = []  # (first index, height, digest)
        self.done: list[tuple[int, int, bytes]] = []
        self.cuts = sorted(c for c in cuts if c > start)

    def extend(self, leaves: list[bytes]) -> None:
        pos = 0
        n = len(leaves)
        while pos < n:
            if self.cuts and self.index == self.cuts[0]:
                self.done.extend(self.stack)
                self.stack = []
                self.cuts.pop(0)
            limit = n - pos
            if self.cuts:
                limit = min(limit, self.cuts[0] - self.index)
            # the largest aligned block at self.index that fits
            h = (self.index & -self.index).bit_length() - 1 if self.index else 62
            while (1 << h) > limit:
                h -= 1
            block = leaves[pos: pos + (1 << h)]
            while len(block) > 1:
                it = iter(block)
                block = [sha256(b"\x01" + a + b).digest() for a, b in zip(it, it, strict=True)]
            self._push(self.index, h, block[0])
            self.index += 1 << h
            pos += 1 << h

    def _push(self, p: int, h: int, d: bytes) -> None:
        stack = self.stack
        while stack:
            q, hq, dq = stack[-1]
            if hq != h or q % (2 << h):
                break
            stack.pop()
            d = node_hash(dq, d)
            p, h = q, h + 1
        stack.append((p, h, d))

    def result(self) -> list[tuple[int, int, bytes]]:
        return self.done + self.stack


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
        obj = json.loads(text, object_pairs_hook=pairs, parse_constant=constant,
                         parse_float=float_)
    except (ValueError, RecursionError) as e:
        return "unparseable", f"not JSON: {str(e)[:120]}"
    if any("is not an integer" in f for f in flags):
        return "invalid", next(f for f in flags if "is not an integer" in f) + \
            " (trail numbers are integers only)"
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
    i = next((i for i, (a, b) in enumerate(zip(line, canon, strict=False)) if a != b),
             min(len(line), len(canon)))
    found = line[max(0, i - 10): i + 20].decode("utf-8", "replace")
    want = canon[max(0, i - 10): i + 20].decode("utf-8", "replace")
    return f"not RFC 8785 canonical at byte {i}: found {found!r}, expected {want!r}"


def _chunks(path: str, start: int, end: int
            ) -> Iterator[tuple[bytes, list[bytes], bytes | None]]:
    """Complete lines of ``path[start:end]`` a chunk at a time (with the buffer they were split
    from), and at the end the last line if it has no newline. A line longer than MAX_LINE is
    replaced by a marker and never held whole: a NUL byte and its length (no JSON starts so)."""
    with open(path, "rb") as f:
        f.seek(start)
        remaining = end - start
        rest = b""
        skipping = 0
        while remaining > 0:
            chunk = f.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            if skipping:
                nl = chunk.find(b"\n")
                if nl < 0:
                    skipping += len(chunk)
                    continue
                yield b"", [b"\x00%d" % (skipping + nl)], None
                skipping = 0
                chunk = chunk[nl + 1:]
            buf = rest + chunk if rest else chunk
            lines = buf.split(b"\n")
            rest = lines.pop()
            if len(rest) > MAX_LINE:
                skipping, rest = len(rest), b""
            yield buf, lines, None
        if skipping:
            yield b"", [], b"\x00%d" % skipping
        elif rest:
            yield b"", [], rest


# Fields whose pattern the decoder does not check (see events): one regex pass over a whole
# chunk finds every value that does not match, and only those lines get the exact check.
_SUSPECTS = tuple(re.compile(p).finditer for p in (
    rb'"ts":"(?![0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?Z")',
    rb'_digest":"(?![0-9a-f]{64}")',
))  # separate passes: each has a literal prefix the regex engine can jump to


class _Reporter:
    __slots__ = ("path", "problems", "res")

    def __init__(self, res: RangeResult) -> None:
        self.res, self.path, self.problems = res, res.file, res.problems

    def __call__(self, kind: str, detail: str, seq: int | None, line: int,
                 warning: bool = False) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(kind, self.path, line, seq, detail, warning))
        else:
            self.res.dropped += 1


def scan_range(path: str, start: int, end: int, start_index: int | None,
               cuts: Sequence[int] = (), last_file: bool = True,
               progress: Callable[[int], None] | None = None) -> RangeResult:
    """Verify one line-aligned byte range of one file. ``start_index`` is the global position
    of its first event, or ``None`` to take it from that event's ``seq`` (parallel ranges).

    This is the hot loop: everything per line is a local name, and the common case (a valid,
    canonical event) takes one decode, one encode, one hash and three comparisons. With the
    compiled core (``_core``) the same range is scanned there, with the same results."""
    if _core.compiled():
        return _core.scan_range(path, start, end, start_index, cuts, last_file, progress)
    res = RangeResult(path, start, end, start_index)
    report = _Reporter(res)
    decode, encode = ev_mod.decoder.decode, ev_mod.encoder.encode
    errors = (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError)
    sha = hashlib.sha256
    pieces: _Pieces | None = None if start_index is None else _Pieces(start_index, cuts)
    expect = start_index if start_index is not None else -1
    last_hash: str | None = None
    base = 0  # lines before this chunk
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
                pieces = _Pieces(res.start_index, cuts)
            res.first_seq, res.first_prev, res.first_line = seq_, prev_, lineno
            expect = (seq_ if seq_ is not None else res.start_index or 0) + 1
        for line in todo:
            lineno += 1
            try:
                ev: Any = decode(line)
            except errors:
                ev = None
            if ev is not None and encode(ev) == line:
                i = line.find(HASH_FIELD)
                ho = sha(b"\x00" + line[:i] + line[i + 74:])
                add(ho.digest())
                h = ev.hash
                seq = ev.seq
                if ho.hexdigest() != h:
                    if _hex_ok(h):
                        report("modified_event", "the event's hash does not match its content",
                               seq, lineno)
                    else:  # no hash to compare: invalid, and the next link is unknown
                        report("invalid_event", BAD_HASH, seq, lineno)
                        h = None
                if ev.prev != last_hash:
                    if not _hex_ok(ev.prev):
                        report("invalid_event", BAD_PREV, seq, lineno)
                    elif last_hash is not None:
                        report("broken_link", BROKEN_LINK, seq, lineno)
                if seq != expect:
                    report("sequence_gap", f"seq {seq} where {expect} was expected", seq,
                           lineno)
                    res.seq_ok = False
                last_hash = h
                expect = seq + 1
            else:
                leaf, seq_, prev_, hash_ = _slow_line(line, ev, report, expect, lineno)
                add(leaf)
                if prev_ is not None and last_hash is not None and prev_ != last_hash:
                    report("broken_link", BROKEN_LINK, seq_, lineno)
                if seq_ is not None and seq_ != expect:
                    report("sequence_gap", f"seq {seq_} where {expect} was expected", seq_,
                           lineno)
                    res.seq_ok = False
                last_hash = hash_
                expect = (seq_ if seq_ is not None else expect) + 1
        if buf:
            _check_patterns(buf, lines, base, report)
        if leaves:
            assert pieces is not None
            pieces.extend(leaves)
            res.events += len(leaves)
        base = lineno
        if torn is not None:
            base += 1
            at_end = last_file and end == os.path.getsize(path)
            report("unparseable_line", "torn last line: no newline at the end of the file (a "
                   "write was cut off; the writer resumes after it)" if at_end else
                   "line has no newline", None, base, at_end)
        if progress:
            progress(len(buf))
    res.last_hash = last_hash
    res.last_seq = expect - 1 if res.events else None
    res.lines = base
    res.pieces = pieces.result() if pieces else []
    return res


def _check_patterns(buf: bytes, lines: list[bytes], base: int, report: _Reporter) -> None:
    suspects: set[int] = set()
    for find in _SUSPECTS:
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
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
            continue  # reported by the slow path already
        problem = ev_mod.pattern_problem(ev)
        if problem and ev_mod.encoder.encode(ev) == lines[line_at]:
            report("invalid_event", problem, ev.seq, base + line_at + 1)


def _classify(line: bytes, report: _Reporter, expect: int, lineno: int
              ) -> tuple[bytes, int | None, str | None, str | None]:
    """One line, as the loop in ``scan_range`` does it (used for a range's first line)."""
    try:
        ev: Any = ev_mod.decoder.decode(line)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
        ev = None
    if ev is not None and ev_mod.encoder.encode(ev) == line:
        leaf = event_leaf(line)
        h, prev = ev.hash, ev.prev
        if leaf.hex() != h:
            if _hex_ok(h):
                report("modified_event", "the event's hash does not match its content", ev.seq,
                       lineno)
            else:
                report("invalid_event", BAD_HASH, ev.seq, lineno)
                h = None
        if not _hex_ok(prev):
            report("invalid_event", BAD_PREV, ev.seq, lineno)
            prev = None
        return leaf, ev.seq, prev, h
    return _slow_line(line, ev, report, expect, lineno)


_DIGEST_KINDS = frozenset({ev_mod.ModelCall, ev_mod.ToolCall, ev_mod.ApprovalRequest,
                           ev_mod.Approval, ev_mod.Verification})


def _slow_line(line: bytes, ev: Any, report: _Reporter, expect_seq: int, lineno: int
               ) -> tuple[bytes, int | None, str | None, str | None]:
    """The path for lines that are not plainly canonical and valid: say what is wrong.

    (Pattern problems of canonical lines are found per chunk by ``_check_patterns``.)"""
    if line[:1] == b"\x00" and line[1:].isdigit():  # the marker of an over-long line
        report("unparseable_line", f"line of {int(line[1:]):,} bytes is longer than the "
               f"{MAX_LINE:,}-byte limit", expect_seq, lineno)
        return hashlib.sha256(line).digest(), None, None, None
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
    hash_: str | None = obj["hash"] if _hex_ok(obj["hash"]) else None
    prev = obj.get("prev") if isinstance(obj.get("prev"), str) else None
    if verdict in ("canonical", "non_canonical"):
        if hash_ is None:
            report("invalid_event", BAD_HASH, seq, lineno)
        elif ho.hexdigest() != hash_:
            report("modified_event", "the event's hash does not match its content", seq, lineno)
        if prev is not None and not _hex_ok(prev):
            report("invalid_event", BAD_PREV, seq, lineno)
    if prev is not None and not _hex_ok(prev):
        prev = None
    return ho.digest(), seq, prev, hash_


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


# --- files, ranges, parallelism -------------------------------------------------------------


def trail_files(paths: Sequence[Path]) -> list[Path]:
    """The segment files of a trail: files as given, directories' ``*.jsonl`` in name order."""
    files: list[Path] = []
    problems = []
    for p in paths:
        if p.is_dir():
            found = sorted(x for x in p.iterdir() if x.is_file() and x.suffix == ".jsonl")
            if not found:
                problems.append(Diagnostic(str(p), "no trail segments (*.jsonl) in this "
                                           "directory"))
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            problems.append(Diagnostic(str(p), "no such file or directory"))
    if problems:
        raise TrailError(problems)
    return files


def _split_points(path: Path, parts: int) -> list[int]:
    size = path.stat().st_size
    points = [0]
    with path.open("rb") as f:
        for i in range(1, parts):
            guess = size * i // parts
            if guess <= points[-1]:
                continue
            f.seek(guess)
            while True:
                block = f.read(65536)
                if not block:
                    break
                nl = block.find(b"\n")
                if nl >= 0:
                    guess += nl + 1
                    break
                guess += len(block)
            if points[-1] < guess < size:
                points.append(guess)
    points.append(size)
    return points


def _scan_task(args: tuple[str, int, int, int | None, tuple[int, ...], bool]) -> RangeResult:
    return scan_range(*args)


def scan_files(files: Sequence[Path], cuts: Sequence[int] = (), jobs: int = 1,
               progress: Callable[[int], None] | None = None) -> list[RangeResult]:
    cuts = tuple(sorted(set(cuts)))
    last = str(files[-1]) if files else ""
    if jobs <= 1:
        results = []
        index = 0
        for f in files:
            r = scan_range(str(f), 0, f.stat().st_size, index, cuts, str(f) == last, progress)
            index += r.events
            results.append(r)
        return results
    total = sum(f.stat().st_size for f in files) or 1
    tasks = []
    for f in files:
        parts = max(1, round(f.stat().st_size / total * jobs * 2))
        pts = _split_points(f, parts)
        for a, b in itertools.pairwise(pts):
            tasks.append((str(f), a, b, None, cuts, str(f) == last))
    import multiprocessing
    from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

    pool: Executor
    if _core.compiled():  # it scans without the GIL: threads over the ranges, one process
        pool = ThreadPoolExecutor(max_workers=jobs)
    else:
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(
            "fork"))
    out: list[RangeResult] = []
    with pool:
        for r in pool.map(_scan_task, tasks):
            out.append(r)
            if progress:
                progress(r.end - r.start)
    if not _indexed_in_order(out):  # seq hints were wrong: the trail is damaged; redo in order
        return scan_files(files, cuts, 1, None)
    return out


def _indexed_in_order(results: Sequence[RangeResult]) -> bool:
    index = 0
    for r in results:
        if r.events and (not r.seq_ok or r.start_index != index):
            return False
        index += r.events
    return True


# --- joining ranges, checkpoints, the report ------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoundCheckpoint:
    file: str
    checkpoint: Checkpoint | None
    signer: str | None
    problem: Problem | None
    trusted: bool = False


def read_checkpoint(path: Path, verifiers: Sequence[Verifier]) -> FoundCheckpoint:
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        return FoundCheckpoint(name, None, None, Problem("bad_signature", name, None, None,
                                                         f"cannot be read: {e.strerror}"))
    try:
        note, good = verify_note(data, list(verifiers))
        return FoundCheckpoint(name, Checkpoint.parse(note.text), good[0].text(), None, True)
    except NoteError as e:
        kind = "bad_signature" if e.kind in ("malformed", "bad_signature") else \
            "no_trusted_signature"
        cp = None
        with contextlib.suppress(NoteError):
            cp = Checkpoint.parse(parse_note(data).text)
        warn = kind == "no_trusted_signature" and not verifiers
        detail = str(e) if verifiers or kind != "no_trusted_signature" else \
            "no --key given, so no signature can be trusted"
        return FoundCheckpoint(name, cp, None, Problem(kind, name, None, None, detail, warn))


def default_checkpoints(paths: Sequence[Path], files: Sequence[Path]) -> list[Path]:
    """``<trail>.checkpoint`` beside a trail file, and ``*.checkpoint`` inside a trail folder."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(x for x in p.iterdir() if x.name.endswith(".checkpoint")))
    for f in files:
        c = f.with_name(f.name + ".checkpoint")
        if c.is_file():
            out.append(c)
    unique: dict[Path, Path] = {}
    for c in out:
        unique.setdefault(c.resolve(), c)
    return list(unique.values())


def verify_trail(paths: Sequence[Path], verifiers: Sequence[Verifier] = (),
                 checkpoints: Sequence[Path] = (), trusted_state: Path | None = None,
                 jobs: int = 1, allow_unanchored: bool = False,
                 progress: Callable[[int], None] | None = None) -> VerifyReport:
    files = trail_files(paths)
    found = [read_checkpoint(c, verifiers) for c in [*default_checkpoints(paths, files),
                                                     *checkpoints]]
    trusted = read_checkpoint(trusted_state, verifiers) if trusted_state else None
    if trusted and (trusted.checkpoint is None or not trusted.trusted):
        why = trusted.problem.detail if trusted.problem else "unreadable"
        raise TrailError(Diagnostic(str(trusted_state), f"trusted state does not verify: {why}"))
    cuts = [f.checkpoint.size for f in found if f.checkpoint]
    if trusted and trusted.checkpoint:
        cuts.append(trusted.checkpoint.size)
    results = scan_files(files, cuts, jobs, progress)
    problems: list[Problem] = []
    tree = CompactTree()
    roots: dict[int, bytes] = {}
    wanted = set(cuts)
    if 0 in wanted:
        roots[0] = tree.root()
    offset_lines: dict[str, int] = {}
    last_hash: str | None = "0" * 64
    last_seq = -1
    dropped = 0
    for r in results:
        base = offset_lines.get(r.file, 0)
        offset_lines[r.file] = base + r.lines
        problems.extend(_shift(p, base) for p in r.problems)
        dropped += r.dropped
        if r.events:
            if r.first_prev is not None and last_hash is not None and r.first_prev != last_hash:
                problems.append(Problem("broken_link", r.file, base + r.first_line, r.first_seq,
                                        "prev does not match the hash of the event before it"
                                        if last_seq >= 0 else "the first event's prev is not "
                                        "64 zeros: the trail's beginning is missing"))
            if r.first_seq is not None and r.first_seq != last_seq + 1:
                problems.append(Problem("sequence_gap", r.file, base + r.first_line, r.first_seq,
                                        f"seq {r.first_seq} where {last_seq + 1} was expected"))
            last_hash = r.last_hash
            if r.last_seq is not None:
                last_seq = r.last_seq
        for _, height, digest in r.pieces:
            tree.push(digest, height)
            if tree.size in wanted:
                roots[tree.size] = tree.root()
    total = tree.size
    anchor = _judge_checkpoints(found, trusted, roots, total, problems)
    order = {str(f): i for i, f in enumerate(files)}
    problems.sort(key=lambda p: (p.file not in order, order.get(p.file, 0), p.line or 0))
    return VerifyReport(
        files=[str(f) for f in files], events=total,
        size=sum(f.stat().st_size for f in files), problems=problems, dropped=dropped,
        anchor=anchor, checkpoints_found=len(found),
        checkpoints_valid=sum(1 for f in found if f.trusted and f.checkpoint
                              and f.checkpoint.size in roots
                              and roots[f.checkpoint.size] == f.checkpoint.root),
        root=tree.root(), allow_unanchored=allow_unanchored)


def _shift(p: Problem, base: int) -> Problem:
    return Problem(p.kind, p.file, (p.line or 0) + base if p.line is not None else None, p.seq,
                   p.detail, p.warning)


def _judge_checkpoints(found: list[FoundCheckpoint], trusted: FoundCheckpoint | None,
                       roots: dict[int, bytes], total: int, problems: list[Problem]
                       ) -> Anchor | None:
    anchor: Anchor | None = None
    by_size: dict[int, FoundCheckpoint] = {}
    for f in found:
        if f.problem:
            problems.append(f.problem)
        cp = f.checkpoint
        if cp is None or not f.trusted:
            continue
        other = by_size.get(cp.size)
        if other and other.checkpoint and other.checkpoint.root != cp.root:
            problems.append(Problem("checkpoint_fork", f.file, None, cp.size - 1,
                                    f"two signed checkpoints for size {cp.size} have different "
                                    f"roots ({other.file})"))
        by_size[cp.size] = f
        if cp.size > total:
            problems.append(Problem("truncated_tail", f.file, None, total,
                                    f"the checkpoint covers {cp.size:,} events but the trail "
                                    f"has {total:,}: {cp.size - total:,} are missing from its "
                                    "end"))
        elif roots.get(cp.size) != cp.root:
            problems.append(Problem("root_mismatch", f.file, None, cp.size - 1,
                                    f"the Merkle root of the first {cp.size:,} events differs "
                                    "from the signed checkpoint: history was rewritten"))
        elif anchor is None or cp.size > anchor.size:
            anchor = Anchor(cp.origin, cp.size, f.signer or "", f.file)
    origins = {f.checkpoint.origin for f in found if f.checkpoint and f.trusted}
    if len(origins) > 1:
        problems.append(Problem("checkpoint_fork", found[0].file, None, None,
                                "checkpoints name different origins: " + ", ".join(
                                    sorted(origins))))
    if trusted and trusted.checkpoint:
        t = trusted.checkpoint
        newest = max((f.checkpoint.size for f in found if f.checkpoint and f.trusted),
                     default=total)
        if t.size > min(total, newest):
            problems.append(Problem("rollback", trusted.file, None, None,
                                    f"the trusted state from the last audit covers {t.size:,} "
                                    f"events; the trail and its newest checkpoint cover "
                                    f"{min(total, newest):,}"))
        elif roots.get(t.size) != t.root:
            problems.append(Problem("checkpoint_fork", trusted.file, None, t.size - 1,
                                    "the trail's first events no longer match the trusted "
                                    "state from the last audit"))
    if anchor and total > anchor.size:
        problems.append(Problem("unanchored_tail", anchor.file, None, anchor.size,
                                f"{total - anchor.size:,} event(s) after the newest checkpoint "
                                "are not anchored by a signature", warning=True))
    return anchor
